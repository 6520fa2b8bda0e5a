"""representatives: 议政代表 and 民意联络员 with their appointment steps, personal codes (连心码) and activity log;
a complaint names the representative it came through, who entered it on a resident's behalf (代填, with the name
the resident gave) and how it was heard

Revision ID: 0023
Revises: 0022
"""
from alembic import op
import sqlalchemy as sa
import models.base


revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


KIND = _enum("representativekind", "representative", "liaison")
STATE = _enum("appointmentstate", "recommended", "reviewed", "decided", "announced", "appointed", "declined",
              "withdrawn", "ended")
ACTIVITY = _enum("activitykind", "policy_talk", "forum", "suggestion", "visit", "reception", "matter")


def upgrade() -> None:
    op.create_table(
        "representatives",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("kind", KIND, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("duties", sa.JSON(), nullable=False),
        sa.Column("state", STATE, nullable=False),
        sa.Column("recommended_by", sa.String(length=200), nullable=False),
        sa.Column("review_notes", sa.Text(), nullable=True),
        sa.Column("notice_ends_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("appointed_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("term_ends_on", sa.Date(), nullable=True),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("state_changed_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("state != 'announced' OR notice_ends_at IS NOT NULL",
                           name=op.f("ck_representatives_announced_has_notice")),
        sa.CheckConstraint("length(name) > 0", name=op.f("ck_representatives_name_not_empty")),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_representatives_staff_id_staff")),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_representatives_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_representatives")),
        sa.UniqueConstraint("staff_id", name=op.f("uq_representatives_staff_id")),
    )
    op.create_index(op.f("ix_representatives_unit_id"), "representatives", ["unit_id"], unique=False)
    op.create_table(
        "personal_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("representative_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["representative_id"], ["representatives.id"],
                                name=op.f("fk_personal_codes_representative_id_representatives")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_personal_codes")),
        sa.UniqueConstraint("token", name=op.f("uq_personal_codes_token")),
    )
    op.create_index(op.f("ix_personal_codes_representative_id"), "personal_codes", ["representative_id"],
                    unique=False)
    op.create_table(
        "representative_activities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("representative_id", sa.Integer(), nullable=False),
        sa.Column("kind", ACTIVITY, nullable=False),
        sa.Column("happened_on", sa.Date(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.Column("logged_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["logged_by_id"], ["staff.id"],
                                name=op.f("fk_representative_activities_logged_by_id_staff")),
        sa.ForeignKeyConstraint(["representative_id"], ["representatives.id"],
                                name=op.f("fk_representative_activities_representative_id_representatives")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_representative_activities")),
    )
    op.create_index(op.f("ix_representative_activities_representative_id"), "representative_activities",
                    ["representative_id"], unique=False)
    op.create_table(
        "on_behalf_contacts",
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("resident_name", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaints.id"],
                                name=op.f("fk_on_behalf_contacts_complaint_id_complaints")),
        sa.PrimaryKeyConstraint("complaint_id", name=op.f("pk_on_behalf_contacts")),
    )
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.add_column(sa.Column("representative_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("entered_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("heard_via", sa.String(length=16), nullable=True))
        batch_op.create_index(batch_op.f("ix_complaints_representative_id"), ["representative_id"], unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_complaints_representative_id_representatives"), "representatives",
                                    ["representative_id"], ["id"])
        batch_op.create_foreign_key(batch_op.f("fk_complaints_entered_by_id_staff"), "staff", ["entered_by_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_complaints_entered_by_id_staff"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_complaints_representative_id_representatives"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_complaints_representative_id"))
        batch_op.drop_column("heard_via")
        batch_op.drop_column("entered_by_id")
        batch_op.drop_column("representative_id")
    op.drop_table("on_behalf_contacts")
    op.drop_index(op.f("ix_representative_activities_representative_id"), table_name="representative_activities")
    op.drop_table("representative_activities")
    op.drop_index(op.f("ix_personal_codes_representative_id"), table_name="personal_codes")
    op.drop_table("personal_codes")
    op.drop_index(op.f("ix_representatives_unit_id"), table_name="representatives")
    op.drop_table("representatives")
