"""rooms units: several council rooms per unit with opening times, capacity and retirement; each unit's meeting
cadence and the district's per level; complaint categories per district; the district's own days off and
working days

Revision ID: 0021
Revises: 0020
"""
from alembic import op
import sqlalchemy as sa
import models.base


revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = ("0005_triage",)  # the holidays table is made on the triage branch

LEVELS = ("district", "street", "community", "grid")


def upgrade() -> None:
    with op.batch_alter_table("council_rooms", schema=None) as batch_op:
        batch_op.drop_constraint("uq_council_rooms_unit_id", type_="unique")
        batch_op.add_column(sa.Column("opening_hours", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("capacity", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("retired_at", models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_council_rooms_unit_id"), ["unit_id"], unique=False)

    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.add_column(sa.Column("meeting_cadence_months", sa.Integer(), nullable=True))

    with op.batch_alter_table("holidays", schema=None) as batch_op:
        batch_op.drop_constraint("uq_holidays_day", type_="unique")
        batch_op.add_column(sa.Column("unit_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_holidays_unit_id_units"), "units", ["unit_id"], ["id"])
        batch_op.create_index(batch_op.f("ix_holidays_unit_id"), ["unit_id"], unique=False)
        batch_op.create_unique_constraint("uq_holidays_unit_day", ["unit_id", "day"])

    op.create_table(
        "working_days",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_working_days_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_working_days")),
        sa.UniqueConstraint("unit_id", "day", name="uq_working_days_unit_day"),
    )
    op.create_index(op.f("ix_working_days_unit_id"), "working_days", ["unit_id"], unique=False)

    op.create_table(
        "complaint_categories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("retired_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_complaint_categories_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_categories")),
        sa.UniqueConstraint("unit_id", "label", name="uq_complaint_categories_unit_label"),
    )
    op.create_index(op.f("ix_complaint_categories_unit_id"), "complaint_categories", ["unit_id"], unique=False)

    op.create_table(
        "meeting_cadences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.Enum(*LEVELS, name="unitlevel", native_enum=False, create_constraint=True, length=32),
                  nullable=False),
        sa.Column("months", sa.Integer(), nullable=False),
        sa.Column("updated_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_meeting_cadences_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_cadences")),
        sa.UniqueConstraint("unit_id", "level", name="uq_meeting_cadences_unit_level"),
    )
    op.create_index(op.f("ix_meeting_cadences_unit_id"), "meeting_cadences", ["unit_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_meeting_cadences_unit_id"), table_name="meeting_cadences")
    op.drop_table("meeting_cadences")
    op.drop_index(op.f("ix_complaint_categories_unit_id"), table_name="complaint_categories")
    op.drop_table("complaint_categories")
    op.drop_index(op.f("ix_working_days_unit_id"), table_name="working_days")
    op.drop_table("working_days")
    with op.batch_alter_table("holidays", schema=None) as batch_op:
        batch_op.drop_constraint("uq_holidays_unit_day", type_="unique")
        batch_op.drop_index(batch_op.f("ix_holidays_unit_id"))
        batch_op.drop_constraint(batch_op.f("fk_holidays_unit_id_units"), type_="foreignkey")
        batch_op.drop_column("created_at")
        batch_op.drop_column("unit_id")
        batch_op.create_unique_constraint("uq_holidays_day", ["day"])
    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.drop_column("meeting_cadence_months")
    with op.batch_alter_table("council_rooms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_council_rooms_unit_id"))
        batch_op.drop_column("retired_at")
        batch_op.drop_column("capacity")
        batch_op.drop_column("opening_hours")
        batch_op.create_unique_constraint("uq_council_rooms_unit_id", ["unit_id"])
