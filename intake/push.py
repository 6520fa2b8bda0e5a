"""The signed message-push endpoint: WeChat's mediaCheckAsync verdicts arrive here.

https://developers.weixin.qq.com/miniprogram/dev/framework/server-ability/message-push.html
https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/sec-center/sec-check/mediaCheckAsync.html
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time

from flask import Blueprint, Response, current_app, request
from sqlalchemy import select

from models import NotFound, Unauthorized
from models.intake import Photo
from web.http import db
from wechat.push import check_push_signature

bp = Blueprint("wechat_push", __name__)

# A push is accepted only while its signed timestamp is within this many seconds of our clock (either way),
# and each nonce only once inside that window: a captured push cannot be replayed later or twice.
WINDOW = 300
_local_nonces: dict[str, float] = {}
_local_lock = threading.Lock()


def _claim_nonce(key: str, now: float) -> bool:
    """Remember a nonce for the window; False if it was already seen. Redis when there is one, else this process."""
    queue = current_app.extensions.get("xinma.queue")
    if queue is not None:
        try:
            return bool(queue.connection.set(key, b"1", nx=True, ex=2 * WINDOW + 1))
        except Exception:  # Redis down: remember in this process rather than accept every replay
            pass
    with _local_lock:
        if len(_local_nonces) > 50_000:
            for old in [k for k, until in _local_nonces.items() if until <= now]:
                del _local_nonces[old]
        if _local_nonces.get(key, 0) > now:
            return False
        _local_nonces[key] = now + 2 * WINDOW + 1
        return True


def _release_nonce(key: str) -> None:
    """Forget a nonce whose push was not recorded after all, so WeChat's retry of it is accepted."""
    queue = current_app.extensions.get("xinma.queue")
    if queue is not None:
        try:
            queue.connection.delete(key)
        except Exception:  # the local fallback below still holds it if Redis was down at claim time
            pass
    with _local_lock:
        _local_nonces.pop(key, None)


def _verified(*, claim: bool = False) -> str | None:
    """Check the signature and the time window; with `claim`, also spend the nonce (returns its key)."""
    args = request.args
    timestamp, nonce = args.get("timestamp", ""), args.get("nonce", "")
    if not check_push_signature(current_app.config["XINMA"].push_token, args.get("signature", ""),
                                timestamp, nonce):
        raise Unauthorized("push_signature_invalid")
    now = time.time()
    if not timestamp.isdigit() or len(timestamp) > 12 or abs(int(timestamp) - now) > WINDOW:
        raise Unauthorized("push_timestamp_stale")
    if not claim:
        return None
    key = f"xinma:push-nonce:{timestamp}:{hashlib.sha256(nonce.encode()).hexdigest()[:32]}"
    if not _claim_nonce(key, now):
        raise Unauthorized("push_replayed")
    return key


@bp.get("/wechat/push")
def verify_server():
    """The console's server check: echo `echostr` when the signature holds."""
    _verified()
    return request.args.get("echostr", ""), 200, {"Content-Type": "text/plain; charset=utf-8"}


@bp.post("/wechat/push")
def receive_push():
    """Record a mediaCheckAsync verdict on the photo it belongs to; other events are acknowledged and ignored.

    The nonce is spent only once the verdict is committed: a push that failed here can be retried by WeChat.
    """
    nonce_key = _verified(claim=True)
    try:
        body = request.get_json(silent=True)
        if isinstance(body, dict) and body.get("Event") == "wxa_media_check":
            trace_id = str(body.get("trace_id") or "")[:64]
            result = body.get("result") if isinstance(body.get("result"), dict) else {}
            suggest = result.get("suggest") if result.get("suggest") in ("pass", "review", "risky") else "review"
            photo = db().scalar(select(Photo).where(Photo.media_trace_id == trace_id)) if trace_id else None
            if photo is not None:
                photo.media_check = suggest
            db().commit()
    except Exception:
        _release_nonce(nonce_key)
        raise
    return "success", 200, {"Content-Type": "text/plain"}


def signed_media_url(settings, name: str, ttl: int = 3600) -> str:
    """A URL WeChat can fetch one photo from for an hour (mediaCheckAsync needs a public address)."""
    expires = int(time.time()) + ttl
    sig = hmac.new(settings.secret_key.encode(), f"{name}:{expires}".encode(), hashlib.sha256).hexdigest()[:32]
    return f"{settings.public_url.rstrip('/')}/wechat/media/{name}?e={expires}&s={sig}"


@bp.get("/wechat/media/<name>")
def media_for_check(name: str):
    """The photo behind a signed, unexpired media URL; anything else is a plain 404."""
    from .photos import photo_file

    settings = current_app.config["XINMA"]
    expires = request.args.get("e", "")
    sig = request.args.get("s", "")
    good = hmac.new(settings.secret_key.encode(), f"{name}:{expires}".encode(), hashlib.sha256).hexdigest()[:32]
    if not expires.isdigit() or int(expires) < time.time() or not hmac.compare_digest(good, sig):
        raise NotFound("not_found")
    photo = db().scalar(select(Photo).where(Photo.name == name))
    if photo is None:
        raise NotFound("not_found")
    stored = photo_file(db(), photo)
    response = Response(stored.data, mimetype=stored.content_type)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
