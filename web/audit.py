"""The request-level audit: every staff action that changes something, and every look at personal data, leaves one
audit event, written in the request's own transaction just before its commit.

- A state-changing request (any method but GET/HEAD/OPTIONS) by a signed-in staff member that succeeded
  (status < 400) and wrote to the database (a confirmation page that changed nothing is no action) is recorded
  with the staff member as actor, the endpoint as action (`council.publish`), the subject from the URL
  (`/council/topics/7/...` gives topic 7; a request without one names the row it created, when it created one),
  the form's reason or comment, and the other form fields (never one whose name holds password, token or csrf;
  long values cut). When the domain already wrote its own event in this request (a transition, a phone reveal,
  a review), that one stands and none is added.
- A look at personal data (`REVEALS`: a complaint's photos, a topic's progress photos) by staff is recorded
  the same way on a GET.

Requests on the residents' side (`RESIDENT_PATHS`) are not staff actions. The actor is read when the request
starts, so signing out or changing one's own password is still attributed.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.orm import Session

from models import AuditEvent, Base, utcnow
from models.governance import AUDITED

from .auth import current_staff
from .http import db

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# endpoint -> the kind of subject whose personal data a GET shows
REVEALS = {
    "intake_staff.photo": "photo",
    "intake_staff.thumbnail": "photo",
    "council.progress_photo": "topic",
}
# Residents' side (the mini-program's API, the H5 pages, WeChat's pushes): not staff actions, even from a browser
# that also holds a staff session.
RESIDENT_PATHS = ("/api/v1/", "/h5/", "/wechat/")
SECRET_FIELD = re.compile(r"password|token|csrf", re.IGNORECASE)
REASON_FIELDS = ("reason", "comment")
VALUE_LIMIT = 200
FIELDS_LIMIT = 30


def wire(app: Flask) -> None:
    """Note the acting staff member when a request starts; `record` writes the event before the commit."""

    engine = app.extensions["xinma.engine"]
    if not event.contains(engine, "before_cursor_execute", _note_write):
        event.listen(engine, "before_cursor_execute", _note_write)

    @app.before_request
    def _actor():
        if (request.method in SAFE_METHODS and request.endpoint not in REVEALS) \
                or request.path.startswith(RESIDENT_PATHS):
            return
        staff = current_staff()
        if staff is not None:
            g.audit_actor = staff.id
            db().info.setdefault("created", [])  # a marker: rows this request creates are its subject


def record(session: Session, status: int) -> AuditEvent | None:
    """Write the request's audit event into `session` (the request's), unless there is nothing to record or the
    domain recorded it already. Returns the event written, if any."""
    actor = g.pop("audit_actor", None)
    if actor is None or status >= 400:
        return None
    if request.method not in SAFE_METHODS:
        session.flush()  # the ORM's pending changes are writes too
        if not g.pop("audit_wrote", False):
            return None
    if session.info.get(AUDITED) or any(isinstance(obj, AuditEvent) for obj in session.new):
        return None
    kind, subject_id = _subject(session)
    form = request.form if request.method not in SAFE_METHODS else {}
    reason = next(((form.get(f) or "").strip() for f in REASON_FIELDS if (form.get(f) or "").strip()), None)
    data = _fields(form)
    if request.method in SAFE_METHODS:
        data = {"reveal": REVEALS[request.endpoint], **{k: str(v) for k, v in (request.view_args or {}).items()}}
    event = AuditEvent(subject_kind=kind[:16], subject_id=subject_id, action=(request.endpoint or "unknown")[:32],
                       actor_kind="staff", actor_id=actor, reason=reason, data=data, created_at=utcnow())
    session.add(event)
    return event


def _subject(session: Session) -> tuple[str, int]:
    """The URL's own subject (`topic_id=7` gives ("topic", 7)); else the first row the request created; else the
    request's blueprint with id 0."""
    args = request.view_args or {}
    if request.endpoint in REVEALS:
        key = next((k for k in args if k.endswith("_id")), None)
        if key is not None:
            return REVEALS[request.endpoint], int(args[key])
    for key, value in args.items():
        if key.endswith("_id") and isinstance(value, int):
            return key[:-3], value
    for obj in session.info.get("created", []):
        identity = getattr(obj, "id", None)
        if isinstance(identity, int):
            return type(obj).__tablename__.removesuffix("s"), identity
    return (request.blueprint or "app"), 0


def _fields(form: Any) -> dict[str, Any]:
    """The form's fields, safe to keep: no secrets, values cut to VALUE_LIMIT, at most FIELDS_LIMIT of them."""
    data: dict[str, Any] = {}
    for name in list(form.keys())[:FIELDS_LIMIT]:
        if SECRET_FIELD.search(name) or name in REASON_FIELDS:
            continue
        values = [v[:VALUE_LIMIT] for v in form.getlist(name)]
        data[name[:64]] = values[0] if len(values) == 1 else values
    files = [f for f in request.files.getlist("photos") if f.filename] if request.files else []
    if files:
        data["files"] = len(files)
    return data


def _note_write(_conn, _cursor, statement: str, *_args) -> None:
    """Note that the request wrote something (an INSERT, UPDATE or DELETE), however it was issued (ORM or Core)."""
    if has_request_context() and statement.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE"):
        g.audit_wrote = True


@event.listens_for(Session, "before_flush")
def _remember_created(session: Session, _context, _instances) -> None:
    """Before each flush: note the rows the request created (only in sessions `wire` marked), so a request without
    an id in its URL (a new meeting, an invitation) names the row it made."""
    created = session.info.get("created")
    if created is not None and len(created) < 5:
        created.extend(obj for obj in session.new if isinstance(obj, Base) and not isinstance(obj, AuditEvent))

