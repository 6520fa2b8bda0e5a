"""Residents' own login state: opaque bearer tokens, stored hashed, that every resident-facing API checks."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from .base import utcnow
from .entities import Resident, ResidentSession
from .errors import Unauthorized


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sign_in_resident(session: Session, login, *, lifetime: dt.timedelta) -> tuple[Resident, str]:
    """Find or create the resident behind a verified WeChat login and open a session; returns the raw token."""
    resident = session.scalar(select(Resident).where(Resident.openid == login.openid))
    now = utcnow()
    if resident is None:
        resident = Resident(openid=login.openid, created_at=now)
        session.add(resident)
    resident.last_login_at = now
    session.flush()
    token = secrets.token_urlsafe(32)
    session.add(ResidentSession(token_hash=_hash(token), resident_id=resident.id, created_at=now,
                                expires_at=now + lifetime))
    session.flush()
    return resident, token


def authenticate_resident(session: Session, authorization: str | None) -> Resident:
    """The resident behind an `Authorization: Bearer` header; 401 with a stable code otherwise."""
    if not authorization or not authorization.startswith("Bearer "):
        raise Unauthorized("session_missing")
    token = authorization.removeprefix("Bearer ").strip()
    row = session.scalar(select(ResidentSession).where(ResidentSession.token_hash == _hash(token)))
    if row is None or row.revoked_at is not None:
        raise Unauthorized("session_invalid")
    if row.expires_at <= utcnow():
        raise Unauthorized("session_expired")
    return row.resident
