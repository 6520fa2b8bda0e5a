"""A worker killed with SIGKILL while notifications are pending loses none, and doubles none."""

from __future__ import annotations

import collections

import requests
from sqlalchemy import select

from models import Notification, NotificationState
from tests.conftest import wait_for
from tests.test_loop import scene_of
from workers.rendering import template_id

RESIDENT = "o-resident-crash"


def sent_per_row(wechat_sandbox) -> collections.Counter:
    return collections.Counter(int(m["page"].rsplit("&n=", 1)[1]) for m in wechat_sandbox.messages())


def test_killed_worker_loses_and_doubles_nothing(live_app, workers, wechat_sandbox, db):
    from qr.demo import seed_demo

    seed_demo(db)
    db.commit()
    scene = scene_of(db, "汉王村第一网格")
    for _ in range(6):
        wechat_sandbox.subscribe(RESIDENT, template_id("complaint_received"))
    token = requests.post(f"{live_app.url}/api/v1/sessions", json={"code": wechat_sandbox.login_code(RESIDENT)},
                          timeout=10).json()["data"]["token"]
    for n in range(6):  # no worker is running: six receipts wait in the outbox and on the queue
        res = requests.post(f"{live_app.url}/api/v1/complaints", headers={"Authorization": f"Bearer {token}"},
                            json={"scene": scene, "category": "停车", "text": f"第{n}号楼下乱停车"}, timeout=10)
        assert res.status_code == 201

    wechat_sandbox.fault("subscribe_send", "latency_ms", 1500, count=None)  # every send takes 1.5 s
    first = workers.start()
    wait_for(lambda: wechat_sandbox.messages(), what="the first delivery")
    workers.kill(first)  # mid-way through the second send, with four more still queued
    wechat_sandbox.control("DELETE", "/_sandbox/faults")

    workers.start()

    def settled():
        db.expire_all()
        # the residents' receipts (grid workers may also get the day's digest, depending on the hour)
        rows = db.scalars(select(Notification).where(Notification.recipient_kind == "resident")).all()
        return rows if all(r.state in (NotificationState.sent, NotificationState.needs_review) for r in rows) else None

    rows = wait_for(settled, timeout=60, what="every notification to reach a final state")
    assert len(rows) == 6
    per_row = sent_per_row(wechat_sandbox)
    assert {r.id: per_row[r.id] for r in rows} == {r.id: 1 for r in rows}, "each row reached WeChat exactly once"
    # The one in flight when the worker died is flagged for a person to check, never re-sent blindly.
    assert sum(r.state == NotificationState.needs_review for r in rows) <= 1
    assert len(wechat_sandbox.messages()) == 6
