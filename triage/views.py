"""Staff sign-in and invitations, and the grid worker's mobile pages: the queue, a complaint, the decisions."""

from __future__ import annotations

import functools

from flask import Blueprint, redirect, render_template, request, url_for

from models import DomainError, NotFound, StaffRole, Unit
from models.intake import (
    complaint_contact,
    mask_phone,
    reply_to_resident,
    reveal_phone,
)
from models.scope import units_in_scope
from web.auth import (
    accept_invitation,
    authenticate_staff,
    check_csrf,
    create_invitation,
    current_staff,
    home_path,
    invitation_for,
    sign_in,
    staff_required,
)
from web.http import db
from web.messages import (
    COMPLAINT_STATES,
    DELIBERATION_CATEGORIES,
    MEDIA_CHECKS,
    REFERRALS,
    STAFF_ROLES,
    STAFF_TIMELINE,
    TIMELINE,
    error_text,
)

from . import binding, services
from .review import register as register_review
from .rules import deadline_of, rules_for
from .similar import similar

bp = Blueprint("triage", __name__, template_folder="templates")
register_review(bp)  # the review queue: /triage/review and its decisions (triage/review.py)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        raise DomainError("filter_invalid") from None


# --- sign-in and invitations ---------------------------------------------------------------------------------

@bp.route("/staff/signin", methods=["GET", "POST"])
def signin():
    error = None
    if request.method == "POST":
        try:
            check_csrf()
            staff = authenticate_staff(db(), request.form.get("username", ""), request.form.get("password", ""))
        except DomainError as exc:
            error = error_text(exc.code, exc.params)
        else:
            sign_in(staff)
            target = request.args.get("next", "")
            if not target.startswith("/") or target.startswith("//") or "\\" in target:
                target = home_path(staff)
            return redirect(target)
    return render_template("triage/signin.html", error=error), 401 if error else 200


@bp.post("/staff/signout")
def signout():
    from flask import session

    check_csrf()
    session.clear()
    return redirect(url_for("triage.signin"))


@bp.route("/staff/invitations", methods=["GET", "POST"])
@staff_required(StaffRole.admin)
def invitations():
    staff = current_staff()
    units = units_in_scope(db(), staff)
    link = None
    if request.method == "POST":
        check_csrf()
        try:
            role = StaffRole(request.form.get("role", ""))
        except ValueError:
            raise DomainError("role_unknown") from None
        wanted = {_int(v) for v in request.form.getlist("unit_id")}
        chosen = [u for u in units if u.id in wanted]
        token = create_invitation(db(), staff, role=role, display_name=request.form.get("display_name", ""),
                                  units=chosen)
        link = url_for("triage.invite", token=token, _external=True)
    return render_template("triage/invitations.html", units=units, link=link, roles=STAFF_ROLES)




@bp.route("/staff/invite/<token>", methods=["GET", "POST"])
def invite(token: str):
    invitation = invitation_for(db(), token)
    error = None
    if request.method == "POST":
        try:
            check_csrf()
            staff = accept_invitation(db(), token, username=request.form.get("username", ""),
                                      password=request.form.get("password", ""))
        except DomainError as exc:
            error = error_text(exc.code, exc.params)
        else:
            sign_in(staff)
            return redirect(home_path(staff))
    return render_template("triage/invite.html", invitation=invitation, roles=STAFF_ROLES, error=error), \
        400 if error else 200


@bp.get("/")
def index():
    staff = current_staff()
    return redirect(home_path(staff) if staff else url_for("triage.signin"))


@bp.route("/staff/wechat", methods=["GET", "POST"])
@staff_required()
def wechat_binding():
    """Where staff bind their WeChat (to receive notifications there) or unbind it."""
    staff, code, expires = current_staff(), None, None
    if request.method == "POST":
        check_csrf()
        if request.form.get("action") == "unbind":
            binding.unbind(db(), staff)
        else:
            code, expires = binding.new_code(db(), staff)
    page = render_template("triage/wechat.html", staff=staff, code=code, expires=expires,
                           minutes=int(binding.CODE_LIFETIME.total_seconds() // 60))
    return page, 200, {"Cache-Control": "no-store"}


# --- the queue and a complaint -------------------------------------------------------------------------------

@bp.get("/triage/")
@staff_required(StaffRole.grid_worker, StaffRole.representative)
def queue():
    """The worker's queue, and what they handled: by state (?state=solved, ?state=all), unit, category and words."""
    if current_staff().role == StaffRole.representative:  # their home: entry on behalf (and their log), no queue
        return redirect(url_for("triage.on_behalf"))
    args = request.args
    result = services.queue(db(), current_staff(), unit_id=_int(args.get("unit")), category=args.get("category"),
                            state=args.get("state") or None, search=args.get("q"), page=_int(args.get("page")) or 1)
    live = {u.id for u in units_in_scope(db(), current_staff()) if u.retired_at is None}
    result.units = [u for u in result.units if u.id in live]  # a retired unit leaves the filter; its complaints stay
    return render_template("triage/queue.html", result=result, states=COMPLAINT_STATES,
                           categories=result.categories, queue_states=services.QUEUE_STATES,
                           history_states=services.HISTORY_STATES,
                           chosen={"unit": args.get("unit", ""), "category": args.get("category", ""),
                                   "state": args.get("state") or "awaiting_triage",
                                   "q": (args.get("q") or "").strip()[:services.SEARCH_LIMIT]})


def _complaint_page(complaint_id: int, error: str | None = None, status: int = 200, phone: str | None = None):
    session, staff = db(), current_staff()
    item = services.complaint_for(session, staff, complaint_id)
    parent: Unit | None = item.unit.parent
    events = services.timeline(session, item)
    contact = complaint_contact(session, item.id)
    return render_template(
        "triage/complaint.html", item=item, states=COMPLAINT_STATES, categories=DELIBERATION_CATEGORIES,
        rules=rules_for(session, item.unit), referrals=REFERRALS, timeline=events,
        labels={**TIMELINE, **STAFF_TIMELINE},
        similar=similar(session, staff, item), topics=services.joinable_topics(session, item),
        visits=services.visits(session, item), deadline=deadline_of(session, item), parent=parent,
        error=error, last=events[-1] if error and events else None,
        photos=services.photos(session, item), contact=contact, masked_phone=mask_phone(contact and contact.phone),
        phone=phone, media_checks=MEDIA_CHECKS,
    ), status


@bp.get("/triage/complaints/<int:complaint_id>")
@staff_required(StaffRole.grid_worker, StaffRole.secretary)  # secretaries read it from their hotspots page
def complaint(complaint_id: int):
    return _complaint_page(complaint_id)


def decision(view):
    """A decision form: CSRF first, then the complaint in scope, then the service; a refusal re-renders the page
    with the reason (and, when someone else acted first, what they did), and nothing is changed."""

    @functools.wraps(view)
    def wrapper(complaint_id: int):
        check_csrf()
        staff = current_staff()
        item = services.complaint_for(db(), staff, complaint_id)
        try:
            done = view(staff, item, request.form)
        except NotFound:
            raise
        except DomainError as exc:
            db().rollback()
            return _complaint_page(complaint_id, error_text(exc.code, exc.params), exc.status)
        return done or redirect(url_for("triage.queue", done=item.id))

    return wrapper


@bp.post("/triage/complaints/<int:complaint_id>/phone")
@staff_required(StaffRole.grid_worker)
def phone(complaint_id: int):
    """Show the full phone number on the page, once, for a reason that goes into the audit log."""
    check_csrf()
    try:
        number = reveal_phone(db(), current_staff(), complaint_id, reason=request.form.get("reason", ""))
    except DomainError as exc:
        if exc.code == "complaint_not_found":
            raise
        db().rollback()
        return _complaint_page(complaint_id, error_text(exc.code, exc.params), exc.status)
    response = _complaint_page(complaint_id, phone=number)
    return response[0], response[1], {"Cache-Control": "no-store"}


@bp.post("/triage/complaints/<int:complaint_id>/promote")
@staff_required(StaffRole.grid_worker)
@decision
def promote(staff, item, form):
    services.promote(db(), staff, item, title=form.get("title", ""), summary=form.get("summary", ""),
                     category=form.get("category", ""), topic_id=_int(form.get("topic_id")),
                     version=form.get("version"))


@bp.post("/triage/complaints/<int:complaint_id>/decline")
@staff_required(StaffRole.grid_worker)
@decision
def decline(staff, item, form):
    services.decline(db(), staff, item, reason_code=form.get("reason_code", ""), reply=form.get("reply", ""),
                     referral=form.get("referral") or None, version=form.get("version"))


@bp.post("/triage/complaints/<int:complaint_id>/solve")
@staff_required(StaffRole.grid_worker)
@decision
def solve(staff, item, form):
    services.solve(db(), staff, item, note=form.get("note", ""), version=form.get("version"))


@bp.post("/triage/complaints/<int:complaint_id>/merge")
@staff_required(StaffRole.grid_worker)
@decision
def merge(staff, item, form):
    services.merge(db(), staff, item, target_id=_merge_target(form.get("target_id")), version=form.get("version"))


def _merge_target(value: str | None) -> int | None:
    value = (value or "").strip().lstrip("#第").rstrip("号")
    try:
        return int(value) if value else None
    except ValueError:
        raise DomainError("merge_target_not_found", status=404) from None


@bp.post("/triage/complaints/<int:complaint_id>/escalate")
@staff_required(StaffRole.grid_worker)
@decision
def escalate(staff, item, form):
    services.escalate(db(), staff, item, reason=form.get("reason", ""), version=form.get("version"))


@bp.post("/triage/complaints/<int:complaint_id>/visit")
@staff_required(StaffRole.grid_worker)
@decision
def visit(staff, item, form):
    services.record_visit(db(), staff, item, notes=form.get("notes", ""), version=form.get("version"))
    return redirect(url_for("triage.complaint", complaint_id=item.id, visited=1))


@bp.post("/triage/complaints/<int:complaint_id>/reply")
@staff_required(StaffRole.grid_worker)
@decision
def reply(staff, item, form):
    """Answer the resident without deciding (any state): on both timelines, the resident told by WeChat."""
    reply_to_resident(db(), staff, item, text=form.get("text", ""))
    return redirect(url_for("triage.complaint", complaint_id=item.id, replied=1))


# --- the district's rule set ---------------------------------------------------------------------------------

@bp.route("/staff/rules", methods=["GET", "POST"])
@staff_required(StaffRole.admin)
def rules():
    """The admin picks the district's rule set (a preset or their own reason codes) and the triage time limit."""
    from models import UnitLevel
    from web.messages import RULE_SET_PRESETS

    from .rules import install_rule_set, parse_reasons

    session, staff = db(), current_staff()
    districts = [u for u in staff.units if u.level == UnitLevel.district]
    if not districts:
        raise NotFound("not_found")
    district = districts[0]
    saved = False
    if request.method == "POST":
        check_csrf()
        preset = request.form.get("preset", "")
        custom = parse_reasons(request.form.get("reasons", "")) if preset == "custom" else None
        if preset != "custom" and preset not in RULE_SET_PRESETS:
            raise DomainError("reason_unknown")
        days = _int(request.form.get("triage_days")) or 0
        install_rule_set(session, district, preset, triage_days=days, reasons=custom,
                         name=request.form.get("name") or None)
        saved = True
    return render_template("triage/rules.html", district=district, current=rules_for(session, district),
                           presets=RULE_SET_PRESETS, saved=saved)


from . import on_behalf  # noqa: E402,F401 - entry on behalf (代填): /triage/on-behalf, on this blueprint
