"""Admin pages: law-assisted deliberation. Each village or community in the admin's scope names its legal adviser
(法律顾问) from the legal advisers in that scope, and each district marks which deliberation categories it treats as
major (重大事项: its topics need the adviser's opinion before they are resolved)."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from models import DomainError, NotFound, Staff, StaffRole, Unit, UnitLevel, utcnow
from models.legal import LegalAdviser, MajorCategory, major_categories
from models.scope import in_scope, units_in_scope
from web.auth import check_csrf, current_staff, staff_required
from web.http import db
from web.messages import DELIBERATION_CATEGORIES

from .blueprint import bp

# The units that name an adviser: villages and communities (their grids share it).
ADVISED_LEVELS = (UnitLevel.community,)


def advisers_in_scope(session: Session, admin: Staff) -> list[Staff]:
    """Active legal advisers whose units lie in the admin's scope (or cover part of it)."""
    rows = session.scalars(select(Staff).where(Staff.role == StaffRole.legal_adviser, Staff.active.is_(True))
                           .order_by(Staff.display_name, Staff.id)).all()
    return [s for s in rows if any(in_scope(admin, u) or any(a.path.startswith(u.path) for a in admin.units)
                                   for u in s.units)]


def _unit(session: Session, admin: Staff, value, levels) -> Unit:
    try:
        unit = session.get(Unit, int(value))
    except (TypeError, ValueError):
        unit = None
    if unit is None or unit.level not in levels or not in_scope(admin, unit) or unit.retired_at is not None:
        raise NotFound("unit_not_found")
    return unit


def name_adviser(session: Session, admin: Staff, *, unit_id, staff_id) -> LegalAdviser | None:
    """Name the unit's legal adviser (an empty `staff_id` removes the naming). Side effect: writes or deletes the
    unit's row; the request's audit records who did it."""
    unit = _unit(session, admin, unit_id, ADVISED_LEVELS)
    current = session.get(LegalAdviser, unit.id)
    if staff_id in (None, ""):
        if current is not None:
            session.delete(current)
            session.flush()
        return None
    chosen = next((s for s in advisers_in_scope(session, admin) if str(s.id) == str(staff_id)), None)
    if chosen is None:
        raise DomainError("legal_adviser_invalid")
    if current is None:
        current = LegalAdviser(unit_id=unit.id, staff_id=chosen.id)
        session.add(current)
    current.staff_id, current.named_by_id, current.named_at = chosen.id, admin.id, utcnow()
    session.flush()
    return current


def set_major_categories(session: Session, admin: Staff, *, district_id, categories: list[str]) -> set[str]:
    """Replace the deliberation categories a district treats as major. Side effect: rewrites its rows."""
    try:
        district = _unit(session, admin, district_id, (UnitLevel.district,))
    except NotFound:
        raise NotFound("district_not_found") from None
    wanted = set(categories)
    if not wanted <= set(DELIBERATION_CATEGORIES):
        raise DomainError("major_category_unknown")
    session.execute(delete(MajorCategory).where(MajorCategory.district_id == district.id))
    session.add_all(MajorCategory(district_id=district.id, category=c, created_at=utcnow()) for c in sorted(wanted))
    session.flush()
    return wanted


@bp.get("/legal")
@staff_required(StaffRole.admin)
def legal():
    session, admin = db(), current_staff()
    units = [u for u in units_in_scope(session, admin) if u.level in ADVISED_LEVELS and u.retired_at is None]
    named = {r.unit_id: r for r in session.scalars(select(LegalAdviser).where(
        LegalAdviser.unit_id.in_([u.id for u in units])))} if units else {}
    districts = [u for u in units_in_scope(session, admin) if u.level == UnitLevel.district]
    return render_template("admin/legal.html", units=units, named=named, advisers=advisers_in_scope(session, admin),
                           districts=[(d, major_categories(session, d)) for d in districts],
                           categories=DELIBERATION_CATEGORIES, saved=request.args.get("saved"))


@bp.post("/legal/advisers")
@staff_required(StaffRole.admin)
def legal_adviser():
    check_csrf()
    unit_id = request.form.get("unit_id")
    name_adviser(db(), current_staff(), unit_id=unit_id, staff_id=request.form.get("staff_id"))
    return redirect(url_for("admin.legal", saved="adviser") + f"#unit-{int(unit_id)}")


@bp.post("/legal/major")
@staff_required(StaffRole.admin)
def legal_major():
    check_csrf()
    set_major_categories(db(), current_staff(), district_id=request.form.get("district_id"),
                         categories=request.form.getlist("category"))
    return redirect(url_for("admin.legal", saved="major"))

