"""unit codes: scans per day, H5 residents and their tracking links, retired units

Revision ID: 0003_qr
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa
import models.base


revision = '0003_qr'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('unit_scans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_unit_scans_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unit_scans')),
    sa.UniqueConstraint('unit_id', 'day', name=op.f('uq_unit_scans_unit_id'))
    )
    with op.batch_alter_table('unit_scans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unit_scans_unit_id'), ['unit_id'], unique=False)

    op.create_table('tracking_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('complaint_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaints.id'], name=op.f('fk_tracking_links_complaint_id_complaints')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tracking_links')),
    sa.UniqueConstraint('complaint_id', name=op.f('uq_tracking_links_complaint_id')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_tracking_links_token_hash'))
    )

    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=16), server_default='wechat', nullable=False))
        batch_op.alter_column('openid', existing_type=sa.String(length=64), nullable=True)

    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retired_at', models.base.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.drop_column('retired_at')
    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.alter_column('openid', existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_column('channel')
    op.drop_table('tracking_links')
    with op.batch_alter_table('unit_scans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unit_scans_unit_id'))
    op.drop_table('unit_scans')
