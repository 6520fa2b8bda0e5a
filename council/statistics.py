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

from sqlalchemy import and_, func, select
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


def figures(session: Session, unit: Unit, period: Period) -> dict:
    """Every figure of the statistics page for `unit` and the units below it, from the running sums."""
    subtree = select(Unit.id).where(Unit.path.startswith(unit.path, autoescape=False)).scalar_subquery()
    rooms = session.scalar(select(func.count()).select_from(CouncilRoom).where(CouncilRoom.unit_id.in_(subtree)))
    sums = stats.sums(session, unit.id, period.start, period.end)

    received = answered = solved_by_qr = topics = consensus = implemented = in_progress = meetings_held = 0
    decisions: dict[str, int] = {}
    to_answer: dict[int, int] = {}
    to_close: dict[int, int] = {}
    levels = {level: 0 for level in RATING_LEVELS}
    for key, count in sums.items():
        kind, *parts = key.split("|")
        if kind == "c":
            state, reason, qr = parts
            received += count
            if state not in ANSWERED:
                continue
            answered += count
            if qr == "1" and state in ("solved", "closed"):
                solved_by_qr += count
            if state == "not_deliberable":
                label = f"不予协商：{DEFAULT_REASONS.get(reason, reason or '未注明')}"
            elif state in ("promoted", "closed"):
                label = "转为协商议题"
            else:
                label = COMPLAINT_STATES[state]
            decisions[label] = decisions.get(label, 0) + count
        elif kind == "a":
            to_answer[int(parts[0])] = count
        elif kind == "z":
            to_close[int(parts[0])] = count
        elif kind == "t":
            state, assigned = parts
            topics += count
            if assigned == "1" and state in ("implemented", "closed"):
                implemented += count
            elif assigned == "1" and state == "implementing":
                in_progress += count
        elif kind == "k":
            consensus += count
        elif kind == "r":
            levels[parts[0]] = levels.get(parts[0], 0) + count
        elif kind == "m":
            meetings_held += count
    rated = sum(levels.values())

    return {
        "unit": unit.full_name(), "period": period.label(),
        "council_rooms": rooms, "meetings_held": meetings_held,
        "complaints_received": received, "complaints_answered": answered,
        "response_rate": round(100.0 * answered / received, 1) if received else None,
        "median_hours_to_first_answer": _median_hours(to_answer),
        "median_hours_to_closure": _median_hours(to_close),
        "solved_by_qr": solved_by_qr, "decisions": dict(sorted(decisions.items(), key=lambda kv: (-kv[1], kv[0]))),
        "topics": topics, "consensus": consensus, "implemented": implemented, "in_progress": in_progress,
        "ratings": {RATING_LEVELS[k]: v for k, v in levels.items()}, "ratings_total": rated,
        "satisfaction_rate": round(100.0 * (levels["satisfied"] + levels["basic"]) / rated, 1) if rated else None,
    }


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
