"""intake: photos, complaint contacts, idempotency keys, resident session idle expiry

Revision ID: 0004_intake
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa
import models.base


revision = '0004_intake'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('photos',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('complaint_id', sa.Integer(), nullable=True),
    sa.Column('content_type', sa.String(length=32), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('thumbnail_name', sa.String(length=64), nullable=True),
    sa.Column('media_check', sa.String(length=16), nullable=True),
    sa.Column('media_trace_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaints.id'], name=op.f('fk_photos_complaint_id_complaints')),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_photos_resident_id_residents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_photos')),
    sa.UniqueConstraint('name', name=op.f('uq_photos_name'))
    )
    with op.batch_alter_table('photos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_photos_complaint_id'), ['complaint_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_photos_resident_id'), ['resident_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_photos_media_trace_id'), ['media_trace_id'], unique=False)

    op.create_table('complaint_contacts',
    sa.Column('complaint_id', sa.Integer(), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('address', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaints.id'],
                            name=op.f('fk_complaint_contacts_complaint_id_complaints')),
    sa.PrimaryKeyConstraint('complaint_id', name=op.f('pk_complaint_contacts'))
    )

    op.create_table('idempotency_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('response', sa.Text(), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'],
                            name=op.f('fk_idempotency_keys_resident_id_residents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_keys')),
    sa.UniqueConstraint('resident_id', 'key', name='uq_idempotency_keys_resident_key')
    )
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.create_index('ix_idempotency_keys_expires_at', ['expires_at'], unique=False)

    with op.batch_alter_table('resident_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_seen_at', models.base.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('resident_sessions', schema=None) as batch_op:
        batch_op.drop_column('last_seen_at')
    op.drop_table('idempotency_keys')
    op.drop_table('complaint_contacts')
    op.drop_table('photos')
