"""Run the WeChat sandbox for people: `python -m wechat --port 8900 --backend-url http://127.0.0.1:5000`.

With `--push-token` (the Token the backend expects) it pushes events to the backend's /wechat/push; `--push-mode`
and `--push-format` choose how, `--push-aes-key` is the EncodingAESKey compatible and safe mode need.
"""

from __future__ import annotations

import argparse
import json

from .sandbox import RedactingRequestHandler, create_sandbox_app
from .sandbox.state import PushConfig

DEMO_TEMPLATES = {
    "tpl-received": {
        "title": "受理通知",
        "kind": "one_time",
        "fields": {"thing1": "问题", "phrase2": "状态", "time3": "时间"},
    },
    "tpl-progress": {
        "title": "办理进度通知",
        "kind": "one_time",
        "fields": {"thing1": "问题", "thing2": "进度", "time3": "时间"},
    },
}


def main(argv: list[str] | None = None) -> None:
    """Parse arguments and serve the sandbox until interrupted. Side effect: binds host:port."""
    parser = argparse.ArgumentParser(prog="python -m wechat", description="Local fake of WeChat")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument("--appid", default="wx-sandbox-appid")
    parser.add_argument("--secret", default="sandbox-secret")
    parser.add_argument("--backend-url", default=None)
    parser.add_argument("--templates", help="JSON file {template_id: {title, kind, fields}}")
    parser.add_argument("--token-ttl", type=int, default=7200)
    parser.add_argument("--latency-ms", type=float, default=0, help="answer every WeChat call after this long")
    parser.add_argument("--push-token", default="", help="message-push Token; pushes to the backend when set")
    parser.add_argument("--push-aes-key", default="", help="message-push EncodingAESKey (43 characters)")
    parser.add_argument("--push-mode", choices=("plain", "compatible", "safe"), default="plain")
    parser.add_argument("--push-format", choices=("json", "xml"), default="json")
    args = parser.parse_args(argv)
    templates = DEMO_TEMPLATES
    if args.templates:
        with open(args.templates, encoding="utf-8") as fh:
            templates = json.load(fh)
    app = create_sandbox_app(
        appid=args.appid,
        secret=args.secret,
        templates=templates,
        backend_url=args.backend_url,
        token_ttl=args.token_ttl,
        latency_ms=args.latency_ms,
        push=PushConfig(token=args.push_token, aes_key=args.push_aes_key, mode=args.push_mode,
                        format=args.push_format),
    )
    app.run(host=args.host, port=args.port, threaded=True, request_handler=RedactingRequestHandler)


if __name__ == "__main__":
    main()
