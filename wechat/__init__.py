"""The only code that talks to WeChat: client, typed errors, sandbox; imports nothing of the project.

Owns: `WeChatGateway` (access token, timeouts, one bounded token retry, typed errors), the WeChat error
classes, `wechat.push` (reading and building WeChat's message pushes in every mode and format) and
`create_sandbox_app` (the `wechat.sandbox` package: a fake of the WeChat endpoints as strict as WeChat, which
pushes what WeChat pushes, with a control API and pages).
May import: the standard library, wechatpy, requests, flask, werkzeug, qrcode, pillow. Everything else it
needs (appid, secret, Redis connection, templates, backend URL) is passed in by arguments.
"""

from .client import LoginSession, TextCheck, WeChatGateway
from .errors import (
    WeChatError,
    WeChatLoginCodeInvalid,
    WeChatNoSubscription,
    WeChatOutcomeUnknown,
    WeChatRateLimited,
    WeChatRequestInvalid,
    WeChatRetryable,
    WeChatServerError,
    WeChatTokenError,
    WeChatUnreachable,
    WeChatUserInactive,
    error_for,
)
from .sandbox import create_sandbox_app, run_sandbox, serve_in_thread

__all__ = [
    "LoginSession",
    "TextCheck",
    "WeChatError",
    "WeChatGateway",
    "WeChatLoginCodeInvalid",
    "WeChatNoSubscription",
    "WeChatOutcomeUnknown",
    "WeChatRateLimited",
    "WeChatRequestInvalid",
    "WeChatRetryable",
    "WeChatServerError",
    "WeChatTokenError",
    "WeChatUnreachable",
    "WeChatUserInactive",
    "create_sandbox_app",
    "error_for",
    "run_sandbox",
    "serve_in_thread",
]
