"""Request plumbing every feature package shares: the request's DB session, staff sign-in, CSRF, JSON envelope."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import re
import secrets
from typing import Any

from flask import Response, current_app, g, jsonify, redirect, request, session, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.routing import IntegerConverter
from werkzeug.security import check_password_hash, generate_password_hash

from .base import utcnow
from .entities import Staff, StaffRole, Unit
from .errors import DomainError, NotFound, Unauthorized
from .triage import Invitation, SignInThrottle


def db() -> Session:
    """The request's session; app.py commits it once if the response succeeded, else rolls it back."""
    if "db" not in g:
        g.db = current_app.extensions["xinma.sessionmaker"]()
    return g.db


class RowIdConverter(IntegerConverter):
    """`<int:…>` in every route: ids are 32-bit database integers, so a larger number is a plain 404 (never a query
    that overflows the column)."""

    def __init__(self, map, *args, **kwargs) -> None:  # noqa: A002 - werkzeug's signature
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def ok(data: Any, status: int = 200):
    return jsonify({"ok": True, "data": data}), status


def json_body(allowed: set[str]) -> dict[str, Any]:
    """The request's JSON object, refusing anything that is not one, that has fields outside `allowed` or that
    holds a NUL character anywhere (PostgreSQL cannot store one)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise DomainError("json_required")
    for key in body:
        if key not in allowed:
            raise DomainError("unknown_field", field=str(key)[:40])
    if has_nul(body):
        raise DomainError("nul_character")
    return body


def has_nul(value: Any) -> bool:
    """Whether a NUL character is in this string, or in any key or string inside this JSON value."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any("\x00" in key or has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(has_nul(item) for item in value)
    return False


# --- staff sign-in -------------------------------------------------------------------------------------------

MAX_FAILURES = 5
LOCK_MINUTES = 15
PASSWORD_MIN = 10
_DUMMY_HASH = generate_password_hash("not-a-real-password", method="pbkdf2:sha256:1000")


def hash_password(password: str) -> str:
    """A salted scrypt hash (werkzeug's default, a memory-hard algorithm)."""
    return generate_password_hash(password)


def _record_failure(db_session: Session, username: str) -> None:
    """Count a failed sign-in in its own transaction, so the refusal's rollback does not undo it."""
    with Session(bind=db_session.get_bind()) as side:
        row = side.scalar(select(SignInThrottle).where(SignInThrottle.username == username))
        if row is None:
            row = SignInThrottle(username=username, failures=0)
            side.add(row)
        now = utcnow()
        row.failures += 1
        row.last_failure_at = now
        if row.failures >= MAX_FAILURES:
            row.locked_until = now + dt.timedelta(minutes=LOCK_MINUTES)
            row.failures = 0
        side.commit()


def authenticate_staff(db_session: Session, username: str, password: str) -> Staff:
    """The active staff member with these credentials, or `signin_failed` (the same for any mistake).

    Side effects: a failure is counted per username (committed at once); after MAX_FAILURES the username is
    locked for LOCK_MINUTES (`signin_locked`), even for the right password. Success clears the count.
    """
    username = (username or "").strip()[:64]
    throttle = db_session.scalar(select(SignInThrottle).where(SignInThrottle.username == username))
    now = utcnow()
    if throttle is not None and throttle.locked_until is not None and throttle.locked_until > now:
        minutes = max(1, int((throttle.locked_until - now).total_seconds() // 60) + 1)
        raise Unauthorized("signin_locked", minutes=minutes)
    staff = db_session.scalar(select(Staff).where(Staff.username == username)) if username else None
    valid = check_password_hash(staff.password_hash if staff else _DUMMY_HASH, password or "")
    if staff is None or not staff.active or not valid:
        if username:
            _record_failure(db_session, username)
        raise Unauthorized("signin_failed")
    if throttle is not None:
        throttle.failures = 0
        throttle.locked_until = None
    return staff


def session_fingerprint(staff: Staff) -> str:
    """Ties a session cookie to the password it was made with: a new password signs every old session out."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, staff.password_hash.encode(), hashlib.sha256).hexdigest()[:24]


def sign_in(staff: Staff) -> None:
    """Start a fresh session for `staff` (a new cookie, so a planted session id is worthless)."""
    session.clear()
    session.permanent = True
    session["staff_id"] = staff.id
    session["auth"] = session_fingerprint(staff)


def create_invitation(db_session: Session, admin: Staff, *, role: StaffRole, display_name: str, units: list,
                      days: int = 7) -> str:
    """Write an invitation for one account with `role` over `units`; returns the raw token for the link."""
    display_name = (display_name or "").strip()
    if not display_name or len(display_name) > 64:
        raise DomainError("display_name_invalid")
    if not units:
        raise DomainError("units_required")
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db_session.add(Invitation(token_hash=hashlib.sha256(token.encode()).hexdigest(), role=role,
                              display_name=display_name, unit_ids=[u.id for u in units], created_by_id=admin.id,
                              created_at=now, expires_at=now + dt.timedelta(days=days)))
    db_session.flush()
    return token


def invitation_for(db_session: Session, token: str) -> Invitation:
    """The unused, unexpired invitation behind a link, or `invitation_invalid`."""
    row = db_session.scalar(select(Invitation).where(
        Invitation.token_hash == hashlib.sha256((token or "").encode()).hexdigest()))
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        raise NotFound("invitation_invalid")
    return row


def accept_invitation(db_session: Session, token: str, *, username: str, password: str) -> Staff:
    """Create the invited account with a chosen username and password; the link then stops working."""
    invitation = invitation_for(db_session, token)
    username = (username or "").strip()
    if not re.fullmatch(r"[A-Za-z0-9_.-]{3,64}", username):
        raise DomainError("username_invalid")
    if len(password or "") < PASSWORD_MIN:
        raise DomainError("password_weak", min=PASSWORD_MIN)
    if db_session.scalar(select(Staff.id).where(Staff.username == username)) is not None:
        raise DomainError("username_taken")
    units = list(db_session.scalars(select(Unit).where(Unit.id.in_(invitation.unit_ids))))
    staff = Staff(username=username, display_name=invitation.display_name, password_hash=hash_password(password),
                  role=invitation.role, units=units, created_at=utcnow())
    db_session.add(staff)
    db_session.flush()
    invitation.used_at = utcnow()
    invitation.staff_id = staff.id
    return staff


def current_staff() -> Staff | None:
    if "staff" not in g:
        staff_id = session.get("staff_id")
        g.staff = db().get(Staff, staff_id) if isinstance(staff_id, int) else None
        if g.staff is not None and (not g.staff.active or session.get("auth") != session_fingerprint(g.staff)):
            g.staff = None
    return g.staff


def private_image(data: bytes, mimetype: str, name: str) -> Response:
    """An uploaded image under its server-made name: its real type, nosniff, sandboxed, never cached publicly."""
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'inline; filename="{name}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def wechat_login(code: object):
    """WeChat's answer (openid, session) for a wx.login code sent by the mini-program, as the API's errors."""
    from wechat import WeChatLoginCodeInvalid, WeChatRetryable

    if not isinstance(code, str) or not code.strip() or len(code) > 128:
        raise DomainError("login_code_missing")
    try:
        return current_app.extensions["xinma.wechat"].code_to_session(code.strip())
    except WeChatLoginCodeInvalid:
        raise DomainError("login_code_invalid") from None
    except WeChatRetryable:
        raise DomainError("wechat_unavailable", status=503) from None


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
