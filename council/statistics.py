"""Statistics for a unit and everything below it over a period, read from the running sums (models.stats), and
their export.

Counts of things that happened (complaints received, topics raised, meetings held, consensus reached, ratings)
are taken within the period; implementation figures (implemented, in progress) are the present state of the
topics raised within the period.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io

from sqlalchemy import and_, func, or_, select, union_all
from sqlalchemy.orm import Session

from models import LEVEL_ORDER, CouncilRoom, DomainError, Forbidden, Staff, Unit, stats
from models.scope import in_scope
from models.stats import BUCKET
from web.messages import COMPLAINT_STATES, DEFAULT_REASONS, RATING_LEVELS

from .forms import CHINA

ANSWERED = ("not_deliberable", "solved", "merged", "promoted", "closed")


@dataclasses.dataclass
class Period:
    start: dt.date | None = None
    end: dt.date | None = None

    def bounds(self) -> tuple[dt.datetime | None, dt.datetime | None]:
        lo = dt.datetime.combine(self.start, dt.time(), CHINA).astimezone(dt.UTC) if self.start else None
        hi = (dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time(), CHINA).astimezone(dt.UTC)
              if self.end else None)
        return lo, hi

    def clause(self, column):
        lo, hi = self.bounds()
        parts = [column >= lo] if lo else []
        parts += [column < hi] if hi else []
        return and_(True, *parts)

    def label(self) -> str:
        if not self.start and not self.end:
            return "全部时间"
        return f"{self.start.isoformat() if self.start else '最早'} 至 {self.end.isoformat() if self.end else '今天'}"


def parse_period(start: str | None, end: str | None) -> Period:
    try:
        period = Period(dt.date.fromisoformat(start) if start else None, dt.date.fromisoformat(end) if end else None)
    except ValueError:
        raise DomainError("date_invalid") from None
    if period.start and period.end and period.start > period.end:
        raise DomainError("period_invalid")
    return period


def unit_for_stats(session: Session, staff: Staff, unit_id) -> Unit:
    """The unit whose figures the staff member asked for (their first unit when none); outside their scope: 403."""
    if unit_id in (None, ""):
        return sorted(staff.units, key=lambda u: u.path)[0] if staff.units else None
    try:
        unit = session.get(Unit, int(unit_id))
    except (TypeError, ValueError):
        unit = None
    if unit is None or not in_scope(staff, unit):
        raise Forbidden("unit_out_of_scope")
    return unit


@dataclasses.dataclass(frozen=True)
class Choice:
    id: int
    label: str

    def full_name(self) -> str:
        return self.label


def unit_choices(session: Session, staff: Staff, unit: Unit) -> list[Choice]:
    """The units the page offers: those above the shown unit within the staff member's scope, the unit, and two
    levels below it (a district offers its streets and communities, not every grid). Plain columns, no ORM rows:
    a district has hundreds of these."""
    depth = LEVEL_ORDER.index(unit.level)
    above = [u for u in session.scalars(select(Unit).where(Unit.id.in_(unit.ancestor_ids()[:-1])))
             if in_scope(staff, u)]
    rows = session.execute(select(Unit.id, Unit.name, Unit.path).where(
        Unit.path.startswith(unit.path, autoescape=False), Unit.level.in_(LEVEL_ORDER[depth:depth + 3]))
        .order_by(Unit.path)).all()
    names = {u.id: u.name for u in [unit, *unit_ancestors(unit)]} | {uid: name for uid, name, _ in rows}

    def label(path: str) -> str:
        return "·".join(names.get(int(p), "") for p in path.strip("/").split("/") if p)

    return ([Choice(u.id, u.full_name()) for u in sorted(above, key=lambda u: len(u.path))]
            + [Choice(uid, label(path)) for uid, _, path in rows])


def unit_ancestors(unit: Unit) -> list[Unit]:
    out, node = [], unit.parent
    while node is not None:
        out.append(node)
        node = node.parent
    return out


def _median_hours(histogram: dict[int, int]) -> float | None:
    """The median of the bucketed durations (the mean of the two middle ones for an even count), in hours."""
    total = sum(histogram.values())
    if not total:
        return None
    middle = [(total - 1) // 2, total // 2]
    picked, seen = [], 0
    for bucket in sorted(histogram):
        count = histogram[bucket]
        picked += [bucket for m in middle if seen <= m < seen + count]
        seen += count
    return round(sum(picked) / 2 * BUCKET / 3600.0, 1)


def tally(sums: dict[str, int]) -> dict:
    """The counts behind every figure, from one unit's running sums (the keys are listed in models.stats)."""
    t = {"received": 0, "answered": 0, "solved": 0, "solved_by_qr": 0, "topics": 0, "consensus": 0,
         "implemented": 0, "in_progress": 0, "meetings_held": 0, "decisions": {}, "to_answer": {}, "to_close": {},
         "levels": {level: 0 for level in RATING_LEVELS}}
    decisions = t["decisions"]
    for key, count in sums.items():
        kind, *parts = key.split("|")
        if kind == "c":
            state, reason, qr = parts
            t["received"] += count
            if state not in ANSWERED:
                continue
            t["answered"] += count
            if state in ("solved", "closed"):
                t["solved"] += count
                t["solved_by_qr"] += count if qr == "1" else 0
            if state == "not_deliberable":
                label = f"不予协商：{DEFAULT_REASONS.get(reason, reason or '未注明')}"
            elif state in ("promoted", "closed"):
                label = "转为协商议题"
            else:
                label = COMPLAINT_STATES[state]
            decisions[label] = decisions.get(label, 0) + count
        elif kind == "a":
            t["to_answer"][int(parts[0])] = count
        elif kind == "z":
            t["to_close"][int(parts[0])] = count
        elif kind == "t":
            state, assigned = parts
            t["topics"] += count
            if assigned == "1" and state in ("implemented", "closed"):
                t["implemented"] += count
            elif assigned == "1" and state == "implementing":
                t["in_progress"] += count
        elif kind == "k":
            t["consensus"] += count
        elif kind == "r":
            t["levels"][parts[0]] = t["levels"].get(parts[0], 0) + count
        elif kind == "m":
            t["meetings_held"] += count
    return t


def _rate(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def satisfaction(levels: dict[str, int]) -> float | None:
    """满意率: satisfied and basically satisfied among all ratings."""
    return _rate(levels.get("satisfied", 0) + levels.get("basic", 0), sum(levels.values()))


def figures(session: Session, unit: Unit, period: Period) -> dict:
    """Every figure of the statistics page for `unit` and the units below it, from the running sums."""
    subtree = select(Unit.id).where(Unit.path.startswith(unit.path, autoescape=False)).scalar_subquery()
    rooms = session.scalar(select(func.count()).select_from(CouncilRoom).where(
        CouncilRoom.unit_id.in_(subtree), CouncilRoom.retired_at.is_(None)))  # rooms in use
    t = tally(stats.sums(session, unit.id, period.start, period.end))
    levels = t["levels"]
    return {
        "unit": unit.full_name(), "period": period.label(),
        "council_rooms": rooms, "meetings_held": t["meetings_held"],
        "complaints_received": t["received"], "complaints_answered": t["answered"],
        "response_rate": _rate(t["answered"], t["received"]),
        "median_hours_to_first_answer": _median_hours(t["to_answer"]),
        "median_hours_to_closure": _median_hours(t["to_close"]),
        "solved_by_qr": t["solved_by_qr"],
        "decisions": dict(sorted(t["decisions"].items(), key=lambda kv: (-kv[1], kv[0]))),
        "topics": t["topics"], "consensus": t["consensus"], "implemented": t["implemented"],
        "in_progress": t["in_progress"],
        "ratings": {RATING_LEVELS[k]: v for k, v in levels.items()}, "ratings_total": sum(levels.values()),
        "satisfaction_rate": satisfaction(levels),
    }


def _month_start(day: dt.date, back: int = 0) -> dt.date:
    index = day.year * 12 + day.month - 1 - back
    return dt.date(index // 12, index % 12 + 1, 1)


def _waiting_deltas(session: Session, unit: Unit, first: dt.date | None, last: dt.date | None):
    """The deltas not folded yet of the unit's subtree: (own unit's path, day, key, n)."""
    deltas = stats.StatDelta.__table__.c
    query = (select(Unit.path, deltas.day, deltas.key, deltas.n).join(Unit, Unit.id == deltas.unit_id)
             .where(Unit.path.startswith(unit.path, autoescape=False)))
    if first is not None:
        query = query.where(deltas.day >= first)
    if last is not None:
        query = query.where(deltas.day <= last)
    return session.execute(query).all()


def _COUNTED(key):  # noqa: N802 - a clause builder named like the constant it stands for
    """The keys the comparison and the trend read: complaints, topics and ratings (not the duration histograms,
    most of a unit's rows)."""
    return or_(key.like("c|%"), key.like("t|%"), key.like("r|%"))


def comparison(session: Session, unit: Unit, period: Period) -> list[dict]:
    """One row per unit one level below `unit` (retired ones only when they have figures in the period): received,
    answered, topics deliberated, solved and the satisfaction rate, from the running sums in one statement (plus
    the deltas not folded yet)."""
    stats.apply_pending(session)
    children = session.execute(select(Unit.id, Unit.name, Unit.retired_at).where(Unit.parent_id == unit.id)
                               .order_by(Unit.code)).all()
    if not children:
        return []
    ids = [uid for uid, _, _ in children]
    cells = stats.StatCell.__table__.c
    per_unit: dict[int, dict[str, int]] = {uid: {} for uid in ids}
    parts = [select(cells.unit_id, cells.key, cells.n).where(
        cells.unit_id.in_(ids), cells.grain == grain, cells.day >= first, cells.day < after, _COUNTED(cells.key))
        for grain, first, after in stats.segments(period.start, period.end)]
    rows = union_all(*parts).subquery()
    for uid, key, n in session.execute(select(rows.c.unit_id, rows.c.key, func.sum(rows.c.n))
                                       .group_by(rows.c.unit_id, rows.c.key)):
        per_unit[uid][key] = int(n)
    depth = len(unit.ancestor_ids())
    for path, _day, key, n in _waiting_deltas(session, unit, period.start, period.end):
        parts = path.strip("/").split("/")
        if len(parts) > depth and int(parts[depth]) in per_unit:
            sums = per_unit[int(parts[depth])]
            sums[key] = sums.get(key, 0) + n
    rows = []
    for uid, name, retired_at in children:
        t = tally(per_unit[uid])
        if retired_at is not None and not t["received"] and not t["topics"]:
            continue
        rows.append({"unit_id": uid, "name": name, "received": t["received"], "answered": t["answered"],
                     "response_rate": _rate(t["answered"], t["received"]), "deliberated": t["topics"],
                     "solved": t["solved"], "satisfaction_rate": satisfaction(t["levels"])})
    return rows


def trend(session: Session, unit: Unit, last_day: dt.date, months: int = 12) -> list[dict]:
    """The last `months` calendar months up to the one holding `last_day`: received, answered, topics raised and
    the satisfaction rate per month, from the month rows of the running sums (and the deltas not folded yet)."""
    stats.apply_pending(session)
    first = _month_start(last_day, months - 1)
    after = _month_start(last_day, -1)
    cells = stats.StatCell.__table__.c
    by_month: dict[dt.date, dict[str, int]] = {_month_start(last_day, back): {} for back in range(months)}
    for day, key, n in session.execute(select(cells.day, cells.key, cells.n).where(
            cells.unit_id == unit.id, cells.grain == "m", cells.day >= first, cells.day < after,
            _COUNTED(cells.key))):
        by_month[day][key] = by_month[day].get(key, 0) + n
    for _path, day, key, n in _waiting_deltas(session, unit, first, after - dt.timedelta(days=1)):
        sums = by_month[day.replace(day=1)]
        sums[key] = sums.get(key, 0) + n
    rows = []
    for month in sorted(by_month):
        t = tally(by_month[month])
        rows.append({"month": f"{month.year}-{month.month:02d}", "received": t["received"],
                     "answered": t["answered"], "topics": t["topics"],
                     "satisfaction_rate": satisfaction(t["levels"])})
    return rows


def trend_end(period: Period) -> dt.date:
    """The trend's last month: the period's end, or this month in China."""
    return period.end or dt.datetime.now(CHINA).date()


def breakdowns(session: Session, unit: Unit, period: Period) -> dict:
    """What the statistics page shows beside the figures: the units one level below compared, the monthly trend."""
    months = trend(session, unit, trend_end(period))
    period_args = {k: v.isoformat() for k, v in (("from", period.start), ("to", period.end)) if v}
    return {"compare": comparison(session, unit, period), "trend": months,
            "trend_chart": columns(months, "received"), "period_args": period_args}


def columns(rows: list[dict], key: str, width: int = 340, height: int = 120) -> dict:
    """Geometry for a column chart of one figure per month, drawn as inline SVG by the template."""
    top = max([r[key] or 0 for r in rows] + [1])
    step = width / max(len(rows), 1)
    bars = [{"x": round(i * step + 2, 1), "w": round(step - 4, 1), "label": r["month"][5:], "value": r[key] or 0,
             "h": round((height - 34) * (r[key] or 0) / top, 1)} for i, r in enumerate(rows)]
    for bar in bars:
        bar["y"] = round(height - 18 - bar["h"], 1)
    return {"bars": bars, "width": width, "height": height, "base": height - 18}


ROWS = [
    ("council_rooms", "协商议事室（个）"), ("meetings_held", "召开议事会（次）"),
    ("complaints_received", "收到诉求（件）"), ("complaints_answered", "已答复诉求（件）"),
    ("response_rate", "答复率（%）"), ("median_hours_to_first_answer", "首次答复用时中位数（小时）"),
    ("median_hours_to_closure", "办结用时中位数（小时）"), ("solved_by_qr", "通过心码解决问题（件）"),
    ("topics", "协商议题（个）"), ("consensus", "达成共识（个）"), ("implemented", "落实见效（个）"),
    ("in_progress", "正在推进（个）"), ("ratings_total", "回访评价（次）"), ("satisfaction_rate", "满意率（%）"),
]


def table(data: dict) -> list[tuple[str, object]]:
    """The figures as (label, value) rows, in the order of the page and the exports."""
    rows = [(label, "—" if data[key] is None else data[key]) for key, label in ROWS]
    rows += [(f"分拣结果·{k}", v) for k, v in data["decisions"].items()]
    rows += [(f"回访·{k}", v) for k, v in data["ratings"].items()]
    return rows


def to_csv(data: dict) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["单位", data["unit"]])
    writer.writerow(["统计区间", data["period"]])
    writer.writerow(["指标", "数值"])
    writer.writerows(table(data))
    return out.getvalue().encode("utf-8-sig")  # the BOM lets Excel read the Chinese


def to_xlsx(data: dict) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "统计"
    sheet.append(["单位", data["unit"]])
    sheet.append(["统计区间", data["period"]])
    sheet.append(["指标", "数值"])
    for row in table(data):
        sheet.append(list(row))
    sheet.column_dimensions["A"].width = 36
    sheet.column_dimensions["B"].width = 28
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def bars(items: list[tuple[str, float]], width: int = 340, bar_height: int = 22) -> dict:
    """Geometry for a horizontal bar chart drawn as inline SVG by the template."""
    top = max([v for _, v in items] + [1])
    label_w = 120
    rows = []
    for i, (label, value) in enumerate(items):
        rows.append({"label": label, "value": value, "y": i * (bar_height + 8),
                     "w": round((width - label_w - 40) * (value or 0) / top, 1)})
    return {"rows": rows, "width": width, "height": len(items) * (bar_height + 8), "label_w": label_w,
            "bar_h": bar_height}
