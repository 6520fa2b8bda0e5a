"""hotspots: each complaint's words, segmented once

Revision ID: 0025
Revises: 0024
"""
from alembic import op
import sqlalchemy as sa


revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "complaint_terms",
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.SmallInteger(), nullable=False),
        sa.Column("terms", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaints.id"], ondelete="CASCADE",
                                name=op.f("fk_complaint_terms_complaint_id_complaints")),
        sa.PrimaryKeyConstraint("complaint_id", name=op.f("pk_complaint_terms")),
    )


def downgrade() -> None:
    op.drop_table("complaint_terms")
