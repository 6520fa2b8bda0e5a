"""The sandbox pushes what WeChat pushes to the backend's message-push URL, signed as WeChat signs.

https://developers.weixin.qq.com/miniprogram/dev/framework/server-ability/message-push.html: format (JSON or
XML) and mode (plaintext, compatible, safe) as configured (`PushConfig`); an answer other than HTTP 200 with
`success` or an empty body is a failure and WeChat tries again, three times in all.
Events: `wxa_media_check` after a mediaCheckAsync (https://developers.weixin.qq.com/miniprogram/dev/server/API/
sec-center/sec-check/api_mediacheckasync), `subscribe_msg_popup_event`, `subscribe_msg_change_event`,
`subscribe_msg_sent_event` (https://developers.weixin.qq.com/miniprogram/dev/framework/open-ability/
subscribe-message.html), `user_authorization_revoke` and `user_authorization_cancellation`
(https://developers.weixin.qq.com/miniprogram/dev/framework/security.html, 授权用户信息变更).
"""

from __future__ import annotations

import secrets
import threading

import requests

from ..push import encode_push
from .state import Sandbox

ATTEMPTS = 3
GH_ID = "gh_sandbox0000"  # the mini-program's original id (ToUserName of every push)


def _event(sb: Sandbox, openid: str, name: str, **fields) -> dict:
    return {"ToUserName": GH_ID, "FromUserName": openid, "CreateTime": int(sb.clock()), "MsgType": "event",
            "Event": name, **fields}


def media_check_event(sb: Sandbox, openid: str, trace_id: str, suggest: str, errcode: int = 0) -> dict:
    """The v2 wxa_media_check verdict for one image (label 100 when it passes, 21000 otherwise)."""
    label = 100 if suggest == "pass" else 21000
    return _event(sb, openid, "wxa_media_check", appid=sb.appid, trace_id=trace_id, version=2, errcode=errcode,
                  errmsg="ok" if errcode == 0 else "media download failed",
                  result={"suggest": suggest, "label": label},
                  detail=[{"strategy": "content_model", "errcode": errcode, "suggest": suggest, "label": label,
                           "prob": 90}])


def popup_event(sb: Sandbox, openid: str, answers: dict[str, str]) -> dict:
    """What the subscribe popup's answers push (PopupScene 0: inside a mini-program page)."""
    items = [{"TemplateId": tid, "SubscribeStatusString": answer, "PopupScene": "0"}
             for tid, answer in answers.items()]
    return _event(sb, openid, "subscribe_msg_popup_event", List=items)


def change_event(sb: Sandbox, openid: str, template_ids: list[str]) -> dict:
    """A user turning templates off in the service-notification settings (only rejections are pushed)."""
    items = [{"TemplateId": tid, "SubscribeStatusString": "reject"} for tid in template_ids]
    return _event(sb, openid, "subscribe_msg_change_event", List=items)


def sent_event(sb: Sandbox, openid: str, items: list[dict]) -> dict:
    """The final result of sends: TemplateId, MsgID (as the send answered), ErrorCode, ErrorStatus per item."""
    return _event(sb, openid, "subscribe_msg_sent_event", List=items)


def privacy_event(sb: Sandbox, openid: str, name: str, revoke_info: str = "") -> dict:
    """user_authorization_revoke (with RevokeInfo, what was withdrawn) or user_authorization_cancellation."""
    fields = {"OpenID": openid, "AppID": sb.appid}
    if revoke_info:
        fields["RevokeInfo"] = revoke_info
    return _event(sb, "o_wechat_privacy_service", name, **fields)


def _post_once(sb: Sandbox, event: dict) -> dict:
    config = sb.push
    timestamp, nonce = str(int(sb.clock())), str(secrets.randbelow(10**10))
    query, body, content_type = encode_push(event, token=config.token, timestamp=timestamp, nonce=nonce,
                                            fmt=config.format, mode=config.mode, aes_key=config.aes_key,
                                            appid=sb.appid, openid=event.get("FromUserName"))
    try:
        res = requests.post(config.url, params=query, data=body, headers={"Content-Type": content_type},
                            timeout=5)
    except requests.RequestException as exc:
        return {"status": None, "answer": type(exc).__name__}
    return {"status": res.status_code, "answer": res.text[:200]}


def push_now(sb: Sandbox, event: dict) -> dict | None:
    """Push one event and wait for the answer, trying up to three times as WeChat does; None if no push URL.

    Side effects: HTTP POSTs to the backend; the attempts are recorded in state (`/_sandbox/pushes`).
    """
    if not sb.push.url:
        return None
    record = {"event": event.get("Event"), "openid": event.get("FromUserName"), "format": sb.push.format,
              "mode": sb.push.mode, "attempts": []}
    for _ in range(ATTEMPTS):
        outcome = _post_once(sb, event)
        record["attempts"].append(outcome)
        if outcome["status"] == 200 and outcome["answer"].strip() in ("success", ""):
            break
    record["delivered"] = record["attempts"][-1]["status"] == 200
    with sb.state.lock:
        sb.state.pushes.append(record)
        if event.get("Event") == "wxa_media_check":
            for check in sb.state.media_checks:
                if check["trace_id"] == event.get("trace_id"):
                    check["pushed"] = (event.get("result") or {}).get("suggest")
    return record


def later(sb: Sandbox, event: dict) -> None:
    """Push an event after the configured delay, from a thread of its own (WeChat's pushes are asynchronous
    to the call that caused them). Nothing happens without a push URL."""
    if not sb.push.url:
        return
    timer = threading.Timer(sb.push.delay, push_now, args=(sb, event))
    timer.daemon = True
    timer.start()
