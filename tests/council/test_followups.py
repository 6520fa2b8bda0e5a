"""回访 of every finished matter: complaints solved in the grid or declined are rated by their resident (不满意 on a
solved one sends it back to the grid worker); a staff visit's rating stands beside the resident's own, never for it.
The end-to-end walks run a real worker against the WeChat sandbox, as test_closed_loop does."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import requests
from sqlalchemy import select

from models import (
    AuditEvent,
    Complaint,
    ComplaintState,
    Meeting,
    Notification,
    QrCode,
    Staff,
    Topic,
    TopicState,
    Unit,
    utcnow,
)
from models.council import ComplaintRating, Rating
from tests import factories
from tests.conftest import wait_for
from workers.rendering import TEMPLATES, template_id

from .support import china_today, csrf, local_input, version
from .test_closed_loop import post_form, staff_session, words
from .test_council import implemented, refused_api, resident_row, resident_token, sign_in, topic_behind, unit


@pytest.fixture
def session(app, demo):
    with app.extensions["xinma.sessionmaker"]() as s:
        yield s


def _triage(client, complaint_id: int, action: str, data: dict):
    page = client.get(f"/triage/complaints/{complaint_id}").get_data(as_text=True)
    res = client.post(f"/triage/complaints/{complaint_id}/{action}",
                      data=dict(data, csrf_token=csrf(page), version=version(page)))
    assert res.status_code == 302, res.get_data(as_text=True)[:500]


def test_a_complaint_solved_in_the_grid_is_rated_and_unsatisfied_goes_back_to_the_worker(client, session,
                                                                                          wechat_sandbox):
    token = resident_token(client, wechat_sandbox, "o-alice")
    auth = {"Authorization": f"Bearer {token}"}
    alice = resident_row(session, "o-alice")
    grid = unit(session, "梁堂村第一网格")
    mine = factories.complaint(session, grid, alice)
    session.commit()
    url = f"/api/v1/complaints/{mine.id}/ratings"
    refused_api(client.post(url, json={"level": "satisfied"}, headers=auth), 409, "complaint_rating_not_open",
                "这条反映还没有答复，或这次答复您已经评价过了。")
    sign_in(client, "wangge1")
    _triage(client, mine.id, "solve", {"note": "已更换灯泡"})
    assert client.get(url, headers=auth).json["data"] == {"complaint_id": mine.id, "state": "solved",
                                                         "can_rate": True, "my_ratings": []}
    refused_api(client.post(url, json={"level": "great"}, headers=auth), 400, "rating_unknown",
                "请选择满意、基本满意或不满意。")
    refused_api(client.post(url, json={"level": "satisfied", "stars": 5}, headers=auth), 400, "unknown_field",
                "包含不允许的字段：stars。")
    assert session.scalar(select(ComplaintRating.id)) is None

    res = client.post(url, json={"level": "unsatisfied", "reason": "换了还是不亮"}, headers=auth)
    assert res.status_code == 201, res.json
    assert res.json["data"]["complaint"]["state"] == "awaiting_triage"
    session.expire_all()
    assert session.get(Complaint, mine.id).state == ComplaintState.awaiting_triage
    event = session.scalars(select(AuditEvent).where(AuditEvent.subject_id == mine.id,
                                                     AuditEvent.subject_kind == "complaint")
                            .order_by(AuditEvent.id.desc())).first()
    assert (event.action, event.from_state, event.actor_kind, event.reason) == (
        "reopen", "solved", "resident", "换了还是不亮")
    assert f'data-complaint="{mine.id}"' in client.get("/triage/").get_data(as_text=True)
    told = session.scalars(select(Notification).where(Notification.recipient_kind == "resident")
                           .order_by(Notification.id)).all()
    assert [(n.event, n.params["action"]) for n in told] == [("complaint_triaged", "solve"),
                                                             ("complaint_triaged", "reopen")]
    worker = session.scalar(select(Staff).where(Staff.username == "wangge1"))
    assert session.scalar(select(Notification.id).where(Notification.recipient_kind == "staff",
                                                        Notification.recipient_id == worker.id)) is not None

    _triage(client, mine.id, "solve", {"note": "更换了整套灯具"})
    res = client.post(url, json={"level": "satisfied"}, headers=auth)
    assert res.status_code == 201 and res.json["data"]["round"] == 2
    assert res.json["data"]["complaint"]["can_rate"] is False
    assert [(r["round"], r["label"]) for r in res.json["data"]["complaint"]["my_ratings"]] == [
        (1, "不满意"), (2, "满意")]
    refused_api(client.post(url, json={"level": "basic"}, headers=auth), 409, "complaint_rating_not_open",
                "这条反映还没有答复，或这次答复您已经评价过了。")
    session.expire_all()
    assert session.get(Complaint, mine.id).state == ComplaintState.solved


def test_a_declined_complaint_is_rated_and_stays_answered(client, session, wechat_sandbox):
    token = resident_token(client, wechat_sandbox, "o-bob")
    auth = {"Authorization": f"Bearer {token}"}
    bob = resident_row(session, "o-bob")
    theirs = factories.complaint(session, unit(session, "梁堂村第一网格"), factories.resident(session))
    mine = factories.complaint(session, unit(session, "梁堂村第一网格"), bob)
    session.commit()
    sign_in(client, "wangge1")
    _triage(client, mine.id, "decline", {"reason_code": "individual_dispute", "reply": "建议申请人民调解"})
    refused_api(client.get(f"/api/v1/complaints/{theirs.id}/ratings", headers=auth), 404, "complaint_not_found",
                "未找到这条反映。")
    res = client.post(f"/api/v1/complaints/{mine.id}/ratings", json={"level": "unsatisfied"}, headers=auth)
    assert res.status_code == 201 and res.json["data"]["complaint"]["state"] == "not_deliberable"
    session.expire_all()
    assert session.get(Complaint, mine.id).state == ComplaintState.not_deliberable


def test_a_visit_rating_stands_beside_the_residents_own(client, session, wechat_sandbox):
    token = resident_token(client, wechat_sandbox, "o-carol")
    auth = {"Authorization": f"Bearer {token}"}
    carol = resident_row(session, "o-carol")
    topic = implemented(session, carol)
    sign_in(client, "shuji1")
    url = f"/council/topics/{topic.id}"
    page = client.get(url).get_data(as_text=True)
    level = re.search(r'<select id="visit-level" name="level">(.*?)</select>', page).group(1)
    assert level.startswith('<option value="">请选择</option>')  # no rating chosen for the secretary
    res = client.post(f"{url}/visit-rating", data={"csrf_token": csrf(page), "resident_id": carol.id, "level": ""})
    assert res.status_code == 400
    res = client.post(f"{url}/visit-rating", data={"csrf_token": csrf(page), "resident_id": carol.id,
                                                   "level": "basic", "reason": "上门看过，基本修好"})
    assert res.status_code == 302
    shown = client.get(f"/api/v1/topics/{topic.id}", headers=auth).json["data"]
    assert shown["can_rate"] is True and shown["my_ratings"] == []
    res = client.post(f"/api/v1/topics/{topic.id}/ratings", json={"level": "satisfied"}, headers=auth)
    assert res.status_code == 201, res.json
    assert res.json["data"]["topic"]["state"] == "closed"
    assert [r["label"] for r in res.json["data"]["topic"]["my_ratings"]] == ["满意"]
    session.expire_all()
    staff_id = session.scalar(select(Staff.id).where(Staff.username == "shuji1"))
    assert sorted((r.source, r.staff_id, r.level.value) for r in session.scalars(select(Rating))) == [
        ("resident", None, "satisfied"), ("visit", staff_id, "basic")]


def test_the_followup_answers_match_the_api_document(client, session, wechat_sandbox):
    import schemathesis

    from intake.openapi import openapi_document

    contract = schemathesis.openapi.from_dict(openapi_document())
    auth = {"Authorization": f"Bearer {resident_token(client, wechat_sandbox, 'o-contract')}"}
    who = resident_row(session, "o-contract")
    mine = factories.complaint(session, unit(session, "梁堂村第一网格"), who)
    closed = topic_behind(session, "梁堂村", who, TopicState.no_consensus)
    session.commit()
    sign_in(client, "wangge1")
    _triage(client, mine.id, "solve", {"note": "已处理"})
    sign_in(client, "shuji1")
    page = client.get(f"/council/topics/{closed.id}").get_data(as_text=True)
    assert client.post(f"/council/topics/{closed.id}/close",
                       data={"csrf_token": csrf(page), "reason": "暂不实施"}).status_code == 302
    path = "/complaints/{complaint_id}/ratings"
    answers = [
        (path, "GET", client.get(f"/api/v1/complaints/{mine.id}/ratings", headers=auth), 200),
        (path, "POST", client.post(f"/api/v1/complaints/{mine.id}/ratings", json={"level": "basic", "reason": None},
                                   headers=auth), 201),
        (path, "POST", client.post(f"/api/v1/complaints/{mine.id}/ratings", json={"level": "basic"}, headers=auth),
         409),
        ("/topics/{topic_id}", "GET", client.get(f"/api/v1/topics/{closed.id}", headers=auth), 200),
    ]
    for path, method, response, status in answers:
        assert response.status_code == status, (path, response.json)
        contract[path][method].validate_response(response)
    assert answers[-1][2].json["data"]["reply"] == "暂不实施"


# --- end to end: a real worker and the WeChat sandbox ---------------------------------------------------------

ONE_TIME = [event for event, spec in TEMPLATES.items() if spec["kind"] == "one_time"]


def _resident(base: str, sandbox, openid: str) -> dict:
    sandbox.control("POST", "/_sandbox/users", {"openid": openid, "nickname": openid})
    sandbox.subscribe(openid, *[template_id(e) for e in ONE_TIME for _ in range(4)])
    token = requests.post(f"{base}/api/v1/sessions", json={"code": sandbox.login_code(openid)},
                          timeout=10).json()["data"]["token"]
    return {"Authorization": f"Bearer {token}"}


def _report(base: str, auth: dict, scene: str, text: str) -> int:
    res = requests.post(f"{base}/api/v1/complaints", headers=auth, timeout=10,
                        json={"scene": scene, "category": "设施维修", "text": text})
    assert res.status_code == 201, res.text
    return res.json()["data"]["id"]


def _inbox(sandbox, openid: str, count: int) -> list[dict]:
    got = wait_for(lambda: (lambda m: m if len(m) >= count else None)(sandbox.messages(openid=openid)),
                   what=f"{count} messages to {openid}")
    return got


def _pages(messages: list[dict]) -> list[str]:
    return [m["page"].split("&")[0] for m in messages]


@pytest.fixture
def stack(live_app, workers, wechat_sandbox, db):
    from qr.demo import seed_demo

    seed_demo(db)
    db.commit()
    grid = db.scalar(select(Unit).where(Unit.name == "梁堂村第一网格"))
    scene = db.scalar(select(QrCode.token).where(QrCode.unit_id == grid.id, QrCode.revoked_at.is_(None)))
    workers.start()
    wechat_sandbox.control("POST", "/_sandbox/app_pages", {"pages": [
        "pages/report/index", "pages/complaint/detail", "pages/topic/detail", "pages/meeting/detail",
        "pages/staff/index"]})
    return live_app.url, scene


def test_solved_in_the_grid_and_declined_each_get_their_followup(stack, wechat_sandbox, db):
    base, scene = stack
    alice, bob = _resident(base, wechat_sandbox, "o-solved"), _resident(base, wechat_sandbox, "o-declined")
    solved = _report(base, alice, scene, "3组路灯不亮")
    declined = _report(base, bob, scene, "邻居家狗夜里叫")
    worker = staff_session(base, "wangge1")
    wait_for(lambda: all(f'data-complaint="{i}"' in worker.get(f"{base}/triage/", timeout=10).text
                         for i in (solved, declined)), what="both in the queue")

    def decide(complaint_id: int, action: str, data: dict) -> None:
        url = f"{base}/triage/complaints/{complaint_id}"
        post_form(worker, url, f"{url}/{action}", data)

    decide(solved, "solve", {"note": "已换灯泡"})
    decide(declined, "decline", {"reason_code": "individual_dispute", "reply": "建议申请人民调解"})
    _inbox(wechat_sandbox, "o-solved", 2)
    _inbox(wechat_sandbox, "o-declined", 2)

    # 不满意 sends the solved one back to the grid worker; solved again, 满意 ends it
    res = requests.post(f"{base}/api/v1/complaints/{solved}/ratings", headers=alice, timeout=10,
                        json={"level": "unsatisfied", "reason": "晚上还是不亮"})
    assert res.status_code == 201 and res.json()["data"]["complaint"]["state"] == "awaiting_triage", res.text
    _inbox(wechat_sandbox, "o-solved", 3)
    assert f'data-complaint="{solved}"' in worker.get(f"{base}/triage/", timeout=10).text
    decide(solved, "solve", {"note": "更换了整套灯具"})
    got = _inbox(wechat_sandbox, "o-solved", 4)
    res = requests.post(f"{base}/api/v1/complaints/{solved}/ratings", headers=alice, timeout=10,
                        json={"level": "satisfied"})
    assert res.status_code == 201 and res.json()["data"]["complaint"]["state"] == "solved"
    res = requests.post(f"{base}/api/v1/complaints/{declined}/ratings", headers=bob, timeout=10,
                        json={"level": "basic", "reason": "理解，但希望村里帮忙调解"})
    assert res.status_code == 201 and res.json()["data"]["complaint"]["can_rate"] is False

    assert [words(m) for m in got] == [
        {"thing1": "设施维修", "thing2": "梁堂村第一网格", "phrase3": "已受理"},
        {"thing1": "设施维修", "phrase2": "已解决", "thing3": "请查看回复"},
        {"thing1": "设施维修", "phrase2": "重新分拣", "thing3": "网格员将重新分拣"},
        {"thing1": "设施维修", "phrase2": "已解决", "thing3": "请查看回复"}]
    assert _pages(got) == [f"pages/complaint/detail?id={solved}"] * 4
    got = wechat_sandbox.messages(openid="o-declined")
    assert [words(m)["phrase2"] for m in got[1:]] == ["不予协商"] and len(got) == 2
    assert _pages(got) == [f"pages/complaint/detail?id={declined}"] * 2
    db.expire_all()
    assert [(r.round, r.level.value) for r in db.scalars(select(ComplaintRating).where(
        ComplaintRating.complaint_id == solved).order_by(ComplaintRating.id))] == [(1, "unsatisfied"), (2, "satisfied")]


def test_referred_without_consensus_and_rejected_topics_each_reach_their_residents(stack, wechat_sandbox, db):
    """Three residents' complaints become three topics: one referred to the 居民会议 (resolution, then 领办), one
    without consensus (closed with a reply), one rejected (its complaint answered with the reason)."""
    base, scene = stack
    people = {name: _resident(base, wechat_sandbox, f"o-{name}") for name in ("referred", "stuck", "rejected")}
    complaints = {name: _report(base, auth, scene, f"反映（{name}）") for name, auth in people.items()}
    worker = staff_session(base, "wangge1")
    wait_for(lambda: all(f'data-complaint="{i}"' in worker.get(f"{base}/triage/", timeout=10).text
                         for i in complaints.values()), what="the complaints in the queue")
    titles = {"referred": "3组修建文化广场", "stuck": "村口停车收费", "rejected": "两户宅基地纠纷"}
    for name, complaint_id in complaints.items():
        url = f"{base}/triage/complaints/{complaint_id}"
        post_form(worker, url, f"{url}/promote", {"title": titles[name], "category": "livelihood"})
    topic_of = {name: db.scalar(select(Complaint.topic_id).where(Complaint.id == cid))
                for name, cid in complaints.items()}
    secretary = staff_session(base, "shuji1")
    topic_url = {name: f"{base}/council/topics/{tid}" for name, tid in topic_of.items()}
    reply = "属于两户之间的纠纷，不属于村务，请申请人民调解"
    post_form(secretary, topic_url["rejected"], f"{topic_url['rejected']}/reject",
              {"reason": reply, "complaints": "answer"})
    for name in ("referred", "stuck"):
        post_form(secretary, topic_url[name], f"{topic_url[name]}/approve", {})

    village = db.scalar(select(Unit).where(Unit.name == "梁堂村"))
    starts = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) + dt.timedelta(hours=3)
    res = secretary.post(f"{base}/council/meetings/", timeout=10, data={
        "csrf_token": csrf(secretary.get(f"{base}/council/meetings/", timeout=10).text), "unit_id": village.id,
        "title": "梁堂村议事会", "starts_at": local_input(starts), "place": "村部", "form": "forum"})
    meeting_url = res.url
    meeting_id = int(meeting_url.rsplit("/", 1)[1])
    for name in ("referred", "stuck"):
        post_form(secretary, meeting_url, f"{meeting_url}/agenda", {"topic_id": topic_of[name]})
    db.execute(Meeting.__table__.update().where(Meeting.id == meeting_id)
               .values(starts_at=utcnow() - dt.timedelta(minutes=5)))
    db.commit()
    page = secretary.get(meeting_url, timeout=10).text
    res = secretary.post(f"{meeting_url}/record", timeout=10, data={
        "csrf_token": csrf(page), f"result_{topic_of['referred']}": "referred",
        f"result_{topic_of['stuck']}": "no_consensus", "minutes": "文化广场涉及全村，提交居民会议；停车收费分歧大。"})
    assert res.status_code == 200 and "已召开" in res.text

    post_form(secretary, topic_url["referred"], f"{topic_url['referred']}/resolution",
              {"result": "agree", "text": "居民会议通过：利用3组空地修建文化广场", "held_on": china_today()})
    post_form(secretary, topic_url["referred"], f"{topic_url['referred']}/assignment",
              {"lead_kind": "secretary", "lead_name": "王书记", "due_on": china_today(30)})
    post_form(secretary, topic_url["stuck"], f"{topic_url['stuck']}/close",
              {"reason": "分歧较大暂不收费，明年结合道路改造再议"})

    topic_news = {"referred": ["达成共识", "正在落实"], "stuck": ["未达共识", "已办结"]}
    for name in ("referred", "stuck"):
        # received, promoted, approved, invited, the meeting's outcome, then what came of it
        got = _inbox(wechat_sandbox, f"o-{name}", 6 + (name == "referred"))
        assert [m["template_id"] for m in got] == [template_id(e) for e in (
            "complaint_received", "complaint_triaged", "topic_approved", "meeting_invitation", "topic_progress",
            "topic_progress", *(["topic_progress"] if name == "referred" else []))], name
        assert [words(m)["phrase2"] for m in got[4:]] == (
            ["转居民会议", *topic_news[name]] if name == "referred" else topic_news[name]), name
        assert _pages(got) == [f"pages/complaint/detail?id={complaints[name]}"] * 2 + [
            f"pages/topic/detail?id={topic_of[name]}", f"pages/meeting/detail?id={meeting_id}"] + [
            f"pages/topic/detail?id={topic_of[name]}"] * (len(got) - 4), name
    got = _inbox(wechat_sandbox, "o-rejected", 3)
    assert [words(m) for m in got[1:]] == [{"thing1": "设施维修", "phrase2": "转为议题", "thing3": titles["rejected"]},
                                           {"thing1": "设施维修", "phrase2": "不予协商", "thing3": "请查看答复"}]
    assert _pages(got) == [f"pages/complaint/detail?id={complaints['rejected']}"] * 3

    auth = people["stuck"]
    shown = requests.get(f"{base}/api/v1/topics/{topic_of['stuck']}", headers=auth, timeout=10).json()["data"]
    assert shown["state"] == "closed" and shown["reply"] == "分歧较大暂不收费，明年结合道路改造再议"
    shown = requests.get(f"{base}/api/v1/topics/{topic_of['referred']}", headers=people["referred"],
                         timeout=10).json()["data"]
    assert shown["state"] == "implementing" and shown["solution"] == "居民会议通过：利用3组空地修建文化广场"
    db.expire_all()
    answered = db.get(Complaint, complaints["rejected"])
    assert (answered.state, answered.reply) == (ComplaintState.not_deliberable, reply)
    assert db.get(Topic, topic_of["rejected"]).state == TopicState.rejected
    # each message once: nothing more than the walk above arrives
    assert len(wechat_sandbox.messages(openid="o-referred")) == 7
    assert len(wechat_sandbox.messages(openid="o-stuck")) == 6
    assert len(wechat_sandbox.messages(openid="o-rejected")) == 3
