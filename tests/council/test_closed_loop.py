"""A topic from proposal to disclosure through HTTP only, with a real worker process, Redis and the WeChat sandbox.

Staff use the pages (with their CSRF tokens); the resident uses the mini-program API with a Bearer token from
the sandbox's wx.login. Every message WeChat received is checked, and every figure of the statistics page.
"""

from __future__ import annotations

import datetime as dt
import io
import re

import requests
from PIL import Image
from sqlalchemy import select, update

from models import (
    Complaint,
    ComplaintState,
    Meeting,
    Notification,
    NotificationState,
    QrCode,
    Topic,
    TopicState,
    Unit,
    utcnow,
)
from models.council import MeetingDetail
from tests.conftest import wait_for
from wechat.field_rules import value_ok
from workers.queues import make_queue, redis_connection
from workers.rendering import TEMPLATES, template_id

from .support import PASSWORD, china_today, csrf, figures, local_input, version, wechat_time

RESIDENT = "o-resident-closed-loop"
SECRETARY = "demo-secretary-liangtang"
ONE_TIME = [event for event, spec in TEMPLATES.items() if spec["kind"] == "one_time"]


def staff_session(base: str, username: str) -> requests.Session:
    web = requests.Session()
    page = web.get(f"{base}/staff/signin", timeout=10)
    res = web.post(f"{base}/staff/signin", timeout=10,
                   data={"username": username, "password": PASSWORD, "csrf_token": csrf(page.text)})
    assert res.status_code == 200 and "退出" in res.text, res.text[:500]
    return web


def post_form(web: requests.Session, page_url: str, action: str, data: dict, files=None, with_version=True):
    page = web.get(page_url, timeout=10).text
    data = dict(data, csrf_token=csrf(page))
    if with_version and 'name="version"' in page:
        data["version"] = version(page)
    res = web.post(action, data=data, files=files, timeout=10)
    assert res.status_code == 200, res.text[:800]
    return res.text


def words(message: dict) -> dict[str, str]:
    """What a resident reads in a message, its times left out; every field is one WeChat accepts whole."""
    for key, value in message["data"].items():
        assert value_ok(key, value), (message["template_id"], key, value)
    return {key: value for key, value in message["data"].items() if not key.startswith("time")}


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 180, 40)).save(out, "JPEG")
    return out.getvalue()


def test_a_topic_from_proposal_to_disclosure(live_app, workers, wechat_sandbox, db, redis_url):
    from qr.demo import seed_demo

    base = live_app.url
    seed_demo(db)
    db.commit()
    village = db.scalar(select(Unit).where(Unit.name == "梁堂村"))
    grid = db.scalar(select(Unit).where(Unit.name == "梁堂村第一网格"))
    scene = db.scalar(select(QrCode.token).where(QrCode.unit_id == grid.id, QrCode.revoked_at.is_(None)))
    workers.start()

    wechat_sandbox.control("POST", "/_sandbox/users", {"openid": RESIDENT, "nickname": "张阿姨"})
    wechat_sandbox.subscribe(RESIDENT, *[template_id(e) for e in ONE_TIME for _ in range(6)])
    wechat_sandbox.subscribe(SECRETARY, template_id("topic_proposed"))
    token = requests.post(f"{base}/api/v1/sessions", json={"code": wechat_sandbox.login_code(RESIDENT)},
                          timeout=10).json()["data"]["token"]
    auth = {"Authorization": f"Bearer {token}"}

    def resident_messages(count: int) -> list[dict]:
        return wait_for(lambda: (lambda m: m if len(m) >= count else None)(
            wechat_sandbox.messages(openid=RESIDENT)), what=f"{count} messages to the resident")

    # 1. The resident reports; the grid worker promotes it to a topic.
    res = requests.post(f"{base}/api/v1/complaints", headers=auth, timeout=10,
                        json={"scene": scene, "category": "设施维修",
                              "text": "梁堂村3组路灯坏了半个月，晚上出行很不安全"})
    assert res.status_code == 201, res.text
    complaint_id = res.json()["data"]["id"]
    resident_messages(1)
    worker = staff_session(base, "wangge1")
    wait_for(lambda: f'data-complaint="{complaint_id}"' in worker.get(f"{base}/triage/", timeout=10).text,
             what="the complaint in the queue")
    post_form(worker, f"{base}/triage/complaints/{complaint_id}", f"{base}/triage/complaints/{complaint_id}/promote",
              {"title": "梁堂村3组路灯维修", "summary": "居民反映路灯损坏", "category": "livelihood"})
    resident_messages(2)

    # 2. The secretary approves it.
    secretary = staff_session(base, "shuji1")
    home = secretary.get(f"{base}/council/", timeout=10).text
    topic_id = int(re.search(r'data-topic="(\d+)"', home).group(1))
    topic_url = f"{base}/council/topics/{topic_id}"
    page = post_form(secretary, topic_url, f"{topic_url}/approve", {})
    assert "已审定" in page
    resident_messages(3)

    # 3. A meeting of the village's council room, with the topic on its agenda (its resident is invited, and hears
    # of it only so) and people invited.
    starts = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) + dt.timedelta(hours=3)
    res = secretary.post(f"{base}/council/meetings/", timeout=10, data={
        "csrf_token": csrf(secretary.get(f"{base}/council/meetings/", timeout=10).text), "unit_id": village.id,
        "title": "梁堂村19点议事厅", "starts_at": local_input(starts), "place": "梁堂村党群服务中心", "form": "forum"})
    assert res.status_code == 200, res.text[:500]
    meeting_url = res.url
    meeting_id = int(meeting_url.rsplit("/", 1)[1])
    post_form(secretary, meeting_url, f"{meeting_url}/agenda", {"topic_id": topic_id})
    post_form(secretary, meeting_url, f"{meeting_url}/participants", {"role": "representative", "name": "张大爷"})
    post_form(secretary, meeting_url, f"{meeting_url}/participants", {"role": "legal_adviser", "name": "李律师"})
    post_form(secretary, meeting_url, f"{meeting_url}/participants", {"role": "department", "name": "镇城建办"})
    resident_messages(4)

    # 4. The resident sees the meeting and registers; a reminder goes out before it.
    shown = requests.get(f"{base}/api/v1/meetings/{meeting_id}", headers=auth, timeout=10).json()["data"]
    assert shown["title"] == "梁堂村19点议事厅" and shown["topics"][0]["title"] == "梁堂村3组路灯维修"
    res = requests.post(f"{base}/api/v1/meetings/{meeting_id}/registrations", headers=auth, json={}, timeout=10)
    assert res.status_code == 201, res.text
    resident_messages(5)
    queue = make_queue(redis_connection(redis_url))
    queue.enqueue("workers.council_jobs.remind_meetings", 24)
    resident_messages(6)

    # 5. The meeting is held (once its time has come): attendance, minutes, consensus with the agreed solution.
    db.execute(update(Meeting).where(Meeting.id == meeting_id).values(starts_at=utcnow() - dt.timedelta(minutes=5)))
    db.commit()
    page = secretary.get(meeting_url, timeout=10).text
    participant_ids = re.findall(r'name="participant" value="(\d+)"', page)
    registration_ids = re.findall(r'name="registration" value="(\d+)"', page)
    res = secretary.post(f"{meeting_url}/record", timeout=10, data={
        "csrf_token": csrf(page), "participant": participant_ids[:2], "registration": registration_ids,
        f"result_{topic_id}": "consensus", f"solution_{topic_id}": "由村委会联系供电所更换3组6盏路灯，两周内完成",
        "minutes": "出席议事代表、法律顾问和报名居民。议定：更换路灯，村委会牵头。"})
    assert res.status_code == 200 and "已召开" in res.text
    assert "由村委会联系供电所更换3组6盏路灯" in res.text and "居民报名：1 人，出席 1 人" in res.text
    resident_messages(7)

    # 6. The decision is published; 领办 is assigned; progress up to 100 %.
    post_form(secretary, topic_url, f"{topic_url}/publications",
              {"kind": "decision", "text": "议定更换梁堂村3组6盏路灯，由村委会牵头。", "published_on": china_today()})
    resident_messages(8)
    post_form(secretary, topic_url, f"{topic_url}/assignment",
              {"lead_kind": "secretary", "lead_name": "王书记", "due_on": china_today(14)})
    resident_messages(9)
    post_form(secretary, topic_url, f"{topic_url}/progress", {"percent": "50", "note": "已联系供电所"})
    page = post_form(secretary, topic_url, f"{topic_url}/progress", {"percent": "100", "note": "6盏路灯已更换"},
                     files={"photos": ("light.jpg", jpeg(), "image/jpeg")})
    assert "1 张照片" in page
    resident_messages(10)

    # 7. Follow-up: 不满意 reopens it; after more work, 满意 closes it, and its complaint with it.
    mine = requests.get(f"{base}/api/v1/topics/{topic_id}", headers=auth, timeout=10).json()["data"]
    assert mine["can_rate"] is True and mine["state_label"] == "已落实" and mine["assignment"]["percent"] == 100
    res = requests.post(f"{base}/api/v1/topics/{topic_id}/ratings", headers=auth, timeout=10,
                        json={"level": "unsatisfied", "reason": "还有一盏灯不亮"})
    assert res.status_code == 201 and res.json()["data"]["topic"]["state"] == "implementing"
    resident_messages(11)
    post_form(secretary, topic_url, f"{topic_url}/progress", {"percent": "100", "note": "最后一盏已修好"})
    resident_messages(12)
    res = requests.post(f"{base}/api/v1/topics/{topic_id}/ratings", headers=auth, timeout=10,
                        json={"level": "satisfied"})
    assert res.status_code == 201 and res.json()["data"]["topic"]["state"] == "closed"
    resident_messages(13)

    # 8. The result is published; the board shows both.
    post_form(secretary, topic_url, f"{topic_url}/publications",
              {"kind": "result", "text": "6盏路灯全部修复，居民回访满意。", "published_on": china_today()})
    messages = resident_messages(14)
    board = requests.get(f"{base}/api/v1/boards/{scene}", headers=auth, timeout=10).json()["data"]
    assert board["unit"] == "铜山区·张集镇·梁堂村"
    assert [(p["kind_label"], p["topic"]) for p in board["publications"]] == [
        ("结果公开", "梁堂村3组路灯维修"), ("决策公开", "梁堂村3组路灯维修")]

    # Every message the resident received, in order, with its fields.
    assert [m["template_id"] for m in messages] == [template_id(e) for e in [
        "complaint_received", "complaint_triaged", "topic_approved", "meeting_invitation", "meeting_registered",
        "meeting_reminder", "topic_progress", "topic_published", "topic_progress", "rating_requested",
        "topic_progress", "rating_requested", "topic_progress", "topic_published"]]
    title = "梁堂村3组路灯维修"

    def topic_news(phrase: str) -> dict[str, str]:
        return {"thing1": title, "phrase2": phrase}

    meeting = {"thing1": "梁堂村19点议事厅", "thing3": "梁堂村党群服务中心"}
    rating = {"thing1": title, "phrase2": "已落实", "thing3": "请对办理结果作出评价"}
    assert [words(m) for m in messages] == [
        {"thing1": "设施维修", "thing2": "梁堂村第一网格", "phrase3": "已受理"},
        {"thing1": "设施维修", "phrase2": "转为议题", "thing3": title},
        {"thing1": title, "phrase2": "已审定", "thing3": "将安排议事会协商"},
        meeting, meeting, meeting, topic_news("达成共识"), topic_news("决策公开"),
        topic_news("正在落实"), rating, topic_news("重新落实"), rating, topic_news("已办结"), topic_news("结果公开"),
    ]
    assert {m["data"]["time2"] for m in messages[3:6]} == {wechat_time(starts)}
    pages = [m["page"].split("&")[0] for m in messages]
    assert pages[:2] == [f"pages/complaint/detail?id={complaint_id}"] * 2  # then each opens the page it is about
    assert pages[2:] == [f"pages/topic/detail?id={topic_id}"] + [f"pages/meeting/detail?id={meeting_id}"] * 3 + [
        f"pages/topic/detail?id={topic_id}"] * 8
    told = wechat_sandbox.messages(openid=SECRETARY)
    assert [m["template_id"] for m in told] == [template_id("topic_proposed")]
    assert len(wechat_sandbox.messages()) == 15

    db.expire_all()
    assert db.get(Topic, topic_id).state == TopicState.closed
    assert db.get(Complaint, complaint_id).state == ComplaintState.closed
    assert db.get(MeetingDetail, meeting_id).held_at is not None
    # Besides these, the grid workers hear of the new complaint (at once or in the day's digest).
    rows = db.scalars(select(Notification).where(
        Notification.event.not_in(("staff_digest", "complaint_new_in_unit")))).all()
    assert len(rows) == 15 and {r.state for r in rows} == {NotificationState.sent}

    # The statistics page for the village shows the same story.
    stats = secretary.get(f"{base}/council/stats", params={"unit": village.id}, timeout=10).text
    shown = figures(stats)
    assert shown == {
        "协商议事室（个）": "1", "召开议事会（次）": "1", "收到诉求（件）": "1", "已答复诉求（件）": "1",
        "答复率（%）": "100.0", "首次答复用时中位数（小时）": "0.0", "办结用时中位数（小时）": "0.0",
        "通过心码解决问题（件）": "1", "协商议题（个）": "1", "达成共识（个）": "1", "落实见效（个）": "1",
        "正在推进（个）": "0", "回访评价（次）": "2", "满意率（%）": "50.0", "分拣结果·转为协商议题": "1",
        "回访·满意": "1", "回访·基本满意": "0", "回访·不满意": "1",
    }
    assert "<svg" in stats and "铜山区·张集镇·梁堂村 及下辖单位" in stats


def test_each_triage_decision_reaches_its_resident_once_in_whole_words(live_app, workers, wechat_sandbox, db):
    """Seven residents report; the grid worker decides each one differently through the pages; each resident
    reads what became of their complaint, in words WeChat accepts, once."""
    from qr.demo import seed_demo

    base = live_app.url
    seed_demo(db)
    db.commit()
    grid = db.scalar(select(Unit).where(Unit.name == "梁堂村第一网格"))
    scene = db.scalar(select(QrCode.token).where(QrCode.unit_id == grid.id, QrCode.revoked_at.is_(None)))
    workers.start()
    wechat_sandbox.subscribe(SECRETARY, template_id("topic_proposed"))
    decisions = ["decline", "solve", "promote", "join", "merge", "escalate", "visit"]
    complaint_of: dict[str, int] = {}
    for n, name in enumerate(decisions):
        openid = f"o-resident-{name}"
        wechat_sandbox.control("POST", "/_sandbox/users", {"openid": openid, "nickname": f"居民{n}"})
        wechat_sandbox.subscribe(openid, template_id("complaint_received"), template_id("complaint_triaged"))
        token = requests.post(f"{base}/api/v1/sessions", json={"code": wechat_sandbox.login_code(openid)},
                              timeout=10).json()["data"]["token"]
        res = requests.post(f"{base}/api/v1/complaints", headers={"Authorization": f"Bearer {token}"}, timeout=10,
                            json={"scene": scene, "category": "设施维修", "text": f"梁堂村3组路灯坏了（{name}）"})
        assert res.status_code == 201, res.text
        complaint_of[name] = res.json()["data"]["id"]
    worker = staff_session(base, "wangge1")
    wait_for(lambda: all(f'data-complaint="{i}"' in worker.get(f"{base}/triage/", timeout=10).text
                         for i in complaint_of.values()), what="the complaints in the queue")

    def decide(name: str, action: str, data: dict) -> None:
        url = f"{base}/triage/complaints/{complaint_of[name]}"
        post_form(worker, url, f"{url}/{action}", data)

    reply = "经了解属于两户之间的个人纠纷，建议先申请人民调解，调解不成可拨打12345反映。"
    decide("decline", "decline", {"reason_code": "individual_dispute", "reply": reply})
    decide("solve", "solve", {"note": "已联系村电工当天更换灯泡，夜间照明恢复正常。"})
    decide("promote", "promote", {"title": "梁堂村3组路灯维修", "summary": "多户反映", "category": "livelihood"})
    topic_id = db.scalar(select(Complaint.topic_id).where(Complaint.id == complaint_of["promote"]))
    decide("join", "promote", {"topic_id": topic_id})
    decide("merge", "merge", {"target_id": complaint_of["promote"]})
    decide("escalate", "escalate", {"reason": "涉及全村线路改造，需村里统筹安排资金"})
    decide("visit", "visit", {"notes": "上门查看，灯杆倾斜需要专业人员处理，已约定下周再来。"})

    expected = {
        "decline": ("不予协商", "个体矛盾"),
        "solve": ("已解决", "请查看回复"),
        "promote": ("转为议题", "梁堂村3组路灯维修"),
        "join": ("并入议题", "梁堂村3组路灯维修"),
        "merge": ("已合并", f"与第{complaint_of['promote']}号反映合并办理"),
        "escalate": ("已上报", "转梁堂村办理"),
        "visit": ("已上门", "网格员已上门协商"),
    }
    total = len(decisions) * 2 + 1  # each resident twice, and the secretary hears of the new topic
    wait_for(lambda: len(wechat_sandbox.messages()) >= total, what=f"{total} messages")
    for name, (result, detail) in expected.items():
        got = wechat_sandbox.messages(openid=f"o-resident-{name}")
        assert [m["template_id"] for m in got] == [template_id("complaint_received"),
                                                  template_id("complaint_triaged")], name
        assert words(got[1]) == {"thing1": "设施维修", "phrase2": result, "thing3": detail}, name
        assert got[1]["page"].startswith(f"pages/complaint/detail?id={complaint_of[name]}&")
    mine = db.get(Complaint, complaint_of["solve"])
    assert mine.reply == "已联系村电工当天更换灯泡，夜间照明恢复正常。"  # the page shows it; the message points there
    db.expire_all()
    # The grid worker's notice of the new complaints gathers them for half a minute: one row naming all seven.
    gathered = db.scalars(select(Notification).where(Notification.event == "complaint_new_in_unit")).all()
    assert [(r.recipient_kind, r.params["count"]) for r in gathered] == [("staff", str(len(decisions)))]
    rows = db.scalars(select(Notification).where(Notification.event.not_in(("staff_digest",
                                                                             "complaint_new_in_unit")))).all()
    assert len(rows) == total and {r.state for r in rows} == {NotificationState.sent}
    assert len([m for m in wechat_sandbox.messages() if m["template_id"] != template_id("complaint_new_in_unit")]) \
        == total
