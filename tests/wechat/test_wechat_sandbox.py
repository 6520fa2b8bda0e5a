"""The sandbox itself: it must refuse what WeChat refuses, and show people what they received."""

from __future__ import annotations

import logging
import time

import pytest
import requests

from wechat.field_rules import value_ok

from .support import APPID, RECEIVED, SECRET


def _post(sandbox, path: str, body: dict, **params) -> dict:
    res = sandbox.http.post(sandbox.url + path, json=body, params=params, timeout=5)
    assert res.status_code == 200
    return res.json()


def _stable_token(sandbox, force_refresh: bool = False) -> str:
    body = {"grant_type": "client_credential", "appid": APPID, "secret": SECRET, "force_refresh": force_refresh}
    return _post(sandbox, "/cgi-bin/stable_token", body)["access_token"]


def _check(sandbox, token: str | None) -> int:
    params = {"access_token": token} if token else {}
    return _post(sandbox, "/wxa/msg_sec_check", {"content": "你好"}, **params)["errcode"]


@pytest.mark.parametrize(
    ("key", "value", "ok"),
    [
        ("thing1", "楼道灯坏了", True),
        ("thing1", "一" * 20, True),
        ("thing1", "一" * 21, False),
        ("thing1", "", False),
        ("thing1", "第一行\n第二行", False),
        ("number2", "12.5", True),
        ("number2", "1" * 33, False),
        ("number2", "十二", False),
        ("letter3", "abcXYZ", True),
        ("letter3", "abc1", False),
        ("symbol4", "%#@", True),
        ("symbol4", "%%%%%%", False),
        ("character_string5", "XM-2026-0007", True),
        ("character_string5", "编号7", False),
        ("time6", "15:01", True),
        ("time6", "2026年11月23日 19:00", True),
        ("time6", "2026-11-23 19:00", True),
        ("time6", "2026-11-23 19:00 ~ 2026-11-23 21:00", True),
        ("time6", "2026-02-30 19:00", False),
        ("time6", "晚上七点", False),
        ("date7", "2026-11-23", True),
        ("date7", "2026年11月23日", True),
        ("date7", "11月23日", False),
        ("amount8", "￥12.50元", True),
        ("amount8", "12块", False),
        ("phone_number9", "+86 138-0000-0000", True),
        ("phone_number9", "1" * 18, False),
        ("car_number10", "粤A12345", True),
        ("car_number10", "粤A123456789", False),
        ("name11", "张阿姨", True),
        ("name11", "Alice Smith", True),
        ("name11", "张" * 11, False),
        ("phrase12", "已受理", True),
        ("phrase12", "已经受理完毕", False),
        ("phrase12", "done", False),
        ("unknown13", "x", False),
    ],
)
def test_field_rules(key, value, ok):
    assert value_ok(key, value) is ok


def test_stable_token_is_stable_until_force_refresh(sandbox):
    first = _stable_token(sandbox)
    assert _stable_token(sandbox) == first

    second = _stable_token(sandbox, force_refresh=True)

    assert second != first
    assert _check(sandbox, first) == 40001
    assert _check(sandbox, second) == 0


def test_plain_token_rotates_with_five_minute_overlap(sandbox, clock):
    params = {"grant_type": "client_credential", "appid": APPID, "secret": SECRET}
    first = sandbox.http.get(sandbox.url + "/cgi-bin/token", params=params, timeout=5).json()["access_token"]
    second = sandbox.http.get(sandbox.url + "/cgi-bin/token", params=params, timeout=5).json()["access_token"]

    assert first != second
    assert _check(sandbox, first) == 0
    clock.advance(301)
    assert _check(sandbox, first) == 40001
    assert _check(sandbox, second) == 0


def test_tokens_expire_after_their_ttl(make_sandbox, clock):
    sandbox = make_sandbox(token_ttl=60)
    token = _stable_token(sandbox)
    clock.advance(61)

    assert _check(sandbox, token) == 42001
    assert _check(sandbox, None) == 41001
    assert _check(sandbox, "forged") == 40001


@pytest.mark.parametrize(("appid", "secret", "errcode"), [("wx-other", SECRET, 40013), (APPID, "nope", 40125)])
def test_token_needs_the_right_credentials(sandbox, appid, secret, errcode):
    body = {"grant_type": "client_credential", "appid": appid, "secret": secret}
    assert _post(sandbox, "/cgi-bin/stable_token", body)["errcode"] == errcode


def test_faults_are_visible_counted_and_clearable(sandbox):
    sandbox.fault("wxacode", "latency_ms", 10, count=None)
    sandbox.fault("*", "errcode", 45011, count=2)

    faults = sandbox.control("GET", "/_sandbox/faults")["faults"]
    assert [(f["endpoint"], f["type"], f["remaining"]) for f in faults] == [
        ("wxacode", "latency_ms", None),
        ("*", "errcode", 2),
    ]
    body = {"grant_type": "client_credential", "appid": APPID, "secret": SECRET}
    assert _post(sandbox, "/cgi-bin/stable_token", body)["errcode"] == 45011

    sandbox.control("DELETE", "/_sandbox/faults")

    assert sandbox.control("GET", "/_sandbox/faults")["faults"] == []
    assert "access_token" in _post(sandbox, "/cgi-bin/stable_token", body)
    assert sandbox.calls()["endpoints"]["token"] == {"ok": 1, "failed": 1}


def test_control_api_refuses_unknown_templates_and_mixed_kinds(sandbox):
    url = sandbox.url + "/_sandbox/subscribe"
    unknown = sandbox.http.post(url, json={"openid": "o", "template_ids": ["tpl-nope"]}, timeout=5)
    mixed = sandbox.http.post(url, json={"openid": "o", "template_ids": ["tpl-received", "tpl-alert"]}, timeout=5)

    assert unknown.status_code == 400 and "tpl-nope" in unknown.json()["error"]
    assert mixed.status_code == 400


def test_reset_forgets_everything(sandbox, gateway, resident):
    sandbox.subscribe(resident, "tpl-received")
    gateway.send_subscribe_message(resident, "tpl-received", RECEIVED)

    sandbox.control("POST", "/_sandbox/reset")

    assert sandbox.messages() == []
    assert sandbox.calls()["tokens_issued"] == 0


def test_inbox_shows_each_persons_messages_escaped(sandbox, gateway, resident):
    sandbox.subscribe(resident, "tpl-received", "tpl-received")
    gateway.send_subscribe_message(resident, "tpl-received", {**RECEIVED, "thing1": "<b>三号楼</b>漏水"})
    gateway.send_subscribe_message(resident, "tpl-received", {**RECEIVED, "thing1": "路灯修好了"})
    sandbox.control("POST", "/_sandbox/users", {"openid": "o-other", "nickname": "李书记"})
    sandbox.subscribe("o-other", "tpl-alert")
    gateway.send_subscribe_message("o-other", "tpl-alert", {"thing1": "新反映", "character_string2": "XM-1"})

    page = requests.get(sandbox.url + "/inbox", timeout=5)
    html = page.text

    assert page.status_code == 200
    assert "张阿姨" in html and "李书记" in html
    assert "受理通知" in html and "问题" in html and "已受理" in html
    assert "&lt;b&gt;三号楼&lt;/b&gt;漏水" in html
    assert "<b>三号楼" not in html
    assert html.index("路灯修好了") < html.index("三号楼")  # newest first

    only_other = requests.get(sandbox.url + "/inbox", params={"openid": "o-other"}, timeout=5).text
    assert "新反映提醒" in only_other and "路灯修好了" not in only_other


def test_index_links_to_the_pages(sandbox):
    html = requests.get(sandbox.url + "/", timeout=5).text
    assert 'href="/inbox"' in html and 'href="/phone"' in html and "受理通知" in html
    assert "消息推送：未配置" in html
    key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
    sandbox.control("POST", "/_sandbox/push", {"url": "http://backend.test/wechat/push", "format": "xml",
                                               "mode": "safe", "aes_key": key})
    html = requests.get(sandbox.url + "/", timeout=5).text
    assert "http://backend.test/wechat/push（XML，安全模式）" in html


@pytest.mark.parametrize(("value", "ok"), [("不予协商", True), ("不予协商：个体矛盾", False), ("已在网格解决", False),
                                           ("已办结", True), ("已受理1", False), ("", False)])
def test_phrase_takes_up_to_five_chinese_characters_only(value, ok):
    assert value_ok("phrase2", value) is ok


def _send(sandbox, token: str, openid: str, page: str | None = None) -> dict:
    body = {"touser": openid, "template_id": "tpl-received", "data": {k: {"value": v} for k, v in RECEIVED.items()}}
    if page is not None:
        body["page"] = page
    return _post(sandbox, "/cgi-bin/message/subscribe/send", body, access_token=token)


def _user(sandbox, openid: str, sends: int = 1) -> None:
    sandbox.control("POST", "/_sandbox/users", {"openid": openid})
    sandbox.subscribe(openid, *["tpl-received"] * sends)


def test_forced_refreshes_are_limited_to_20_a_day_30_seconds_apart(sandbox, clock):
    _stable_token(sandbox, force_refresh=True)
    body = {"grant_type": "client_credential", "appid": APPID, "secret": SECRET, "force_refresh": True}

    assert _post(sandbox, "/cgi-bin/stable_token", body)["errcode"] == 45011  # 30 s not yet passed
    for _ in range(19):
        clock.advance(30)
        assert "access_token" in _post(sandbox, "/cgi-bin/stable_token", body)
    clock.advance(30)
    assert _post(sandbox, "/cgi-bin/stable_token", body)["errcode"] == 45009  # the 21st of the day
    assert "access_token" in _post(sandbox, "/cgi-bin/stable_token", {**body, "force_refresh": False})
    clock.advance(86400)
    assert "access_token" in _post(sandbox, "/cgi-bin/stable_token", body)
    assert sandbox.calls()["force_refreshes"] == 21


def test_one_user_logging_in_more_than_100_times_a_minute_is_refused(sandbox, clock):
    params = {"appid": APPID, "secret": SECRET, "grant_type": "authorization_code"}

    def login(openid: str) -> dict:
        code = sandbox.login_code(openid)
        return sandbox.http.get(sandbox.url + "/sns/jscode2session", params={**params, "js_code": code},
                                timeout=5).json()

    assert all("openid" in login("o-busy") for _ in range(100))
    assert login("o-busy")["errcode"] == 45011
    assert "openid" in login("o-other")  # the limit is per user
    clock.advance(61)
    assert "openid" in login("o-busy")


def test_overlapping_sends_to_one_user_are_refused_with_43108(sandbox):
    import concurrent.futures

    token = _stable_token(sandbox)
    _user(sandbox, "o-one", sends=2)
    _user(sandbox, "o-two")
    sandbox.fault("subscribe_send", "latency_ms", 300, count=2)

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        both = list(pool.map(lambda _: _send(sandbox, token, "o-one"), range(2)))
    assert sorted(r["errcode"] for r in both) == [0, 43108]

    sandbox.fault("subscribe_send", "latency_ms", 300, count=2)
    _user(sandbox, "o-one")
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        apart = list(pool.map(lambda oid: _send(sandbox, token, oid), ["o-one", "o-two"]))
    assert [r["errcode"] for r in apart] == [0, 0]
    assert _send(sandbox, token, "o-one")["errcode"] == 0  # one after the other is fine
    assert len(sandbox.messages(openid="o-one")) == 3


def test_a_page_the_mini_program_does_not_have_is_refused_when_the_sandbox_knows_its_pages(make_sandbox):
    sandbox = make_sandbox(app_pages=("pages/complaint/detail", "pages/report/index"))
    token = _stable_token(sandbox)
    _user(sandbox, "o-page", sends=2)

    assert _send(sandbox, token, "o-page", page="pages/complaint/missing?id=1")["errcode"] == 41030
    assert _send(sandbox, token, "o-page", page="/pages/complaint/detail?id=1")["errcode"] == 41030
    assert _send(sandbox, token, "o-page", page="pages/complaint/detail?id=1&n=7")["errcode"] == 0
    assert _send(sandbox, token, "o-page")["errcode"] == 0  # no page: the card opens nothing
    assert [m["page"] for m in sandbox.messages()] == ["pages/complaint/detail?id=1&n=7", None]


def test_the_app_pages_can_be_told_at_run_time(sandbox):
    token = _stable_token(sandbox)
    _user(sandbox, "o-told", sends=2)
    sandbox.control("POST", "/_sandbox/app_pages", {"pages": ["pages/topic/detail"]})
    assert _send(sandbox, token, "o-told", page="pages/complaint/detail?id=1")["errcode"] == 41030
    sandbox.control("POST", "/_sandbox/app_pages", {"pages": []})
    assert _send(sandbox, token, "o-told", page="pages/complaint/detail?id=1")["errcode"] == 0
    bad = sandbox.http.post(sandbox.url + "/_sandbox/app_pages", json={"pages": ["a?b=1"]}, timeout=5)
    assert bad.status_code == 400


def test_the_access_log_shows_no_secret_token_or_login_code(sandbox, caplog):
    caplog.set_level(logging.INFO, logger="werkzeug")
    token = _stable_token(sandbox)
    params = {"grant_type": "client_credential", "appid": APPID, "secret": SECRET}
    sandbox.http.get(sandbox.url + "/cgi-bin/token", params=params, timeout=5)
    code = sandbox.login_code("o-log")
    sandbox.http.get(sandbox.url + "/sns/jscode2session", timeout=5,
                     params={"appid": APPID, "secret": SECRET, "js_code": code, "grant_type": "authorization_code"})
    _check(sandbox, token)

    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "/sns/jscode2session" in logged and "/wxa/msg_sec_check" in logged
    assert SECRET not in logged and token not in logged and code not in logged
    assert "secret=***" in logged and "access_token=***" in logged and "js_code=***" in logged


def test_the_latency_switch_delays_every_call(make_sandbox):
    sandbox = make_sandbox(latency_ms=150)
    started = time.monotonic()
    _stable_token(sandbox)
    assert time.monotonic() - started >= 0.15
    assert [f["type"] for f in sandbox.control("GET", "/_sandbox/faults")["faults"]] == ["latency_ms"]
