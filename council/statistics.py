"""Statistics for a unit and everything below it over a period, computed with SQL aggregates, and their export.

Counts of things that happened (complaints received, topics raised, meetings held, consensus reached, ratings)
are taken within the period; implementation figures (implemented, in progress) are the present state of the
topics raised within the period.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io

from sqlalchemy import Integer, and_, case, cast, func, select, text
from sqlalchemy.orm import Session

from models import AuditEvent, Complaint, CouncilRoom, DomainError, Forbidden, Meeting, Staff, Topic, Unit
from models.council import Assignment, MeetingDetail, MeetingOutcome, Rating
from models.messages import COMPLAINT_STATES, DEFAULT_REASONS, RATING_LEVELS
from models.scope import in_scope

from .forms import CHINA

ANSWERS = ("decline", "solve", "merge", "promote")
ANSWERED = ("not_deliberable", "solved", "merged", "promoted", "closed")
FINISHED = ("not_deliberable", "solved", "closed")


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


BUCKET = 360  # seconds: medians are taken to a tenth of an hour, the precision the page shows


def _bucket(session: Session, seconds):
    """Which tenth of an hour a duration falls in (floor, on both backends)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.floor(seconds / BUCKET)
    return cast(seconds / BUCKET, Integer)


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


def _seconds(session: Session, later, earlier):
    if session.get_bind().dialect.name == "postgresql":
        return func.date_part("epoch", later - earlier)  # double precision: much cheaper than numeric
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def figures(session: Session, unit: Unit, period: Period) -> dict:
    """Every figure of the statistics page for `unit` and the units below it."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL work_mem = '64MB'"))  # lets the planner hash-aggregate in memory
    subtree = select(Unit.id).where(Unit.path.startswith(unit.path, autoescape=False)).scalar_subquery()
    in_unit = Complaint.unit_id.in_(subtree)

    rooms = session.scalar(select(func.count()).select_from(CouncilRoom).where(CouncilRoom.unit_id.in_(subtree)))
    meetings_held = session.scalar(select(func.count()).select_from(MeetingDetail).join(Meeting).where(
        Meeting.unit_id.in_(subtree), MeetingDetail.held_at.is_not(None), period.clause(MeetingDetail.held_at)))

    # One pass over the complaints: counts by outcome and reason, and the closure-time histogram.
    finished = Complaint.state.in_(FINISHED)
    close_bucket = case((finished, _bucket(session, _seconds(session, Complaint.state_changed_at,
                                                             Complaint.created_at))), else_=None)
    has_qr = Complaint.qr_code_id.is_not(None)
    received = answered = solved_by_qr = 0
    decisions: dict[str, int] = {}
    to_close: dict[int, int] = {}
    for state, reason, qr, bucket, count in session.execute(
            select(Complaint.state, Complaint.reason_code, has_qr, close_bucket, func.count())
            .where(in_unit, period.clause(Complaint.created_at))
            .group_by(Complaint.state, Complaint.reason_code, has_qr, close_bucket)):
        state = getattr(state, "value", state)
        received += count
        if bucket is not None:
            to_close[int(bucket)] = to_close.get(int(bucket), 0) + count
        if state not in ANSWERED:
            continue
        answered += count
        if qr and state in ("solved", "closed"):
            solved_by_qr += count
        if state == "not_deliberable":
            key = f"不予协商：{DEFAULT_REASONS.get(reason, reason or '未注明')}"
        elif state in ("promoted", "closed"):
            key = "转为协商议题"
        else:
            key = COMPLAINT_STATES[state]
        decisions[key] = decisions.get(key, 0) + count

    # Time to the first answer: the earliest triage decision of each complaint, as a histogram.
    # Aggregating the answer events per complaint first lets PostgreSQL hash-join instead of probing per row.
    answers = (select(AuditEvent.subject_id.label("cid"), func.min(AuditEvent.created_at).label("at"))
               .where(AuditEvent.subject_kind == "complaint", AuditEvent.action.in_(ANSWERS))
               .group_by(AuditEvent.subject_id).subquery())
    first = (select(Complaint.created_at.label("created_at"), answers.c.at.label("at"))
             .join(answers, answers.c.cid == Complaint.id)
             .where(in_unit, period.clause(Complaint.created_at)).subquery())
    answer_bucket = _bucket(session, _seconds(session, first.c.at, first.c.created_at))
    to_answer = {int(b): n for b, n in session.execute(select(answer_bucket, func.count()).group_by(answer_bucket))}

    t_in_unit = and_(Topic.unit_id.in_(subtree), period.clause(Topic.created_at))
    topics = session.scalar(select(func.count()).select_from(Topic).where(t_in_unit))
    consensus = session.scalar(select(func.count(func.distinct(MeetingOutcome.topic_id))).join(
        Topic, Topic.id == MeetingOutcome.topic_id).where(t_in_unit, MeetingOutcome.result == "consensus"))
    impl = session.execute(select(
        func.count(case((Topic.state.in_(("implemented", "closed")), 1))),
        func.count(case((Topic.state == "implementing", 1))),
    ).select_from(Assignment).join(Topic, Topic.id == Assignment.topic_id).where(t_in_unit)).one()

    levels = {level: 0 for level in RATING_LEVELS}
    for level, count in session.execute(
            select(Rating.level, func.count()).join(Topic, Topic.id == Rating.topic_id)
            .where(Topic.unit_id.in_(subtree), period.clause(Rating.created_at)).group_by(Rating.level)):
        levels[getattr(level, "value", level)] = count
    rated = sum(levels.values())

    return {
        "unit": unit.full_name(), "period": period.label(),
        "council_rooms": rooms, "meetings_held": meetings_held,
        "complaints_received": received, "complaints_answered": answered,
        "response_rate": round(100.0 * answered / received, 1) if received else None,
        "median_hours_to_first_answer": _median_hours(to_answer),
        "median_hours_to_closure": _median_hours(to_close),
        "solved_by_qr": solved_by_qr, "decisions": dict(sorted(decisions.items(), key=lambda kv: -kv[1])),
        "topics": topics, "consensus": consensus, "implemented": impl[0], "in_progress": impl[1],
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
