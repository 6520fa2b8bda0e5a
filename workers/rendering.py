"""A notification's subscribe message: its template id, field values and page, from the catalogue in
models/message_templates.py."""

from __future__ import annotations

import datetime as dt
from typing import Any

from models.base import CHINA
from models.message_templates import LIMITS, TEMPLATES
from web.messages import COMPLAINT_STATES, TOPIC_STATES
from web.settings import template_id


def sandbox_templates() -> dict[str, dict[str, Any]]:
    """The same table in the shape the WeChat sandbox checks sends against."""
    return {template_id(event): {"title": spec["title"], "kind": spec["kind"],
                                 "fields": {key: label for key, (label, _) in spec["fields"].items()}}
            for event, spec in TEMPLATES.items()}


def _fit(key: str, value: str) -> str:
    kind = key.rstrip("0123456789")
    limit = LIMITS.get(kind)
    value = " ".join(value.split())
    if limit and len(value) > limit:
        value = value[: limit - 1] + "…" if kind == "thing" else value[:limit]
    return value


def _time(value: str) -> str:
    moment = dt.datetime.fromisoformat(value).astimezone(CHINA)
    return f"{moment.year}年{moment.month}月{moment.day}日 {moment:%H:%M}"


def render(event: str, params: dict[str, Any]) -> tuple[str, dict[str, str], str]:
    """The template id, the field values (within WeChat's length rules) and the page a tap opens."""
    spec = TEMPLATES[event]
    params = dict(params)
    params.setdefault("state_label", TOPIC_STATES.get(params.get("state", ""), "") if "topic_id" in params
                      else COMPLAINT_STATES.get(params.get("state", ""), ""))
    data = {}
    for key, (_, source) in spec["fields"].items():
        raw = source[1:] if source.startswith("=") else str(params.get(source) or "")
        if key.startswith("time"):
            raw = _time(raw)
        data[key] = _fit(key, raw) or "无"
    if "page" in spec:
        page = spec["page"].format(**params)
    elif "complaint_id" in params:
        page = f"pages/complaint/detail?id={params['complaint_id']}"
    else:
        page = f"pages/topic/detail?id={params.get('topic_id', '')}"
    return template_id(event), data, page
