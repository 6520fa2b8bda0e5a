"""Issue, rotate and resolve the scene tokens behind unit codes."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import DomainError, NotFound, QrCode, Unit, utcnow

TOKEN_BYTES = 16  # 128 random bits; token_urlsafe gives 22 characters, all in WeChat's scene alphabet


def issue_code(session: Session, unit: Unit) -> QrCode:
    """Give the unit a new code, revoking the one it had (its old posters stop working)."""
    now = utcnow()
    for old in session.scalars(select(QrCode).where(QrCode.unit_id == unit.id, QrCode.revoked_at.is_(None))):
        old.revoked_at = now
    code = QrCode(unit_id=unit.id, token=secrets.token_urlsafe(TOKEN_BYTES), created_at=now)
    code.unit = unit
    session.add(code)
    session.flush()
    return code


def current_code(session: Session, unit: Unit) -> QrCode | None:
    return session.scalar(select(QrCode).where(QrCode.unit_id == unit.id, QrCode.revoked_at.is_(None)))


def resolve_scene(session: Session, token: str | None) -> QrCode:
    """The live code behind a scanned scene token; `scene_unknown` or `scene_revoked` otherwise."""
    if not token or not isinstance(token, str):
        raise DomainError("scene_missing")
    code = session.scalar(select(QrCode).where(QrCode.token == token[:64]))
    if code is None:
        raise NotFound("scene_unknown")
    if code.revoked_at is not None:
        raise DomainError("scene_revoked", status=410)
    return code


def scan_url(public_url: str, code: QrCode) -> str:
    return f"{public_url.rstrip('/')}/q/{code.token}"
