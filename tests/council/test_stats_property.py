"""Property: after any sequence of real actions (reports, triage decisions, topics, meetings, 领办, ratings, and
direct edits of a row's dates), every figure read from the running sums equals the same figure computed directly
from the base tables, for every unit and any period; and a rebuild from the base tables gives the same sums."""

from __future__ import annotations

import datetime as dt
import statistics as pystats

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from council import followup, implementation, meetings, services
from council.forms import CHINA
from council.statistics import ANSWERED, Period, figures
from models import (
    SYSTEM,
    Actor,
    AuditEvent,
    Complaint,
    ComplaintState,
    CouncilRoom,
    DomainError,
    Meeting,
    QrCode,
    StaffRole,
    Topic,
    TopicState,
    Unit,
    transition_complaint,
    utcnow,
)
from models.council import Assignment, MeetingDetail, MeetingOutcome, Rating
from models.db import make_sessionmaker
from models.lifecycle import NewComplaint
from models.stats import StatCell, fold, rebuild
from tests import factories
from tests.conftest import empty_tables
from triage import services as triage
from web.messages import COMPLAINT_STATES, DEFAULT_REASONS, RATING_LEVELS

# Weighted so that topics often get all the way from a report to a rating.
ACTIONS = ["walk", "report", "promote", "approve", "meet", "assign", "progress", "rate", "accept", "decline", "solve",
           "merge", "escalate", "backdate", "commit", "fold"]
WALK = ["report", "promote", "approve", "meet", "assign", "progress", "progress", "rate", "rate", "rate"]


def fresh_world(engine) -> dict:
    """Empty tables, then a district with a street, two communities with their grids, rooms, a code, people."""
    empty_tables(engine)
    session = make_sessionmaker(engine)()
    u = factories.units(session)
    for key in ("street", "community", "other"):
        session.add(CouncilRoom(unit_id=u[key].id, name=f"{u[key].name}议事室", created_at=utcnow()))
    code = QrCode(unit_id=u["grid"].id, token="stats-property-code", created_at=utcnow())
    session.add(code)
    worker = factories.staff(session, StaffRole.grid_worker, u["district"])
    secretary = factories.staff(session, StaffRole.secretary, u["district"])
    residents = [factories.resident(session) for _ in range(3)]
    session.commit()
    return {"session": session, "units": u, "code": code.id, "worker": worker, "secretary": secretary,
            "residents": residents}


def direct(session, unit: Unit, period: Period) -> dict:
    """The figures computed straight from the base tables, row by row."""
    lo, hi = period.bounds()

    def inside(moment) -> bool:
        return (lo is None or moment >= lo) and (hi is None or moment < hi)

    ids = {u.id for u in session.scalars(select(Unit)) if u.path.startswith(unit.path)}
    first: dict[int, dt.datetime] = {}
    for e in session.scalars(select(AuditEvent).where(AuditEvent.subject_kind == "complaint",
                                                      AuditEvent.action.in_(("decline", "solve", "merge", "promote")))):
        first[e.subject_id] = min(first.get(e.subject_id, e.created_at), e.created_at)
    complaints = [c for c in session.scalars(select(Complaint)) if c.unit_id in ids and inside(c.created_at)]
    answered = [c for c in complaints if c.state.value in ANSWERED]
    decisions: dict[str, int] = {}
    for c in answered:
        if c.state == ComplaintState.not_deliberable:
            label = f"不予协商：{DEFAULT_REASONS.get(c.reason_code, c.reason_code or '未注明')}"
        elif c.state in (ComplaintState.promoted, ComplaintState.closed):
            label = "转为协商议题"
        else:
            label = COMPLAINT_STATES[c.state.value]
        decisions[label] = decisions.get(label, 0) + 1

    def slot(seconds: float) -> int:  # the lower bound of the slot the page states, in tenths of an hour
        for seconds_wide, tenths_wide, below in ((360, 1, 10), (3600, 10, 240), (86400, 240, None)):
            if below is None or seconds < below * 3600:
                return int(seconds // seconds_wide) * tenths_wide
        raise AssertionError

    def median(durations) -> float | None:
        slots = [slot((later - earlier).total_seconds()) for later, earlier in durations]
        return round(pystats.median(slots) * 360 / 3600.0, 1) if slots else None

    finished = [c for c in complaints if c.state.value in ("not_deliberable", "solved", "closed")]
    topics = [t for t in session.scalars(select(Topic)) if t.unit_id in ids and inside(t.created_at)]
    assigned = set(session.scalars(select(Assignment.topic_id)))
    agreed = set(session.scalars(select(MeetingOutcome.topic_id).where(MeetingOutcome.result == "consensus")))
    unit_of = {t.id: t.unit_id for t in session.scalars(select(Topic))}
    ratings = [r for r in session.scalars(select(Rating)) if unit_of[r.topic_id] in ids and inside(r.created_at)]
    levels = {RATING_LEVELS[k]: sum(r.level.value == k for r in ratings) for k in RATING_LEVELS}
    good = sum(r.level.value != "unsatisfied" for r in ratings)
    held = session.execute(select(Meeting.unit_id, MeetingDetail.held_at).join(
        MeetingDetail, MeetingDetail.meeting_id == Meeting.id)).all()
    return {
        "unit": unit.full_name(), "period": period.label(),
        "council_rooms": sum(r.unit_id in ids for r in session.scalars(select(CouncilRoom))),
        "meetings_held": sum(1 for uid, at in held if uid in ids and at is not None and inside(at)),
        "complaints_received": len(complaints), "complaints_answered": len(answered),
        "response_rate": round(100.0 * len(answered) / len(complaints), 1) if complaints else None,
        "median_hours_to_first_answer": median([(first[c.id], c.created_at) for c in complaints if c.id in first]),
        "median_hours_to_closure": median([(c.state_changed_at, c.created_at) for c in finished]),
        "solved_by_qr": sum(c.qr_code_id is not None and c.state.value in ("solved", "closed") for c in answered),
        "decisions": dict(sorted(decisions.items(), key=lambda kv: (-kv[1], kv[0]))),
        "topics": len(topics), "consensus": sum(t.id in agreed for t in topics),
        "implemented": sum(t.id in assigned and t.state.value in ("implemented", "closed") for t in topics),
        "in_progress": sum(t.id in assigned and t.state == TopicState.implementing for t in topics),
        "ratings": levels, "ratings_total": len(ratings),
        "satisfaction_rate": round(100.0 * good / len(ratings), 1) if ratings else None,
    }


def _pick(session, model, data, label, *where):
    rows = session.scalars(select(model).where(*where).order_by(model.id)).all()
    return data.draw(st.sampled_from(rows), label=label) if rows else None


def act(w: dict, action: str, data) -> None:
    session, u, worker, secretary = w["session"], w["units"], w["worker"], w["secretary"]
    awaiting = (Complaint.state == ComplaintState.awaiting_triage,)
    if action == "walk":  # one complaint carried a random way along the whole loop
        for step in WALK[:data.draw(st.integers(1, len(WALK)), label="how far")]:
            act(w, step, data)
    elif action == "report":
        unit = data.draw(st.sampled_from([u["grid"], u["other_grid"], u["community"]]), label="unit")
        who = data.draw(st.sampled_from(w["residents"]), label="resident")
        code = w["code"] if unit is u["grid"] and data.draw(st.booleans(), label="qr") else None
        new = NewComplaint(unit_id=unit.id, unit_name=unit.name, resident_id=who.id, openid=who.openid,
                           category="设施维修", text="路灯坏了", qr_code_id=code)
        row = session.get(Complaint, transition_complaint(session, new, "submit", actor=Actor("resident", who.id)).id)
        if not data.draw(st.booleans(), label="content check pending"):
            transition_complaint(session, row, "accept", actor=SYSTEM)
    elif action == "accept":
        if row := _pick(session, Complaint, data, "complaint", Complaint.state == ComplaintState.submitted):
            transition_complaint(session, row, "accept", actor=SYSTEM)
    elif action in ("decline", "solve", "merge", "escalate", "promote"):
        row = _pick(session, Complaint, data, "complaint", *awaiting)
        if row is None:
            return
        if action == "decline":
            triage.decline(session, worker, row, reason_code="individual_dispute", reply="属于个体矛盾，建议调解")
        elif action == "solve":
            triage.solve(session, worker, row, note="已修好")
        elif action == "merge":
            target = _pick(session, Complaint, data, "target", Complaint.id != row.id,
                           Complaint.unit_id == row.unit_id)
            if target is not None:
                triage.merge(session, worker, row, target_id=target.id)
        elif action == "escalate":
            triage.escalate(session, worker, row, reason="需要上级协调")
        else:
            triage.promote(session, worker, row, title="路灯维修", summary="路灯坏了", category="livelihood")
    elif action == "approve":
        if topic := _pick(session, Topic, data, "topic", Topic.state == TopicState.proposed):
            services.approve(session, secretary, topic)
    elif action == "meet":
        topic = _pick(session, Topic, data, "topic", Topic.state.in_((TopicState.approved, TopicState.no_consensus)))
        if topic is None:
            return
        starts = (dt.datetime.now(CHINA) + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
        detail = meetings.schedule_meeting(session, secretary, topic.unit, title="议事会", starts_at=starts,
                                           place="议事室", form="forum")
        meetings.add_topic(session, secretary, detail, str(topic.id))
        detail.meeting.starts_at = utcnow() - dt.timedelta(minutes=1)  # its time has come: it can be recorded
        result = data.draw(st.sampled_from(["consensus", "consensus", "no_consensus", "referred"]), label="result")
        meetings.record(session, secretary, detail, minutes="纪要", outcomes={topic.id: (result, "更换路灯")},
                        present_participants=set(), present_residents=set())
    elif action == "assign":
        if topic := _pick(session, Topic, data, "topic", Topic.state == TopicState.agreed):
            implementation.assign(session, secretary, topic, lead_kind="secretary", lead_name="王书记",
                                  due_on=(dt.date.today() + dt.timedelta(days=30)).isoformat())
    elif action == "progress":
        if topic := _pick(session, Topic, data, "topic", Topic.state == TopicState.implementing):
            implementation.report_progress(session, secretary, implementation.assignment_of(session, topic),
                                           percent=data.draw(st.sampled_from(["50", "100"]), label="percent"))
    elif action == "rate":
        topic = _pick(session, Topic, data, "topic", Topic.state == TopicState.implemented)
        if topic is None:
            return
        behind = sorted({c.resident_id for c in topic.complaints})
        who = session.get(type(w["residents"][0]), data.draw(st.sampled_from(behind), label="rater"))
        level = data.draw(st.sampled_from(list(RATING_LEVELS)), label="level")
        followup.rate(session, topic, who, level=level, reason="还有问题")
    elif action == "backdate":  # a direct edit of the dates, as a data correction would make
        row = _pick(session, Complaint, data, "complaint")
        if row is not None:
            hours = data.draw(st.integers(1, 24 * 40), label="hours")
            row.created_at = row.created_at - dt.timedelta(hours=hours)
            if data.draw(st.booleans(), label="later closure"):
                row.state_changed_at = row.state_changed_at + dt.timedelta(minutes=hours * 7)
    elif action == "commit":
        session.commit()
    elif action == "fold":  # a worker's sweep folds what was committed so far (the figures must not change)
        session.commit()
        fold(session, limit=data.draw(st.integers(1, 50), label="fold limit"))
        session.commit()


def sums_snapshot(session) -> list[tuple]:
    """The running sums once every committed delta is folded in."""
    while fold(session):
        session.commit()
    return sorted((c.unit_id, c.grain, c.day, c.key, c.n) for c in session.scalars(select(StatCell)) if c.n)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_the_running_sums_agree_with_the_base_tables(engine, db_clean, data):
    world = fresh_world(engine)
    try:
        check(world, data)
    finally:
        world["session"].rollback()
        world["session"].close()


def check(world: dict, data) -> None:
    session = world["session"]
    for step in range(data.draw(st.integers(5, 40), label="steps")):
        action = data.draw(st.sampled_from(ACTIONS), label=f"action {step}")
        try:
            act(world, action, data)
        except DomainError:
            session.rollback()  # a refused action changes nothing, the sums included
    if data.draw(st.booleans(), label="commit first"):
        session.commit()
    today = dt.datetime.now(CHINA).date()
    for _ in range(3):
        unit = data.draw(st.sampled_from(sorted(world["units"].values(), key=lambda x: x.id)), label="stats unit")
        start = data.draw(st.one_of(st.none(), st.integers(-70, 2)), label="from")
        length = data.draw(st.one_of(st.none(), st.integers(0, 70)), label="days")
        begin = today + dt.timedelta(days=start) if start is not None else None
        end = (begin or today) + dt.timedelta(days=length) if length is not None else None
        if begin and end and end < begin:
            end = begin
        period = Period(begin, end)
        assert figures(session, unit, period) == direct(session, unit, period)
    session.commit()
    kept = sums_snapshot(session)
    rebuild(session)
    session.commit()
    assert sums_snapshot(session) == kept
