"""回访: residents behind an implemented topic rate it; 不满意 reopens it; all satisfied closes it."""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from models import Actor, Complaint, DomainError, NotFound, Resident, Staff, Topic, TopicState, transition_topic, utcnow
from models.council import Assignment, Rating, RatingLevel
from models.lifecycle import residents_behind
from web.messages import RATING_LEVELS

REASON_LIMIT = 500


def is_behind(session: Session, resident: Resident, topic: Topic) -> bool:
    return session.scalar(select(exists().where(Complaint.topic_id == topic.id,
                                                Complaint.resident_id == resident.id))) is True


def resident_topic(session: Session, resident: Resident, topic_id: int) -> Topic:
    """A topic the resident is behind; any other answers like a missing one."""
    topic = session.get(Topic, topic_id)
    if topic is None or not is_behind(session, resident, topic):
        raise NotFound("topic_not_found")
    return topic


def current_round(session: Session, topic: Topic) -> int:
    return session.scalar(select(Assignment.round).where(Assignment.topic_id == topic.id)) or 1


def ratings(session: Session, topic: Topic) -> list[Rating]:
    return list(session.scalars(select(Rating).where(Rating.topic_id == topic.id).order_by(Rating.id)))


def rate(session: Session, topic: Topic, resident: Resident, *, level, reason=None,
         staff: Staff | None = None) -> Rating:
    """Record one resident's rating of this round of implementation (in the mini-program, or on a grid worker's
    visit). 不满意 reopens the topic with the reason; when everyone behind it is satisfied, the topic closes."""
    level = RatingLevel(_level(level))
    reason = reason.strip() if isinstance(reason, str) else ""
    if len(reason) > REASON_LIMIT:
        raise DomainError("field_invalid", field="reason")
    if level == RatingLevel.unsatisfied and not reason:
        raise DomainError("rating_reason_required")
    if not is_behind(session, resident, topic):
        raise DomainError("rating_not_behind", status=403)
    round_ = current_round(session, topic)
    if session.scalar(select(Rating.id).where(Rating.topic_id == topic.id, Rating.resident_id == resident.id,
                                              Rating.round == round_)):
        raise DomainError("rating_duplicate", status=409)
    if topic.state != TopicState.implemented:
        raise DomainError("rating_not_open", status=409)
    actor = Actor.staff(staff) if staff else Actor("resident", resident.id)
    row = Rating(topic_id=topic.id, resident_id=resident.id, round=round_, level=level, reason=reason,
                 source="visit" if staff else "resident", staff_id=staff.id if staff else None, created_at=utcnow())
    session.add(row)
    session.flush()
    if level == RatingLevel.unsatisfied:
        assignment = session.scalar(select(Assignment).where(Assignment.topic_id == topic.id))
        if assignment is not None:
            assignment.round += 1
            assignment.completed_at = None
        transition_topic(session, topic, "reopen", actor=actor, reason=reason, data={"rating_id": row.id})
        return row
    behind = {c.resident_id for c in residents_behind(session, topic)}
    content = set(session.scalars(select(Rating.resident_id).where(
        Rating.topic_id == topic.id, Rating.round == round_, Rating.level != RatingLevel.unsatisfied)))
    if behind <= content:
        transition_topic(session, topic, "close", actor=actor, reason=RATING_LEVELS[level.value],
                         data={"rating_id": row.id})
    return row


def _level(value) -> str:
    if not isinstance(value, str) or value not in RATING_LEVELS:
        raise DomainError("rating_unknown")
    return value


def rate_on_visit(session: Session, staff: Staff, topic: Topic, *, resident_id, level, reason=None) -> Rating:
    """A grid worker records the rating a resident gave on a follow-up visit."""
    try:
        resident = session.get(Resident, int(resident_id))
    except (TypeError, ValueError):
        resident = None
    if resident is None:
        raise DomainError("rating_not_behind", status=403)
    return rate(session, topic, resident, level=level, reason=reason, staff=staff)
