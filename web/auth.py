"""Who is asking: staff sign-in and invitations, page access by role, CSRF, and residents' WeChat sign-in."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import logging
import re
import secrets

from flask import current_app, g, redirect, request, session, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from models import DomainError, NotFound, Staff, StaffRole, Unauthorized, Unit, utcnow
from models.triage import Invitation, SignInThrottle
from wechat import WeChatLoginCodeInvalid, WeChatRetryable
from wechat.errors import WeChatLoginBlocked, WeChatMisconfigured

from .http import db

log = logging.getLogger(__name__)

# --- staff sign-in -------------------------------------------------------------------------------------------

MAX_FAILURES = 5
LOCK_MINUTES = 15
PASSWORD_MIN = 10


def hash_password(password: str) -> str:
    """A salted scrypt hash (werkzeug's default, a memory-hard algorithm)."""
    return generate_password_hash(password)


# Checked against when the username is unknown: made by hash_password itself, so checking it costs what checking a
# real account's hash costs and the response time does not tell which usernames exist.
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


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
    if staff.password_expires_at is not None and staff.password_expires_at <= now:
        raise Unauthorized("temporary_password_expired")
    if throttle is not None:
        throttle.failures = 0
        throttle.locked_until = None
    return staff


def session_fingerprint(staff: Staff) -> str:
    """Ties a session cookie to the password and the session generation it was made with: a new password, a
    deactivation or a reset signs every old session out (and a reactivation does not bring them back)."""
    key = current_app.config["SECRET_KEY"].encode()
    material = f"{staff.password_hash}:{staff.session_version or 0}".encode()
    return hmac.new(key, material, hashlib.sha256).hexdigest()[:24]


# Where each role lands after signing in, and where the banner's 首页 link goes.
ROLE_HOMES = {StaffRole.admin: "/admin/", StaffRole.secretary: "/council/", StaffRole.grid_worker: "/triage/",
              StaffRole.legal_adviser: "/council/", StaffRole.representative: "/triage/"}


def home_path(staff: Staff | None) -> str:
    """The page a staff member starts from (the sign-in page for nobody)."""
    return ROLE_HOMES.get(staff.role, "/staff/wechat") if staff is not None else "/staff/signin"


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


# --- staff accounts, as an admin manages them -----------------------------------------------------------------

TEMPORARY_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/l/I to misread
TEMPORARY_HOURS = 24  # a temporary password signs in only until then, and only to choose a new one
OWN_PASSWORD_PAGE = "/admin/staff/me/password"


def _not_self(admin: Staff, staff: Staff) -> None:
    if admin.id == staff.id:
        raise DomainError("staff_self_change", status=403)


def end_sessions(staff: Staff) -> None:
    """Sign every session of `staff` out at once (their cookies stop matching `session_fingerprint`)."""
    staff.session_version = (staff.session_version or 0) + 1


def deactivate_staff(admin: Staff, staff: Staff) -> Staff:
    """Stop an account from signing in; its open sessions end at the next request. Not one's own account."""
    _not_self(admin, staff)
    if not staff.active:
        raise DomainError("staff_already_inactive", status=409)
    staff.active = False
    end_sessions(staff)
    return staff


def reactivate_staff(admin: Staff, staff: Staff) -> Staff:
    """Let a deactivated account sign in again (with a new sign-in: the sessions it had stay ended)."""
    _not_self(admin, staff)
    if staff.active:
        raise DomainError("staff_already_active", status=409)
    staff.active = True
    return staff


def reset_password(admin: Staff, staff: Staff) -> str:
    """Give `staff` a new temporary password and return it (shown to the admin once, stored only as a hash).

    Side effects: every session of `staff` ends; the password signs in for TEMPORARY_HOURS, and only to the page
    where they choose their own; a sign-in lock on the username is not lifted.
    """
    _not_self(admin, staff)
    password = "".join(secrets.choice(TEMPORARY_ALPHABET) for _ in range(12))
    staff.password_hash = hash_password(password)
    staff.password_expires_at = utcnow() + dt.timedelta(hours=TEMPORARY_HOURS)
    end_sessions(staff)
    return password


def change_own_password(staff: Staff, *, current: str, new: str, repeated: str) -> Staff:
    """A staff member replaces their password (a temporary one, or their own) after giving the current one.

    Side effects: other sessions of `staff` end (the caller signs this one in again); no expiry is left.
    """
    if not check_password_hash(staff.password_hash, current or ""):
        raise DomainError("password_current_wrong")
    if len(new or "") < PASSWORD_MIN:
        raise DomainError("password_weak", min=PASSWORD_MIN)
    if new != repeated:
        raise DomainError("password_mismatch")
    if new == current:
        raise DomainError("password_unchanged")
    staff.password_hash = hash_password(new)
    staff.password_expires_at = None
    end_sessions(staff)
    return staff


def change_staff(admin: Staff, staff: Staff, *, role: str, units: list[Unit]) -> Staff:
    """Give `staff` another role and another set of units (at least one; the caller keeps them in its scope)."""
    _not_self(admin, staff)
    try:
        new_role = StaffRole(role or "")
    except ValueError:
        raise DomainError("role_unknown") from None
    if not units:
        raise DomainError("units_required")
    staff.role = new_role
    staff.units = units
    return staff


def current_staff() -> Staff | None:
    if "staff" not in g:
        staff_id = session.get("staff_id")
        g.staff = db().get(Staff, staff_id) if isinstance(staff_id, int) else None
        if g.staff is not None and (not g.staff.active or session.get("auth") != session_fingerprint(g.staff)):
            g.staff = None
    return g.staff


def wechat_login(code: object):
    """WeChat's answer (openid, session) for a wx.login code sent by the mini-program, as the API's errors.

    A high-risk user WeChat blocks (40226) is told so (`login_user_risky`, 403: a new code is blocked too, so the
    mini-program must not retry); wrong account settings are `wechat_misconfigured` (503, logged).
    """
    if not isinstance(code, str) or not code.strip() or len(code) > 128:
        raise DomainError("login_code_missing")
    try:
        return current_app.extensions["xinma.wechat"].code_to_session(code.strip())
    except WeChatLoginCodeInvalid:
        raise DomainError("login_code_invalid") from None
    except WeChatLoginBlocked:
        raise DomainError("login_user_risky", status=403) from None
    except WeChatMisconfigured as exc:
        raise wechat_misconfigured(exc) from None
    except WeChatRetryable:
        raise DomainError("wechat_unavailable", status=503) from None


def wechat_misconfigured(exc: WeChatMisconfigured) -> DomainError:
    """The clean 503 for a WeChat call refused because of the account's settings (appid, AppSecret, IP whitelist).

    Side effect: logs an error naming the errcode, for the operator (the resident sees only that it is down).
    """
    log.error("WeChat refused the account's settings (errcode %s: %s): check XINMA_WECHAT_APPID, "
              "XINMA_WECHAT_SECRET and the API IP whitelist", exc.errcode, exc.errmsg)
    return DomainError("wechat_misconfigured", status=503)


def staff_required(*roles: StaffRole):
    """Pages for signed-in staff of these roles (admins pass everywhere); others go to the sign-in page."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            staff = current_staff()
            if staff is None:
                return redirect(url_for("triage.signin", next=request.path))
            if staff.password_expires_at is not None and request.path != OWN_PASSWORD_PAGE:
                return redirect(OWN_PASSWORD_PAGE)  # a temporary password opens nothing but its replacement
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


# --- framing and referrers -----------------------------------------------------------------------------------

def protect_response(response):
    """Forbid framing (a framed staff form could be clicked through) and referrers (a private tracking link must
    not leave in a Referer header) on every response; a policy a view already set keeps its other parts."""
    policy = response.headers.get("Content-Security-Policy", "")
    if "frame-ancestors" not in policy:
        response.headers["Content-Security-Policy"] = f"{policy}; frame-ancestors 'none'" if policy else \
            "frame-ancestors 'none'"
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    return response
