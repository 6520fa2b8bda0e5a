"""领办: who leads an agreed solution, by when; progress updates with photos; what is overdue."""

from __future__ import annotations

import datetime as dt
import io
import re
import secrets

from PIL import Image, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Actor, Conflict, DomainError, NotFound, Staff, Topic, TopicState, Unit, transition_topic, utcnow
from models.council import Assignment, LeadKind, ProgressUpdate
from models.intake import PhotoFile, add_photo_file
from models.lifecycle import notify, secretaries_of
from models.scope import scope_clause
from web.messages import LEAD_KINDS

from . import forms

PHOTO_LIMIT = 4
PHOTO_NAME = re.compile(r"progress-[0-9a-f]{16}\.jpg")


def assignment_of(session: Session, topic: Topic) -> Assignment | None:
    return session.scalar(select(Assignment).where(Assignment.topic_id == topic.id))


def assign(session: Session, staff: Staff, topic: Topic, *, lead_kind: str, lead_name: str, due_on: str,
           today: dt.date | None = None) -> Assignment:
    """Name who leads the implementation of an agreed topic and by when; the topic starts being implemented."""
    lead_kind = forms.choice(lead_kind, LEAD_KINDS, "lead_kind_unknown")
    lead_name = forms.text(lead_name, "lead_name_empty", 64)
    due = forms.date(due_on)
    if due < (today or forms.today()):
        raise DomainError("due_date_in_past")
    if assignment_of(session, topic) is not None:
        raise DomainError("assignment_exists", status=409)
    if topic.state != TopicState.agreed:
        raise DomainError("topic_not_agreed", status=409)
    row = Assignment(topic_id=topic.id, lead_kind=LeadKind(lead_kind), lead_name=lead_name, due_on=due, percent=0,
                     round=1, created_at=utcnow())
    session.add(row)
    session.flush()
    transition_topic(session, topic, "start", actor=Actor.staff(staff), reason=f"{LEAD_KINDS[lead_kind]}·{lead_name}",
                     data={"assignment_id": row.id, "due_on": due.isoformat()})
    return row


def _save_photos(session: Session, files) -> list[str]:
    """Check every uploaded file, then keep each re-encoded as JPEG in the database; returns their server-made names."""
    names = []
    for upload in [f for f in files if f and getattr(f, "filename", "")][:PHOTO_LIMIT]:
        try:
            image = Image.open(io.BytesIO(upload.read()))
            image.load()
        except (UnidentifiedImageError, OSError, ValueError):
            raise DomainError("photo_invalid") from None
        if image.format not in ("JPEG", "PNG"):
            raise DomainError("photo_invalid")
        names.append((image, f"progress-{secrets.token_hex(8)}.jpg"))
    saved = []
    for image, name in names:  # re-encoded: nothing the uploader embedded (EXIF, location) is kept
        out = io.BytesIO()
        image.convert("RGB").save(out, "JPEG", quality=85)
        add_photo_file(session, name, "image/jpeg", out.getvalue())
        saved.append(name)
    return saved


def report_progress(session: Session, staff: Staff, assignment: Assignment, *, percent, note: str = "",
                    photos=()) -> ProgressUpdate:
    """Record progress (0–100 %, a note, photos); 100 % marks the topic implemented and asks residents to rate it."""
    percent = forms.integer(percent, "percent_out_of_range", 0, 100)
    topic = assignment.topic
    if topic.state != TopicState.implementing:
        raise Conflict("topic_transition_not_allowed", state=topic.state.value, action="progress")
    names = _save_photos(session, photos) if photos else []
    update = ProgressUpdate(assignment_id=assignment.id, percent=percent, note=(note or "").strip()[:2000],
                            photos=names, staff_id=staff.id, created_at=utcnow())
    session.add(update)
    assignment.percent = percent
    session.flush()
    if percent == 100:
        assignment.completed_at = utcnow()
        transition_topic(session, topic, "complete", actor=Actor.staff(staff), reason=update.note or None,
                         data={"assignment_id": assignment.id})
    return update


def progress_photo(session: Session, topic: Topic, name: str) -> bytes:
    """The bytes of one progress photo of this topic, by its server-made name; any other name answers 404."""
    assignment = assignment_of(session, topic)
    names = {n for u in (assignment.updates if assignment else []) for n in (u.photos or [])}
    if not PHOTO_NAME.fullmatch(name or "") or name not in names:
        raise NotFound("photo_not_found")
    stored = session.get(PhotoFile, name)
    if stored is None:
        raise NotFound("photo_not_found")
    return stored.data


def overdue(session: Session, staff: Staff, today: dt.date | None = None) -> list[Assignment]:
    """Assignments in the staff member's units past their due date and not yet implemented."""
    return list(session.scalars(select(Assignment).join(Topic).where(
        Topic.state == TopicState.implementing, Assignment.due_on < (today or forms.today()),
        scope_clause(staff, Topic.unit_id)).order_by(Assignment.due_on, Assignment.id)))


def send_overdue_digest(session: Session, *, today: dt.date, now: dt.datetime) -> int:
    """One digest per unit with overdue assignments, to its nearest secretary, instead of one message per item."""
    rows = session.execute(select(Topic.unit_id, Assignment.id).join(Topic).where(
        Topic.state == TopicState.implementing, Assignment.due_on < today)).all()
    by_unit: dict[int, int] = {}
    for unit_id, _ in rows:
        by_unit[unit_id] = by_unit.get(unit_id, 0) + 1
    sent = 0
    for unit_id, count in sorted(by_unit.items()):
        unit = session.get(Unit, unit_id)
        secretaries = secretaries_of(session, unit)
        if secretaries:  # the nearest secretary: the one who convenes this unit's council
            secretary = secretaries[0]
            notify(session, "overdue_digest", recipient_kind="staff", recipient_id=secretary.id,
                   openid=secretary.openid, params={"summary": f"{count}项领办事项已逾期", "unit_name": unit.name,
                                                    "count": count, "at": now.isoformat()})
            sent += 1
    session.flush()
    return sent
