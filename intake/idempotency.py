"""Idempotency keys for complaint submission: insert the key first, so one key makes one complaint.

The unique (resident_id, key) constraint decides races on SQLite and PostgreSQL alike: the second request's
insert waits for the first transaction and then fails, and the second request replays the stored answer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import Conflict, DomainError, Resident, utcnow
from models.intake import IdempotencyKey

TTL = dt.timedelta(hours=24)
KEY = re.compile(r"^[A-Za-z0-9_\-:.]{8,128}$")


def request_hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def check_key(key: str) -> str:
    if not KEY.fullmatch(key):
        raise DomainError("idempotency_key_invalid")
    return key


def _replay(row: IdempotencyKey, digest: str) -> tuple[int, dict[str, Any]]:
    if row.request_hash != digest:
        raise DomainError("idempotency_key_reused", status=422)
    if row.status_code is None:  # the first request is still running (only if it has not committed yet)
        raise Conflict("idempotency_key_in_progress")
    return row.status_code, json.loads(row.response)


def claim(session: Session, resident: Resident, key: str, digest: str) -> tuple[IdempotencyKey | None,
                                                                               tuple[int, dict] | None]:
    """Claim `key` for this request, or return the stored first answer to replay.

    Side effects: deletes this resident's expired row for the key; inserts and flushes the new key row.
    On a lost race the session is rolled back (nothing else was written yet) and the winner's answer returned.
    """
    now = utcnow()
    resident_id = resident.id
    existing = session.scalar(select(IdempotencyKey).where(IdempotencyKey.resident_id == resident_id,
                                                           IdempotencyKey.key == key))
    if existing is not None and existing.expires_at > now:
        return None, _replay(existing, digest)
    if existing is not None:
        session.delete(existing)
        session.flush()
    row = IdempotencyKey(resident_id=resident_id, key=key, request_hash=digest, created_at=now,
                         expires_at=now + TTL)
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        # Nothing but this row (and a session touch) was written yet: roll back and read the winner's answer.
        session.rollback()
        winner = session.scalar(select(IdempotencyKey).where(IdempotencyKey.resident_id == resident_id,
                                                             IdempotencyKey.key == key)
                                .execution_options(populate_existing=True))
        if winner is None:
            raise Conflict("idempotency_key_in_progress") from None
        return None, _replay(winner, digest)
    return row, None


def record(row: IdempotencyKey, status: int, payload: dict[str, Any]) -> None:
    """Store the answer that replays of this key will get (committed with the complaint)."""
    row.status_code = status
    row.response = json.dumps(payload, ensure_ascii=False)


def purge_expired(session: Session) -> int:
    """Delete keys past their 24 hours; returns how many."""
    return session.execute(delete(IdempotencyKey).where(IdempotencyKey.expires_at <= utcnow())).rowcount
