"""The signed message-push endpoint: what WeChat tells us about photos, subscriptions, sends and users.

https://developers.weixin.qq.com/miniprogram/dev/framework/server-ability/message-push.html
Plaintext, compatible and safe mode (XINMA_WECHAT_PUSH_AES_KEY, the console's EncodingAESKey), JSON or XML
whatever the Content-Type (wechat.push reads them). A push that fails its signature or cannot be read is
answered 4xx and logged, never `success` (WeChat then tries again). Events acted on:
- `wxa_media_check`: a photo's verdict (https://developers.weixin.qq.com/miniprogram/dev/server/API/sec-center/
  sec-check/api_mediacheckasync);
- `subscribe_msg_popup_event`, `subscribe_msg_change_event`: the resident's subscription ledger;
- `subscribe_msg_sent_event`: confirms or fails a send whose call timed out
  (https://developers.weixin.qq.com/miniprogram/dev/framework/open-ability/subscribe-message.html);
- `user_authorization_revoke`, `user_authorization_cancellation`: the resident's personal data is removed
  (https://developers.weixin.qq.com/miniprogram/dev/framework/security.html, 授权用户信息变更: "请开发者注意及时
  删除用户信息").
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import threading
import time

from flask import Blueprint, Response, current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import delete, or_, select, update

from models import (
    AuditEvent,
    Complaint,
    DomainError,
    NotFound,
    Notification,
    NotificationState,
    Resident,
    Unauthorized,
    utcnow,
)
from models.intake import ComplaintContact, Photo, PhotoFile
from models.message_templates import TEMPLATES
from models.notify import exhaust_subscription, record_subscription_results
from models.outbox import amend_notifications, move_notifications
from models.residents import revoke_all_sessions
from web.http import db
from web.settings import template_id
from wechat.push import PushRejected, check_push_signature, read_push

from .photos import bytes_for_check

bp = Blueprint("wechat_push", __name__)

# A push is accepted only while its signed timestamp is within this many seconds of our clock (either way),
# and each nonce only once inside that window: a captured push cannot be replayed later or twice.
WINDOW = 300
# A sent event is matched to a timed-out send claimed this long before the event at most.
SENT_EVENT_REACH = dt.timedelta(minutes=30)
CLOCK_SLACK = dt.timedelta(seconds=60)  # WeChat stamps CreateTime in whole seconds, on its own clock
PRIVACY_EVENTS = ("user_authorization_revoke", "user_authorization_cancellation")
# How the workers mark a send whose outcome they could not know: its call timed out after WeChat got it, or the
# worker stopped during the call (the sweep's mark).
UNKNOWN_OUTCOME = ("outcome_unknown", "worker stopped during the WeChat call")
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


def _fresh(timestamp: str) -> None:
    if not timestamp.isdigit() or len(timestamp) > 12 or abs(int(timestamp) - time.time()) > WINDOW:
        raise Unauthorized("push_timestamp_stale")


def _refuse(code: str, detail: str):
    current_app.logger.warning("WeChat push refused: %s (%s) from %s", code, detail, request.remote_addr)
    if code == "push_signature_invalid":
        raise Unauthorized(code)
    raise DomainError(code)


@bp.get("/wechat/push")
def verify_server():
    """The console's server check: echo `echostr` when the signature holds."""
    args = request.args
    if not check_push_signature(current_app.config["XINMA"].push_token, args.get("signature", ""),
                                args.get("timestamp", ""), args.get("nonce", "")):
        _refuse("push_signature_invalid", "server check")
    _fresh(args.get("timestamp", ""))
    return args.get("echostr", ""), 200, {"Content-Type": "text/plain; charset=utf-8"}


@bp.post("/wechat/push")
def receive_push():
    """Verify, read and apply one push; `success` once it is committed (unknown events are acknowledged).

    The nonce is spent only once the push is committed: a push that failed here can be retried by WeChat.
    """
    settings = current_app.config["XINMA"]
    try:
        event = read_push(request.args, request.get_data(cache=False), token=settings.push_token,
                          aes_key=settings.push_aes_key, appid=settings.wechat_appid)
    except PushRejected as exc:
        _refuse(exc.code, exc.detail)
    timestamp = request.args.get("timestamp", "")
    _fresh(timestamp)
    nonce = hashlib.sha256(request.args.get("nonce", "").encode()).hexdigest()[:32]
    nonce_key = f"xinma:push-nonce:{timestamp}:{nonce}"
    if not _claim_nonce(nonce_key, time.time()):
        raise Unauthorized("push_replayed")
    try:
        handler = HANDLERS.get(str(event.get("Event") or ""))
        if handler is not None:
            handler(event)
        db().commit()
    except Exception:
        _release_nonce(nonce_key)
        raise
    return "success", 200, {"Content-Type": "text/plain"}


def _resident(openid) -> Resident | None:
    return db().scalar(select(Resident).where(Resident.openid == str(openid))) if openid else None


def _media_check(event: dict) -> None:
    """Record a mediaCheckAsync verdict on the photo it belongs to (no verdict, or a failed check: review)."""
    trace_id = str(event.get("trace_id") or "")[:64]
    result = event.get("result") if isinstance(event.get("result"), dict) else {}
    suggest = result.get("suggest") if result.get("suggest") in ("pass", "review", "risky") else "review"
    if str(event.get("errcode", "0")) not in ("0", ""):
        suggest = "review"  # -1008: WeChat could not download the image; a person looks at it instead
    photo = db().scalar(select(Photo).where(Photo.media_trace_id == trace_id)) if trace_id else None
    if photo is not None:
        photo.media_check = suggest


def _subscriptions(event: dict) -> None:
    """The resident answered the subscribe popup, or turned templates off in WeChat's settings.

    A reject leaves nothing on the ledger for that template; each accept adds one send, as it does to WeChat's
    quota. If the mini-program also posts the same tap (POST /api/v1/subscriptions) the ledger shows one send
    more than WeChat has: the safe side, since a send WeChat then refuses (43101) empties the ledger, whereas a
    ledger showing fewer sends than WeChat has could let a timed-out send be re-sent and arrive twice.
    """
    resident = _resident(event.get("FromUserName"))
    if resident is None:
        return
    known = {template_id(name): spec["kind"] for name, spec in TEMPLATES.items()}
    long_term = {tid for tid, kind in known.items() if kind == "long_term"}
    for item in event["List"]:
        tid, answer = str(item.get("TemplateId") or ""), item.get("SubscribeStatusString")
        if tid not in known:
            continue
        if answer == "accept" and event["Event"] == "subscribe_msg_popup_event":
            record_subscription_results(db(), resident.id, {tid: "accept"}, long_term)
        elif answer == "reject":
            exhaust_subscription(db(), resident.id, tid)


SENT_NOTE = "subscribe_msg_sent_event: "


def _sent(event: dict) -> None:
    """Confirm (ErrorCode 0) or fail a send to this resident whose outcome was unknown, one row per item.

    The timed-out call never returned its msgid, so the row is found by recipient and template: the oldest row
    waiting on an unknown outcome (UNKNOWN_OUTCOME), claimed before the event. An event whose MsgID already
    settled a row changes nothing. If a send of the same template to the same person finished normally after the
    row was claimed, the event may be that one's: the row is left for a person to check.
    """
    openid = str(event.get("FromUserName") or "")
    try:
        at = dt.datetime.fromtimestamp(int(event.get("CreateTime") or time.time()), dt.UTC)
    except (TypeError, ValueError, OverflowError):
        at = utcnow()
    for item in event["List"]:
        names = [name for name in TEMPLATES if template_id(name) == str(item.get("TemplateId") or "")]
        msgid = str(item.get("MsgID") or "")[:32]
        if not openid or not names:
            continue
        mine = (Notification.openid == openid, Notification.event.in_(names))
        if msgid and db().scalar(select(Notification.id).where(
                *mine, Notification.last_error.like(f"{SENT_NOTE}%MsgID {msgid})")).limit(1)) is not None:
            continue
        row = db().scalar(select(Notification).where(
            *mine, Notification.claimed_at >= at - SENT_EVENT_REACH, Notification.claimed_at <= at + CLOCK_SLACK,
            Notification.state.in_((NotificationState.needs_review, NotificationState.pending)),
            or_(*(Notification.last_error.like(f"%{m}%") for m in UNKNOWN_OUTCOME))).order_by(Notification.id).limit(1))
        if row is None:
            continue
        clash = db().scalar(select(Notification.id).where(
            *mine, Notification.id != row.id, Notification.state == NotificationState.sent,
            Notification.finished_at >= row.claimed_at, Notification.finished_at <= at + CLOCK_SLACK,
            or_(Notification.last_error.is_(None), Notification.last_error.not_like(f"{SENT_NOTE}%"))).limit(1))
        if clash is not None:
            current_app.logger.info("sent event for %s may be row %s's or row %s's; left for review", names, row.id,
                                    clash)
            continue
        code = str(item.get("ErrorCode", "0")).strip()
        state = NotificationState.sent if code == "0" else NotificationState.failed
        note = (f"{SENT_NOTE}{'delivered' if code == '0' else 'not delivered'} (ErrorCode {code}, "
                f"{str(item.get('ErrorStatus') or '')[:80]}, MsgID {msgid})")
        move_notifications(db(), Notification.id == row.id, from_=row.state, to=state, last_error=note,
                           finished_at=utcnow(), next_attempt_at=None)


def _privacy(event: dict) -> None:
    """Remove what we hold of a person who withdrew their authorisation or deleted their WeChat account.

    Side effects: the openid is replaced; the phones, locations and addresses on their complaints cleared; their
    photos and the photos' bytes deleted; their sessions ended; openids on their notifications cleared; one audit
    event.
    The complaints' text stays: it is the public record of what was reported.
    """
    resident = _resident(event.get("OpenID") or event.get("FromUserName"))
    if resident is None:
        return
    session = db()
    complaint_ids = select(Complaint.id).where(Complaint.resident_id == resident.id).scalar_subquery()
    contacts = session.execute(update(ComplaintContact).where(ComplaintContact.complaint_id.in_(complaint_ids))
                               .values(phone=None, latitude=None, longitude=None, address=None)
                               .execution_options(synchronize_session=False)).rowcount
    photos = session.scalars(select(Photo).where(Photo.resident_id == resident.id)).all()
    names = [n for p in photos for n in (p.name, p.thumbnail_name) if n]
    for photo in photos:
        session.delete(photo)
    session.flush()
    if names:
        session.execute(delete(PhotoFile).where(PhotoFile.name.in_(names)))
    ended = revoke_all_sessions(session, resident)
    amend_notifications(session, Notification.recipient_kind == "resident", Notification.recipient_id == resident.id,
                        openid=None)
    resident.openid = f"removed-{resident.id}-{secrets.token_hex(8)}"
    session.add(AuditEvent(subject_kind="resident", subject_id=resident.id, action="personal_data_removed",
                           actor_kind="wechat", reason=str(event["Event"]),
                           data={"revoke_info": str(event.get("RevokeInfo") or "")[:64], "photos": len(photos),
                                 "contacts": contacts, "sessions_ended": ended},
                           created_at=utcnow()))


HANDLERS = {
    "wxa_media_check": _media_check,
    "subscribe_msg_popup_event": _subscriptions,
    "subscribe_msg_change_event": _subscriptions,
    "subscribe_msg_sent_event": _sent,
    **dict.fromkeys(PRIVACY_EVENTS, _privacy),
}


MEDIA_URL_SALT = "xinma.wechat-media"  # these signatures are good for media URLs and nothing else
MEDIA_URL_MAX_AGE = 3600  # WeChat fetches the image soon after mediaCheckAsync; an hour leaves room for its queue


def _media_serializer(settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt=MEDIA_URL_SALT)


def signed_media_url(settings, name: str) -> str:
    """A URL WeChat can fetch one photo from for an hour (mediaCheckAsync needs a public address). No side effects."""
    token = _media_serializer(settings).dumps(name)
    return f"{settings.public_url.rstrip('/')}/wechat/media/{name}?t={token}"


@bp.get("/wechat/media/<name>")
def media_for_check(name: str):
    """The photo behind a signed media URL less than MEDIA_URL_MAX_AGE old; anything else is a plain 404."""
    try:
        signed = _media_serializer(current_app.config["XINMA"]).loads(request.args.get("t", ""),
                                                                      max_age=MEDIA_URL_MAX_AGE)
    except BadSignature:  # forged, altered, another name's, or expired (SignatureExpired is a BadSignature)
        raise NotFound("not_found") from None
    if signed != name:
        raise NotFound("not_found")
    photo = db().scalar(select(Photo).where(Photo.name == name))
    if photo is None:
        raise NotFound("not_found")
    data, content_type = bytes_for_check(db(), photo)  # WEBP sent as JPEG: the check reads no WEBP
    response = Response(data, mimetype=content_type)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
