"""The WeChat budget: the subscription ledger, asking residents again, the staff digest, and the ops pages."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from models import Notification, NotificationState, StaffRole
from models.lifecycle import notify
from models.notify import DigestItem, Subscription
from tests import factories
from tests.workers.conftest import outbox, sent_per_row
from web.settings import load_settings
from workers.rendering import template_id

S = NotificationState
RECEIVED = template_id("complaint_received")


@pytest.fixture
def budget_app(live_env, db_clean):
    from app import create_app
    from workers.runtime import install

    install(load_settings(live_env))  # jobs run in this process, against the same database and sandbox
    application = create_app(load_settings(live_env))
    application.config["TESTING"] = True
    yield application
    application.extensions["xinma.engine"].dispose()


@pytest.fixture
def phone(budget_app, wechat_sandbox):
    client = budget_app.test_client()
    code = wechat_sandbox.login_code("o-resident-budget")
    token = client.post("/api/v1/sessions", json={"code": code}).json["data"]["token"]
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


def deliver(ids):
    """Run the delivery job once in this process; each row's outcome ("not pending" if it was not pending)."""
    from workers.delivery import deliver as delivery_job
    from workers.runtime import runtime

    def states():
        with runtime().session() as session:
            return dict(session.execute(select(Notification.id, Notification.state)
                                        .where(Notification.id.in_(ids))).all())

    before = states()
    delivery_job()
    after = states()
    return ["not pending" if before[i] != S.pending else str(after[i].value) for i in ids]


def test_one_accept_is_one_message_then_the_app_asks_again(budget_app, phone, wechat_sandbox, db):
    res = phone.post("/api/v1/subscriptions", json={"results": {RECEIVED: "accept"}})
    assert res.status_code == 201, res.json
    assert res.json["data"]["left"] == {RECEIVED: 1}
    wechat_sandbox.subscribe("o-resident-budget", RECEIVED)
    wechat_sandbox.subscribe("o-resident-budget", RECEIVED)  # WeChat would take two; the ledger knows of one

    ids = outbox(budget_app, wechat_sandbox, 2, openid="o-resident-budget", subscribe=False)
    assert deliver(ids) == ["sent", "undeliverable"]
    db.expire_all()
    waiting = db.get(Notification, ids[1])
    assert waiting.last_error.startswith("no_quota")
    assert wechat_sandbox.control("GET", "/_sandbox/calls")["endpoints"]["subscribe_send"] == {"ok": 1, "failed": 0}
    assert dict(sent_per_row(wechat_sandbox)) == {ids[0]: 1}

    status = phone.get("/api/v1/subscriptions").json["data"]
    assert status == {"left": {RECEIVED: 0}, "waiting": {RECEIVED: 1}, "resubscribe": [RECEIVED]}
    again = phone.post("/api/v1/subscriptions", json={"results": {RECEIVED: "accept"}})
    assert again.json["data"]["left"] == {RECEIVED: 1}


def test_held_messages_go_out_when_the_resident_subscribes_again(budget_app, phone, wechat_sandbox, redis, db):
    import time

    from workers.periodic import check_due
    from workers.queues import BUCKET, make_queue

    phone.post("/api/v1/subscriptions", json={"results": {RECEIVED: "accept"}})
    wechat_sandbox.subscribe("o-resident-budget", RECEIVED)
    ids = outbox(budget_app, wechat_sandbox, 3, openid="o-resident-budget", subscribe=False)
    assert deliver(ids) == ["sent", "undeliverable", "undeliverable"]  # two wait on the timeline
    assert check_due()["released"] == 0  # nothing to send them with yet

    queue = make_queue(redis)
    assert any(job_id.startswith("deliver-") for job_id in queue.job_ids)  # the rows written above woke it
    queue.empty()
    time.sleep(BUCKET)  # a new bucket: the jobs woken before were emptied

    # The resident opens the mini-program, is asked again and taps 允许 once: one more message may go.
    wechat_sandbox.subscribe("o-resident-budget", RECEIVED)
    phone.post("/api/v1/subscriptions", json={"results": {RECEIVED: "accept"}})
    assert check_due()["released"] == 1
    db.expire_all()
    assert [db.get(Notification, i).state for i in ids[1:]] == [S.pending, S.undeliverable]  # the oldest first
    assert any(job_id.startswith("deliver-") for job_id in queue.job_ids)  # woken after the commit
    assert check_due()["released"] == 0  # released once
    assert deliver(ids[1:]) == ["sent", "not pending"]

    wechat_sandbox.subscribe("o-resident-budget", RECEIVED)
    phone.post("/api/v1/subscriptions", json={"results": {RECEIVED: "accept"}})
    assert check_due()["released"] == 1
    assert deliver(ids[2:]) == ["sent"]
    assert dict(sent_per_row(wechat_sandbox)) == {i: 1 for i in ids}
    assert phone.get("/api/v1/subscriptions").json["data"]["waiting"] == {}


def test_43101_empties_the_ledger_and_asks_again(budget_app, phone, wechat_sandbox, db):
    ids = outbox(budget_app, wechat_sandbox, 1, openid="o-resident-budget", subscribe=False)
    assert deliver(ids) == ["undeliverable"]
    assert deliver(ids) == ["not pending"]  # already final: a second job does nothing
    status = phone.get("/api/v1/subscriptions").json["data"]
    assert status["resubscribe"] == [RECEIVED]
    assert status["left"] == {RECEIVED: 0}


@pytest.mark.parametrize("body, code", [
    ({"results": {"xinma-no-such-template": "accept"}}, "subscription_template_unknown"),
    ({"results": {RECEIVED: "maybe"}}, "field_invalid"),
    ({"results": {}}, "field_required"),
    ({"results": {RECEIVED: "accept"}, "openid": "x"}, "unknown_field"),
])
def test_bad_subscription_reports_change_nothing(phone, db, body, code):
    res = phone.post("/api/v1/subscriptions", json=body)
    assert res.status_code == 400 and res.json["error"]["code"] == code
    assert res.json["error"]["message"]
    assert db.scalar(select(func.count()).select_from(Subscription)) == 0


def test_subscriptions_need_a_signed_in_resident(budget_app):
    res = budget_app.test_client().post("/api/v1/subscriptions", json={"results": {RECEIVED: "accept"}})
    assert res.status_code == 401 and res.json["error"]["code"] == "session_missing"


def test_staff_get_one_daily_digest_instead_of_a_flood(budget_app, wechat_sandbox, db):
    from workers.schedules import send_digests

    units = factories.units(db)
    secretary = factories.staff(db, StaffRole.secretary, units["community"], openid="o-secretary-digest")
    db.commit()
    wechat_sandbox.subscribe("o-secretary-digest", template_id("staff_digest"))  # long-term: allowed once
    with budget_app.extensions["xinma.sessionmaker"]() as session:
        for event in ("triage_overdue", "triage_overdue", "implementation_overdue"):
            notify(session, event, recipient_kind="staff", recipient_id=secretary.id, openid=secretary.openid,
                   params={"unit_name": "幸福社区"})
        session.commit()
    assert db.scalar(select(func.count()).select_from(Notification)) == 0
    assert db.scalar(select(func.count()).select_from(DigestItem)) == 3

    assert send_digests("20261123") == {"digests": 1}
    assert send_digests("20261123") == {"digests": 0}  # a second run finds nothing new
    ids = list(db.scalars(select(Notification.id)))
    assert deliver(ids) == ["sent"]
    (message,) = wechat_sandbox.messages(openid="o-secretary-digest")
    assert message["data"]["thing1"] == "分拣逾期2件，落实逾期1件"
    assert message["data"]["number2"] == "3"


def signed_in(client, username: str):
    page = client.get("/staff/signin")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    res = client.post("/staff/signin", data={"username": username, "password": factories.PASSWORD,
                                             "csrf_token": token})
    assert res.status_code in (200, 302), res.get_data(as_text=True)
    return client


def test_admin_sees_dead_letters_and_resends_one(budget_app, wechat_sandbox, db):
    factories.staff(db, StaffRole.admin, username="ops-admin")
    factories.staff(db, StaffRole.grid_worker, username="ops-grid")
    db.commit()
    wechat_sandbox.fault("subscribe_send", "errcode", 40037)  # invalid template: failed, no retry
    ids = outbox(budget_app, wechat_sandbox, 2, openid="o-resident-ops")
    assert deliver(ids) == ["failed", "sent"]

    grid = signed_in(budget_app.test_client(), "ops-grid")
    assert grid.get("/ops/").status_code == 404
    assert grid.get("/ops/metrics").status_code == 404
    assert grid.get("/ops/rq/").status_code == 404  # the dashboard's own check, on its requests only
    assert budget_app.test_client().get("/ops/rq/").status_code == 302

    admin = signed_in(budget_app.test_client(), "ops-admin")
    page = admin.get("/ops/").get_data(as_text=True)
    assert "消息送达运行情况" in page and f"第 {ids[0]} 号" in page and "40037" in page
    assert f"第 {ids[1]} 号" not in page  # sent rows are not dead letters
    metrics = admin.get("/ops/metrics").get_data(as_text=True)
    assert 'xinma_notifications{state="failed"} 1.0' in metrics
    assert 'xinma_notifications{state="sent"} 1.0' in metrics
    assert admin.get("/ops/rq/").status_code == 200

    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    res = admin.post(f"/ops/notifications/{ids[0]}/resend", data={"csrf_token": token})
    assert res.status_code == 302
    assert deliver([ids[0]]) == ["sent"]
    assert dict(sent_per_row(wechat_sandbox)) == {ids[0]: 1, ids[1]: 1}
    again = admin.post(f"/ops/notifications/{ids[0]}/resend", data={"csrf_token": token})
    assert again.status_code == 409
    assert "不能重发" in again.get_data(as_text=True)


def test_sends_go_out_together_but_one_at_a_time_per_resident(budget_app, wechat_sandbox, db):
    """WeChat refuses a second send to a resident while one is in flight (43108): four residents' three messages
    each go out four at a time, and none is refused."""
    import time

    ids = [i for n in range(4) for i in outbox(budget_app, wechat_sandbox, 3, openid=f"o-resident-many-{n}")]
    wechat_sandbox.fault("subscribe_send", "latency_ms", 500, count=None)
    started = time.monotonic()
    assert deliver(ids) == ["sent"] * 12
    elapsed = time.monotonic() - started
    assert wechat_sandbox.control("GET", "/_sandbox/calls")["endpoints"]["subscribe_send"] == {"ok": 12, "failed": 0}
    assert elapsed < 4, f"three rounds of 0.5 s, not twelve sends one after another (6 s): took {elapsed:.1f} s"
    assert dict(sent_per_row(wechat_sandbox)) == {i: 1 for i in ids}
