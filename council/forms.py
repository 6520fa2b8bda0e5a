"""Parsing what secretaries and residents type: dates, times, counts and choices, each with its own error code."""

from __future__ import annotations

import datetime as dt
from typing import Any

from models import DomainError
from models.base import CHINA


def text(value: Any, code: str, limit: int | None = None, limit_code: str | None = None) -> str:
    value = value.strip() if isinstance(value, str) else ""
    if not value:
        raise DomainError(code)
    if limit is not None and len(value) > limit:
        raise DomainError(limit_code or "field_invalid", limit=limit, field=code)
    return value


def choice(value: Any, choices, code: str) -> str:
    if not isinstance(value, str) or value not in choices:
        raise DomainError(code)
    return value


def date(value: Any, code: str = "date_invalid") -> dt.date:
    try:
        return dt.date.fromisoformat(value.strip())
    except (AttributeError, ValueError):
        raise DomainError(code) from None


def local_datetime(value: Any, code: str = "meeting_time_invalid") -> dt.datetime:
    """A `2026-11-30T19:00` from a datetime-local field, read as China time, returned as aware UTC."""
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except (AttributeError, ValueError):
        raise DomainError(code) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=CHINA)
    return moment.astimezone(dt.UTC)


def integer(value: Any, code: str, low: int | None = None, high: int | None = None) -> int:
    if isinstance(value, bool):
        raise DomainError(code)
    if isinstance(value, str):
        value = value.strip()
        if not value.lstrip("-").isdigit():
            raise DomainError(code)
        value = int(value)
    if not isinstance(value, int):
        raise DomainError(code)
    if (low is not None and value < low) or (high is not None and value > high):
        raise DomainError(code)
    return value


def today() -> dt.date:
    return dt.datetime.now(CHINA).date()
