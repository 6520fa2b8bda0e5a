"""The resident's side of the loop: the complaint names where it went (topic, meetings, decision, referral, reply),
the resident adds words or a photo to an open complaint, staff reply without deciding, each told to the other
side; every time in China time."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from council import meetings
from council import services as council
from models import SYSTEM, AuditEvent, Complaint, Notification, Staff, transition_complaint, utcnow
from models.base import CHINA
from models.intake import ComplaintNote, reply_to_resident
from triage import services as triage
from workers.rendering import render

from .support import auth, counts, jpeg, refused, sign_in, upload


def submit(client, token, scene, text="村口路灯不亮了") -> dict:
    res = client.post("/api/v1/complaints", json={"scene": scene, "category": "设施维修", "text": text},
                      headers=auth(token))
    assert res.status_code == 201, res.json
    return res.json["data"]


def accept(app, *ids: int) -> None:
    with app.extensions["xinma.sessionmaker"]() as session:
        for cid in ids:
            transition_complaint(session, session.get(Complaint, cid), "accept", actor=SYSTEM)
        session.commit()


def staff(session, username: str) -> Staff:
    return session.scalar(select(Staff).where(Staff.username == username))


def china(value: str) -> dt.datetime:
    assert value.endswith("+08:00"), value
    return dt.datetime.fromisoformat(value)


@pytest.fixture
def token(client, wechat_sandbox):
    return sign_in(client, wechat_sandbox)


def test_a_promoted_complaint_names_its_topic_and_meetings(client, app, scene, token):
    cid = submit(client, token, scene)["id"]
    accept(app, cid)
    with app.extensions["xinma.sessionmaker"]() as session:
        topic = triage.promote(session, staff(session, "wangge1"), session.get(Complaint, cid), title="村口路灯修复",
                               category="livelihood")
        secretary = staff(session, "shuji1")
        council.approve(session, secretary, topic)
        starts = (utcnow() + dt.timedelta(days=2)).astimezone(CHINA).replace(hour=19, minute=0, second=0,
                                                                             microsecond=0)
        meeting = meetings.schedule_meeting(session, secretary, topic.unit, title="梁堂村议事会",
                                            starts_at=starts.strftime("%Y-%m-%dT%H:%M"), place="村委会二楼",
                                            form="forum")
        meetings.add_topic(session, secretary, meeting, topic.id)
        session.commit()
        topic_id, meeting_id = topic.id, meeting.meeting_id
    data = client.get(f"/api/v1/complaints/{cid}", headers=auth(token)).json["data"]
    assert data["topic"] == {"id": topic_id, "title": "村口路灯修复", "state": "scheduled",
                             "state_label": "已安排议事会"}
    assert data["meetings"] == [{"id": meeting_id, "title": "梁堂村议事会", "starts_at": starts.isoformat(),
                                 "place": "村委会二楼", "state": "upcoming", "state_label": "待召开"}]
    assert data["meetings"][0]["starts_at"].endswith("T19:00:00+08:00")  # the time on the invitation, as read
    assert data["decision"]["action"] == "promote" and data["decision"]["referral"] is None
    assert data["can_add_note"] is True  # the topic is still being worked on
    for step in data["timeline"]:
        china(step["at"])
    china(data["created_at"])


def test_a_declined_complaint_names_the_reason_the_referral_and_the_reply(client, app, scene, token):
    cid = submit(client, token, scene, "邻居家装修占用公共楼道")["id"]
    accept(app, cid)
    with app.extensions["xinma.sessionmaker"]() as session:
        triage.decline(session, staff(session, "wangge1"), session.get(Complaint, cid),
                       reason_code="individual_dispute", reply="属于邻里纠纷，建议申请人民调解。", referral="mediation")
        session.commit()
    data = client.get(f"/api/v1/complaints/{cid}", headers=auth(token)).json["data"]
    assert data["state_label"] == "不予协商，已答复" and data["reply"] == "属于邻里纠纷，建议申请人民调解。"
    decision = data["decision"]
    assert (decision["action"], decision["reason_code"], decision["reason_label"]) == (
        "decline", "individual_dispute", "个体矛盾")
    assert (decision["referral"], decision["referral_label"]) == ("mediation", "人民调解")
    china(decision["at"])
    assert data["topic"] is None and data["meetings"] == [] and data["can_add_note"] is False


def test_a_resident_adds_words_and_a_photo_to_an_open_complaint_and_the_grid_worker_hears_of_it(
        client, app, scene, token):
    cid = submit(client, token, scene)["id"]
    accept(app, cid)
    photo = upload(client, token, jpeg()).json["data"]["id"]
    with app.extensions["xinma.sessionmaker"]() as session:
        before = session.get(Complaint, cid).state_changed_at
    res = client.post(f"/api/v1/complaints/{cid}/notes", json={"text": "  晚上七点以后整条路都是黑的  ",
                                                               "photos": [photo]}, headers=auth(token))
    assert res.status_code == 201, res.json
    data = res.json["data"]
    assert data["state"] == "awaiting_triage"  # a note is not a decision
    [note] = data["notes"]
    assert (note["author"], note["text"]) == ("resident", "晚上七点以后整条路都是黑的")
    assert [p["id"] for p in note["photos"]] == [photo]
    china(note["at"])
    assert photo in [p["id"] for p in data["photos"]]
    assert [s["label"] for s in data["timeline"]][-1] == "居民补充了信息"
    assert data["timeline"][-1]["reason"] == "晚上七点以后整条路都是黑的"
    # a photo alone is a note too
    second = upload(client, token, jpeg(color=(0, 90, 200))).json["data"]["id"]
    res = client.post(f"/api/v1/complaints/{cid}/notes", json={"photos": [second]}, headers=auth(token))
    assert res.status_code == 201, res.json
    assert res.json["data"]["notes"][-1]["text"] == ""
    with app.extensions["xinma.sessionmaker"]() as session:
        complaint = session.get(Complaint, cid)
        assert complaint.state_changed_at == before
        audits = session.scalars(select(AuditEvent).where(AuditEvent.subject_id == cid,
                                                          AuditEvent.action == "note")).all()
        assert [(a.from_state, a.to_state, a.actor_kind) for a in audits] == [("awaiting_triage", "awaiting_triage",
                                                                              "resident")] * 2
        told = session.scalars(select(Notification).where(Notification.event == "complaint_note_added")).all()
    # two notes within the batch's time: one message to the grid worker covering the unit, naming the count
    assert [(row.recipient_kind, row.openid, row.params["count"]) for row in told] == [
        ("staff", "demo-grid-liangtang", "2")]
    template, fields, page = render(told[0].event, told[0].params)
    assert fields["thing1"] == "梁堂村第一网格" and fields["number2"] == "2" and page.startswith("pages/staff/index?")


def test_a_note_is_refused_with_a_stable_code_and_changes_nothing(client, app, scene, token, wechat_sandbox):
    cid = submit(client, token, scene)["id"]
    accept(app, cid)
    url = f"/api/v1/complaints/{cid}/notes"
    before = counts(app)
    refused(client.post(url, json={"text": "   "}, headers=auth(token)), 400, "note_empty")
    refused(client.post(url, json={}, headers=auth(token)), 400, "note_empty")
    refused(client.post(url, json={"text": "长" * 501}, headers=auth(token)), 400, "note_too_long")
    refused(client.post(url, json={"text": 5}, headers=auth(token)), 400, "field_invalid")
    refused(client.post(url, json={"text": "补充", "state": "closed"}, headers=auth(token)), 400, "unknown_field")
    refused(client.post(url, json={"text": "补充", "photos": [2**31 - 1]}, headers=auth(token)), 404,
            "photo_not_found")
    refused(client.post(url, json={"text": "补充"}), 401, "session_missing")
    other = sign_in(client, wechat_sandbox, "o-li")
    refused(client.post(url, json={"text": "补充"}, headers=auth(other)), 404, "complaint_not_found")
    theirs = upload(client, other, jpeg()).json["data"]["id"]
    refused(client.post(url, json={"text": "补充", "photos": [theirs]}, headers=auth(token)), 404, "photo_not_found")
    assert counts(app)[:3] == before[:3]  # no complaint, message or audit event more
    with app.extensions["xinma.sessionmaker"]() as session:
        triage.solve(session, staff(session, "wangge1"), session.get(Complaint, cid), note="已联系供电所修复路灯")
        session.commit()
        notes = session.scalar(select(func.count(ComplaintNote.id)))
    res = refused(client.post(url, json={"text": "路灯又坏了"}, headers=auth(token)), 409, "complaint_closed")
    assert "办结" in res.json["error"]["message"]
    with app.extensions["xinma.sessionmaker"]() as session:
        assert session.scalar(select(func.count(ComplaintNote.id))) == notes == 0
    assert client.get(f"/api/v1/complaints/{cid}", headers=auth(token)).json["data"]["can_add_note"] is False


def test_a_staff_reply_without_a_decision_reaches_the_resident(client, app, scene, token):
    cid = submit(client, token, scene)["id"]
    accept(app, cid)
    with app.extensions["xinma.sessionmaker"]() as session:
        reply_to_resident(session, staff(session, "wangge1"), session.get(Complaint, cid),
                          text="收到，明天上午去现场看看。")
        session.commit()
        [told] = session.scalars(select(Notification).where(Notification.event == "complaint_triaged")).all()
    data = client.get(f"/api/v1/complaints/{cid}", headers=auth(token)).json["data"]
    assert data["state"] == "awaiting_triage" and data["decision"] is None and data["reply"] is None
    assert [(n["author"], n["text"]) for n in data["notes"]] == [("staff", "收到，明天上午去现场看看。")]
    assert data["timeline"][-1]["label"] == "工作人员回复"
    assert told.openid == "o-zhang"
    _, fields, page = render(told.event, told.params)
    assert (fields["phrase2"], fields["thing3"]) == ("已回复", "请查看回复")  # the words stay on the page
    assert page == f"pages/complaint/detail?id={cid}"


def test_new_complaints_within_the_batch_time_are_one_message_per_grid_worker(client, app, scene, token):
    ids = [submit(client, token, scene, f"第{n}盏路灯不亮")["id"] for n in range(3)]
    accept(app, *ids)
    with app.extensions["xinma.sessionmaker"]() as session:
        rows = session.scalars(select(Notification).where(Notification.event == "complaint_new_in_unit")).all()
        assert [(r.openid, r.params["count"], r.params["complaint_ids"]) for r in rows] == [
            ("demo-grid-liangtang", "3", ids)]
        row = rows[0]
        wait = (row.next_attempt_at - row.created_at).total_seconds()
        assert 0 < wait <= 30  # sent within a minute of the first, with the sweep's wake-up
        _, fields, page = render(row.event, row.params)
        assert fields["thing1"] == "梁堂村第一网格" and fields["number2"] == "3"
        # once the batch is due (or claimed), the next complaint starts the next message
        row.next_attempt_at = utcnow()
        session.commit()
    later = submit(client, token, scene, "路灯杆歪了")["id"]
    accept(app, later)
    with app.extensions["xinma.sessionmaker"]() as session:
        rows = session.scalars(select(Notification).where(Notification.event == "complaint_new_in_unit")
                               .order_by(Notification.id)).all()
    assert [r.params["complaint_ids"] for r in rows] == [ids, [later]]


def test_the_gathered_message_reaches_the_grid_worker_once_when_due(client, app, scene, token, wechat_sandbox,
                                                                      job_runtime):
    from workers.delivery import deliver
    from workers.rendering import template_id

    wechat_sandbox.subscribe("demo-grid-liangtang", template_id("complaint_new_in_unit"))  # long-term, once
    ids = [submit(client, token, scene, f"第{n}个井盖松动")["id"] for n in range(3)]
    accept(app, *ids)
    deliver()
    assert wechat_sandbox.messages(openid="demo-grid-liangtang") == []  # still gathering: not sent yet
    with app.extensions["xinma.sessionmaker"]() as session:
        row = session.scalar(select(Notification).where(Notification.event == "complaint_new_in_unit"))
        row.next_attempt_at = utcnow() - dt.timedelta(seconds=1)  # its 30 seconds are over
        session.commit()
    deliver()
    (message,) = wechat_sandbox.messages(openid="demo-grid-liangtang")
    assert (message["data"]["thing1"], message["data"]["number2"]) == ("梁堂村第一网格", "3")
    assert message["page"].startswith("pages/staff/index")


@pytest.mark.postgresql
def test_complaints_accepted_at_the_same_moment_join_one_message_on_postgresql(client, app, scene, token):
    """PostgreSQL: two acceptances joining the grid worker's gathering message at once both count (its row is
    locked while one adds to it, and the other then adds to what the first wrote)."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    factory = app.extensions["xinma.sessionmaker"]
    barrier = threading.Barrier(2)  # reset after each round's pair has passed it
    for round_ in range(3):
        with factory() as session:
            session.execute(Notification.__table__.delete())
            session.commit()
        first, *pair = [submit(client, token, scene, f"第{round_}轮第{n}处积水")["id"] for n in range(3)]
        accept(app, first)  # the batch is gathering

        def accept_now(cid: int) -> None:
            with factory() as s:
                complaint = s.get(Complaint, cid)
                barrier.wait()
                transition_complaint(s, complaint, "accept", actor=SYSTEM)
                s.commit()

        with ThreadPoolExecutor(2) as pool:
            list(pool.map(accept_now, pair))
        with factory() as session:
            rows = session.scalars(select(Notification).where(Notification.event == "complaint_new_in_unit")).all()
        assert [(r.params["count"], sorted(r.params["complaint_ids"])) for r in rows] == [
            ("3", sorted([first, *pair]))]
