"""No dead ends: every state of both lifecycles has a way out, and each way out works through the secretary's pages,
telling each resident once, with a message that opens the page the mini-program guide names."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from models import (
    AuditEvent,
    Complaint,
    ComplaintState,
    Notification,
    Resident,
    Topic,
    TopicState,
    utcnow,
)
from models.council import TopicOrigin, TopicResolution
from models.lifecycle import COMPLAINT_FINAL, COMPLAINT_TRANSITIONS, TOPIC_FINAL, TOPIC_TRANSITIONS
from tests import factories
from workers.rendering import render

from .support import csrf
from .test_council import form_post, implemented, refused_page, sign_in, snapshot, topic_behind, unit

TITLE = "梁堂村3组路灯维修"


@pytest.fixture
def session(app, demo):
    with app.extensions["xinma.sessionmaker"]() as s:
        yield s


def _reach(table: dict, start) -> set:
    seen, todo = {start}, [start]
    while todo:
        state = todo.pop()
        for (before, _action), after in table.items():
            if before == state and after not in seen:
                seen.add(after)
                todo.append(after)
    return seen


@pytest.mark.parametrize(("table", "states", "final"), [
    (COMPLAINT_TRANSITIONS, ComplaintState, COMPLAINT_FINAL), (TOPIC_TRANSITIONS, TopicState, TOPIC_FINAL)],
    ids=["complaint", "topic"])
def test_every_state_has_a_way_out_and_every_path_ends(table, states, final):
    reached = set(table.values())
    assert reached == set(states), "a state nothing leads to"
    for state in states:
        exits = {action: after for (before, action), after in table.items() if before == state and after != state}
        if state in final:
            assert not [a for (b, a) in table if b == state], f"{state} is final but has an action"
        else:
            assert exits, f"{state} is a dead end"
            assert _reach(table, state) & final, f"nothing from {state} ever finishes"


def messages(session, who: Resident) -> list[tuple[str, str]]:
    """Each message to the resident: its event and the page a tap opens (without the query's extras)."""
    session.expire_all()
    rows = session.scalars(select(Notification).where(Notification.recipient_kind == "resident",
                                                      Notification.recipient_id == who.id).order_by(Notification.id))
    return [(r.event, render(r.event, r.params)[2]) for r in rows]


def topic_page(topic: Topic) -> str:
    return f"pages/topic/detail?id={topic.id}"


def complaint_of(session, topic: Topic, who: Resident) -> Complaint:
    return session.scalar(select(Complaint).where(Complaint.topic_id == topic.id, Complaint.resident_id == who.id))


def test_a_referred_topic_agreed_by_the_assembly_goes_on_to_lead(client, session):
    who = factories.resident(session)
    topic = topic_behind(session, "梁堂村", who, TopicState.referred)
    session.commit()
    sign_in(client, "shuji1")
    url = f"/council/topics/{topic.id}"
    page = client.get(url).get_data(as_text=True)
    assert "居民会议决议" in page and "办结并答复居民" in page
    res = form_post(client, url, f"{url}/resolution", {"result": "agree", "held_on": "2026-12-01",
                                                        "text": "居民会议表决通过：由村委会更换3组路灯"})
    assert res.status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert "同意实施" in page and "由村委会更换3组路灯" in page and "指定领办" in page
    res = form_post(client, url, f"{url}/assignment", {"lead_kind": "secretary", "lead_name": "王书记",
                                                        "due_on": (dt.date.today() + dt.timedelta(days=7)).isoformat()})
    assert res.status_code == 302
    session.expire_all()
    assert session.get(Topic, topic.id).state == TopicState.implementing
    assert messages(session, who) == [("topic_progress", topic_page(topic))] * 2  # 达成共识, 正在落实


def test_a_referred_topic_the_assembly_turned_down_closes_with_its_reply(client, session):
    alice, bob = factories.resident(session), factories.resident(session)
    topic = topic_behind(session, "梁堂村", alice, TopicState.referred)
    factories.complaint(session, unit(session, "梁堂村第一网格"), bob, state=ComplaintState.promoted, topic=topic)
    session.commit()
    sign_in(client, "shuji1")
    url = f"/council/topics/{topic.id}"
    res = form_post(client, url, f"{url}/resolution", {"result": "close", "held_on": "2026-12-01",
                                                        "text": "居民会议未通过，改由供电所年内统一改造"})
    assert res.status_code == 302
    session.expire_all()
    assert session.get(Topic, topic.id).state == TopicState.closed
    assert {c.state for c in session.get(Topic, topic.id).complaints} == {ComplaintState.closed}
    row = session.scalar(select(TopicResolution))
    assert (row.agreed, row.held_on, row.text) == (False, dt.date(2026, 12, 1),
                                                   "居民会议未通过，改由供电所年内统一改造")
    for who in (alice, bob):
        assert messages(session, who) == [("topic_progress", topic_page(topic))]
    assert "答复居民：</strong>居民会议未通过，改由供电所年内统一改造" in client.get(url).get_data(as_text=True)


def test_a_topic_without_consensus_closes_with_a_reply_or_goes_back_on_an_agenda(client, session):
    who = factories.resident(session)
    stuck = topic_behind(session, "梁堂村", who, TopicState.no_consensus)
    again = topic_behind(session, "梁堂村", who, TopicState.no_consensus, title="村口停车")
    session.commit()
    sign_in(client, "shuji1")
    url = f"/council/topics/{stuck.id}"
    refused_page(form_post(client, url, f"{url}/close", {"reason": "  "}), 400, "请填写办结的理由，居民会看到。")
    res = form_post(client, url, f"{url}/close", {"reason": "分歧较大，暂不实施，明年结合道路改造统一考虑"})
    assert res.status_code == 302
    session.expire_all()
    assert session.get(Topic, stuck.id).state == TopicState.closed
    assert complaint_of(session, stuck, who).state == ComplaintState.closed

    village = unit(session, "梁堂村")
    starts = (utcnow() + dt.timedelta(days=2)).astimezone(dt.timezone(dt.timedelta(hours=8)))
    res = form_post(client, "/council/meetings/", "/council/meetings/", {
        "unit_id": village.id, "title": "再议村口停车", "place": "村部", "form": "forum",
        "starts_at": starts.strftime("%Y-%m-%dT%H:%M")})
    meeting_url = res.headers["Location"]
    assert form_post(client, meeting_url, f"{meeting_url}/agenda", {"topic_id": again.id}).status_code == 302
    session.expire_all()
    assert session.get(Topic, again.id).state == TopicState.scheduled
    meeting_id = int(meeting_url.rstrip("/").rsplit("/", 1)[1])
    # closed with its reply; then invited once to the meeting that takes up the other topic (no second message)
    assert messages(session, who) == [("topic_progress", topic_page(stuck)),
                                      ("meeting_invitation", f"pages/meeting/detail?id={meeting_id}")]


@pytest.mark.parametrize(("how", "state", "event"), [
    ("triage", ComplaintState.awaiting_triage, "complaint_triaged"),
    ("answer", ComplaintState.not_deliberable, "complaint_triaged"),
])
def test_a_rejected_topics_complaints_go_back_to_triage_or_are_answered(client, session, how, state, event):
    alice, bob, carol = factories.resident(session), factories.resident(session), factories.resident(session)
    topic = topic_behind(session, "梁堂村", alice, TopicState.proposed)
    grid = unit(session, "梁堂村第一网格")
    bobs = factories.complaint(session, grid, bob, state=ComplaintState.promoted, topic=topic)
    merged = factories.complaint(session, grid, carol)
    merged.state, merged.merged_into_id, merged.topic_id = ComplaintState.merged, bobs.id, topic.id
    session.commit()
    sign_in(client, "shuji1")
    url = f"/council/topics/{topic.id}"
    before = snapshot(session)
    refused_page(form_post(client, url, f"{url}/reject", {"reason": "不属于村务", "complaints": "later"}), 400,
                 "请选择议题未通过后反映的去向：退回网格重新分拣，或直接答复居民。")
    assert snapshot(session) == before
    reply = "属于个人之间的纠纷，建议申请人民调解"
    assert form_post(client, url, f"{url}/reject", {"reason": reply, "complaints": how}).status_code == 302
    session.expire_all()
    assert session.get(Topic, topic.id).state == TopicState.rejected
    for who in (alice, bob):
        mine = complaint_of(session, topic, who)
        assert mine.state == state
        assert messages(session, who) == [(event, f"pages/complaint/detail?id={mine.id}")]
        if how == "answer":
            assert mine.reply == reply
    assert messages(session, carol) == [("topic_progress", topic_page(topic))]  # merged into bob's: the topic's news
    if how == "triage":  # back in the grid worker's queue
        sign_in(client, "wangge1")
        queue = client.get("/triage/").get_data(as_text=True)
        assert f'data-complaint="{bobs.id}"' in queue


def test_the_party_branch_proposes_a_topic_without_a_complaint(client, session):
    sign_in(client, "shuji1")
    village = unit(session, "梁堂村")
    before = snapshot(session)
    refused_page(form_post(client, "/council/", "/council/topics/", {
        "unit_id": village.id, "title": "村史馆建设", "category": "major_affairs", "origin": "", "proposer": "党支部"}),
        400, "请选择议题来源：党支部提议、书记提议或议政代表提议。")
    refused_page(form_post(client, "/council/", "/council/topics/", {
        "unit_id": unit(session, "彭城社区").id, "title": "村史馆建设", "category": "major_affairs",
        "origin": "branch", "proposer": "梁堂村党支部"}), 404, "未找到这个单位。")
    assert snapshot(session) == before
    res = form_post(client, "/council/", "/council/topics/", {
        "unit_id": village.id, "title": "村史馆建设", "category": "major_affairs", "origin": "branch",
        "proposer": "梁堂村党支部", "summary": "利用闲置小学建设村史馆"})
    assert res.status_code == 302
    session.expire_all()
    topic = session.scalar(select(Topic).where(Topic.title == "村史馆建设"))
    assert topic.state == TopicState.proposed and topic.complaints == []
    origin = session.get(TopicOrigin, topic.id)
    assert (origin.origin, origin.proposer) == ("branch", "梁堂村党支部")
    page = client.get(res.headers["Location"]).get_data(as_text=True)
    assert "党支部提议 · 梁堂村党支部" in page and "审定通过" in page
    told = session.scalars(select(Notification).where(Notification.event == "topic_proposed")).all()
    assert [n.openid for n in told] == ["demo-secretary-liangtang"]


@pytest.mark.parametrize(("state", "action", "data", "status", "message"), [
    (TopicState.proposed, "close", {"reason": "不办了"}, 409, "议题当前的状态不能直接办结。"),
    (TopicState.implementing, "close", {"reason": "不办了"}, 409, "议题当前的状态不能直接办结。"),
    (TopicState.no_consensus, "resolution", {"result": "agree", "text": "同意", "held_on": "2026-12-01"}, 409,
     "只有转居民会议的议题才能记录居民会议决议。"),
    (TopicState.referred, "resolution", {"result": "maybe", "text": "同意", "held_on": "2026-12-01"}, 400,
     "请选择决议结果：同意实施或不予实施。"),
    (TopicState.referred, "resolution", {"result": "agree", "text": " ", "held_on": "2026-12-01"}, 400,
     "请填写居民会议的决议内容。"),
])
def test_a_way_out_refused_changes_nothing(client, session, state, action, data, status, message):
    topic = topic_behind(session, "梁堂村", factories.resident(session), state)
    session.commit()
    sign_in(client, "shuji1")
    url = f"/council/topics/{topic.id}"
    before = snapshot(session)
    page = client.get(url).get_data(as_text=True)
    res = client.post(f"{url}/{action}", data=dict(data, csrf_token=csrf(page)))
    refused_page(res, status, message)
    assert snapshot(session) == before
    assert session.scalar(select(TopicResolution.id)) is None


def test_an_implemented_topic_closes_after_the_followup_period(client, session):
    from council.followup import FOLLOWUP_DAYS, close_expired

    who = factories.resident(session)
    old, recent = implemented(session, who), implemented(session, who, title="村口停车")
    old.state_changed_at = utcnow() - dt.timedelta(days=FOLLOWUP_DAYS, hours=1)
    session.commit()
    assert close_expired(session) == 1
    session.commit()
    session.expire_all()
    assert session.get(Topic, old.id).state == TopicState.closed
    assert session.get(Topic, recent.id).state == TopicState.implemented
    event = session.scalar(select(AuditEvent).where(AuditEvent.subject_kind == "topic",
                                                    AuditEvent.subject_id == old.id, AuditEvent.action == "close"))
    assert (event.actor_kind, event.reason) == ("system", "回访期满，自动办结")
    assert messages(session, who) == [("topic_progress", topic_page(old))]
    assert close_expired(session) == 0


def test_the_secretary_closes_an_implemented_topic_with_a_reason(client, session):
    who = factories.resident(session)
    topic = implemented(session, who)
    sign_in(client, "shuji1")
    url = f"/council/topics/{topic.id}"
    assert "记录上门回访评价" in client.get(url).get_data(as_text=True)
    res = form_post(client, url, f"{url}/close", {"reason": "居民外出务工，电话回访表示认可"})
    assert res.status_code == 302
    session.expire_all()
    assert session.get(Topic, topic.id).state == TopicState.closed
    assert messages(session, who) == [("topic_progress", topic_page(topic))]
