"""Every subscribe message the product sends, as its own services write it, rendered and checked against WeChat's
field rules (wechat/field_rules.py, the rules the sandbox applies): each field a value WeChat accepts, each value
whole (a catalogue label, or the whole text it names), never cut."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from council import disclosure, followup, implementation, meetings
from council import services as council
from intake.services import submit_complaint
from models import SYSTEM, Actor, Complaint, Notification, StaffRole, transition_complaint, transition_topic, utcnow
from models.base import CHINA
from models.intake import add_resident_note, reply_to_resident
from models.lifecycle import COMPLAINT_NOTIFY, TOPIC_NOTIFY_RESIDENTS
from models.message_templates import TEMPLATES
from qr.services import issue_code
from tests import factories
from triage import services as triage
from web.messages import MESSAGE_DETAILS, MESSAGE_RESULTS, MESSAGE_WORDS
from wechat.field_rules import value_ok
from workers.digest import build_digests
from workers.periodic import triage_overdue
from workers.rendering import FieldInvalid, render

LONG_TITLE = "幸福社区三号楼至七号楼之间的道路照明与监控设施统一改造"  # 27 characters: more than a thing field holds
REPLY = "经了解属于两户之间的个人纠纷，建议先申请人民调解，调解不成可拨打12345反映。"


def china_time(value: str) -> str:
    moment = dt.datetime.fromisoformat(value).astimezone(CHINA)
    return f"{moment.year}年{moment.month}月{moment.day}日 {moment:%H:%M}"


def catalogue_words() -> set[str]:
    words = set(MESSAGE_WORDS.values()) | set(MESSAGE_DETAILS.values())
    for labels in MESSAGE_RESULTS.values():
        words |= set(labels.values())
    return words


def drive_every_action(session) -> None:
    """Run every decision that sends a message through the real services, as staff and residents would."""
    u = factories.units(session)
    worker = factories.staff(session, StaffRole.grid_worker, u["grid"], openid="o-worker")
    secretary = factories.staff(session, StaffRole.secretary, u["community"], openid="o-secretary")
    people = {name: factories.resident(session, f"o-{name}") for name in (
        "submit", "decline", "decline_follower", "solve", "solve_follower", "escalate", "visit", "promote",
        "promote_follower", "join", "merge", "reopen", "long", "disagree", "refer", "reject", "moved", "note")}

    def complaint(name: str) -> Complaint:
        return factories.complaint(session, u["grid"], people[name], text=f"{name}：楼道灯坏了一个月")

    # A new complaint (received), accepted into the queue (the grid worker's daily digest).
    scene = issue_code(session, u["grid"]).token
    new = submit_complaint(session, people["submit"], scene=scene, category="设施维修", text="楼道灯坏了")
    transition_complaint(session, new, "accept", actor=SYSTEM)

    # Triage: each decision, and the residents merged into a complaint hearing what became of it.
    declined, follower = complaint("decline"), complaint("decline_follower")
    triage.merge(session, worker, follower, target_id=declined.id)
    triage.decline(session, worker, declined, reason_code="individual_dispute", reply=REPLY)
    solved, follower = complaint("solve"), complaint("solve_follower")
    triage.merge(session, worker, follower, target_id=solved.id)
    triage.solve(session, worker, solved, note="已联系物业当天更换灯泡，夜间照明恢复正常。")
    triage.escalate(session, worker, complaint("escalate"), reason="涉及整个小区的线路改造，需社区统筹")
    triage.record_visit(session, worker, complaint("visit"), notes="上门查看，灯杆倾斜，约定下周再来。")
    promoted, follower = complaint("promote"), complaint("promote_follower")
    triage.merge(session, worker, follower, target_id=promoted.id)
    lights = triage.promote(session, worker, promoted, title="楼道照明改造", category="livelihood")
    triage.promote(session, worker, complaint("join"), topic_id=lights.id)
    triage.merge(session, worker, complaint("merge"), target_id=promoted.id)
    long = triage.promote(session, worker, complaint("long"), title=LONG_TITLE, category="livelihood")
    reopened = complaint("reopen")
    triage.promote(session, worker, reopened, title="电动车飞线充电整治", category="governance")
    transition_complaint(session, reopened, "reopen", actor=Actor.staff(worker))
    topics = {name: triage.promote(session, worker, complaint(name), title=title, category="livelihood")
              for name, title in (("disagree", "小区停车位划线"), ("refer", "加装电梯费用分摊"),
                                  ("reject", "更换小区大门"), ("moved", "小区绿化补种"))}

    # Two-way updates: a resident's note (its grid worker told), a staff reply without a decision.
    noted = complaint("note")
    add_resident_note(session, people["note"], noted, text="晚上七点以后整条路都是黑的", photos=[])
    reply_to_resident(session, worker, noted, text="收到，明天上午去现场看看。")
    # A complaint left untriaged past its deadline: the grid worker's daily digest.
    triage_overdue(session, utcnow() + dt.timedelta(days=30))

    # The council: approve or reject, a meeting with three outcomes, registration and its reminder.
    council.reject(session, secretary, topics["reject"], reason="属于物业合同范围，已转物业公司办理")
    for topic in (lights, long, topics["disagree"], topics["refer"], topics["moved"]):
        council.approve(session, secretary, topic)
    starts = (utcnow() + dt.timedelta(hours=5)).astimezone(CHINA).strftime("%Y-%m-%dT%H:%M")
    meeting = meetings.schedule_meeting(session, secretary, u["community"], title="幸福社区议事会",
                                        starts_at=starts, place="社区党群服务中心二楼", form="forum")
    for topic in (lights, long, topics["disagree"], topics["refer"]):
        meetings.add_topic(session, secretary, meeting, topic.id)
    meetings.register(session, people["promote"], meeting)
    moved = meetings.schedule_meeting(session, secretary, u["community"], title="绿化议事会", starts_at=starts,
                                      place="社区议事厅", form="forum")
    meetings.add_topic(session, secretary, moved, topics["moved"].id)
    later = (utcnow() + dt.timedelta(days=2)).astimezone(CHINA).strftime("%Y-%m-%dT%H:%M")
    meetings.reschedule(session, secretary, moved, starts_at=later, place="社区党群服务中心", reason="场地临时有活动")
    meetings.cancel(session, secretary, moved, reason="补种季节已过，明年春天再议，届时另行通知各位居民")
    meetings.send_reminders(session, now=utcnow(), ahead=dt.timedelta(hours=24))
    meetings.record(session, secretary, meeting, minutes="议定事项见各议题。", present_participants=set(),
                    present_residents=set(), now=utcnow() + dt.timedelta(hours=6), outcomes={
                        lights.id: ("consensus", "更换楼道灯"), long.id: ("consensus", "分期改造"),
                        topics["disagree"].id: ("no_consensus", ""), topics["refer"].id: ("referred", "")})
    followup_close = [topics["disagree"], topics["refer"]]

    # Implementation, overdue, follow-up: 不满意 reopens, 满意 closes; both publications.
    disclosure.publish(session, secretary, lights, kind="decision", text="议定更换楼道灯。")
    assignment = implementation.assign(session, secretary, lights, lead_kind="secretary", lead_name="王书记",
                                       due_on=dt.date.today().isoformat())
    implementation.send_overdue_digest(session, today=dt.date.today() + dt.timedelta(days=3), now=utcnow())
    implementation.report_progress(session, secretary, assignment, percent=100, note="已更换")
    behind = [c.resident for c in session.scalars(select(Complaint).where(Complaint.topic_id == lights.id))]
    followup.rate(session, lights, behind[0], level="unsatisfied", reason="还有一盏不亮")
    implementation.report_progress(session, secretary, assignment, percent=100, note="都已更换")
    for resident in {r.id: r for r in behind}.values():
        followup.rate(session, lights, resident, level="satisfied")
    disclosure.publish(session, secretary, lights, kind="result", text="楼道灯全部修复。")
    for topic in followup_close:
        transition_topic(session, topic, "close", actor=Actor.staff(secretary), reason="已由居民会议决定")
    build_digests(session)
    session.commit()


@pytest.fixture
def sent(db) -> list[Notification]:
    drive_every_action(db)
    return list(db.scalars(select(Notification).order_by(Notification.id)))


def test_every_message_every_action_sends_is_one_wechat_accepts_whole(sent):
    events = {row.event for row in sent}
    missing = set(TEMPLATES) - events
    assert not missing, missing
    triaged = {row.params.get("result") or row.params["action"] for row in sent if row.event == "complaint_triaged"}
    assert triaged == set(MESSAGE_RESULTS["complaint_triaged"])
    progress = {row.params["action"] for row in sent if row.event == "topic_progress"}
    assert progress == {a for a, e in TOPIC_NOTIFY_RESIDENTS.items() if e == "topic_progress"}
    assert {row.params["result"] for row in sent if row.event == "topic_published"} == {"decision", "result"}
    assert {row.params["result"] for row in sent if row.event == "meeting_changed"} == {"cancel", "reschedule"}
    assert {row.params["action"] for row in sent if row.event == "complaint_received"} == {
        a for a, e in COMPLAINT_NOTIFY.items() if e == "complaint_received"}
    words = catalogue_words()
    for row in sent:
        template, data, page = render(row.event, row.params)
        fields = TEMPLATES[row.event]["fields"]
        assert set(data) == set(fields), row.event
        for key, value in data.items():
            assert value_ok(key, value), (row.event, row.params.get("action"), key, value)
            source = fields[key][1]
            if key.startswith("time"):
                assert value == china_time(row.params[source])
            else:  # a label of the catalogue, or the whole text it names: never a cut one
                assert value in words or value == str(row.params.get(source)), (row.event, key, value)
        assert page.startswith("pages/")


def test_a_resident_reads_what_became_of_each_complaint(sent):
    said = {row.openid: render(row.event, row.params)[1] for row in sent if row.event == "complaint_triaged"}
    assert said["o-decline"] == {"thing1": "设施维修", "phrase2": "不予协商", "thing3": "个体矛盾",
                                 "time4": said["o-decline"]["time4"]}
    assert said["o-decline_follower"]["phrase2"] == "不予协商"  # merged first, then told of the survivor's fate
    assert said["o-decline_follower"]["thing3"] == "个体矛盾"
    assert said["o-solve"]["phrase2"] == said["o-solve_follower"]["phrase2"] == "已解决"
    assert said["o-solve"]["thing3"] == "请查看回复"  # the worker's note is on the complaint's page, not cut here
    assert (said["o-escalate"]["phrase2"], said["o-escalate"]["thing3"]) == ("已上报", "转幸福社区办理")
    assert (said["o-visit"]["phrase2"], said["o-visit"]["thing3"]) == ("已上门", "网格员已上门协商")
    assert (said["o-promote"]["phrase2"], said["o-promote"]["thing3"]) == ("转为议题", "楼道照明改造")
    assert (said["o-join"]["phrase2"], said["o-join"]["thing3"]) == ("并入议题", "楼道照明改造")
    assert said["o-merge"]["phrase2"] == "已合并" and said["o-merge"]["thing3"].startswith("与第")
    assert (said["o-long"]["phrase2"], said["o-long"]["thing3"]) == ("转为议题", "请查看议题详情")
    assert said["o-reopen"]["phrase2"] == "重新分拣"
    for row in sent:
        if row.openid == "o-long" and "title" in row.params:
            assert render(row.event, row.params)[1]["thing1"] == "您关注的议题", row.event  # never a cut title


def test_residents_read_the_meetings_whole(sent):
    told = [(row.event, render(row.event, row.params)[1]) for row in sent if row.openid == "o-moved"]
    meeting = [(event, data) for event, data in told if event.startswith("meeting")]
    assert [event for event, _ in meeting] == ["meeting_invitation", "meeting_changed", "meeting_changed"]
    assert (meeting[0][1]["thing1"], meeting[0][1]["thing3"]) == ("绿化议事会", "社区议事厅")
    assert [(d["thing1"], d["phrase2"], d["thing4"], d["thing5"]) for _, d in meeting[1:]] == [
        ("绿化议事会", "已改期", "社区党群服务中心", "场地临时有活动"),
        ("绿化议事会", "已取消", "社区党群服务中心", "请点击查看详情"),  # a reason longer than the field: not cut
    ]


def test_every_label_of_the_catalogue_fits_the_field_it_is_put_in():
    for event, spec in TEMPLATES.items():
        for key, (_, source, *fallback) in spec["fields"].items():
            for src in (source, *fallback):
                if src.startswith("="):
                    assert value_ok(key, MESSAGE_WORDS[src[1:]]), (event, key, src)
                elif src == "@results":
                    assert all(value_ok(key, label) for label in MESSAGE_RESULTS[event].values()), (event, key)
                elif src == "@details":
                    assert all(value_ok(key, words) for words in MESSAGE_DETAILS.values()), (event, key)
    assert set(MESSAGE_DETAILS) == set(MESSAGE_RESULTS["complaint_triaged"])


AT = "2026-12-06T08:00:00+00:00"


@pytest.mark.parametrize("event, params", [
    ("complaint_triaged", {"category": "设施维修", "action": "decline", "result": "withdraw", "at": AT}),  # no label
    ("staff_digest", {"summary": "新反映3件", "count": "三", "at": AT}),
    ("staff_digest", {"summary": "新反映3件", "count": "3", "at": "2026-12-06T08:00:00"}),  # a zone-less time
    ("topic_progress", {"title": "楼道照明改造", "action": "start"}),  # no time
])
def test_the_renderer_refuses_a_value_wechat_would_refuse_instead_of_cutting_it(event, params):
    with pytest.raises(FieldInvalid):
        render(event, {"complaint_id": 1, "topic_id": 1, **params})
    # and renders it once the value is valid
    assert render(event, {"complaint_id": 1, "topic_id": 1, **params, **VALID[event]})


VALID = {"complaint_triaged": {"result": "decline"}, "staff_digest": {"count": "3", "at": AT},
         "topic_progress": {"at": AT}}


def test_a_reply_is_never_put_in_a_message():
    _, data, _ = render("complaint_triaged", {
        "complaint_id": 1, "category": "设施维修", "action": "solve", "result": "solve", "reason": REPLY,
        "at": AT})
    assert REPLY not in data.values() and data["thing3"] == "请查看回复"
    assert data["time4"] == "2026年12月6日 16:00"  # China time
