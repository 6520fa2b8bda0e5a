"""Council services through the pages and the API with the Flask test client: every refusal changes nothing."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select, update

from models import (
    AuditEvent,
    ComplaintState,
    Meeting,
    Notification,
    Staff,
    StaffRole,
    Topic,
    TopicState,
    Unit,
    utcnow,
)
from models.council import Assignment, MeetingDetail, MeetingOutcome, ProgressUpdate, Rating, RouteStage
from models.entities import meeting_topics
from tests import factories

from .support import CHINA, PASSWORD, csrf, figures, local_input

TABLES = (Topic, Meeting, MeetingDetail, MeetingOutcome, Assignment, ProgressUpdate, Rating, RouteStage,
          Notification, AuditEvent)


@pytest.fixture
def session(app, demo):
    with app.extensions["xinma.sessionmaker"]() as s:
        yield s


def unit(session, name: str) -> Unit:
    return session.scalar(select(Unit).where(Unit.name == name))


def snapshot(session) -> tuple:
    session.expire_all()
    counts = tuple(session.scalar(select(func.count()).select_from(m)) for m in TABLES)
    agenda = session.scalar(select(func.count()).select_from(meeting_topics))
    states = tuple(session.scalars(select(Topic.state).order_by(Topic.id)))
    percents = tuple(session.scalars(select(Assignment.percent).order_by(Assignment.id)))
    return counts, agenda, states, percents


def sign_in(client, username: str, password: str = PASSWORD) -> None:
    page = client.get("/staff/signin").get_data(as_text=True)
    res = client.post("/staff/signin", data={"username": username, "password": password, "csrf_token": csrf(page)})
    assert res.status_code == 302, res.get_data(as_text=True)[:300]


def form_post(client, page_url: str, action: str, data: dict):
    page = client.get(page_url).get_data(as_text=True)
    return client.post(action, data=dict(data, csrf_token=csrf(page)))


def refused_page(res, status: int, message: str):
    body = res.get_data(as_text=True)
    assert res.status_code == status, body[:500]
    assert re.search(r'role="alert"[^>]*>([^<]*)<', body).group(1) == message
    return body


def refused_api(res, status: int, code: str, message: str):
    assert res.status_code == status, res.json
    assert res.json["ok"] is False
    assert res.json["error"] == {"code": code, "message": message}


def topic_behind(session, unit_name: str, resident, state: TopicState, title: str = "梁堂村3组路灯维修") -> Topic:
    village = unit(session, unit_name)
    topic = factories.topic(session, village, state=state, title=title)
    grid = session.scalar(select(Unit).where(Unit.parent_id == village.id))
    factories.complaint(session, grid, resident, state=ComplaintState.promoted, topic=topic)
    return topic


def implemented(session, resident, **kw) -> Topic:
    topic = topic_behind(session, "梁堂村", resident, TopicState.implemented, **kw)
    session.add(Assignment(topic_id=topic.id, lead_kind="secretary", lead_name="王书记",
                           due_on=dt.date.today() + dt.timedelta(days=3), percent=100, round=1, created_at=utcnow(),
                           completed_at=utcnow()))
    session.commit()
    return topic


def resident_token(client, wechat_sandbox, openid: str) -> str:
    res = client.post("/api/v1/sessions", json={"code": wechat_sandbox.login_code(openid)})
    assert res.status_code == 201, res.json
    return res.json["data"]["token"]


def resident_row(session, openid: str):
    from models import Resident

    return session.scalar(select(Resident).where(Resident.openid == openid))


# --- meetings ------------------------------------------------------------------------------------------------

def test_a_meeting_in_the_past_is_refused(client, session):
    sign_in(client, "shuji1")
    before = snapshot(session)
    res = form_post(client, "/council/meetings/", "/council/meetings/", {
        "unit_id": unit(session, "梁堂村").id, "title": "议事会", "place": "村部", "form": "forum",
        "starts_at": local_input(utcnow() - dt.timedelta(hours=1))})
    refused_page(res, 400, "开会时间已经过去，请选择以后的时间。")
    assert snapshot(session) == before


@pytest.mark.parametrize(("field", "value", "message"), [
    ("title", "", "请填写议事会名称。"),
    ("place", " ", "请填写开会地点。"),
    ("form", "party", "请选择议事形式：座谈、听证或上门。"),
    ("starts_at", "明天晚上", "开会时间格式不正确。"),
])
def test_a_meeting_form_with_a_bad_field_is_refused(client, session, field, value, message):
    sign_in(client, "shuji1")
    before = snapshot(session)
    data = {"unit_id": unit(session, "梁堂村").id, "title": "议事会", "place": "村部", "form": "forum",
            "starts_at": local_input(utcnow() + dt.timedelta(days=1)), field: value}
    refused_page(form_post(client, "/council/meetings/", "/council/meetings/", data), 400, message)
    assert snapshot(session) == before


def schedule(client, session, unit_name="梁堂村") -> str:
    res = form_post(client, "/council/meetings/", "/council/meetings/", {
        "unit_id": unit(session, unit_name).id, "title": "19点议事厅", "place": "村部", "form": "hearing",
        "starts_at": local_input(utcnow() + dt.timedelta(days=1))})
    assert res.status_code == 302
    return res.headers["Location"]


def test_an_agenda_topic_of_another_unit_is_refused(client, session):
    other = factories.topic(session, unit(session, "汉王村"), state=TopicState.approved, title="汉王村修路")
    session.commit()
    sign_in(client, "shuji1")
    url = schedule(client, session)
    before = snapshot(session)
    res = form_post(client, url, f"{url}/agenda", {"topic_id": other.id})
    refused_page(res, 400, "只能把本单位的议题列入议程。")
    assert snapshot(session) == before


def test_a_proposed_topic_cannot_go_on_the_agenda(client, session, wechat_sandbox):
    topic = topic_behind(session, "梁堂村", factories.resident(session), TopicState.proposed)
    session.commit()
    sign_in(client, "shuji1")
    url = schedule(client, session)
    before = snapshot(session)
    refused_page(form_post(client, url, f"{url}/agenda", {"topic_id": topic.id}), 400, "只有已审定的议题才能列入议程。")
    assert snapshot(session) == before


def test_consensus_needs_the_agreed_solution(client, session):
    topic = topic_behind(session, "梁堂村", factories.resident(session), TopicState.approved)
    session.commit()
    sign_in(client, "shuji1")
    url = schedule(client, session)
    assert form_post(client, url, f"{url}/agenda", {"topic_id": topic.id}).status_code == 302
    # The meeting has started (a record is refused before its time).
    session.execute(update(Meeting).where(Meeting.id == int(url.rsplit("/", 1)[1]))
                    .values(starts_at=utcnow() - dt.timedelta(minutes=1)))
    session.commit()
    before = snapshot(session)
    res = form_post(client, url, f"{url}/record", {"minutes": "纪要", f"result_{topic.id}": "consensus"})
    refused_page(res, 400, "达成共识时请填写议定的解决方案。")
    res = form_post(client, url, f"{url}/record", {"minutes": "纪要"})
    refused_page(res, 400, "请为每个议题选择协商结果。")
    assert snapshot(session) == before
    res = form_post(client, url, f"{url}/record", {"minutes": "纪要", f"result_{topic.id}": "referred"})
    assert res.status_code == 302
    session.expire_all()
    assert session.get(Topic, topic.id).state == TopicState.referred


def test_registration_only_for_residents_behind_and_once(client, session, wechat_sandbox):
    token = resident_token(client, wechat_sandbox, "o-behind")
    outsider = resident_token(client, wechat_sandbox, "o-outsider")
    topic = topic_behind(session, "梁堂村", resident_row(session, "o-behind"), TopicState.approved)
    session.commit()
    sign_in(client, "shuji1")
    url = schedule(client, session)
    form_post(client, url, f"{url}/agenda", {"topic_id": topic.id})
    meeting_id = int(url.rsplit("/", 1)[1])
    refused_api(client.post(f"/api/v1/meetings/{meeting_id}/registrations", json={},
                            headers={"Authorization": f"Bearer {outsider}"}),
                404, "meeting_not_found", "未找到这次议事会。")
    auth = {"Authorization": f"Bearer {token}"}
    assert client.post(f"/api/v1/meetings/{meeting_id}/registrations", json={}, headers=auth).status_code == 201
    before = snapshot(session)
    refused_api(client.post(f"/api/v1/meetings/{meeting_id}/registrations", json={}, headers=auth), 409,
                "registration_duplicate", "您已经报过名了。")
    assert snapshot(session) == before


# --- 领办 ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("percent", ["101", "-1", "五十", "", "50.5"])
def test_a_progress_percentage_out_of_range_is_refused(client, session, percent):
    topic = topic_behind(session, "梁堂村", factories.resident(session), TopicState.implementing)
    session.add(Assignment(topic_id=topic.id, lead_kind="branch", lead_name="梁堂村党支部", due_on=dt.date.today(),
                           percent=30, round=1, created_at=utcnow()))
    session.commit()
    sign_in(client, "shuji1")
    before = snapshot(session)
    res = form_post(client, f"/council/topics/{topic.id}", f"/council/topics/{topic.id}/progress", {"percent": percent})
    refused_page(res, 400, "进度须是 0 到 100 之间的整数。")
    assert snapshot(session) == before


def test_progress_photos_go_to_staff_in_scope_and_to_the_board_once_the_result_is_published(
        app, client, session, wechat_sandbox):
    from PIL import Image

    from models import QrCode

    token = resident_token(client, wechat_sandbox, "o-photo")
    topic = topic_behind(session, "梁堂村", resident_row(session, "o-photo"), TopicState.implementing)
    session.add(Assignment(topic_id=topic.id, lead_kind="branch", lead_name="梁堂村党支部", due_on=dt.date.today(),
                           percent=30, round=1, created_at=utcnow()))
    factories.staff(session, StaffRole.secretary, unit(session, "彭城社区"), username="pengcheng-shuji")
    grid = session.scalar(select(Unit).where(Unit.parent_id == topic.unit_id))
    scene = session.scalar(select(QrCode.token).where(QrCode.unit_id == grid.id, QrCode.revoked_at.is_(None)))
    session.commit()
    sign_in(client, "shuji1")
    url = f"/council/topics/{topic.id}"
    upload = io.BytesIO()
    Image.new("RGB", (40, 30), (30, 160, 90)).save(upload, "PNG")
    res = client.post(f"{url}/progress", content_type="multipart/form-data", data={
        "csrf_token": csrf(client.get(url).get_data(as_text=True)), "percent": "100", "note": "路灯已更换",
        "photos": (io.BytesIO(upload.getvalue()), "<script>.png")})
    assert res.status_code == 302, res.get_data(as_text=True)[:300]

    # The secretary's page shows the photo under a name the server made; it comes back as a real JPEG.
    src = re.search(r'<img src="([^"]+)" alt="现场照片"', client.get(url).get_data(as_text=True)).group(1)
    name = src.rsplit("/", 1)[1]
    assert re.fullmatch(r"progress-[0-9a-f]{16}\.jpg", name)
    res = client.get(src)
    assert res.status_code == 200 and res.mimetype == "image/jpeg"
    assert res.headers["X-Content-Type-Options"] == "nosniff" and "no-store" in res.headers["Cache-Control"]
    shown = Image.open(io.BytesIO(res.get_data()))
    assert shown.format == "JPEG" and shown.size == (40, 30)
    for bad in ("progress-0000000000000000.jpg", "..%2F..%2Fxinma.db", "progress.png"):
        assert client.get(f"{url}/photos/{bad}").status_code == 404
    other = app.test_client()
    sign_in(other, "pengcheng-shuji", factories.PASSWORD)
    assert other.get(src).status_code == 404  # another community's secretary: as if it did not exist

    # On the public board only with the published result.
    auth = {"Authorization": f"Bearer {token}"}
    board_photo = f"/api/v1/boards/{scene}/topics/{topic.id}/photos/{name}"
    assert client.get(board_photo, headers=auth).status_code == 404
    publish = f"{url}/publications"
    assert form_post(client, url, publish, {"kind": "decision", "text": "议定更换路灯"}).status_code == 302
    assert client.get(board_photo, headers=auth).status_code == 404  # a decision is not the result
    assert form_post(client, url, publish, {"kind": "result", "text": "路灯已全部更换"}).status_code == 302
    shown = client.get(f"/api/v1/boards/{scene}", headers=auth).json["data"]["publications"]
    assert sorted((p["kind"], p["photos"]) for p in shown) == [("decision", []), ("result", [board_photo])]
    res = client.get(board_photo, headers=auth)
    assert res.status_code == 200 and res.mimetype == "image/jpeg"
    assert res.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get(board_photo).status_code == 401


def test_assignment_refusals(client, session):
    topic = topic_behind(session, "梁堂村", factories.resident(session), TopicState.agreed)
    session.commit()
    sign_in(client, "shuji1")
    before = snapshot(session)
    url = f"/council/topics/{topic.id}"
    yesterday = (dt.datetime.now(CHINA).date() - dt.timedelta(days=1)).isoformat()
    refused_page(form_post(client, url, f"{url}/assignment",
                           {"lead_kind": "mayor", "lead_name": "x", "due_on": yesterday}),
                 400, "请选择领办主体：支部、书记、党员中心户、骨干党员或部门。")
    refused_page(form_post(client, url, f"{url}/assignment",
                           {"lead_kind": "department", "lead_name": "镇城建办", "due_on": yesterday}),
                 400, "完成期限不能早于今天。")
    assert snapshot(session) == before


def test_overdue_items_show_on_the_secretarys_page_and_in_one_digest(client, session, settings_env):
    topic = topic_behind(session, "梁堂村", factories.resident(session), TopicState.implementing, title="修桥")
    session.add(Assignment(topic_id=topic.id, lead_kind="party_member", lead_name="李党员",
                           due_on=dt.date.today() - dt.timedelta(days=2), percent=40, round=1, created_at=utcnow()))
    session.commit()
    sign_in(client, "shuji1")
    page = client.get("/council/").get_data(as_text=True)
    assert "逾期领办事项（1）" in page and "骨干党员·李党员" in page
    from council.implementation import send_overdue_digest

    assert send_overdue_digest(session, today=dt.datetime.now(CHINA).date(), now=utcnow()) == 1
    session.commit()
    rows = session.scalars(select(Notification).where(Notification.event == "overdue_digest")).all()
    assert [(r.openid, r.params["summary"], r.params["unit_name"]) for r in rows] == [
        ("demo-secretary-liangtang", "1项领办事项已逾期", "梁堂村")]


def test_the_reminder_goes_out_once(client, session, wechat_sandbox):
    from council.meetings import send_reminders

    token = resident_token(client, wechat_sandbox, "o-remind")
    topic = topic_behind(session, "梁堂村", resident_row(session, "o-remind"), TopicState.approved)
    session.commit()
    sign_in(client, "shuji1")
    url = schedule(client, session)
    form_post(client, url, f"{url}/agenda", {"topic_id": topic.id})
    meeting_id = int(url.rsplit("/", 1)[1])
    client.post(f"/api/v1/meetings/{meeting_id}/registrations", json={}, headers={"Authorization": f"Bearer {token}"})
    now = utcnow()
    assert send_reminders(session, now=now, ahead=dt.timedelta(hours=1)) == 0  # not yet within the window
    assert send_reminders(session, now=now, ahead=dt.timedelta(hours=30)) == 1
    assert send_reminders(session, now=now, ahead=dt.timedelta(hours=30)) == 0
    session.commit()


# --- 回访 ----------------------------------------------------------------------------------------------------

def test_a_rating_by_a_resident_not_behind_the_topic_is_refused(client, session, wechat_sandbox):
    resident_token(client, wechat_sandbox, "o-behind")
    outsider = resident_token(client, wechat_sandbox, "o-outsider")
    topic = implemented(session, resident_row(session, "o-behind"))
    before = snapshot(session)
    res = client.post(f"/api/v1/topics/{topic.id}/ratings", json={"level": "satisfied"},
                      headers={"Authorization": f"Bearer {outsider}"})
    refused_api(res, 403, "rating_not_behind", "您没有反映过这个议题，不能评价。")
    assert snapshot(session) == before


def test_a_second_rating_is_refused(client, session, wechat_sandbox):
    token = resident_token(client, wechat_sandbox, "o-alice")
    resident_token(client, wechat_sandbox, "o-bob")
    topic = implemented(session, resident_row(session, "o-alice"))
    factories.complaint(session, unit(session, "梁堂村第一网格"), resident_row(session, "o-bob"),
                        state=ComplaintState.promoted, topic=topic)
    session.commit()
    auth = {"Authorization": f"Bearer {token}"}
    res = client.post(f"/api/v1/topics/{topic.id}/ratings", json={"level": "basic"}, headers=auth)
    assert res.status_code == 201 and res.json["data"]["topic"]["state"] == "implemented"  # bob has not rated yet
    before = snapshot(session)
    refused_api(client.post(f"/api/v1/topics/{topic.id}/ratings", json={"level": "satisfied"}, headers=auth),
                409, "rating_duplicate", "您已经评价过这一轮落实结果了。")
    assert snapshot(session) == before


@pytest.mark.parametrize(("body", "code", "message"), [
    ({"level": "great"}, "rating_unknown", "请选择满意、基本满意或不满意。"),
    ({"level": "unsatisfied"}, "rating_reason_required", "选择不满意时，请说明原因，我们会重新办理。"),
    ({"level": "satisfied", "stars": 5}, "unknown_field", "包含不允许的字段：stars。"),
])
def test_bad_ratings_are_refused(client, session, wechat_sandbox, body, code, message):
    token = resident_token(client, wechat_sandbox, "o-alice")
    topic = implemented(session, resident_row(session, "o-alice"))
    before = snapshot(session)
    refused_api(client.post(f"/api/v1/topics/{topic.id}/ratings", json=body,
                            headers={"Authorization": f"Bearer {token}"}), 400, code, message)
    assert snapshot(session) == before


def test_a_rating_before_implementation_is_refused(client, session, wechat_sandbox):
    token = resident_token(client, wechat_sandbox, "o-alice")
    topic = topic_behind(session, "梁堂村", resident_row(session, "o-alice"), TopicState.implementing)
    session.commit()
    refused_api(client.post(f"/api/v1/topics/{topic.id}/ratings", json={"level": "satisfied"},
                            headers={"Authorization": f"Bearer {token}"}),
                409, "rating_not_open", "这个议题还没有落实完毕，暂不能评价。")


def test_a_grid_worker_records_a_visits_rating(client, session):
    who = factories.resident(session)
    topic = implemented(session, who)
    sign_in(client, "wangge1")
    url = f"/council/topics/{topic.id}"
    page = client.get(url).get_data(as_text=True)
    assert "记录上门回访评价" in page and "审定通过" not in page
    res = client.post(f"{url}/visit-rating", data={"csrf_token": csrf(page), "resident_id": who.id,
                                                    "level": "satisfied"})
    assert res.status_code == 302
    session.expire_all()
    # the staff member's rating, beside the resident's: it neither closes the topic nor stands for the resident
    assert session.get(Topic, topic.id).state == TopicState.implemented
    assert [(r.source, r.staff_id, r.level.value) for r in session.scalars(select(Rating))] == [
        ("visit", session.scalar(select(Staff.id).where(Staff.username == "wangge1")), "satisfied")]


# --- topics --------------------------------------------------------------------------------------------------

def test_reject_needs_a_reason_and_merge_moves_the_complaints(client, session):
    alice, bob = factories.resident(session), factories.resident(session)
    first = topic_behind(session, "梁堂村", alice, TopicState.proposed, title="路灯")
    second = topic_behind(session, "梁堂村", bob, TopicState.proposed, title="路灯坏了")
    session.commit()
    sign_in(client, "shuji1")
    url = f"/council/topics/{second.id}"
    before = snapshot(session)
    refused_page(form_post(client, url, f"{url}/reject", {"reason": " "}), 400, "请填写未通过审定的理由。")
    assert snapshot(session) == before
    page = client.get(url).get_data(as_text=True)
    res = client.post(f"{url}/merge", data={"csrf_token": csrf(page), "into": first.id})
    assert res.status_code == 302 and res.headers["Location"].endswith(f"/council/topics/{first.id}")
    session.expire_all()
    assert session.get(Topic, second.id).state == TopicState.merged
    assert sorted(c.resident_id for c in session.get(Topic, first.id).complaints) == sorted([alice.id, bob.id])


def test_the_four_step_route_goes_in_order(client, session):
    topic = topic_behind(session, "梁堂村", factories.resident(session), TopicState.approved)
    session.commit()
    sign_in(client, "shuji1")
    url = f"/council/topics/{topic.id}"
    votes = {"held_on": "2026-11-20", "votes_for": "7", "votes_against": "0", "votes_abstain": "1"}
    refused_page(form_post(client, url, f"{url}/route", dict(votes, step="review")), 400,
                 "四议须依次进行：请先记录“党支部提议”。")
    refused_page(form_post(client, url, f"{url}/route", dict(votes, step="propose", votes_for="-3")), 400,
                 "表决票数须为不小于 0 的整数。")
    for step in ("propose", "discuss", "review", "resolve"):
        assert form_post(client, url, f"{url}/route", dict(votes, step=step)).status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert page.count("赞成 7 / 反对 0 / 弃权 1") == 4 and "居民(代表)会议决议 · 2026-11-20" in page


# --- statistics and exports ----------------------------------------------------------------------------------

def test_an_export_of_a_unit_outside_the_admins_scope_is_refused(client, session):
    factories.staff(session, StaffRole.admin, unit(session, "张集镇"), username="zhangji-admin")
    session.commit()
    sign_in(client, "zhangji-admin", factories.PASSWORD)
    outside = unit(session, "彭城社区")
    for fmt in ("csv", "xlsx"):
        refused_page(client.get(f"/council/stats.{fmt}", query_string={"unit": outside.id}), 403,
                     "您没有查看这个单位统计数据的权限。")
    refused_page(client.get("/council/stats", query_string={"unit": outside.id}), 403,
                 "您没有查看这个单位统计数据的权限。")
    refused_page(client.get("/council/stats", query_string={"from": "2026-12-01", "to": "2026-01-01"}), 400,
                 "统计区间不正确：开始日期须不晚于结束日期。")


def test_statistics_count_the_subtree_and_the_period_and_export_the_same(client, session):
    grid, other_grid = unit(session, "梁堂村第一网格"), unit(session, "彭城社区第一网格")
    who = factories.resident(session)
    done = factories.complaint(session, grid, who, state=ComplaintState.solved)
    done.state_changed_at = done.created_at + dt.timedelta(hours=5)
    factories.complaint(session, grid, who, state=ComplaintState.not_deliberable).reason_code = "individual_dispute"
    factories.complaint(session, grid, who, state=ComplaintState.awaiting_triage)
    factories.complaint(session, other_grid, who, state=ComplaintState.solved)
    old = factories.complaint(session, grid, who, state=ComplaintState.solved)
    old.created_at = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    session.commit()
    sign_in(client, "admin")
    street = unit(session, "张集镇")
    shown = figures(client.get("/council/stats", query_string={"unit": street.id, "from": "2026-01-01"})
                    .get_data(as_text=True))
    assert shown["协商议事室（个）"] == "3"  # the town's own room and both villages'
    assert shown["收到诉求（件）"] == "3" and shown["已答复诉求（件）"] == "2" and shown["答复率（%）"] == "66.7"
    assert shown["办结用时中位数（小时）"] == "2.5"  # 5 h and 0 h
    assert shown["分拣结果·不予协商：个体矛盾"] == "1" and shown["分拣结果·已在网格解决"] == "1"
    assert shown["首次答复用时中位数（小时）"] == "—"  # no decision went through the lifecycle here
    everything = figures(client.get("/council/stats", query_string={"unit": street.id}).get_data(as_text=True))
    assert everything["收到诉求（件）"] == "4"
    district = figures(client.get("/council/stats").get_data(as_text=True))
    assert district["收到诉求（件）"] == "5" and district["协商议事室（个）"] == "4"

    res = client.get("/council/stats.csv", query_string={"unit": street.id, "from": "2026-01-01"})
    assert res.status_code == 200 and res.headers["Content-Disposition"].endswith('.csv"')
    rows = dict(r for r in csv.reader(io.StringIO(res.get_data().decode("utf-8-sig"))) if len(r) == 2)
    assert rows["单位"] == "铜山区·张集镇" and rows["收到诉求（件）"] == "3" and rows["答复率（%）"] == "66.7"
    res = client.get("/council/stats.xlsx", query_string={"unit": street.id, "from": "2026-01-01"})
    sheet = load_workbook(io.BytesIO(res.get_data())).active
    cells = {row[0]: row[1] for row in sheet.iter_rows(values_only=True)}
    assert cells["收到诉求（件）"] == 3 and cells["答复率（%）"] == 66.7 and cells["统计区间"] == "2026-01-01 至 今天"


def test_xinma_stats_rebuild_fills_the_sums_for_rows_loaded_with_sql(client, session, settings_env, engine):
    import subprocess
    import sys

    from sqlalchemy import text

    grid = unit(session, "梁堂村第一网格")
    who = factories.resident(session)
    session.commit()
    sign_in(client, "admin")
    village = unit(session, "梁堂村")
    before = figures(client.get("/council/stats", query_string={"unit": village.id}).get_data(as_text=True))
    with engine.begin() as conn:  # as a bulk load would: straight into the tables, past the application
        for hours, state in ((3, "solved"), (7, "solved"), (1, "awaiting_triage")):
            conn.execute(text("INSERT INTO complaints (unit_id, resident_id, category, text, state, created_at, "
                              "state_changed_at) VALUES (:u, :r, '设施维修', '路灯坏了', :s, :c, :d)"),
                         {"u": grid.id, "r": who.id, "s": state, "c": dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC),
                          "d": dt.datetime(2026, 3, 2, 9 + hours, tzinfo=dt.UTC)})
    stale = figures(client.get("/council/stats", query_string={"unit": village.id}).get_data(as_text=True))
    assert stale == before  # the sums do not know yet
    res = subprocess.run([sys.executable, "-c", "import app; app.main()", "stats", "rebuild"], capture_output=True,
                         text=True, timeout=120, env={"PATH": "/usr/bin:/bin", **settings_env})
    assert res.returncode == 0, res.stderr
    assert "统计汇总已重建" in res.stdout
    shown = figures(client.get("/council/stats", query_string={"unit": village.id}).get_data(as_text=True))
    assert int(shown["收到诉求（件）"]) == int(before["收到诉求（件）"]) + 3
    assert int(shown["已答复诉求（件）"]) == int(before["已答复诉求（件）"]) + 2
    march = figures(client.get("/council/stats", query_string={"unit": village.id, "from": "2026-03-01",
                                                                "to": "2026-03-31"}).get_data(as_text=True))
    assert march["收到诉求（件）"] == "3" and march["办结用时中位数（小时）"] == "5.0"  # 3 h and 7 h
