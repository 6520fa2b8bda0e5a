"""Reading WeChat's message pushes: pinned to WeChat's published examples, every mode and format, and refusals."""

from __future__ import annotations

import json

import pytest

from wechat.push import FORMATS, MODES, PushRejected, check_push_signature, encode_push, read_push

# The plaintext signature example wechatpy's own tests check (wechatpy/tests/test_utils.py).
PLAIN = {"token": "test", "signature": "f21891de399b4e33a1a93c9a7b8a8fffb5a443ff", "timestamp": "1410685589",
         "nonce": "test"}
# WeChat's published safe-mode sample (WXBizMsgCrypt sample code and its documentation): Token, EncodingAESKey,
# appid, the query and the encrypted body of a push whose plaintext is a text message "hello".
SAMPLE_TOKEN = "QDG6eK"
SAMPLE_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
SAMPLE_APPID = "wx5823bf96d3bd56c7"
SAMPLE_QUERY = {"msg_signature": "477715d11cdb4164915debcba66cb864d751f3e6", "timestamp": "1409659813",
                "nonce": "1372623149", "encrypt_type": "aes"}
SAMPLE_ENCRYPT = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUU"
    "kSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0"
    "ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMN"
    "S0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pD"
    "BS8R07+qN+E7Q=="
)
SAMPLE_XML = (f"<xml><ToUserName><![CDATA[{SAMPLE_APPID}]]></ToUserName>"
              f"<Encrypt><![CDATA[{SAMPLE_ENCRYPT}]]></Encrypt></xml>")
KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


def test_the_plaintext_signature_example_is_accepted_and_a_changed_one_is_not():
    assert check_push_signature(PLAIN["token"], PLAIN["signature"], PLAIN["timestamp"], PLAIN["nonce"])
    assert not check_push_signature(PLAIN["token"], PLAIN["signature"], PLAIN["timestamp"], "tesT")
    assert not check_push_signature("", PLAIN["signature"], PLAIN["timestamp"], PLAIN["nonce"])


def test_wechats_safe_mode_sample_decrypts_in_xml_and_in_json():
    read = read_push(SAMPLE_QUERY, SAMPLE_XML.encode(), token=SAMPLE_TOKEN, aes_key=SAMPLE_KEY, appid=SAMPLE_APPID)
    assert (read["Content"], read["FromUserName"], read["MsgId"]) == ("hello", "mycreate", "4561255354251345929")
    body = json.dumps({"ToUserName": SAMPLE_APPID, "Encrypt": SAMPLE_ENCRYPT}).encode()
    assert read_push(SAMPLE_QUERY, body, token=SAMPLE_TOKEN, aes_key=SAMPLE_KEY, appid=SAMPLE_APPID) == read


@pytest.mark.parametrize(("change", "code"), [
    ({"msg_signature": "0" * 40}, "push_signature_invalid"),
    ({"nonce": "1372623148"}, "push_signature_invalid"),
    ({"appid": "wx-someone-else"}, "push_unreadable"),
    ({"aes_key": KEY}, "push_unreadable"),
    ({"aes_key": ""}, "push_unreadable"),
])
def test_the_sample_with_anything_changed_is_refused(change, code):
    query = {**SAMPLE_QUERY, **{k: v for k, v in change.items() if k in SAMPLE_QUERY}}
    with pytest.raises(PushRejected) as refused:
        read_push(query, SAMPLE_XML.encode(), token=SAMPLE_TOKEN, aes_key=change.get("aes_key", SAMPLE_KEY),
                  appid=change.get("appid", SAMPLE_APPID))
    assert refused.value.code == code


POPUP = {"ToUserName": "gh_x", "FromUserName": "o-zhang", "CreateTime": 1700000000, "MsgType": "event",
         "Event": "subscribe_msg_popup_event",
         "List": [{"TemplateId": "t-1", "SubscribeStatusString": "accept", "PopupScene": "0"}]}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("mode", MODES)
def test_every_mode_and_format_reads_back_with_list_always_a_list(fmt, mode):
    for items in (POPUP["List"], [*POPUP["List"], {"TemplateId": "t-2", "SubscribeStatusString": "reject"}]):
        event = {**POPUP, "List": items}
        query, body, _ = encode_push(event, token="tk", timestamp="1700000000", nonce="n1", fmt=fmt, mode=mode,
                                     aes_key=KEY, appid="wx-app")
        read = read_push(query, body, token="tk", aes_key=KEY, appid="wx-app")
        assert read["Event"] == "subscribe_msg_popup_event" and read["FromUserName"] == "o-zhang"
        assert [i["TemplateId"] for i in read["List"]] == [i["TemplateId"] for i in items]
        if mode == "safe":
            assert b"o-zhang" not in body


def test_json_list_is_an_object_for_one_item_and_xml_nests_it():
    _, one, _ = encode_push(POPUP, token="tk", timestamp="1", nonce="n", fmt="json")
    assert b'"List": {"TemplateId"' in one
    _, xml, _ = encode_push(POPUP, token="tk", timestamp="1", nonce="n", fmt="xml")
    assert b"<SubscribeMsgPopupEvent><List><TemplateId><![CDATA[t-1]]></TemplateId>" in xml


def test_compatible_mode_is_read_from_its_plaintext_copy_without_a_key():
    query, body, _ = encode_push(POPUP, token="tk", timestamp="1", nonce="n", mode="compatible", aes_key=KEY,
                                 appid="wx-app")
    assert read_push(query, body, token="tk")["List"][0]["TemplateId"] == "t-1"
    query_safe, safe, _ = encode_push(POPUP, token="tk", timestamp="1", nonce="n", mode="safe", aes_key=KEY,
                                      appid="wx-app")
    with pytest.raises(PushRejected, match="push_unreadable"):
        read_push(query_safe, safe, token="tk")


@pytest.mark.parametrize("body", [b"", b"success", b"[1, 2]", b"{not json", b"<xml><a>", b"<root/>",
                                  b'<!DOCTYPE xml [<!ENTITY e "x">]><xml><Event>&e;</Event></xml>'])
def test_a_body_that_is_not_a_push_is_unreadable(body):
    query = {"signature": "f21891de399b4e33a1a93c9a7b8a8fffb5a443ff", "timestamp": "1410685589", "nonce": "test"}
    with pytest.raises(PushRejected) as refused:
        read_push(query, body, token="test")
    assert refused.value.code == "push_unreadable"


def test_an_encrypted_body_without_encrypt_type_is_not_taken_for_an_empty_push():
    query, body, _ = encode_push(POPUP, token="tk", timestamp="1", nonce="n", mode="safe", aes_key=KEY,
                                 appid="wx-app")
    plain_query = {k: query[k] for k in ("signature", "timestamp", "nonce")}
    with pytest.raises(PushRejected, match="push_unreadable"):
        read_push(plain_query, body, token="tk", aes_key=KEY, appid="wx-app")


def test_a_subscribe_event_without_items_is_unreadable():
    query, body, _ = encode_push({**POPUP, "List": "nothing"}, token="tk", timestamp="1", nonce="n")
    with pytest.raises(PushRejected, match="push_unreadable"):
        read_push(query, body, token="tk")
