"""A grid worker answers a resident without deciding, and reads what the resident added: both on the complaint's
page and the resident's timeline, each told to the other side, the complaint's state unchanged."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from models import SYSTEM, AuditEvent, Complaint, Notification, transition_complaint
from models.intake import ComplaintNote
from tests.intake.support import auth, jpeg, sign_in, upload

from .test_complaint_page import _csrf, staff_sign_in


def reported(app, wechat_sandbox, scene, openid="o-reply-resident") -> tuple[object, str, int]:
    phone = app.test_client()
    token = sign_in(phone, wechat_sandbox, openid)
    res = phone.post("/api/v1/complaints", headers=auth(token),
                     json={"scene": scene, "category": "设施维修", "text": "小区门口的井盖松了"})
    assert res.status_code == 201, res.json
    cid = res.json["data"]["id"]
    with app.extensions["xinma.sessionmaker"]() as session:
        transition_complaint(session, session.get(Complaint, cid), "accept", actor=SYSTEM)
        session.commit()
    return phone, token, cid


def test_a_grid_worker_replies_without_deciding_and_the_resident_reads_it(app, client, wechat_sandbox, scene):
    phone, token, cid = reported(app, wechat_sandbox, scene)
    photo = upload(phone, token, jpeg()).json["data"]["id"]
    res = phone.post(f"/api/v1/complaints/{cid}/notes", headers=auth(token),
                     json={"text": "井盖边上已经有人绊倒过", "photos": [photo]})
    assert res.status_code == 201, res.json

    staff_sign_in(client, "wangge1")
    page = client.get(f"/triage/complaints/{cid}")
    assert "居民补充了信息" in page.text and "井盖边上已经有人绊倒过" in page.text  # the resident's note
    assert f"/api/staff/photos/{photo}" in page.text  # and its photo beside the others
    res = client.post(f"/triage/complaints/{cid}/reply", data={"csrf_token": _csrf(page.text),
                                                               "text": "收到，已通知物业今天下午更换井盖。"})
    assert res.status_code == 302 and res.headers["Location"].endswith(f"/triage/complaints/{cid}?replied=1")
    page = client.get(res.headers["Location"])
    assert "已回复居民" in page.text
    timeline = re.search(r'<ol class="timeline" id="timeline">(.*?)</ol>', page.text, re.S).group(1)
    assert "工作人员回复（李网格员）：收到，已通知物业今天下午更换井盖。" in timeline
    assert "待网格员分拣" in page.text and 'id="reply-form"' in page.text  # still to be decided

    data = phone.get(f"/api/v1/complaints/{cid}", headers=auth(token)).json["data"]
    assert data["state"] == "awaiting_triage" and data["decision"] is None
    assert [(n["author"], n["text"]) for n in data["notes"]] == [
        ("resident", "井盖边上已经有人绊倒过"), ("staff", "收到，已通知物业今天下午更换井盖。")]
    assert [s["label"] for s in data["timeline"]][-2:] == ["居民补充了信息", "工作人员回复"]
    with app.extensions["xinma.sessionmaker"]() as session:
        told = session.scalars(select(Notification).where(Notification.event == "complaint_triaged")).all()
        assert [(n.openid, n.params["result"]) for n in told] == [("o-reply-resident", "reply")]
        audit = session.scalar(select(AuditEvent).where(AuditEvent.action == "reply"))
        assert (audit.actor_kind, audit.from_state, audit.to_state) == ("staff", "awaiting_triage", "awaiting_triage")


def test_an_empty_reply_is_refused_on_the_page_and_changes_nothing(app, client, wechat_sandbox, scene):
    _, _, cid = reported(app, wechat_sandbox, scene)
    staff_sign_in(client, "wangge1")
    page = client.get(f"/triage/complaints/{cid}")
    res = client.post(f"/triage/complaints/{cid}/reply", data={"csrf_token": _csrf(page.text), "text": "   "})
    assert res.status_code == 400 and "请填写给居民的答复" in res.text
    res = client.post(f"/triage/complaints/{cid}/reply", data={"csrf_token": _csrf(page.text), "text": "长" * 1001})
    assert res.status_code == 400 and "不能超过 1000 字" in res.text
    res = client.post(f"/triage/complaints/{cid}/reply", data={"csrf_token": "forged", "text": "收到"})
    assert res.status_code in (400, 403)
    with app.extensions["xinma.sessionmaker"]() as session:
        assert session.scalar(select(func.count(ComplaintNote.id))) == 0
        assert session.scalar(select(func.count(Notification.id)).where(
            Notification.event == "complaint_triaged")) == 0


def test_a_complaint_outside_the_workers_units_cannot_be_replied_to(app, client, wechat_sandbox, scene):
    _, _, cid = reported(app, wechat_sandbox, scene)
    staff_sign_in(client, "wangge3")  # 彭城社区第一网格: not this complaint's grid
    page = client.get("/triage/")
    res = client.post(f"/triage/complaints/{cid}/reply", data={"csrf_token": _csrf(page.text), "text": "收到"})
    assert res.status_code == 404
    with app.extensions["xinma.sessionmaker"]() as session:
        assert session.scalar(select(func.count(ComplaintNote.id))) == 0
