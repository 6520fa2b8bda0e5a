"""A resident's own data through the mini-program API: everything held about them, and a request to delete it that
the retention job carries out (closed matters at its next round, open ones once they close)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import SYSTEM, Actor, AuditEvent, Complaint, Staff, transition_complaint, utcnow
from models.intake import ComplaintContact, Photo
from web.settings import load_settings

from .support import auth, jpeg, refused, sign_in, upload


@pytest.fixture
def retention(settings_env, app):
    """Run the retention job in this process, as the sweep of a worker would."""
    from workers.retention import anonymise_due

    settings = load_settings(settings_env)

    def run() -> int:
        with app.extensions["xinma.sessionmaker"]() as session:
            done = anonymise_due(session, utcnow(), days=settings.retention_days, secret=settings.secret_key,
                                 keep_text=settings.retention_keep_text)
            session.commit()
            return done
    return run


def submit(client, token: str, scene: str, text: str) -> int:
    photo = upload(client, token, jpeg()).json["data"]["id"]
    res = client.post("/api/v1/complaints", headers=auth(token), json={
        "scene": scene, "category": "设施维修", "text": text, "phone": "13912345678", "photos": [photo],
        "location": {"latitude": 34.2, "longitude": 117.1, "address": "3号楼门口"}})
    assert res.status_code == 201, res.json
    return res.json["data"]["id"]


def solve(app, complaint_id: int) -> None:
    with app.extensions["xinma.sessionmaker"]() as session:
        worker = session.scalar(select(Staff).where(Staff.username == "wangge1"))
        complaint = session.get(Complaint, complaint_id)
        if complaint.state.value == "submitted":
            transition_complaint(session, complaint, "accept", actor=SYSTEM, values={"content_check": "pass"})
        transition_complaint(session, complaint, "solve", actor=Actor.staff(worker), reason="已修好",
                             values={"reply": "已经修好了"})
        session.commit()


def test_a_resident_reads_everything_held_about_them(client, app, scene, wechat_sandbox):
    token = sign_in(client, wechat_sandbox, "o-reader")
    other = sign_in(client, wechat_sandbox, "o-someone-else")
    first = submit(client, token, scene, "路灯坏了")
    submit(client, other, scene, "别人的事")
    spare = upload(client, token, jpeg()).json["data"]["id"]
    res = client.post(f"/api/v1/complaints/{first}/notes", headers=auth(token), json={"text": "晚上更暗了"})
    assert res.status_code == 201

    res = client.get("/api/v1/me/data", headers=auth(token))
    assert res.status_code == 200
    data = res.json["data"]
    assert data["resident"]["openid"] == "o-reader" and data["retention_days"] == 1095
    [mine] = data["complaints"]
    assert mine["id"] == first and mine["text"] == "路灯坏了" and mine["phone"] == "13912345678"  # not masked: theirs
    assert mine["location"] == {"latitude": 34.2, "longitude": 117.1, "address": "3号楼门口"}
    assert len(mine["photos"]) == 1 and mine["notes"][0]["text"] == "晚上更暗了" and mine["anonymised"] is False
    assert data["uploads"] == [spare] and data["deletion_requests"] == []
    assert "别人的事" not in res.get_data(as_text=True)
    refused(client.get("/api/v1/me/data"), 401, "session_missing")


def test_a_deletion_request_is_recorded_once_and_carried_out(client, app, scene, wechat_sandbox, retention):
    token = sign_in(client, wechat_sandbox, "o-leaving")
    closed, still_open = submit(client, token, scene, "井盖松动"), submit(client, token, scene, "楼道堆满杂物")
    solve(app, closed)
    assert retention() == 0  # closed today: within the retention period

    refused(client.post("/api/v1/me/deletion-requests", headers=auth(token), json={"reason": 5}), 400, "field_invalid")
    refused(client.post("/api/v1/me/deletion-requests", headers=auth(token), json={"why": "x"}), 400, "unknown_field")
    refused(client.post("/api/v1/me/deletion-requests", headers=auth(token), json={"reason": "长" * 501}), 400,
            "note_too_long")
    res = client.post("/api/v1/me/deletion-requests", headers=auth(token), json={"reason": "搬家了"})
    assert res.status_code == 201, res.json
    answer = res.json["data"]
    assert answer["closed_matters"] == 1 and answer["open_matters"] == 1 and answer["reason"] == "搬家了"
    again = client.post("/api/v1/me/deletion-requests", headers=auth(token), json={})
    assert again.status_code == 200 and again.json["data"]["id"] == answer["id"]
    assert client.get("/api/v1/me/data", headers=auth(token)).json["data"]["deletion_requests"][0]["id"] == answer["id"]

    assert retention() == 1  # the closed matter at once, whatever its age
    with app.extensions["xinma.sessionmaker"]() as s:
        assert s.get(ComplaintContact, closed).phone is None and s.get(Complaint, closed).anonymised_at is not None
        assert s.scalar(select(Photo.id).where(Photo.complaint_id == closed)) is None
        assert s.get(ComplaintContact, still_open).phone == "13912345678"
        event = s.scalar(select(AuditEvent).where(AuditEvent.subject_id == closed, AuditEvent.action == "anonymise"))
        assert event.reason == "deletion_request"
    mine = client.get("/api/v1/me/data", headers=auth(token)).json["data"]  # the open one still works for them
    assert [c["id"] for c in mine["complaints"]] == [still_open]

    solve(app, still_open)
    assert retention() == 1  # the open one once it closed; nothing of theirs is left: the openid goes
    refused(client.get("/api/v1/me/data", headers=auth(token)), 401, "session_invalid")
    with app.extensions["xinma.sessionmaker"]() as s:
        resident = s.get(Complaint, still_open).resident
        assert resident.openid.startswith("anon-") and s.get(Complaint, closed).anonymised_at is not None
    assert retention() == 0
