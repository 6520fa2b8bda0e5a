"""The mini-program JSON API: one envelope, stable error codes, nothing accepted outside the schema."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, current_app, jsonify, request

from models import DomainError
from models.residents import (
    authenticate_resident,
    authenticate_resident_ref,
    revoke_resident_session,
    sign_in_resident,
)
from qr.services import token_from_link
from web import ratelimit
from web.auth import wechat_login
from web.http import db, json_body, ok, private_image

from . import idempotency, services
from .openapi import openapi_document
from .photos import photo_file, photo_json, store_photo, visible_photo

bp = Blueprint("intake", __name__, url_prefix="/api/v1")

COMPLAINT_FIELDS = {"scene", "category", "text", "phone", "location", "photos"}


def _resident():
    return authenticate_resident(db(), request.headers.get("Authorization"))


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document())


@bp.post("/sessions")
def create_session():
    ratelimit.hit("login_address", ratelimit.client_address())
    body = json_body({"code"})
    login = wechat_login(body.get("code"))
    ratelimit.hit("login_resident", login.openid)
    settings = current_app.config["XINMA"]
    lifetime = dt.timedelta(days=settings.session_days)
    _resident_row, token = sign_in_resident(db(), login, lifetime=lifetime)
    return ok({"token": token, "expires_in": settings.session_days * 86400}, 201)


@bp.delete("/sessions/current")
def end_session():
    revoke_resident_session(db(), request.headers.get("Authorization"))
    return ok({"signed_out": True})


@bp.get("/scenes/<token>")
def scene(token: str):
    """The unit behind a scanned code's scene token (a unit code's, or a representative's personal code's, then
    naming the representative), and the categories; `scene` is the token to submit with."""
    return ok(services.scene_json(db(), token))


@bp.get("/scenes")
def scene_by_link():
    """The same for a plain-link scan: `?q=` is the poster link WeChat passed as `q` (our /q/<token>)."""
    return scene(token_from_link(current_app.config["XINMA"].public_url, request.args.get("q")))


@bp.post("/complaints")
def create_complaint():
    """The hot path: the sign-in, both rate limits and the body are checked, in that order, and the complaint is
    written with Core statements in the request's one transaction (services.record_complaint)."""
    session = db()
    resident = authenticate_resident_ref(session, request.headers.get("Authorization"))
    ratelimit.hit_many(("submit_address", ratelimit.client_address()), ("submit_resident", resident.id))
    body = json_body(COMPLAINT_FIELDS)
    key = request.headers.get("Idempotency-Key")
    row_id = None
    if key is not None:
        row_id, replay = idempotency.claim(session, resident, idempotency.check_key(key),
                                           idempotency.request_hash(body))
        if replay is not None:
            status, payload = replay
            response = jsonify(payload)
            response.status_code = status
            response.headers["Idempotent-Replayed"] = "true"
            return response
    data = services.record_complaint(session, resident, scene=body.get("scene"), category=body.get("category"),
                                     text=body.get("text"), phone=body.get("phone"),
                                     location=body.get("location"), photos=body.get("photos"))
    payload = {"ok": True, "data": data}
    if row_id is not None:
        idempotency.record(session, row_id, 201, payload)
    return jsonify(payload), 201


@bp.get("/complaints")
def list_complaints():
    resident = _resident()
    return ok([services.complaint_json(db(), c) for c in services.my_complaints(db(), resident)])


@bp.get("/complaints/<int:complaint_id>")
def show_complaint(complaint_id: int):
    resident = _resident()
    return ok(services.complaint_json(db(), services.own_complaint(db(), resident, complaint_id)))


@bp.post("/complaints/<int:complaint_id>/notes")
def add_note(complaint_id: int):
    """The resident adds words and/or uploaded photos to an open complaint (not a state change); answers the
    complaint with its notes. Counted against the submission limits, like a complaint."""
    session = db()
    resident = _resident()
    ratelimit.hit_many(("submit_address", ratelimit.client_address()), ("submit_resident", resident.id))
    body = json_body({"text", "photos"})
    return ok(services.add_note(session, resident, complaint_id, text=body.get("text"), photos=body.get("photos")),
              201)


@bp.post("/photos")
def upload_photo():
    resident = _resident()
    ratelimit.hit("upload_resident", resident.id)
    if request.content_length and request.content_length > current_app.config["MAX_CONTENT_LENGTH"]:
        raise DomainError("photo_too_large", status=413, limit_mb=2)
    if set(request.form) or set(request.files) - {"file"} or "file" not in request.files:
        raise DomainError("photo_missing")
    data = request.files["file"].read()
    photo = store_photo(db(), resident, data)
    return ok(photo_json(photo), 201)


def send_photo(photo, thumbnail: bool = False):
    """The photo's bytes from the database under its server-made name, with its real type and nosniff; private
    caching only."""
    stored = photo_file(db(), photo, thumbnail=thumbnail)
    return private_image(stored.data, stored.content_type, stored.name)


@bp.get("/photos/<int:photo_id>")
def show_photo(photo_id: int):
    return send_photo(visible_photo(db(), photo_id, resident=_resident()))


@bp.get("/photos/<int:photo_id>/thumbnail")
def show_thumbnail(photo_id: int):
    return send_photo(visible_photo(db(), photo_id, resident=_resident()), thumbnail=True)
