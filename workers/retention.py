"""Retention: a closed matter keeps the resident's personal data for the retention period after it closed
(XINMA_RETENTION_DAYS, three years by default), or until the resident asks for deletion
(POST /api/v1/me/deletion-requests); then it is anonymised.

Anonymising a matter (a complaint in a final state, or solved) removes the phone, location and address the
resident added, deletes its photos (rows and `photo_files` bytes), empties the photo lists of its notes, drops the
resident's free text when the district says so (XINMA_RETENTION_KEEP_TEXT=0; kept by default: it is the record of
what was reported and decided), and cuts the link to the WeChat user:
- when the resident has nothing newer (no other complaint still open or still within its retention period), the
  resident's openid becomes a salted hash (HMAC with the secret key: the same person still counts once, nobody can
  tell who), their sessions end and their outbox rows lose the openid;
- otherwise the matter (with its notes and ratings) moves to an anonymous resident of its own, so the resident's
  recent complaints, sessions and messages go on working.
Each matter gets one audit event (`anonymise`). Nothing the statistics count changes: the complaint's unit, state,
dates and decisions stay, so the running sums and a rebuild from the base tables give the same figures.

`anonymise_due` runs in the sweep of every `xinma worker` (workers/periodic.check_due), a batch per round.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

from sqlalchemy import and_, delete, exists, false, not_, or_, select, true, update
from sqlalchemy.orm import Session

from intake.privacy import DELETION_REQUEST
from models import AuditEvent, Complaint, ComplaintState, Notification, Resident, utcnow
from models.council import ComplaintRating, Rating
from models.intake import ComplaintContact, ComplaintNote, Photo, PhotoFile
from models.outbox import amend_notifications
from models.representatives import OnBehalfContact
from models.residents import revoke_all_sessions

C = ComplaintState
CLOSED = (C.not_deliberable, C.solved, C.merged, C.closed)
ANONYMISE = "anonymise"
ANONYMOUS_CHANNEL = "anonymised"  # the resident a matter moves to when its resident has newer ones
HASHED = "anon-"  # prefix of an openid replaced by its salted hash
REMOVED_TEXT = "（内容已按保存期限删除）"
BATCH = 200


def hashed_openid(openid: str, secret: str) -> str:
    digest = hmac.new(secret.encode(), openid.encode(), hashlib.sha256).hexdigest()
    return HASHED + digest[:58]  # within the column's 64 characters


def _asked() -> select:
    return select(AuditEvent.subject_id).where(AuditEvent.subject_kind == "resident",
                                               AuditEvent.action == DELETION_REQUEST)


def _due(cutoff: dt.datetime):
    """Complaints that may be anonymised now: closed, and past the retention period or their resident asked."""
    return and_(Complaint.anonymised_at.is_(None), Complaint.state.in_(CLOSED),
                or_(Complaint.state_changed_at < cutoff, Complaint.resident_id.in_(_asked())))


def due_matters(session: Session, now: dt.datetime, days: int, limit: int = BATCH) -> list[Complaint]:
    """The matters to anonymise, oldest closure first: past the retention period (an index range on
    anonymised_at, state_changed_at), then those of residents who asked for deletion."""
    cutoff = now - dt.timedelta(days=days)
    aged = session.scalars(select(Complaint).where(
        Complaint.anonymised_at.is_(None), Complaint.state_changed_at < cutoff, Complaint.state.in_(CLOSED))
        .order_by(Complaint.state_changed_at, Complaint.id).limit(limit)).all()
    asked = session.scalars(select(Complaint).where(
        Complaint.anonymised_at.is_(None), Complaint.state.in_(CLOSED), Complaint.resident_id.in_(_asked()))
        .order_by(Complaint.id).limit(max(limit - len(aged), 0))).all() if len(aged) < limit else []
    seen = {c.id for c in aged}
    return list(aged) + [c for c in asked if c.id not in seen]


def anonymise_due(session: Session, now: dt.datetime | None = None, *, days: int, secret: str,
                  keep_text: bool = True, limit: int = BATCH) -> int:
    """Anonymise up to `limit` matters that are due; returns how many. Side effects: see the module; in the
    caller's transaction (the sweep commits)."""
    now = now or utcnow()
    cutoff = now - dt.timedelta(days=days)
    matters = due_matters(session, now, days, limit)
    for complaint in matters:
        anonymise_matter(session, complaint, now=now, cutoff=cutoff, secret=secret, keep_text=keep_text)
    session.flush()
    return len(matters)


def anonymise_matter(session: Session, complaint: Complaint, *, now: dt.datetime, cutoff: dt.datetime,
                     secret: str, keep_text: bool) -> None:
    """Remove one closed matter's personal data (see the module). Side effects: contact cleared, photos and their
    bytes deleted, notes' photo lists (and the resident's words unless kept) emptied, the resident's link cut,
    `anonymised_at`, one audit event."""
    cid, resident = complaint.id, complaint.resident
    asked = session.scalar(select(exists(_asked().where(AuditEvent.subject_id == resident.id))))
    contacts = session.execute(update(ComplaintContact).where(ComplaintContact.complaint_id == cid)
                               .values(phone=None, latitude=None, longitude=None, address=None)
                               .execution_options(synchronize_session=False)).rowcount
    session.execute(delete(OnBehalfContact).where(OnBehalfContact.complaint_id == cid)
                    .execution_options(synchronize_session=False))  # the name a resident gave on a visit
    photos = session.scalars(select(Photo).where(Photo.complaint_id == cid)).all()
    names = [n for p in photos for n in (p.name, p.thumbnail_name) if n]
    for photo in photos:
        session.delete(photo)
    session.flush()
    if names:
        session.execute(delete(PhotoFile).where(PhotoFile.name.in_(names)))
    note_values = {"photo_ids": []}
    session.execute(update(ComplaintNote).where(ComplaintNote.complaint_id == cid, ComplaintNote.author_kind == "staff")
                    .values(**note_values).execution_options(synchronize_session=False))
    if not keep_text:
        note_values["text"] = ""
    session.execute(update(ComplaintNote).where(ComplaintNote.complaint_id == cid,
                                                ComplaintNote.author_kind == "resident")
                    .values(**note_values).execution_options(synchronize_session=False))

    # Newer: another complaint of theirs still open, or closed but neither past its period nor asked to delete.
    lapsed = or_(Complaint.state_changed_at < cutoff, true() if asked else false())
    newer = session.scalar(select(exists().where(
        Complaint.resident_id == resident.id, Complaint.id != cid, Complaint.anonymised_at.is_(None),
        not_(and_(Complaint.state.in_(CLOSED), lapsed)))))
    values = {"anonymised_at": now} | ({} if keep_text else {"text": REMOVED_TEXT})
    if newer:
        link = "moved"
        stand_in = Resident(openid=None, channel=ANONYMOUS_CHANNEL, created_at=now)
        session.add(stand_in)
        session.flush()
        values["resident_id"] = stand_in.id
        session.execute(update(ComplaintRating).where(ComplaintRating.complaint_id == cid,
                                                      ComplaintRating.resident_id == resident.id)
                        .values(resident_id=stand_in.id).execution_options(synchronize_session=False))
        session.execute(update(ComplaintNote).where(ComplaintNote.complaint_id == cid,
                                                    ComplaintNote.author_kind == "resident")
                        .values(author_id=stand_in.id).execution_options(synchronize_session=False))
        if complaint.topic_id is not None and not session.scalar(select(exists().where(
                Complaint.resident_id == resident.id, Complaint.id != cid, Complaint.topic_id == complaint.topic_id))):
            session.execute(update(Rating).where(Rating.topic_id == complaint.topic_id,
                                                 Rating.resident_id == resident.id)
                            .values(resident_id=stand_in.id).execution_options(synchronize_session=False))
    else:
        link = "hashed"
        if resident.openid and not resident.openid.startswith(HASHED):
            resident.openid = hashed_openid(resident.openid, secret)
            revoke_all_sessions(session, resident)
            amend_notifications(session, Notification.recipient_kind == "resident",
                                Notification.recipient_id == resident.id, openid=None)
    session.execute(update(Complaint).where(Complaint.id == cid).values(**values)
                    .execution_options(synchronize_session=False))
    state = complaint.state.value
    session.add(AuditEvent(subject_kind="complaint", subject_id=cid, action=ANONYMISE, from_state=state,
                           to_state=state, actor_kind="system", reason=DELETION_REQUEST if asked else "retention",
                           data={"contacts": contacts, "photos": len(photos), "link": link,
                                 "text": "kept" if keep_text else "removed"}, created_at=now))
    session.flush()
    session.expire(complaint)
