"""Idempotency-Key on complaint submission: replays, a changed payload, concurrent replays, 24-hour expiry."""

from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy import func, select, update

from models import Complaint, Notification, utcnow
from models.intake import IdempotencyKey

from .support import auth, counts, refused, sign_in


def body(scene, text="楼道堆放杂物，影响消防通道"):
    return {"scene": scene, "category": "安全出行", "text": text}


def post(client, token, payload, key):
    return client.post("/api/v1/complaints", json=payload, headers={**auth(token), "Idempotency-Key": key})


def complaint_count(app) -> int:
    with app.extensions["xinma.sessionmaker"]() as session:
        return session.scalar(select(func.count()).select_from(Complaint))


def test_replay_returns_the_first_answer_and_creates_nothing(client, wechat_sandbox, app, scene):
    token = sign_in(client, wechat_sandbox)
    first = post(client, token, body(scene), "key-0001-abcdef")
    assert first.status_code == 201
    after_first = counts(app)
    again = post(client, token, body(scene), "key-0001-abcdef")
    assert again.status_code == 201
    assert again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"
    assert counts(app) == after_first
    with app.extensions["xinma.sessionmaker"]() as session:
        assert session.scalar(select(func.count()).select_from(Notification)) == 1  # one 受理 message, not two


def test_same_key_other_payload_is_refused(client, wechat_sandbox, app, scene):
    token = sign_in(client, wechat_sandbox)
    assert post(client, token, body(scene), "key-0002-abcdef").status_code == 201
    before = counts(app)
    refused(post(client, token, body(scene, "另一件事"), "key-0002-abcdef"), 422, "idempotency_key_reused")
    assert counts(app) == before


def test_keys_are_per_resident(client, wechat_sandbox, app, scene):
    a = sign_in(client, wechat_sandbox, "o-a")
    b = sign_in(client, wechat_sandbox, "o-b")
    ra = post(client, a, body(scene), "shared-key-123")
    rb = post(client, b, body(scene), "shared-key-123")
    assert ra.status_code == rb.status_code == 201
    assert ra.json["data"]["id"] != rb.json["data"]["id"]


def test_bad_key_and_failed_first_attempt(client, wechat_sandbox, app, scene):
    token = sign_in(client, wechat_sandbox)
    refused(post(client, token, body(scene), "short"), 400, "idempotency_key_invalid")
    refused(post(client, token, body(scene), "bad key with spaces"), 400, "idempotency_key_invalid")
    # a refused first attempt keeps no key: the corrected retry with the same key goes through
    refused(post(client, token, {**body(scene), "category": "无"}, "key-0003-abcdef"), 400, "category_unknown")
    assert post(client, token, body(scene), "key-0003-abcdef").status_code == 201


def test_concurrent_requests_with_one_key_create_one_complaint(client, wechat_sandbox, app, scene):
    token = sign_in(client, wechat_sandbox)
    n = 8
    barrier = threading.Barrier(n)
    results = []

    def send():
        c = app.test_client()
        barrier.wait()
        results.append(post(c, token, body(scene), "key-concurrent-1"))

    threads = [threading.Thread(target=send) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == n
    assert complaint_count(app) == 1
    ok = [r for r in results if r.status_code == 201]
    assert ok, [r.json for r in results]
    assert len({r.json["data"]["id"] for r in ok}) == 1
    for r in results:
        assert r.status_code in (201, 409), r.json
        if r.status_code == 409:
            assert r.json["error"]["code"] == "idempotency_key_in_progress"


def test_keys_expire_after_24_hours(client, wechat_sandbox, app, scene):
    from intake.idempotency import purge_expired

    token = sign_in(client, wechat_sandbox)
    first = post(client, token, body(scene), "key-0004-abcdef").json["data"]["id"]
    with app.extensions["xinma.sessionmaker"]() as session:
        row = session.scalar(select(IdempotencyKey))
        assert dt.timedelta(hours=23, minutes=59) < row.expires_at - row.created_at <= dt.timedelta(hours=24)
        session.execute(update(IdempotencyKey).values(expires_at=utcnow() - dt.timedelta(seconds=1)))
        session.commit()
    second = post(client, token, body(scene), "key-0004-abcdef")
    assert second.status_code == 201 and second.json["data"]["id"] != first
    with app.extensions["xinma.sessionmaker"]() as session:
        session.execute(update(IdempotencyKey).values(expires_at=utcnow() - dt.timedelta(seconds=1)))
        assert purge_expired(session) == 1
        session.commit()
