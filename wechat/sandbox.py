"""A faithful local fake of the WeChat mini-program server APIs, plus a control API and pages for people.

It answers like WeChat, refusals included: single-use 5-minute login codes, expiring and rotating access
tokens, a per-(user, template) subscription ledger, template field rules, content rules, and fault
switches (latency, HTTP 500, timeouts, errcodes). State is in memory, one process, guarded by a lock.

Pages: `/` index, `/inbox` every delivered message, `/phone` a simulated resident's phone that walks the
product end to end against the project's backend (`backend_url`).
"""

from __future__ import annotations

import base64
import functools
import io
import re
import secrets
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from urllib.parse import quote, urlencode

import flask
import qrcode
import requests
from flask import Flask, jsonify, render_template, request
from werkzeug.serving import BaseWSGIServer, make_server

from .field_rules import RULES, key_type, value_ok

ENDPOINT_KINDS = ("token", "login", "subscribe_send", "sec_check", "wxacode", "media_check")
FAULT_TYPES = ("latency_ms", "http_500", "timeout", "errcode")
LOGIN_CODE_TTL = 300
ACTIVE_WINDOW = 2 * 3600  # msgSecCheck v2 wants a user active in the last 2 hours
TOKEN_OVERLAP = 300  # cgi-bin/token: the previous token keeps working for 5 minutes
SCENE_ALPHABET = re.compile(r"^[0-9A-Za-z!#$&'()*+,/:;=?@\-._~]+$")
MINIPROGRAM_STATES = ("developer", "trial", "formal")
LANGS = ("zh_CN", "en_US", "zh_HK", "zh_TW")
CHINA_TZ = timezone(timedelta(hours=8))

DEFAULT_CONTENT_RULES = {
    "risky": {"赌博": 20006, "代开发票": 10001, "傻逼": 20003},
    "review": {"投诉某某领导": 20001},
}

# The sandbox's own user-facing messages (the /phone page), in one place.
MESSAGES = {
    "no_backend": "沙盒没有配置后台地址（backend_url），无法提交。",
    "backend_unreachable": "无法连接后台服务，请稍后再试。",
    "backend_garbled": "后台返回了无法识别的内容（HTTP {status}）。",
    "backend_failed": "后台处理失败（{code}）。",
    "openid_required": "请填写微信用户（openid）。",
    "not_logged_in": "还没有登录：请先在“反映问题”页提交一次。",
}


class _Refusal(Exception):
    """WeChat-style refusal: HTTP 200 with a non-zero errcode."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(errcode, errmsg)
        self.errcode = errcode
        self.errmsg = errmsg


def _rid() -> str:
    return f"{secrets.token_hex(4)}-{secrets.token_hex(4)}-{secrets.token_hex(4)}"


def _wechat_error(errcode: int, errmsg: str) -> flask.Response:
    # Real errmsgs end with a request id; callers must not parse errmsg.
    return jsonify({"errcode": errcode, "errmsg": f"{errmsg} rid: {_rid()}"})


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, CHINA_TZ).isoformat(timespec="seconds")


def _display_time(ts: float) -> str:
    return datetime.fromtimestamp(ts, CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S")


def _normalise_rules(rules: dict | None) -> dict[str, dict[str, int]]:
    rules = DEFAULT_CONTENT_RULES if rules is None else rules
    out: dict[str, dict[str, int]] = {}
    for suggest in ("risky", "review"):
        words = rules.get(suggest) or {}
        out[suggest] = dict(words) if isinstance(words, dict) else {w: 21000 for w in words}
    return out


def _check_templates(templates: dict) -> dict:
    for template_id, spec in templates.items():
        if spec.get("kind") not in ("one_time", "long_term"):
            raise ValueError(f"template {template_id}: kind must be one_time or long_term")
        for key in spec.get("fields", {}):
            if key_type(key) not in RULES:
                raise ValueError(f"template {template_id}: field {key} has no known type prefix")
    return {tid: dict(spec, fields=dict(spec.get("fields", {}))) for tid, spec in templates.items()}


class _State:
    """Everything the fake WeChat remembers. Callers hold `lock` around reads and writes."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.fault_seq = 0
        self.reset()

    def reset(self) -> None:
        self.tokens: dict[str, dict] = {}  # token -> {expires_at, revoked_at, source}
        self.stable_token: str | None = None
        self.codes: dict[str, dict] = {}  # login code -> {openid, issued_at, used}
        self.users: dict[str, dict] = {}  # openid -> {nickname, unionid}
        self.last_login: dict[str, float] = {}
        self.quota: dict[tuple[str, str], int] = {}  # one-time sends left per (openid, template)
        self.accepted: set[tuple[str, str]] = set()
        self.messages: list[dict] = []
        self.faults: list[dict] = []
        self.media_checks: list[dict] = []  # mediaCheckAsync submissions, for the push a test sends
        self.calls = {kind: {"ok": 0, "failed": 0} for kind in ENDPOINT_KINDS}
        self.tokens_issued = 0
        self.force_refreshes = 0

    def user(self, openid: str) -> dict:
        return self.users.setdefault(openid, {"nickname": "", "unionid": None})


def create_sandbox_app(
    *,
    appid: str,
    secret: str,
    templates: dict,
    backend_url: str | None = None,
    token_ttl: int = 7200,
    content_rules: dict | None = None,
    clock: Callable[[], float] = time.time,
    released_pages: tuple[str, ...] = ("pages/report/index", "pages/index/index"),
) -> Flask:
    """Build the sandbox Flask app (fake WeChat endpoints, `/_sandbox/` control API, pages).

    No side effects until served; all state lives in the returned app (`app.extensions["wechat_sandbox"]`).
    """
    app = Flask(__name__)
    app.secret_key = secrets.token_hex(16)
    app.json.ensure_ascii = False
    templates = _check_templates(templates)
    rules = _normalise_rules(content_rules)
    backend = backend_url.rstrip("/") if backend_url else None
    state = _State()
    app.extensions["wechat_sandbox"] = state

    # -- plumbing -------------------------------------------------------------------------------

    def take_faults(kind: str) -> tuple[float, dict | None]:
        """Consume the faults that apply to this call: (seconds to sleep, answering fault or None).

        A `timeout` fault holds the answer back for `value` seconds, so the caller gives up first. What WeChat
        did meanwhile is what a caller can never know: by default the call still acts when the delay is over
        (a slow server: the message arrives late); with `"acts": false` it is lost before WeChat's handler
        (an overloaded front end), answers 504 and changes nothing.
        """
        sleep = 0.0
        answer = None
        with state.lock:
            for fault in state.faults:
                if fault["endpoint"] not in (kind, "*"):
                    continue
                if fault["type"] == "latency_ms":
                    sleep += float(fault["value"]) / 1000
                elif fault["type"] == "timeout":
                    sleep += float(fault["value"])
                    if not fault.get("acts", True) and answer is None:
                        answer = fault
                elif answer is None:
                    answer = fault
                else:
                    continue
                fault["fired"] += 1
                if fault["remaining"] is not None:
                    fault["remaining"] -= 1
            state.faults = [f for f in state.faults if f["remaining"] is None or f["remaining"] > 0]
        return sleep, answer

    def wechat_endpoint(kind: str):
        def decorate(handler):
            @functools.wraps(handler)
            def wrapper(*args, **kwargs):
                sleep, fault = take_faults(kind)
                if sleep:
                    time.sleep(sleep)
                if fault is not None:
                    with state.lock:
                        state.calls[kind]["failed"] += 1
                    if fault["type"] == "http_500":
                        return flask.Response("<html><body>500 Internal Server Error</body></html>", 500)
                    if fault["type"] == "timeout":
                        return flask.Response("<html><body>504 Gateway Time-out</body></html>", 504)
                    return _wechat_error(int(fault["value"]), fault.get("errmsg") or "injected fault")
                try:
                    response = handler(*args, **kwargs)
                except _Refusal as refusal:
                    with state.lock:
                        state.calls[kind]["failed"] += 1
                    return _wechat_error(refusal.errcode, refusal.errmsg)
                with state.lock:
                    state.calls[kind]["ok"] += 1
                return response

            return wrapper

        return decorate

    def body_json(errcode: int = 47001, errmsg: str = "data format error") -> dict:
        # wechatpy sends JSON without a Content-Type header; WeChat accepts that.
        data = request.get_json(force=True, silent=True)
        if not isinstance(data, dict):
            raise _Refusal(errcode, errmsg)
        return data

    def require_token() -> None:
        token = request.args.get("access_token", "")
        if not token:
            raise _Refusal(41001, "access_token missing")
        now = clock()
        with state.lock:
            record = state.tokens.get(token)
        if record is None or (record["revoked_at"] is not None and record["revoked_at"] <= now):
            raise _Refusal(40001, "invalid credential, access_token is invalid or not latest")
        if record["expires_at"] <= now:
            raise _Refusal(42001, "access_token expired")

    def check_credentials(got_appid: str | None, got_secret: str | None) -> None:
        if got_appid != appid:
            raise _Refusal(40013, "invalid appid")
        if got_secret != secret:
            raise _Refusal(40125, "invalid appsecret")

    def issue_token(source: str) -> tuple[str, int]:
        """Mint a token (lock held by caller)."""
        token = secrets.token_urlsafe(48)
        state.tokens[token] = {"expires_at": clock() + token_ttl, "revoked_at": None, "source": source}
        state.tokens_issued += 1
        return token, token_ttl

    # -- WeChat: tokens -------------------------------------------------------------------------

    @app.get("/cgi-bin/token")
    @wechat_endpoint("token")
    def get_access_token():
        if request.args.get("grant_type") != "client_credential":
            raise _Refusal(40002, "invalid grant_type")
        check_credentials(request.args.get("appid"), request.args.get("secret"))
        now = clock()
        with state.lock:
            for record in state.tokens.values():
                if record["source"] == "token" and record["revoked_at"] is None:
                    record["revoked_at"] = now + min(TOKEN_OVERLAP, token_ttl)
            token, expires_in = issue_token("token")
        return jsonify({"access_token": token, "expires_in": expires_in})

    @app.post("/cgi-bin/stable_token")
    @wechat_endpoint("token")
    def get_stable_access_token():
        data = body_json()
        if data.get("grant_type") != "client_credential":
            raise _Refusal(40002, "invalid grant_type")
        check_credentials(data.get("appid"), data.get("secret"))
        now = clock()
        # WeChat rolls the stable token 5 minutes before expiry; scale that down for short test TTLs.
        roll_before = min(TOKEN_OVERLAP, token_ttl / 2)
        with state.lock:
            current = state.tokens.get(state.stable_token or "")
            if data.get("force_refresh"):
                state.force_refreshes += 1
                if current is not None:
                    current["revoked_at"] = now
                current = None
            elif current is not None and current["expires_at"] - now <= roll_before:
                current = None
            if current is None:
                token, expires_in = issue_token("stable")
                state.stable_token = token
            else:
                token, expires_in = state.stable_token, int(current["expires_at"] - now)
        return jsonify({"access_token": token, "expires_in": expires_in})

    # -- WeChat: login --------------------------------------------------------------------------

    @app.get("/sns/jscode2session")
    @wechat_endpoint("login")
    def code_to_session():
        args = request.args
        check_credentials(args.get("appid"), args.get("secret"))
        if args.get("grant_type") != "authorization_code":
            raise _Refusal(40002, "invalid grant_type")
        code = args.get("js_code", "")
        if not code:
            raise _Refusal(41008, "missing code")
        now = clock()
        with state.lock:
            record = state.codes.get(code)
            if record is None or now - record["issued_at"] > LOGIN_CODE_TTL:
                raise _Refusal(40029, "invalid code")
            if record["used"]:
                raise _Refusal(40163, "code been used")
            record["used"] = True
            openid = record["openid"]
            state.last_login[openid] = now
            unionid = state.user(openid)["unionid"]
        answer = {"openid": openid, "session_key": base64.b64encode(secrets.token_bytes(16)).decode()}
        if unionid:
            answer["unionid"] = unionid
        return jsonify(answer)

    # -- WeChat: subscribe messages ---------------------------------------------------------------

    @app.post("/cgi-bin/message/subscribe/send")
    @wechat_endpoint("subscribe_send")
    def send_subscribe_message():
        require_token()
        data = body_json()
        openid = data.get("touser")
        template_id = data.get("template_id")
        if not openid or not isinstance(openid, str):
            raise _Refusal(40003, "invalid openid")
        template = templates.get(template_id)
        if template is None:
            raise _Refusal(40037, "invalid template id")
        values = data.get("data")
        if not isinstance(values, dict):
            raise _Refusal(47003, "argument invalid! data invalid")
        fields = template["fields"]
        for key in values:
            if key not in fields:
                raise _Refusal(47003, f"argument invalid! data.{key} not in template")
        for key in fields:
            item = values.get(key)
            if not isinstance(item, dict) or "value" not in item:
                raise _Refusal(47003, f"argument invalid! data.{key}.value is empty")
            if not value_ok(key, item["value"]):
                raise _Refusal(47003, f"argument invalid! data.{key}.value invalid")
        state_name = data.get("miniprogram_state", "formal")
        if state_name not in MINIPROGRAM_STATES:
            raise _Refusal(47003, "argument invalid! miniprogram_state invalid")
        lang = data.get("lang", "zh_CN")
        if lang not in LANGS:
            raise _Refusal(47003, "argument invalid! lang invalid")
        page = data.get("page")
        if page is not None and (not isinstance(page, str) or page.startswith("/")):
            raise _Refusal(41030, "invalid page")
        with state.lock:
            if openid not in state.users:
                raise _Refusal(40003, "invalid openid")
            key = (openid, template_id)
            if key not in state.accepted:
                raise _Refusal(43101, "user refuse to accept the msg")
            if template["kind"] == "one_time":
                if state.quota.get(key, 0) <= 0:
                    raise _Refusal(43101, "user refuse to accept the msg")
                state.quota[key] -= 1
            seq = len(state.messages) + 1
            state.messages.append(
                {
                    "seq": seq,
                    "msgid": 2_000_000_000 + seq,
                    "openid": openid,
                    "template_id": template_id,
                    "data": {k: values[k]["value"] for k in fields},
                    "page": page,
                    "miniprogram_state": state_name,
                    "lang": lang,
                    "received_at": clock(),
                }
            )
        return jsonify({"errcode": 0, "errmsg": "ok", "msgid": 2_000_000_000 + seq})

    # -- WeChat: content security ---------------------------------------------------------------

    def judge(content: str) -> tuple[str, int, str | None]:
        for suggest in ("risky", "review"):
            for word, label in rules[suggest].items():
                if word and word in content:
                    return suggest, int(label), word
        return "pass", 100, None

    @app.post("/wxa/msg_sec_check")
    @wechat_endpoint("sec_check")
    def msg_sec_check():
        require_token()
        data = body_json()
        content = data.get("content")
        if not isinstance(content, str) or not content:
            raise _Refusal(44002, "empty post data")
        suggest, label, word = judge(content)
        if data.get("version") != 2:
            # v1: errcode carries the verdict.
            if suggest == "risky":
                raise _Refusal(87014, "risky content")
            return jsonify({"errcode": 0, "errmsg": "ok"})
        openid = data.get("openid")
        if not openid:
            raise _Refusal(44002, "empty post data: openid")
        if data.get("scene") not in (1, 2, 3, 4):
            raise _Refusal(40129, "invalid scene")
        if len(content) > 2500:
            raise _Refusal(47001, "data format error: content too long")
        with state.lock:
            known = openid in state.users
            last = state.last_login.get(openid)
        if not known:
            raise _Refusal(40003, "invalid openid")
        if last is None or clock() - last > ACTIVE_WINDOW:
            raise _Refusal(61010, "user access record expired")
        detail = [{"strategy": "content_model", "errcode": 0, "suggest": suggest, "label": label, "prob": 90}]
        if word:
            detail.append(
                {"strategy": "keyword", "errcode": 0, "suggest": suggest, "label": label, "level": 20,
                 "keyword": word}
            )
        return jsonify(
            {
                "errcode": 0,
                "errmsg": "ok",
                "result": {"suggest": suggest, "label": label},
                "detail": detail,
                "trace_id": f"{secrets.token_hex(6)}-{secrets.token_hex(4)}",
            }
        )

    @app.post("/wxa/media_check_async")
    @wechat_endpoint("media_check")
    def media_check_async():
        require_token()
        data = body_json()
        if data.get("version") != 2 or data.get("media_type") not in (1, 2) or not data.get("media_url"):
            raise _Refusal(47001, "data format error")
        if data.get("openid") not in state.users:
            raise _Refusal(40003, "invalid openid")
        trace_id = f"{secrets.token_hex(6)}-{secrets.token_hex(4)}"
        with state.lock:
            state.media_checks.append({"trace_id": trace_id, "media_url": data["media_url"],
                                       "openid": data["openid"], "received_at": clock()})
        return jsonify({"errcode": 0, "errmsg": "ok", "trace_id": trace_id})

    # -- WeChat: mini-program codes -------------------------------------------------------------

    @app.post("/wxa/getwxacodeunlimit")
    @wechat_endpoint("wxacode")
    def get_wxacode_unlimited():
        require_token()
        data = body_json(40169, "invalid length for scene, or the data is not json string")
        scene = data.get("scene")
        if not isinstance(scene, str) or not scene or len(scene) > 32:
            raise _Refusal(40169, "invalid length for scene, or the data is not json string")
        if not SCENE_ALPHABET.match(scene):
            raise _Refusal(40129, "invalid scene")
        page = data.get("page") or "pages/index/index"
        if not isinstance(page, str) or page.startswith("/") or "?" in page:
            raise _Refusal(41030, "invalid page")
        if data.get("check_path", True) and page not in released_pages:
            raise _Refusal(41030, "invalid page")
        env_version = data.get("env_version", "release")
        if env_version not in ("release", "trial", "develop"):
            raise _Refusal(40097, "invalid args")
        try:
            width = min(1280, max(280, int(data.get("width", 430))))
        except (TypeError, ValueError):
            raise _Refusal(40097, "invalid args") from None
        target = "https://sandbox.invalid/wxacode?" + urlencode(
            {"appid": appid, "scene": scene, "page": page, "env_version": env_version}
        )
        code = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_M)
        code.add_data(target)
        code.make(fit=True)
        image = code.make_image().get_image().convert("L").resize((width, width), 0)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        return flask.Response(buffer.getvalue(), mimetype="image/png")

    # -- control API ------------------------------------------------------------------------------

    def control_error(message: str, status: int = 400):
        return jsonify({"error": message}), status

    def control_body() -> dict:
        data = request.get_json(force=True, silent=True)
        return data if isinstance(data, dict) else {}

    def register_user(openid: str, nickname: str | None = None, unionid: str | None = None) -> dict:
        with state.lock:
            user = state.user(openid)
            if nickname:
                user["nickname"] = nickname
            if unionid:
                user["unionid"] = unionid
            return {"openid": openid, **user}

    def issue_login_code(openid: str) -> str:
        code = secrets.token_urlsafe(24)
        with state.lock:
            state.user(openid)
            state.codes[code] = {"openid": openid, "issued_at": clock(), "used": False}
        return code

    def accept_subscriptions(openid: str, template_ids: list[str]) -> dict:
        """Record the user tapping 允许 for each template; raise ValueError on what wx refuses."""
        unknown = [tid for tid in template_ids if tid not in templates]
        if unknown:
            raise ValueError(f"unknown template_id: {', '.join(unknown)}")
        kinds = {templates[tid]["kind"] for tid in template_ids}
        if len(kinds) > 1:
            raise ValueError("one-time and long-term templates cannot be requested together")
        with state.lock:
            state.user(openid)
            for tid in template_ids:
                state.accepted.add((openid, tid))
                if templates[tid]["kind"] == "one_time":
                    state.quota[(openid, tid)] = state.quota.get((openid, tid), 0) + 1
            return {tid: state.quota.get((openid, tid), 0) for tid in template_ids}

    def message_view(message: dict) -> dict:
        template = templates[message["template_id"]]
        with state.lock:
            nickname = state.users.get(message["openid"], {}).get("nickname", "")
        return {
            "seq": message["seq"],
            "msgid": message["msgid"],
            "openid": message["openid"],
            "nickname": nickname,
            "template_id": message["template_id"],
            "template_title": template.get("title", ""),
            "data": dict(message["data"]),
            "fields": [
                {"key": key, "label": template["fields"].get(key, key), "value": value}
                for key, value in message["data"].items()
            ],
            "page": message["page"],
            "miniprogram_state": message["miniprogram_state"],
            "lang": message["lang"],
            "received_at": _iso(message["received_at"]),
            "received_at_display": _display_time(message["received_at"]),
        }

    def select_messages(openid: str | None, template_id: str | None) -> list[dict]:
        with state.lock:
            chosen = [
                m
                for m in state.messages
                if (not openid or m["openid"] == openid)
                and (not template_id or m["template_id"] == template_id)
            ]
        return [message_view(m) for m in chosen]

    @app.post("/_sandbox/users")
    def control_users():
        data = control_body()
        if not data.get("openid"):
            return control_error("openid is required")
        user = register_user(str(data["openid"]), data.get("nickname"), data.get("unionid"))
        return jsonify({"user": user}), 201

    @app.get("/_sandbox/users")
    def control_list_users():
        with state.lock:
            users = [{"openid": oid, **u} for oid, u in state.users.items()]
        return jsonify({"users": users})

    @app.post("/_sandbox/login")
    def control_login():
        data = control_body()
        if not data.get("openid"):
            return control_error("openid is required")
        return jsonify({"code": issue_login_code(str(data["openid"])), "expires_in": LOGIN_CODE_TTL}), 201

    @app.post("/_sandbox/subscribe")
    def control_subscribe():
        data = control_body()
        template_ids = data.get("template_ids")
        if not data.get("openid") or not isinstance(template_ids, list) or not template_ids:
            return control_error("openid and a non-empty template_ids list are required")
        try:
            quota = accept_subscriptions(str(data["openid"]), [str(t) for t in template_ids])
        except ValueError as exc:
            return control_error(str(exc))
        return jsonify({"openid": data["openid"], "result": {t: "accept" for t in quota}, "quota": quota})

    @app.get("/_sandbox/messages")
    def control_messages():
        messages = select_messages(request.args.get("openid"), request.args.get("template_id"))
        return jsonify({"messages": messages})

    @app.get("/_sandbox/calls")
    def control_calls():
        with state.lock:
            return jsonify(
                {
                    "endpoints": {k: dict(v) for k, v in state.calls.items()},
                    "tokens_issued": state.tokens_issued,
                    "force_refreshes": state.force_refreshes,
                }
            )

    @app.get("/_sandbox/media_checks")
    def control_media_checks():
        with state.lock:
            return jsonify({"media_checks": [dict(m) for m in state.media_checks]})

    @app.get("/_sandbox/faults")
    def control_faults():
        with state.lock:
            return jsonify({"faults": [dict(f) for f in state.faults]})

    @app.post("/_sandbox/faults")
    def control_add_fault():
        data = control_body()
        endpoint = data.get("endpoint", "*")
        kind = data.get("type")
        if endpoint not in (*ENDPOINT_KINDS, "*"):
            return control_error(f"endpoint must be one of {', '.join(ENDPOINT_KINDS)} or *")
        if kind not in FAULT_TYPES:
            return control_error(f"type must be one of {', '.join(FAULT_TYPES)}")
        value = data.get("value")
        if kind == "errcode" and not isinstance(value, int):
            return control_error("errcode faults need an integer value, e.g. 45009")
        if kind in ("latency_ms", "timeout") and not isinstance(value, int | float):
            value = 10 if kind == "timeout" else 200
        count = data.get("count")
        if count is not None and (not isinstance(count, int) or count < 1):
            return control_error("count must be a positive integer or null (until cleared)")
        with state.lock:
            state.fault_seq += 1
            fault = {
                "id": state.fault_seq,
                "endpoint": endpoint,
                "type": kind,
                "value": value,
                "errmsg": data.get("errmsg"),
                "acts": data.get("acts", True) is not False,
                "remaining": count,
                "fired": 0,
            }
            state.faults.append(fault)
            return jsonify({"fault": dict(fault), "faults": [dict(f) for f in state.faults]}), 201

    @app.delete("/_sandbox/faults")
    def control_clear_faults():
        endpoint = request.args.get("endpoint")
        with state.lock:
            state.faults = [f for f in state.faults if endpoint and f["endpoint"] != endpoint]
            return jsonify({"faults": [dict(f) for f in state.faults]})

    @app.post("/_sandbox/expire_tokens")
    def control_expire_tokens():
        now = clock()
        with state.lock:
            expired = 0
            for record in state.tokens.values():
                if record["expires_at"] > now:
                    record["expires_at"] = now
                    expired += 1
        return jsonify({"expired": expired})

    @app.post("/_sandbox/reset")
    def control_reset():
        with state.lock:
            state.reset()
        return jsonify({"reset": True})

    # -- pages ------------------------------------------------------------------------------------

    @app.get("/")
    def index_page():
        return render_template("sandbox/index.html", appid=appid, backend_url=backend, templates=templates)

    @app.get("/inbox")
    def inbox_page():
        chosen = request.args.get("openid") or None
        messages = select_messages(chosen, None)
        people: dict[str, dict] = {}
        for message in reversed(messages):  # newest first
            person = people.setdefault(
                message["openid"],
                {"openid": message["openid"], "nickname": message["nickname"], "messages": []},
            )
            person["messages"].append(message)
        with state.lock:
            everyone = sorted({m["openid"] for m in state.messages})
        refresh = request.args.get("refresh", type=int)
        return render_template(
            "sandbox/inbox.html",
            people=list(people.values()),
            everyone=everyone,
            chosen=chosen,
            refresh=refresh if refresh and refresh > 0 else None,
        )

    def call_backend(method: str, path: str, *, token: str | None = None, payload: dict | None = None):
        """Call the project backend as the mini-program would: (data, None) or (None, Chinese message)."""
        if not backend:
            return None, MESSAGES["no_backend"]
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            res = requests.request(method, backend + path, json=payload, headers=headers, timeout=10)
        except requests.RequestException:
            return None, MESSAGES["backend_unreachable"]
        try:
            envelope = res.json()
        except ValueError:
            return None, MESSAGES["backend_garbled"].format(status=res.status_code)
        if not isinstance(envelope, dict):
            return None, MESSAGES["backend_garbled"].format(status=res.status_code)
        if envelope.get("ok") and res.status_code < 400:
            return envelope.get("data"), None
        error = envelope.get("error") or {}
        message = error.get("message") if isinstance(error, dict) else None
        code = error.get("code") if isinstance(error, dict) else None
        return None, message or MESSAGES["backend_failed"].format(code=code or res.status_code)

    def one_time_templates() -> list[tuple[str, str]]:
        return [(tid, spec.get("title", tid)) for tid, spec in templates.items()
                if spec["kind"] == "one_time"]

    def phone_form(form: dict, error: str | None = None, status: int = 200):
        scene_info, scene_error = None, None
        if form["scene"] and backend:
            scene_info, scene_error = call_backend("GET", "/api/v1/scenes/" + quote(form["scene"], safe=""))
        return (
            render_template(
                "sandbox/phone.html",
                form=form,
                scene_info=scene_info if isinstance(scene_info, dict) else None,
                scene_error=scene_error,
                error=error,
                subscribable=one_time_templates(),
                backend_url=backend,
            ),
            status,
        )

    @app.get("/phone")
    def phone_page():
        openid = request.args.get("openid") or flask.session.get("openid") or "demo-resident-1"
        with state.lock:
            nickname = state.users.get(openid, {}).get("nickname", "")
        form = {
            "openid": openid,
            "nickname": nickname,
            "scene": request.args.get("scene", ""),
            "category": "",
            "text": "",
            "subscribe": [tid for tid, _ in one_time_templates()],
        }
        return phone_form(form)

    @app.post("/phone")
    def phone_submit():
        f = request.form
        form = {
            "openid": f.get("openid", "").strip(),
            "nickname": f.get("nickname", "").strip(),
            "scene": f.get("scene", "").strip(),
            "category": f.get("category", "").strip(),
            "text": f.get("text", "").strip(),
            "subscribe": [t for t in f.getlist("subscribe") if t in templates],
        }
        if not form["openid"]:
            return phone_form(form, MESSAGES["openid_required"], 400)
        register_user(form["openid"], form["nickname"] or None)
        if form["subscribe"]:
            accept_subscriptions(form["openid"], form["subscribe"])  # the user tapped 允许
        code = issue_login_code(form["openid"])  # wx.login on the phone
        session_data, error = call_backend("POST", "/api/v1/sessions", payload={"code": code})
        token = session_data.get("token") if isinstance(session_data, dict) else None
        if error or not token:
            return phone_form(form, error or MESSAGES["backend_failed"].format(code="no token"), 502)
        flask.session["openid"] = form["openid"]
        flask.session["token"] = token
        complaint, error = call_backend(
            "POST",
            "/api/v1/complaints",
            token=token,
            payload={"scene": form["scene"], "category": form["category"], "text": form["text"]},
        )
        if error or not isinstance(complaint, dict):
            return phone_form(form, error or MESSAGES["backend_failed"].format(code="no data"), 422)
        return render_template("sandbox/phone_done.html", complaint=complaint, form=form), 201

    @app.get("/phone/mine")
    def phone_mine():
        token = flask.session.get("token")
        if not token:
            error = MESSAGES["not_logged_in"]
            return render_template("sandbox/phone_mine.html", complaints=None, error=error)
        complaints, error = call_backend("GET", "/api/v1/complaints", token=token)
        if not isinstance(complaints, list):
            complaints = None
        return render_template(
            "sandbox/phone_mine.html", complaints=complaints, error=error, openid=flask.session.get("openid")
        )

    return app


Served = tuple[BaseWSGIServer, threading.Thread, str]


def serve_in_thread(app: Flask, host: str = "127.0.0.1", port: int = 0) -> Served:
    """Serve `app` on a real port from a daemon thread; return (server, thread, base_url without slash).

    Side effects: binds a socket and starts a thread. Stop with `server.shutdown(); server.server_close()`.
    """
    server = make_server(host, port, app, threaded=True)
    # A short poll interval keeps shutdown() quick (tests start and stop many servers).
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="wechat-sandbox", daemon=True
    )
    thread.start()
    return server, thread, f"http://{host}:{server.server_port}"


def run_sandbox(host: str = "127.0.0.1", port: int = 0, **kwargs) -> Served:
    """Build a sandbox with `create_sandbox_app(**kwargs)` and serve it in a thread (see serve_in_thread)."""
    return serve_in_thread(create_sandbox_app(**kwargs), host=host, port=port)
