"""The council's own tables: meeting details, participants, registrations, outcomes, 领办 assignments and their
progress, 回访 ratings (of topics and of complaints answered in triage), 两公开 publications, the 四议两公开 route
stages, the 居民会议's resolutions on referred topics and where a topic without a complaint came from."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, enum_column, intpk, str64, str200, timestamp
from .entities import Meeting, Resident, Topic

# Who gave a rating: the resident in the mini-program, or a staff member on a visit (beside the resident's own).
RATED_BY_RESIDENT = "resident"
RATED_ON_VISIT = "visit"


class MeetingForm(enum.StrEnum):
    forum = "forum"  # 座谈
    hearing = "hearing"  # 听证
    home_visit = "home_visit"  # 上门


class ParticipantRole(enum.StrEnum):
    representative = "representative"  # 议事代表
    party_member = "party_member"  # 党员
    legal_adviser = "legal_adviser"  # 法律顾问
    department = "department"  # 相关部门


class OutcomeResult(enum.StrEnum):
    consensus = "consensus"
    no_consensus = "no_consensus"
    referred = "referred"


class LeadKind(enum.StrEnum):
    branch = "branch"  # 支部
    secretary = "secretary"  # 书记
    party_household = "party_household"  # 党员中心户
    party_member = "party_member"  # 骨干党员
    department = "department"  # 部门


class RatingLevel(enum.StrEnum):
    satisfied = "satisfied"
    basic = "basic"
    unsatisfied = "unsatisfied"


class PublicationKind(enum.StrEnum):
    decision = "decision"
    result = "result"


class RouteStep(enum.StrEnum):
    propose = "propose"  # 党支部提议
    discuss = "discuss"  # 两委商议
    review = "review"  # 党员大会审议
    resolve = "resolve"  # 居民(代表)会议决议


ROUTE_ORDER = [RouteStep.propose, RouteStep.discuss, RouteStep.review, RouteStep.resolve]


class MeetingDetail(Base):
    """What a meeting needs beyond its row: a title, when it was recorded as held, when reminders went out, whether
    anyone in the unit may register (an open meeting, with its public notice on the board) and up to how many, and
    whether it was cancelled and why."""

    __tablename__ = "meeting_details"
    __table_args__ = (CheckConstraint("capacity IS NULL OR capacity > 0", name="capacity_positive"),)

    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), primary_key=True)
    title: Mapped[str200]
    held_at: Mapped[dt.datetime | None]
    reminded_at: Mapped[dt.datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    is_open: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    capacity: Mapped[int | None] = mapped_column(Integer)
    cancelled_at: Mapped[dt.datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(Text)

    meeting: Mapped[Meeting] = relationship(lazy="joined")


class MeetingParticipant(Base):
    """Someone invited to a meeting (议事代表, 党员, 法律顾问, a department) and whether they came."""

    __tablename__ = "meeting_participants"

    id: Mapped[intpk]
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    role: Mapped[ParticipantRole] = enum_column(ParticipantRole)
    name: Mapped[str64]
    attended: Mapped[bool | None] = mapped_column(Boolean)
    created_at: Mapped[timestamp]


class MeetingRegistration(Base):
    """A resident behind an agenda topic who said they will attend, and whether they came."""

    __tablename__ = "meeting_registrations"
    __table_args__ = (UniqueConstraint("meeting_id", "resident_id"),
                      Index("ix_meeting_registrations_resident", "resident_id"))

    id: Mapped[intpk]
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    attended: Mapped[bool | None] = mapped_column(Boolean)
    created_at: Mapped[timestamp]

    resident: Mapped[Resident] = relationship(lazy="joined")


class MeetingInvitation(Base):
    """A resident behind an agenda topic who was invited to the meeting (once, however many of their topics are on
    it); they also hear of its cancellation or a new time."""

    __tablename__ = "meeting_invitations"
    __table_args__ = (UniqueConstraint("meeting_id", "resident_id"), Index("ix_meeting_invitations_resident",
                                                                         "resident_id"))

    id: Mapped[intpk]
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    created_at: Mapped[timestamp]


class MeetingOutcome(Base):
    """What a meeting decided on one agenda topic."""

    __tablename__ = "meeting_outcomes"
    __table_args__ = (UniqueConstraint("meeting_id", "topic_id"), Index("ix_meeting_outcomes_topic", "topic_id"))

    id: Mapped[intpk]
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"))
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id"))
    result: Mapped[OutcomeResult] = enum_column(OutcomeResult)
    solution: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[timestamp]


class Assignment(Base):
    """领办: who leads the implementation of a topic's agreed solution, by when, and how far it is."""

    __tablename__ = "assignments"
    __table_args__ = (CheckConstraint("percent >= 0 AND percent <= 100", name="percent_range"),)

    id: Mapped[intpk]
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id"), unique=True)
    lead_kind: Mapped[LeadKind] = enum_column(LeadKind)
    lead_name: Mapped[str64]
    due_on: Mapped[dt.date] = mapped_column(Date, index=True)
    percent: Mapped[int] = mapped_column(Integer, default=0)
    round: Mapped[int] = mapped_column(Integer, default=1)
    completed_at: Mapped[dt.datetime | None]
    created_at: Mapped[timestamp]

    topic: Mapped[Topic] = relationship(lazy="joined")
    updates: Mapped[list[ProgressUpdate]] = relationship(order_by="ProgressUpdate.id", lazy="selectin")


class ProgressUpdate(Base):
    """One report of progress on an assignment: a percentage, a note, photos."""

    __tablename__ = "progress_updates"

    id: Mapped[intpk]
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), index=True)
    percent: Mapped[int]
    note: Mapped[str] = mapped_column(Text, default="")
    photos: Mapped[list[Any]] = mapped_column(JSON, default=list)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[timestamp]


class Rating(Base):
    """回访: one resident's rating of an implemented topic, in one round (a reopened topic asks again); a staff
    member's rating from a visit to that resident is a row of its own (source "visit", staff_id), never theirs."""

    __tablename__ = "ratings"
    __table_args__ = (UniqueConstraint("topic_id", "resident_id", "round", "source"),
                      Index("ix_ratings_created", "created_at"))

    id: Mapped[intpk]
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id"), index=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    round: Mapped[int]
    level: Mapped[RatingLevel] = enum_column(RatingLevel)
    reason: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(16))  # RATED_BY_RESIDENT or RATED_ON_VISIT (then staff_id)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[timestamp]


class ComplaintRating(Base):
    """回访 of a complaint solved in the grid or declined: the resident's rating of one answer (round n is the n-th
    time the complaint was solved or declined)."""

    __tablename__ = "complaint_ratings"
    __table_args__ = (UniqueConstraint("complaint_id", "round", "source"),
                      Index("ix_complaint_ratings_created", "created_at"))

    id: Mapped[intpk]
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    round: Mapped[int]
    level: Mapped[RatingLevel] = enum_column(RatingLevel)
    reason: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(16))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[timestamp]


class TopicResolution(Base):
    """The 居民(代表)会议's resolution on a topic referred to it: agreed (the text is the solution, 领办 follows) or
    not (the topic closes with the text as the reply)."""

    __tablename__ = "topic_resolutions"

    id: Mapped[intpk]
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id"), index=True)
    held_on: Mapped[dt.date] = mapped_column(Date)
    agreed: Mapped[bool] = mapped_column(Boolean)
    text: Mapped[str] = mapped_column(Text)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[timestamp]


class TopicOrigin(Base):
    """Who proposed a topic that has no complaint behind it (党支部提议, a secretary, a 议政代表); a topic without
    this row came from a complaint."""

    __tablename__ = "topic_origins"

    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id"), primary_key=True)
    origin: Mapped[str] = mapped_column(String(16))
    proposer: Mapped[str64]
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[timestamp]


class Publication(Base):
    """两公开: a decision or a result shown on the unit's public board from its publication date."""

    __tablename__ = "publications"
    __table_args__ = (UniqueConstraint("topic_id", "kind"),)

    id: Mapped[intpk]
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id"))
    kind: Mapped[PublicationKind] = enum_column(PublicationKind)
    text: Mapped[str] = mapped_column(Text)
    published_on: Mapped[dt.date] = mapped_column(Date)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[timestamp]

    topic: Mapped[Topic] = relationship(lazy="joined")


class RouteStage(Base):
    """One step of 四议两公开 for a major topic: its date and its vote counts."""

    __tablename__ = "route_stages"
    __table_args__ = (UniqueConstraint("topic_id", "step"),
                      CheckConstraint("votes_for >= 0 AND votes_against >= 0 AND votes_abstain >= 0",
                                      name="votes_not_negative"))

    id: Mapped[intpk]
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id"))
    step: Mapped[RouteStep] = enum_column(RouteStep)
    held_on: Mapped[dt.date] = mapped_column(Date)
    votes_for: Mapped[int]
    votes_against: Mapped[int]
    votes_abstain: Mapped[int]
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[timestamp]
