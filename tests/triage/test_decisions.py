"""Grid workers and secretaries through their pages: sign-in, scope, CSRF, stale forms, refusals that change nothing."""

from __future__ import annotations

import logging
import re

import pytest
from sqlalchemy import func, select

from models import AuditEvent, Complaint, ComplaintState, Notification, StaffRole, Topic, TopicState
from tests import factories


@pytest.fixture
def world(app):
    with app.extensions["xinma.sessionmaker"]() as session:
        u = factories.units(session)
        worker = factories.staff(session, StaffRole.grid_worker, u["grid"], username="worker")
        other_worker = factories.staff(session, StaffRole.grid_worker, u["other_grid"], username="other")
        factories.staff(session, StaffRole.secretary, u["community"], openid="o-sec", username="secretary")
        factories.staff(session, StaffRole.secretary, u["other"], openid="o-sec2", username="secretary2")
        resident = factories.resident(session, "o-res")
        mine = factories.complaint(session, u["grid"], resident, text="<script>alert(1)</script>路灯坏了")
        theirs = factories.complaint(session, u["other_grid"], resident, text="垃圾没人清")
        session.commit()
        return {"mine": mine.id, "theirs": theirs.id, "worker": worker.id, "other_worker": other_worker.id}


def sign_in(client, username: str, password: str = factories.PASSWORD):
    page = client.get("/staff/signin")
    return client.post("/staff/signin", data={"username": username, "password": password,
                                              "csrf_token": token(page.text)})


def token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def form(client, path: str) -> dict[str, str]:
    html = client.get(path).text
    return {"csrf_token": token(html), "version": re.search(r'name="version" value="([^"]+)"', html).group(1)}


def snapshot(app):
    with app.extensions["xinma.sessionmaker"]() as session:
        return (tuple(session.execute(select(Complaint.id, Complaint.state, Complaint.topic_id)
                                      .order_by(Complaint.id)).all()),
                session.scalar(select(func.count()).select_from(Topic)),
                session.scalar(select(func.count()).select_from(AuditEvent)),
                session.scalar(select(func.count()).select_from(Notification)))


def test_wrong_password_is_refused_in_chinese(client, world):
    res = sign_in(client, "worker", "wrong")
    assert res.status_code == 401
    assert "用户名或密码不正确" in res.text
    assert client.get("/triage/").status_code == 302


def test_queue_shows_only_my_grids_and_escapes_resident_text(client, world):
    sign_in(client, "worker")
    page = client.get("/triage/").text
    assert f'data-complaint="{world["mine"]}"' in page
    assert f'data-complaint="{world["theirs"]}"' not in page
    detail = client.get(f"/triage/complaints/{world['mine']}").text
    assert "<script>alert(1)</script>" not in detail
    assert "&lt;script&gt;alert(1)&lt;/script&gt;路灯坏了" in detail


def test_acting_outside_my_grids_is_404_logged_and_changes_nothing(client, app, world, caplog):
    sign_in(client, "worker")
    before = snapshot(app)
    csrf = token(client.get("/triage/").text)
    with caplog.at_level(logging.WARNING):
        assert client.get(f"/triage/complaints/{world['theirs']}").status_code == 404
        res = client.post(f"/triage/complaints/{world['theirs']}/promote",
                          data={"csrf_token": csrf, "title": "越权", "summary": "", "category": "livelihood"})
    assert res.status_code == 404
    assert "未找到这条反映" in res.text
    assert "outside their units" in caplog.text
    assert snapshot(app) == before


def test_promote_tells_resident_and_secretary(client, app, world):
    sign_in(client, "worker")
    res = client.post(f"/triage/complaints/{world['mine']}/promote", follow_redirects=True,
                      data={**form(client, f"/triage/complaints/{world['mine']}"), "title": "路灯维修",
                            "summary": "路灯坏了", "category": "livelihood"})
    assert res.status_code == 200 and "已处理第" in res.text
    with app.extensions["xinma.sessionmaker"]() as session:
        complaint = session.get(Complaint, world["mine"])
        assert complaint.state == ComplaintState.promoted and complaint.deliberable is True
        assert complaint.topic.title == "路灯维修" and complaint.topic.state == TopicState.proposed
        notes = session.scalars(select(Notification).order_by(Notification.id)).all()
        assert [(n.event, n.openid) for n in notes] == [("topic_proposed", "o-sec"), ("complaint_triaged", "o-res")]


def test_decline_needs_a_reason_of_the_rule_set(client, app, world):
    sign_in(client, "worker")
    path = f"/triage/complaints/{world['mine']}"
    before = snapshot(app)
    res = client.post(f"{path}/decline", data={**form(client, path), "reason_code": "because", "reply": "不行"})
    assert res.status_code == 400 and "未知的理由代码" in res.text
    res = client.post(f"{path}/decline", data={**form(client, path), "reason_code": "individual_dispute", "reply": " "})
    assert res.status_code == 400 and "请填写给居民的答复" in res.text
    assert snapshot(app) == before
    res = client.post(f"{path}/decline", data={**form(client, path), "reason_code": "individual_dispute",
                                                "reply": "属于邻里个体矛盾，已转人民调解"})
    assert res.status_code == 302
    with app.extensions["xinma.sessionmaker"]() as session:
        complaint = session.get(Complaint, world["mine"])
        assert (complaint.state, complaint.reason_code) == (ComplaintState.not_deliberable, "individual_dispute")


def test_missing_csrf_and_stale_forms_change_nothing(client, app, world):
    sign_in(client, "worker")
    path = f"/triage/complaints/{world['mine']}"
    stale = form(client, path)
    before = snapshot(app)
    res = client.post(f"{path}/promote", data={"title": "路灯", "summary": "", "category": "livelihood"})
    assert res.status_code == 400 and "页面已过期" in res.text
    assert snapshot(app) == before
    # Someone else decides first; the old form is then refused and says why.
    client.post(f"{path}/decline", data={**stale, "reason_code": "unfair", "reply": "有失公平"})
    after_first = snapshot(app)
    res = client.post(f"{path}/promote", data={**stale, "title": "路灯", "summary": "", "category": "livelihood"})
    assert res.status_code == 409 and "已被他人更新" in res.text
    assert snapshot(app) == after_first


def test_secretary_approves_only_in_their_community(client, app, world):
    sign_in(client, "worker")
    client.post(f"/triage/complaints/{world['mine']}/promote",
                data={**form(client, f"/triage/complaints/{world['mine']}"), "title": "路灯维修", "summary": "",
                      "category": "livelihood"})
    client.post("/staff/signout", data={"csrf_token": token(client.get("/triage/").text)})
    with app.extensions["xinma.sessionmaker"]() as session:
        topic_id = session.scalar(select(Topic.id))
    sign_in(client, "secretary2")
    assert client.get(f"/council/topics/{topic_id}").status_code == 404
    assert client.get("/triage/").status_code == 404  # a secretary has no grid worker queue
    client.post("/staff/signout", data={"csrf_token": token(client.get("/council/").text)})
    sign_in(client, "secretary")
    res = client.post(f"/council/topics/{topic_id}/approve", data=form(client, f"/council/topics/{topic_id}"),
                      follow_redirects=True)
    assert res.status_code == 200 and "已审定" in res.text
    with app.extensions["xinma.sessionmaker"]() as session:
        assert session.get(Topic, topic_id).state == TopicState.approved
        assert session.scalars(select(Notification.event).order_by(Notification.id.desc())).first() == "topic_approved"
