"""followups: 回访 of complaints answered in triage, staff visit ratings beside the resident's own, the 居民会议's
resolutions on referred topics, the origin of topics proposed without a complaint

Revision ID: 0016
Revises: 0015
"""
from alembic import op
import sqlalchemy as sa
import models.base


revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

LEVEL = sa.Enum("satisfied", "basic", "unsatisfied", name="ratinglevel", native_enum=False, create_constraint=True,
                length=32)


def upgrade() -> None:
    with op.batch_alter_table("ratings", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("uq_ratings_topic_id"), type_="unique")
        batch_op.create_unique_constraint(op.f("uq_ratings_topic_id"), ["topic_id", "resident_id", "round", "source"])
    op.create_table(
        "complaint_ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("level", LEVEL, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaints.id"],
                                name=op.f("fk_complaint_ratings_complaint_id_complaints")),
        sa.ForeignKeyConstraint(["resident_id"], ["residents.id"],
                                name=op.f("fk_complaint_ratings_resident_id_residents")),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_complaint_ratings_staff_id_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_ratings")),
        sa.UniqueConstraint("complaint_id", "round", "source", name=op.f("uq_complaint_ratings_complaint_id")),
    )
    op.create_index("ix_complaint_ratings_created", "complaint_ratings", ["created_at"], unique=False)
    op.create_table(
        "topic_resolutions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("topic_id", sa.Integer(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("agreed", sa.Boolean(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_topic_resolutions_staff_id_staff")),
        sa.ForeignKeyConstraint(["topic_id"], ["topics.id"], name=op.f("fk_topic_resolutions_topic_id_topics")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_topic_resolutions")),
    )
    op.create_index(op.f("ix_topic_resolutions_topic_id"), "topic_resolutions", ["topic_id"], unique=False)
    op.create_table(
        "topic_origins",
        sa.Column("topic_id", sa.Integer(), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("proposer", sa.String(length=64), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_topic_origins_staff_id_staff")),
        sa.ForeignKeyConstraint(["topic_id"], ["topics.id"], name=op.f("fk_topic_origins_topic_id_topics")),
        sa.PrimaryKeyConstraint("topic_id", name=op.f("pk_topic_origins")),
    )


def downgrade() -> None:
    op.drop_table("topic_origins")
    op.drop_index(op.f("ix_topic_resolutions_topic_id"), table_name="topic_resolutions")
    op.drop_table("topic_resolutions")
    op.drop_index("ix_complaint_ratings_created", table_name="complaint_ratings")
    op.drop_table("complaint_ratings")
    with op.batch_alter_table("ratings", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("uq_ratings_topic_id"), type_="unique")
        batch_op.create_unique_constraint(op.f("uq_ratings_topic_id"), ["topic_id", "resident_id", "round"])
