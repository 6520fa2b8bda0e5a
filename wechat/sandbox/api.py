"""Fake WeChat: subscribe messages, content security, mini-program codes.

Each rule names the WeChat documentation page it follows.
"""

from __future__ import annotations

import io
import re
import secrets
from urllib.parse import urlencode

import flask
import qrcode
from flask import Flask, jsonify, request

from ..field_rules import value_ok
from . import pusher
from .access import body_json, require_token
from .faults import wechat_endpoint
from .state import LOGIN_CODE_TTL, Refusal, Sandbox

PHONE_DOC = "https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/user-info/phone-number/getPhoneNumber.html"
SEND_DOC = "https://developers.weixin.qq.com/miniprogram/dev/server/API/mp-message-management/subscribe-message/api_sendmessage.html"
ACTIVE_WINDOW = 2 * 3600  # msgSecCheck v2 wants a user active in the last 2 hours
SCENE_ALPHABET = re.compile(r"^[0-9A-Za-z!#$&'()*+,/:;=?@\-._~]+$")
MINIPROGRAM_STATES = ("developer", "trial", "formal")
LANGS = ("zh_CN", "en_US", "zh_HK", "zh_TW")


def _touser() -> str | None:
    data = request.get_json(force=True, silent=True)
    touser = data.get("touser") if isinstance(data, dict) else None
    return touser if isinstance(touser, str) and touser else None


def _check_data(template: dict, values) -> None:
    """The `data` of a send against the template's keywords and WeChat's value rule per keyword type.

    SEND_DOC, table 订阅消息参数值内容限制说明: a value its type does not accept is refused with 47003.
    """
    if not isinstance(values, dict):
        raise Refusal(47003, "argument invalid! data invalid")
    fields = template["fields"]
    for key in values:
        if key not in fields:
            raise Refusal(47003, f"argument invalid! data.{key} not in template")
    for key in fields:
        item = values.get(key)
        if not isinstance(item, dict) or "value" not in item:
            raise Refusal(47003, f"argument invalid! data.{key}.value is empty")
        if not value_ok(key, item["value"]):
            raise Refusal(47003, f"argument invalid! data.{key}.value invalid")


def _check_page(sb: Sandbox, page) -> None:
    """SEND_DOC: `page` is a page of the mini-program (query allowed); one that does not exist is 41030."""
    if page is None:
        return
    if not isinstance(page, str) or page.startswith("/"):
        raise Refusal(41030, "invalid page")
    if sb.app_pages is not None and page.split("?", 1)[0] not in sb.app_pages:
        raise Refusal(41030, "invalid page: page does not exist in the mini-program")


def register(app: Flask, sb: Sandbox) -> None:
    """Add the subscribe-message, content-security and code endpoints to the sandbox app."""
    state = sb.state

    @app.post("/cgi-bin/message/subscribe/send")
    @wechat_endpoint(sb, "subscribe_send", one_at_a_time=_touser)
    def send_subscribe_message():
        # SEND_DOC: 40003 bad openid, 40037 unknown template, 47003 bad data, 41030 bad page, 43101 no
        # subscription left; 43108 for concurrent sends to one user is applied by wechat_endpoint.
        require_token(sb)
        data = body_json()
        openid = data.get("touser")
        template_id = data.get("template_id")
        if not openid or not isinstance(openid, str):
            raise Refusal(40003, "invalid openid")
        template = sb.templates.get(template_id)
        if template is None:
            raise Refusal(40037, "invalid template id")
        values = data.get("data")
        _check_data(template, values)
        state_name = data.get("miniprogram_state", "formal")
        if state_name not in MINIPROGRAM_STATES:
            raise Refusal(47003, "argument invalid! miniprogram_state invalid")
        lang = data.get("lang", "zh_CN")
        if lang not in LANGS:
            raise Refusal(47003, "argument invalid! lang invalid")
        page = data.get("page")
        _check_page(sb, page)
        with state.lock:
            if openid not in state.users:
                raise Refusal(40003, "invalid openid")
            key = (openid, template_id)
            if key not in state.accepted:
                raise Refusal(43101, "user refuse to accept the msg")
            if template["kind"] == "one_time":
                if state.quota.get(key, 0) <= 0:
                    raise Refusal(43101, "user refuse to accept the msg")
                state.quota[key] -= 1
            seq = len(state.messages) + 1
            msgid = 2_000_000_000 + seq
            state.messages.append({
                "seq": seq, "msgid": msgid, "openid": openid, "template_id": template_id,
                "data": {k: values[k]["value"] for k in template["fields"]}, "page": page,
                "miniprogram_state": state_name, "lang": lang, "received_at": sb.clock(),
            })
        pusher.later(sb, pusher.sent_event(sb, openid, [{"TemplateId": template_id, "MsgID": str(msgid),
                                                        "ErrorCode": 0, "ErrorStatus": "success"}]))
        return jsonify({"errcode": 0, "errmsg": "ok", "msgid": msgid})

    def judge(content: str) -> tuple[str, int, str | None]:
        for suggest in ("risky", "review"):
            for word, label in sb.rules[suggest].items():
                if word and word in content:
                    return suggest, int(label), word
        return "pass", 100, None

    @app.post("/wxa/msg_sec_check")
    @wechat_endpoint(sb, "sec_check")
    def msg_sec_check():
        # https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/sec-center/sec-check/msgSecCheck.html
        require_token(sb)
        data = body_json()
        content = data.get("content")
        if not isinstance(content, str) or not content:
            raise Refusal(44002, "empty post data")
        suggest, label, word = judge(content)
        if data.get("version") != 2:
            # v1: errcode carries the verdict.
            if suggest == "risky":
                raise Refusal(87014, "risky content")
            return jsonify({"errcode": 0, "errmsg": "ok"})
        openid = data.get("openid")
        if not openid:
            raise Refusal(44002, "empty post data: openid")
        if data.get("scene") not in (1, 2, 3, 4):
            raise Refusal(40129, "invalid scene")
        if len(content) > 2500:
            raise Refusal(47001, "data format error: content too long")
        with state.lock:
            known = openid in state.users
            last = state.last_login.get(openid)
        if not known:
            raise Refusal(40003, "invalid openid")
        if last is None or sb.clock() - last > ACTIVE_WINDOW:
            raise Refusal(61010, "user access record expired")
        detail = [{"strategy": "content_model", "errcode": 0, "suggest": suggest, "label": label, "prob": 90}]
        if word:
            detail.append({"strategy": "keyword", "errcode": 0, "suggest": suggest, "label": label, "level": 20,
                           "keyword": word})
        return jsonify({"errcode": 0, "errmsg": "ok", "result": {"suggest": suggest, "label": label},
                        "detail": detail, "trace_id": f"{secrets.token_hex(6)}-{secrets.token_hex(4)}"})

    @app.post("/wxa/media_check_async")
    @wechat_endpoint(sb, "media_check")
    def media_check_async():
        # https://developers.weixin.qq.com/miniprogram/dev/server/API/sec-center/sec-check/api_mediacheckasync:
        # the verdict is pushed later to the message-push URL as event wxa_media_check.
        require_token(sb)
        data = body_json()
        if data.get("version") != 2 or data.get("media_type") not in (1, 2) or not data.get("media_url"):
            raise Refusal(47001, "data format error")
        if data.get("scene") not in (1, 2, 3, 4):
            raise Refusal(40129, "invalid scene")
        if data.get("openid") not in state.users:
            raise Refusal(40003, "invalid openid")
        trace_id = f"{secrets.token_hex(6)}-{secrets.token_hex(4)}"
        with state.lock:
            verdict = sb.push.media_verdict
            state.media_checks.append({"trace_id": trace_id, "media_url": data["media_url"],
                                       "openid": data["openid"], "received_at": sb.clock(), "pushed": None})
        pusher.later(sb, pusher.media_check_event(sb, data["openid"], trace_id, verdict))
        return jsonify({"errcode": 0, "errmsg": "ok", "trace_id": trace_id})

    @app.post("/wxa/business/getuserphonenumber")
    @wechat_endpoint(sb, "phone")
    def get_phone_number():
        # PHONE_DOC: the button's code is valid 5 minutes and once; an unknown, expired, used or other user's code
        # is 40029 "invalid code"; a body that is not JSON or has no code, 47001.
        require_token(sb)
        data = body_json()
        code = data.get("code")
        if not isinstance(code, str) or not code:
            raise Refusal(47001, "data format error: code")
        with state.lock:
            record = state.phone_codes.get(code)
            if (record is None or record["used"] or sb.clock() - record["issued_at"] > LOGIN_CODE_TTL
                    or data.get("openid") not in (None, record["openid"])):
                raise Refusal(40029, "invalid code")
            record["used"] = True
        pure, country = record["phone"], record["country_code"]
        return jsonify({"errcode": 0, "errmsg": "ok", "phone_info": {
            "phoneNumber": pure if country == "86" else f"+{country} {pure}", "purePhoneNumber": pure,
            "countryCode": country, "watermark": {"timestamp": int(sb.clock()), "appid": sb.appid}}})

    @app.post("/wxa/getwxacodeunlimit")
    @wechat_endpoint(sb, "wxacode")
    def get_wxacode_unlimited():
        # https://developers.weixin.qq.com/miniprogram/dev/server/API/qrcode-link/qr-code/api_getunlimitedqrcode
        require_token(sb)
        data = body_json(40169, "invalid length for scene, or the data is not json string")
        scene = data.get("scene")
        if not isinstance(scene, str) or not scene or len(scene) > 32:
            raise Refusal(40169, "invalid length for scene, or the data is not json string")
        if not SCENE_ALPHABET.match(scene):
            raise Refusal(40129, "invalid scene")
        page = data.get("page") or "pages/index/index"
        if not isinstance(page, str) or page.startswith("/") or "?" in page:
            raise Refusal(41030, "invalid page")
        if data.get("check_path", True) and page not in sb.released_pages:
            raise Refusal(41030, "invalid page")
        env_version = data.get("env_version", "release")
        if env_version not in ("release", "trial", "develop"):
            raise Refusal(40097, "invalid args")
        try:
            width = min(1280, max(280, int(data.get("width", 430))))
        except (TypeError, ValueError):
            raise Refusal(40097, "invalid args") from None
        target = "https://sandbox.invalid/wxacode?" + urlencode(
            {"appid": sb.appid, "scene": scene, "page": page, "env_version": env_version})
        code = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_M)
        code.add_data(target)
        code.make(fit=True)
        image = code.make_image().get_image().convert("L").resize((width, width), 0)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        return flask.Response(buffer.getvalue(), mimetype="image/png")
