"""Admin pages: the register of representatives (议政代表) and liaisons (民意联络员) per unit, their appointment steps
(推荐→审查→决定→公示→聘任), their personal codes (连心码: QR, poster, 连心卡), their activity log and yearly "四个一"
summary. Admins and secretaries act in their scope; a representative with a linked account keeps their own log."""

from __future__ import annotations

import datetime as dt

from flask import current_app, redirect, render_template, request, url_for
from sqlalchemy import select

from models import DomainError, NotFound, Staff, StaffRole, Unit
from models.base import CHINA
from models.lifecycle import Actor
from models.representatives import (
    DUTIES,
    NOTICE_DAYS,
    REPRESENTATIVE_TRANSITIONS,
    ActivityKind,
    Representative,
    activities,
    activity_summary,
    appointment_steps,
    log_activity,
    matters_of,
    recommend,
    representative_of_staff,
    transition_representative,
    update_details,
)
from models.scope import in_scope, scope_clause, units_in_scope
from qr.personal import (
    check_name,
    current_personal_code,
    issue_personal_code,
    personal_card_png,
    personal_poster_png,
    personal_url,
    png_response,
)
from qr.posters import page_size, qr_png
from web.auth import check_csrf, current_staff, staff_required
from web.http import db
from web.messages import (
    ACTIVITY_KINDS,
    APPOINTMENT_ACTIONS,
    APPOINTMENT_STATES,
    COMPLAINT_STATES,
    DUTY_LABELS,
    HEARD_VIA_LABELS,
    REPRESENTATIVE_KINDS,
    STAFF_ROLES,
    error_text,
)

from .blueprint import bp

MANAGERS = (StaffRole.admin, StaffRole.secretary)
STEP_ACTIONS = ("review", "decide", "announce", "appoint", "decline", "withdraw", "end_term")


def _int(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _managed(staff: Staff, rep_id: int) -> Representative:
    """A representative of a unit in the staff member's scope; any other answers like a missing one."""
    rep = db().get(Representative, rep_id)
    if rep is None or not in_scope(staff, rep.unit):
        raise NotFound("representative_not_found")
    return rep


def _readable(staff: Staff, rep_id: int) -> Representative:
    """As _managed, and the representative themselves through their linked account."""
    if staff.role == StaffRole.representative:
        rep = db().get(Representative, rep_id)
        if rep is None or rep.staff_id != staff.id:
            raise NotFound("representative_not_found")
        return rep
    return _managed(staff, rep_id)


def _list_page(error: str | None = None, status: int = 200, form: dict | None = None):
    session, staff = db(), current_staff()
    units = [u for u in units_in_scope(session, staff) if u.retired_at is None]
    chosen = _int(request.args.get("unit"))
    query = select(Representative).join(Unit, Unit.id == Representative.unit_id).where(
        scope_clause(staff, Representative.unit_id))
    if chosen is not None:
        unit = next((u for u in units if u.id == chosen), None)
        if unit is not None:
            query = query.where(Unit.path.startswith(unit.path, autoescape=True))
    reps = list(session.scalars(query.order_by(Unit.path, Representative.kind, Representative.id)))
    return render_template("admin/representatives.html", reps=reps, units=units, chosen=chosen, error=error,
                           form=form or {}, kinds=REPRESENTATIVE_KINDS, states=APPOINTMENT_STATES,
                           duties=DUTY_LABELS), status


@bp.get("/representatives")
@staff_required(*MANAGERS)
def representatives():
    """The register: every representative and liaison of the units in scope, where their appointment stands."""
    return _list_page()


@bp.post("/representatives")
@staff_required(*MANAGERS)
def recommend_representative():
    """Register a recommendation (推荐): unit, kind, name, duties and who recommended them."""
    check_csrf()
    session, staff = db(), current_staff()
    form = request.form
    try:
        unit = session.get(Unit, _int(form.get("unit_id")) or 0)
        if unit is None or unit.retired_at is not None or not in_scope(staff, unit):
            raise DomainError("representative_unit_invalid")
        check_name(form.get("name", "").strip())
        rep = recommend(session, staff, unit, kind=form.get("kind"), name=form.get("name"),
                        duties=form.getlist("duties"), recommended_by=form.get("recommended_by"))
    except DomainError as exc:
        session.rollback()
        return _list_page(error_text(exc.code, exc.params), exc.status, form=form.to_dict())
    return redirect(url_for("admin.representative", rep_id=rep.id, done="recommend"), 303)


def _linkable(staff: Staff) -> list[Staff]:
    """Active accounts of role `representative` whose units lie in the staff member's scope."""
    rows = db().scalars(select(Staff).where(Staff.role == StaffRole.representative, Staff.active.is_(True))
                        .order_by(Staff.display_name))
    return [s for s in rows if s.units and all(in_scope(staff, u) for u in s.units)]


def _detail_page(rep: Representative, error: str | None = None, status: int = 200):
    session, staff = db(), current_staff()
    code = current_personal_code(session, rep)
    public_url = current_app.config["XINMA"].public_url
    allowed = [a for a in STEP_ACTIONS if (rep.state, a) in REPRESENTATIVE_TRANSITIONS]
    actors = {s.id: s.display_name for s in session.scalars(select(Staff).where(
        Staff.id.in_([e["actor_id"] for e in appointment_steps(session, rep) if e["actor_id"]])))}
    return render_template(
        "admin/representatives_detail.html", rep=rep, code=code, url=personal_url(public_url, code) if code else None,
        steps=appointment_steps(session, rep), actors=actors, allowed=allowed, actions=APPOINTMENT_ACTIONS,
        kinds=REPRESENTATIVE_KINDS, states=APPOINTMENT_STATES, duties=DUTY_LABELS, all_duties=DUTIES,
        linkable=_linkable(staff), roles=STAFF_ROLES, error=error, notice_days=NOTICE_DAYS,
        matters=matters_of(session, rep, 20), complaint_states=COMPLAINT_STATES, heard=HEARD_VIA_LABELS,
        now=dt.datetime.now(dt.UTC)), status


@bp.get("/representatives/<int:rep_id>")
@staff_required(*MANAGERS)
def representative(rep_id: int):
    """One representative: their steps so far, the next ones, their details, their personal code."""
    return _detail_page(_managed(current_staff(), rep_id))


@bp.post("/representatives/<int:rep_id>/steps")
@staff_required(*MANAGERS)
def representative_step(rep_id: int):
    """Take the next appointment step (审查 with notes, 决定, 公示, 聘任, or decline / withdraw / term end). Appointing
    issues the personal code."""
    check_csrf()
    session, staff = db(), current_staff()
    rep = _managed(staff, rep_id)
    action = request.form.get("action", "")
    try:
        if action not in STEP_ACTIONS:
            raise DomainError("representative_transition_not_allowed", status=409)
        transition_representative(session, rep, action, actor=Actor.staff(staff), reason=request.form.get("notes"))
        if action == "appoint":
            issue_personal_code(session, rep)
    except DomainError as exc:
        session.rollback()
        return _detail_page(_managed(staff, rep_id), error_text(exc.code, exc.params), exc.status)
    return redirect(url_for("admin.representative", rep_id=rep.id, done=action), 303)


@bp.post("/representatives/<int:rep_id>/details")
@staff_required(*MANAGERS)
def representative_details(rep_id: int):
    """Change the duties, the term's end and the linked staff account (the representative's own sign-in)."""
    check_csrf()
    session, staff = db(), current_staff()
    rep = _managed(staff, rep_id)
    account = None
    if (account_id := _int(request.form.get("staff_id"))) is not None:
        account = next((s for s in _linkable(staff) if s.id == account_id), None)
    try:
        if account_id is not None and account is None:
            raise DomainError("representative_staff_invalid")
        update_details(session, staff, rep, duties=request.form.getlist("duties"),
                       term_ends_on=request.form.get("term_ends_on", "").strip(), staff=account)
    except DomainError as exc:
        session.rollback()
        return _detail_page(_managed(staff, rep_id), error_text(exc.code, exc.params), exc.status)
    return redirect(url_for("admin.representative", rep_id=rep.id, done="details"), 303)


@bp.post("/representatives/<int:rep_id>/code")
@staff_required(*MANAGERS)
def representative_rotate(rep_id: int):
    """A new personal code; the old one (a lost card) stops working at once."""
    check_csrf()
    session, staff = db(), current_staff()
    rep = _managed(staff, rep_id)
    try:
        issue_personal_code(session, rep)
    except DomainError as exc:
        session.rollback()
        return _detail_page(_managed(staff, rep_id), error_text(exc.code, exc.params), exc.status)
    return redirect(url_for("admin.representative", rep_id=rep.id, done="rotate"), 303)


def _code_of(rep_id: int):
    rep = _readable(current_staff(), rep_id)
    code = current_personal_code(db(), rep)
    if code is None:
        raise DomainError("representative_not_appointed", status=409)
    return rep, code, current_app.config["XINMA"].public_url


@bp.get("/representatives/<int:rep_id>/qr.png")
@staff_required(*MANAGERS, StaffRole.representative)
def representative_qr(rep_id: int):
    rep, code, public_url = _code_of(rep_id)
    return png_response(qr_png(personal_url(public_url, code)), f"personal-{rep.id}-qr.png")


@bp.get("/representatives/<int:rep_id>/poster-<size>.png")
@staff_required(*MANAGERS, StaffRole.representative)
def representative_poster(rep_id: int, size: str):
    """The representative's poster (A4, A5): the unit's poster, titled with their kind and name."""
    page = page_size(size)
    rep, code, public_url = _code_of(rep_id)
    return png_response(personal_poster_png(rep, code, public_url, page), f"personal-{rep.id}-{page.name}.png")


@bp.get("/representatives/<int:rep_id>/card.png")
@staff_required(*MANAGERS, StaffRole.representative)
def representative_card(rep_id: int):
    """The 连心卡: a bank-card-sized card with the personal code, the name, kind, unit and duties."""
    rep, code, public_url = _code_of(rep_id)
    return png_response(personal_card_png(rep, code, public_url), f"personal-{rep.id}-card.png")


# --- the activity log and the yearly summary ---------------------------------------------------------------------

def _china_today() -> dt.date:
    return dt.datetime.now(CHINA).date()


def _activities_page(rep: Representative, error: str | None = None, status: int = 200, form: dict | None = None):
    session = db()
    year = _int(request.args.get("year")) or _china_today().year
    return render_template("admin/representatives_activities.html", rep=rep, entries=activities(session, rep),
                           matters=matters_of(session, rep), summary=activity_summary(session, rep, year),
                           year=year, kinds=ACTIVITY_KINDS, rep_kinds=REPRESENTATIVE_KINDS, error=error,
                           form=form or {}, today=_china_today().isoformat(), heard=HEARD_VIA_LABELS,
                           complaint_states=COMPLAINT_STATES, activity_kinds=list(ActivityKind),
                           has_code=current_personal_code(session, rep) is not None), status


@bp.get("/representatives/me")
@staff_required(StaffRole.representative)
def my_representative():
    """A representative's own start page: their activity log (their account must be linked to them)."""
    rep = representative_of_staff(db(), current_staff())
    if rep is None:
        raise NotFound("representative_not_found")
    return redirect(url_for("admin.representative_activities", rep_id=rep.id))


@bp.get("/representatives/<int:rep_id>/activities")
@staff_required(*MANAGERS, StaffRole.representative)
def representative_activities(rep_id: int):
    """The activity log: what they logged (talks, forums, visits, suggestions, matters done) and the matters that
    came through their code or their entries, with the year's "四个一"."""
    return _activities_page(_readable(current_staff(), rep_id))


@bp.post("/representatives/<int:rep_id>/activities")
@staff_required(*MANAGERS, StaffRole.representative)
def log_representative_activity(rep_id: int):
    check_csrf()
    session, staff = db(), current_staff()
    rep = _readable(staff, rep_id)
    form = request.form
    try:
        log_activity(session, staff, rep, kind=form.get("kind"), happened_on=form.get("happened_on", "").strip(),
                     summary=form.get("summary"), people=form.get("people", "").strip() or 0, today=_china_today())
    except DomainError as exc:
        session.rollback()
        return _activities_page(_readable(staff, rep_id), error_text(exc.code, exc.params), exc.status,
                                form.to_dict())
    return redirect(url_for("admin.representative_activities", rep_id=rep.id, logged=1), 303)


@bp.get("/representatives/<int:rep_id>/summary")
@staff_required(*MANAGERS, StaffRole.representative)
def representative_summary(rep_id: int):
    """The yearly "四个一" summary (宣讲一次政策、召开一次座谈会、收集一批意见建议、办好一件群众实事), for the
    述职评议 the seeds describe; ?year= picks the year (China time)."""
    rep = _readable(current_staff(), rep_id)
    year = _int(request.args.get("year")) or _china_today().year
    if not 2000 <= year <= 2100:
        raise DomainError("filter_invalid")
    return render_template("admin/representatives_summary.html", rep=rep, year=year,
                           summary=activity_summary(db(), rep, year), kinds=REPRESENTATIVE_KINDS,
                           duties=DUTY_LABELS)
