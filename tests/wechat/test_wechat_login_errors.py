"""What a resident and an operator see when WeChat refuses a login or the account's settings, driven through the
sandbox's failure switches and its real credential checks."""

from __future__ import annotations

import logging
import re

import pytest
from flask import Flask

from web.settings import load_settings


def _calls(wechat_sandbox, endpoint: str) -> dict:
    return wechat_sandbox.control("GET", "/_sandbox/calls")["endpoints"][endpoint]


def test_high_risk_user_is_told_so_once_and_not_as_an_invalid_code(client, wechat_sandbox):
    wechat_sandbox.fault("login", "errcode", 40226)
    code = wechat_sandbox.login_code("o-risky")

    res = client.post("/api/v1/sessions", json={"code": code})

    assert res.status_code == 403
    assert res.json["error"]["code"] == "login_user_risky"
    assert "安全风险" in res.json["error"]["message"] and "登录凭证" not in res.json["error"]["message"]
    assert _calls(wechat_sandbox, "login") == {"ok": 0, "failed": 1}  # asked WeChat once, no retry


def test_an_invalid_code_is_still_an_invalid_code(client, wechat_sandbox):
    res = client.post("/api/v1/sessions", json={"code": "made-up"})
    assert res.status_code == 400 and res.json["error"]["code"] == "login_code_invalid"


@pytest.mark.parametrize("errcode", [40013, 40125, 40164])
def test_wrong_settings_at_login_are_a_clean_503_and_logged(client, wechat_sandbox, caplog, errcode):
    wechat_sandbox.fault("login", "errcode", errcode)
    caplog.set_level(logging.ERROR)

    res = client.post("/api/v1/sessions", json={"code": wechat_sandbox.login_code("o-settings")})

    assert res.status_code == 503
    assert res.json["error"] == {"code": "wechat_misconfigured",
                                 "message": "系统与微信的连接配置有误，工作人员正在处理，请稍后再试。"}
    assert f"errcode {errcode}" in caplog.text and "XINMA_WECHAT_SECRET" in caplog.text
    assert "server_error" not in res.get_data(as_text=True)


def _app_with(settings_env, **env) -> Flask:
    from app import create_app

    application = create_app(load_settings(dict(settings_env, **env)))
    application.config["TESTING"] = True
    return application


def test_a_wrong_secret_is_refused_by_the_sandbox_itself_and_answered_503(settings_env, db_clean, wechat_sandbox):
    application = _app_with(settings_env, XINMA_WECHAT_SECRET="not-the-secret")
    try:
        res = application.test_client().post("/api/v1/sessions", json={"code": wechat_sandbox.login_code("o-x")})
    finally:
        application.extensions["xinma.engine"].dispose()
    assert res.status_code == 503 and res.json["error"]["code"] == "wechat_misconfigured"
    assert "not-the-secret" not in res.get_data(as_text=True)


def test_ip_not_whitelisted_on_the_token_fetch_is_a_503_for_the_admin_too(client, wechat_sandbox, demo, caplog):
    """40164 comes from the token fetch before any call: the mini-program code download says so, not 500/502."""
    from models import QrCode

    with client.application.extensions["xinma.sessionmaker"]() as session:
        code = session.query(QrCode).filter(QrCode.revoked_at.is_(None)).first()
        unit_id = code.unit_id
    _sign_in_admin(client)
    wechat_sandbox.fault("token", "errcode", 40164, count=None)
    caplog.set_level(logging.ERROR)

    res = client.get(f"/admin/units/{unit_id}/wxacode.png")

    assert res.status_code == 503, res.get_data(as_text=True)[:300]
    assert "系统与微信的连接配置有误" in res.get_data(as_text=True)
    assert "errcode 40164" in caplog.text


def _sign_in_admin(client) -> None:
    from qr.demo import DEMO_PASSWORD

    page = client.get("/staff/signin").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post("/staff/signin", data={"csrf_token": token, "username": "admin", "password": DEMO_PASSWORD})
