"""WeChatGateway against the sandbox on a real port: what a caller sees when WeChat says yes and no."""

from __future__ import annotations

import io
import time

import pytest
import zxingcpp
from PIL import Image

from wechat import (
    LoginSession,
    WeChatGateway,
    WeChatLoginCodeInvalid,
    WeChatNoSubscription,
    WeChatRateLimited,
    WeChatRequestInvalid,
    WeChatRetryable,
    WeChatServerError,
    WeChatTokenError,
    WeChatUnreachable,
    WeChatUserInactive,
)

from .support import APPID, RECEIVED, SECRET

# -- login -------------------------------------------------------------------------------------------


def test_login_code_gives_openid_once(sandbox, gateway):
    code = sandbox.login_code("o-alice")

    session = gateway.code_to_session(code)

    assert isinstance(session, LoginSession)
    assert session.openid == "o-alice"
    assert session.session_key and session.session_key not in repr(session)
    assert session.unionid is None
    with pytest.raises(WeChatLoginCodeInvalid) as caught:
        gateway.code_to_session(code)
    assert caught.value.errcode == 40163
    assert caught.value.code == "wechat_login_code_invalid"


def test_login_code_expires_after_five_minutes(sandbox, gateway, clock):
    code = sandbox.login_code("o-alice")
    clock.advance(301)

    with pytest.raises(WeChatLoginCodeInvalid) as caught:
        gateway.code_to_session(code)
    assert caught.value.errcode == 40029


def test_login_code_within_five_minutes_works(sandbox, gateway, clock):
    code = sandbox.login_code("o-alice")
    clock.advance(290)

    assert gateway.code_to_session(code).openid == "o-alice"


def test_unknown_login_code_is_refused(gateway):
    with pytest.raises(WeChatLoginCodeInvalid) as caught:
        gateway.code_to_session("made-up-code")
    assert caught.value.errcode == 40029


def test_unionid_is_returned_when_the_user_has_one(sandbox, gateway):
    sandbox.control("POST", "/_sandbox/users", {"openid": "o-u", "nickname": "小王", "unionid": "union-1"})

    assert gateway.code_to_session(sandbox.login_code("o-u")).unionid == "union-1"


def test_wrong_secret_is_a_token_error_and_never_shown(sandbox, make_gateway):
    gateway = make_gateway(sandbox.url, secret="wrong-secret")

    with pytest.raises(WeChatTokenError) as caught:
        gateway.code_to_session(sandbox.login_code("o-alice"))
    assert caught.value.errcode == 40125
    assert "wrong-secret" not in str(caught.value)


# -- access token ------------------------------------------------------------------------------------


def test_token_is_fetched_once_and_reused(sandbox, gateway, resident):
    sandbox.subscribe(resident, "tpl-received", "tpl-received")

    gateway.send_subscribe_message(resident, "tpl-received", RECEIVED)
    gateway.send_subscribe_message(resident, "tpl-received", RECEIVED)
    gateway.msg_sec_check(resident, "楼道灯坏了")

    calls = sandbox.calls()
    assert calls["tokens_issued"] == 1
    assert calls["endpoints"]["token"] == {"ok": 1, "failed": 0}


def test_expired_token_is_replaced_by_a_normal_fetch_and_the_call_succeeds(sandbox, gateway, resident):
    """WeChat rolls an expiring stable token itself: a normal fetch gets the new one, no forced refresh is spent."""
    assert gateway.msg_sec_check(resident, "路灯不亮").suggest == "pass"
    sandbox.control("POST", "/_sandbox/expire_tokens")

    check = gateway.msg_sec_check(resident, "路灯不亮")

    assert check.suggest == "pass"
    calls = sandbox.calls()
    assert calls["tokens_issued"] == 2
    assert calls["force_refreshes"] == 0
    assert calls["endpoints"]["sec_check"] == {"ok": 2, "failed": 1}


def test_a_rejected_token_that_wechat_still_hands_out_is_force_refreshed_once(sandbox, gateway, resident):
    assert gateway.msg_sec_check(resident, "路灯不亮").suggest == "pass"
    sandbox.fault("sec_check", "errcode", 40001, count=1)  # WeChat refuses a token its normal fetch still returns

    check = gateway.msg_sec_check(resident, "路灯不亮")

    assert check.suggest == "pass"
    calls = sandbox.calls()
    assert calls["tokens_issued"] == 2
    assert calls["force_refreshes"] == 1
    assert calls["endpoints"]["sec_check"] == {"ok": 2, "failed": 1}


def test_a_token_replaced_in_the_store_is_used_by_the_next_call(sandbox, gateway, resident):
    """No process keeps a token of its own: a token another process stored is the one the next call sends."""
    old = gateway.access_token
    sandbox.control("POST", "/_sandbox/expire_tokens")
    gateway.session.set(gateway.access_token_key, "replaced-elsewhere", 60)
    assert gateway.access_token == "replaced-elsewhere"
    gateway.session.delete(gateway.access_token_key)

    assert gateway.msg_sec_check(resident, "路灯不亮").suggest == "pass"
    assert gateway.access_token != old
    assert sandbox.calls()["endpoints"]["sec_check"] == {"ok": 1, "failed": 0}


def test_token_rejected_twice_raises_after_one_refresh(sandbox, gateway, resident):
    sandbox.subscribe(resident, "tpl-received")
    sandbox.fault("subscribe_send", "errcode", 40001, count=None)

    with pytest.raises(WeChatTokenError) as caught:
        gateway.send_subscribe_message(resident, "tpl-received", RECEIVED)

    assert caught.value.errcode == 40001
    calls = sandbox.calls()
    assert calls["endpoints"]["subscribe_send"] == {"ok": 0, "failed": 2}
    assert calls["tokens_issued"] == 2
    assert sandbox.messages() == []


def test_bad_secret_stops_at_the_token_fetch(sandbox, make_gateway):
    gateway = make_gateway(sandbox.url, secret="nope")

    with pytest.raises(WeChatTokenError) as caught:
        gateway.msg_sec_check("o-x", "hello")

    assert caught.value.errcode == 40125
    calls = sandbox.calls()
    assert calls["tokens_issued"] == 0
    assert calls["endpoints"]["sec_check"] == {"ok": 0, "failed": 0}


def test_token_endpoint_down_is_retryable(sandbox, gateway):
    sandbox.fault("token", "http_500")

    with pytest.raises(WeChatServerError):
        gateway.msg_sec_check("o-x", "hello")


# -- subscribe messages ------------------------------------------------------------------------------


def test_one_time_subscription_allows_exactly_one_message(sandbox, gateway, resident):
    sandbox.subscribe(resident, "tpl-received")

    gateway.send_subscribe_message(resident, "tpl-received", RECEIVED, page="pages/mine/index?id=7")
    with pytest.raises(WeChatNoSubscription) as caught:
        gateway.send_subscribe_message(resident, "tpl-received", RECEIVED)

    assert caught.value.errcode == 43101
    assert not isinstance(caught.value, WeChatRetryable)
    [message] = sandbox.messages(openid=resident)
    assert message["template_title"] == "受理通知"
    assert message["data"] == RECEIVED
    assert message["page"] == "pages/mine/index?id=7"
    assert message["miniprogram_state"] == "formal"
    assert message["nickname"] == "张阿姨"


def test_never_subscribed_user_gets_nothing(sandbox, gateway, resident):
    with pytest.raises(WeChatNoSubscription):
        gateway.send_subscribe_message(resident, "tpl-received", RECEIVED)
    assert sandbox.messages() == []


def test_long_term_template_needs_one_accept_then_sends_freely(sandbox, gateway, resident):
    data = {"thing1": "新反映：楼道灯坏了", "character_string2": "XM-0007"}
    with pytest.raises(WeChatNoSubscription):
        gateway.send_subscribe_message(resident, "tpl-alert", data)

    sandbox.subscribe(resident, "tpl-alert")
    for _ in range(3):
        gateway.send_subscribe_message(resident, "tpl-alert", data, miniprogram_state="trial")

    assert [m["miniprogram_state"] for m in sandbox.messages(template_id="tpl-alert")] == ["trial"] * 3


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({**RECEIVED, "thing1": "楼" * 21}, "thing1"),
        ({**RECEIVED, "phrase2": "已受理了吗"[:4] + "ok"}, "phrase2"),
        ({**RECEIVED, "time3": "明天晚上"}, "time3"),
        ({**RECEIVED, "time3": "2026年11月23日 25:00"}, "time3"),
        ({k: v for k, v in RECEIVED.items() if k != "time3"}, "time3"),
        ({**RECEIVED, "thing9": "多余"}, "thing9"),
    ],
)
def test_field_rule_violation_is_47003_and_keeps_the_quota(sandbox, gateway, resident, data, field):
    sandbox.subscribe(resident, "tpl-received")

    with pytest.raises(WeChatRequestInvalid) as caught:
        gateway.send_subscribe_message(resident, "tpl-received", data)

    assert caught.value.errcode == 47003
    assert f"data.{field}" in caught.value.errmsg
    gateway.send_subscribe_message(resident, "tpl-received", RECEIVED)  # quota was not consumed
    assert len(sandbox.messages()) == 1


def test_unknown_template_is_40037(gateway, resident):
    with pytest.raises(WeChatRequestInvalid) as caught:
        gateway.send_subscribe_message(resident, "tpl-nope", RECEIVED)
    assert caught.value.errcode == 40037


# -- failures ----------------------------------------------------------------------------------------


def test_http_500_is_a_retryable_server_error(sandbox, gateway, resident):
    sandbox.subscribe(resident, "tpl-received")
    sandbox.fault("subscribe_send", "http_500")

    with pytest.raises(WeChatServerError) as caught:
        gateway.send_subscribe_message(resident, "tpl-received", RECEIVED)
    assert isinstance(caught.value, WeChatRetryable)
    assert caught.value.errcode is None

    gateway.send_subscribe_message(resident, "tpl-received", RECEIVED)  # the fault was for one call
    assert len(sandbox.messages()) == 1


def test_system_busy_is_a_server_error(sandbox, gateway, resident):
    sandbox.fault("sec_check", "errcode", -1)

    with pytest.raises(WeChatServerError) as caught:
        gateway.msg_sec_check(resident, "路灯不亮")
    assert caught.value.errcode == -1


def test_daily_quota_is_rate_limited(sandbox, gateway, resident):
    sandbox.subscribe(resident, "tpl-received")
    sandbox.fault("*", "errcode", 45009)

    with pytest.raises(WeChatRateLimited) as caught:
        gateway.send_subscribe_message(resident, "tpl-received", RECEIVED)
    assert caught.value.errcode == 45009
    assert sandbox.messages() == []


def test_timeout_raises_unreachable_within_the_timeout(sandbox, make_gateway, resident):
    gateway = make_gateway(sandbox.url, timeout=0.5)
    gateway.msg_sec_check(resident, "先拿到令牌")
    sandbox.fault("sec_check", "timeout", 3)

    started = time.monotonic()
    with pytest.raises(WeChatUnreachable) as caught:
        gateway.msg_sec_check(resident, "路灯不亮")

    assert time.monotonic() - started < 1.5
    assert caught.value.errcode is None
    assert isinstance(caught.value, WeChatRetryable)


def test_unreachable_host_hides_secret_and_token():
    with WeChatGateway(APPID, SECRET, base_url="http://127.0.0.1:9/", timeout=0.5) as gateway:
        with pytest.raises(WeChatUnreachable) as caught:
            gateway.code_to_session("some-code")

    assert SECRET not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


# -- content security --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "suggest", "label"),
    [
        ("三号楼门口的路灯坏了一周了", "pass", 100),
        ("小区里有人聚众赌博", "risky", 20006),
        ("可以代开发票，加微信", "risky", 10001),
        ("我要投诉某某领导不作为", "review", 20001),
    ],
)
def test_msg_sec_check_verdicts(gateway, resident, content, suggest, label):
    check = gateway.msg_sec_check(resident, content)

    assert (check.suggest, check.label) == (suggest, label)
    assert check.trace_id


def test_msg_sec_check_needs_a_recently_active_user(sandbox, gateway, resident, clock):
    sandbox.control("POST", "/_sandbox/users", {"openid": "o-never-logged-in"})
    with pytest.raises(WeChatUserInactive) as caught:
        gateway.msg_sec_check("o-never-logged-in", "路灯不亮")
    assert caught.value.errcode == 61010

    clock.advance(2 * 3600 + 1)
    with pytest.raises(WeChatUserInactive):
        gateway.msg_sec_check(resident, "路灯不亮")


# -- mini-program codes ------------------------------------------------------------------------------


def test_wxacode_is_a_png_that_scans_to_the_scene(gateway):
    png = gateway.get_wxacode_unlimited("u=12&c=3", width=430)

    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    assert image.size == (430, 430)
    [decoded] = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    assert "scene=u%3D12%26c%3D3" in decoded.text
    assert "page=pages%2Freport%2Findex" in decoded.text


@pytest.mark.parametrize(("scene", "errcode"), [("x" * 33, 40169), ("单位12", 40129), ("a b", 40129)])
def test_wxacode_refuses_bad_scenes(gateway, scene, errcode):
    with pytest.raises(WeChatRequestInvalid) as caught:
        gateway.get_wxacode_unlimited(scene)
    assert caught.value.errcode == errcode


def test_wxacode_checks_released_pages_when_asked(gateway):
    with pytest.raises(WeChatRequestInvalid) as caught:
        gateway.get_wxacode_unlimited("u=1", page="pages/draft/index", check_path=True)
    assert caught.value.errcode == 41030
    assert gateway.get_wxacode_unlimited("u=1", page="pages/draft/index", check_path=False)
