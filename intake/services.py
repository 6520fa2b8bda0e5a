"""Resident sign-in and complaint submission: verb-first, flushing, never committing."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from sqlalchemy import insert, or_, select
from sqlalchemy.orm import Session

from models import AuditEvent, Complaint, ComplaintState, Conflict, DomainError, Meeting, NotFound, Resident, Unit
from models.base import CHINA
from models.council import MeetingDetail
from models.entities import meeting_topics
from models.governance import refuse_blocked
from models.intake import (
    OPEN_STATES,
    PHONE,
    ComplaintContact,
    Photo,
    add_resident_note,
    complaint_notes,
    mask_phone,
)
from models.lifecycle import Actor, NewComplaint, transition_complaint
from models.triage import active_categories
from qr.personal import is_personal, personal_scene_of
from qr.services import resolve_scene, scene_of
from web.messages import (
    COMPLAINT_CATEGORIES,
    COMPLAINT_STATES,
    MEETING_STATES,
    REPRESENTATIVE_KINDS,
    TIMELINE,
    TOPIC_STATES,
)

from .photos import MAX_PER_COMPLAINT, photo_json

TEXT_LIMIT = 1000
ADDRESS_LIMIT = 200
# The audited actions that decide a complaint; the latest one is the complaint's `decision`.
DECISIONS = ("decline", "solve", "merge", "promote", "escalate")


def local_iso(moment: dt.datetime | None) -> str | None:
    """A time as residents read it: China time, with its +08:00 offset."""
    return None if moment is None else moment.astimezone(CHINA).isoformat()


def categories(session: Session, unit_id: int) -> list[str]:
    """The categories a resident of the unit may choose: its district's active ones (models.triage)."""
    return active_categories(session, unit_id, COMPLAINT_CATEGORIES)


def _phone(phone: Any) -> str | None:
    if phone is None or phone == "":
        return None
    if not isinstance(phone, str) or not PHONE.fullmatch(phone):
        raise DomainError("phone_invalid")
    return phone


def _location(location: Any) -> tuple[float, float, str | None] | None:
    if location is None:
        return None
    if not isinstance(location, dict) or set(location) - {"latitude", "longitude", "address"}:
        raise DomainError("location_invalid")
    lat, lng, address = location.get("latitude"), location.get("longitude"), location.get("address")
    for value, bound in ((lat, 90), (lng, 180)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
                or abs(value) > bound:
            raise DomainError("location_invalid")
    if address is not None and (not isinstance(address, str) or len(address) > ADDRESS_LIMIT):
        raise DomainError("location_invalid")
    return float(lat), float(lng), (address.strip() or None) if address else None


def _photos(session: Session, resident: Resident, photo_ids: Any) -> list[Photo]:
    if photo_ids is None:
        return []
    if not isinstance(photo_ids, list) or any(isinstance(i, bool) or not isinstance(i, int) for i in photo_ids):
        raise DomainError("photos_invalid")
    if len(photo_ids) > MAX_PER_COMPLAINT:
        raise DomainError("photos_too_many", limit=MAX_PER_COMPLAINT)
    if len(set(photo_ids)) != len(photo_ids):
        raise DomainError("photos_invalid")
    photos = []
    for photo_id in photo_ids:
        photo = session.get(Photo, photo_id) if -2**31 < photo_id < 2**31 else None
        if photo is None or photo.resident_id != resident.id:
            raise NotFound("photo_not_found")
        if photo.complaint_id is not None:
            raise DomainError("photo_already_used")
        photos.append(photo)
    return photos


_INSERT_CONTACT = insert(ComplaintContact.__table__)


def record_complaint(session: Session, resident: Any, *, scene: Any, category: Any, text: Any,
                     phone: Any = None, location: Any = None, photos: Any = None) -> dict[str, Any]:
    """Record a complaint for the unit behind the scene token; returns what the resident sees of it (complaint_json).

    `resident` is anything with `id` and `openid`. Side effects: the complaint in state `submitted` with its audit
    event, receipt and content check (models.lifecycle.transition_complaint), its contact row if a phone or
    location was given, the resident's uploaded photos attached. Nothing is committed. A blocked resident is
    refused (`submitter_blocked`, models.governance) before anything is written.
    """
    refuse_blocked(session, resident_id=resident.id)
    representative_id = None
    if is_personal(scene):  # a representative's personal code (连心码): their unit's queue, naming them
        personal = personal_scene_of(session, scene)
        code_id, unit_id, unit_name, full_name = None, personal.unit_id, personal.unit_name, personal.full_name
        representative_id = personal.representative_id
    else:
        code_id, unit_id, unit_name, full_name = scene_of(session, scene)
    if not isinstance(category, str) or category not in categories(session, unit_id):
        raise DomainError("category_unknown")
    if not isinstance(text, str) or not text.strip():
        raise DomainError("text_empty")
    if len(text) > TEXT_LIMIT:
        raise DomainError("text_too_long", limit=TEXT_LIMIT)
    text = text.strip()
    phone = _phone(phone)
    where = _location(location)
    attached = _photos(session, resident, photos)
    complaint = transition_complaint(
        session, NewComplaint(unit_id=unit_id, unit_name=unit_name, resident_id=resident.id, openid=resident.openid,
                              category=category, text=text, qr_code_id=code_id,
                              representative_id=representative_id),
        "submit", actor=Actor("resident", resident.id))
    lat, lng, address = where or (None, None, None)
    if phone or where:
        session.connection().execute(_INSERT_CONTACT, {"complaint_id": complaint.id, "phone": phone, "latitude": lat,
                                                       "longitude": lng, "address": address})
    for photo in attached:
        photo.complaint_id = complaint.id
    now = local_iso(complaint.created_at)
    return {
        "id": complaint.id,
        "unit": {"name": unit_name, "full_name": full_name},
        "category": category,
        "text": text,
        "state": ComplaintState.submitted.value,
        "state_label": COMPLAINT_STATES[ComplaintState.submitted.value],
        "reply": None,
        "created_at": now,
        "phone": mask_phone(phone),
        "location": {"latitude": lat, "longitude": lng, "address": address} if where else None,
        "photos": [photo_json(p) for p in attached],
        "topic": None,
        "meetings": [],
        "decision": None,
        "notes": [],
        "can_add_note": True,
        "timeline": [{"at": now, "label": TIMELINE[("complaint", "submit")], "reason": ""}],
    }


def scene_json(session: Session, token: str) -> dict[str, Any]:
    """What a scan shows before the form: the unit behind a unit code or a personal code (with the representative
    the personal code belongs to), and the categories. No side effects."""
    representative = None
    if is_personal(token):
        personal = personal_scene_of(session, token)
        unit = session.get(Unit, personal.unit_id)
        representative = {"name": personal.representative_name, "kind": personal.kind,
                          "kind_label": REPRESENTATIVE_KINDS[personal.kind]}
    else:
        unit = resolve_scene(session, token).unit
    return {"scene": token, "categories": categories(session, unit.id), "representative": representative,
            "unit": {"name": unit.name, "full_name": unit.full_name(), "level": unit.level.value}}


def submit_complaint(session: Session, resident: Resident, *, scene: Any, category: Any, text: Any,
                     phone: Any = None, location: Any = None, photos: Any = None) -> Complaint:
    """record_complaint for callers that want the Complaint itself (the H5 page)."""
    data = record_complaint(session, resident, scene=scene, category=category, text=text, phone=phone,
                            location=location, photos=photos)
    return session.get(Complaint, data["id"])


def own_complaint(session: Session, resident: Resident, complaint_id: int) -> Complaint:
    """One of the resident's own complaints; anyone else's answers exactly like a missing one."""
    complaint = session.get(Complaint, complaint_id) if -2**31 < complaint_id < 2**31 else None
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
            steps.append({"at": local_iso(event.created_at), "label": label, "reason": event.reason or ""})
    return steps


def _decision(session: Session, complaint: Complaint) -> dict[str, Any] | None:
    """The latest decision on the complaint: its label, the reason's label and the referral (人民调解, 12345…)."""
    event = session.scalars(select(AuditEvent).where(
        AuditEvent.subject_kind == "complaint", AuditEvent.subject_id == complaint.id,
        AuditEvent.action.in_(DECISIONS)).order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()).limit(1)).first()
    if event is None:
        return None
    data = event.data or {}
    return {"action": event.action, "label": TIMELINE[("complaint", event.action)], "at": local_iso(event.created_at),
            "reason_code": data.get("reason_code"), "reason_label": data.get("reason") if event.action == "decline"
            else None, "referral": data.get("referral"), "referral_label": data.get("referral_name")}


def _topic(complaint: Complaint) -> dict[str, Any] | None:
    topic = complaint.topic
    if topic is None:
        return None
    return {"id": topic.id, "title": topic.title, "state": topic.state.value,
            "state_label": TOPIC_STATES[topic.state.value]}


def _meetings(session: Session, complaint: Complaint) -> list[dict[str, Any]]:
    """The meetings that had or have the complaint's topic on their agenda, earliest first."""
    if complaint.topic_id is None:
        return []
    agenda = meeting_topics.c
    rows = session.scalars(select(MeetingDetail).join(Meeting).join(meeting_topics, agenda.meeting_id == Meeting.id)
                           .where(agenda.topic_id == complaint.topic_id).order_by(Meeting.starts_at, Meeting.id)).all()
    out = []
    for detail in rows:
        state = "cancelled" if detail.cancelled_at else "held" if detail.held_at else "upcoming"
        out.append({"id": detail.meeting_id, "title": detail.title, "starts_at": local_iso(detail.meeting.starts_at),
                    "place": detail.meeting.place, "state": state, "state_label": MEETING_STATES[state]})
    return out


def _notes(session: Session, complaint: Complaint, photos: list[Photo]) -> list[dict[str, Any]]:
    by_id = {p.id: p for p in photos}
    return [{"id": n.id, "author": n.author_kind, "text": n.text, "at": local_iso(n.created_at),
             "photos": [photo_json(by_id[i]) for i in n.photo_ids if i in by_id]}
            for n in complaint_notes(session, complaint.id)]


def complaint_json(session: Session, complaint: Complaint, *, with_timeline: bool = True) -> dict[str, Any]:
    """What the resident sees of their complaint: where it went (topic, meetings, decision, referral), the reply,
    the notes both sides added; times in China time (+08:00); the phone only masked."""
    contact = session.get(ComplaintContact, complaint.id)
    photos = session.scalars(select(Photo).where(Photo.complaint_id == complaint.id, or_(
        Photo.media_check.is_(None), Photo.media_check != "hidden")).order_by(Photo.id)).all()  # hidden on review
    data = {
        "id": complaint.id,
        "unit": {"name": complaint.unit.name, "full_name": complaint.unit.full_name()},
        "category": complaint.category,
        "text": complaint.text,
        "state": complaint.state.value,
        "state_label": COMPLAINT_STATES[complaint.state.value],
        "reply": complaint.reply,
        "created_at": local_iso(complaint.created_at),
        "phone": mask_phone(contact.phone) if contact else None,
        "location": ({"latitude": contact.latitude, "longitude": contact.longitude, "address": contact.address}
                     if contact and contact.latitude is not None else None),
        "photos": [photo_json(p) for p in photos],
        "topic": _topic(complaint),
        "meetings": _meetings(session, complaint),
        "decision": _decision(session, complaint),
        "notes": _notes(session, complaint, photos),
        "can_add_note": complaint.state.value in OPEN_STATES,
    }
    if with_timeline:
        data["timeline"] = timeline(session, complaint)
    return data


def add_note(session: Session, resident: Resident, complaint_id: int, *, text: Any, photos: Any) -> dict[str, Any]:
    """The resident adds words and/or their uploaded photos to their own open complaint; returns the complaint.

    Side effects: models.intake.add_resident_note (the note, photos attached, audited, grid workers told).
    Refused `complaint_closed` (409) once decided or closed, before anything else is looked at.
    """
    complaint = own_complaint(session, resident, complaint_id)
    if complaint.state.value not in OPEN_STATES:
        raise Conflict("complaint_closed")
    if text is not None and not isinstance(text, str):
        raise DomainError("field_invalid", field="text")
    attached = _photos(session, resident, photos)
    add_resident_note(session, resident, complaint, text=text or "", photos=attached)
    return complaint_json(session, complaint)


def my_complaints(session: Session, resident: Resident) -> list[Complaint]:
    """The resident's complaints, newest first. No side effects."""
    return list(session.scalars(select(Complaint).where(Complaint.resident_id == resident.id)
                                .order_by(Complaint.created_at.desc(), Complaint.id.desc())))
