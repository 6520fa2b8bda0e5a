"""Topic decisions by the secretary of the owning unit."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Actor, Conflict, NotFound, Staff, Topic, TopicState, transition_topic
from models.scope import in_scope, scope_clause

log = logging.getLogger(__name__)


def topics(session: Session, staff: Staff) -> list[Topic]:
    """Topics of the secretary's units: those awaiting approval first, then the newest."""
    rows = session.scalars(select(Topic).where(scope_clause(staff, Topic.unit_id))
                           .order_by(Topic.created_at.desc(), Topic.id.desc()))
    return sorted(rows, key=lambda t: t.state != TopicState.proposed)


def topic_for(session: Session, staff: Staff, topic_id: int) -> Topic:
    """A topic the secretary may see; any other answers like a missing one, and the attempt is logged."""
    topic = session.get(Topic, topic_id)
    if topic is None or not in_scope(staff, topic.unit):
        if topic is not None:
            log.warning("staff %s tried topic %s outside their units", staff.id, topic_id)
        raise NotFound("topic_not_found")
    return topic


def approve(session: Session, staff: Staff, topic: Topic, *, version: str | None = None) -> Topic:
    """审定: accept a proposed topic for the council; tells every resident behind it."""
    if version is not None and version != topic.state_changed_at.isoformat():
        raise Conflict("stale_form")
    return transition_topic(session, topic, "approve", actor=Actor.staff(staff))
