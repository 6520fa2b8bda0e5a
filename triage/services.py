"""Triage decisions: each goes through the complaint lifecycle, is audited and tells the resident."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import (
    Actor,
    Complaint,
    ComplaintState,
    Conflict,
    DomainError,
    NotFound,
    Staff,
    Topic,
    UnitLevel,
    transition_complaint,
    transition_topic,
)
from models.messages import DEFAULT_REASONS, DELIBERATION_CATEGORIES
from models.scope import in_scope, nearest, scope_clause

log = logging.getLogger(__name__)
TITLE_LIMIT = 60


def queue(session: Session, staff: Staff) -> list[Complaint]:
    """Complaints awaiting triage in the worker's units, oldest first."""
    return list(session.scalars(
        select(Complaint)
        .where(Complaint.state == ComplaintState.awaiting_triage, scope_clause(staff, Complaint.unit_id))
        .order_by(Complaint.created_at, Complaint.id)
    ))


def complaint_for(session: Session, staff: Staff, complaint_id: int) -> Complaint:
    """A complaint the worker may see; any other answers like a missing one, and the attempt is logged."""
    complaint = session.get(Complaint, complaint_id)
    if complaint is None or not in_scope(staff, complaint.unit):
        if complaint is not None:
            log.warning("staff %s tried complaint %s outside their units", staff.id, complaint_id)
        raise NotFound("complaint_not_found")
    return complaint


def _check_fresh(complaint: Complaint, version: str | None) -> None:
    if version is not None and version != complaint.state_changed_at.isoformat():
        raise Conflict("stale_form")


def promote(session: Session, staff: Staff, complaint: Complaint, *, title: str, summary: str, category: str,
            version: str | None = None) -> Topic:
    """Classify as deliberable and promote to a new topic of the complaint's community; tells resident and secretary."""
    _check_fresh(complaint, version)
    title = (title or "").strip()
    if not title:
        raise DomainError("title_empty")
    if len(title) > TITLE_LIMIT:
        raise DomainError("title_too_long", limit=TITLE_LIMIT)
    if category not in DELIBERATION_CATEGORIES:
        raise DomainError("deliberation_category_unknown")
    owner = nearest(complaint.unit, UnitLevel.community) or complaint.unit
    actor = Actor.staff(staff)
    topic = Topic(unit_id=owner.id, title=title, summary=(summary or "").strip(), category=category,
                  proposed_by_id=staff.id)
    topic.unit = owner
    complaint.deliberable = True
    complaint.topic = topic
    transition_topic(session, topic, "propose", actor=actor, data={"complaint_id": complaint.id})
    transition_complaint(session, complaint, "promote", actor=actor, reason=title,
                         data={"topic_id": topic.id, "result": "转为议题"})
    return topic


def decline(session: Session, staff: Staff, complaint: Complaint, *, reason_code: str, reply: str,
            version: str | None = None) -> Complaint:
    """Classify as not deliberable with a reason code of the rule set and a reply the resident receives."""
    _check_fresh(complaint, version)
    if not reason_code:
        raise DomainError("reason_required")
    if reason_code not in DEFAULT_REASONS:
        raise DomainError("reason_unknown")
    reply = (reply or "").strip()
    if not reply:
        raise DomainError("reply_empty")
    complaint.deliberable = False
    complaint.reason_code = reason_code
    complaint.reply = reply
    return transition_complaint(session, complaint, "decline", actor=Actor.staff(staff), reason=reply,
                                data={"reason_code": reason_code, "result": "不予协商"})
