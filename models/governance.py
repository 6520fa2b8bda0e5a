"""Governance: the audit log kept append-only, staff review of what the content checks left to a person, and
blocked submitters.

- Audit events are written, never updated or deleted: a flush or an ORM UPDATE/DELETE that would change one is
  refused here (`AuditImmutable`), and on PostgreSQL a trigger refuses it below the application too (migration 0020).
  Every session notes in `session.info["audited"]` that it wrote an audit event, so the request-level audit
  (web/audit.py) does not write a second one for the same request.
- Review: a complaint's text is approved (`content_check` "pass") or hidden ("hidden") through the complaint's one
  writer (`transition_complaint`, action "review", which keeps the state); a photo is approved or hidden here, with
  its audit event. Hidden text never reaches a public view (it is not "pass"); a hidden photo is served to admins
  only (`models.intake.photo_visible_to`).
- Blocks: an admin blocks a resident (mini-program: their resident row; H5: the browser's device cookie, and the
  network address if asked) for a time or for good; a blocked submitter's new complaint is refused
  (`submitter_blocked`) before anything is written.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import ForeignKey, Index, String, Text, event, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from .base import Base, intpk, timestamp, utcnow
from .entities import AuditEvent, Complaint, Resident, Staff
from .errors import Conflict, DomainError, NotFound
from .lifecycle import Actor, transition_complaint

# --- the audit log is append-only ----------------------------------------------------------------------------


class AuditImmutable(RuntimeError):
    """Raised when code tries to update or delete an audit event."""


AUDITED = "audited"  # session.info key: this transaction wrote at least one audit event


@event.listens_for(Session, "before_flush")
def _guard_audit_events(session: Session, _context, _instances) -> None:
    for obj in session.deleted:
        if isinstance(obj, AuditEvent):
            raise AuditImmutable("audit events are never deleted")
    for obj in session.dirty:
        if isinstance(obj, AuditEvent) and session.is_modified(obj):
            raise AuditImmutable("audit events are never updated")
    if any(isinstance(obj, AuditEvent) for obj in session.new):
        session.info[AUDITED] = True


@event.listens_for(Session, "do_orm_execute")
def _guard_bulk_audit_changes(state) -> None:
    if (state.is_update or state.is_delete) and state.bind_mapper is not None \
            and state.bind_mapper.class_ is AuditEvent:
        raise AuditImmutable("audit events are never updated or deleted")


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_audited(session: Session) -> None:
    session.info.pop(AUDITED, None)


def audit(session: Session, actor: Actor, action: str, subject_kind: str, subject_id: int, *,
          reason: str | None = None, data: dict | None = None, before: str | None = None,
          after: str | None = None) -> AuditEvent:
    """Add one audit event to the caller's transaction and return it."""
    row = AuditEvent(subject_kind=subject_kind[:16], subject_id=subject_id, action=action[:32], from_state=before,
                     to_state=after, actor_kind=actor.kind, actor_id=actor.id, reason=reason, data=data or {},
                     created_at=utcnow())
    session.add(row)
    return row


# --- manual review -------------------------------------------------------------------------------------------

FLAGGED = ("review", "risky")  # what WeChat's checks (or their absence) leave to a person
VERDICTS = {"approve": "pass", "hide": "hidden"}
REASON_LIMIT = 200


def _review_reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("review_reason_required")
    if len(reason) > REASON_LIMIT:
        raise DomainError("review_reason_too_long", limit=REASON_LIMIT)
    return reason


def review_complaint(session: Session, staff: Staff, complaint: Complaint, decision: str, *, reason: str) -> Complaint:
    """Approve or hide a flagged complaint's text. Side effects: `content_check` written by the complaint's writer
    (action "review", same state, a compare-and-set), its audit event with the reason and the verdict before.

    Refused `review_decision_unknown`, `review_reason_required`, `review_not_pending` (409: someone reviewed it
    first, or it was never flagged).
    """
    if decision not in VERDICTS:
        raise DomainError("review_decision_unknown")
    reason = _review_reason(reason)
    if complaint.content_check not in FLAGGED:
        raise Conflict("review_not_pending")
    return transition_complaint(session, complaint, "review", actor=Actor.staff(staff), reason=reason,
                                data={"decision": decision, "was": complaint.content_check},
                                expect=complaint.state_changed_at, values={"content_check": VERDICTS[decision]})


PHOTO_REVIEW = "media_check_decided"


def review_photo(session: Session, staff: Staff, photo, decision: str, *, reason: str):
    """Approve or hide a photo awaiting review. Side effects: its `media_check` (compare-and-set on the verdict
    the reviewer saw) and an audit event. Refused like `review_complaint`."""
    from sqlalchemy import update

    from .intake import Photo

    if decision not in VERDICTS:
        raise DomainError("review_decision_unknown")
    reason = _review_reason(reason)
    was = photo.media_check
    if was not in FLAGGED:
        raise Conflict("review_not_pending")
    done = session.execute(update(Photo).where(Photo.id == photo.id, Photo.media_check == was)
                           .values(media_check=VERDICTS[decision]).execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise Conflict("review_not_pending")
    session.refresh(photo)
    audit(session, Actor.staff(staff), PHOTO_REVIEW, "photo", photo.id, reason=reason, before=was,
          after=VERDICTS[decision], data={"decision": decision, "complaint_id": photo.complaint_id})
    session.flush()
    return photo


# --- blocked submitters --------------------------------------------------------------------------------------


def fingerprint(value: str | None) -> str | None:
    """A device cookie or a network address as kept: its SHA-256, so neither is stored as given."""
    return hashlib.sha256(value.encode()).hexdigest() if value else None


class SubmitterMark(Base):
    """How an H5 complaint's sender can be recognised again (an H5 resident row is new for every complaint): the
    hashes of the browser's device cookie and of the client address."""

    __tablename__ = "submitter_marks"

    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), primary_key=True)
    device_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    address_hash: Mapped[str | None] = mapped_column(String(64), index=True)


class Block(Base):
    """A submitter an admin blocked, until `ends_at` (None: for good) or until lifted. Never deleted."""

    __tablename__ = "blocks"
    __table_args__ = (Index("ix_blocks_lifted_at_ends_at", "lifted_at", "ends_at"),)

    id: Mapped[intpk]
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"), index=True)
    device_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    address_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"))  # what it was decided on
    channel: Mapped[str] = mapped_column(String(16))  # "wechat" or "h5"
    reason: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[timestamp]
    ends_at: Mapped[dt.datetime | None]
    lifted_at: Mapped[dt.datetime | None]
    lifted_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    lift_reason: Mapped[str | None] = mapped_column(Text)

    created_by: Mapped[Staff] = relationship(foreign_keys=[created_by_id])
    lifted_by: Mapped[Staff | None] = relationship(foreign_keys=[lifted_by_id])
    complaint: Mapped[Complaint | None] = relationship()

    def active(self, now: dt.datetime) -> bool:
        return self.lifted_at is None and (self.ends_at is None or self.ends_at > now)


def _active(now: dt.datetime):
    return (Block.lifted_at.is_(None)) & (Block.ends_at.is_(None) | (Block.ends_at > now))


def refuse_blocked(session: Session, *, resident_id: int | None = None, device: str | None = None,
                   address: str | None = None) -> None:
    """Raise `submitter_blocked` (403) when an active block covers this resident, device cookie or address.
    No side effects; one indexed query."""
    keys = []
    if resident_id is not None:
        keys.append(Block.resident_id == resident_id)
    if device:
        keys.append(Block.device_hash == fingerprint(device))
    if address:
        keys.append(Block.address_hash == fingerprint(address))
    if keys and session.scalar(select(Block.id).where(or_(*keys), _active(utcnow())).limit(1)) is not None:
        raise DomainError("submitter_blocked", status=403)


def mark_submitter(session: Session, complaint_id: int, *, device: str | None, address: str | None) -> None:
    """Remember how to recognise an H5 complaint's sender (hashes only). Side effect: one row."""
    session.add(SubmitterMark(complaint_id=complaint_id, device_hash=fingerprint(device),
                              address_hash=fingerprint(address)))


def block_submitter(session: Session, staff: Staff, complaint: Complaint, *, reason: str,
                    ends_at: dt.datetime | None, include_address: bool = False) -> Block:
    """Block whoever sent `complaint`: a WeChat resident by their resident row, an H5 sender by their device (and
    address when asked). Side effects: the block row and its audit event. Refused `block_reason_required`,
    `block_end_past`, `block_unknown_sender` (an H5 complaint from before senders were recorded),
    `block_exists` (409: an active block already covers this sender)."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("block_reason_required")
    if len(reason) > REASON_LIMIT:
        raise DomainError("review_reason_too_long", limit=REASON_LIMIT)
    now = utcnow()
    if ends_at is not None and ends_at <= now:
        raise DomainError("block_end_past")
    resident: Resident = complaint.resident
    block = Block(complaint_id=complaint.id, channel=resident.channel, reason=reason, created_by_id=staff.id,
                  created_at=now, ends_at=ends_at)
    if resident.openid is not None:
        block.resident_id = resident.id
        existing = Block.resident_id == resident.id
    else:
        mark = session.get(SubmitterMark, complaint.id)
        if mark is None or not (mark.device_hash or mark.address_hash):
            raise DomainError("block_unknown_sender")
        block.device_hash = mark.device_hash
        block.address_hash = mark.address_hash if include_address or not mark.device_hash else None
        existing = or_(*[c == v for c, v in ((Block.device_hash, block.device_hash),
                                             (Block.address_hash, block.address_hash)) if v])
    if session.scalar(select(Block.id).where(existing, _active(now)).limit(1)) is not None:
        raise Conflict("block_exists")
    session.add(block)
    session.flush()
    audit(session, Actor.staff(staff), "block", "block", block.id, reason=reason,
          data={"complaint_id": complaint.id, "channel": block.channel,
                "ends_at": ends_at.isoformat() if ends_at else None, "address": block.address_hash is not None})
    session.flush()
    return block


def lift_block(session: Session, staff: Staff, block: Block, *, reason: str) -> Block:
    """Unblock: the block stays on record, lifted. Side effects: its lifted columns and an audit event.
    Refused `block_reason_required`, `block_not_active` (409)."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("block_reason_required")
    if not block.active(utcnow()):
        raise Conflict("block_not_active")
    block.lifted_at, block.lifted_by_id, block.lift_reason = utcnow(), staff.id, reason[:REASON_LIMIT]
    session.flush()
    audit(session, Actor.staff(staff), "unblock", "block", block.id, reason=reason,
          data={"complaint_id": block.complaint_id})
    session.flush()
    return block


def blocks(session: Session, *, active_only: bool = False) -> list[Block]:
    """Blocks, newest first (only those in force with `active_only`). No side effects."""
    query = select(Block)
    if active_only:
        query = query.where(_active(utcnow()))
    return list(session.scalars(query.order_by(Block.created_at.desc(), Block.id.desc())))


def block_of(session: Session, block_id: int) -> Block:
    block = session.get(Block, block_id)
    if block is None:
        raise NotFound("block_not_found")
    return block
