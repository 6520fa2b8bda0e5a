"""Meetings as residents meet them: invitations, open meetings with a capacity, cancel and reschedule with notices,
minutes only after the start, and the resident API (my topics, my meetings) with China-time offsets."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, update

from models import Complaint, ComplaintState, Meeting, Notification, QrCode, TopicState, Unit, utcnow
from models.council import MeetingDetail, MeetingInvitation, MeetingRegistration
from tests import factories
from workers.rendering import render

from .support import CHINA, local_input, wechat_time
from .test_council import (
    form_post,
    refused_api,
    refused_page,
    resident_row,
    resident_token,
    sign_in,
    snapshot,
    topic_behind,
    unit,
)
from .test_council import session as session  # noqa: F401 - the fixture


def schedule(client, session, *, is_open=False, capacity="", starts=None, unit_name="梁堂村") -> int:
    data = {"unit_id": unit(session, unit_name).id, "title": "梁堂村19点议事厅", "place": "村部二楼",
            "form": "forum", "starts_at": local_input(starts or utcnow() + dt.timedelta(days=1)), "capacity": capacity}
    if is_open:
        data["is_open"] = "1"
    res = form_post(client, "/council/meetings/", "/council/meetings/", data)
    assert res.status_code == 302, res.get_data(as_text=True)[:300]
    return int(res.headers["Location"].rsplit("/", 1)[1])


def agenda(client, meeting_id: int, topic_id: int) -> None:
    url = f"/council/meetings/{meeting_id}"
    assert form_post(client, url, f"{url}/agenda", {"topic_id": topic_id}).status_code == 302


def started(session, meeting_id: int, ago: dt.timedelta = dt.timedelta(minutes=5)) -> None:
    """The meeting's time comes (its start is moved to just before now)."""
    session.execute(update(Meeting).where(Meeting.id == meeting_id).values(starts_at=utcnow() - ago))
    session.commit()


def sent(session, event: str) -> list[tuple[int, dict]]:
    session.expire_all()
    return [(n.recipient_id, n.params) for n in session.scalars(
        select(Notification).where(Notification.event == event).order_by(Notification.id))]


def scene_of(session, unit_name: str) -> str:
    return session.scalar(select(QrCode.token).join(Unit).where(Unit.name == unit_name, QrCode.revoked_at.is_(None)))


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_each_resident_behind_the_agenda_is_invited_once(client, session, wechat_sandbox):
    resident_token(client, wechat_sandbox, "o-both")
    resident_token(client, wechat_sandbox, "o-one")
    both, one = resident_row(session, "o-both"), resident_row(session, "o-one")
    lights = topic_behind(session, "梁堂村", both, TopicState.approved, title="路灯维修")
    drains = topic_behind(session, "梁堂村", both, TopicState.approved, title="下水道疏通")
    grid = session.scalar(select(Unit).where(Unit.name == "梁堂村第一网格"))
    factories.complaint(session, grid, one, state=ComplaintState.promoted, topic=drains)
    factories.complaint(session, grid, one, state=ComplaintState.promoted, topic=drains)  # twice: still one
    session.commit()
    sign_in(client, "shuji1")
    meeting_id = schedule(client, session)
    agenda(client, meeting_id, lights.id)
    agenda(client, meeting_id, drains.id)
    invitations = sent(session, "meeting_invitation")
    assert sorted(r for r, _ in invitations) == sorted([both.id, one.id])
    assert {p["meeting_id"] for _, p in invitations} == {meeting_id}
    assert all(p["meeting_title"] == "梁堂村19点议事厅" and p["place"] == "村部二楼" for _, p in invitations)
    assert session.scalar(select(func.count()).select_from(MeetingInvitation)) == 2
    _, words, page = render("meeting_invitation", invitations[0][1])
    assert page == f"pages/meeting/detail?id={meeting_id}"
    assert words["thing1"] == "梁堂村19点议事厅" and words["thing3"] == "村部二楼"


def test_my_topics_and_my_meetings_name_each_other_in_china_time(client, session, wechat_sandbox):
    token = resident_token(client, wechat_sandbox, "o-mine")
    other = resident_token(client, wechat_sandbox, "o-not-mine")
    topic = topic_behind(session, "梁堂村", resident_row(session, "o-mine"), TopicState.approved)
    session.commit()
    sign_in(client, "shuji1")
    starts = (utcnow() + dt.timedelta(days=3)).replace(second=0, microsecond=0)
    meeting_id = schedule(client, session, starts=starts)
    agenda(client, meeting_id, topic.id)

    topics = client.get("/api/v1/my/topics", headers=bearer(token)).json["data"]
    assert [t["id"] for t in topics] == [topic.id]
    assert topics[0]["state_label"] == "已安排议事会"
    assert topics[0]["state_changed_at"].endswith("+08:00")
    assert topics[0]["meetings"] == [{"id": meeting_id, "title": "梁堂村19点议事厅", "place": "村部二楼",
                                      "starts_at": starts.astimezone(CHINA).isoformat(), "state": "upcoming",
                                      "state_label": "待召开", "unit": "梁堂村",
                                      "room": {"name": "梁堂村协商议事室", "address": None, "opening_hours": None}}]
    assert topics[0]["meetings"][0]["starts_at"].endswith("+08:00")

    mine = client.get("/api/v1/my/meetings", headers=bearer(token)).json["data"]
    assert [(m["id"], m["registered"], m["can_register"]) for m in mine] == [(meeting_id, False, True)]
    assert [(t["id"], t["title"], t["state_label"]) for t in mine[0]["topics"]] == [
        (topic.id, "梁堂村3组路灯维修", "已安排议事会")]
    assert dt.datetime.fromisoformat(mine[0]["starts_at"]) == starts

    assert client.get("/api/v1/my/topics", headers=bearer(other)).json["data"] == []
    assert client.get("/api/v1/my/meetings", headers=bearer(other)).json["data"] == []
    assert client.get("/api/v1/my/meetings").status_code == 401
    refused_api(client.get(f"/api/v1/meetings/{meeting_id}", headers=bearer(other)), 404, "meeting_not_found",
                "未找到这次议事会。")


def test_an_open_meeting_takes_anyone_in_the_unit_up_to_its_capacity(client, session, wechat_sandbox):
    tokens = {name: resident_token(client, wechat_sandbox, f"o-{name}") for name in
              ("scanner", "neighbour", "late", "stranger")}
    grid = session.scalar(select(Unit).where(Unit.name == "梁堂村第二网格"))
    factories.complaint(session, grid, resident_row(session, "o-neighbour"), state=ComplaintState.solved)
    session.commit()
    sign_in(client, "shuji1")
    meeting_id = schedule(client, session, is_open=True, capacity="2")
    url = f"/api/v1/meetings/{meeting_id}/registrations"
    here, there = scene_of(session, "梁堂村第一网格"), scene_of(session, "汉王村第一网格")

    before = snapshot(session)
    refused_api(client.post(url, json={"scene": there}, headers=bearer(tokens["stranger"])), 403,
                "registration_not_in_unit", "这次议事会面向本社区（村）居民：请扫描本社区（村）的心码后报名。")
    refused_api(client.post(url, json={}, headers=bearer(tokens["stranger"])), 403,
                "registration_not_in_unit", "这次议事会面向本社区（村）居民：请扫描本社区（村）的心码后报名。")
    assert snapshot(session) == before

    res = client.post(url, json={"scene": here}, headers=bearer(tokens["scanner"]))
    assert res.status_code == 201, res.json
    assert res.json["data"]["meeting"]["places_left"] == 1 and res.json["data"]["meeting"]["registered"] is True
    res = client.post(url, json={}, headers=bearer(tokens["neighbour"]))  # a complaint of theirs is in the unit
    assert res.status_code == 201, res.json
    shown = client.get(f"/api/v1/meetings/{meeting_id}", headers=bearer(tokens["late"])).json["data"]
    assert (shown["open"], shown["capacity"], shown["registered_count"], shown["places_left"],
            shown["can_register"]) == (True, 2, 2, 0, False)

    before = snapshot(session)
    refused_api(client.post(url, json={"scene": here}, headers=bearer(tokens["late"])), 409, "registration_full",
                "名额已满（共 2 个），报名已截止。")
    assert snapshot(session) == before
    assert session.scalar(select(func.count()).select_from(MeetingRegistration)) == 2
    assert sorted(r for r, _ in sent(session, "meeting_registered")) == sorted(
        [resident_row(session, "o-scanner").id, resident_row(session, "o-neighbour").id])


def test_a_meeting_that_is_not_open_takes_only_its_residents(client, session, wechat_sandbox):
    token = resident_token(client, wechat_sandbox, "o-walk-in")
    sign_in(client, "shuji1")
    meeting_id = schedule(client, session)
    refused_api(client.post(f"/api/v1/meetings/{meeting_id}/registrations",
                            json={"scene": scene_of(session, "梁堂村第一网格")}, headers=bearer(token)),
                404, "meeting_not_found", "未找到这次议事会。")


def test_cancelling_tells_the_invited_and_registered_once_and_frees_the_topics(client, session, wechat_sandbox):
    behind = resident_token(client, wechat_sandbox, "o-behind")
    walk_in = resident_token(client, wechat_sandbox, "o-walk-in")
    topic = topic_behind(session, "梁堂村", resident_row(session, "o-behind"), TopicState.approved)
    session.commit()
    sign_in(client, "shuji1")
    meeting_id = schedule(client, session, is_open=True)
    agenda(client, meeting_id, topic.id)
    url = f"/api/v1/meetings/{meeting_id}/registrations"
    assert client.post(url, json={}, headers=bearer(behind)).status_code == 201
    assert client.post(url, json={"scene": scene_of(session, "梁堂村第二网格")},
                       headers=bearer(walk_in)).status_code == 201

    page = f"/council/meetings/{meeting_id}"
    before = snapshot(session)
    refused_page(form_post(client, page, f"{page}/cancel", {"reason": " "}), 400,
                 "请填写取消的原因，会告知受邀和已报名的居民。")
    assert snapshot(session) == before
    assert form_post(client, page, f"{page}/cancel", {"reason": "村部停电，另行通知"}).status_code == 302

    changes = sent(session, "meeting_changed")
    assert sorted(r for r, _ in changes) == sorted([resident_row(session, "o-behind").id,
                                                     resident_row(session, "o-walk-in").id])
    assert {(p["result"], p["reason"], p["meeting_id"]) for _, p in changes} == {
        ("cancel", "村部停电，另行通知", meeting_id)}
    starts = session.get(Meeting, meeting_id).starts_at
    assert render("meeting_changed", changes[0][1])[1:] == (
        {"thing1": "梁堂村19点议事厅", "phrase2": "已取消", "time3": wechat_time(starts), "thing4": "村部二楼",
         "thing5": "村部停电，另行通知"}, f"pages/meeting/detail?id={meeting_id}")
    session.expire_all()
    assert session.get(type(topic), topic.id).state == TopicState.approved  # it can go on another agenda
    shown = client.get(f"/api/v1/meetings/{meeting_id}", headers=bearer(behind)).json["data"]
    assert (shown["state"], shown["state_label"], shown["cancel_reason"], shown["can_register"]) == (
        "cancelled", "已取消", "村部停电，另行通知", False)
    html = client.get(page).get_data(as_text=True)
    assert "已取消" in html and "村部停电，另行通知" in html and "保存会议记录" not in html

    before = snapshot(session)
    refused_page(form_post(client, page, f"{page}/cancel", {"reason": "再取消一次"}), 409, "这次议事会已经取消。")
    refused_api(client.post(url, json={}, headers=bearer(resident_token(client, wechat_sandbox, "o-late"))),
                409, "meeting_cancelled", "这次议事会已经取消。")
    assert snapshot(session) == before
    from council.meetings import send_reminders

    assert send_reminders(session, now=utcnow(), ahead=dt.timedelta(days=3)) == 0


def test_a_new_time_is_told_and_reminded_again(client, session, wechat_sandbox):
    from council.meetings import send_reminders

    token = resident_token(client, wechat_sandbox, "o-moved")
    topic = topic_behind(session, "梁堂村", resident_row(session, "o-moved"), TopicState.approved)
    session.commit()
    sign_in(client, "shuji1")
    meeting_id = schedule(client, session)
    agenda(client, meeting_id, topic.id)
    assert client.post(f"/api/v1/meetings/{meeting_id}/registrations", json={},
                       headers=bearer(token)).status_code == 201
    assert send_reminders(session, now=utcnow(), ahead=dt.timedelta(days=2)) == 1
    session.commit()

    page = f"/council/meetings/{meeting_id}"
    old = session.get(Meeting, meeting_id).starts_at
    before = snapshot(session)
    refused_page(form_post(client, page, f"{page}/reschedule",
                           {"starts_at": local_input(utcnow() - dt.timedelta(hours=2)), "place": "村部"}),
                 400, "开会时间已经过去，请选择以后的时间。")
    refused_page(form_post(client, page, f"{page}/reschedule", {"starts_at": local_input(old), "place": "村部二楼"}),
                 400, "新的时间和地点与原来相同，没有改动。")
    assert snapshot(session) == before

    new = (utcnow() + dt.timedelta(days=5)).replace(second=0, microsecond=0)
    res = form_post(client, page, f"{page}/reschedule",
                    {"starts_at": local_input(new), "place": "村党群服务中心", "reason": "避开农忙"})
    assert res.status_code == 302
    changes = sent(session, "meeting_changed")
    assert [(r, p["result"], p["place"], p["reason"]) for r, p in changes] == [
        (resident_row(session, "o-moved").id, "reschedule", "村党群服务中心", "避开农忙")]
    assert dt.datetime.fromisoformat(changes[0][1]["starts_at"]) == new
    assert render("meeting_changed", changes[0][1])[1] == {
        "thing1": "梁堂村19点议事厅", "phrase2": "已改期", "time3": wechat_time(new), "thing4": "村党群服务中心",
        "thing5": "避开农忙"}
    shown = client.get(f"/api/v1/meetings/{meeting_id}", headers=bearer(token)).json["data"]
    assert dt.datetime.fromisoformat(shown["starts_at"]) == new and shown["starts_at"].endswith("+08:00")
    assert send_reminders(session, now=utcnow(), ahead=dt.timedelta(days=2)) == 0
    assert send_reminders(session, now=new - dt.timedelta(hours=1), ahead=dt.timedelta(hours=2)) == 1
    session.commit()


def test_minutes_only_after_the_start_then_shown_to_residents(client, session, wechat_sandbox):
    token = resident_token(client, wechat_sandbox, "o-minutes")
    topic = topic_behind(session, "梁堂村", resident_row(session, "o-minutes"), TopicState.approved)
    session.commit()
    sign_in(client, "shuji1")
    starts = utcnow() + dt.timedelta(hours=2)
    meeting_id = schedule(client, session, starts=starts)
    agenda(client, meeting_id, topic.id)
    page = f"/council/meetings/{meeting_id}"
    assert "会议开始后才能记录会议情况" in client.get(page).get_data(as_text=True)
    record = {"minutes": "出席居民12人。议定更换路灯。", f"result_{topic.id}": "consensus",
              f"solution_{topic.id}": "村委会两周内更换6盏路灯"}
    before = snapshot(session)
    at = starts.astimezone(CHINA).replace(second=0, microsecond=0)
    refused_page(form_post(client, page, f"{page}/record", record), 409,
                 f"议事会 {at:%m月%d日 %H:%M} 才开始，开始以后才能记录会议情况。")
    assert snapshot(session) == before
    shown = client.get(f"/api/v1/meetings/{meeting_id}", headers=bearer(token)).json["data"]
    assert shown["minutes"] is None and shown["topics"][0]["outcome"] is None

    started(session, meeting_id)
    assert form_post(client, page, f"{page}/record", record).status_code == 302
    shown = client.get(f"/api/v1/meetings/{meeting_id}", headers=bearer(token)).json["data"]
    assert (shown["state"], shown["held"], shown["minutes"]) == ("held", True, "出席居民12人。议定更换路灯。")
    assert shown["held_at"].endswith("+08:00")
    assert shown["topics"] == [{"id": topic.id, "title": "梁堂村3组路灯维修", "state": "agreed",
                                "state_label": "已达成共识", "result": "consensus", "outcome": "达成共识",
                                "solution": "村委会两周内更换6盏路灯"}]
    mine = client.get("/api/v1/my/topics", headers=bearer(token)).json["data"]
    assert mine[0]["solution"] == "村委会两周内更换6盏路灯"
    assert [(m["id"], m["state_label"]) for m in mine[0]["meetings"]] == [(meeting_id, "已召开")]


@pytest.mark.parametrize("capacity", ["0", "-3", "十", "2.5", "10001"])
def test_a_bad_capacity_is_refused(client, session, capacity):
    sign_in(client, "shuji1")
    before = snapshot(session)
    data = {"unit_id": unit(session, "梁堂村").id, "title": "议事会", "place": "村部", "form": "forum",
            "is_open": "1", "capacity": capacity, "starts_at": local_input(utcnow() + dt.timedelta(days=1))}
    refused_page(form_post(client, "/council/meetings/", "/council/meetings/", data), 400,
                 "名额须是 1 到 10000 之间的整数；不限名额请留空。")
    assert snapshot(session) == before
    assert session.scalar(select(func.count()).select_from(MeetingDetail)) == 0
    assert session.scalar(select(func.count()).select_from(Complaint)) == 0


def test_the_new_answers_match_the_api_document(client, session, wechat_sandbox):
    import schemathesis

    from intake.openapi import openapi_document

    contract = schemathesis.openapi.from_dict(openapi_document())
    token = resident_token(client, wechat_sandbox, "o-contract")
    topic = topic_behind(session, "梁堂村", resident_row(session, "o-contract"), TopicState.approved)
    session.commit()
    sign_in(client, "shuji1")
    meeting_id = schedule(client, session, is_open=True, capacity="5")
    agenda(client, meeting_id, topic.id)
    cancelled = schedule(client, session)
    page = f"/council/meetings/{cancelled}"
    form_post(client, page, f"{page}/cancel", {"reason": "改到下周"})
    auth = bearer(token)
    here = {"scene": scene_of(session, "梁堂村第一网格")}
    answers = [
        ("/meetings/{meeting_id}/registrations", "POST",
         client.post(f"/api/v1/meetings/{meeting_id}/registrations", json=here, headers=auth), 201),
        ("/my/topics", "GET", client.get("/api/v1/my/topics", headers=auth), 200),
        ("/my/meetings", "GET", client.get("/api/v1/my/meetings", headers=auth), 200),
        ("/meetings/{meeting_id}", "GET", client.get(f"/api/v1/meetings/{meeting_id}", headers=auth), 200),
        ("/topics/{topic_id}", "GET", client.get(f"/api/v1/topics/{topic.id}", headers=auth), 200),
    ]
    started(session, meeting_id)
    record = {"minutes": "纪要", f"result_{topic.id}": "referred"}
    assert form_post(client, f"/council/meetings/{meeting_id}", f"/council/meetings/{meeting_id}/record",
                     record).status_code == 302
    answers.append(("/my/meetings", "GET", client.get("/api/v1/my/meetings", headers=auth), 200))
    for path, method, response, status in answers:
        assert response.status_code == status, (path, response.json)
        contract[path][method].validate_response(response)
    assert [m["state"] for m in answers[-1][2].json["data"]] == ["held"]


@pytest.mark.postgresql
def test_two_residents_cannot_both_take_the_last_place(app, session):
    """PostgreSQL: two registrations for the last place at the same moment; one gets it, the other is told it is
    full (the meeting's row is locked while its registrations are counted)."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from council.meetings import register
    from models import DomainError, Resident

    sign_in(client := app.test_client(), "shuji1")
    meeting_id = schedule(client, session, is_open=True, capacity="1")
    grid = session.scalar(select(Unit).where(Unit.name == "梁堂村第一网格"))
    ids = []
    for _ in range(2):
        who = factories.resident(session)
        factories.complaint(session, grid, who, state=ComplaintState.solved)
        ids.append(who.id)
    session.commit()
    factory = app.extensions["xinma.sessionmaker"]
    barrier = threading.Barrier(2)

    def attempt(resident_id: int) -> str:
        with factory() as s:
            detail, resident = s.get(MeetingDetail, meeting_id), s.get(Resident, resident_id)
            barrier.wait()
            try:
                register(s, resident, detail)
            except DomainError as exc:
                s.rollback()
                return exc.code
            s.commit()
            return "registered"

    for _ in range(3):
        session.execute(MeetingRegistration.__table__.delete())
        session.commit()
        with ThreadPoolExecutor(2) as pool:
            assert sorted(pool.map(attempt, ids)) == ["registered", "registration_full"]
        assert session.scalar(select(func.count()).select_from(MeetingRegistration)) == 1


def test_the_boards_api_lists_the_open_meetings_a_resident_may_register_for(client, session, wechat_sandbox):
    token = resident_token(client, wechat_sandbox, "o-board-reader")
    sign_in(client, "shuji1")
    open_id = schedule(client, session, is_open=True, capacity="10")
    closed_id = schedule(client, session)  # by invitation only: not announced
    here = scene_of(session, "梁堂村第一网格")
    meetings = client.get(f"/api/v1/boards/{here}", headers=bearer(token)).json["data"]["meetings"]
    assert [m["id"] for m in meetings] == [open_id] and closed_id != open_id
    assert meetings[0]["unit"] == "梁堂村" and meetings[0]["state"] == "upcoming"
    res = client.post(f"/api/v1/meetings/{open_id}/registrations", json={"scene": here}, headers=bearer(token))
    assert res.status_code == 201, res.json
    there = scene_of(session, "汉王村第一网格")
    assert client.get(f"/api/v1/boards/{there}", headers=bearer(token)).json["data"]["meetings"] == []
