"""getuserphonenumber through the gateway against the sandbox: codes single-use, expiring, bound to their user."""

from __future__ import annotations

import pytest
import requests

from wechat import WeChatRequestInvalid
from wechat.errors import WeChatPhoneCodeInvalid


def _code(sandbox, openid="o-p", phone="13800138000", country_code="86") -> str:
    return sandbox.control("POST", "/_sandbox/phone_code",
                           {"openid": openid, "phone": phone, "country_code": country_code})["code"]


def test_a_code_gives_the_number_once(sandbox, gateway):
    code = _code(sandbox)
    number = gateway.get_phone_number(code, openid="o-p")
    assert (number.phone, number.country_code) == ("13800138000", "86")
    assert "13800138000" not in repr(number)
    with pytest.raises(WeChatPhoneCodeInvalid) as caught:
        gateway.get_phone_number(code)
    assert caught.value.errcode == 40029


def test_a_code_expires_and_is_bound_to_its_user(sandbox, gateway, clock):
    with pytest.raises(WeChatPhoneCodeInvalid):
        gateway.get_phone_number(_code(sandbox), openid="o-someone-else")
    late = _code(sandbox)
    clock.advance(301)
    with pytest.raises(WeChatPhoneCodeInvalid):
        gateway.get_phone_number(late)
    with pytest.raises(WeChatPhoneCodeInvalid):
        gateway.get_phone_number("made-up")


def test_the_answer_is_wechats_and_needs_a_token(sandbox, gateway):
    raw = requests.post(sandbox.url + "/wxa/business/getuserphonenumber", json={"code": _code(sandbox)}, timeout=5)
    assert raw.json()["errcode"] == 41001
    foreign = gateway.get_phone_number(_code(sandbox, phone="2025550123", country_code="1"))
    assert (foreign.phone, foreign.country_code) == ("2025550123", "1")
    token = gateway.access_token
    answer = requests.post(sandbox.url + "/wxa/business/getuserphonenumber", params={"access_token": token},
                           json={"code": _code(sandbox, phone="2025550123", country_code="1")}, timeout=5).json()
    assert answer["phone_info"]["phoneNumber"] == "+1 2025550123"
    assert answer["phone_info"]["watermark"]["appid"] == sandbox.options["appid"]
    with pytest.raises(WeChatRequestInvalid) as caught:
        gateway.wxa._post("wxa/business/getuserphonenumber", data={})
    assert caught.value.errcode == 47001
