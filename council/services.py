"""Topic decisions by the secretary of the owning unit: approve, reject, merge, and the 四议两公开 route."""

from __future__ import annotations

import logging

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models import (
    Actor,
    Complaint,
    Conflict,
    DomainError,
    NotFound,
    Staff,
    StaffRole,
    Topic,
    TopicState,
    transition_topic,
)
from models.council import ROUTE_ORDER, RouteStage, RouteStep
from models.scope import in_scope, scope_clause
from web.messages import ROUTE_STEPS

from . import forms

log = logging.getLogger(__name__)
REASON_LIMIT = 500


def topics(session: Session, staff: Staff) -> list[Topic]:
    """Topics of the secretary's units: those awaiting approval first, then the newest."""
    rows = session.scalars(select(Topic).where(scope_clause(staff, Topic.unit_id))
                           .order_by(Topic.created_at.desc(), Topic.id.desc()))
    return sorted(rows, key=lambda t: t.state != TopicState.proposed)


def topic_for(session: Session, staff: Staff, topic_id: int) -> Topic:
    """A topic the staff member may see; any other answers like a missing one, and the attempt is logged.

    Grid workers may see the topics of the communities their grids belong to (to record a visit's rating).
    """
    topic = session.get(Topic, topic_id)
    allowed = topic is not None and (
        in_scope(staff, topic.unit)
        or (staff.role == StaffRole.grid_worker and any(u.path.startswith(topic.unit.path) for u in staff.units)))
    if not allowed:
        if topic is not None:
            log.warning("staff %s tried topic %s outside their units", staff.id, topic_id)
        raise NotFound("topic_not_found")
    return topic


def _check_fresh(topic: Topic, version: str | None) -> None:
    if version is not None and version != topic.state_changed_at.isoformat():
        raise Conflict("stale_form")


def approve(session: Session, staff: Staff, topic: Topic, *, version: str | None = None) -> Topic:
    """审定: accept a proposed topic for the council; tells every resident behind it."""
    _check_fresh(topic, version)
    return transition_topic(session, topic, "approve", actor=Actor.staff(staff))


def reject(session: Session, staff: Staff, topic: Topic, *, reason: str, version: str | None = None) -> Topic:
    """Refuse a proposed topic with a reason; every resident behind it is told the reason."""
    _check_fresh(topic, version)
    reason = forms.text(reason, "reject_reason_required", REASON_LIMIT)
    return transition_topic(session, topic, "reject", actor=Actor.staff(staff), reason=reason)


def merge(session: Session, staff: Staff, topic: Topic, *, into_id: str | int | None,
          version: str | None = None) -> Topic:
    """Merge a proposed topic into another open topic of the same unit; its complaints (and residents) move over."""
    _check_fresh(topic, version)
    try:
        target = session.get(Topic, int(into_id))
    except (TypeError, ValueError):
        target = None
    if (target is None or target.id == topic.id or target.unit_id != topic.unit_id
            or target.state not in (TopicState.proposed, TopicState.approved)):
        raise DomainError("merge_target_invalid")
    session.execute(update(Complaint).where(Complaint.topic_id == topic.id).values(topic_id=target.id)
                    .execution_options(synchronize_session="fetch"))
    topic.merged_into_id = target.id
    return transition_topic(session, topic, "merge", actor=Actor.staff(staff), reason=target.title,
                            data={"into_topic_id": target.id})


def merge_targets(session: Session, topic: Topic) -> list[Topic]:
    return list(session.scalars(select(Topic).where(
        Topic.unit_id == topic.unit_id, Topic.id != topic.id,
        Topic.state.in_([TopicState.proposed, TopicState.approved])).order_by(Topic.id)))


def route_stages(session: Session, topic: Topic) -> list[RouteStage]:
    stages = {s.step: s for s in session.scalars(select(RouteStage).where(RouteStage.topic_id == topic.id))}
    return [stages[step] for step in ROUTE_ORDER if step in stages]


def record_route_stage(session: Session, staff: Staff, topic: Topic, *, step: str, held_on: str,
                       votes_for, votes_against, votes_abstain) -> RouteStage:
    """Record the next step of 四议两公开 with its date and vote counts; steps go in order, each once."""
    step = RouteStep(forms.choice(step, set(ROUTE_STEPS), "route_step_unknown"))
    day = forms.date(held_on)
    votes = [forms.integer(v, "votes_invalid", 0, 100000) for v in (votes_for, votes_against, votes_abstain)]
    done = {s.step for s in route_stages(session, topic)}
    if step in done:
        raise DomainError("route_step_recorded")
    expected = next(s for s in ROUTE_ORDER if s not in done)
    if step != expected:
        raise DomainError("route_step_order", previous=ROUTE_STEPS[expected.value])
    stage = RouteStage(topic_id=topic.id, step=step, held_on=day, votes_for=votes[0], votes_against=votes[1],
                       votes_abstain=votes[2], staff_id=staff.id)
    session.add(stage)
    session.flush()
    return stage
