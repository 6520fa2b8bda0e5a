"""POST /api/v1/phone: a resident taps 使用微信手机号, the number WeChat gives fills their complaint's phone; a bad,
used, expired or other resident's code, a foreign number and WeChat's failures are each refused with their code."""

from __future__ import annotations

import logging

import requests
import schemathesis

from intake.openapi import openapi_document

from .support import auth, counts, refused, sign_in

NUMBER = "13912345678"


def phone_code(wechat_sandbox, openid: str, phone: str = NUMBER, country_code: str = "86") -> str:
    """What the getPhoneNumber button hands the mini-program once the resident allows."""
    return wechat_sandbox.control("POST", "/_sandbox/phone_code",
                                  {"openid": openid, "phone": phone, "country_code": country_code})["code"]


def test_the_number_fills_the_complaint_and_is_shown_masked_to_staff(client, wechat_sandbox, app, scene, caplog):
    caplog.set_level(logging.DEBUG)
    token = sign_in(client, wechat_sandbox, "o-phone")
    before = counts(app)

    res = client.post("/api/v1/phone", json={"code": phone_code(wechat_sandbox, "o-phone")}, headers=auth(token))

    assert res.status_code == 200, res.json
    assert res.json["data"] == {"phone": NUMBER, "masked": "139****5678"}
    schemathesis.openapi.from_dict(openapi_document())["/phone"]["POST"].validate_response(res)
    assert counts(app) == before  # nothing stored until the resident submits it
    assert NUMBER not in caplog.text

    sent = client.post("/api/v1/complaints", headers=auth(token), json={
        "scene": scene, "category": "设施维修", "text": "楼道灯坏了", "phone": res.json["data"]["phone"]})
    assert sent.status_code == 201, sent.json
    assert sent.json["data"]["phone"] == "139****5678"


def test_a_code_works_once_and_only_for_its_own_resident(client, wechat_sandbox):
    token = sign_in(client, wechat_sandbox, "o-one")
    other = sign_in(client, wechat_sandbox, "o-two")
    code = phone_code(wechat_sandbox, "o-one")

    refused(client.post("/api/v1/phone", json={"code": code}, headers=auth(other)), 400, "phone_code_invalid")
    assert client.post("/api/v1/phone", json={"code": code}, headers=auth(token)).status_code == 200
    res = refused(client.post("/api/v1/phone", json={"code": code}, headers=auth(token)), 400, "phone_code_invalid")
    assert "使用微信手机号" in res.json["error"]["message"]


def test_a_code_expires_after_five_minutes(client, wechat_sandbox):
    token = sign_in(client, wechat_sandbox, "o-late")
    code = phone_code(wechat_sandbox, "o-late")
    wechat_sandbox.clock.advance(301)
    refused(client.post("/api/v1/phone", json={"code": code}, headers=auth(token)), 400, "phone_code_invalid")


def test_bad_requests_are_refused_before_asking_wechat(client, wechat_sandbox):
    token = sign_in(client, wechat_sandbox, "o-bad")
    refused(client.post("/api/v1/phone", json={"code": "x"}), 401, "session_missing")
    refused(client.post("/api/v1/phone", json={"code": "  "}, headers=auth(token)), 400, "phone_code_missing")
    refused(client.post("/api/v1/phone", json={"code": 5}, headers=auth(token)), 400, "phone_code_missing")
    refused(client.post("/api/v1/phone", json={"code": "a", "phone": NUMBER}, headers=auth(token)), 400,
            "unknown_field")
    calls = wechat_sandbox.control("GET", "/_sandbox/calls")["endpoints"]["phone"]
    assert calls == {"ok": 0, "failed": 0}


def test_a_number_outside_mainland_china_is_not_offered(client, wechat_sandbox):
    token = sign_in(client, wechat_sandbox, "o-hk")
    code = phone_code(wechat_sandbox, "o-hk", phone="91234567", country_code="852")
    res = refused(client.post("/api/v1/phone", json={"code": code}, headers=auth(token)), 422, "phone_not_mainland")
    assert "91234567" not in res.get_data(as_text=True)


def test_wechat_failures_are_clean_503s(client, wechat_sandbox, caplog):
    token = sign_in(client, wechat_sandbox, "o-down")
    caplog.set_level(logging.WARNING)
    for errcode, expected in ((45011, "wechat_unavailable"), (40164, "wechat_misconfigured"),
                              (48001, "phone_unavailable")):
        wechat_sandbox.fault("phone", "errcode", errcode)
        res = client.post("/api/v1/phone", json={"code": phone_code(wechat_sandbox, "o-down")}, headers=auth(token))
        refused(res, 503, expected)
    assert "errcode 40164" in caplog.text and "errcode 48001" in caplog.text


def test_rate_limited_like_sign_in(client, wechat_sandbox):
    token = sign_in(client, wechat_sandbox, "o-many")  # one sign-in: 9 of the resident's 10 a minute are left
    answers = [client.post("/api/v1/phone", json={"code": f"guess-{i}"}, headers=auth(token)) for i in range(10)]
    assert [a.status_code for a in answers] == [400] * 9 + [429]
    assert int(answers[-1].headers["Retry-After"]) >= 1
    assert wechat_sandbox.control("GET", "/_sandbox/calls")["endpoints"]["phone"]["failed"] == 9


def test_the_simulated_phone_fills_the_complaint_with_the_wechat_number(settings_env, redis_url, redis, db_clean):
    """A person walks it on the sandbox's phone: 使用微信手机号, then submit; staff's copy holds the number."""
    from sqlalchemy import select

    from app import create_app
    from models.intake import ComplaintContact
    from models.message_templates import MINIPROGRAM_PAGES
    from qr.demo import seed_demo
    from tests.conftest import LiveServer
    from web.settings import SANDBOX_APPID, SANDBOX_SECRET, load_settings
    from wechat import create_sandbox_app, serve_in_thread
    from workers.rendering import sandbox_templates

    phone_app = create_sandbox_app(appid=SANDBOX_APPID, secret=SANDBOX_SECRET, templates=sandbox_templates(),
                                   app_pages=MINIPROGRAM_PAGES)
    server, thread, sandbox_url = serve_in_thread(phone_app)
    application = create_app(load_settings(dict(settings_env, XINMA_WECHAT_API_BASE=sandbox_url + "/",
                                                XINMA_REDIS_URL=redis_url)))
    live = LiveServer(application)
    phone_app.extensions["wechat_sandbox.config"].backend = live.url  # the sandbox's backend_url, now known
    try:
        factory = application.extensions["xinma.sessionmaker"]
        with factory() as session:
            seed_demo(session)
            session.commit()
        scene = client_scene(application)
        page = requests.post(f"{sandbox_url}/phone", data={
            "openid": "o-walk", "scene": scene, "category": "设施维修", "text": "楼道灯坏了",
            "wechat_phone": NUMBER}, timeout=20)
        assert page.status_code == 201, page.text
        assert "139****5678" in page.text and NUMBER not in page.text
        with factory() as session:
            assert session.scalar(select(ComplaintContact.phone)) == NUMBER
    finally:
        live.stop()
        application.extensions["xinma.engine"].dispose()
        server.shutdown()
        server.server_close()
        thread.join(5)


def client_scene(application) -> str:
    from sqlalchemy import select

    from models import QrCode, Unit

    with application.extensions["xinma.sessionmaker"]() as session:
        unit = session.scalar(select(Unit).where(Unit.name == "梁堂村第一网格"))
        return session.scalar(select(QrCode.token).where(QrCode.unit_id == unit.id, QrCode.revoked_at.is_(None)))
