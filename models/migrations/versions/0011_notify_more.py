"""notices: time-based notifications (overdue, reminders) announced once

Revision ID: 0011
Revises: 0007_notify
"""
from alembic import op
import sqlalchemy as sa
import models.base


revision = "0011"
down_revision = "0007_notify"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
        sa.UniqueConstraint("kind", "subject_id", name=op.f("uq_notices_kind")),
    )


def downgrade() -> None:
    op.drop_table("notices")
