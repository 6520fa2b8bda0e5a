"""Residents' own data (个人信息保护法: the right to see and to delete what is held about them), in the mini-program
API with its session like the rest of /api/v1:

- `GET /api/v1/me/data`: everything held about the signed-in resident, as JSON: complaints (with the whole phone
  number and location they gave, their notes, photos' ids, ratings), topic ratings, meeting registrations and
  invitations, the subscription ledger, photos uploaded but never sent, their deletion requests;
- `POST /api/v1/me/deletion-requests`: a request to delete. It is recorded (an audit event on the resident, action
  `deletion_request`, in the audit log admins read) and carried out by the retention job (workers/retention.py) at
  its next round: the resident's closed matters are anonymised at once (each with its own `anonymise` audit event,
  on the staff timeline of the complaint), the open ones as soon as they close; once nothing is left open, the
  openid itself is replaced by a salted hash. Asking again answers the first request.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, request
from sqlalchemy import func, select

from models import AuditEvent, Complaint, Resident, utcnow
from models.council import ComplaintRating, MeetingInvitation, MeetingRegistration, Rating
from models.intake import ComplaintContact, ComplaintNote, Photo
from models.notify import Subscription
from models.residents import authenticate_resident
from web.http import db, json_body, ok
from web.messages import COMPLAINT_STATES

from .services import local_iso

bp = Blueprint("privacy", __name__, url_prefix="/api/v1")

DELETION_REQUEST = "deletion_request"  # the audit action that records a request; workers/retention.py acts on it
CLOSED = ("not_deliberable", "solved", "merged", "closed")  # a matter retention may anonymise
REASON_LIMIT = 500


def _resident() -> Resident:
    return authenticate_resident(db(), request.headers.get("Authorization"))


def _requests(session, resident: Resident) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(
        AuditEvent.subject_kind == "resident", AuditEvent.subject_id == resident.id,
        AuditEvent.action == DELETION_REQUEST).order_by(AuditEvent.id)))


def _request_json(event: AuditEvent) -> dict[str, Any]:
    return {"id": event.id, "created_at": local_iso(event.created_at), "reason": event.reason or ""}


def resident_data(session, resident: Resident) -> dict[str, Any]:
    """Everything held about one resident, in the resident's own view (nothing masked). No side effects."""
    complaints = session.scalars(select(Complaint).where(Complaint.resident_id == resident.id)
                                 .order_by(Complaint.id)).all()
    ids = [c.id for c in complaints]
    contacts = {c.complaint_id: c for c in session.scalars(select(ComplaintContact).where(
        ComplaintContact.complaint_id.in_(ids)))} if ids else {}
    photos: dict[int | None, list[int]] = {}
    for photo_id, complaint_id in session.execute(select(Photo.id, Photo.complaint_id).where(
            Photo.resident_id == resident.id).order_by(Photo.id)):
        photos.setdefault(complaint_id, []).append(photo_id)
    notes: dict[int, list[dict]] = {}
    for note in session.scalars(select(ComplaintNote).where(ComplaintNote.complaint_id.in_(ids))
                                .order_by(ComplaintNote.id)) if ids else []:
        notes.setdefault(note.complaint_id, []).append({
            "id": note.id, "author": "resident" if note.author_kind == "resident" else "staff", "text": note.text,
            "photos": list(note.photo_ids or []), "created_at": local_iso(note.created_at)})
    ratings: dict[int, list[dict]] = {}
    for r in session.scalars(select(ComplaintRating).where(ComplaintRating.resident_id == resident.id,
                                                           ComplaintRating.source == "resident")
                             .order_by(ComplaintRating.id)):
        ratings.setdefault(r.complaint_id, []).append({"round": r.round, "level": r.level.value,
                                                       "reason": r.reason, "created_at": local_iso(r.created_at)})

    def location(contact: ComplaintContact | None) -> dict | None:
        if contact is None or contact.latitude is None or contact.longitude is None:
            return None
        return {"latitude": contact.latitude, "longitude": contact.longitude, "address": contact.address}

    return {
        "resident": {"id": resident.id, "openid": resident.openid, "channel": resident.channel,
                     "created_at": local_iso(resident.created_at),
                     "last_login_at": local_iso(resident.last_login_at)},
        "complaints": [{
            "id": c.id, "unit": c.unit.full_name(), "category": c.category, "text": c.text, "state": c.state.value,
            "state_label": COMPLAINT_STATES[c.state.value], "created_at": local_iso(c.created_at),
            "phone": contacts[c.id].phone if c.id in contacts else None, "location": location(contacts.get(c.id)),
            "photos": photos.get(c.id, []), "notes": notes.get(c.id, []), "ratings": ratings.get(c.id, []),
            "anonymised": c.anonymised_at is not None} for c in complaints],
        "uploads": photos.get(None, []),
        "topic_ratings": [{"topic_id": r.topic_id, "round": r.round, "level": r.level.value, "reason": r.reason,
                           "created_at": local_iso(r.created_at)}
                          for r in session.scalars(select(Rating).where(Rating.resident_id == resident.id,
                                                                        Rating.source == "resident")
                                                   .order_by(Rating.id))],
        "registrations": [{"meeting_id": r.meeting_id, "attended": r.attended, "created_at": local_iso(r.created_at)}
                          for r in session.scalars(select(MeetingRegistration).where(
                              MeetingRegistration.resident_id == resident.id).order_by(MeetingRegistration.id))],
        "invitations": [{"meeting_id": i.meeting_id, "created_at": local_iso(i.created_at)}
                        for i in session.scalars(select(MeetingInvitation).where(
                            MeetingInvitation.resident_id == resident.id).order_by(MeetingInvitation.id))],
        "subscriptions": [{"template_id": s.template_id, "accepted": s.accepted, "spent": s.spent,
                           "long_term": s.long_term}
                          for s in session.scalars(select(Subscription).where(Subscription.resident_id == resident.id)
                                                   .order_by(Subscription.id))],
        "deletion_requests": [_request_json(e) for e in _requests(session, resident)],
        "retention_days": current_app.config["XINMA"].retention_days,
    }


def request_deletion(session, resident: Resident, reason: str | None) -> tuple[AuditEvent, bool]:
    """Record the resident's request to delete their data (once: asking again returns the first request).

    Side effect: an audit event (subject the resident, action `deletion_request`); the retention job acts on it.
    Returns the request and whether it is new. Refused `note_too_long` for a reason over REASON_LIMIT.
    """
    from models import DomainError

    reason = (reason or "").strip()
    if len(reason) > REASON_LIMIT:
        raise DomainError("note_too_long", limit=REASON_LIMIT)
    earlier = _requests(session, resident)
    if earlier:
        return earlier[0], False
    event = AuditEvent(subject_kind="resident", subject_id=resident.id, action=DELETION_REQUEST, from_state=None,
                       to_state=None, actor_kind="resident", actor_id=resident.id, reason=reason or None, data={},
                       created_at=utcnow())
    session.add(event)
    session.flush()
    return event, True


def matters_of(session, resident: Resident) -> dict[str, int]:
    """How many of the resident's matters are closed (anonymised at the next round) and still open."""
    rows = dict(session.execute(select(Complaint.state, func.count()).where(
        Complaint.resident_id == resident.id, Complaint.anonymised_at.is_(None)).group_by(Complaint.state)).all())
    closed = sum(n for state, n in rows.items() if state.value in CLOSED)
    return {"closed_matters": closed, "open_matters": sum(rows.values()) - closed}


@bp.get("/me/data")
def my_data():
    resident = _resident()
    return ok(resident_data(db(), resident))


@bp.post("/me/deletion-requests")
def create_deletion_request():
    resident = _resident()
    body = json_body({"reason"})
    reason = body.get("reason")
    if reason is not None and not isinstance(reason, str):
        from models import DomainError

        raise DomainError("field_invalid", field="reason")
    event, new = request_deletion(db(), resident, reason)
    return ok(_request_json(event) | matters_of(db(), resident), 201 if new else 200)


def _ok(data: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": ["ok", "data"], "additionalProperties": False,
            "properties": {"ok": {"const": True}, "data": data}}


def _obj(required: list[str], **properties: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties}


def _errors(*statuses: int) -> dict[str, Any]:
    text = {400: "请求不符合要求", 401: "未登录或登录失效"}
    return {str(s): {"description": text[s], "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/Error"}}}} for s in statuses}


STR = {"type": "string"}
TIME = {"type": "string", "format": "date-time", "description": "China time, +08:00"}
NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
INTS = {"type": "array", "items": {"type": "integer"}}
DELETION = _obj(["id", "created_at", "reason"], id={"type": "integer"}, created_at=TIME, reason=STR)
MY_DATA = _obj(
    ["resident", "complaints", "uploads", "topic_ratings", "registrations", "invitations", "subscriptions",
     "deletion_requests", "retention_days"],
    resident=_obj(["id", "openid", "channel", "created_at", "last_login_at"], id={"type": "integer"},
                  openid={"type": ["string", "null"]}, channel=STR, created_at=TIME, last_login_at=NULLABLE_TIME),
    complaints={"type": "array", "items": _obj(
        ["id", "unit", "category", "text", "state", "state_label", "created_at", "phone", "location", "photos",
         "notes", "ratings", "anonymised"],
        id={"type": "integer"}, unit=STR, category=STR, text=STR, state=STR, state_label=STR, created_at=TIME,
        phone={"type": ["string", "null"], "description": "the whole number the resident gave"},
        location={"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Location"}]}, photos=INTS,
        notes={"type": "array", "items": _obj(["id", "author", "text", "photos", "created_at"],
                                              id={"type": "integer"}, author={"enum": ["resident", "staff"]},
                                              text=STR, photos=INTS, created_at=TIME)},
        ratings={"type": "array", "items": _obj(["round", "level", "reason", "created_at"])},
        anonymised={"type": "boolean", "description": "its personal data was removed (retention or a request)"})},
    uploads={**INTS, "description": "photos uploaded but never sent with a complaint"},
    topic_ratings={"type": "array", "items": _obj(["topic_id", "round", "level", "reason", "created_at"])},
    registrations={"type": "array", "items": _obj(["meeting_id", "attended", "created_at"])},
    invitations={"type": "array", "items": _obj(["meeting_id", "created_at"])},
    subscriptions={"type": "array", "items": _obj(["template_id", "accepted", "spent", "long_term"])},
    deletion_requests={"type": "array", "items": DELETION},
    retention_days={"type": "integer", "minimum": 1,
                    "description": "days after a matter closed before its personal data is removed"},
)
DELETION_ANSWER = {**DELETION, "required": [*DELETION["required"], "closed_matters", "open_matters"],
                   "properties": {**DELETION["properties"],
                                  "closed_matters": {"type": "integer", "minimum": 0,
                                                     "description": "anonymised at the next round of the sweep"},
                                  "open_matters": {"type": "integer", "minimum": 0,
                                                   "description": "anonymised once they close"}}}
AUTH = [{"resident": []}]
PRIVACY_PATHS = {
    "/me/data": {"get": {
        "operationId": "getMyData", "security": AUTH,
        "summary": "everything held about me (个人信息查阅): complaints with the phone and location I gave, notes, "
                   "photos' ids, ratings, registrations, subscriptions, deletion requests",
        "responses": {"200": {"description": "my data", "content": {"application/json": {"schema": _ok(MY_DATA)}}},
                      **_errors(401)}}},
    "/me/deletion-requests": {"post": {
        "operationId": "requestDeletion", "security": AUTH,
        "summary": "ask for my personal data to be deleted: closed matters are anonymised within minutes, open ones "
                   "when they close; asking again answers the first request (200)",
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "additionalProperties": False,
            "properties": {"reason": {"type": ["string", "null"], "maxLength": REASON_LIMIT}}}}}},
        "responses": {"201": {"description": "recorded", "content": {"application/json": {
            "schema": _ok(DELETION_ANSWER)}}},
                      "200": {"description": "asked before: the first request", "content": {"application/json": {
                          "schema": _ok(DELETION_ANSWER)}}},
                      **_errors(400, 401)}}},
}
