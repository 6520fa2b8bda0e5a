"""Notifications under faults, with real worker processes, real Redis and the WeChat sandbox.

Every test counts the messages the sandbox received per outbox row: never more than one.
"""

from __future__ import annotations

import requests
from sqlalchemy import select

from models import Notification, NotificationState, Resident
from tests.conftest import LiveServer, Workers, wait_for
from tests.test_loop import scene_of
from tests.workers.conftest import FAST, outbox, sent_per_row, settle, wait_started
from web.settings import load_settings

S = NotificationState


def test_redis_stopped_while_residents_report(own_redis, settings_env, wechat_sandbox, db, tmp_path):
    from app import create_app
    from qr.demo import seed_demo
    from workers.rendering import template_id

    env = dict(settings_env, XINMA_REDIS_URL=own_redis.url, **FAST)
    seed_demo(db)
    db.commit()
    scene = scene_of(db, "汉王村第一网格")
    application = create_app(load_settings(env))
    server = LiveServer(application)
    pool = Workers(env, tmp_path)
    try:
        pool.start()
        resident = "o-resident-outage"
        for _ in range(5):
            wechat_sandbox.subscribe(resident, template_id("complaint_received"))
        token = requests.post(f"{server.url}/api/v1/sessions", json={"code": wechat_sandbox.login_code(resident)},
                              timeout=10).json()["data"]["token"]
        own_redis.stop()
        for n in range(5):
            res = requests.post(f"{server.url}/api/v1/complaints", headers={"Authorization": f"Bearer {token}"},
                                json={"scene": scene, "category": "停车", "text": f"第{n}号楼下乱停车，堵住消防通道"},
                                timeout=15)
            assert res.status_code == 201, res.text  # accepted while Redis is down
        assert wechat_sandbox.messages() == []
        own_redis.start()  # back, empty: the sweep hands every waiting row over
        ids = list(db.scalars(select(Notification.id)))
        rows = settle(db, ids, timeout=90)
        assert len(rows) == 5
        assert {r.state for r in rows.values()} == {S.sent}
        assert dict(sent_per_row(wechat_sandbox)) == {i: 1 for i in ids}
    finally:
        pool.stop_all()
        server.stop()
        application.extensions["xinma.engine"].dispose()


def test_redis_flushed_with_jobs_queued(fast_app, fast_workers, wechat_sandbox, redis, db):
    ids = outbox(fast_app, wechat_sandbox, 8)
    assert redis.dbsize() > 0  # the rows were handed over
    redis.flushdb()  # Redis lost everything before any worker ran
    fast_workers.start()
    rows = settle(db, ids)
    assert {r.state for r in rows.values()} == {S.sent}
    assert dict(sent_per_row(wechat_sandbox)) == {i: 1 for i in ids}


def test_worker_killed_before_the_wechat_call(fast_app, fast_env, wechat_sandbox, db, tmp_path):
    pool = Workers(dict(fast_env, XINMA_WECHAT_TIMEOUT="15"), tmp_path)
    try:
        ids = outbox(fast_app, wechat_sandbox, 6)
        wechat_sandbox.fault("token", "latency_ms", 10_000, count=1)  # the worker is still getting its token
        first = pool.start()
        wait_started(fast_env["XINMA_REDIS_URL"])
        pool.kill(first)
        assert wechat_sandbox.messages() == []
        pool.start()
        rows = settle(db, ids)
    finally:
        pool.stop_all()
    assert {r.state for r in rows.values()} == {S.sent}, "nothing was sent, so nothing needs review"
    assert dict(sent_per_row(wechat_sandbox)) == {i: 1 for i in ids}


def test_worker_killed_after_the_wechat_call(fast_app, fast_env, wechat_sandbox, db, tmp_path):
    env = dict(fast_env, XINMA_DELIVERY_THREADS="1")
    pool = Workers(env, tmp_path)
    try:
        ids = outbox(fast_app, wechat_sandbox, 6)
        wechat_sandbox.fault("subscribe_send", "latency_ms", 1200, count=None)
        first = pool.start()
        wait_for(lambda: wechat_sandbox.messages(), what="the first message")
        pool.kill(first)  # WeChat is handling the next send; the worker will never mark it
        wechat_sandbox.control("DELETE", "/_sandbox/faults")
        pool.start()
        rows = settle(db, ids)
    finally:
        pool.stop_all()
    per_row = sent_per_row(wechat_sandbox)
    assert max(per_row.values()) == 1, "no row reached WeChat twice"
    for row in rows.values():
        assert row.state in (S.sent, S.needs_review)
        if row.state == S.sent:
            assert per_row[row.id] == 1
    review = [r for r in rows.values() if r.state == S.needs_review]
    assert len(review) <= 1 and all("check before re-sending" in r.last_error for r in review)


def test_sandbox_5xx_and_45009_for_a_while_then_delivered(fast_app, fast_workers, wechat_sandbox, db):
    wechat_sandbox.fault("subscribe_send", "http_500", count=3)
    wechat_sandbox.fault("subscribe_send", "errcode", 45009, count=3)
    ids = outbox(fast_app, wechat_sandbox, 4)
    fast_workers.start()
    rows = settle(db, ids)
    assert {r.state for r in rows.values()} == {S.sent}
    calls = wechat_sandbox.control("GET", "/_sandbox/calls")["endpoints"]["subscribe_send"]
    assert calls["ok"] == 4 and calls["failed"] >= 6, "the refused sends were retried after back-off"
    assert sum(r.attempts for r in rows.values()) >= 4 + 6
    assert dict(sent_per_row(wechat_sandbox)) == {i: 1 for i in ids}


def test_wechat_unreachable_for_a_while_then_delivered(fast_app, fast_workers, wechat_sandbox, db):
    # A second WeChat on a port that refuses connections until it comes up: a connect failure is safe to retry.
    from tests.conftest import SandboxHandle
    from tests.workers.conftest import free_port
    from web.settings import SANDBOX_APPID, SANDBOX_SECRET
    from wechat import create_sandbox_app, serve_in_thread
    from workers.rendering import sandbox_templates

    port = free_port()
    env = dict(fast_workers.env, XINMA_WECHAT_API_BASE=f"http://127.0.0.1:{port}/")
    fast_workers.env = env
    sandbox_app = create_sandbox_app(appid=SANDBOX_APPID, secret=SANDBOX_SECRET, templates=sandbox_templates())
    ids = outbox(fast_app, wechat_sandbox, 3, subscribe=False)
    fast_workers.start()
    wait_for(lambda: _attempted(db, ids), what="the first refused attempts")
    server, thread, url = serve_in_thread(sandbox_app, port=port)
    try:
        late = SandboxHandle(url, wechat_sandbox.clock)
        for _ in range(3):
            late.subscribe("o-resident-fault", "xinma-complaint-received")
        rows = settle(db, ids)
        assert {r.state for r in rows.values()} == {S.sent}
        assert dict(sent_per_row(late)) == {i: 1 for i in ids}
    finally:
        server.shutdown()
        server.server_close()


def _attempted(db, ids) -> bool:
    db.expire_all()
    return all(r.attempts >= 1 and r.state == S.pending for r in db.scalars(select(Notification)
                                                                          .where(Notification.id.in_(ids))))


def _ledger(app, openid: str, accepts: int, event: str = "complaint_received") -> None:
    """Record `accepts` taps on 允许 in the resident's ledger, as the subscriptions endpoint does."""
    from models.notify import record_subscription_results
    from workers.rendering import template_id

    with app.extensions["xinma.sessionmaker"]() as session:
        resident = session.scalar(select(Resident).where(Resident.openid == openid))
        for _ in range(accepts):
            record_subscription_results(session, resident.id, {template_id(event): "accept"}, set())
        session.commit()


def _timeout(sandbox, seconds: float, *, acts: bool) -> None:
    sandbox.control("POST", "/_sandbox/faults", {"endpoint": "subscribe_send", "type": "timeout", "value": seconds,
                                                 "count": 1, "acts": acts})


def _calls_done(sandbox, n: int) -> bool:
    calls = sandbox.control("GET", "/_sandbox/calls")["endpoints"]["subscribe_send"]
    return calls["ok"] + calls["failed"] >= n


def test_read_timeout_slow_wechat_delivers_once(fast_app, fast_workers, wechat_sandbox, db):
    """WeChat got the request and delivers it late; the re-send after back-off meets the spent quota: one copy."""
    ids = outbox(fast_app, wechat_sandbox, 1)  # the resident tapped 允许 once
    _ledger(fast_app, "o-resident-fault", 1)
    _timeout(wechat_sandbox, 4, acts=True)  # longer than the client's 3 s timeout
    fast_workers.start()
    rows = settle(db, ids)
    wait_for(lambda: _calls_done(wechat_sandbox, 2), what="the slow WeChat to finish the timed-out call")
    row = rows[ids[0]]
    assert row.state == S.sent and row.attempts >= 2
    assert dict(sent_per_row(wechat_sandbox)) == {ids[0]: 1}


def test_read_timeout_lost_request_is_delivered_after_back_off(fast_app, fast_workers, wechat_sandbox, db):
    """The timed-out request never reached WeChat's handler: the re-send after back-off delivers it, once."""
    ids = outbox(fast_app, wechat_sandbox, 1)
    _ledger(fast_app, "o-resident-fault", 1)
    _timeout(wechat_sandbox, 4, acts=False)
    fast_workers.start()
    rows = settle(db, ids)
    wait_for(lambda: _calls_done(wechat_sandbox, 2), what="the timed-out call to end")
    row = rows[ids[0]]
    assert row.state == S.sent and row.attempts == 2 and row.last_error is None
    assert dict(sent_per_row(wechat_sandbox)) == {ids[0]: 1}


def test_read_timeout_with_accepts_to_spare_waits_for_a_person(fast_app, fast_workers, wechat_sandbox, db):
    """With a second accept left, a re-send could deliver twice: the row is needs_review, never re-sent."""
    ids = outbox(fast_app, wechat_sandbox, 1)
    wechat_sandbox.subscribe("o-resident-fault", "xinma-complaint-received")
    _ledger(fast_app, "o-resident-fault", 2)
    _timeout(wechat_sandbox, 4, acts=True)
    fast_workers.start()
    rows = settle(db, ids)
    assert rows[ids[0]].state == S.needs_review and rows[ids[0]].attempts == 1
    assert "outcome_unknown" in rows[ids[0]].last_error
    wait_for(lambda: wechat_sandbox.messages(), what="the slow WeChat to deliver it after all")
    assert dict(sent_per_row(wechat_sandbox)) == {ids[0]: 1}


def test_43101_is_undeliverable_without_retry(fast_app, fast_workers, wechat_sandbox, db):
    ids = outbox(fast_app, wechat_sandbox, 2, subscribe=False)  # the resident never tapped 允许
    fast_workers.start()
    rows = settle(db, ids)
    assert {r.state for r in rows.values()} == {S.undeliverable}
    first, second = rows[ids[0]], rows[ids[1]]
    assert first.attempts == 1 and first.last_error.startswith("43101")
    # one send at a time per resident: the second row meets the ledger the 43101 emptied, and WeChat is not asked
    assert second.attempts == 1 and second.last_error.startswith("no_quota")
    calls = wechat_sandbox.control("GET", "/_sandbox/calls")["endpoints"]["subscribe_send"]
    assert calls == {"ok": 0, "failed": 1}
    assert sent_per_row(wechat_sandbox) == {}


def test_token_expiring_mid_run_is_refreshed_once(fast_app, fast_env, wechat_sandbox, db, tmp_path):
    pool = Workers(fast_env, tmp_path)
    try:
        ids = outbox(fast_app, wechat_sandbox, 40)
        wechat_sandbox.fault("subscribe_send", "latency_ms", 100, count=None)
        pool.start()
        pool.start()
        wait_for(lambda: len(wechat_sandbox.messages()) >= 5, what="the first sends")
        assert wechat_sandbox.control("POST", "/_sandbox/expire_tokens")["expired"] == 1
        rows = settle(db, ids)
    finally:
        pool.stop_all()
    assert {r.state for r in rows.values()} == {S.sent}, [(r.id, r.state, r.attempts, r.last_error)
                                                          for r in rows.values() if r.state != S.sent]
    calls = wechat_sandbox.control("GET", "/_sandbox/calls")
    # WeChat rolls an expired stable token itself: one normal fetch replaces it, no forced refresh is spent
    assert calls["tokens_issued"] == 2 and calls["force_refreshes"] == 0, calls
    assert dict(sent_per_row(wechat_sandbox)) == {i: 1 for i in ids}
