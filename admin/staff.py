"""Admin pages: staff accounts. The list (filter by unit and role), one member's page (role and units, a new
temporary password, deactivation after a confirmation, reactivation). New accounts come from the invitation
flow at /staff/invitations; the account rules themselves are in `web.auth`."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from sqlalchemy import select

from models import DomainError, NotFound, Staff, StaffRole, Unit
from models.entities import staff_units
from models.scope import in_scope, scope_clause, units_in_scope
from web.auth import (
    PASSWORD_MIN,
    change_own_password,
    change_staff,
    check_csrf,
    current_staff,
    deactivate_staff,
    home_path,
    reactivate_staff,
    reset_password,
    sign_in,
    staff_required,
)
from web.http import db
from web.messages import STAFF_ROLES, error_text

from .blueprint import bp

LIST_LIMIT = 500


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        raise DomainError("filter_invalid") from None


def _member(session, admin: Staff, staff_id: int) -> Staff:
    """The staff member with this id if one of their units lies in the admin's scope (else not found)."""
    staff = session.get(Staff, staff_id)
    if staff is None or not any(in_scope(admin, u) for u in staff.units):
        raise NotFound("staff_not_found")
    return staff


def staff_in_scope(session, admin: Staff, *, unit: Unit | None = None, role: StaffRole | None = None) -> list[Staff]:
    """Staff with a unit in the admin's scope (or, given `unit`, in that unit or below it), active first."""
    owners = select(staff_units.c.staff_id).join(Unit, Unit.id == staff_units.c.unit_id).where(
        scope_clause(admin, staff_units.c.unit_id))
    if unit is not None:
        owners = owners.where(Unit.path.startswith(unit.path, autoescape=True))
    stmt = select(Staff).where(Staff.id.in_(owners))
    if role is not None:
        stmt = stmt.where(Staff.role == role)
    return list(session.scalars(stmt.order_by(Staff.active.desc(), Staff.role, Staff.username).limit(LIST_LIMIT)))


@bp.get("/staff")
@staff_required(StaffRole.admin)
def staff_list():
    session, admin = db(), current_staff()
    units = units_in_scope(session, admin)
    unit_id = _int(request.args.get("unit"))
    unit = next((u for u in units if u.id == unit_id), None)
    if unit_id is not None and unit is None:
        raise DomainError("filter_invalid")
    role_value = request.args.get("role") or ""
    if role_value and role_value not in STAFF_ROLES:
        raise DomainError("role_unknown")
    rows = staff_in_scope(session, admin, unit=unit, role=StaffRole(role_value) if role_value else None)
    return render_template("admin/staff_list.html", rows=rows, units=units, roles=STAFF_ROLES,
                           chosen={"unit": unit_id, "role": role_value}, limit=LIST_LIMIT)


def _page(staff: Staff, *, error: str | None = None, status: int = 200, password: str | None = None):
    session, admin = db(), current_staff()
    page = render_template("admin/staff_member.html", member=staff, me=admin, units=units_in_scope(session, admin),
                           roles=STAFF_ROLES, error=error, password=password)
    return page, status, {"Cache-Control": "no-store"}


@bp.get("/staff/<int:staff_id>")
@staff_required(StaffRole.admin)
def staff_member(staff_id: int):
    return _page(_member(db(), current_staff(), staff_id))


def _act(staff_id: int, action):
    """A POST on one member: CSRF, the member in scope, the change; a refusal re-renders the page and changes
    nothing."""
    check_csrf()
    session, admin = db(), current_staff()
    staff = _member(session, admin, staff_id)
    try:
        return action(session, admin, staff)
    except NotFound:
        raise
    except DomainError as exc:
        session.rollback()
        return _page(_member(session, admin, staff_id), error=error_text(exc.code, exc.params), status=exc.status)


@bp.post("/staff/<int:staff_id>")
@staff_required(StaffRole.admin)
def staff_change(staff_id: int):
    """Another role and other units (only units in the admin's own scope)."""

    def action(session, admin, staff):
        wanted = {_int(v) for v in request.form.getlist("unit_id")}
        allowed = {u.id: u for u in units_in_scope(session, admin)}
        if wanted - allowed.keys():
            raise DomainError("staff_unit_out_of_scope", status=403)
        change_staff(admin, staff, role=request.form.get("role", ""), units=[allowed[i] for i in sorted(wanted)])
        return redirect(url_for("admin.staff_member", staff_id=staff.id, done="changed"), 303)

    return _act(staff_id, action)


@bp.post("/staff/<int:staff_id>/password")
@staff_required(StaffRole.admin)
def staff_password(staff_id: int):
    """A new temporary password, shown on this answer only (never stored in clear, never in a redirect)."""

    def action(session, admin, staff):
        password = reset_password(admin, staff)
        session.flush()
        return _page(staff, password=password)

    return _act(staff_id, action)


@bp.route("/staff/<int:staff_id>/deactivate", methods=["GET", "POST"])
@staff_required(StaffRole.admin)
def staff_deactivate(staff_id: int):
    """Deactivation ends the member's sessions at once: the GET (or a POST without confirm=yes) asks first."""
    if request.method == "GET":
        staff = _member(db(), current_staff(), staff_id)
        if staff.id == current_staff().id:
            return _page(staff, error=error_text("staff_self_change"), status=403)
        return render_template("admin/staff_deactivate.html", member=staff, roles=STAFF_ROLES)

    def action(session, admin, staff):
        if request.form.get("confirm") != "yes" and staff.id != admin.id:
            return render_template("admin/staff_deactivate.html", member=staff, roles=STAFF_ROLES)
        deactivate_staff(admin, staff)
        return redirect(url_for("admin.staff_member", staff_id=staff.id, done="deactivated"), 303)

    return _act(staff_id, action)


@bp.post("/staff/<int:staff_id>/reactivate")
@staff_required(StaffRole.admin)
def staff_reactivate(staff_id: int):
    def action(session, admin, staff):
        reactivate_staff(admin, staff)
        return redirect(url_for("admin.staff_member", staff_id=staff.id, done="reactivated"), 303)

    return _act(staff_id, action)


@bp.route("/staff/me/password", methods=["GET", "POST"])
@staff_required()
def own_password():
    """Any staff member chooses a new password here; one given out as temporary opens only this page."""
    staff, error = current_staff(), None
    if request.method == "POST":
        check_csrf()
        try:
            # Field names carry "password", so the request audit (web/audit.py) never records their values.
            change_own_password(staff, current=request.form.get("current_password", ""),
                                new=request.form.get("new_password", ""),
                                repeated=request.form.get("new_password_repeated", ""))
        except DomainError as exc:
            db().rollback()
            error = error_text(exc.code, exc.params)
        else:
            sign_in(staff)  # this session carries on under the new password; every other one has ended
            return redirect(f"{home_path(staff)}?password=changed", 303)
    page = render_template("admin/staff_own_password.html", staff=staff, error=error, minimum=PASSWORD_MIN)
    return page, 400 if error else 200, {"Cache-Control": "no-store"}
