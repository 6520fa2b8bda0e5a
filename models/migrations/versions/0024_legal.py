"""legal: the legal adviser each village or community names, the categories a district treats as major, legal
opinions (法制审核) and the reading pack's documents (精读本)

Revision ID: 0024
Revises: 0023
"""
from alembic import op
import sqlalchemy as sa
import models.base


revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "legal_advisers",
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("named_by_id", sa.Integer(), nullable=True),
        sa.Column("named_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_legal_advisers_unit_id_units")),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_legal_advisers_staff_id_staff")),
        sa.ForeignKeyConstraint(["named_by_id"], ["staff.id"], name=op.f("fk_legal_advisers_named_by_id_staff")),
        sa.PrimaryKeyConstraint("unit_id", name=op.f("pk_legal_advisers")),
    )
    op.create_index(op.f("ix_legal_advisers_staff_id"), "legal_advisers", ["staff_id"], unique=False)
    op.create_table(
        "major_categories",
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["district_id"], ["units.id"], name=op.f("fk_major_categories_district_id_units")),
        sa.PrimaryKeyConstraint("district_id", "category", name=op.f("pk_major_categories")),
    )
    op.create_table(
        "legal_opinions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("topic_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("signed_name", sa.String(length=64), nullable=False),
        sa.Column("conclusion", sa.Enum("lawful", "needs_changes", "unlawful", name="conclusion",
                                        native_enum=False, create_constraint=True, length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("signed_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("length(text) > 0", name=op.f("ck_legal_opinions_text_not_empty")),
        sa.ForeignKeyConstraint(["topic_id"], ["topics.id"], name=op.f("fk_legal_opinions_topic_id_topics")),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_legal_opinions_staff_id_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_opinions")),
    )
    op.create_index(op.f("ix_legal_opinions_topic_id"), "legal_opinions", ["topic_id"], unique=False)
    op.create_table(
        "reading_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("topic_id", sa.Integer(), nullable=True),
        sa.Column("meeting_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("suffix", sa.String(length=8), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("uploaded_name", sa.String(length=64), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("(topic_id IS NULL) <> (meeting_id IS NULL)", name=op.f("ck_reading_documents_one_owner")),
        sa.CheckConstraint("size > 0", name=op.f("ck_reading_documents_size_positive")),
        sa.ForeignKeyConstraint(["topic_id"], ["topics.id"], name=op.f("fk_reading_documents_topic_id_topics")),
        sa.ForeignKeyConstraint(["meeting_id"], ["meetings.id"], name=op.f("fk_reading_documents_meeting_id_meetings")),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_reading_documents_staff_id_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reading_documents")),
    )
    op.create_index(op.f("ix_reading_documents_topic_id"), "reading_documents", ["topic_id"], unique=False)
    op.create_index(op.f("ix_reading_documents_meeting_id"), "reading_documents", ["meeting_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_reading_documents_meeting_id"), table_name="reading_documents")
    op.drop_index(op.f("ix_reading_documents_topic_id"), table_name="reading_documents")
    op.drop_table("reading_documents")
    op.drop_index(op.f("ix_legal_opinions_topic_id"), table_name="legal_opinions")
    op.drop_table("legal_opinions")
    op.drop_table("major_categories")
    op.drop_index(op.f("ix_legal_advisers_staff_id"), table_name="legal_advisers")
    op.drop_table("legal_advisers")
