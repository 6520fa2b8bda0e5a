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

    def __init__(self, map, *args, **kwargs) -> None:  # noqa: A002 - werkzeug's signature
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def ok(data: Any, status: int = 200):
    return jsonify({"ok": True, "data": data}), status


def json_body(allowed: set[str]) -> dict[str, Any]:
    """The request's JSON object, refusing anything that is not one, that has fields outside `allowed` or that
    holds a NUL character anywhere (PostgreSQL cannot store one)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise DomainError("json_required")
    for key in body:
        if key not in allowed:
            raise DomainError("unknown_field", field=str(key)[:40])
    if has_nul(body):
        raise DomainError("nul_character")
    return body


def has_nul(value: Any) -> bool:
    """Whether a NUL character is in this string, or in any key or string inside this JSON value."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any("\x00" in key or has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(has_nul(item) for item in value)
    return False


def private_image(data: bytes, mimetype: str, name: str) -> Response:
    """An uploaded image under its server-made name: its real type, nosniff, sandboxed, never cached publicly."""
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'inline; filename="{name}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
