"""staff bind codes: binding a staff account to its WeChat openid

Revision ID: 0012_staff_binding
Revises: 0005_triage
Create Date: 2026-11-23 13:10:00
"""
from alembic import op
import sqlalchemy as sa
import models.base


revision = '0012_staff_binding'
down_revision = '0005_triage'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('staff_bind_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_staff_bind_codes_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_bind_codes')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_staff_bind_codes_code_hash')),
    sa.UniqueConstraint('staff_id', name=op.f('uq_staff_bind_codes_staff_id'))
    )


def downgrade() -> None:
    op.drop_table('staff_bind_codes')
