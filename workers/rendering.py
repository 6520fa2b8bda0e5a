"""A notification's subscribe message: its template id, field values and page, from the catalogue in
models/message_templates.py and the words of web/messages.py."""

from __future__ import annotations

import datetime as dt
from typing import Any

from models.base import CHINA
from models.message_templates import TEMPLATES, field_type, fits
from web.messages import MESSAGE_DETAILS, MESSAGE_RESULTS, MESSAGE_WORDS
from web.settings import template_id


class FieldInvalid(ValueError):
    """A field's value WeChat would refuse (47003): a bug in the catalogue or in the params, never cut to fit."""


def sandbox_templates() -> dict[str, dict[str, Any]]:
    """The same table in the shape the WeChat sandbox checks sends against."""
    return {template_id(event): {"title": spec["title"], "kind": spec["kind"],
                                 "fields": {key: field[0] for key, field in spec["fields"].items()}}
            for event, spec in TEMPLATES.items()}


def _time(value: Any) -> str | None:
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None  # a naive time could be any zone's
    moment = moment.astimezone(CHINA)
    return f"{moment.year}年{moment.month}月{moment.day}日 {moment:%H:%M}"


def _value(event: str, key: str, source: str, params: dict[str, Any]) -> str | None:
    """The text a source names for this notification, or None when it names nothing."""
    outcome = params.get("result") or params.get("action")
    if source.startswith("="):
        return MESSAGE_WORDS[source[1:]]
    if source == "@results":
        return MESSAGE_RESULTS[event].get(outcome)
    if source == "@details":
        return MESSAGE_DETAILS.get(outcome)
    raw = params.get(source)
    if raw is None or raw == "":
        return None
    return _time(raw) if key.startswith("time") else str(raw)


def render(event: str, params: dict[str, Any]) -> tuple[str, dict[str, str], str]:
    """The template id, the field values and the page a tap opens.

    Raises FieldInvalid when a value does not fit its field type whole (nothing is ever cut to fit).
    """
    spec = TEMPLATES[event]
    data = {}
    for key, (_, source, *fallback) in spec["fields"].items():
        value = _value(event, key, source, params)
        if fallback and not fits(key, value):
            value = _value(event, key, fallback[0], params)
        if not fits(key, value):
            raise FieldInvalid(f"{event}.{key} ({source}): {value!r} is not a valid {field_type(key)}")
        data[key] = value
    if "page" in spec:
        page = spec["page"].format(**params)
    elif "complaint_id" in params:
        page = f"pages/complaint/detail?id={params['complaint_id']}"
    else:
        page = f"pages/topic/detail?id={params.get('topic_id', '')}"
    return template_id(event), data, page
