"""回访: residents rate an implemented topic (不满意 reopens it; everyone content closes it) and a complaint solved
in the grid or declined (不满意 on a solved one sends it back to the grid worker's queue); staff record what a
visit found beside the resident's own rating; topics nobody finished rating close after the follow-up period."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from models import (
    SYSTEM,
    Actor,
    AuditEvent,
    Complaint,
    ComplaintState,
    DomainError,
    NotFound,
    Resident,
    Staff,
    StaffRole,
    Topic,
    TopicState,
    transition_complaint,
    transition_topic,
    utcnow,
)
from models.council import RATED_BY_RESIDENT, RATED_ON_VISIT, Assignment, ComplaintRating, Rating, RatingLevel
from models.lifecycle import notify, residents_behind, staff_of
from web.messages import FOLLOWUP_EXPIRED, RATING_LEVELS

REASON_LIMIT = 500
FOLLOWUP_DAYS = 15  # a topic implemented this long ago closes, rated by all its residents or not
ANSWERED = (ComplaintState.solved, ComplaintState.not_deliberable)


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


def _checked(level, reason) -> tuple[RatingLevel, str]:
    if not isinstance(level, str) or level not in RATING_LEVELS:
        raise DomainError("rating_unknown")
    if reason is not None and not isinstance(reason, str):
        raise DomainError("field_invalid", field="reason")
    reason = (reason or "").strip()
    if len(reason) > REASON_LIMIT:
        raise DomainError("field_invalid", field="reason")
    return RatingLevel(level), reason


def rate(session: Session, topic: Topic, resident: Resident, *, level, reason=None) -> Rating:
    """Record a resident's own rating of this round of implementation (in the mini-program).

    Side effects: 不满意 reopens the topic with the reason (a new round); when every resident behind it has rated
    this round and none is unsatisfied, the topic closes. Staff ratings from visits neither count nor block.
    """
    level, reason = _checked(level, reason)
    if level == RatingLevel.unsatisfied and not reason:
        raise DomainError("rating_reason_required")
    if not is_behind(session, resident, topic):
        raise DomainError("rating_not_behind", status=403)
    round_ = current_round(session, topic)
    mine = select(Rating.id).where(Rating.topic_id == topic.id, Rating.resident_id == resident.id,
                                   Rating.round == round_, Rating.source == RATED_BY_RESIDENT)
    if session.scalar(mine):
        raise DomainError("rating_duplicate", status=409)
    if topic.state != TopicState.implemented:
        raise DomainError("rating_not_open", status=409)
    actor = Actor("resident", resident.id)
    row = Rating(topic_id=topic.id, resident_id=resident.id, round=round_, level=level, reason=reason,
                 source=RATED_BY_RESIDENT, created_at=utcnow())
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
        Rating.topic_id == topic.id, Rating.round == round_, Rating.source == RATED_BY_RESIDENT,
        Rating.level != RatingLevel.unsatisfied)))
    if behind <= content:
        transition_topic(session, topic, "close", actor=actor, reason=RATING_LEVELS[level.value],
                         data={"rating_id": row.id})
    return row


def rate_on_visit(session: Session, staff: Staff, topic: Topic, *, resident_id, level, reason=None) -> Rating:
    """Record what a staff member's 回访 visit to a resident behind an implemented topic found, as the staff
    member's rating (one per resident and round), beside the resident's own; the topic's state does not change."""
    level, reason = _checked(level, reason)
    try:
        resident = session.get(Resident, int(resident_id))
    except (TypeError, ValueError):
        resident = None
    if resident is None or not is_behind(session, resident, topic):
        raise DomainError("rating_not_behind", status=403)
    if topic.state != TopicState.implemented:
        raise DomainError("rating_not_open", status=409)
    round_ = current_round(session, topic)
    if session.scalar(select(Rating.id).where(Rating.topic_id == topic.id, Rating.resident_id == resident.id,
                                              Rating.round == round_, Rating.source == RATED_ON_VISIT)):
        raise DomainError("rating_duplicate", status=409)
    row = Rating(topic_id=topic.id, resident_id=resident.id, round=round_, level=level, reason=reason,
                 source=RATED_ON_VISIT, staff_id=staff.id, created_at=utcnow())
    session.add(row)
    session.flush()
    return row


def close_expired(session: Session, *, now: dt.datetime | None = None, days: int = FOLLOWUP_DAYS) -> int:
    """Close the topics implemented more than `days` ago that their residents did not finish rating.

    Side effects: each closes (its complaints with it) and its residents are told once; the caller commits.
    Safe to run from several sweeps at once. Returns how many closed.
    """
    cutoff = (now or utcnow()) - dt.timedelta(days=days)
    # locked, and those another sweep holds skipped: each topic closes (and its residents hear it) once
    due = session.scalars(select(Topic).where(Topic.state == TopicState.implemented, Topic.state_changed_at <= cutoff)
                          .order_by(Topic.id).with_for_update(of=Topic, skip_locked=True)).unique().all()
    for topic in due:
        transition_topic(session, topic, "close", actor=SYSTEM, reason=FOLLOWUP_EXPIRED, data={"expired": True})
    session.flush()
    return len(due)


# --- complaints answered in triage ---------------------------------------------------------------------------

def complaint_round(session: Session, complaint: Complaint) -> int:
    """Which answer of the complaint is rated now: the n-th time it was solved or declined."""
    return session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.subject_kind == "complaint", AuditEvent.subject_id == complaint.id,
        AuditEvent.action.in_(("solve", "decline")))) or 0


def complaint_ratings(session: Session, complaint: Complaint) -> list[ComplaintRating]:
    return list(session.scalars(select(ComplaintRating).where(ComplaintRating.complaint_id == complaint.id)
                                .order_by(ComplaintRating.id)))


def can_rate_complaint(session: Session, complaint: Complaint) -> bool:
    """Solved or declined, and this answer not yet rated by its resident."""
    if complaint.state not in ANSWERED:
        return False
    round_ = complaint_round(session, complaint)
    return not any(r.round == round_ and r.source == RATED_BY_RESIDENT for r in complaint_ratings(session, complaint))


def resident_complaint(session: Session, resident: Resident, complaint_id: int) -> Complaint:
    """The resident's own complaint; any other answers like a missing one."""
    complaint = session.get(Complaint, complaint_id)
    if complaint is None or complaint.resident_id != resident.id:
        raise NotFound("complaint_not_found")
    return complaint


def rate_complaint(session: Session, complaint: Complaint, resident: Resident, *, level,
                   reason=None) -> ComplaintRating:
    """The resident rates the answer to their complaint (solved in the grid or declined), with an optional comment.

    Side effects: 不满意 on a solved complaint sends it back to the grid worker's queue (reopen: audited, the
    resident and the unit's grid workers are told); otherwise the rating is recorded and nothing moves.
    """
    level, reason = _checked(level, reason)
    # one rating at a time per complaint: a second tap waits and is then refused as already rated
    session.execute(select(Complaint.id).where(Complaint.id == complaint.id).with_for_update())
    if not can_rate_complaint(session, complaint):
        raise DomainError("complaint_rating_not_open", status=409)
    row = ComplaintRating(complaint_id=complaint.id, resident_id=resident.id,
                          round=complaint_round(session, complaint), level=level, reason=reason,
                          source=RATED_BY_RESIDENT, created_at=utcnow())
    session.add(row)
    session.flush()
    if level == RatingLevel.unsatisfied and complaint.state == ComplaintState.solved:
        transition_complaint(session, complaint, "reopen", actor=Actor("resident", resident.id),
                             reason=reason or RATING_LEVELS[level.value],
                             data={"rating_id": row.id, "result": "reopen"})
        for worker in staff_of(session, complaint.unit, StaffRole.grid_worker):  # back in their queue
            notify(session, "complaint_new_in_unit", recipient_kind="staff", recipient_id=worker.id,
                   openid=worker.openid, params={"complaint_id": complaint.id, "unit_name": complaint.unit.name,
                                                 "category": complaint.category, "at": utcnow().isoformat()})
    return row
