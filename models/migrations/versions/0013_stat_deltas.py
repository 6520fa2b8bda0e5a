"""pending changes to the statistics' running sums: appended by every transaction, folded in by the sweep

Revision ID: 0013
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa


revision = "0013"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stat_deltas",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("key", sa.String(length=48), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stat_deltas")),
    )
    # Existing data: fill the sums from the base tables (a no-op on an empty database).
    from sqlalchemy.orm import Session

    from models.stats import rebuild

    rebuild(Session(bind=op.get_bind()))


def downgrade() -> None:
    op.drop_table("stat_deltas")
