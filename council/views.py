"""The secretary's mobile pages."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for

from models import StaffRole
from models.messages import DELIBERATION_CATEGORIES, TOPIC_STATES
from models.web import check_csrf, current_staff, db, staff_required

from . import services

bp = Blueprint("council", __name__, url_prefix="/council", template_folder="templates")


@bp.get("/")
@staff_required(StaffRole.secretary)
def home():
    return render_template("council/home.html", topics=services.topics(db(), current_staff()),
                           states=TOPIC_STATES, categories=DELIBERATION_CATEGORIES)


@bp.get("/topics/<int:topic_id>")
@staff_required(StaffRole.secretary)
def topic(topic_id: int):
    item = services.topic_for(db(), current_staff(), topic_id)
    return render_template("council/topic.html", topic=item, states=TOPIC_STATES,
                           categories=DELIBERATION_CATEGORIES)


@bp.post("/topics/<int:topic_id>/approve")
@staff_required(StaffRole.secretary)
def approve(topic_id: int):
    check_csrf()
    staff = current_staff()
    item = services.topic_for(db(), staff, topic_id)
    services.approve(db(), staff, item, version=request.form.get("version"))
    return redirect(url_for("council.topic", topic_id=item.id))
