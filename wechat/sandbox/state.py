"""What the fake WeChat remembers, and the configuration one sandbox was built with.

State is in memory, one process, guarded by one lock. `Sandbox` is handed to each part (WeChat's API, the
control API, the pages, the pusher) so that none of them is a closure over another's variables.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import flask

from ..field_rules import RULES, key_type

ENDPOINT_KINDS = ("token", "login", "subscribe_send", "sec_check", "wxacode", "media_check", "phone")
FAULT_TYPES = ("latency_ms", "http_500", "timeout", "errcode")
LOGIN_CODE_TTL = 300
CHINA_TZ = timezone(timedelta(hours=8))

DEFAULT_CONTENT_RULES = {
    "risky": {"赌博": 20006, "代开发票": 10001, "傻逼": 20003},
    "review": {"投诉某某领导": 20001},
}


class Refusal(Exception):
    """WeChat-style refusal: HTTP 200 with a non-zero errcode."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(errcode, errmsg)
        self.errcode = errcode
        self.errmsg = errmsg


def rid() -> str:
    return f"{secrets.token_hex(4)}-{secrets.token_hex(4)}-{secrets.token_hex(4)}"


def wechat_error(errcode: int, errmsg: str) -> flask.Response:
    """WeChat's error answer; real errmsgs end with a request id, so callers must not parse errmsg."""
    return flask.jsonify({"errcode": errcode, "errmsg": f"{errmsg} rid: {rid()}"})


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, CHINA_TZ).isoformat(timespec="seconds")


def display_time(ts: float) -> str:
    return datetime.fromtimestamp(ts, CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S")


def normalise_rules(rules: dict | None) -> dict[str, dict[str, int]]:
    """Content rules as {suggest: {word: label}}; a plain word list gets label 21000 (other)."""
    rules = DEFAULT_CONTENT_RULES if rules is None else rules
    out: dict[str, dict[str, int]] = {}
    for suggest in ("risky", "review"):
        words = rules.get(suggest) or {}
        out[suggest] = dict(words) if isinstance(words, dict) else {w: 21000 for w in words}
    return out


def check_templates(templates: dict) -> dict:
    """The template table, copied; ValueError for a kind or a field type WeChat does not have."""
    for template_id, spec in templates.items():
        if spec.get("kind") not in ("one_time", "long_term"):
            raise ValueError(f"template {template_id}: kind must be one_time or long_term")
        for key in spec.get("fields", {}):
            if key_type(key) not in RULES:
                raise ValueError(f"template {template_id}: field {key} has no known type prefix")
    return {tid: dict(spec, fields=dict(spec.get("fields", {}))) for tid, spec in templates.items()}


class State:
    """Everything the fake WeChat remembers. Callers hold `lock` around reads and writes."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.fault_seq = 0
        self.reset()

    def reset(self) -> None:
        self.tokens: dict[str, dict] = {}  # token -> {expires_at, revoked_at, source}
        self.stable_token: str | None = None
        self.forced: list[float] = []  # times of forced stable_token refreshes
        self.codes: dict[str, dict] = {}  # login code -> {openid, issued_at, used}
        self.phone_codes: dict[str, dict] = {}  # getPhoneNumber code -> {openid, phone, country_code, ...}
        self.users: dict[str, dict] = {}  # openid -> {nickname, unionid}
        self.last_login: dict[str, float] = {}
        self.logins: dict[str, list[float]] = {}  # openid -> jscode2session call times in the last minute
        self.quota: dict[tuple[str, str], int] = {}  # one-time sends left per (openid, template)
        self.accepted: set[tuple[str, str]] = set()
        self.sending: set[str] = set()  # openids with a subscribe send in progress
        self.messages: list[dict] = []
        self.faults: list[dict] = []
        self.media_checks: list[dict] = []  # mediaCheckAsync submissions and the verdict pushed for each
        self.pushes: list[dict] = []  # every push sent to the backend and its answer
        self.calls = {kind: {"ok": 0, "failed": 0} for kind in ENDPOINT_KINDS}
        self.tokens_issued = 0
        self.force_refreshes = 0

    def user(self, openid: str) -> dict:
        return self.users.setdefault(openid, {"nickname": "", "unionid": None})


@dataclass
class PushConfig:
    """Where and how the sandbox pushes events, as set in the console's 消息推送配置 (changeable at run time)."""

    url: str | None = None  # the backend's /wechat/push; None: nothing is pushed
    token: str = ""
    aes_key: str = ""  # the EncodingAESKey (43 characters); needed for compatible and safe mode
    format: str = "json"
    mode: str = "plain"
    delay: float = 0.5  # seconds between an API call and the push it causes (WeChat's are asynchronous)
    media_verdict: str = "pass"  # what mediaCheckAsync finds in every image unless told otherwise


@dataclass
class Sandbox:
    """One sandbox: its configuration and its state, shared by the modules that make up its app."""

    appid: str
    secret: str
    templates: dict
    rules: dict[str, dict[str, int]]
    backend: str | None
    token_ttl: int
    clock: Callable[[], float]
    released_pages: tuple[str, ...]
    app_pages: tuple[str, ...] | None  # the mini-program's pages, when told; subscribe sends are checked
    push: PushConfig
    state: State = field(default_factory=State)

    def register_user(self, openid: str, nickname: str | None = None, unionid: str | None = None) -> dict:
        """Make a WeChat user known (optionally naming them). Side effect: state."""
        with self.state.lock:
            user = self.state.user(openid)
            if nickname:
                user["nickname"] = nickname
            if unionid:
                user["unionid"] = unionid
            return {"openid": openid, **user}

    def issue_login_code(self, openid: str) -> str:
        """What wx.login gives the phone: a single-use code for 5 minutes. Side effect: state."""
        code = secrets.token_urlsafe(24)
        with self.state.lock:
            self.state.user(openid)
            self.state.codes[code] = {"openid": openid, "issued_at": self.clock(), "used": False}
        return code

    def issue_phone_code(self, openid: str, phone: str, country_code: str = "86") -> str:
        """What the getPhoneNumber button gives the phone once the user allows: a single-use code for 5 minutes
        (not a wx.login code; the two cannot be mixed). Side effect: state."""
        code = secrets.token_urlsafe(24)
        with self.state.lock:
            self.state.user(openid)
            self.state.phone_codes[code] = {"openid": openid, "phone": phone, "country_code": country_code,
                                            "issued_at": self.clock(), "used": False}
        return code

    def answer_subscriptions(self, openid: str, answers: list[tuple[str, str]]) -> dict[str, int]:
        """Record the user's answers (template, accept/reject) in the subscribe popup; sends left per template.

        Raises ValueError on what wx.requestSubscribeMessage refuses: unknown templates, one-time and long-term
        templates asked together. A reject takes away what was left of that template.
        """
        unknown = [tid for tid, _ in answers if tid not in self.templates]
        if unknown:
            raise ValueError(f"unknown template_id: {', '.join(unknown)}")
        if len({self.templates[tid]["kind"] for tid, _ in answers}) > 1:
            raise ValueError("one-time and long-term templates cannot be requested together")
        with self.state.lock:
            self.state.user(openid)
            for tid, answer in answers:
                key = (openid, tid)
                if answer != "accept":
                    self.state.accepted.discard(key)
                    self.state.quota.pop(key, None)
                    continue
                self.state.accepted.add(key)
                if self.templates[tid]["kind"] == "one_time":
                    self.state.quota[key] = self.state.quota.get(key, 0) + 1
            return {tid: self.state.quota.get((openid, tid), 0) for tid, _ in answers}

    def message_view(self, message: dict) -> dict:
        template = self.templates[message["template_id"]]
        with self.state.lock:
            nickname = self.state.users.get(message["openid"], {}).get("nickname", "")
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
            "received_at": iso(message["received_at"]),
            "received_at_display": display_time(message["received_at"]),
        }

    def select_messages(self, openid: str | None, template_id: str | None) -> list[dict]:
        with self.state.lock:
            chosen = [
                m
                for m in self.state.messages
                if (not openid or m["openid"] == openid) and (not template_id or m["template_id"] == template_id)
            ]
        return [self.message_view(m) for m in chosen]
