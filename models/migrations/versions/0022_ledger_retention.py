"""ledger retention: when a closed matter's personal data was removed

Revision ID: 0022
Revises: 0021
"""
from alembic import op
import sqlalchemy as sa
import models.base


revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("complaints", sa.Column("anonymised_at", models.base.UTCDateTime(timezone=True), nullable=True))
    op.create_index("ix_complaints_retention", "complaints", ["anonymised_at", "state_changed_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_complaints_retention", table_name="complaints")
    op.drop_column("complaints", "anonymised_at")
