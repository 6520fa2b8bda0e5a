"""The sandbox pushes what WeChat pushes, signed and in the configured format and mode, and retries a refusal."""

from __future__ import annotations

import time

import flask
import pytest

from wechat import serve_in_thread
from wechat.push import FORMATS, MODES, PushRejected, read_push

from .support import RECEIVED

PUSH_TOKEN = "push-token-for-tests"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


@pytest.fixture
def receiver():
    """A backend's push endpoint that reads each push as the project must (or refuses it) and keeps it."""
    app = flask.Flask("receiver")
    got: dict = {"events": [], "raw": [], "refuse": 0}

    @app.post("/wechat/push")
    def push():
        got["raw"].append((dict(flask.request.args), flask.request.get_data(), flask.request.content_type))
        if got["refuse"]:
            got["refuse"] -= 1
            return "busy", 503
        try:
            got["events"].append(read_push(flask.request.args, flask.request.get_data(), token=PUSH_TOKEN,
                                           aes_key=AES_KEY, appid=flask.current_app.config["APPID"]))
        except PushRejected as exc:
            return exc.code, 400
        return "success"

    server, thread, url = serve_in_thread(app)
    got["app"], got["url"] = app, url + "/wechat/push"
    yield got
    server.shutdown()
    server.server_close()
    thread.join(5)


def _configure(sandbox, receiver, **settings) -> None:
    receiver["app"].config["APPID"] = sandbox.options["appid"]
    sandbox.control("POST", "/_sandbox/push", {"url": receiver["url"], "token": PUSH_TOKEN, "aes_key": AES_KEY,
                                               "delay": 0.05, **settings})


def _wait(receiver, count: int) -> list[dict]:
    deadline = time.monotonic() + 5
    while len(receiver["events"]) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    return receiver["events"]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("mode", MODES)
def test_subscribe_popup_and_settings_push_signed_events(sandbox, receiver, fmt, mode):
    _configure(sandbox, receiver, format=fmt, mode=mode)
    sandbox.control("POST", "/_sandbox/users", {"openid": "o-push"})

    answered = sandbox.control("POST", "/_sandbox/subscribe", {"openid": "o-push", "template_ids": ["tpl-received"],
                                                               "answers": {"tpl-received": "reject"}})
    sandbox.control("POST", "/_sandbox/unsubscribe", {"openid": "o-push", "template_ids": ["tpl-received"]})

    assert answered["push"]["delivered"] is True and answered["quota"] == {"tpl-received": 0}
    popup, change = _wait(receiver, 2)
    assert popup["Event"] == "subscribe_msg_popup_event" and popup["FromUserName"] == "o-push"
    assert popup["List"] == [{"TemplateId": "tpl-received", "SubscribeStatusString": "reject", "PopupScene": "0"}]
    assert change["Event"] == "subscribe_msg_change_event"
    assert change["List"][0]["SubscribeStatusString"] == "reject"
    query, body, content_type = receiver["raw"][0]
    assert content_type == ("application/json" if fmt == "json" else "text/xml")
    assert ("msg_signature" in query) is (mode != "plain")
    assert (b"o-push" in body) is (mode != "safe")


def test_a_send_pushes_its_sent_event_with_the_msgid_it_answered(sandbox, gateway, resident, receiver):
    _configure(sandbox, receiver, format="xml", mode="safe")
    sandbox.subscribe(resident, "tpl-received")
    gateway.send_subscribe_message(resident, "tpl-received", RECEIVED)

    sent = [e for e in _wait(receiver, 2) if e["Event"] == "subscribe_msg_sent_event"]
    assert sent and sent[0]["FromUserName"] == resident
    msgid = sandbox.messages()[0]["msgid"]
    assert sent[0]["List"] == [{"TemplateId": "tpl-received", "MsgID": str(msgid), "ErrorCode": "0",
                                "ErrorStatus": "success"}]


def test_a_media_check_pushes_its_verdict_and_a_chosen_one_can_follow(sandbox, gateway, resident, receiver):
    _configure(sandbox, receiver, media_verdict="risky")
    trace_id = gateway.media_check_async(resident, "https://xinma.test/wechat/media/a.jpg")

    verdict = _wait(receiver, 1)[0]
    assert (verdict["Event"], verdict["trace_id"], verdict["version"]) == ("wxa_media_check", trace_id, 2)
    assert verdict["result"] == {"suggest": "risky", "label": 21000} and verdict["errcode"] == 0
    sandbox.control("POST", f"/_sandbox/media_checks/{trace_id}/verdict", {"suggest": "pass", "errcode": -1008})
    assert _wait(receiver, 2)[1]["errcode"] == -1008
    assert sandbox.control("GET", "/_sandbox/media_checks")["media_checks"][0]["pushed"] == "pass"


def test_privacy_events_name_the_user(sandbox, receiver):
    _configure(sandbox, receiver, mode="compatible")
    sandbox.control("POST", "/_sandbox/privacy", {"openid": "o-gone", "event": "user_authorization_revoke",
                                                  "revoke_info": "8,13"})
    sandbox.control("POST", "/_sandbox/privacy", {"openid": "o-gone", "event": "user_authorization_cancellation"})

    revoke, cancel = _wait(receiver, 2)
    assert (revoke["Event"], revoke["OpenID"], revoke["RevokeInfo"]) == ("user_authorization_revoke", "o-gone", "8,13")
    assert (cancel["Event"], cancel["OpenID"]) == ("user_authorization_cancellation", "o-gone")


def test_a_refused_push_is_tried_three_times_in_all(sandbox, receiver):
    _configure(sandbox, receiver)
    receiver["refuse"] = 5
    answer = sandbox.control("POST", "/_sandbox/privacy", {"openid": "o-x", "event": "user_authorization_revoke"})

    assert [a["status"] for a in answer["push"]["attempts"]] == [503, 503, 503]
    assert answer["push"]["delivered"] is False
    receiver["refuse"] = 1
    again = sandbox.control("POST", "/_sandbox/privacy", {"openid": "o-x", "event": "user_authorization_revoke"})
    assert [a["status"] for a in again["push"]["attempts"]] == [503, 200]


def test_push_settings_are_checked(sandbox):
    res = sandbox.http.post(sandbox.url + "/_sandbox/push", json={"mode": "safe", "aes_key": "short"}, timeout=5)
    assert res.status_code == 400 and "aes_key" in res.json()["error"]
    res = sandbox.http.post(sandbox.url + "/_sandbox/push", json={"format": "yaml"}, timeout=5)
    assert res.status_code == 400
    assert sandbox.control("GET", "/_sandbox/push")["push"]["url"] is None  # nothing pushed until configured
