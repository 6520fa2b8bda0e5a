"""Complaints with phone, location and photos: schema-only fields, masked phones, privacy between residents."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from models import AuditEvent, Complaint

from .support import auth, counts, jpeg, refused, sign_in, upload

PHONE = "13812341234"


def staff_client(app):
    staff = app.test_client()
    page = staff.get("/staff/signin").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    res = staff.post("/staff/signin", data={"username": "wangge1", "password": "xinma-demo", "csrf_token": csrf})
    assert res.status_code in (302, 303)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', staff.get("/triage/").get_data(as_text=True)).group(1)
    return staff, csrf


def submit(client, token, scene, **extra):
    body = {"scene": scene, "category": "设施维修", "text": "路灯坏了两个星期", **extra}
    return client.post("/api/v1/complaints", json=body, headers=auth(token))


def test_phone_is_masked_in_every_json(client, wechat_sandbox, app, scene):
    token = sign_in(client, wechat_sandbox)
    res = submit(client, token, scene, phone=PHONE, location={"latitude": 34.2, "longitude": 117.3,
                                                             "address": "梁堂村东头"})
    assert res.status_code == 201, res.json
    cid = res.json["data"]["id"]
    assert res.json["data"]["phone"] == "138****1234"
    assert res.json["data"]["location"]["address"] == "梁堂村东头"
    pages = [res, client.get("/api/v1/complaints", headers=auth(token)),
             client.get(f"/api/v1/complaints/{cid}", headers=auth(token))]
    for page in pages:
        assert PHONE not in page.get_data(as_text=True)
        assert "138****1234" in page.get_data(as_text=True)


def test_phone_is_masked_on_the_staff_pages(client, wechat_sandbox, app, scene):
    token = sign_in(client, wechat_sandbox)
    cid = submit(client, token, scene, phone=PHONE).json["data"]["id"]
    staff, _ = staff_client(app)
    for path in ("/triage/?state=submitted", "/triage/", f"/triage/complaints/{cid}"):
        page = staff.get(path)
        assert PHONE not in page.get_data(as_text=True), path


def test_staff_reveal_is_explicit_and_audited(client, wechat_sandbox, app, scene):
    token = sign_in(client, wechat_sandbox)
    cid = submit(client, token, scene, phone=PHONE).json["data"]["id"]
    staff, csrf = staff_client(app)
    refused(staff.post(f"/api/staff/complaints/{cid}/phone", data={"reason": "上门核实"}), 400, "csrf_invalid")
    refused(staff.post(f"/api/staff/complaints/{cid}/phone", data={"csrf_token": csrf, "reason": " "}),
            400, "reveal_reason_required")
    res = staff.post(f"/api/staff/complaints/{cid}/phone", data={"csrf_token": csrf, "reason": "上门核实"})
    assert res.status_code == 200 and res.json["data"]["phone"] == PHONE
    with app.extensions["xinma.sessionmaker"]() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "reveal_phone")).all()
        assert [(e.subject_id, e.actor_kind, e.reason) for e in events] == [(cid, "staff", "上门核实")]
    # not in the resident's timeline
    labels = [s["label"] for s in client.get(f"/api/v1/complaints/{cid}", headers=auth(token)).json["data"]["timeline"]]
    assert labels == ["您的反映已提交"]
    # a secretary of another street, or no one signed in, learns nothing
    anonymous = app.test_client()
    refused(anonymous.post(f"/api/staff/complaints/{cid}/phone", data={"reason": "x"}), 401, "signin_required")


@pytest.mark.parametrize("field", [{"state": "closed"}, {"unit": 3}, {"unit_id": 1}, {"assignee": "李"},
                                   {"created_at": "2020-01-01T00:00:00Z"}, {"content_check": "pass"}])
def test_staff_only_and_unknown_fields_are_refused(client, wechat_sandbox, app, scene, field):
    token = sign_in(client, wechat_sandbox)
    before = counts(app)
    refused(submit(client, token, scene, **field), 400, "unknown_field")
    assert counts(app) == before


@pytest.mark.parametrize(("extra", "code"), [
    ({"phone": "1381234123"}, "phone_invalid"),
    ({"phone": "13812341234\n"}, "phone_invalid"),
    ({"phone": 13812341234}, "phone_invalid"),
    ({"location": {"latitude": 91, "longitude": 0}}, "location_invalid"),
    ({"location": {"latitude": 30, "longitude": 120, "floor": 3}}, "location_invalid"),
    ({"location": {"latitude": True, "longitude": 120}}, "location_invalid"),
    ({"photos": [1, 2, 3, 4, 5, 6, 7]}, "photos_too_many"),
    ({"photos": "1"}, "photos_invalid"),
    ({"text": " " + "字" * 1000}, "text_too_long"),
])
def test_bad_optional_fields_change_nothing(client, wechat_sandbox, app, scene, extra, code):
    token = sign_in(client, wechat_sandbox)
    before = counts(app)
    refused(submit(client, token, scene, **extra), 400, code)
    assert counts(app) == before


def test_up_to_six_own_photos_attach(client, wechat_sandbox, app, scene):
    token = sign_in(client, wechat_sandbox)
    ids = [upload(client, token, jpeg()).json["data"]["id"] for _ in range(6)]
    res = submit(client, token, scene, photos=ids)
    assert res.status_code == 201, res.json
    assert [p["id"] for p in res.json["data"]["photos"]] == ids
    refused(submit(client, token, scene, photos=ids[:1]), 400, "photo_already_used")
    other = sign_in(client, wechat_sandbox, "o-other")
    theirs = upload(client, other, jpeg()).json["data"]["id"]
    refused(submit(client, token, scene, photos=[theirs]), 404, "photo_not_found")


def test_another_residents_complaint_is_a_plain_404(client, wechat_sandbox, app, scene):
    owner = sign_in(client, wechat_sandbox, "o-owner")
    cid = submit(client, owner, scene, phone=PHONE).json["data"]["id"]
    intruder = sign_in(client, wechat_sandbox, "o-intruder")
    theirs = refused(client.get(f"/api/v1/complaints/{cid}", headers=auth(intruder)), 404, "complaint_not_found")
    missing = refused(client.get(f"/api/v1/complaints/{cid + 999}", headers=auth(intruder)), 404,
                      "complaint_not_found")
    assert theirs.get_data() == missing.get_data()
    assert client.get("/api/v1/complaints", headers=auth(intruder)).json["data"] == []
    with app.extensions["xinma.sessionmaker"]() as session:
        assert session.get(Complaint, cid) is not None


def test_the_stored_replay_answer_holds_only_the_masked_phone(client, wechat_sandbox, app, scene):
    from models.intake import IdempotencyKey

    token = sign_in(client, wechat_sandbox)
    headers = {**auth(token), "Idempotency-Key": "phone-key-0001"}
    body = {"scene": scene, "category": "设施维修", "text": "路灯坏了两个星期", "phone": PHONE}
    first = client.post("/api/v1/complaints", json=body, headers=headers)
    again = client.post("/api/v1/complaints", json=body, headers=headers)
    assert first.status_code == again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json["data"]["phone"] == "138****1234" and PHONE not in again.get_data(as_text=True)
    with app.extensions["xinma.sessionmaker"]() as session:
        stored = session.scalar(select(IdempotencyKey.response))
    assert "138****1234" in stored and PHONE not in stored
