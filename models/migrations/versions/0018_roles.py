"""roles: legal advisers (法律顾问) and representatives (议政代表, 民意联络员) sign in as staff

Revision ID: 0018
Revises: 0017
"""
from alembic import op
import sqlalchemy as sa


revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

OLD = ("grid_worker", "secretary", "admin")
NEW = OLD + ("legal_adviser", "representative")


def _roles(values) -> None:
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_staff_staffrole"), type_="check")
        batch_op.create_check_constraint(op.f("ck_staff_staffrole"),
                                         "role IN (%s)" % ", ".join(f"'{v}'" for v in values))


def upgrade() -> None:
    _roles(NEW)


def downgrade() -> None:
    _roles(OLD)
