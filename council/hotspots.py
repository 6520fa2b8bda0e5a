"""The secretary's hotspots page (/council/hotspots): draft topics found in the open complaints of their units,
each made a topic with one tap. Registered on the council blueprint by `council.views`."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for

from models import DomainError, NotFound, StaffRole
from web.auth import check_csrf, current_staff, staff_required
from web.http import db
from web.messages import error_text

from . import hotspot_services as services
from .views import bp


def _page(error: str | None = None, status: int = 200, code: str | None = None):
    days, min_size = services.parse_window(request.values.get("days"), request.values.get("min_size"))
    found = services.hotspots(db(), current_staff(), days=days, min_size=min_size)
    return render_template("council/hotspots.html", hotspots=found[:services.SHOWN_HOTSPOTS], more=len(found)
                           - services.SHOWN_HOTSPOTS, days=days, min_size=min_size, error=error,
                           error_code=code), status


@bp.get("/hotspots")
@staff_required(StaffRole.secretary)
def hotspots():
    return _page()


@bp.post("/hotspots/topic")
@staff_required(StaffRole.secretary)
def hotspot_topic():
    """One tap: the hotspot's complaints become one topic; a refusal shows the page again with the reason."""
    check_csrf()
    f = request.form
    try:
        topic = services.make_topic(db(), current_staff(), complaint_ids=f.get("complaints", ""), key=f.get("key", ""),
                                    title=f.get("title", ""), category=f.get("category", ""),
                                    summary=f.get("summary", ""))
    except NotFound:
        raise
    except DomainError as exc:
        db().rollback()
        return _page(error_text(exc.code, exc.params), exc.status, exc.code)
    return redirect(url_for("council.topic", topic_id=topic.id))
