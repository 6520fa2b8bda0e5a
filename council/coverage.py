"""Cadence and coverage (议事频次 / 覆盖率): which units below a viewer have a council room in use and held a meeting
in a period, and when each unit's next council is due under the cadence its district set.

A meeting counts once it is recorded as held, on the day it started; a retired unit or room counts nowhere.
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from models import LEVEL_ORDER, CouncilRoom, Meeting, Staff, Unit, UnitLevel
from models.base import CHINA
from models.council import MeetingDetail
from models.triage import CADENCE_LEVELS, cadence_of, level_cadences
from web.messages import COUNCIL_LEVELS

SHOWN_DUE = 200  # rows of the due-date table on the statistics page (the overdue ones first)


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later (the month's last day when it is shorter: 31 August + 6 months is 28 February)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def local_date(moment: dt.datetime) -> dt.date:
    return moment.astimezone(CHINA).date()


def levels_below(unit: Unit) -> list[UnitLevel]:
    """The council levels whose coverage a viewer at `unit` sees: those below it (a district sees its streets and
    communities, a street its communities), or the unit's own level when none is below (a community sees itself)."""
    depth = LEVEL_ORDER.index(unit.level)
    below = [level for level in CADENCE_LEVELS if LEVEL_ORDER.index(level) > depth]
    return below or ([unit.level] if unit.level in CADENCE_LEVELS else [])


@dataclasses.dataclass
class Due:
    """One unit's standing against its cadence."""

    unit_id: int
    name: str
    level: UnitLevel
    months: int  # 0: no fixed cadence
    last_held: dt.date | None
    next_due: dt.date | None
    upcoming: dt.date | None  # the next meeting already scheduled
    overdue: bool


def _live_units(unit: Unit, levels: list[UnitLevel]):
    """The live units of these levels at or below `unit`, as plain rows (a district has thousands)."""
    return select(Unit.id, Unit.name, Unit.level, Unit.path, Unit.created_at, Unit.meeting_cadence_months).where(
        Unit.path.startswith(unit.path, autoescape=False), Unit.level.in_(levels), Unit.retired_at.is_(None))


def _held(session: Session, unit_ids):
    return (select(Meeting.unit_id).join(MeetingDetail, MeetingDetail.meeting_id == Meeting.id)
            .where(MeetingDetail.held_at.is_not(None), Meeting.unit_id.in_(unit_ids)))


def dues(session: Session, units: list, today: dt.date, ids=None, last: dict | None = None) -> list[Due]:
    """Each unit's cadence, last council held, next due date and whether it is overdue; the overdue first, then by
    due date. A unit that never met is due one cadence after it was created. `units`: Unit rows or plain rows with
    the same columns; `ids`: a query of their ids, when there are many; `last`: their last meetings, if known."""
    if not units:
        return []
    ids = [u.id for u in units] if ids is None else ids
    if last is None:
        last = dict(session.execute(_held(session, ids).add_columns(func.max(Meeting.starts_at))
                                    .group_by(Meeting.unit_id)).all())
    soon = dict(session.execute(
        select(Meeting.unit_id, func.min(Meeting.starts_at)).join(MeetingDetail, MeetingDetail.meeting_id == Meeting.id)
        .where(MeetingDetail.held_at.is_(None), MeetingDetail.cancelled_at.is_(None), Meeting.unit_id.in_(ids),
               Meeting.starts_at >= dt.datetime.combine(today, dt.time(), CHINA))
        .group_by(Meeting.unit_id)).all())
    by_district: dict[int, dict] = {}
    out = []
    for unit in units:
        district = int(unit.path.strip("/").split("/")[0])
        if district not in by_district:
            by_district[district] = level_cadences(session, district)
        months = cadence_of(unit, by_district[district])
        held = local_date(last[unit.id]) if unit.id in last else None
        due = add_months(held or local_date(unit.created_at), months) if months else None
        out.append(Due(unit.id, unit.name, unit.level, months, held, due,
                       local_date(soon[unit.id]) if unit.id in soon else None, due is not None and due < today))
    return sorted(out, key=lambda d: (not d.overdue, d.next_due or dt.date.max, d.name))


def figures(session: Session, unit: Unit, period, today: dt.date | None = None) -> dict:
    """The coverage block of the statistics page for `unit` and the units below it over `period` (a
    council.statistics.Period): rooms in use, and per council level the units, those with a room, those that held
    a meeting in the period, those with both (coverage), and the units' due dates."""
    today = today or dt.datetime.now(CHINA).date()
    subtree = select(Unit.id).where(Unit.path.startswith(unit.path, autoescape=False), Unit.retired_at.is_(None))
    rooms = session.scalar(select(func.count()).select_from(CouncilRoom).where(
        CouncilRoom.retired_at.is_(None), CouncilRoom.unit_id.in_(subtree.scalar_subquery())))
    levels = levels_below(unit)
    units = session.execute(_live_units(unit, levels).order_by(Unit.path)).all()
    ids = _live_units(unit, levels).with_only_columns(Unit.id)
    with_room = set(session.scalars(select(CouncilRoom.unit_id).where(CouncilRoom.unit_id.in_(ids),
                                                                     CouncilRoom.retired_at.is_(None))))
    # One pass over the meetings held: each unit's last one, and whether it had one in the period.
    held = session.execute(_held(session, ids).add_columns(
        func.max(Meeting.starts_at), func.max(case((period.clause(Meeting.starts_at), 1), else_=0)))
        .group_by(Meeting.unit_id)).all()
    met = {uid for uid, _, in_period in held if in_period}
    rows = []
    for level in levels:
        mine = [u.id for u in units if u.level == level]
        covered = sum(1 for uid in mine if uid in with_room and uid in met)
        rows.append({"level": level.value, "label": COUNCIL_LEVELS[level.value], "units": len(mine),
                     "with_room": sum(uid in with_room for uid in mine), "met": sum(uid in met for uid in mine),
                     "covered": covered,
                     "share": round(100.0 * covered / len(mine), 1) if mine else None})
    due = dues(session, units, today, ids, {uid: at for uid, at, _ in held})
    return {"rooms_in_use": rooms, "levels": rows, "due": due[:SHOWN_DUE], "due_total": len(due),
            "overdue": sum(d.overdue for d in due), "today": today}


def due_for_staff(session: Session, staff: Staff, today: dt.date) -> list[Due]:
    """The due dates of the councils of the staff member's own units (those with a cadence), soonest first."""
    units = [u for u in staff.units if u.retired_at is None and u.level in CADENCE_LEVELS]
    return [d for d in dues(session, units, today) if d.months]
