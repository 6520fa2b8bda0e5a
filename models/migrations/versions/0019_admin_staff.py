"""admin staff: a session generation per staff account, so deactivation and password resets end open sessions;
the expiry of a temporary password an admin gave out (it must be replaced before then)

Revision ID: 0019
Revises: 0018
"""
from alembic import op
import sqlalchemy as sa

import models.base


revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_version", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("password_expires_at", models.base.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_column("password_expires_at")
        batch_op.drop_column("session_version")
