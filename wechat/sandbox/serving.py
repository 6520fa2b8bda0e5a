"""Serving the sandbox: a threaded server whose access log shows no secret.

WeChat's URLs carry the AppSecret (`secret`), the access token and the login code (`js_code`) in their query;
the log line of each request has them replaced by `***`, so `xinma up` and `python -m wechat` print no secret.
"""

from __future__ import annotations

import re
import threading

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

SECRET_PARAMS = re.compile(r"(?i)\b(secret|access_token|js_code|code|appsecret)=[^&\s\"]*")


def redact(text: str) -> str:
    """The text with the values of secret-carrying query parameters replaced by ***. No side effects."""
    return SECRET_PARAMS.sub(lambda m: f"{m.group(1)}=***", text)


class RedactingRequestHandler(WSGIRequestHandler):
    """Werkzeug's request handler, logging each line with the secrets in its URL redacted."""

    def log(self, type: str, message: str, *args) -> None:
        super().log(type, redact(message), *(redact(a) if isinstance(a, str) else a for a in args))


Served = tuple[BaseWSGIServer, threading.Thread, str]


def make_sandbox_server(app: Flask, host: str = "127.0.0.1", port: int = 0) -> BaseWSGIServer:
    """A threaded server for `app` whose access log redacts secrets. Side effect: binds the socket."""
    return make_server(host, port, app, threaded=True, request_handler=RedactingRequestHandler)


def serve_in_thread(app: Flask, host: str = "127.0.0.1", port: int = 0) -> Served:
    """Serve `app` on a real port from a daemon thread; return (server, thread, base_url without slash).

    Side effects: binds a socket and starts a thread. Stop with `server.shutdown(); server.server_close()`.
    """
    server = make_sandbox_server(app, host, port)
    # A short poll interval keeps shutdown() quick (tests start and stop many servers).
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="wechat-sandbox", daemon=True
    )
    thread.start()
    return server, thread, f"http://{host}:{server.server_port}"
