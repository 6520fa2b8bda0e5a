"""meetings: open meetings with a capacity, cancellation, the residents invited to each meeting

Revision ID: 0015
Revises: 0014
"""
from alembic import op
import sqlalchemy as sa
import models.base


revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("meeting_details", schema=None) as batch_op:
        batch_op.add_column(sa.Column("is_open", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("capacity", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("cancelled_at", models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("cancel_reason", sa.Text(), nullable=True))
        batch_op.create_check_constraint(op.f("ck_meeting_details_capacity_positive"),
                                        "capacity IS NULL OR capacity > 0")
    op.create_table(
        "meeting_invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["meeting_id"], ["meetings.id"],
                                name=op.f("fk_meeting_invitations_meeting_id_meetings")),
        sa.ForeignKeyConstraint(["resident_id"], ["residents.id"],
                                name=op.f("fk_meeting_invitations_resident_id_residents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_invitations")),
        sa.UniqueConstraint("meeting_id", "resident_id", name=op.f("uq_meeting_invitations_meeting_id")),
    )
    op.create_index("ix_meeting_invitations_resident", "meeting_invitations", ["resident_id"], unique=False)
    op.create_index("ix_meeting_registrations_resident", "meeting_registrations", ["resident_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_meeting_registrations_resident", table_name="meeting_registrations")
    op.drop_index("ix_meeting_invitations_resident", table_name="meeting_invitations")
    op.drop_table("meeting_invitations")
    with op.batch_alter_table("meeting_details", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_meeting_details_capacity_positive"), type_="check")
        batch_op.drop_column("cancel_reason")
        batch_op.drop_column("cancelled_at")
        batch_op.drop_column("capacity")
        batch_op.drop_column("is_open")
