"""photo_files: the bytes of every photo, thumbnail and progress photo, in the database where every node sees them

Revision ID: 0014
Revises: 0013
"""
from alembic import op
import sqlalchemy as sa
import models.base


revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # New deployments only: nothing is read from the old per-node photo folders.
    op.create_table(
        "photo_files",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_photo_files")),
    )


def downgrade() -> None:
    op.drop_table("photo_files")
