"""The sandbox itself: it must refuse what WeChat refuses, and show people what they received."""

from __future__ import annotations

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
