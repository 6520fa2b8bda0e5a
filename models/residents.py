"""Residents' own login state: opaque bearer tokens, stored hashed, that every resident-facing API checks.

A token carries 256 random bits; only its SHA-256 is stored. A session ends at its absolute expiry, after
`IDLE` without use, or when revoked (sign-out, or every session of a resident at once).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import secrets

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from .base import utcnow
from .entities import Resident, ResidentSession
from .errors import Unauthorized

IDLE = dt.timedelta(days=7)
# last_seen_at is written at most this often, so reading a list is not a write per request.
TOUCH_EVERY = dt.timedelta(minutes=5)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_hash(authorization: str | None) -> str:
    """The stored hash of the token in an `Authorization: Bearer` header; 401 when there is no usable token."""
    return _hash(_bearer(authorization))


def check_live(row: tuple | None, now: dt.datetime, idle: dt.timedelta = IDLE) -> None:
    """Raise the 401 a session gets, given its (revoked_at, expires_at, last seen) or None when there is none:
    unknown or revoked, past its expiry, or unused for longer than `idle`."""
    if row is None:
        raise Unauthorized("session_invalid")
    revoked_at, expires_at, seen = row
    if revoked_at is not None:
        raise Unauthorized("session_invalid")
    if expires_at <= now or seen + idle <= now:
        raise Unauthorized("session_expired")


def sign_in_resident(session: Session, login, *, lifetime: dt.timedelta) -> tuple[Resident, str]:
    """Find or create the resident behind a verified WeChat login and open a session; returns the raw token.

    Side effects: adds the resident (first login) and a session row; flushes. `login.session_key` is not kept.
    """
    resident = session.scalar(select(Resident).where(Resident.openid == login.openid))
    now = utcnow()
    if resident is None:
        resident = Resident(openid=login.openid, created_at=now)
        session.add(resident)
    resident.last_login_at = now
    session.flush()
    token = secrets.token_urlsafe(32)
    session.add(ResidentSession(token_hash=_hash(token), resident_id=resident.id, created_at=now,
                                expires_at=now + lifetime, last_seen_at=now))
    session.flush()
    return resident, token


def _bearer(authorization: str | None) -> str:
    if not authorization or not authorization.startswith("Bearer "):
        raise Unauthorized("session_missing")
    token = authorization.removeprefix("Bearer ").strip()
    if not token or len(token) > 256:
        raise Unauthorized("session_invalid")
    return token


@dataclasses.dataclass(frozen=True)
class ResidentRef:
    """Who is calling, read in one query: enough for writing on the resident's behalf."""

    id: int
    openid: str | None
    session_id: int


_LIVE = (select(ResidentSession.id, ResidentSession.expires_at, ResidentSession.revoked_at,
                ResidentSession.last_seen_at, ResidentSession.created_at, Resident.id, Resident.openid)
         .join(Resident, Resident.id == ResidentSession.resident_id)
         .where(ResidentSession.token_hash == bindparam("token_hash")))
_TOUCH = update(ResidentSession).where(ResidentSession.id == bindparam("row_id")).values(last_seen_at=bindparam("now"))


def authenticate_resident_ref(session: Session, authorization: str | None, *, idle: dt.timedelta = IDLE
                              ) -> ResidentRef:
    """Who is behind an `Authorization: Bearer` header, in one Core query; 401 with a stable code when there is no
    live session (unknown or revoked, past its expiry, or idle). The one check of a resident's session.

    Side effect: moves `last_seen_at` forward (at most every TOUCH_EVERY), which keeps the session alive.
    """
    conn = session.connection()
    row = conn.execute(_LIVE, {"token_hash": token_hash(authorization)}).first()
    session_id, expires_at, revoked_at, last_seen_at, created_at, resident_id, openid = row or (None,) * 7
    now, seen = utcnow(), last_seen_at or created_at
    check_live(row and (revoked_at, expires_at, seen), now, idle)
    if now - seen >= TOUCH_EVERY:
        conn.execute(_TOUCH, {"row_id": session_id, "now": now})
    return ResidentRef(resident_id, openid, session_id)


def authenticate_resident(session: Session, authorization: str | None, *, idle: dt.timedelta = IDLE) -> Resident:
    """The resident behind an `Authorization: Bearer` header (`authenticate_resident_ref`), loaded."""
    return session.get(Resident, authenticate_resident_ref(session, authorization, idle=idle).id)


def revoke_resident_session(session: Session, authorization: str | None) -> None:
    """Sign out: the session behind this header stops working at once. Side effect: stamps `revoked_at`."""
    ref = authenticate_resident_ref(session, authorization)
    session.execute(update(ResidentSession).where(ResidentSession.id == ref.session_id)
                    .values(revoked_at=utcnow()).execution_options(synchronize_session=False))


def revoke_all_sessions(session: Session, resident: Resident) -> int:
    """End every live session of a resident (a lost phone, an abuse case); returns how many were ended."""
    return session.execute(update(ResidentSession).where(ResidentSession.resident_id == resident.id,
                                                         ResidentSession.revoked_at.is_(None))
                           .values(revoked_at=utcnow())).rowcount
