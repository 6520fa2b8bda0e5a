"""The grid worker's review queue (`/triage/review`): what WeChat's content checks left to a person in their
units, approved or hidden with a reason, exactly as on the admin's queue (`/admin/review`, all units). The
decisions are the domain's (models.governance), audited there."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for

from models import DomainError, NotFound, StaffRole
from models.governance import review_complaint, review_photo
from models.intake import Photo, content_review_queue, photo_review_queue, review_reasons
from models.scope import in_scope
from web.auth import check_csrf, current_staff, staff_required
from web.http import db
from web.messages import COMPLAINT_STATES, CONTENT_CHECKS, MEDIA_CHECKS, REVIEW_DECISIONS, UNCHECKED_REASONS, error_text

from . import services


def _page(error: str | None = None, status: int = 200, failed: str | None = None):
    session, staff = db(), current_staff()
    complaints, photos = content_review_queue(session, staff), photo_review_queue(session, staff)
    why = {"complaint": review_reasons(session, "complaint", [c.id for c in complaints]),
           "photo": review_reasons(session, "photo", [p.id for p in photos])}
    return render_template("triage/review.html", complaints=complaints, photos=photos, states=COMPLAINT_STATES,
                           verdicts=CONTENT_CHECKS, media_checks=MEDIA_CHECKS, reasons=UNCHECKED_REASONS,
                           reasons_of=why, decisions=REVIEW_DECISIONS, error=error, failed=failed,
                           done=request.args.get("done"), done_decision=request.args.get("decision")), status


def _decide(kind: str, subject_id: int, act):
    check_csrf()
    try:
        act(request.form.get("decision", ""), request.form.get("reason", ""))
    except NotFound:
        raise
    except DomainError as exc:
        db().rollback()
        return _page(error_text(exc.code, exc.params), exc.status, failed=f"{kind}-{subject_id}")
    return redirect(url_for("triage.review", done=f"{kind}-{subject_id}", decision=request.form.get("decision")),
                    303)


def register(bp: Blueprint) -> None:
    """Add the review queue's page and decisions to the triage blueprint."""

    @bp.get("/triage/review")
    @staff_required(StaffRole.grid_worker)
    def review():
        """What WeChat's content checks left to a person: complaints flagged or unchecked, photos awaiting review."""
        return _page()

    @bp.post("/triage/review/complaints/<int:complaint_id>")
    @staff_required(StaffRole.grid_worker)
    def review_complaint_decision(complaint_id: int):
        staff = current_staff()
        complaint = services.complaint_for(db(), staff, complaint_id)
        return _decide("complaint", complaint_id, lambda decision, reason: review_complaint(
            db(), staff, complaint, decision, reason=reason))

    @bp.post("/triage/review/photos/<int:photo_id>")
    @staff_required(StaffRole.grid_worker)
    def review_photo_decision(photo_id: int):
        staff = current_staff()
        photo = db().get(Photo, photo_id)
        if photo is None or photo.complaint is None or not (
                staff.role == StaffRole.admin or in_scope(staff, photo.complaint.unit)):
            raise NotFound("photo_not_found")
        return _decide("photo", photo_id, lambda decision, reason: review_photo(
            db(), staff, photo, decision, reason=reason))
