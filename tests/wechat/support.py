"""Shared test helpers for the wechat tests: constants, a fake clock, a handle on a running sandbox."""

from __future__ import annotations

import time

import requests

APPID = "wx-test-appid"
SECRET = "test-secret-do-not-log"

TEMPLATES = {
    "tpl-received": {
        "title": "受理通知",
        "kind": "one_time",
        "fields": {"thing1": "问题", "phrase2": "状态", "time3": "时间"},
    },
    "tpl-alert": {
        "title": "新反映提醒",
        "kind": "long_term",
        "fields": {"thing1": "问题", "character_string2": "编号"},
    },
}

RECEIVED = {"thing1": "楼道灯坏了", "phrase2": "已受理", "time3": "2026年11月23日 19:00"}


class FakeClock:
    """The sandbox's notion of now; tests move it forward instead of sleeping."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Sandbox:
    """A running sandbox plus a small client for its control API."""

    def __init__(self, options: dict, url: str) -> None:
        self.options = options
        self.url = url
        self.http = requests.Session()

    def control(self, method: str, path: str, body: dict | None = None, **params) -> dict:
        res = self.http.request(method, self.url + path, json=body, params=params, timeout=5)
        assert res.status_code < 400, res.text
        return res.json()

    def login_code(self, openid: str) -> str:
        return self.control("POST", "/_sandbox/login", {"openid": openid})["code"]

    def subscribe(self, openid: str, *template_ids: str) -> dict:
        return self.control("POST", "/_sandbox/subscribe", {"openid": openid, "template_ids": list(template_ids)})

    def fault(self, endpoint: str, type: str, value=None, count: int | None = 1) -> dict:
        body = {"endpoint": endpoint, "type": type, "value": value, "count": count}
        return self.control("POST", "/_sandbox/faults", body)["fault"]

    def calls(self) -> dict:
        return self.control("GET", "/_sandbox/calls")

    def messages(self, **params) -> list[dict]:
        return self.control("GET", "/_sandbox/messages", **params)["messages"]
