"""The signed message-push endpoint: WeChat's mediaCheckAsync verdicts arrive here.

https://developers.weixin.qq.com/miniprogram/dev/framework/server-ability/message-push.html
https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/sec-center/sec-check/mediaCheckAsync.html
"""

from __future__ import annotations

import hashlib
import hmac
import time

from flask import Blueprint, Response, current_app, request
from sqlalchemy import select

from models import NotFound, Unauthorized
from models.intake import Photo
from models.web import db
from wechat.push import check_push_signature

bp = Blueprint("wechat_push", __name__)


def _verified() -> None:
    args = request.args
    if not check_push_signature(current_app.config["XINMA"].push_token, args.get("signature", ""),
                                args.get("timestamp", ""), args.get("nonce", "")):
        raise Unauthorized("push_signature_invalid")


@bp.get("/wechat/push")
def verify_server():
    """The console's server check: echo `echostr` when the signature holds."""
    _verified()
    return request.args.get("echostr", ""), 200, {"Content-Type": "text/plain; charset=utf-8"}


@bp.post("/wechat/push")
def receive_push():
    """Record a mediaCheckAsync verdict on the photo it belongs to; other events are acknowledged and ignored."""
    _verified()
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return "success", 200, {"Content-Type": "text/plain"}
    if body.get("Event") == "wxa_media_check":
        trace_id = str(body.get("trace_id") or "")[:64]
        result = body.get("result") if isinstance(body.get("result"), dict) else {}
        suggest = result.get("suggest") if result.get("suggest") in ("pass", "review", "risky") else "review"
        photo = db().scalar(select(Photo).where(Photo.media_trace_id == trace_id)) if trace_id else None
        if photo is not None:
            photo.media_check = suggest
    return "success", 200, {"Content-Type": "text/plain"}


def signed_media_url(settings, name: str, ttl: int = 3600) -> str:
    """A URL WeChat can fetch one photo from for an hour (mediaCheckAsync needs a public address)."""
    expires = int(time.time()) + ttl
    sig = hmac.new(settings.secret_key.encode(), f"{name}:{expires}".encode(), hashlib.sha256).hexdigest()[:32]
    return f"{settings.public_url.rstrip('/')}/wechat/media/{name}?e={expires}&s={sig}"


@bp.get("/wechat/media/<name>")
def media_for_check(name: str):
    """The photo behind a signed, unexpired media URL; anything else is a plain 404."""
    from .photos import photo_dir

    settings = current_app.config["XINMA"]
    expires = request.args.get("e", "")
    sig = request.args.get("s", "")
    good = hmac.new(settings.secret_key.encode(), f"{name}:{expires}".encode(), hashlib.sha256).hexdigest()[:32]
    if not expires.isdigit() or int(expires) < time.time() or not hmac.compare_digest(good, sig):
        raise NotFound("not_found")
    photo = db().scalar(select(Photo).where(Photo.name == name))
    if photo is None:
        raise NotFound("not_found")
    response = Response((photo_dir(settings.instance) / photo.name).read_bytes(), mimetype=photo.content_type)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
