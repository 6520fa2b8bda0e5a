"""Request plumbing every feature package shares: the request's DB session, staff sign-in, CSRF, JSON envelope."""

from __future__ import annotations

import functools
import hmac
import secrets
from typing import Any

from flask import current_app, g, jsonify, redirect, request, session, url_for
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash

from .entities import Staff, StaffRole
from .errors import DomainError, NotFound, Unauthorized


def db() -> Session:
    """The request's session; app.py commits it once if the response succeeded, else rolls it back."""
    if "db" not in g:
        g.db = current_app.extensions["xinma.sessionmaker"]()
    return g.db


def ok(data: Any, status: int = 200):
    return jsonify({"ok": True, "data": data}), status


def json_body(allowed: set[str]) -> dict[str, Any]:
    """The request's JSON object, refusing anything that is not one or that has fields outside `allowed`."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise DomainError("json_required")
    for key in body:
        if key not in allowed:
            raise DomainError("unknown_field", field=str(key)[:40])
    return body


# --- staff sign-in -------------------------------------------------------------------------------------------

def authenticate_staff(db_session: Session, username: str, password: str) -> Staff:
    """The active staff member with these credentials, or `signin_failed` (the same for any mistake)."""
    from sqlalchemy import select

    staff = db_session.scalar(select(Staff).where(Staff.username == username.strip()))
    if staff is None or not staff.active or not check_password_hash(staff.password_hash, password):
        raise Unauthorized("signin_failed")
    return staff


def current_staff() -> Staff | None:
    if "staff" not in g:
        staff_id = session.get("staff_id")
        g.staff = db().get(Staff, staff_id) if isinstance(staff_id, int) else None
        if g.staff is not None and not g.staff.active:
            g.staff = None
    return g.staff


def staff_required(*roles: StaffRole):
    """Pages for signed-in staff of these roles (admins pass everywhere); others go to the sign-in page."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            staff = current_staff()
            if staff is None:
                return redirect(url_for("triage.signin", next=request.path))
            if roles and staff.role not in roles and staff.role != StaffRole.admin:
                raise NotFound("not_found")
            return view(*args, **kwargs)

        return wrapper

    return decorate


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def check_csrf() -> None:
    sent = request.form.get("csrf_token", "")
    if not sent or "csrf" not in session or not hmac.compare_digest(sent, session["csrf"]):
        raise DomainError("csrf_invalid")
