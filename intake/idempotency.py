"""Idempotency keys for complaint submission: insert the key first, so one key makes one complaint.

The unique (resident_id, key) constraint decides races on SQLite and PostgreSQL alike: the second request's
insert waits for the first transaction and then does nothing, and the second request replays the stored answer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from models import Conflict, DomainError, utcnow
from models.intake import IdempotencyKey

TTL = dt.timedelta(hours=24)
KEY = re.compile(r"^[A-Za-z0-9_\-:.]{8,128}$")


def request_hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def check_key(key: str) -> str:
    if not KEY.fullmatch(key):
        raise DomainError("idempotency_key_invalid")
    return key


def _replay(status_code: int | None, response: str | None, request_hash: str, digest: str
            ) -> tuple[int, dict[str, Any]]:
    if request_hash != digest:
        raise DomainError("idempotency_key_reused", status=422)
    if status_code is None:  # the first request is still running (only if it has not committed yet)
        raise Conflict("idempotency_key_in_progress")
    return status_code, json.loads(response)


_TABLE = IdempotencyKey.__table__
_EXISTING = select(_TABLE.c.id, _TABLE.c.status_code, _TABLE.c.response, _TABLE.c.request_hash,
                   _TABLE.c.expires_at).where(_TABLE.c.resident_id == bindparam("resident_id"),
                                              _TABLE.c.key == bindparam("key"))
_RECORD = update(_TABLE).where(_TABLE.c.id == bindparam("row_id")).values(status_code=bindparam("status_code"),
                                                                         response=bindparam("response"))


def _insert(dialect: str):
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(_TABLE).on_conflict_do_nothing(index_elements=["resident_id", "key"]).returning(_TABLE.c.id)


_INSERTS = {name: _insert(name) for name in ("postgresql", "sqlite")}


def claim(session: Session, resident, key: str, digest: str) -> tuple[int | None, tuple[int, dict] | None]:
    """Claim `key` for this request (returns the new row's id), or return the stored first answer to replay.

    One INSERT … ON CONFLICT DO NOTHING decides: on PostgreSQL a concurrent first request holding the key makes it
    wait for that transaction, then read the winner's committed answer. An expired row is deleted and the key
    claimed afresh. Side effects: inserts the key row (and deletes this resident's expired row for the key).
    """
    conn = session.connection()
    now = utcnow()
    values = {"resident_id": resident.id, "key": key, "request_hash": digest, "created_at": now,
              "expires_at": now + TTL}
    insert_key = _INSERTS[conn.dialect.name]
    for _ in range(2):
        row_id = conn.execute(insert_key, values).scalar()
        if row_id is not None:
            return row_id, None
        found = existing(conn, resident.id, key, digest, now)
        if found is not None and found != "expired":
            return None, found
        # None: the winner rolled back between our two statements; "expired": the old row is gone. Try again.
    raise Conflict("idempotency_key_in_progress")


def existing(conn, resident_id: int, key: str, digest: str, now: dt.datetime) -> tuple[int, dict] | str | None:
    """The stored first answer for this resident's key, to replay; "expired" (after deleting the expired row) or
    None when there is no row. Raises idempotency_key_reused for another payload, _in_progress if not answered."""
    row = conn.execute(_EXISTING, {"resident_id": resident_id, "key": key}).first()
    if row is None:
        return None
    if row.expires_at > now:
        return _replay(row.status_code, row.response, row.request_hash, digest)
    conn.execute(delete(_TABLE).where(_TABLE.c.id == row.id))
    return "expired"


def record(session: Session, row_id: int, status: int, payload: dict[str, Any]) -> None:
    """Store the answer that replays of this key will get (committed with the complaint)."""
    session.connection().execute(_RECORD, {"row_id": row_id, "status_code": status,
                                           "response": json.dumps(payload, ensure_ascii=False)})


def purge_expired(session: Session) -> int:
    """Delete keys past their 24 hours; returns how many."""
    return session.execute(delete(IdempotencyKey).where(IdempotencyKey.expires_at <= utcnow())).rowcount
