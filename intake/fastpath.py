"""Complaint submission on PostgreSQL in one statement: the path nearly every mini-program submission takes.

A complaint without photos is written by one data-modifying statement on an autocommit connection, so it is its
own transaction, committed (and flushed to disk) before the response: the idempotency key with the answer it
replays, the complaint, its audit event, the resident's outbox row, its contact row and its statistics delta.
The answer is built by the database and sent as stored, so a replay returns the first answer.

The statement takes any number of submissions (arrays, one element each): a web process under load writes the
submissions that arrive together in one statement and one commit (intake/committer.py), each as if alone. It
checks each submission's session itself and moves its last-seen time as `authenticate_resident_ref` does.

It writes what the general path writes (`idempotency.claim` + `services.record_complaint` + `idempotency.record`
in the request's transaction), with the same refusals, and the tests run both: the general path takes
submissions with photos, every submission on SQLite, and any body the fast path does not find valid (it then
answers with the general path's error). Nothing is written for a submission whose session is not live, whose
scene is unknown, revoked or retired, or whose key was already used; those cases are told apart after the
statement (`outcome`), by the returned session and scene rows and one read of the key.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from models import DomainError, NotFound, utcnow
from models.intake import mask_phone
from models.lifecycle import COMPLAINT_NOTIFY
from models.residents import IDLE, TOUCH_EVERY, check_live
from models.stats import complaint_keys
from qr.services import SCENE_ALPHABET
from web.messages import COMPLAINT_CATEGORIES, COMPLAINT_STATES, TIMELINE

from . import idempotency
from .services import TEXT_LIMIT, _location, _phone

if TYPE_CHECKING:
    import psycopg

# Every submission is one element of a JSON array, numbered `i`. A batch never holds one resident's
# Idempotency-Key twice (the committer sees to it), so `k` tells each submission whether it claimed its key.
# Sessions and scenes are looked up one by one by their unique indexes (LIMIT 1 keeps each a lookup, whatever the
# planner guesses of the batch's size).
_SUBMIT = """
WITH src AS (
    SELECT * FROM jsonb_to_recordset(%(items)s::jsonb) AS t(
        i int, token_hash text, scene text, data jsonb, key text, request_hash text, created_at timestamptz,
        category text, words text, params jsonb, contact boolean, phone text, latitude float8, longitude float8,
        address text, stat_day date, stat_key text)
), sess AS (
    SELECT src.i, x.*, x.revoked_at IS NULL AND x.expires_at > src.created_at
                       AND x.seen > src.created_at - %(idle)s AS live,
           x.seen <= src.created_at - %(touch_every)s AS stale, src.created_at
    FROM src CROSS JOIN LATERAL (
        SELECT rs.id AS session_id, rs.revoked_at, rs.expires_at, coalesce(rs.last_seen_at, rs.created_at) AS seen,
               rs.resident_id, r.openid
        FROM resident_sessions rs JOIN residents r ON r.id = rs.resident_id
        WHERE rs.token_hash = src.token_hash LIMIT 1) x
), touch AS (
    UPDATE resident_sessions rs SET last_seen_at = (SELECT max(created_at) FROM sess WHERE session_id = rs.id)
    WHERE rs.id = ANY(ARRAY(SELECT session_id FROM sess WHERE live AND stale))
), q AS (
    SELECT src.i, x.* FROM src CROSS JOIN LATERAL (
        SELECT qr.id AS code_id, qr.revoked_at, u0.retired_at, u0.id AS unit_id, u0.name AS n0,
               concat_ws('·', u4.name, u3.name, u2.name, u1.name, u0.name) AS full_name
        FROM qr_codes qr
        JOIN units u0 ON u0.id = qr.unit_id
        LEFT JOIN units u1 ON u1.id = u0.parent_id
        LEFT JOIN units u2 ON u2.id = u1.parent_id
        LEFT JOIN units u3 ON u3.id = u2.parent_id
        LEFT JOIN units u4 ON u4.id = u3.parent_id
        WHERE qr.token = src.scene LIMIT 1) x
), ids AS (
    SELECT src.*, sess.resident_id, sess.openid, q.code_id, q.unit_id, q.n0, q.full_name,
           nextval(pg_get_serial_sequence('complaints', 'id')) AS id
    FROM src JOIN sess USING (i) JOIN q USING (i)
    WHERE sess.live AND q.revoked_at IS NULL AND q.retired_at IS NULL
), resp AS (
    SELECT ids.*, jsonb_build_object('ok', true, 'data', ids.data || jsonb_build_object(
               'id', ids.id, 'unit', jsonb_build_object('name', ids.n0, 'full_name', ids.full_name))) AS body
    FROM ids
), k AS (
    INSERT INTO idempotency_keys (resident_id, key, request_hash, created_at, expires_at, status_code, response)
    SELECT resident_id, key, request_hash, created_at, created_at + %(ttl)s, 201, body::text
    FROM resp WHERE key IS NOT NULL
    ON CONFLICT (resident_id, key) DO NOTHING
    RETURNING resident_id, key
), go AS (
    SELECT * FROM resp
    WHERE key IS NULL OR EXISTS (SELECT 1 FROM k WHERE k.resident_id = resp.resident_id AND k.key = resp.key)
), c AS (
    INSERT INTO complaints (id, unit_id, resident_id, qr_code_id, category, text, state, created_at, state_changed_at)
    SELECT id, unit_id, resident_id, code_id, category, words, %(state)s, created_at, created_at FROM go
), a AS (
    INSERT INTO audit_events (subject_kind, subject_id, action, from_state, to_state, actor_kind, actor_id, reason,
                              data, created_at)
    SELECT 'complaint', id, 'submit', NULL, %(state)s, 'resident', resident_id, NULL, '{}'::json, created_at FROM go
), n AS (
    INSERT INTO notifications (event, recipient_kind, recipient_id, openid, params, state, attempts, created_at)
    SELECT %(event)s, 'resident', resident_id, openid,
           (jsonb_build_object('complaint_id', id, 'unit_name', n0) || params)::json, 'pending', 0, created_at
    FROM go
    RETURNING id, CAST(params ->> 'complaint_id' AS bigint) AS complaint_id
), ct AS (
    INSERT INTO complaint_contacts (complaint_id, phone, latitude, longitude, address)
    SELECT id, phone, latitude, longitude, address FROM go WHERE contact
), s AS (
    INSERT INTO stat_deltas (unit_id, day, key, n) SELECT unit_id, stat_day, stat_key, 1 FROM go
)
SELECT sess.resident_id, sess.revoked_at, sess.expires_at, sess.seen, q.code_id, q.revoked_at, q.retired_at, go.id,
       n.id, go.body::text
FROM src
LEFT JOIN sess USING (i)
LEFT JOIN q USING (i)
LEFT JOIN go USING (i)
LEFT JOIN n ON n.complaint_id = go.id
ORDER BY src.i
"""
_SUBMIT = " ".join(_SUBMIT.split())  # well within the driver's 4 KB limit for statements it keeps parsed


def usable(body: dict[str, Any]) -> bool:
    """Whether this submission (on PostgreSQL) takes the one-statement path: no photos, every field valid."""
    if body.get("photos"):
        return False
    scene, category, words = body.get("scene"), body.get("category"), body.get("text")
    if not isinstance(scene, str) or not SCENE_ALPHABET.fullmatch(scene) or category not in COMPLAINT_CATEGORIES:
        return False
    if not isinstance(words, str) or not words.strip() or len(words) > TEXT_LIMIT:
        return False
    try:
        _phone(body.get("phone"))
        _location(body.get("location"))
    except DomainError:
        return False
    return True


def prepare(token_hash: str, body: dict[str, Any], key: str | None) -> dict[str, Any]:
    """What the statement needs of one submission (`body` already found `usable`), at this moment."""
    now = utcnow()
    at = now.isoformat()
    category, words = body["category"], body["text"].strip()
    phone = _phone(body.get("phone"))
    where = _location(body.get("location"))
    lat, lng, address = where or (None, None, None)
    state = "submitted"
    data = {"category": category, "text": words, "state": state, "state_label": COMPLAINT_STATES[state],
            "reply": None, "created_at": at, "phone": mask_phone(phone),
            "location": {"latitude": lat, "longitude": lng, "address": address} if where else None, "photos": [],
            "timeline": [{"at": at, "label": TIMELINE[("complaint", "submit")], "reason": ""}]}
    day, (stat_key,) = complaint_keys({"state": state, "reason_code": None, "qr_code_id": 0, "created_at": now}, None)
    return {"now": now, "key": key, "request_hash": idempotency.request_hash(body), "row": {
        "token_hash": token_hash, "scene": body["scene"], "data": data, "created_at": at, "category": category,
        "words": words, "params": {"category": category, "action": "submit", "state": state, "reason": "", "at": at},
        "contact": bool(phone or where), "phone": phone, "latitude": lat, "longitude": lng, "address": address,
        "stat_day": day.isoformat(), "stat_key": stat_key}}


def write(conn: psycopg.Connection, items: list[dict[str, Any]]) -> list[tuple]:
    """Run the statement on this autocommit driver connection for these submissions (no resident's key twice); one
    result row each, in their order."""
    rows = [dict(item["row"], i=i, key=item["key"], request_hash=item["request_hash"]) for i, item in enumerate(items)]
    values = {"items": json.dumps(rows, ensure_ascii=False), "idle": IDLE, "touch_every": TOUCH_EVERY,
              "ttl": idempotency.TTL, "state": "submitted", "event": COMPLAINT_NOTIFY["submit"]}
    return conn.execute(_SUBMIT, values).fetchall()


def outcome(connect: Callable[[], Connection], item: dict[str, Any], row: tuple) -> tuple[int, str, bool] | None:
    """What one submission's result row means: (status, JSON text of the answer, whether it replays an earlier
    answer), or None when it must be written again (its expired key was removed, or the key's first request rolled
    back). `connect` gives an autocommit connection, for the one read (and removal of an expired key) a
    submission without a complaint needs. Raises the general path's errors: session_invalid, session_expired,
    scene_unknown, scene_revoked, scene_unit_retired, idempotency_key_reused, idempotency_key_in_progress.
    """
    resident_id, session_revoked_at, session_expires_at, seen, code_id, revoked_at, retired_at, complaint_id = row[:8]
    answer = row[9]  # row[8]: the 受理 message's outbox row, which the committer hands over
    check_live(resident_id and (session_revoked_at, session_expires_at, seen), item["now"])
    if complaint_id is not None:
        return 201, answer, False
    scene_ok = code_id is not None and revoked_at is None and retired_at is None
    if item["key"] is not None:  # as the general path: a used key replays before the scene is looked at
        with connect() as conn:
            found = idempotency.existing(conn, resident_id, item["key"], item["request_hash"], item["now"])
        if found is not None and found != "expired":
            status, payload = found
            return status, json.dumps(payload, ensure_ascii=False), True
        if found == "expired" or scene_ok:
            return None
    if code_id is None:
        raise NotFound("scene_unknown")
    if retired_at is not None:
        raise DomainError("scene_unit_retired", status=410)
    raise DomainError("scene_revoked", status=410)
