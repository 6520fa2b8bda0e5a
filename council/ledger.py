"""台账 (the ledger): one row per matter a resident reported in a unit's subtree and a period, with what became of
it: the triage decision and who made it, the topic, meeting, resolution and 领办 it went through, the first answer,
the outcome and the rating. A page (filtered, paged) and its CSV and XLSX exports, on the council blueprint.

A matter is a complaint; a complaint that became a topic carries the topic's meeting, resolution and lead. The
ledger's counts by state are counts of the base table for the same subtree and period as the statistics page,
whose figures come from the running sums: the two agree (tests/council/test_ledger.py).
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io

from flask import Response, render_template, request
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import AuditEvent, Complaint, DomainError, Meeting, NotFound, Staff, StaffRole, Topic, Unit
from models.base import CHINA
from models.council import (
    Assignment,
    ComplaintRating,
    MeetingOutcome,
    Rating,
    TopicOrigin,
    TopicResolution,
)
from models.stats import ANSWERS
from models.triage import RuleReason
from web.auth import current_staff, staff_required
from web.http import db
from web.messages import (
    COMPLAINT_CATEGORIES,
    COMPLAINT_STATES,
    DEFAULT_REASONS,
    DELIBERATION_CATEGORIES,
    LEAD_KINDS,
    OUTCOME_RESULTS,
    RATING_LEVELS,
    TOPIC_ORIGINS,
    TOPIC_STATES,
)

from . import statistics
from .views import bp

PAGE_SIZE = 30
CHUNK = 500  # matters enriched per round of queries, in the exports
DECISIONS = {"decline": "不予协商", "solve": "网格内解决", "merge": "合并办理", "promote": "转为协商议题"}
COLUMNS = [
    ("id", "编号"), ("received", "受理时间"), ("unit", "单位"), ("category", "类别"), ("text", "反映内容"),
    ("state", "当前状态"), ("decision", "分拣结果"), ("reason", "不予协商理由"), ("decided_by", "分拣人"),
    ("reply", "答复内容"), ("topic", "协商议题"), ("meeting", "议事会"), ("meeting_result", "议事结果"),
    ("resolution", "居民会议决议"), ("lead", "领办"), ("first_answer", "首次答复时间"), ("outcome", "办理结果"),
    ("rating", "回访评价"),
]


@dataclasses.dataclass
class Filters:
    unit: Unit
    period: statistics.Period
    state: str | None = None
    category: str | None = None
    page: int = 1

    def where(self, with_state: bool = True) -> list:
        subtree = select(Unit.id).where(Unit.path.startswith(self.unit.path, autoescape=False)).scalar_subquery()
        clauses = [Complaint.unit_id.in_(subtree), self.period.clause(Complaint.created_at)]
        if self.category:
            clauses.append(Complaint.category == self.category)
        if with_state and self.state:
            clauses.append(Complaint.state == self.state)
        return clauses

    def args(self, **override) -> dict:
        """The query string that shows these filters again (for paging and the export links)."""
        values = {"unit": self.unit.id, "from": self.period.start and self.period.start.isoformat(),
                  "to": self.period.end and self.period.end.isoformat(), "state": self.state,
                  "category": self.category} | override
        return {k: v for k, v in values.items() if v}


def parse_filters(session: Session, staff: Staff, args) -> Filters:
    """The ledger's filters from a query string; a unit outside the staff member's scope is refused (403), a bad
    date, state, category or page with a stable code (400)."""
    unit = statistics.unit_for_stats(session, staff, args.get("unit"))
    if unit is None:
        raise NotFound("not_found")
    period = statistics.parse_period(args.get("from"), args.get("to"))
    state = args.get("state") or None
    category = (args.get("category") or "").strip() or None
    page = args.get("page", "1")
    if (state is not None and state not in COMPLAINT_STATES) or (category is not None and len(category) > 32) \
            or not page.isdigit() or not 1 <= int(page) <= 100_000:
        raise DomainError("filter_invalid")
    return Filters(unit, period, state, category, int(page))


def counts(session: Session, filters: Filters) -> dict[str, int]:
    """Matters by present state (every state listed), for the filters' subtree, period and category."""
    rows = dict(session.execute(select(Complaint.state, func.count()).where(*filters.where(with_state=False))
                                .group_by(Complaint.state)).all())
    return {state: rows.get(state, 0) for state in COMPLAINT_STATES}


def summary(by_state: dict[str, int]) -> dict[str, int]:
    """The totals the statistics page shows for the same matters: received, answered, and the open ones."""
    received = sum(by_state.values())
    answered = sum(by_state[s] for s in statistics.ANSWERED)
    return {"received": received, "answered": answered, "open": received - answered}


def _query(filters: Filters):
    return select(Complaint).where(*filters.where()).order_by(Complaint.created_at.desc(), Complaint.id.desc())


def page_of(session: Session, filters: Filters) -> list[dict]:
    """One page of matters, newest first."""
    rows = session.scalars(_query(filters).offset((filters.page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    return enrich(session, rows)


def all_rows(session: Session, filters: Filters):
    """Every matter the filters select: the complaints newest first, enriched a chunk at a time, then the topics no
    resident reported."""
    ids = session.scalars(select(Complaint.id).where(*filters.where())
                          .order_by(Complaint.created_at.desc(), Complaint.id.desc())).all()
    for i in range(0, len(ids), CHUNK):
        chunk = ids[i:i + CHUNK]
        found = {c.id: c for c in session.scalars(select(Complaint).where(Complaint.id.in_(chunk)))}
        yield from enrich(session, [found[x] for x in chunk if x in found])
    yield from origin_topics(session, filters)


def _china(moment: dt.datetime | None) -> str:
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M") if moment else ""


def _unit_names(session: Session, units: list[Unit]) -> dict[int, str]:
    paths = {u.id: u.path for u in units}
    ids = {int(p) for path in paths.values() for p in path.strip("/").split("/") if p}
    names = dict(session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(ids))).all()) if ids else {}
    return {uid: "·".join(names.get(int(p), "") for p in path.strip("/").split("/") if p)
            for uid, path in paths.items()}


def _first_answers(session: Session, ids: list[int]) -> dict[int, AuditEvent]:
    first = (select(func.min(AuditEvent.id)).where(AuditEvent.subject_kind == "complaint",
                                                   AuditEvent.subject_id.in_(ids), AuditEvent.action.in_(ANSWERS))
             .group_by(AuditEvent.subject_id)).scalar_subquery()
    return {e.subject_id: e for e in session.scalars(select(AuditEvent).where(AuditEvent.id.in_(first)))}


def _topic_details(session: Session, topic_ids: set[int]) -> dict[int, dict]:
    """What became of each topic, as ledger columns: the topic, its latest meeting and outcome, the 居民会议's
    resolution, the lead (领办), the outcome; with its residents' ratings ("ratings": {resident id: Rating})."""
    if not topic_ids:
        return {}
    out = {t.id: {"topic": f"{t.title}（{TOPIC_STATES.get(t.state.value, t.state.value)}）", "meeting": "",
                  "meeting_result": "", "resolution": "", "lead": "", "outcome": TOPIC_STATES.get(t.state.value, ""),
                  "ratings": {}}
           for t in session.scalars(select(Topic).where(Topic.id.in_(topic_ids)))}
    for outcome, starts_at, place in session.execute(
            select(MeetingOutcome, Meeting.starts_at, Meeting.place)
            .join(Meeting, Meeting.id == MeetingOutcome.meeting_id).where(MeetingOutcome.topic_id.in_(topic_ids))
            .order_by(Meeting.starts_at, MeetingOutcome.id)):
        out[outcome.topic_id] |= {  # the latest meeting wins
            "meeting": f"{_china(starts_at)} {place}",
            "meeting_result": OUTCOME_RESULTS.get(outcome.result.value, "") + (
                f"：{outcome.solution}" if outcome.solution else "")}
    for r in session.scalars(select(TopicResolution).where(TopicResolution.topic_id.in_(topic_ids))
                             .order_by(TopicResolution.id)):
        out[r.topic_id]["resolution"] = ("同意实施：" if r.agreed else "不予实施：") + r.text
    for a in session.scalars(select(Assignment).where(Assignment.topic_id.in_(topic_ids))):
        out[a.topic_id]["lead"] = (f"{LEAD_KINDS.get(a.lead_kind.value, '')}·{a.lead_name} · 期限 "
                                   f"{a.due_on.isoformat()} · 进度 {a.percent}%")
    for r in session.scalars(select(Rating).where(Rating.topic_id.in_(topic_ids), Rating.source == "resident")
                             .order_by(Rating.round, Rating.id)):
        out[r.topic_id]["ratings"][r.resident_id] = r  # each resident's latest round
    return out


def _rating(rating) -> str:
    if rating is None:
        return ""
    return RATING_LEVELS.get(rating.level.value, "") + (f"（{rating.reason}）" if rating.reason else "")


def enrich(session: Session, complaints: list[Complaint]) -> list[dict]:
    """The ledger rows of these complaints (labels in Chinese), in a fixed number of queries."""
    if not complaints:
        return []
    ids = [c.id for c in complaints]
    units = _unit_names(session, [c.unit for c in complaints])
    answers = _first_answers(session, ids)
    deciders = dict(session.execute(select(Staff.id, Staff.display_name).where(
        Staff.id.in_({e.actor_id for e in answers.values() if e.actor_kind == "staff" and e.actor_id}))).all())
    reasons = DEFAULT_REASONS | dict(session.execute(select(RuleReason.code, RuleReason.label)).all())
    topics = _topic_details(session, {c.topic_id for c in complaints if c.topic_id})
    complaint_ratings = {r.complaint_id: r for r in session.scalars(
        select(ComplaintRating).where(ComplaintRating.complaint_id.in_(ids), ComplaintRating.source == "resident")
        .order_by(ComplaintRating.round, ComplaintRating.id))}

    rows = []
    for c in complaints:
        state = c.state.value
        answer = answers.get(c.id)
        topic = topics.get(c.topic_id) or dict.fromkeys(TOPIC_COLUMNS, "")
        decider = ""
        if answer is not None:
            decider = deciders.get(answer.actor_id, "") if answer.actor_kind == "staff" else "系统"
        rows.append({
            "id": c.id, "received": _china(c.created_at), "unit": units.get(c.unit_id, ""), "category": c.category,
            "text": c.text, "state": COMPLAINT_STATES.get(state, state),
            "decision": DECISIONS.get(answer.action, "") if answer else "",
            "reason": reasons.get(c.reason_code, c.reason_code) if c.reason_code else "",
            "decided_by": decider, "reply": c.reply or "",
            **{k: topic[k] for k in TOPIC_COLUMNS},
            "first_answer": _china(answer.created_at) if answer else "",
            "outcome": topic["outcome"] or COMPLAINT_STATES.get(state, state),
            "rating": _rating(complaint_ratings.get(c.id) or (topic.get("ratings") or {}).get(c.resident_id)),
            "anonymised": c.anonymised_at is not None,
        })
    return rows


TOPIC_COLUMNS = ("topic", "meeting", "meeting_result", "resolution", "lead", "outcome")


def origin_topics(session: Session, filters: Filters) -> list[dict]:
    """The matters no resident reported: topics proposed by the party branch, a secretary or a 议政代表 (with a
    `TopicOrigin`), raised in the filters' subtree and period, as ledger rows; none when a complaint's state or
    category is filtered on."""
    if filters.state or filters.category:
        return []
    subtree = select(Unit.id).where(Unit.path.startswith(filters.unit.path, autoescape=False)).scalar_subquery()
    found = session.execute(select(Topic, TopicOrigin).join(TopicOrigin, TopicOrigin.topic_id == Topic.id).where(
        Topic.unit_id.in_(subtree), filters.period.clause(Topic.created_at))
        .order_by(Topic.created_at.desc(), Topic.id.desc())).all()
    if not found:
        return []
    units = _unit_names(session, [t.unit for t, _ in found])
    details = _topic_details(session, {t.id for t, _ in found})
    rows = []
    for topic, origin in found:
        d = details[topic.id]
        levels = [r.level.value for r in d["ratings"].values()]
        rows.append({
            "id": f"议题{topic.id}", "received": _china(topic.created_at), "unit": units.get(topic.unit_id, ""),
            "category": DELIBERATION_CATEGORIES.get(topic.category, topic.category),
            "text": topic.title + (f"：{topic.summary}" if topic.summary else ""),
            "state": TOPIC_STATES.get(topic.state.value, topic.state.value),
            "decision": TOPIC_ORIGINS.get(origin.origin, origin.origin), "reason": "",
            "decided_by": origin.proposer, "reply": "", **{k: d[k] for k in TOPIC_COLUMNS}, "first_answer": "",
            "rating": "，".join(f"{RATING_LEVELS[k]} {levels.count(k)}" for k in RATING_LEVELS if k in levels),
            "anonymised": False, "topic_id": topic.id,
        })
    return rows


def to_csv(filters: Filters, rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["单位", filters.unit.full_name(), "统计区间", filters.period.label()])
    writer.writerow([label for _, label in COLUMNS])
    for row in rows:
        writer.writerow([row[key] for key, _ in COLUMNS])
    return out.getvalue().encode("utf-8-sig")  # the BOM lets Excel read the Chinese


def to_xlsx(filters: Filters, rows) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("台账")
    for key, width in (("A", 8), ("B", 17), ("C", 28), ("D", 10), ("E", 40)):
        sheet.column_dimensions[key].width = width
    sheet.append(["单位", filters.unit.full_name(), "统计区间", filters.period.label()])
    sheet.append([label for _, label in COLUMNS])
    for row in rows:
        sheet.append([row[key] for key, _ in COLUMNS])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- pages ---------------------------------------------------------------------------------------------------

@bp.get("/ledger")
@staff_required(StaffRole.secretary)
def ledger():
    session, staff = db(), current_staff()
    filters = parse_filters(session, staff, request.args)
    by_state = counts(session, filters)
    total = by_state[filters.state] if filters.state else sum(by_state.values())  # no second count
    rows = page_of(session, filters)
    pages = max(1, -(-total // PAGE_SIZE))
    return render_template("council/ledger.html", filters=filters, rows=rows, total=total, pages=pages,
                           topics=origin_topics(session, filters),
                           by_state=by_state, summary=summary(by_state), complaint_states=COMPLAINT_STATES,
                           categories=COMPLAINT_CATEGORIES, units=statistics.unit_choices(session, staff, filters.unit),
                           start=request.args.get("from", ""), end=request.args.get("to", ""))


@bp.get("/ledger.<fmt>")
@staff_required(StaffRole.secretary)
def ledger_export(fmt: str):
    if fmt not in ("csv", "xlsx"):
        raise NotFound("not_found")
    session = db()
    filters = parse_filters(session, current_staff(), request.args)
    rows = all_rows(session, filters)
    if fmt == "csv":
        body, mime = to_csv(filters, rows), "text/csv; charset=utf-8"
    else:
        body, mime = to_xlsx(filters, rows), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    name = f"xinma-ledger-{filters.unit.code}.{fmt}"
    return Response(body, mimetype=mime, headers={"Content-Disposition": f'attachment; filename="{name}"'})
