"""Intake's own tables: photos and their bytes, idempotency keys, a complaint's contact details; who may see them.

Other packages (triage, council) use `photo_visible_to` and `mask_phone` instead of deciding on their own.
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import (
    JSON,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, intpk, str32, str64, timestamp, utcnow
from .entities import AuditEvent, Complaint, Resident, Staff, StaffRole
from .errors import Conflict, DomainError
from .lifecycle import notify, staff_of
from .scope import in_scope


class PhotoFile(Base):
    """The bytes of one stored image (a complaint's photo, its thumbnail, a 领办 progress photo) under its server-made
    name. Kept in the database, not on a node's disk, so every web node and worker sees the same images."""

    __tablename__ = "photo_files"

    name: Mapped[str64] = mapped_column(primary_key=True)
    content_type: Mapped[str32]
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[timestamp]


def add_photo_file(session, name: str, content_type: str, data: bytes) -> PhotoFile:
    """Keep an image's bytes under a server-made name. Side effect: adds the row to the caller's transaction."""
    row = PhotoFile(name=name, content_type=content_type, data=data, created_at=utcnow())
    session.add(row)
    return row


class Photo(Base):
    """One uploaded photo, re-encoded without metadata; attached to a complaint once the complaint is sent."""

    __tablename__ = "photos"

    id: Mapped[intpk]
    name: Mapped[str64] = mapped_column(unique=True)  # its PhotoFile's server-made name, e.g. "3f…a1.jpg"
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"), index=True)
    content_type: Mapped[str32]
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)
    thumbnail_name: Mapped[str | None] = mapped_column(String(64))  # its thumbnail's PhotoFile, once made
    media_check: Mapped[str | None] = mapped_column(String(16))  # None (waiting), pass, review, risky
    media_trace_id: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[timestamp]

    resident: Mapped[Resident] = relationship()
    complaint: Mapped[Complaint | None] = relationship()


class ComplaintContact(Base):
    """What a resident chose to add to a complaint: a phone number and a location. Shown masked to staff."""

    __tablename__ = "complaint_contacts"

    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), primary_key=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(String(200))


class IdempotencyKey(Base):
    """The first answer to a resident's `Idempotency-Key`, replayed for 24 hours to the same payload."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("resident_id", "key", name="uq_idempotency_keys_resident_key"),
        Index("ix_idempotency_keys_expires_at", "expires_at"),
    )

    id: Mapped[intpk]
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    key: Mapped[str] = mapped_column(String(128))
    request_hash: Mapped[str64]
    status_code: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[timestamp]
    expires_at: Mapped[dt.datetime]


PHONE = re.compile(r"^1[3-9][0-9]{9}$")


def mask_phone(phone: str | None) -> str | None:
    """138****1234: the only form in which a phone number leaves the server unless a reveal is audited."""
    if not phone:
        return None
    if len(phone) < 8:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def photo_visible_to(photo: Photo, *, resident: Resident | None = None, staff: Staff | None = None) -> bool:
    """Whether a resident (the uploader) or a staff member (the complaint's unit in scope) may see the photo; a photo
    hidden on review (models.governance) is shown to admins only."""
    if photo.media_check == "hidden":
        return staff is not None and staff.active and staff.role.value == "admin"
    if resident is not None and photo.resident_id == resident.id:
        return True
    if staff is not None and staff.active and photo.complaint is not None:
        return staff.role.value == "admin" or in_scope(staff, photo.complaint.unit)
    return False


def complaint_contact(session, complaint_id: int) -> ComplaintContact | None:
    return session.get(ComplaintContact, complaint_id)


def reveal_phone(session, staff: Staff, complaint_id: int, *, reason: str) -> str:
    """The full phone number of a complaint, for a staff member whose scope covers it, with a reason.

    Side effect: writes an audit event (action `reveal_phone`, the staff member, the reason) in the
    caller's transaction. Anything outside the staff member's scope answers like a missing complaint.
    """
    from .base import utcnow
    from .entities import AuditEvent
    from .errors import DomainError, NotFound

    complaint = session.get(Complaint, complaint_id)
    if complaint is None or not staff.active or not (staff.role.value == "admin" or in_scope(staff, complaint.unit)):
        raise NotFound("complaint_not_found")
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("reveal_reason_required")
    if len(reason) > 200:
        raise DomainError("reveal_reason_too_long", limit=200)
    contact = session.get(ComplaintContact, complaint_id)
    if contact is None or not contact.phone:
        raise NotFound("phone_not_given")
    session.add(AuditEvent(subject_kind="complaint", subject_id=complaint.id, action="reveal_phone",
                           actor_kind="staff", actor_id=staff.id, reason=reason, data={}, created_at=utcnow()))
    session.flush()
    return contact.phone


def publicly_visible(column=None):
    """A WHERE clause for complaints that may appear in any public view: the content check passed.

    `risky` and `review` verdicts, and complaints still held for the check, stay out of public views.
    """
    column = column if column is not None else Complaint.content_check
    return column == "pass"


def content_review_queue(session, staff: Staff) -> list[Complaint]:
    """Complaints in the staff member's scope that WeChat flagged (`review`, `risky`), oldest first."""
    from sqlalchemy import select

    from .scope import scope_clause

    query = select(Complaint).where(Complaint.content_check.in_(("review", "risky")))
    if staff.role.value != "admin":
        query = query.where(scope_clause(staff, Complaint.unit_id))
    return list(session.scalars(query.order_by(Complaint.created_at, Complaint.id)))


def photo_review_queue(session, staff: Staff) -> list[Photo]:
    """Photos on complaints in the staff member's scope that wait for a person (`review`, `risky`), oldest first."""
    from .scope import scope_clause

    query = (select(Photo).join(Complaint, Complaint.id == Photo.complaint_id)
             .where(Photo.media_check.in_(("review", "risky"))))
    if staff.role.value != "admin":
        query = query.where(scope_clause(staff, Complaint.unit_id))
    return list(session.scalars(query.order_by(Photo.created_at, Photo.id)))


def review_reasons(session, subject_kind: str, ids: list[int]) -> dict[int, dict]:
    """Why WeChat gave no verdict, per complaint or photo id ({"unchecked": ..., "errcode": ...}); no side effects.

    Read from the audit events that sent them to review (a complaint's `accept`, a photo's `media_check_review`).
    """
    if not ids:
        return {}
    action = "accept" if subject_kind == "complaint" else MEDIA_CHECK_REVIEW
    rows = session.execute(select(AuditEvent.subject_id, AuditEvent.data).where(
        AuditEvent.subject_kind == subject_kind, AuditEvent.action == action, AuditEvent.subject_id.in_(ids))
        .order_by(AuditEvent.id)).all()
    return {subject_id: data for subject_id, data in rows if data and data.get("unchecked")}


MEDIA_CHECK_ASKED = "media_check_asked"
MEDIA_CHECK_REVIEW = "media_check_review"
# WeChat promises a mediaCheckAsync verdict within 30 minutes; five more allow for its push being late.
MEDIA_CHECK_PATIENCE = dt.timedelta(minutes=35)


def photo_check_asked(session, photo: Photo, trace_id: str) -> None:
    """Record that WeChat took the photo's check. Side effects: the trace id, an audit event (when it was asked)."""
    photo.media_trace_id = trace_id
    session.add(AuditEvent(subject_kind="photo", subject_id=photo.id, action=MEDIA_CHECK_ASKED, actor_kind="system",
                           data={"trace_id": trace_id}, created_at=utcnow()))


def photo_to_review(session, photo: Photo, reason: str, *, errcode: int | None = None) -> None:
    """Leave a photo WeChat did not judge to staff's review. Side effects: media_check, an audit event (why)."""
    photo.media_check = "review"
    data = {"unchecked": reason} | ({"errcode": errcode} if errcode is not None else {})
    session.add(AuditEvent(subject_kind="photo", subject_id=photo.id, action=MEDIA_CHECK_REVIEW, actor_kind="system",
                           to_state="review", data=data, created_at=utcnow()))


def overdue_photo_checks(session, now: dt.datetime, limit: int = 500) -> int:
    """Send to review the photos still without a verdict MEDIA_CHECK_PATIENCE after WeChat took their check.

    Side effects: each such photo's media_check and an audit event (`no_verdict`), in the caller's transaction;
    a photo whose verdict lands meanwhile is left alone. Returns how many went to review.
    """
    from sqlalchemy import update

    asked = (select(AuditEvent.subject_id).where(AuditEvent.subject_kind == "photo",
                                                 AuditEvent.action == MEDIA_CHECK_ASKED,
                                                 AuditEvent.created_at < now - MEDIA_CHECK_PATIENCE))
    photos = session.scalars(select(Photo).where(Photo.media_check.is_(None), Photo.media_trace_id.is_not(None),
                                                 Photo.id.in_(asked)).order_by(Photo.id).limit(limit)).all()
    moved = 0
    for photo in photos:
        # Only if still waiting: the push may write the verdict between the read and this update.
        done = session.execute(update(Photo).where(Photo.id == photo.id, Photo.media_check.is_(None))
                               .values(media_check="review").execution_options(synchronize_session=False)).rowcount
        if done:
            session.refresh(photo)
            photo_to_review(session, photo, "no_verdict")
            moved += 1
    session.flush()
    return moved


class ComplaintNote(Base):
    """What a resident added to an open complaint (words and/or photos) or a staff member replied without deciding.

    Not a state change: the complaint's state stays as it is; each note is audited beside it (action `note` or
    `reply`) and told to the other side.
    """

    __tablename__ = "complaint_notes"

    id: Mapped[intpk]
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    author_kind: Mapped[str] = mapped_column(String(16))  # "resident" or "staff"
    author_id: Mapped[int]
    text: Mapped[str] = mapped_column(Text, default="")
    photo_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    created_at: Mapped[timestamp]


NOTE_TEXT_LIMIT = 500  # a resident's note; a staff reply may be as long as a decision's reply
REPLY_TEXT_LIMIT = 1000
NOTES_PER_COMPLAINT = 20  # a resident's notes on one complaint
OPEN_STATES = frozenset({"submitted", "awaiting_triage", "promoted"})  # a note is still news to someone


def _write_note(session, complaint: Complaint, kind: str, author_id: int, text: str, photos: list[Photo]):
    """The note, its photos attached to the complaint, and its audit event (same state before and after)."""
    now = utcnow()
    note = ComplaintNote(complaint_id=complaint.id, author_kind=kind, author_id=author_id, text=text,
                         photo_ids=[p.id for p in photos], created_at=now)
    session.add(note)
    for photo in photos:
        photo.complaint_id = complaint.id
    session.flush()
    state = complaint.state.value
    session.add(AuditEvent(subject_kind="complaint", subject_id=complaint.id, action="note" if kind == "resident"
                           else "reply", from_state=state, to_state=state, actor_kind=kind, actor_id=author_id,
                           reason=text, data={"note_id": note.id, "photos": note.photo_ids}, created_at=now))
    session.flush()
    return note


def _locked_state(session, complaint: Complaint) -> str:
    """The complaint's state as committed, its row locked until the caller's commit (no decision in between)."""
    return session.scalar(select(Complaint.state).where(Complaint.id == complaint.id).with_for_update()).value


def add_resident_note(session, resident: Resident, complaint: Complaint, *, text: str,
                      photos: list[Photo]) -> ComplaintNote:
    """A resident adds words and/or photos (already checked as theirs and unused) to their own open complaint.

    Not a state change. Side effects: the note, its photos attached, an audit event (action `note`), and a
    `complaint_note_added` message to each grid worker covering the unit (gathered per worker, within a minute).
    Refused `complaint_closed` (409) once the complaint is decided or closed, `note_empty`, `note_too_long`,
    `note_limit_reached` (409); nothing is written then.
    """
    if _locked_state(session, complaint) not in OPEN_STATES:
        raise Conflict("complaint_closed")
    text = text.strip()
    if not text and not photos:
        raise DomainError("note_empty")
    if len(text) > NOTE_TEXT_LIMIT:
        raise DomainError("note_too_long", limit=NOTE_TEXT_LIMIT)
    written = session.scalar(select(func.count(ComplaintNote.id)).where(ComplaintNote.complaint_id == complaint.id,
                                                                        ComplaintNote.author_kind == "resident"))
    if written >= NOTES_PER_COMPLAINT:
        raise Conflict("note_limit_reached", limit=NOTES_PER_COMPLAINT)
    note = _write_note(session, complaint, "resident", resident.id, text, photos)
    for worker in staff_of(session, complaint.unit, StaffRole.grid_worker):
        notify(session, "complaint_note_added", recipient_kind="staff", recipient_id=worker.id,
               openid=worker.openid, params={"complaint_id": complaint.id, "unit_name": complaint.unit.name,
                                             "category": complaint.category, "at": note.created_at.isoformat()})
    return note


def reply_to_resident(session, staff: Staff, complaint: Complaint, *, text: str) -> ComplaintNote:
    """A staff member (whose scope the caller checked) answers the resident without deciding anything.

    Not a state change. Side effects: the note, an audit event (action `reply`), and a 诉求处理进度通知 (已回复,
    请查看回复: the words stay on the complaint's page) to the resident. Refused `reply_empty`, `note_too_long`.
    """
    text = (text or "").strip()
    if not text:
        raise DomainError("reply_empty")
    if len(text) > REPLY_TEXT_LIMIT:
        raise DomainError("note_too_long", limit=REPLY_TEXT_LIMIT)
    state = _locked_state(session, complaint)
    note = _write_note(session, complaint, "staff", staff.id, text, [])
    notify(session, "complaint_triaged", recipient_kind="resident", recipient_id=complaint.resident_id,
           openid=complaint.resident.openid,
           params={"complaint_id": complaint.id, "category": complaint.category, "unit_name": complaint.unit.name,
                   "action": "reply", "result": "reply", "state": state, "at": note.created_at.isoformat()})
    return note


def complaint_notes(session, complaint_id: int) -> list[ComplaintNote]:
    """A complaint's notes and replies, oldest first. No side effects."""
    return list(session.scalars(select(ComplaintNote).where(ComplaintNote.complaint_id == complaint_id)
                                .order_by(ComplaintNote.created_at, ComplaintNote.id)))
