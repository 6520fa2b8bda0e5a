"""Complaint submission on PostgreSQL in one statement: the path nearly every mini-program submission takes.

A complaint without photos is written by one data-modifying statement on an autocommit connection, so it is its
own transaction, committed (and flushed to disk) before the response: the idempotency key with the answer it
replays, the complaint, its audit event, the resident's outbox row, its contact row and its statistics delta.
The answer is built by the database and sent as stored, so a replay returns the first answer.

It writes what the general path writes (`idempotency.claim` + `services.record_complaint` + `idempotency.record`
in the request's transaction), with the same refusals, and the tests run both: the general path takes
submissions with photos, every submission on SQLite, and any body the fast path does not find valid (it then
answers with the general path's error). Nothing is written when the scene is unknown, revoked or retired, or when
the key was already used; those cases are told apart after the statement, by the returned scene row and one
read of the key.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.engine import Connection

from models import Conflict, DomainError, NotFound, utcnow
from models.intake import mask_phone
from models.lifecycle import COMPLAINT_NOTIFY
from models.messages import COMPLAINT_CATEGORIES, COMPLAINT_STATES, TIMELINE
from models.stats import complaint_keys
from qr.services import SCENE_ALPHABET

from . import idempotency
from .services import TEXT_LIMIT, _location, _phone

_SUBMIT = """
WITH q AS (
    SELECT qr.id AS code_id, qr.revoked_at, u0.id AS unit_id, u0.retired_at,
           u0.name AS n0, u1.name AS n1, u2.name AS n2, u3.name AS n3, u4.name AS n4
    FROM qr_codes qr
    JOIN units u0 ON u0.id = qr.unit_id
    LEFT JOIN units u1 ON u1.id = u0.parent_id
    LEFT JOIN units u2 ON u2.id = u1.parent_id
    LEFT JOIN units u3 ON u3.id = u2.parent_id
    LEFT JOIN units u4 ON u4.id = u3.parent_id
    WHERE qr.token = %(scene)s
), ok AS (
    SELECT * FROM q WHERE q.revoked_at IS NULL AND q.retired_at IS NULL
), ids AS (
    SELECT nextval(pg_get_serial_sequence('complaints', 'id')) AS id FROM ok
), resp AS (
    SELECT ids.id, jsonb_build_object('ok', true, 'data', CAST(%(data)s AS jsonb) || jsonb_build_object(
               'id', ids.id,
               'unit', jsonb_build_object('name', ok.n0, 'full_name', concat_ws('·', ok.n4, ok.n3, ok.n2, ok.n1, ok.n0))
           )) AS body
    FROM ids, ok
), k AS (
    INSERT INTO idempotency_keys (resident_id, key, request_hash, created_at, expires_at, status_code, response)
    SELECT %(resident_id)s, CAST(%(key)s AS varchar), %(request_hash)s, %(created_at)s, %(expires_at)s, 201,
           resp.body::text
    FROM resp WHERE CAST(%(key)s AS varchar) IS NOT NULL
    ON CONFLICT (resident_id, key) DO NOTHING
    RETURNING id
), go AS (
    SELECT ids.id FROM ids WHERE CAST(%(key)s AS varchar) IS NULL OR EXISTS (SELECT 1 FROM k)
), c AS (
    INSERT INTO complaints (id, unit_id, resident_id, qr_code_id, category, text, state, created_at, state_changed_at)
    SELECT go.id, ok.unit_id, %(resident_id)s, ok.code_id, %(category)s, %(text)s, %(state)s, %(created_at)s,
           %(created_at)s
    FROM go, ok
    RETURNING id
), a AS (
    INSERT INTO audit_events (subject_kind, subject_id, action, from_state, to_state, actor_kind, actor_id, reason,
                              data, created_at)
    SELECT 'complaint', c.id, 'submit', NULL, %(state)s, 'resident', %(resident_id)s, NULL, '{}'::json, %(created_at)s
    FROM c
), n AS (
    INSERT INTO notifications (event, recipient_kind, recipient_id, openid, params, state, attempts, created_at)
    SELECT %(event)s, 'resident', %(resident_id)s, CAST(%(openid)s AS varchar),
           (jsonb_build_object('complaint_id', c.id, 'unit_name', ok.n0) || CAST(%(params)s AS jsonb))::json,
           'pending', 0, %(created_at)s
    FROM c, ok
    RETURNING id
), ct AS (
    INSERT INTO complaint_contacts (complaint_id, phone, latitude, longitude, address)
    SELECT c.id, CAST(%(phone)s AS varchar), CAST(%(latitude)s AS double precision),
           CAST(%(longitude)s AS double precision), CAST(%(address)s AS varchar)
    FROM c WHERE CAST(%(contact)s AS boolean)
), s AS (
    INSERT INTO stat_deltas (unit_id, day, key, n)
    SELECT ok.unit_id, CAST(%(stat_day)s AS date), %(stat_key)s, 1 FROM c, ok
)
SELECT q.code_id, q.revoked_at, q.retired_at, c.id, n.id, resp.body::text
FROM (SELECT 1) AS one
LEFT JOIN q ON true
LEFT JOIN c ON true
LEFT JOIN n ON true
LEFT JOIN resp ON resp.id = c.id
"""


def usable(conn: Connection, body: dict[str, Any]) -> bool:
    """Whether this submission takes the one-statement path: PostgreSQL, no photos, every field valid."""
    if conn.dialect.name != "postgresql" or body.get("photos"):
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


def submit(conn: Connection, resident, body: dict[str, Any], key: str | None) -> tuple[int, str, list]:
    """Write the complaint in `body` (already found `usable`); returns (status, JSON text of the answer, handoff).

    `handoff` names the rows whose jobs follow the commit: the 受理 message and the content check (empty for a
    replay). Raises the general path's errors: scene_unknown, scene_revoked, scene_unit_retired,
    idempotency_key_reused, idempotency_key_in_progress.
    """
    now = utcnow()
    category, words = body["category"], body["text"].strip()
    phone = _phone(body.get("phone"))
    where = _location(body.get("location"))
    lat, lng, address = where or (None, None, None)
    state = "submitted"
    data = {"category": category, "text": words, "state": state, "state_label": COMPLAINT_STATES[state],
            "reply": None, "created_at": now.isoformat(), "phone": mask_phone(phone),
            "location": {"latitude": lat, "longitude": lng, "address": address} if where else None, "photos": [],
            "timeline": [{"at": now.isoformat(), "label": TIMELINE[("complaint", "submit")], "reason": ""}]}
    params = {"category": category, "action": "submit", "state": state, "reason": "", "at": now.isoformat()}
    day, (stat_key,) = complaint_keys({"state": state, "reason_code": None, "qr_code_id": 0, "created_at": now}, None)
    values = {"scene": body["scene"], "data": json.dumps(data, ensure_ascii=False), "resident_id": resident.id,
              "openid": resident.openid, "key": key, "request_hash": idempotency.request_hash(body),
              "created_at": now, "expires_at": now + idempotency.TTL, "category": category, "text": words,
              "state": state, "event": COMPLAINT_NOTIFY["submit"], "params": json.dumps(params, ensure_ascii=False),
              "contact": bool(phone or where), "phone": phone, "latitude": lat, "longitude": lng,
              "address": address, "stat_day": day, "stat_key": stat_key}
    for _ in range(3):
        with conn.connection.driver_connection.cursor() as cur:  # the driver itself: this runs for every submission
            code_id, revoked_at, retired_at, complaint_id, notification_id, answer = cur.execute(
                _SUBMIT, values).fetchone()
        if complaint_id is not None:
            return 201, answer, [("notification", notification_id), ("content_check", complaint_id)]
        scene_ok = code_id is not None and revoked_at is None and retired_at is None
        if key is not None:  # as the general path: a used key replays before the scene is looked at
            found = idempotency.existing(conn, resident.id, key, values["request_hash"], now)
            if found is not None and found != "expired":
                status, payload = found
                return status, json.dumps(payload, ensure_ascii=False), []
            if found == "expired" or scene_ok:
                continue  # an expired key was removed, or the key's first request rolled back: claim it afresh
        if code_id is None:
            raise NotFound("scene_unknown")
        if retired_at is not None:
            raise DomainError("scene_unit_retired", status=410)
        raise DomainError("scene_revoked", status=410)
    raise Conflict("idempotency_key_in_progress")
