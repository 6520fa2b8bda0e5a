"""Staff sign-in and the grid worker's mobile pages: the queue, a complaint, the decisions."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, session, url_for

from models import DomainError, StaffRole
from models.messages import COMPLAINT_STATES, DEFAULT_REASONS, DELIBERATION_CATEGORIES, error_text
from models.web import authenticate_staff, check_csrf, current_staff, db, staff_required

from . import services

bp = Blueprint("triage", __name__, template_folder="templates")
HOME = {StaffRole.grid_worker: "triage.queue", StaffRole.secretary: "council.home", StaffRole.admin: "triage.queue"}


@bp.route("/staff/signin", methods=["GET", "POST"])
def signin():
    error = None
    if request.method == "POST":
        try:
            check_csrf()
            staff = authenticate_staff(db(), request.form.get("username", ""), request.form.get("password", ""))
        except DomainError as exc:
            error = error_text(exc.code)
        else:
            session.clear()
            session["staff_id"] = staff.id
            target = request.args.get("next", "")
            if not target.startswith("/") or target.startswith("//"):
                target = url_for(HOME[staff.role])
            return redirect(target)
    return render_template("triage/signin.html", error=error), 401 if error else 200


@bp.post("/staff/signout")
def signout():
    check_csrf()
    session.clear()
    return redirect(url_for("triage.signin"))


@bp.get("/")
def index():
    staff = current_staff()
    return redirect(url_for(HOME[staff.role]) if staff else url_for("triage.signin"))


@bp.get("/triage/")
@staff_required(StaffRole.grid_worker)
def queue():
    items = services.queue(db(), current_staff())
    return render_template("triage/queue.html", items=items, states=COMPLAINT_STATES)


@bp.get("/triage/complaints/<int:complaint_id>")
@staff_required(StaffRole.grid_worker)
def complaint(complaint_id: int):
    item = services.complaint_for(db(), current_staff(), complaint_id)
    return render_template("triage/complaint.html", item=item, states=COMPLAINT_STATES,
                           categories=DELIBERATION_CATEGORIES, reasons=DEFAULT_REASONS)


@bp.post("/triage/complaints/<int:complaint_id>/promote")
@staff_required(StaffRole.grid_worker)
def promote(complaint_id: int):
    check_csrf()
    staff = current_staff()
    item = services.complaint_for(db(), staff, complaint_id)
    services.promote(db(), staff, item, title=request.form.get("title", ""), summary=request.form.get("summary", ""),
                     category=request.form.get("category", ""), version=request.form.get("version"))
    return redirect(url_for("triage.queue", done=item.id))


@bp.post("/triage/complaints/<int:complaint_id>/decline")
@staff_required(StaffRole.grid_worker)
def decline(complaint_id: int):
    check_csrf()
    staff = current_staff()
    item = services.complaint_for(db(), staff, complaint_id)
    services.decline(db(), staff, item, reason_code=request.form.get("reason_code", ""),
                     reply=request.form.get("reply", ""), version=request.form.get("version"))
    return redirect(url_for("triage.queue", done=item.id))
