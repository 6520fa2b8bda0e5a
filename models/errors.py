"""Typed domain errors with stable English codes; views turn the code into Chinese text (messages.py)."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refusal with a stable code. Raised before anything is written, or the transaction rolls back."""

    status = 400

    def __init__(self, code: str, status: int | None = None, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params
        if status is not None:
            self.status = status


class NotFound(DomainError):
    status = 404


class Forbidden(DomainError):
    status = 403


class Unauthorized(DomainError):
    status = 401


class Conflict(DomainError):
    """The thing changed meanwhile (a stale form, a second decision): nothing was changed."""

    status = 409
