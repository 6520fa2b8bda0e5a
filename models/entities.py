"""The domain tables: units, people, QR codes, complaints, topics, meetings, the outbox and the audit log."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Boolean, CheckConstraint, Column, ForeignKey, Index, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, enum_column, intpk, str32, str64, str200, timestamp, utcnow

if TYPE_CHECKING:
    from .representatives import Representative


class UnitLevel(enum.StrEnum):
    district = "district"
    street = "street"
    community = "community"
    grid = "grid"


LEVEL_ORDER = [UnitLevel.district, UnitLevel.street, UnitLevel.community, UnitLevel.grid]


class Unit(Base):
    """One node of 区 → 街道/镇 → 社区/村 → 网格. `path` is "/1/5/12/" so a subtree is one LIKE."""

    __tablename__ = "units"

    id: Mapped[intpk]
    code: Mapped[str64] = mapped_column(unique=True)
    name: Mapped[str200]
    level: Mapped[UnitLevel] = enum_column(UnitLevel)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    path: Mapped[str] = mapped_column(String(400), index=True, default="")
    created_at: Mapped[timestamp]
    retired_at: Mapped[dt.datetime | None]
    # How often the unit's council must meet, in months, set by the district (None: its level's default; 0: none).
    meeting_cadence_months: Mapped[int | None] = mapped_column(Integer)

    parent: Mapped[Unit | None] = relationship(remote_side="Unit.id", lazy="joined", join_depth=4)
    council_rooms: Mapped[list[CouncilRoom]] = relationship(back_populates="unit", order_by="CouncilRoom.id")

    @property
    def council_room(self) -> CouncilRoom | None:
        """The unit's first council room still in use (a unit may have a 议事厅 and outdoor spots)."""
        return next((room for room in self.council_rooms if room.retired_at is None), None)

    def ancestor_ids(self) -> list[int]:
        return [int(p) for p in self.path.strip("/").split("/") if p]

    def full_name(self) -> str:
        """铜山区·张集镇·梁堂村: the names from the district down to this unit."""
        names, unit = [], self
        while unit is not None:
            names.append(unit.name)
            unit = unit.parent
        return "·".join(reversed(names))


class CouncilRoom(Base):
    """协商议事室 / 议事厅: a place where a unit's council meets; a unit may have several, retired, never deleted."""

    __tablename__ = "council_rooms"

    id: Mapped[intpk]
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    name: Mapped[str200]
    address: Mapped[str | None] = mapped_column(String(200))
    opening_hours: Mapped[str | None] = mapped_column(String(200))  # e.g. 每周三 19:00-21:00
    capacity: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[timestamp]
    retired_at: Mapped[dt.datetime | None]

    unit: Mapped[Unit] = relationship(back_populates="council_rooms")


class StaffRole(enum.StrEnum):
    grid_worker = "grid_worker"
    secretary = "secretary"
    admin = "admin"
    legal_adviser = "legal_adviser"  # 法律顾问: a village's or community's adviser in deliberation and legal review
    representative = "representative"  # 议政代表 / 民意联络员: collects opinions and reports on residents' behalf


staff_units = Table(
    "staff_units",
    Base.metadata,
    Column("staff_id", ForeignKey("staff.id"), primary_key=True),
    Column("unit_id", ForeignKey("units.id"), primary_key=True, index=True),
)


class Staff(Base):
    """A grid worker, secretary or admin, and the units they cover (their scope includes all below)."""

    __tablename__ = "staff"

    id: Mapped[intpk]
    username: Mapped[str64] = mapped_column(unique=True)
    display_name: Mapped[str64]
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[StaffRole] = enum_column(StaffRole)
    openid: Mapped[str | None] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Part of every session's fingerprint: raised on deactivation and password reset, it ends all open sessions.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Set while the password is a temporary one an admin gave out: it must be replaced before this moment.
    password_expires_at: Mapped[dt.datetime | None]
    created_at: Mapped[timestamp]

    units: Mapped[list[Unit]] = relationship(secondary=staff_units, lazy="selectin")


class Resident(Base):
    """A resident known by the openid WeChat gave us, or (channel "h5", no openid) by a private tracking link."""

    __tablename__ = "residents"

    id: Mapped[intpk]
    openid: Mapped[str | None] = mapped_column(String(64), unique=True)
    channel: Mapped[str] = mapped_column(String(16), default="wechat", server_default="wechat")
    created_at: Mapped[timestamp]
    last_login_at: Mapped[dt.datetime | None]


class ResidentSession(Base):
    """The backend's own login state for the mini-program; only the token's hash is stored."""

    __tablename__ = "resident_sessions"

    id: Mapped[intpk]
    token_hash: Mapped[str64] = mapped_column(unique=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    created_at: Mapped[timestamp]
    expires_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]
    last_seen_at: Mapped[dt.datetime | None]

    resident: Mapped[Resident] = relationship(lazy="joined")


class QrCode(Base):
    """A unit code (心码): an opaque scene token that routes a scan to its unit; rotated, never reused."""

    __tablename__ = "qr_codes"

    id: Mapped[intpk]
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    token: Mapped[str32] = mapped_column(unique=True)
    created_at: Mapped[timestamp]
    revoked_at: Mapped[dt.datetime | None]

    unit: Mapped[Unit] = relationship(lazy="joined")


class ComplaintState(enum.StrEnum):
    submitted = "submitted"
    awaiting_triage = "awaiting_triage"
    not_deliberable = "not_deliberable"
    solved = "solved"
    merged = "merged"
    promoted = "promoted"
    closed = "closed"


class Complaint(Base):
    """诉求: what a resident reported, for which unit, and where it stands."""

    __tablename__ = "complaints"
    __table_args__ = (
        CheckConstraint("length(text) > 0", name="text_not_empty"),
        CheckConstraint("state != 'promoted' OR topic_id IS NOT NULL", name="promoted_has_topic"),
        CheckConstraint("state != 'merged' OR merged_into_id IS NOT NULL", name="merged_has_target"),
        Index("ix_complaints_unit_state", "unit_id", "state"),
        Index("ix_complaints_retention", "anonymised_at", "state_changed_at"),
    )

    id: Mapped[intpk]
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    qr_code_id: Mapped[int | None] = mapped_column(ForeignKey("qr_codes.id"))
    category: Mapped[str32]
    text: Mapped[str] = mapped_column(Text)
    state: Mapped[ComplaintState] = enum_column(ComplaintState, default=ComplaintState.submitted)
    content_check: Mapped[str | None] = mapped_column(String(16))
    deliberable: Mapped[bool | None] = mapped_column(Boolean)
    reason_code: Mapped[str | None] = mapped_column(String(32))
    reply: Mapped[str | None] = mapped_column(Text)
    topic_id: Mapped[int | None] = mapped_column(ForeignKey("topics.id"), index=True)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"))
    # The 议政代表 / 民意联络员 it came through (their personal code or their entry on behalf); who entered it for
    # the resident, and how it was heard (走访 visit, 约访 appointment, 电话 call, 候访/接访 reception)
    representative_id: Mapped[int | None] = mapped_column(ForeignKey("representatives.id"), index=True)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    heard_via: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[timestamp]
    state_changed_at: Mapped[timestamp]
    # When retention removed its personal data (workers/retention.py); the matter's figures stay as they were.
    anonymised_at: Mapped[dt.datetime | None]

    unit: Mapped[Unit] = relationship(lazy="joined")
    resident: Mapped[Resident] = relationship(lazy="joined")
    topic: Mapped[Topic | None] = relationship(back_populates="complaints")
    representative: Mapped[Representative | None] = relationship()
    entered_by: Mapped[Staff | None] = relationship()


class TopicState(enum.StrEnum):
    proposed = "proposed"
    approved = "approved"
    rejected = "rejected"
    merged = "merged"
    scheduled = "scheduled"
    agreed = "agreed"
    no_consensus = "no_consensus"
    referred = "referred"
    implementing = "implementing"
    implemented = "implemented"
    closed = "closed"


class Topic(Base):
    """议题: a matter on a community council's agenda, with the complaints behind it."""

    __tablename__ = "topics"
    __table_args__ = (Index("ix_topics_unit_state", "unit_id", "state"),)

    id: Mapped[intpk]
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    title: Mapped[str200]
    summary: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str32]
    state: Mapped[TopicState] = enum_column(TopicState, default=TopicState.proposed)
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("topics.id"))
    created_at: Mapped[timestamp]
    state_changed_at: Mapped[timestamp]

    unit: Mapped[Unit] = relationship(lazy="joined")
    complaints: Mapped[list[Complaint]] = relationship(back_populates="topic")


meeting_topics = Table(
    "meeting_topics",
    Base.metadata,
    Column("meeting_id", ForeignKey("meetings.id"), primary_key=True),
    Column("topic_id", ForeignKey("topics.id"), primary_key=True, index=True),
)


class Meeting(Base):
    """议事会: a council session in a unit's council room."""

    __tablename__ = "meetings"

    id: Mapped[intpk]
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    council_room_id: Mapped[int | None] = mapped_column(ForeignKey("council_rooms.id"))
    starts_at: Mapped[dt.datetime]
    place: Mapped[str200]
    form: Mapped[str32] = mapped_column(default="forum")
    minutes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[timestamp]

    topics: Mapped[list[Topic]] = relationship(secondary=meeting_topics)
    council_room: Mapped[CouncilRoom | None] = relationship()
    unit: Mapped[Unit] = relationship()


class NotificationState(enum.StrEnum):
    pending = "pending"
    sending = "sending"
    sent = "sent"
    undeliverable = "undeliverable"
    failed = "failed"
    needs_review = "needs_review"


class Notification(Base):
    """Outbox row: one WeChat message owed to one person, written with the change that caused it."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_state_created", "state", "created_at"),)

    id: Mapped[intpk]
    event: Mapped[str64]
    recipient_kind: Mapped[str] = mapped_column(String(16))
    recipient_id: Mapped[int]
    openid: Mapped[str | None] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[NotificationState] = enum_column(NotificationState, default=NotificationState.pending)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(400))
    created_at: Mapped[timestamp]
    claimed_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]
    next_attempt_at: Mapped[dt.datetime | None]  # a retry after back-off is not handed over before this


class AuditEvent(Base):
    """Who changed what, when, from which state to which, and why. Never updated, never deleted."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_subject", "subject_kind", "subject_id"),)

    id: Mapped[intpk]
    subject_kind: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[int]
    action: Mapped[str32]
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str | None] = mapped_column(String(32))
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None]
    reason: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
