"""Admin pages: the manual review queue. What WeChat's content checks left to a person (text flagged or never
checked, H5 text among it, photos awaiting review), each approved or hidden with a reason; the decision is the
domain's (models.governance), audited there, and clears the complaint's marks everywhere."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for

from models import Complaint, DomainError, NotFound, StaffRole
from models.governance import review_complaint, review_photo
from models.intake import Photo, content_review_queue, photo_review_queue, review_reasons
from web.auth import check_csrf, current_staff, staff_required
from web.http import db
from web.messages import (
    COMPLAINT_STATES,
    CONTENT_CHECKS,
    MEDIA_CHECKS,
    REVIEW_DECISIONS,
    UNCHECKED_REASONS,
    error_text,
)

from .blueprint import bp


def _page(error: str | None = None, status: int = 200, failed: str | None = None):
    session, staff = db(), current_staff()
    complaints, photos = content_review_queue(session, staff), photo_review_queue(session, staff)
    why = {"complaint": review_reasons(session, "complaint", [c.id for c in complaints]),
           "photo": review_reasons(session, "photo", [p.id for p in photos])}
    return render_template("admin/review.html", complaints=complaints, photos=photos, states=COMPLAINT_STATES,
                           verdicts=CONTENT_CHECKS, media_checks=MEDIA_CHECKS, reasons=UNCHECKED_REASONS,
                           reasons_of=why, decisions=REVIEW_DECISIONS, error=error, failed=failed,
                           done=request.args.get("done"), done_decision=request.args.get("decision")), status


@bp.get("/review")
@staff_required(StaffRole.admin)
def review():
    return _page()


def _decide(kind: str, subject_id: int, act):
    check_csrf()
    try:
        act(request.form.get("decision", ""), request.form.get("reason", ""))
    except NotFound:
        raise
    except DomainError as exc:
        db().rollback()
        return _page(error_text(exc.code, exc.params), exc.status, failed=f"{kind}-{subject_id}")
    return redirect(url_for("admin.review", done=f"{kind}-{subject_id}", decision=request.form.get("decision")), 303)


@bp.post("/review/complaints/<int:complaint_id>")
@staff_required(StaffRole.admin)
def review_complaint_decision(complaint_id: int):
    complaint = db().get(Complaint, complaint_id)
    if complaint is None:
        raise NotFound("complaint_not_found")
    return _decide("complaint", complaint_id, lambda decision, reason: review_complaint(
        db(), current_staff(), complaint, decision, reason=reason))


@bp.post("/review/photos/<int:photo_id>")
@staff_required(StaffRole.admin)
def review_photo_decision(photo_id: int):
    photo = db().get(Photo, photo_id)
    if photo is None or photo.complaint_id is None:
        raise NotFound("photo_not_found")
    return _decide("photo", photo_id, lambda decision, reason: review_photo(
        db(), current_staff(), photo, decision, reason=reason))
