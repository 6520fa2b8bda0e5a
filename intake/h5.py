"""The H5 intake pages for residents who scan outside WeChat: report a problem, then follow it by a private link.

An H5 resident has no openid (channel "h5"): WeChat messages to them end undeliverable, and they follow the
complaint's timeline through the tracking link instead, whose token carries 256 random bits.
"""

from __future__ import annotations

import hashlib
import secrets

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from sqlalchemy import select

from models import DomainError, NotFound, Resident, utcnow
from models.intake import PHONE, ComplaintContact
from models.messages import COMPLAINT_CATEGORIES, COMPLAINT_STATES, error_text
from models.qr import TrackingLink
from models.web import check_csrf, db
from qr.services import resolve_scene

from . import services

bp = Blueprint("h5", __name__, url_prefix="/h5", template_folder="templates")
TRACKING_BYTES = 32


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_h5_complaint(session, *, scene, category, text, phone) -> tuple[object, str]:
    """Record a complaint from the H5 page for a new channel-"h5" resident; returns it and the raw tracking token.

    Side effects: a resident row without openid, the complaint (audit event, outbox row, content check), the
    contact row when a phone was given, and the hashed tracking link.
    """
    phone = phone.strip() if isinstance(phone, str) else ""
    if phone and not PHONE.match(phone):
        raise DomainError("phone_invalid")
    resolve_scene(session, scene)
    resident = Resident(openid=None, channel="h5", created_at=utcnow())
    session.add(resident)
    session.flush()
    complaint = services.submit_complaint(session, resident, scene=scene, category=category, text=text)
    if phone:
        session.add(ComplaintContact(complaint_id=complaint.id, phone=phone))
    token = secrets.token_urlsafe(TRACKING_BYTES)
    session.add(TrackingLink(complaint_id=complaint.id, token_hash=_hash(token), created_at=utcnow()))
    session.flush()
    return complaint, token


@bp.route("/<token>", methods=["GET", "POST"], endpoint="report")
def report(token: str):
    code = resolve_scene(db(), token)
    form = {"category": "", "text": "", "phone": ""}
    error = None
    if request.method == "POST":
        check_csrf()
        form = {k: request.form.get(k, "") for k in form}
        try:
            _, tracking = create_h5_complaint(db(), scene=token, **form)
        except DomainError as exc:
            if exc.code.startswith("scene_"):
                raise
            error = error_text(exc.code, exc.params)
        else:
            return redirect(url_for("h5.track", token=tracking, new=1), 303)
    settings = current_app.config["XINMA"]
    simulator = settings.miniprogram_simulator_url
    return render_template("intake/h5_report.html", unit=code.unit, token=token, form=form, error=error,
                           categories=COMPLAINT_CATEGORIES, simulator=simulator), (422 if error else 200)


@bp.get("/track/<token>", endpoint="track")
def track(token: str):
    link = db().scalar(select(TrackingLink).where(TrackingLink.token_hash == _hash(token[:100])))
    if link is None:
        raise NotFound("tracking_not_found")
    complaint = link.complaint
    return render_template("intake/h5_track.html", complaint=complaint, steps=services.timeline(db(), complaint),
                           state_label=COMPLAINT_STATES[complaint.state.value], link=request.url)
