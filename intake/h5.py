"""The H5 intake pages for residents who scan outside WeChat: report a problem, then follow it by a private link.

An H5 resident has no openid (channel "h5"): WeChat messages to them end undeliverable, and they follow the
complaint's timeline through the tracking link instead, whose token carries 256 random bits. The form is a plain
multipart form that works without JavaScript, photos included (up to six, through the same checks and
re-encoding as the mini-program's uploads).

Posts are rate-limited like the mini-program's submissions, by client address and by the browser's device cookie
(`xinma_device`, random, set on the form's first visit); the device and the address (hashed) are kept with each
complaint so an admin can block its sender (models.governance), whose next post is refused before anything is
written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from flask import Blueprint, current_app, g, redirect, render_template, request, url_for
from sqlalchemy import func, select
from werkzeug.exceptions import RequestEntityTooLarge

from models import DomainError, NotFound, Resident, utcnow
from models.base import CHINA
from models.governance import mark_submitter, refuse_blocked
from models.intake import PHONE, ComplaintContact, Photo
from models.qr import TrackingLink
from qr.personal import scene_unit
from web import ratelimit
from web.auth import check_csrf
from web.http import db
from web.messages import COMPLAINT_STATES, error_text

from . import services
from .photos import MAX_BYTES, MAX_PER_COMPLAINT, clean_image, keep_photo

bp = Blueprint("h5", __name__, url_prefix="/h5", template_folder="templates")
TRACKING_BYTES = 32
# Six photos at the per-photo limit plus the text fields; the rest of the app keeps its smaller request limit.
REQUEST_LIMIT = MAX_PER_COMPLAINT * MAX_BYTES + 256 * 1024
DEVICE_COOKIE = "xinma_device"
DEVICE_SECONDS = 365 * 86400


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_h5_complaint(session, *, scene, category, text, phone, photos: list[bytes] = (), device: str | None = None,
                        address: str | None = None) -> tuple[object, str]:
    """Record a complaint from the H5 page for a new channel-"h5" resident; returns it and the raw tracking token.

    Every photo is checked and re-encoded (metadata dropped) before anything is written; a refused photo raises
    `h5_photo_refused` naming which one. Side effects: a resident row without openid, the complaint (audit event,
    outbox row, content check), the contact row when a phone was given, the photos' bytes and rows (each with its
    thumbnail job), the hashed tracking link, and the sender's marks (hashes of `device` and `address`).
    """
    phone = phone.strip() if isinstance(phone, str) else ""
    if phone and not PHONE.match(phone):
        raise DomainError("phone_invalid")
    scene_unit(session, scene)  # a unit code or a representative's personal code
    if len(photos) > MAX_PER_COMPLAINT:
        raise DomainError("photos_too_many", limit=MAX_PER_COMPLAINT)
    cleaned = []
    for index, data in enumerate(photos, 1):
        try:
            cleaned.append(clean_image(data))
        except DomainError as exc:
            raise DomainError("h5_photo_refused", status=exc.status, index=index,
                              message=error_text(exc.code, exc.params)) from None
    resident = Resident(openid=None, channel="h5", created_at=utcnow())
    session.add(resident)
    session.flush()
    complaint = services.submit_complaint(session, resident, scene=scene, category=category, text=text)
    if phone:
        session.add(ComplaintContact(complaint_id=complaint.id, phone=phone))
    # Photos are added last, once the complaint itself has been accepted.
    for clean in cleaned:
        keep_photo(session, resident, clean).complaint_id = complaint.id
    token = secrets.token_urlsafe(TRACKING_BYTES)
    session.add(TrackingLink(complaint_id=complaint.id, token_hash=_hash(token), created_at=utcnow()))
    mark_submitter(session, complaint.id, device=device, address=address)
    session.flush()
    return complaint, token


def _uploads() -> list[bytes]:
    """The chosen photos; a file input left empty still sends one nameless, empty part."""
    photos = []
    for upload in request.files.getlist("photos"):
        try:
            data = upload.read()
        finally:
            upload.close()  # a large part was spooled to a temporary file: close it now, not when collected
        if data or upload.filename:
            photos.append(data)
    return photos


def _device() -> str:
    """The browser's device id (its cookie), or a new one that the response sets."""
    device = request.cookies.get(DEVICE_COOKIE, "")
    if not (20 <= len(device) <= 64) or not device.replace("-", "").replace("_", "").isalnum():
        device = secrets.token_urlsafe(24)
        g.new_device = device
    return device


@bp.after_request
def _set_device(response):
    device = g.pop("new_device", None)
    if device is not None:
        response.set_cookie(DEVICE_COOKIE, device, max_age=DEVICE_SECONDS, httponly=True, samesite="Lax",
                            secure=request.is_secure)
    return response


@bp.route("/<token>", methods=["GET", "POST"], endpoint="report")
def report(token: str):
    unit = scene_unit(db(), token)
    device = _device()
    form = {"category": "", "text": "", "phone": ""}
    error = None
    if request.method == "POST":
        request.max_content_length = REQUEST_LIMIT
        try:
            if (request.content_length or 0) > REQUEST_LIMIT:
                raise RequestEntityTooLarge  # refused from the header, without reading the body
            request.form  # noqa: B018 - parses the body now, so a too-large one is answered on the page
        except RequestEntityTooLarge:
            error = error_text("h5_upload_too_large", {"limit_mb": REQUEST_LIMIT // (1024 * 1024)})
        else:
            check_csrf()
            address = ratelimit.client_address()
            ratelimit.hit_many(("submit_h5_address", address), ("submit_h5_device", device))
            refuse_blocked(db(), device=device, address=address)
            form = {k: request.form.get(k, "") for k in form}
            try:
                _, tracking = create_h5_complaint(db(), scene=token, **form, photos=_uploads(), device=device,
                                                  address=address)
            except DomainError as exc:
                if exc.code.startswith("scene_"):
                    raise
                error = error_text(exc.code, exc.params)
            else:
                return redirect(url_for("h5.track", token=tracking, new=1), 303)
    settings = current_app.config["XINMA"]
    simulator = settings.miniprogram_simulator_url
    return render_template("intake/h5_report.html", unit=unit, token=token, form=form, error=error,
                           categories=services.categories(db(), unit.id), simulator=simulator,
                           max_photos=MAX_PER_COMPLAINT), (422 if error else 200)


@bp.get("/track/<token>", endpoint="track")
def track(token: str):
    link = db().scalar(select(TrackingLink).where(TrackingLink.token_hash == _hash(token[:100])))
    if link is None:
        raise NotFound("tracking_not_found")
    complaint = link.complaint
    photos = db().scalar(select(func.count(Photo.id)).where(Photo.complaint_id == complaint.id))
    data = services.complaint_json(db(), complaint)
    return render_template("intake/h5_track.html", complaint=complaint, data=data, steps=data["timeline"],
                           photos=photos, state_label=COMPLAINT_STATES[complaint.state.value], link=request.url)


@bp.app_template_filter("china_time")
def china_time(value: str | None) -> str:
    """An API time (ISO 8601 with its offset) as people read it in China: 2026年12月6日 16:25."""
    if not value:
        return ""
    return dt.datetime.fromisoformat(value).astimezone(CHINA).strftime("%Y年%m月%d日 %H:%M")
