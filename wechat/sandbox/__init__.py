"""A faithful local fake of the WeChat mini-program server APIs, plus a control API and pages for people.

It answers like WeChat, refusals included: single-use 5-minute login and phone-number codes (getuserphonenumber)
and a per-user login limit, expiring and rotating access tokens with limited forced refreshes, a per-(user,
template) subscription ledger, template field and page rules, one send at a time per user, content rules, and
fault switches (latency, HTTP 500, timeouts, errcodes). It pushes what WeChat pushes (media-check verdicts,
subscribe events, privacy events) to the backend, signed and in the format and mode configured. State is in
memory, one process, guarded by a lock.

Modules of one job each: `access` and `api` (WeChat's endpoints), `control` (/_sandbox/...), `pages` (index,
inbox, simulated phone, which opens a scene or a plain-link scan's `q`), `pusher` (message push), `state` (what it
remembers), `faults`, `serving`.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

from flask import Flask

from . import access, api, control, pages
from .faults import add_fault
from .serving import RedactingRequestHandler, Served, make_sandbox_server, redact, serve_in_thread
from .state import PushConfig, Sandbox, State, check_templates, normalise_rules

__all__ = ["PushConfig", "RedactingRequestHandler", "Served", "State", "create_sandbox_app", "make_sandbox_server",
           "push_config", "redact", "run_sandbox", "serve_in_thread"]


def push_config(token: str, aes_key: str = "", fmt: str = "json") -> PushConfig:
    """The push configuration matching a backend's Token and EncodingAESKey: safe mode when there is a key."""
    return PushConfig(token=token, aes_key=aes_key, format=fmt, mode="safe" if aes_key else "plain")


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
    app_pages: tuple[str, ...] | None = None,
    push: PushConfig | None = None,
    latency_ms: float = 0,
) -> Flask:
    """Build the sandbox Flask app (fake WeChat endpoints, `/_sandbox/` control API, pages).

    `app_pages`: the mini-program's pages; when given, a subscribe message naming another page is refused.
    `push`: where and how to push events (default: to `backend_url` + /wechat/push once a token is set).
    `latency_ms`: every WeChat call answers after this long (a latency fault that stays until cleared).
    No side effects until served; all state lives in the returned app (`app.extensions["wechat_sandbox"]`
    is the State, `app.extensions["wechat_sandbox.config"]` the Sandbox).
    """
    app = Flask(__name__, template_folder="../templates")
    app.secret_key = secrets.token_hex(16)
    app.json.ensure_ascii = False
    backend = backend_url.rstrip("/") if backend_url else None
    if push is None:
        push = PushConfig()
    if push.url is None and backend and push.token:
        push.url = backend + "/wechat/push"
    sb = Sandbox(appid=appid, secret=secret, templates=check_templates(templates),
                 rules=normalise_rules(content_rules), backend=backend, token_ttl=token_ttl, clock=clock,
                 released_pages=tuple(released_pages), app_pages=tuple(app_pages) if app_pages else None,
                 push=push)
    if latency_ms:
        add_fault(sb, endpoint="*", kind="latency_ms", value=latency_ms, count=None)
    app.extensions["wechat_sandbox"] = sb.state
    app.extensions["wechat_sandbox.config"] = sb
    access.register(app, sb)
    api.register(app, sb)
    control.register(app, sb)
    pages.register(app, sb)
    return app


def run_sandbox(host: str = "127.0.0.1", port: int = 0, **kwargs) -> Served:
    """Build a sandbox with `create_sandbox_app(**kwargs)` and serve it in a thread (see serve_in_thread)."""
    return serve_in_thread(create_sandbox_app(**kwargs), host=host, port=port)
