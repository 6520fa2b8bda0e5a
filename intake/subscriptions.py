"""The resident's WeChat message budget: record what wx.requestSubscribeMessage answered, and say what to ask."""

from __future__ import annotations

from flask import Blueprint, request
from sqlalchemy import func, select

from models import DomainError, Notification, NotificationState
from models.message_templates import TEMPLATES
from models.notify import Subscription, record_subscription_results
from models.residents import authenticate_resident
from web.http import db, json_body, ok
from web.settings import template_id

bp = Blueprint("subscriptions", __name__, url_prefix="/api/v1")
ANSWERS = {"accept", "reject", "ban", "filter"}


def _known_templates() -> dict[str, str]:
    return {template_id(event): spec["kind"] for event, spec in TEMPLATES.items()}


@bp.post("/subscriptions")
def record_subscriptions():
    """Body: {"results": {"<template id>": "accept" | "reject" | "ban" | "filter"}}, as wx returns it."""
    resident = authenticate_resident(db(), request.headers.get("Authorization"))
    body = json_body({"results"})
    results = body.get("results")
    known = _known_templates()
    if not isinstance(results, dict) or not results:
        raise DomainError("field_required", field="results")
    for key, answer in results.items():
        if key not in known:
            raise DomainError("subscription_template_unknown", template=str(key)[:64])
        if answer not in ANSWERS:
            raise DomainError("field_invalid", field=f"results.{str(key)[:64]}")
    long_term = {tid for tid, kind in known.items() if kind == "long_term"}
    left = record_subscription_results(db(), resident.id, dict(results), long_term)
    return ok({"left": left}, 201)


@bp.get("/subscriptions")
def show_subscriptions():
    """What the resident has left per template, and which templates to ask again (messages are waiting)."""
    resident = authenticate_resident(db(), request.headers.get("Authorization"))
    rows = db().scalars(select(Subscription).where(Subscription.resident_id == resident.id)).all()
    waiting = dict(db().execute(
        select(Notification.event, func.count()).where(
            Notification.recipient_kind == "resident", Notification.recipient_id == resident.id,
            Notification.state == NotificationState.undeliverable,
            Notification.last_error.like("no_quota%") | Notification.last_error.like("43101%"))
        .group_by(Notification.event)).all())
    resubscribe = sorted({template_id(event) for event in waiting if event in TEMPLATES}
                         | {r.template_id for r in rows if not r.long_term and r.left == 0})
    return ok({"left": {r.template_id: r.left for r in rows if not r.long_term},
               "waiting": {template_id(e): n for e, n in waiting.items() if e in TEMPLATES},
               "resubscribe": resubscribe})
