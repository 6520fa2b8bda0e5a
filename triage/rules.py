"""The district's rule set (reason codes, triage time limit) and working-day deadlines."""

from __future__ import annotations

import dataclasses
import datetime as dt

import chinese_calendar
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from models import Complaint, DomainError, Unit, utcnow
from models.base import CHINA
from models.triage import Holiday, RuleReason, RuleSet, WorkingDay
from web.messages import DEFAULT_REASONS, RULE_SET_PRESETS

DEFAULT_TRIAGE_DAYS = 3


@dataclasses.dataclass(frozen=True)
class Rules:
    code: str
    name: str
    triage_days: int
    reasons: dict[str, str]


DEFAULT_RULES = Rules("three_four", "三议四不议", DEFAULT_TRIAGE_DAYS, dict(DEFAULT_REASONS))


def district_id(unit: Unit) -> int:
    ids = unit.ancestor_ids()
    return ids[0] if ids else unit.id


def rules_for(session: Session, unit: Unit) -> Rules:
    """The rule set of the unit's district, else the configured default, else 三议四不议 with a 3-day limit."""
    rows = session.scalars(select(RuleSet).where(
        (RuleSet.unit_id == district_id(unit)) | RuleSet.unit_id.is_(None))).all()
    row = next((r for r in rows if r.unit_id is not None), None) or next(iter(rows), None)
    if row is None:
        return DEFAULT_RULES
    return Rules(row.code, row.name, row.triage_days, {r.code: r.label for r in row.reasons if r.active})


def install_rule_set(session: Session, district: Unit | None, preset: str, *, triage_days: int = DEFAULT_TRIAGE_DAYS,
                     reasons: dict[str, str] | None = None, name: str | None = None) -> RuleSet:
    """Give a district (or, with None, every district without one) a rule set from a preset or custom reasons.

    Replaces the district's previous rule set; flushes.
    """
    if preset not in RULE_SET_PRESETS and not reasons:
        raise DomainError("reason_unknown")
    if triage_days < 1 or triage_days > 60:
        raise DomainError("field_invalid", field="triage_days")
    preset_name, preset_reasons = RULE_SET_PRESETS.get(preset, (preset, {}))
    unit_id = district.id if district is not None else None
    old = session.scalar(select(RuleSet).where(
        RuleSet.unit_id == unit_id if unit_id is not None else RuleSet.unit_id.is_(None)))
    if old is not None:
        session.delete(old)
        session.flush()
    row = RuleSet(unit_id=unit_id, code=preset[:32], name=(name or preset_name)[:64], triage_days=triage_days,
                  created_at=utcnow())
    row.reasons = [RuleReason(code=code, label=label, position=i)
                   for i, (code, label) in enumerate((reasons or preset_reasons).items())]
    session.add(row)
    session.flush()
    return row


def holidays(session: Session, district: int | None = None) -> frozenset[dt.date]:
    """The district's own days off (the holidays table), on top of the national calendar; with no district, every
    district's. Days set before districts had their own calendar (no unit) count for all."""
    query = select(Holiday.day)
    if district is not None:
        query = query.where(or_(Holiday.unit_id == district, Holiday.unit_id.is_(None)))
    return frozenset(session.scalars(query))


def working_days(session: Session, district: int) -> frozenset[dt.date]:
    """The district's own working days where the national calendar has a day off."""
    return frozenset(session.scalars(select(WorkingDay.day).where(WorkingDay.unit_id == district)))


def calendar_of(session: Session, district: int) -> tuple[frozenset[dt.date], frozenset[dt.date]]:
    """(days off, working days) of the district's own calendar: the last two arguments of add_working_days."""
    return holidays(session, district), working_days(session, district)


def is_working_day(day: dt.date, off: frozenset[dt.date] = frozenset(), on: frozenset[dt.date] = frozenset()) -> bool:
    """Whether `day` is worked: China's official calendar (调休 weekends are worked, public holidays are not) unless
    the district made it a day off (`off`) or a working day (`on`). A year the calendar package does not know yet
    counts Monday to Friday (the State Council publishes each year's days late in the year before; the district can
    add them meanwhile)."""
    if day in on:
        return True
    if day in off:
        return False
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return day.weekday() < 5


def add_working_days(start: dt.datetime, days: int, off: frozenset[dt.date] = frozenset(),
                     on: frozenset[dt.date] = frozenset()) -> dt.datetime:
    """The end of the `days`-th working day after `start` (local time); see is_working_day."""
    day = start.astimezone(CHINA).date()
    left = days
    while left > 0:
        day += dt.timedelta(days=1)
        if is_working_day(day, off, on):
            left -= 1
    return dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=CHINA)


def overdue_before(now: dt.datetime, days: int, off: frozenset[dt.date] = frozenset(),
                    on: frozenset[dt.date] = frozenset()) -> dt.datetime:
    """The start of the first local day whose submissions are not yet past their deadline."""
    day = (now - dt.timedelta(days=days * 3 + 30)).astimezone(CHINA)
    while add_working_days(day, days, off, on) < now:
        day += dt.timedelta(days=1)
    return dt.datetime.combine(day.date(), dt.time(0, 0), tzinfo=CHINA)


def deadline_of(session: Session, complaint: Complaint) -> dt.datetime:
    return add_working_days(complaint.created_at, rules_for(session, complaint.unit).triage_days,
                            *calendar_of(session, district_id(complaint.unit)))


def parse_reasons(text: str) -> dict[str, str]:
    """Custom reasons, one a line: the Chinese wording alone (its code is made from it, so the same wording keeps
    its code across edits) or "code 说明" (code: lower-case letters, digits, _); `reason_unknown` if none.

    A line with a space that does not start with a code is refused (`field_invalid`): it is ambiguous.
    """
    import hashlib
    import re

    reasons: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        match = re.fullmatch(r"([a-z][a-z0-9_]{1,31})\s+(\S.{0,199})", line)
        if match is not None:
            reasons[match.group(1)] = match.group(2).strip()
        elif re.fullmatch(r"\S{1,200}", line):
            reasons["r" + hashlib.sha256(line.encode()).hexdigest()[:12]] = line
        else:
            raise DomainError("field_invalid", field=line[:20])
    if not reasons:
        raise DomainError("reason_unknown")
    return reasons
