"""The request's plumbing: its database session, the JSON envelope and body parsing, row ids in URLs, images."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, g, jsonify, request
from sqlalchemy.orm import Session
from werkzeug.routing import IntegerConverter

from models import DomainError


def db() -> Session:
    """The request's session; app.py commits it once if the response succeeded, else rolls it back."""
    if "db" not in g:
        g.db = current_app.extensions["xinma.sessionmaker"]()
    return g.db


class RowIdConverter(IntegerConverter):
    """`<int:…>` in every route: ids are 32-bit database integers, so a larger number is a plain 404 (never a query
    that overflows the column)."""

    # The bound is in the pattern, not only in to_python: werkzeug refuses a value to_python rejects only after
    # matching the methods, so a POST to a path that also has a GET answered 405 instead of 404.
    regex = r"0*(?:\d{1,9}|1\d{9}|20\d{8}|21[0-3]\d{7}|214[0-6]\d{6}|2147[0-3]\d{5}|21474[0-7]\d{4}" \
            r"|214748[0-2]\d{3}|2147483[0-5]\d{2}|21474836[0-3]\d|214748364[0-7])"

    def __init__(self, map, *args, **kwargs) -> None:  # noqa: A002 - werkzeug's signature
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def ok(data: Any, status: int = 200):
    return jsonify({"ok": True, "data": data}), status


MAX_DEPTH = 32  # nesting levels a body may have: far more than any endpoint accepts, far fewer than recursion


def json_body(allowed: set[str]) -> dict[str, Any]:
    """The request's JSON object, refusing (`json_required`) anything that is not one or is nested deeper than
    MAX_DEPTH, `unknown_field` for fields outside `allowed`, `nul_character` for a NUL character anywhere
    (PostgreSQL cannot store one)."""
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # nested deeper than the parser goes
        body = None
    if not isinstance(body, dict):
        raise DomainError("json_required")
    for key in body:
        if key not in allowed:
            raise DomainError("unknown_field", field=str(key)[:40])
    if has_nul(body):
        raise DomainError("nul_character")
    return body


def has_nul(value: Any) -> bool:
    """Whether a NUL character is in this string, or in any key or string inside this JSON value; a value nested
    deeper than MAX_DEPTH is refused (`json_required`). Walked without recursion."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
            continue
        if depth >= MAX_DEPTH and isinstance(item, dict | list):
            raise DomainError("json_required")
        if isinstance(item, dict):
            if any("\x00" in key for key in item):
                return True
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return False


def private_image(data: bytes, mimetype: str, name: str) -> Response:
    """An uploaded image under its server-made name: its real type, nosniff, sandboxed, never cached publicly."""
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'inline; filename="{name}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
