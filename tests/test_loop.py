"""The whole loop through HTTP only, with a real RQ worker process, real Redis and the WeChat sandbox.

A resident scans, signs in and reports; a grid worker promotes it to a topic; the community's secretary is
told on WeChat and approves; the resident hears back at receipt, at triage and at approval.
"""

from __future__ import annotations

import re

import requests
from sqlalchemy import select

from models import Notification, NotificationState, QrCode, Unit
from tests.conftest import wait_for
from web.settings import SANDBOX_APPID
from workers.rendering import template_id

RESIDENT = "o-resident-zhang"
SECRETARY = "demo-secretary-liangtang"


def staff_session(base: str, username: str) -> requests.Session:
    web = requests.Session()
    page = web.get(f"{base}/staff/signin", timeout=10)
    res = web.post(
        f"{base}/staff/signin",
        timeout=10,
        data={"username": username, "password": "xinma-demo", "csrf_token": csrf(page.text)},
    )
    assert res.status_code == 200 and "退出" in res.text, res.text
    return web


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def version(html: str) -> str:
    return re.search(r'name="version" value="([^"]+)"', html).group(1)


def scene_of(db, unit_name: str) -> str:
    unit = db.scalar(select(Unit).where(Unit.name == unit_name))
    return db.scalar(select(QrCode.token).where(QrCode.unit_id == unit.id, QrCode.revoked_at.is_(None)))


def test_the_whole_loop(live_app, workers, wechat_sandbox, db):
    base = live_app.url
    from qr.demo import seed_demo

    seed_demo(db)
    db.commit()
    scene = scene_of(db, "梁堂村第一网格")
    workers.start()

    # The resident's phone: wx.login, allow three notifications, report through the unit's code.
    wechat_sandbox.control("POST", "/_sandbox/users", {"openid": RESIDENT, "nickname": "张阿姨"})
    wechat_sandbox.subscribe(
        RESIDENT, template_id("complaint_received"), template_id("complaint_triaged"), template_id("topic_approved")
    )
    wechat_sandbox.subscribe(SECRETARY, template_id("topic_proposed"))
    login = requests.post(f"{base}/api/v1/sessions", json={"code": wechat_sandbox.login_code(RESIDENT)}, timeout=10)
    token = login.json()["data"]["token"]
    auth = {"Authorization": f"Bearer {token}"}
    res = requests.post(
        f"{base}/api/v1/complaints",
        headers=auth,
        timeout=10,
        json={"scene": scene, "category": "设施维修", "text": "梁堂村3组路灯坏了半个月，晚上出行很不安全"},
    )
    assert res.status_code == 201, res.text
    complaint_id = res.json()["data"]["id"]

    received = wait_for(lambda: wechat_sandbox.messages(openid=RESIDENT), what="the receipt message")
    assert received[0]["template_id"] == template_id("complaint_received")
    assert received[0]["data"]["thing1"] == "设施维修"
    assert received[0]["data"]["thing2"] == "梁堂村第一网格"
    assert received[0]["data"]["phrase3"] == "已受理"
    assert re.fullmatch(r"\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}", received[0]["data"]["time4"])
    assert received[0]["page"].startswith(f"pages/complaint/detail?id={complaint_id}")

    # The grid worker: the content check lets it into the queue; they promote it to a topic.
    worker = staff_session(base, "wangge1")
    queue = wait_for(
        lambda: (lambda page: page if f'data-complaint="{complaint_id}"' in page else None)(
            worker.get(f"{base}/triage/", timeout=10).text
        ),
        what="the complaint in the grid worker's queue",
    )
    assert "路灯坏了半个月" in queue
    page = worker.get(f"{base}/triage/complaints/{complaint_id}", timeout=10).text
    res = worker.post(
        f"{base}/triage/complaints/{complaint_id}/promote",
        timeout=10,
        data={
            "csrf_token": csrf(page),
            "version": version(page),
            "title": "梁堂村3组路灯维修",
            "summary": "居民反映路灯损坏",
            "category": "livelihood",
        },
    )
    assert res.status_code == 200 and "已处理第" in res.text
    assert f'data-complaint="{complaint_id}"' not in res.text

    # The secretary is told on WeChat, opens the topic and approves it.
    told = wait_for(lambda: wechat_sandbox.messages(openid=SECRETARY), what="the secretary's message")
    assert [m["template_id"] for m in told] == [template_id("topic_proposed")]
    assert told[0]["data"]["thing1"] == "梁堂村3组路灯维修"
    assert told[0]["data"]["thing2"] == "梁堂村"
    secretary = staff_session(base, "shuji1")
    home = secretary.get(f"{base}/council/", timeout=10).text
    topic_id = int(re.search(r'data-topic="(\d+)"', home).group(1))
    page = secretary.get(f"{base}/council/topics/{topic_id}", timeout=10).text
    assert "路灯坏了半个月" in page
    res = secretary.post(
        f"{base}/council/topics/{topic_id}/approve",
        timeout=10,
        data={"csrf_token": csrf(page), "version": version(page)},
    )
    assert res.status_code == 200 and "已审定" in res.text

    # The resident heard back three times, in order, and the timeline says the same.
    messages = wait_for(
        lambda: (lambda m: m if len(m) == 3 else None)(wechat_sandbox.messages(openid=RESIDENT)),
        what="three messages to the resident",
    )
    assert [m["template_id"] for m in messages] == [
        template_id("complaint_received"),
        template_id("complaint_triaged"),
        template_id("topic_approved"),
    ]
    assert messages[1]["data"]["phrase2"] == "转为议题"
    assert messages[1]["data"]["thing3"] == "梁堂村3组路灯维修"
    assert messages[2]["data"]["thing1"] == "梁堂村3组路灯维修"
    assert messages[2]["data"]["phrase2"] == "已审定"
    mine = requests.get(f"{base}/api/v1/complaints/{complaint_id}", headers=auth, timeout=10).json()["data"]
    assert mine["state_label"] == "已转为协商议题"
    assert [s["label"] for s in mine["timeline"]] == [
        "您的反映已提交",
        "已受理，等待网格员分拣",
        "已转为协商议题",
        "议题已通过审定",
    ]
    # Every outbox row ended sent, and WeChat got each exactly once. (The grid worker's notice of the new complaint
    # waits half a minute to gather others, and the day's digest depends on the hour: not counted here.)
    db.expire_all()
    rows = db.scalars(select(Notification).where(Notification.event.not_in(("staff_digest",
                                                                             "complaint_new_in_unit")))).all()
    assert len(rows) == 4 and {r.state for r in rows} == {NotificationState.sent}
    assert len(wechat_sandbox.messages(openid=RESIDENT)) + len(wechat_sandbox.messages(openid=SECRETARY)) == 4
    assert SANDBOX_APPID  # the sandbox checked the same appid the app was configured with
