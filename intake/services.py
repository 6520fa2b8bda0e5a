"""Resident sign-in and complaint submission: verb-first, flushing, never committing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from models import Actor, AuditEvent, Complaint, DomainError, NotFound, Resident, transition_complaint
from models.lifecycle import defer
from models.messages import COMPLAINT_CATEGORIES, COMPLAINT_STATES, TIMELINE
from qr.services import resolve_scene

TEXT_LIMIT = 1000


def submit_complaint(session: Session, resident: Resident, *, scene: Any, category: Any, text: Any) -> Complaint:
    """Record a complaint for the unit behind the scene token; tells the resident and queues the content check."""
    code = resolve_scene(session, scene if isinstance(scene, str) else None)
    if not isinstance(category, str) or category not in COMPLAINT_CATEGORIES:
        raise DomainError("category_unknown")
    if not isinstance(text, str) or not text.strip():
        raise DomainError("text_empty")
    text = text.strip()
    if len(text) > TEXT_LIMIT:
        raise DomainError("text_too_long", limit=TEXT_LIMIT)
    complaint = Complaint(unit_id=code.unit_id, resident_id=resident.id, qr_code_id=code.id, category=category,
                          text=text)
    complaint.unit = code.unit
    complaint.resident = resident
    transition_complaint(session, complaint, "submit", actor=Actor("resident", resident.id))
    defer(session, "content_check", complaint)
    return complaint


def own_complaint(session: Session, resident: Resident, complaint_id: int) -> Complaint:
    """One of the resident's own complaints; anyone else's answers exactly like a missing one."""
    complaint = session.get(Complaint, complaint_id)
    if complaint is None or complaint.resident_id != resident.id:
        raise NotFound("complaint_not_found")
    return complaint


def timeline(session: Session, complaint: Complaint) -> list[dict[str, Any]]:
    """Every step of a complaint, and of the topic it became, in the words the resident reads."""
    clauses = [(AuditEvent.subject_kind == "complaint") & (AuditEvent.subject_id == complaint.id)]
    if complaint.topic_id is not None:
        clauses.append((AuditEvent.subject_kind == "topic") & (AuditEvent.subject_id == complaint.topic_id)
                       & (AuditEvent.action != "propose"))
    events = session.scalars(select(AuditEvent).where(or_(*clauses)).order_by(AuditEvent.created_at,
                                                                             AuditEvent.id))
    steps = []
    for event in events:
        label = TIMELINE.get((event.subject_kind, event.action))
        if label:
            steps.append({"at": event.created_at.isoformat(), "label": label, "reason": event.reason or ""})
    return steps


def complaint_json(session: Session, complaint: Complaint, *, with_timeline: bool = True) -> dict[str, Any]:
    data = {
        "id": complaint.id,
        "unit": {"name": complaint.unit.name, "full_name": complaint.unit.full_name()},
        "category": complaint.category,
        "text": complaint.text,
        "state": complaint.state.value,
        "state_label": COMPLAINT_STATES[complaint.state.value],
        "reply": complaint.reply,
        "created_at": complaint.created_at.isoformat(),
    }
    if with_timeline:
        data["timeline"] = timeline(session, complaint)
    return data


def my_complaints(session: Session, resident: Resident) -> list[Complaint]:
    return list(session.scalars(select(Complaint).where(Complaint.resident_id == resident.id)
                                .order_by(Complaint.created_at.desc(), Complaint.id.desc())))
