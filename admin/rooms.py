"""Admin pages: the register of council rooms (议事室 / 议事厅: name, unit, address, opening times, capacity; create,
edit, retire) and the district's working calendar (its own days off and working days over the national one)."""

from __future__ import annotations

import datetime as dt

import chinese_calendar
from flask import redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import CouncilRoom, DomainError, NotFound, Staff, StaffRole, Unit, UnitLevel, utcnow
from models.base import CHINA
from models.scope import in_scope, scope_clause
from models.triage import Holiday, WorkingDay
from web.auth import check_csrf, current_staff, staff_required
from web.http import db
from web.messages import CALENDAR_KINDS, COUNCIL_LEVELS

from .blueprint import bp

ROOM_LEVELS = (UnitLevel.district, UnitLevel.street, UnitLevel.community)  # the levels that hold councils
CAPACITY_LIMIT = 10000


def _text(value, empty: str | None, limit: int) -> str | None:
    value = value.strip() if isinstance(value, str) else ""
    if not value:
        if empty:
            raise DomainError(empty)
        return None
    return value[:limit]


def _capacity(value) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        raise DomainError("room_capacity_invalid") from None
    if not 1 <= number <= CAPACITY_LIMIT:
        raise DomainError("room_capacity_invalid")
    return number


def room_units(session: Session, admin: Staff) -> list[Unit]:
    """The live units in the admin's scope that hold councils (district, streets, communities), in tree order."""
    return list(session.scalars(select(Unit).where(scope_clause(admin), Unit.level.in_(ROOM_LEVELS),
                                                  Unit.retired_at.is_(None)).order_by(Unit.path)))


def _room_unit(session: Session, admin: Staff, value) -> Unit:
    try:
        unit = session.get(Unit, int(value))
    except (TypeError, ValueError):
        unit = None
    if unit is None or unit.retired_at is not None or unit.level not in ROOM_LEVELS or not in_scope(admin, unit):
        raise DomainError("room_unit_invalid")
    return unit


def rooms(session: Session, admin: Staff, *, retired: bool = False) -> list[CouncilRoom]:
    """The council rooms of the units in the admin's scope, in unit order; retired ones only when asked."""
    query = select(CouncilRoom).join(Unit, Unit.id == CouncilRoom.unit_id).where(scope_clause(admin, Unit.id))
    if not retired:
        query = query.where(CouncilRoom.retired_at.is_(None))
    return list(session.scalars(query.order_by(Unit.path, CouncilRoom.id)))


def room_for(session: Session, admin: Staff, room_id: int) -> CouncilRoom:
    room = session.get(CouncilRoom, room_id)
    if room is None or not in_scope(admin, room.unit):
        raise NotFound("room_not_found")
    return room


def save_room(session: Session, admin: Staff, form, room: CouncilRoom | None = None) -> CouncilRoom:
    """Create a council room, or change one still in use: name, unit, address, opening times, capacity.

    Side effect: the row (flushed); the request's audit records who did it.
    """
    if room is not None and room.retired_at is not None:
        raise DomainError("room_retired", status=409)
    unit = _room_unit(session, admin, form.get("unit_id"))
    name = _text(form.get("name"), "room_name_empty", 200)
    address = _text(form.get("address"), None, 200)
    hours = _text(form.get("opening_hours"), None, 200)
    capacity = _capacity(form.get("capacity"))
    if room is None:
        room = CouncilRoom(created_at=utcnow())
        session.add(room)
    room.unit_id, room.unit = unit.id, unit
    room.name, room.address, room.opening_hours, room.capacity = name, address, hours, capacity
    session.flush()
    return room


def retire_room(session: Session, room: CouncilRoom) -> CouncilRoom:
    """Take a room out of use: no new meeting can be placed in it; its past meetings keep it."""
    if room.retired_at is not None:
        raise DomainError("room_retired", status=409)
    room.retired_at = utcnow()
    session.flush()
    return room


@bp.get("/rooms")
@staff_required(StaffRole.admin)
def room_list():
    session, admin = db(), current_staff()
    show_retired = request.args.get("retired") == "1"
    return render_template("admin/rooms.html", rooms=rooms(session, admin, retired=show_retired),
                           units=room_units(session, admin), levels=COUNCIL_LEVELS, show_retired=show_retired,
                           saved=request.args.get("saved"))


@bp.post("/rooms")
@staff_required(StaffRole.admin)
def room_create():
    check_csrf()
    room = save_room(db(), current_staff(), request.form)
    return redirect(url_for("admin.room_list", saved=room.id), 303)


@bp.get("/rooms/<int:room_id>")
@staff_required(StaffRole.admin)
def room_page(room_id: int):
    session, admin = db(), current_staff()
    room = room_for(session, admin, room_id)
    return render_template("admin/rooms_edit.html", room=room, units=room_units(session, admin),
                           levels=COUNCIL_LEVELS)


@bp.post("/rooms/<int:room_id>")
@staff_required(StaffRole.admin)
def room_update(room_id: int):
    check_csrf()
    session, admin = db(), current_staff()
    room = save_room(session, admin, request.form, room_for(session, admin, room_id))
    return redirect(url_for("admin.room_list", saved=room.id), 303)


@bp.post("/rooms/<int:room_id>/retire")
@staff_required(StaffRole.admin)
def room_retire(room_id: int):
    check_csrf()
    session, admin = db(), current_staff()
    retire_room(session, room_for(session, admin, room_id))
    return redirect(url_for("admin.room_list"), 303)


# --- the working calendar ------------------------------------------------------------------------------------

def districts_of(session: Session, admin: Staff) -> list[Unit]:
    """The districts the admin's units belong to."""
    ids = sorted({u.ancestor_ids()[0] if u.ancestor_ids() else u.id for u in admin.units})
    return [u for u in (session.get(Unit, i) for i in ids) if u is not None]


def district_for(session: Session, admin: Staff, value) -> Unit:
    """The district the page is about: the one asked for among the admin's, else their first."""
    districts = districts_of(session, admin)
    if not districts:
        raise NotFound("unit_not_found")
    if value in (None, ""):
        return districts[0]
    chosen = next((d for d in districts if str(d.id) == str(value)), None)
    if chosen is None:
        raise NotFound("unit_not_found")
    return chosen


def national_holidays(year: int) -> list[tuple[dt.date, str, bool]]:
    """The national calendar's exceptions for `year` (chinesecalendar): (day, name, worked) for each public holiday
    and each 调休 weekend worked; empty for a year it does not know yet."""
    days = []
    day = dt.date(year, 1, 1)
    while day.year == year:
        try:
            on_holiday, name = chinese_calendar.get_holiday_detail(day)
            worked = chinese_calendar.is_workday(day)
        except NotImplementedError:
            return []
        if on_holiday and name:
            days.append((day, chinese_calendar.Holiday(name).chinese, False))
        elif worked and day.weekday() >= 5:
            days.append((day, "调休上班", True))
        day += dt.timedelta(days=1)
    return days


def calendar_entries(session: Session, district: Unit) -> list[tuple[str, Holiday | WorkingDay]]:
    """The district's own days, by date: ("off", Holiday) and ("work", WorkingDay); days off set before districts had
    their own calendar (no district) are shown too, since they apply everywhere."""
    off = session.scalars(select(Holiday).where((Holiday.unit_id == district.id) | Holiday.unit_id.is_(None)))
    work = session.scalars(select(WorkingDay).where(WorkingDay.unit_id == district.id))
    return sorted([("off", h) for h in off] + [("work", w) for w in work], key=lambda e: e[1].day)


def add_calendar_day(session: Session, district: Unit, *, day, kind, name) -> Holiday | WorkingDay:
    """Make a day a district's day off or working day. Side effect: the row; `calendar_day_exists` if the day is
    already set either way."""
    try:
        when = dt.date.fromisoformat(str(day or "").strip())
    except ValueError:
        raise DomainError("calendar_day_invalid") from None
    if kind not in CALENDAR_KINDS:
        raise DomainError("calendar_kind_unknown")
    name = _text(name, "calendar_name_empty", 64)
    taken = session.scalar(select(Holiday.id).where(Holiday.day == when, (Holiday.unit_id == district.id)
                                                    | Holiday.unit_id.is_(None))) \
        or session.scalar(select(WorkingDay.id).where(WorkingDay.day == when, WorkingDay.unit_id == district.id))
    if taken:
        raise DomainError("calendar_day_exists", status=409, day=when.isoformat())
    row = (Holiday(unit_id=district.id, day=when, name=name, created_at=utcnow()) if kind == "off"
           else WorkingDay(unit_id=district.id, day=when, name=name, created_at=utcnow()))
    session.add(row)
    session.flush()
    return row


def remove_calendar_day(session: Session, district: Unit, *, kind, entry_id) -> None:
    model = {"off": Holiday, "work": WorkingDay}.get(kind)
    try:
        row = session.get(model, int(entry_id)) if model else None
    except (TypeError, ValueError):
        row = None
    if row is None or row.unit_id not in (district.id, None):
        raise NotFound("calendar_entry_not_found")
    session.delete(row)
    session.flush()


@bp.get("/calendar")
@staff_required(StaffRole.admin)
def calendar_page():
    session, admin = db(), current_staff()
    district = district_for(session, admin, request.args.get("district"))
    this_year = dt.datetime.now(CHINA).year
    try:
        year = int(request.args.get("year", this_year))
    except ValueError:
        year = this_year
    year = min(max(year, 2004), this_year + 1)
    return render_template("admin/calendar.html", district=district, districts=districts_of(session, admin),
                           entries=calendar_entries(session, district), national=national_holidays(year), year=year,
                           years=[this_year - 1, this_year, this_year + 1], kinds=CALENDAR_KINDS)


@bp.post("/calendar")
@staff_required(StaffRole.admin)
def calendar_add():
    check_csrf()
    session, admin = db(), current_staff()
    district = district_for(session, admin, request.form.get("district"))
    add_calendar_day(session, district, day=request.form.get("day"), kind=request.form.get("kind"),
                     name=request.form.get("name"))
    return redirect(url_for("admin.calendar_page", district=district.id), 303)


@bp.post("/calendar/remove")
@staff_required(StaffRole.admin)
def calendar_remove():
    check_csrf()
    session, admin = db(), current_staff()
    district = district_for(session, admin, request.form.get("district"))
    remove_calendar_day(session, district, kind=request.form.get("kind"), entry_id=request.form.get("id"))
    return redirect(url_for("admin.calendar_page", district=district.id), 303)
