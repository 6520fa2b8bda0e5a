"""Intake's own tables: photos and their bytes, idempotency keys, a complaint's contact details; who may see them.

Other packages (triage, council) use `photo_visible_to` and `mask_phone` instead of deciding on their own.
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import Float, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, intpk, str32, str64, timestamp, utcnow
from .entities import Complaint, Resident, Staff
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
    """Whether a resident (the uploader) or a staff member (the complaint's unit in scope) may see the photo."""
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
