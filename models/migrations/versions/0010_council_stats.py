"""running sums behind the statistics page, rolled up per unit and ancestor, at day, month and year grain

Revision ID: 0010
Revises: 0006_council
"""
from alembic import op
import sqlalchemy as sa


revision = "0010"
down_revision = "0006_council"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stat_cells",
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("grain", sa.String(length=1), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("key", sa.String(length=48), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("unit_id", "grain", "day", "key", name=op.f("pk_stat_cells")),
    )
    # Existing data is summed by 0013, once the table of pending changes exists too.


def downgrade() -> None:
    op.drop_table("stat_cells")
