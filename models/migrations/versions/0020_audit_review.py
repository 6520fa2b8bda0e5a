"""audit review: blocked submitters, H5 senders' marks, and audit events that PostgreSQL refuses to change

Revision ID: 0020
Revises: 0019
"""
from alembic import op
import sqlalchemy as sa
import models.base


revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

IMMUTABLE = """
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events rows are never updated or deleted';
END
$$;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
"""


def upgrade() -> None:
    op.create_table(
        "submitter_marks",
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("device_hash", sa.String(length=64), nullable=True),
        sa.Column("address_hash", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaints.id"],
                                name=op.f("fk_submitter_marks_complaint_id_complaints")),
        sa.PrimaryKeyConstraint("complaint_id", name=op.f("pk_submitter_marks")),
    )
    op.create_index(op.f("ix_submitter_marks_device_hash"), "submitter_marks", ["device_hash"], unique=False)
    op.create_index(op.f("ix_submitter_marks_address_hash"), "submitter_marks", ["address_hash"], unique=False)
    op.create_table(
        "blocks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=True),
        sa.Column("device_hash", sa.String(length=64), nullable=True),
        sa.Column("address_hash", sa.String(length=64), nullable=True),
        sa.Column("complaint_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("lifted_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("lifted_by_id", sa.Integer(), nullable=True),
        sa.Column("lift_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["resident_id"], ["residents.id"], name=op.f("fk_blocks_resident_id_residents")),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaints.id"], name=op.f("fk_blocks_complaint_id_complaints")),
        sa.ForeignKeyConstraint(["created_by_id"], ["staff.id"], name=op.f("fk_blocks_created_by_id_staff")),
        sa.ForeignKeyConstraint(["lifted_by_id"], ["staff.id"], name=op.f("fk_blocks_lifted_by_id_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blocks")),
    )
    op.create_index(op.f("ix_blocks_resident_id"), "blocks", ["resident_id"], unique=False)
    op.create_index(op.f("ix_blocks_device_hash"), "blocks", ["device_hash"], unique=False)
    op.create_index(op.f("ix_blocks_address_hash"), "blocks", ["address_hash"], unique=False)
    op.create_index("ix_blocks_lifted_at_ends_at", "blocks", ["lifted_at", "ends_at"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(IMMUTABLE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS audit_events_append_only()")
    op.drop_index("ix_blocks_lifted_at_ends_at", table_name="blocks")
    op.drop_index(op.f("ix_blocks_address_hash"), table_name="blocks")
    op.drop_index(op.f("ix_blocks_device_hash"), table_name="blocks")
    op.drop_index(op.f("ix_blocks_resident_id"), table_name="blocks")
    op.drop_table("blocks")
    op.drop_index(op.f("ix_submitter_marks_address_hash"), table_name="submitter_marks")
    op.drop_index(op.f("ix_submitter_marks_device_hash"), table_name="submitter_marks")
    op.drop_table("submitter_marks")
