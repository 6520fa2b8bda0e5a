"""The mini-program API as a phone drives it: sign in with a wx.login code, submit, read back; and every refusal."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, update

from models import AuditEvent, Complaint, Notification, QrCode, Resident, ResidentSession, Unit, utcnow
from qr.services import issue_code


@pytest.fixture
def scene(app, demo):
    with app.extensions["xinma.sessionmaker"]() as session:
        unit = session.scalar(select(Unit).where(Unit.name == "梁堂村第一网格"))
        return session.scalar(select(QrCode.token).where(QrCode.unit_id == unit.id, QrCode.revoked_at.is_(None)))


def sign_in(client, wechat_sandbox, openid="o-zhang") -> str:
    res = client.post("/api/v1/sessions", json={"code": wechat_sandbox.login_code(openid)})
    assert res.status_code == 201, res.json
    return res.json["data"]["token"]


def counts(app) -> tuple[int, ...]:
    with app.extensions["xinma.sessionmaker"]() as session:
        return tuple(
            session.scalar(select(func.count()).select_from(m))
            for m in (Complaint, Notification, AuditEvent, Resident, ResidentSession)
        )


def refused(res, status: int, code: str):
    assert res.status_code == status, res.json
    assert res.json["ok"] is False
    assert res.json["error"]["code"] == code
    assert res.json["error"]["message"]  # Chinese text for the resident
    return res


def test_resident_submits_and_reads_back(client, wechat_sandbox, scene):
    token = sign_in(client, wechat_sandbox)
    info = client.get(f"/api/v1/scenes/{scene}").json["data"]
    assert info["unit"]["full_name"] == "铜山区·张集镇·梁堂村·梁堂村第一网格"
    assert "飞线充电" in info["categories"]

    res = client.post(
        "/api/v1/complaints",
        json={"scene": scene, "category": "飞线充电", "text": "  3号楼有人从窗户拉电线给电动车充电  "},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert res.status_code == 201, res.json
    data = res.json["data"]
    assert data["text"] == "3号楼有人从窗户拉电线给电动车充电"
    assert data["state_label"] == "已提交"
    assert data["unit"]["name"] == "梁堂村第一网格"
    assert [s["label"] for s in data["timeline"]] == ["您的反映已提交"]

    mine = client.get("/api/v1/complaints", headers={"Authorization": f"Bearer {token}"}).json["data"]
    assert [c["id"] for c in mine] == [data["id"]]
    one = client.get(f"/api/v1/complaints/{data['id']}", headers={"Authorization": f"Bearer {token}"})
    assert one.json["data"]["category"] == "飞线充电"


def test_submission_writes_the_submit_transition_its_audit_and_the_residents_message(client, wechat_sandbox, app,
                                                                                   scene):
    token = sign_in(client, wechat_sandbox)
    res = client.post("/api/v1/complaints", json={"scene": scene, "category": "停车", "text": "消防通道被堵"},
                      headers={"Authorization": f"Bearer {token}"})
    assert res.status_code == 201, res.json
    answer = res.json["data"]
    with app.extensions["xinma.sessionmaker"]() as session:
        resident = session.scalar(select(Resident).where(Resident.openid == "o-zhang"))
        complaint = session.get(Complaint, answer["id"])
        assert (complaint.state.value, complaint.resident_id, complaint.unit.name) == ("submitted", resident.id,
                                                                                      "梁堂村第一网格")
        assert answer["created_at"] == answer["timeline"][0]["at"] and answer["created_at"].endswith("+08:00")
        assert dt.datetime.fromisoformat(answer["created_at"]) == complaint.created_at  # China time, same moment
        event = session.scalar(select(AuditEvent).where(AuditEvent.subject_id == complaint.id))
        assert (event.subject_kind, event.action, event.from_state, event.to_state, event.actor_kind,
                event.actor_id, event.data) == ("complaint", "submit", None, "submitted", "resident", resident.id, {})
        message = session.scalar(select(Notification))
        assert (message.event, message.recipient_kind, message.recipient_id, message.openid, message.state.value) \
            == ("complaint_received", "resident", resident.id, "o-zhang", "pending")
        assert message.params == {"complaint_id": complaint.id, "category": "停车", "unit_name": "梁堂村第一网格",
                                  "action": "submit", "state": "submitted", "reason": "",
                                  "at": complaint.created_at.isoformat()}


def test_login_code_is_single_use(client, wechat_sandbox, app, demo):
    code = wechat_sandbox.login_code("o-li")
    assert client.post("/api/v1/sessions", json={"code": code}).status_code == 201
    before = counts(app)
    refused(client.post("/api/v1/sessions", json={"code": code}), 400, "login_code_invalid")
    refused(client.post("/api/v1/sessions", json={"code": "never-issued"}), 400, "login_code_invalid")
    refused(client.post("/api/v1/sessions", json={}), 400, "login_code_missing")
    refused(client.post("/api/v1/sessions", json={"code": "x", "openid": "o-admin"}), 400, "unknown_field")
    refused(client.post("/api/v1/sessions", data="code=x"), 400, "json_required")
    assert counts(app) == before


def test_expired_login_code(client, wechat_sandbox, app, demo):
    code = wechat_sandbox.login_code("o-wang")
    wechat_sandbox.clock.advance(301)
    refused(client.post("/api/v1/sessions", json={"code": code}), 400, "login_code_invalid")


def test_wechat_down_during_login_is_a_clear_503(client, wechat_sandbox, demo):
    code = wechat_sandbox.login_code("o-zhao")
    wechat_sandbox.fault("login", "http_500", count=None)
    refused(client.post("/api/v1/sessions", json={"code": code}), 503, "wechat_unavailable")


def test_sessions_missing_invalid_expired(client, wechat_sandbox, app, scene):
    body = {"scene": scene, "category": "停车", "text": "小区门口乱停车"}
    refused(client.post("/api/v1/complaints", json=body), 401, "session_missing")
    refused(
        client.post("/api/v1/complaints", json=body, headers={"Authorization": "Bearer forged"}), 401, "session_invalid"
    )
    token = sign_in(client, wechat_sandbox)
    with app.extensions["xinma.sessionmaker"]() as session:
        session.execute(update(ResidentSession).values(expires_at=utcnow() - dt.timedelta(seconds=1)))
        session.commit()
    before = counts(app)
    refused(
        client.post("/api/v1/complaints", json=body, headers={"Authorization": f"Bearer {token}"}),
        401,
        "session_expired",
    )
    refused(client.get("/api/v1/complaints", headers={"Authorization": f"Bearer {token}"}), 401, "session_expired")
    assert counts(app) == before


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"scene": "never-existed-token-000"}, 404, "scene_unknown"),
        ({"scene": None}, 400, "scene_missing"),
        ({"text": ""}, 400, "text_empty"),
        ({"text": "   \n  "}, 400, "text_empty"),
        ({"text": "字" * 1001}, 400, "text_too_long"),
        ({"text": 42}, 400, "text_empty"),
        ({"category": "乱七八糟"}, 400, "category_unknown"),
        ({"state": "closed"}, 400, "unknown_field"),
        ({"unit_id": 1}, 400, "unknown_field"),
    ],
)
def test_bad_complaints_change_nothing(client, wechat_sandbox, app, scene, change, status, code):
    token = sign_in(client, wechat_sandbox)
    before = counts(app)
    body = {"scene": scene, "category": "停车", "text": "小区门口乱停车", **change}
    refused(client.post("/api/v1/complaints", json=body, headers={"Authorization": f"Bearer {token}"}), status, code)
    assert counts(app) == before


def test_revoked_scene_token(client, wechat_sandbox, app, scene):
    token = sign_in(client, wechat_sandbox)
    with app.extensions["xinma.sessionmaker"]() as session:
        code = session.scalar(select(QrCode).where(QrCode.token == scene))
        issue_code(session, code.unit)
        session.commit()
    before = counts(app)
    refused(
        client.post(
            "/api/v1/complaints",
            json={"scene": scene, "category": "停车", "text": "乱停车"},
            headers={"Authorization": f"Bearer {token}"},
        ),
        410,
        "scene_revoked",
    )
    refused(client.get(f"/api/v1/scenes/{scene}"), 410, "scene_revoked")
    assert client.get(f"/q/{scene}").status_code == 410
    assert counts(app) == before


def test_another_residents_complaint_is_not_found(client, wechat_sandbox, scene):
    mine = sign_in(client, wechat_sandbox, "o-a")
    theirs = sign_in(client, wechat_sandbox, "o-b")
    res = client.post(
        "/api/v1/complaints",
        json={"scene": scene, "category": "停车", "text": "乱停车"},
        headers={"Authorization": f"Bearer {mine}"},
    )
    cid = res.json["data"]["id"]
    refused(
        client.get(f"/api/v1/complaints/{cid}", headers={"Authorization": f"Bearer {theirs}"}),
        404,
        "complaint_not_found",
    )
    refused(
        client.get("/api/v1/complaints/999999", headers={"Authorization": f"Bearer {mine}"}), 404, "complaint_not_found"
    )
    assert client.get("/api/v1/complaints", headers={"Authorization": f"Bearer {theirs}"}).json["data"] == []


def test_unknown_api_route_answers_in_the_envelope(client):
    refused(client.get("/api/v1/nothing-here"), 404, "not_found")
    refused(client.delete("/api/v1/sessions"), 405, "method_not_allowed")


@pytest.mark.parametrize("change", [
    {"text": "小区门口\x00乱停车"},
    {"location": {"latitude": 34.2, "longitude": 117.1, "address": "3号楼\x00门口"}},
])
def test_a_nul_character_is_refused_not_a_server_error(client, wechat_sandbox, app, scene, change):
    """PostgreSQL cannot store a NUL character: anywhere it arrives (JSON, path, query, form) it is a 400."""
    import re

    token = sign_in(client, wechat_sandbox)
    before = counts(app)
    body = {"scene": scene, "category": "停车", "text": "小区门口乱停车", **change}
    refused(client.post("/api/v1/complaints", json=body, headers={"Authorization": f"Bearer {token}"}),
            400, "nul_character")
    refused(client.get(f"/api/v1/scenes/{scene[:4]}%00{scene[4:]}"), 400, "nul_character")
    refused(client.get("/api/v1/complaints?page=%00", headers={"Authorization": f"Bearer {token}"}),
            400, "nul_character")
    page = client.get(f"/h5/{scene}").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    sent = client.post(f"/h5/{scene}", data={"csrf_token": csrf, "category": "停车", "text": "门口\x00乱停车"})
    assert sent.status_code == 400 and "空字符" in sent.get_data(as_text=True)
    assert counts(app) == before
