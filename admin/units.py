"""Admin pages: retiring a unit (with a confirmation), the district's meeting cadence per level and per unit, and
the district's complaint categories (add, rename, retire). The unit tree and its codes are `qr.views`."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Complaint, ComplaintState, DomainError, NotFound, Staff, StaffRole, Unit, UnitLevel, utcnow
from models.scope import in_scope
from models.triage import (
    CADENCE_LEVELS,
    CADENCE_LIMIT,
    ComplaintCategory,
    MeetingCadence,
    cadence_of,
    district_categories,
    level_cadences,
)
from qr.services import retire_unit
from web.auth import check_csrf, current_staff, staff_required
from web.http import db
from web.messages import COMPLAINT_CATEGORIES, COUNCIL_LEVELS

from .blueprint import bp
from .rooms import district_for, districts_of

OPEN_STATES = (ComplaintState.submitted, ComplaintState.awaiting_triage)
CATEGORY_LIMIT = 16  # characters: the mini-program's picker and WeChat's thing fields show no more
CADENCE_SHOWN = 300


def _unit_for(session: Session, admin: Staff, unit_id: int) -> Unit:
    unit = session.get(Unit, unit_id)
    if unit is None or not in_scope(admin, unit):
        raise NotFound("unit_not_found")
    return unit


# --- retiring a unit -----------------------------------------------------------------------------------------

def live_below(session: Session, unit: Unit) -> list[Unit]:
    """The live units below `unit` (its grids, a street's communities), which retire with it."""
    return list(session.scalars(select(Unit).where(Unit.path.startswith(unit.path, autoescape=False),
                                                  Unit.id != unit.id, Unit.retired_at.is_(None))
                                .order_by(Unit.path)))


def open_complaints(session: Session, units: list[Unit]) -> int:
    return session.scalar(select(func.count()).select_from(Complaint).where(
        Complaint.unit_id.in_([u.id for u in units]), Complaint.state.in_(OPEN_STATES)))


def retire(session: Session, unit: Unit, *, confirmed: bool) -> list[Unit]:
    """Retire a unit and every live unit below it: their codes stop taking reports (a scan says the unit is
    retired); their complaints, topics and meetings stay, and statistics keep their history but no longer count
    them among the units to cover. Refuses a district and an unconfirmed request."""
    if unit.retired_at is not None:
        raise DomainError("unit_already_retired", status=409)
    if unit.level == UnitLevel.district:
        raise DomainError("unit_retire_district")
    if not confirmed:
        raise DomainError("unit_retire_unconfirmed")
    units = [*live_below(session, unit), unit]
    for each in units:
        retire_unit(session, each)
    return units


@bp.get("/units/<int:unit_id>/retire")
@staff_required(StaffRole.admin)
def unit_retire_confirm(unit_id: int):
    session = db()
    unit = _unit_for(session, current_staff(), unit_id)
    below = live_below(session, unit)
    return render_template("admin/units_retire.html", unit=unit, below=below,
                           open_count=open_complaints(session, [unit, *below]), levels=COUNCIL_LEVELS)


@bp.post("/units/<int:unit_id>/retire")
@staff_required(StaffRole.admin)
def unit_retire(unit_id: int):
    check_csrf()
    session = db()
    unit = _unit_for(session, current_staff(), unit_id)
    retire(session, unit, confirmed=request.form.get("confirm") == "1")
    return redirect(url_for("admin.unit_retire_confirm", unit_id=unit.id), 303)


# --- meeting cadence -----------------------------------------------------------------------------------------

def _months(value, *, allow_default: bool = False) -> int | None:
    value = (value or "").strip() if isinstance(value, str) else value
    if value in (None, "") and allow_default:
        return None
    try:
        months = int(value)
    except (TypeError, ValueError):
        raise DomainError("cadence_invalid") from None
    if not 0 <= months <= CADENCE_LIMIT:
        raise DomainError("cadence_invalid")
    return months


def set_level_cadence(session: Session, district: Unit, level: str, months) -> MeetingCadence:
    """Set how often the district's councils of one level must meet (months; 0: no fixed cadence)."""
    try:
        level = UnitLevel(level)
    except ValueError:
        raise DomainError("cadence_invalid") from None
    if level not in CADENCE_LEVELS:
        raise DomainError("cadence_invalid")
    months = _months(months)
    row = session.scalar(select(MeetingCadence).where(MeetingCadence.unit_id == district.id,
                                                      MeetingCadence.level == level))
    if row is None:
        row = MeetingCadence(unit_id=district.id, level=level)
        session.add(row)
    row.months, row.updated_at = months, utcnow()
    session.flush()
    return row


def set_unit_cadence(session: Session, admin: Staff, unit_id, months) -> Unit:
    """Override one unit's cadence (empty: back to its level's)."""
    try:
        unit = _unit_for(session, admin, int(unit_id))
    except (TypeError, ValueError):
        raise NotFound("unit_not_found") from None
    if unit.level not in CADENCE_LEVELS or unit.retired_at is not None:
        raise DomainError("cadence_invalid")
    unit.meeting_cadence_months = _months(months, allow_default=True)
    session.flush()
    return unit


@bp.get("/cadence")
@staff_required(StaffRole.admin)
def cadence_page():
    session, admin = db(), current_staff()
    district = district_for(session, admin, request.args.get("district"))
    query = request.args.get("q", "").strip()[:50]
    stmt = select(Unit).where(Unit.path.startswith(district.path, autoescape=False), Unit.level.in_(CADENCE_LEVELS),
                              Unit.retired_at.is_(None))
    if query:
        stmt = stmt.where(Unit.name.contains(query, autoescape=True))
    units = [u for u in session.scalars(stmt.order_by(Unit.path).limit(CADENCE_SHOWN)) if in_scope(admin, u)]
    by_level = level_cadences(session, district.id)
    return render_template("admin/units_cadence.html", district=district, districts=districts_of(session, admin),
                           by_level=by_level, cadence_levels=CADENCE_LEVELS, levels=COUNCIL_LEVELS, query=query,
                           units=[(u, cadence_of(u, by_level)) for u in units], shown=CADENCE_SHOWN)


@bp.post("/cadence")
@staff_required(StaffRole.admin)
def cadence_save():
    check_csrf()
    session, admin = db(), current_staff()
    f = request.form
    district = district_for(session, admin, f.get("district"))
    if f.get("unit_id"):
        set_unit_cadence(session, admin, f.get("unit_id"), f.get("months"))
    else:
        for level in CADENCE_LEVELS:
            set_level_cadence(session, district, level.value, f.get(f"months_{level.value}"))
    return redirect(url_for("admin.cadence_page", district=district.id, saved=1), 303)


# --- complaint categories ------------------------------------------------------------------------------------

def _label(value) -> str:
    label = value.strip() if isinstance(value, str) else ""
    if not label:
        raise DomainError("category_label_empty")
    if len(label) > CATEGORY_LIMIT:
        raise DomainError("category_label_too_long", limit=CATEGORY_LIMIT)
    return label


def _taken(rows: list[ComplaintCategory], label: str, but: ComplaintCategory | None = None) -> None:
    if any(r.label == label and r is not but for r in rows):
        raise DomainError("category_duplicate", status=409, label=label)


def add_category(session: Session, district: Unit, label) -> ComplaintCategory:
    """Add a category at the end of the district's list (a retired one of that name comes back instead)."""
    rows = district_categories(session, district.id, COMPLAINT_CATEGORIES, with_retired=True)
    label = _label(label)
    again = next((r for r in rows if r.label == label and r.retired_at is not None), None)
    if again is not None:
        again.retired_at = None
        session.flush()
        return again
    _taken(rows, label)
    row = ComplaintCategory(unit_id=district.id, label=label, position=max((r.position for r in rows), default=-1) + 1,
                            created_at=utcnow())
    session.add(row)
    session.flush()
    return row


def _category(session: Session, district: Unit, category_id) -> ComplaintCategory:
    try:
        row = session.get(ComplaintCategory, int(category_id))
    except (TypeError, ValueError):
        row = None
    if row is None or row.unit_id != district.id:
        raise NotFound("category_not_found")
    return row


def rename_category(session: Session, district: Unit, category_id, label) -> ComplaintCategory:
    """Change a category's label: new reports use the new one; complaints already filed keep the label they were
    filed under."""
    row = _category(session, district, category_id)
    if row.retired_at is not None:
        raise DomainError("category_retired", status=409)
    label = _label(label)
    _taken(district_categories(session, district.id, COMPLAINT_CATEGORIES, with_retired=True), label, but=row)
    row.label = label
    session.flush()
    return row


def retire_category(session: Session, district: Unit, category_id) -> ComplaintCategory:
    """Stop offering a category; complaints filed under it keep and show it. The last one in use stays."""
    row = _category(session, district, category_id)
    if row.retired_at is not None:
        raise DomainError("category_retired", status=409)
    if len(district_categories(session, district.id, COMPLAINT_CATEGORIES)) <= 1:
        raise DomainError("category_last", status=409)
    row.retired_at = utcnow()
    session.flush()
    return row


@bp.get("/categories")
@staff_required(StaffRole.admin)
def category_list():
    session, admin = db(), current_staff()
    district = district_for(session, admin, request.args.get("district"))
    rows = district_categories(session, district.id, COMPLAINT_CATEGORIES, with_retired=True)
    return render_template("admin/categories.html", district=district, districts=districts_of(session, admin),
                           active=[r for r in rows if r.retired_at is None],
                           retired=[r for r in rows if r.retired_at is not None], limit=CATEGORY_LIMIT)


@bp.post("/categories")
@staff_required(StaffRole.admin)
def category_save():
    """One form post: add (no id), rename (id and label) or retire (id and action=retire)."""
    check_csrf()
    session, admin = db(), current_staff()
    f = request.form
    district = district_for(session, admin, f.get("district"))
    if not f.get("id"):
        add_category(session, district, f.get("label"))
    elif f.get("action") == "retire":
        retire_category(session, district, f.get("id"))
    else:
        rename_category(session, district, f.get("id"), f.get("label"))
    return redirect(url_for("admin.category_list", district=district.id), 303)
