"""The mini-program JSON API: one envelope, stable error codes, nothing accepted outside the schema."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, current_app, request

from models import DomainError
from models.messages import COMPLAINT_CATEGORIES
from models.residents import authenticate_resident, sign_in_resident
from models.web import db, json_body, ok
from qr.services import resolve_scene
from wechat import WeChatLoginCodeInvalid, WeChatRetryable

from . import services

bp = Blueprint("intake", __name__, url_prefix="/api/v1")


@bp.post("/sessions")
def create_session():
    body = json_body({"code"})
    code = body.get("code")
    if not isinstance(code, str) or not code.strip() or len(code) > 128:
        raise DomainError("login_code_missing")
    try:
        login = current_app.extensions["xinma.wechat"].code_to_session(code.strip())
    except WeChatLoginCodeInvalid:
        raise DomainError("login_code_invalid") from None
    except WeChatRetryable:
        raise DomainError("wechat_unavailable", status=503) from None
    settings = current_app.config["XINMA"]
    _, token = sign_in_resident(db(), login, lifetime=dt.timedelta(days=settings.session_days))
    return ok({"token": token, "expires_in": settings.session_days * 86400}, 201)


@bp.get("/scenes/<token>")
def scene(token: str):
    code = resolve_scene(db(), token)
    return ok({"unit": {"name": code.unit.name, "full_name": code.unit.full_name(), "level": code.unit.level.value},
               "categories": COMPLAINT_CATEGORIES})


@bp.post("/complaints")
def create_complaint():
    resident = authenticate_resident(db(), request.headers.get("Authorization"))
    body = json_body({"scene", "category", "text"})
    complaint = services.submit_complaint(db(), resident, scene=body.get("scene"), category=body.get("category"),
                                          text=body.get("text"))
    return ok(services.complaint_json(db(), complaint), 201)


@bp.get("/complaints")
def list_complaints():
    resident = authenticate_resident(db(), request.headers.get("Authorization"))
    return ok([services.complaint_json(db(), c) for c in services.my_complaints(db(), resident)])


@bp.get("/complaints/<int:complaint_id>")
def show_complaint(complaint_id: int):
    resident = authenticate_resident(db(), request.headers.get("Authorization"))
    return ok(services.complaint_json(db(), services.own_complaint(db(), resident, complaint_id)))
