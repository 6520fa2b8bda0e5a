"""Law-assisted deliberation (援法议事): the legal adviser a village or community names, the deliberation categories
a district treats as major, the legal review of a major topic (the adviser's written opinion, required before the
resolution step) and the reading pack (精读本: documents attached to a topic or a meeting)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum

from sqlalchemy import CheckConstraint, ForeignKey, Integer, LargeBinary, String, Text, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from .base import Base, enum_column, intpk, str32, str64, str200, timestamp
from .council import Publication, PublicationKind
from .entities import Meeting, Staff, StaffRole, Topic, TopicState, Unit
from .errors import DomainError


class LegalAdviser(Base):
    """法律顾问 named by a village or community (一村一法律顾问): a staff member with the legal_adviser role. Units
    below it (its grids) share it; a unit without a row of its own has its nearest ancestor's."""

    __tablename__ = "legal_advisers"

    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    named_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    named_at: Mapped[timestamp]

    staff: Mapped[Staff] = relationship(foreign_keys=[staff_id], lazy="joined")


class MajorCategory(Base):
    """A deliberation category a district treats as major (重大事项): its topics go through a legal review."""

    __tablename__ = "major_categories"

    district_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True)
    category: Mapped[str32] = mapped_column(primary_key=True)
    created_at: Mapped[timestamp]


class Conclusion(enum.StrEnum):
    lawful = "lawful"  # 合法
    needs_changes = "needs_changes"  # 需修改
    unlawful = "unlawful"  # 不合法


class LegalOpinion(Base):
    """法律意见: the adviser's written opinion in the legal review (法制审核) of a topic, signed with their name at
    the time. A topic may get a newer one (after its plan was changed); the latest counts."""

    __tablename__ = "legal_opinions"
    __table_args__ = (CheckConstraint("length(text) > 0", name="text_not_empty"),)

    id: Mapped[intpk]
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    signed_name: Mapped[str64]
    conclusion: Mapped[Conclusion] = enum_column(Conclusion)
    text: Mapped[str] = mapped_column(Text)
    signed_at: Mapped[timestamp]


class ReadingDocument(Base):
    """精读本: a text, PDF or image the participants read before a meeting, attached to a topic or to a meeting.
    The bytes are in the database (as photos are), so every node serves every document; they are loaded only
    when downloaded."""

    __tablename__ = "reading_documents"
    __table_args__ = (CheckConstraint("(topic_id IS NULL) <> (meeting_id IS NULL)", name="one_owner"),
                      CheckConstraint("size > 0", name="size_positive"))

    id: Mapped[intpk]
    topic_id: Mapped[int | None] = mapped_column(ForeignKey("topics.id"), index=True)
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meetings.id"), index=True)
    title: Mapped[str200]
    content_type: Mapped[str32]
    suffix: Mapped[str] = mapped_column(String(8))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    uploaded_name: Mapped[str64]  # who attached it, as they were named then
    created_at: Mapped[timestamp]


# --- who advises where -----------------------------------------------------------------------------------------

def named_adviser(session: Session, unit: Unit) -> LegalAdviser | None:
    """The adviser named by the unit, or by its nearest ancestor that named one."""
    ids = unit.ancestor_ids() or [unit.id]
    rows = {r.unit_id: r for r in session.scalars(select(LegalAdviser).where(LegalAdviser.unit_id.in_(ids)))}
    return next((rows[i] for i in reversed(ids) if i in rows), None)


def advises(session: Session, staff: Staff, unit: Unit) -> bool:
    """Whether `staff` is the active legal adviser named for the unit (or for the village above its grid)."""
    row = named_adviser(session, unit)
    return (row is not None and row.staff_id == staff.id and staff.role == StaffRole.legal_adviser
            and staff.active)


def advised_units(session: Session, staff: Staff) -> list[Unit]:
    """The units that named this adviser."""
    return list(session.scalars(select(Unit).join(LegalAdviser, LegalAdviser.unit_id == Unit.id)
                                .where(LegalAdviser.staff_id == staff.id).order_by(Unit.path)))


# --- legal review ----------------------------------------------------------------------------------------------

# A topic's plan can still be reviewed until the decision is published (the opinion is published with it).
REVIEWABLE = (TopicState.proposed, TopicState.approved, TopicState.scheduled, TopicState.agreed,
              TopicState.no_consensus, TopicState.referred)


def major_categories(session: Session, district: Unit) -> set[str]:
    return set(session.scalars(select(MajorCategory.category).where(MajorCategory.district_id == district.id)))


def is_major(session: Session, topic: Topic) -> bool:
    """Whether the district above the topic's unit treats its category as major (重大事项)."""
    ids = topic.unit.ancestor_ids() or [topic.unit_id]
    return session.scalar(select(MajorCategory.district_id).where(
        MajorCategory.district_id.in_(ids), MajorCategory.category == topic.category).limit(1)) is not None


def opinions(session: Session, topic: Topic) -> list[LegalOpinion]:
    """Every opinion on the topic, the latest first."""
    return list(session.scalars(select(LegalOpinion).where(LegalOpinion.topic_id == topic.id)
                                .order_by(LegalOpinion.id.desc())))


def latest_opinion(session: Session, topic: Topic) -> LegalOpinion | None:
    return session.scalar(select(LegalOpinion).where(LegalOpinion.topic_id == topic.id)
                          .order_by(LegalOpinion.id.desc()).limit(1))


def decision_published(session: Session, topic: Topic, today: dt.date | None = None) -> bool:
    """Whether the topic's decision is published (up to `today`, when given: as the board shows it)."""
    query = select(Publication.id).where(Publication.topic_id == topic.id,
                                         Publication.kind == PublicationKind.decision)
    if today is not None:
        query = query.where(Publication.published_on <= today)
    return session.scalar(query.limit(1)) is not None


def published_opinion(session: Session, topic: Topic, today: dt.date) -> LegalOpinion | None:
    """The opinion residents may read: the latest one, once the topic's decision is on the board."""
    return latest_opinion(session, topic) if decision_published(session, topic, today) else None


def require_review(session: Session, topic: Topic, *, agreeing: bool) -> None:
    """Refuse the resolution of a major topic that has no legal opinion (`legal_opinion_missing`, naming the adviser
    who owes it; `legal_adviser_missing` when its unit has named none), or an agreeing resolution when the latest
    opinion found the plan unlawful (`legal_opinion_unlawful`). Reads only."""
    if not is_major(session, topic):
        return
    opinion = latest_opinion(session, topic)
    if opinion is None:
        adviser = named_adviser(session, topic.unit)
        if adviser is None:
            raise DomainError("legal_adviser_missing", status=409, title=topic.title)
        raise DomainError("legal_opinion_missing", status=409, title=topic.title, adviser=adviser.staff.display_name)
    if agreeing and opinion.conclusion == Conclusion.unlawful:
        raise DomainError("legal_opinion_unlawful", status=409, title=topic.title, adviser=opinion.signed_name)


def sign_opinion(session: Session, adviser: Staff, topic: Topic, *, conclusion: Conclusion, text: str,
                 now: dt.datetime) -> LegalOpinion:
    """Write the adviser's signed opinion on a topic still under deliberation (`legal_review_closed` once the
    decision is published or the topic is past it). Side effect: adds the row; the request's audit records it."""
    if topic.state not in REVIEWABLE or decision_published(session, topic):
        raise DomainError("legal_review_closed", status=409)
    row = LegalOpinion(topic_id=topic.id, staff_id=adviser.id, signed_name=adviser.display_name,
                       conclusion=conclusion, text=text, signed_at=now)
    session.add(row)
    session.flush()
    return row


def awaiting_review(session: Session, adviser: Staff) -> list[Topic]:
    """Major topics in the units that named this adviser (and their grids), still open to review, without an
    opinion yet: the oldest first."""
    units = advised_units(session, adviser)
    if not units:
        return []
    below = select(Unit.id).where(or_(*[Unit.path.startswith(u.path) for u in units]))
    reviewed = select(LegalOpinion.topic_id)
    rows = session.scalars(select(Topic).where(Topic.unit_id.in_(below), Topic.state.in_(REVIEWABLE),
                                               Topic.id.not_in(reviewed)).order_by(Topic.created_at, Topic.id))
    return [t for t in rows if is_major(session, t) and advises(session, adviser, t.unit)]


def open_topics(session: Session, adviser: Staff, limit: int = 30) -> list[Topic]:
    """The topics still under deliberation in the units that named this adviser (major or not), the newest first:
    an opinion may be given on any of them, and must be on the major ones."""
    units = advised_units(session, adviser)
    if not units:
        return []
    below = select(Unit.id).where(or_(*[Unit.path.startswith(u.path) for u in units]))
    rows = session.scalars(select(Topic).where(Topic.unit_id.in_(below), Topic.state.in_(REVIEWABLE))
                           .order_by(Topic.created_at.desc(), Topic.id.desc()).limit(limit))
    return [t for t in rows if advises(session, adviser, t.unit)]


def reviewed_by(session: Session, adviser: Staff, limit: int = 20) -> list[tuple[Topic, LegalOpinion]]:
    """The adviser's latest opinions with their topics, the newest first."""
    rows = session.execute(select(Topic, LegalOpinion).join(LegalOpinion, LegalOpinion.topic_id == Topic.id)
                           .where(LegalOpinion.staff_id == adviser.id)
                           .order_by(LegalOpinion.id.desc()).limit(limit)).all()
    return [(t, o) for t, o in rows]


# --- the reading pack ------------------------------------------------------------------------------------------

def documents_of(session: Session, *, topic: Topic | None = None, meeting: Meeting | None = None
                 ) -> list[ReadingDocument]:
    """The documents attached to a topic or to a meeting, in the order they were attached (bytes not loaded)."""
    column, owner = (ReadingDocument.topic_id, topic) if topic is not None else (ReadingDocument.meeting_id, meeting)
    return list(session.scalars(select(ReadingDocument).where(column == owner.id).order_by(ReadingDocument.id)))


def documents_for_topics(session: Session, topic_ids: list[int]) -> dict[int, list[ReadingDocument]]:
    out: dict[int, list[ReadingDocument]] = {}
    if topic_ids:
        for row in session.scalars(select(ReadingDocument).where(ReadingDocument.topic_id.in_(topic_ids))
                                   .order_by(ReadingDocument.id)):
            out.setdefault(row.topic_id, []).append(row)
    return out


@dataclasses.dataclass(frozen=True)
class Review:
    """What the legal review of a topic looks like on a page."""

    major: bool
    adviser: LegalAdviser | None
    opinions: list[LegalOpinion]
    open: bool  # an opinion may still be written

    @property
    def latest(self) -> LegalOpinion | None:
        return self.opinions[0] if self.opinions else None


def review_of(session: Session, topic: Topic) -> Review:
    return Review(is_major(session, topic), named_adviser(session, topic.unit), opinions(session, topic),
                  topic.state in REVIEWABLE and not decision_published(session, topic))
