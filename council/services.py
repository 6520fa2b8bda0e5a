"""Topic decisions by the secretary of the owning unit: propose one without a complaint, approve, reject (its
complaints back to triage or answered), merge, the 居民会议's resolution on a referred topic, close with a reply,
and the 四议两公开 route."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import (
    Actor,
    AuditEvent,
    Complaint,
    ComplaintState,
    Conflict,
    DomainError,
    NotFound,
    Staff,
    StaffRole,
    Topic,
    TopicState,
    Unit,
    transition_complaint,
    transition_topic,
    utcnow,
)
from models.council import ROUTE_ORDER, RouteStage, RouteStep, TopicOrigin, TopicResolution
from models.legal import require_review
from models.lifecycle import notify, residents_behind
from models.scope import in_scope, scope_clause
from web.messages import DELIBERATION_CATEGORIES, REJECT_HANDLING, ROUTE_STEPS, TOPIC_ORIGINS

from . import forms, meetings

log = logging.getLogger(__name__)
REASON_LIMIT = 500


def topics(session: Session, staff: Staff) -> list[Topic]:
    """Topics of the secretary's units: those awaiting approval first, then the newest."""
    rows = session.scalars(select(Topic).where(scope_clause(staff, Topic.unit_id))
                           .order_by(Topic.created_at.desc(), Topic.id.desc()))
    return sorted(rows, key=lambda t: t.state != TopicState.proposed)


def topic_for(session: Session, staff: Staff, topic_id: int) -> Topic:
    """A topic the staff member may see; any other answers like a missing one, and the attempt is logged.

    Grid workers may see the topics of the communities their grids belong to (to record a visit's rating).
    """
    topic = session.get(Topic, topic_id)
    allowed = topic is not None and (
        in_scope(staff, topic.unit)
        or (staff.role == StaffRole.grid_worker and any(u.path.startswith(topic.unit.path) for u in staff.units)))
    if not allowed:
        if topic is not None:
            log.warning("staff %s tried topic %s outside their units", staff.id, topic_id)
        raise NotFound("topic_not_found")
    return topic


def _check_fresh(topic: Topic, version: str | None) -> None:
    if version is not None and version != topic.state_changed_at.isoformat():
        raise Conflict("stale_form")


def approve(session: Session, staff: Staff, topic: Topic, *, version: str | None = None) -> Topic:
    """审定: accept a proposed topic for the council; tells every resident behind it."""
    _check_fresh(topic, version)
    return transition_topic(session, topic, "approve", actor=Actor.staff(staff))


def reject(session: Session, staff: Staff, topic: Topic, *, reason: str, complaints: str = "triage",
           version: str | None = None) -> Topic:
    """Refuse a proposed topic with a reason; its complaints go back to triage ("triage") or are answered with the
    reason ("answer"). Side effects: every resident behind it is told once, from their complaint."""
    _check_fresh(topic, version)
    reason = forms.text(reason, "reject_reason_required", REASON_LIMIT)
    complaints = forms.choice(complaints, REJECT_HANDLING, "reject_handling_unknown")
    actor = Actor.staff(staff)
    transition_topic(session, topic, "reject", actor=actor, reason=reason, data={"complaints": complaints})
    answer = complaints == "answer"
    told = set()
    for complaint in session.scalars(select(Complaint).where(Complaint.topic_id == topic.id,
                                                             Complaint.state == ComplaintState.promoted)
                                     .order_by(Complaint.id)).all():
        transition_complaint(session, complaint, "decline" if answer else "reopen", actor=actor, reason=reason,
                             data={"topic_id": topic.id, "result": "decline" if answer else "reopen"},
                             values={"deliberable": False, "reply": reason} if answer else None)
        told.add(complaint.resident_id)
    for complaint in residents_behind(session, topic):  # those merged into one of its complaints
        if complaint.resident_id not in told:
            notify(session, "topic_progress", recipient_kind="resident", recipient_id=complaint.resident_id,
                   openid=complaint.resident.openid,
                   params={"topic_id": topic.id, "title": topic.title, "unit_name": topic.unit.name,
                           "action": "reject", "state": topic.state.value, "reason": reason,
                           "at": topic.state_changed_at.isoformat(), "complaint_id": complaint.id})
    return topic


CLOSABLE = (TopicState.implemented, TopicState.no_consensus, TopicState.referred)


def close(session: Session, staff: Staff, topic: Topic, *, reason: str, version: str | None = None) -> Topic:
    """Close a topic that is implemented (回访 ends), without consensus or referred, with a reply.

    Side effects: its complaints close; every resident behind it is told once and reads the reply on its page.
    """
    _check_fresh(topic, version)
    reason = forms.text(reason, "close_reason_required", REASON_LIMIT)
    if topic.state not in CLOSABLE:
        raise DomainError("topic_not_closable", status=409)
    return transition_topic(session, topic, "close", actor=Actor.staff(staff), reason=reason)


def resolve_referral(session: Session, staff: Staff, topic: Topic, *, result: str, text: str, held_on: str,
                     version: str | None = None) -> TopicResolution:
    """Record the 居民(代表)会议's resolution on a referred topic: "agree" (the text is the solution; 领办 follows)
    or "close" (the text is the reply). Side effects: the topic moves on; its residents are told once."""
    _check_fresh(topic, version)
    result = forms.choice(result, ("agree", "close"), "resolution_result_unknown")
    text = forms.text(text, "resolution_text_empty", 2000)
    day = forms.date(held_on)
    if topic.state != TopicState.referred:
        raise DomainError("topic_not_referred", status=409)
    require_review(session, topic, agreeing=result == "agree")  # 法制审核 of a major topic comes first
    row = TopicResolution(topic_id=topic.id, held_on=day, agreed=result == "agree", text=text, staff_id=staff.id,
                          created_at=utcnow())
    session.add(row)
    session.flush()
    transition_topic(session, topic, result, actor=Actor.staff(staff), reason=text, data={"resolution_id": row.id})
    return row


def resolution(session: Session, topic: Topic) -> TopicResolution | None:
    return session.scalar(select(TopicResolution).where(TopicResolution.topic_id == topic.id)
                          .order_by(TopicResolution.id.desc()).limit(1))


def solution(session: Session, topic: Topic) -> str:
    """The agreed solution: the 居民会议's when it resolved the topic, else the council meeting's."""
    resolved = resolution(session, topic)
    if resolved is not None and resolved.agreed:
        return resolved.text
    return meetings.agreed_solution(session, topic)


def reply(session: Session, topic: Topic) -> str | None:
    """What the residents were answered when the topic was rejected or closed (the reason given), if it was."""
    if topic.state not in (TopicState.rejected, TopicState.closed):
        return None
    return session.scalar(select(AuditEvent.reason).where(
        AuditEvent.subject_kind == "topic", AuditEvent.subject_id == topic.id,
        AuditEvent.action.in_(("reject", "close"))).order_by(AuditEvent.id.desc()).limit(1))


def propose(session: Session, staff: Staff, *, unit_id, title: str, summary: str, category: str, origin: str,
            proposer: str) -> Topic:
    """A topic without a complaint behind it: proposed by the party branch (党支部提议), a secretary or a 议政代表
    for a unit in the secretary's scope; its origin is recorded. Side effect: the unit's secretaries are told."""
    title = forms.text(title, "title_empty", 60, "title_too_long")
    category = forms.choice(category, DELIBERATION_CATEGORIES, "deliberation_category_unknown")
    origin = forms.choice(origin, TOPIC_ORIGINS, "topic_origin_unknown")
    proposer = forms.text(proposer, "proposer_empty", 64)
    try:
        unit = session.get(Unit, int(unit_id))
    except (TypeError, ValueError):
        unit = None
    if unit is None or not in_scope(staff, unit):
        raise NotFound("unit_not_found")
    topic = Topic(unit_id=unit.id, title=title, summary=(summary or "").strip()[:2000], category=category,
                  proposed_by_id=staff.id)
    topic.unit = unit
    transition_topic(session, topic, "propose", actor=Actor.staff(staff), data={"origin": origin})
    session.add(TopicOrigin(topic_id=topic.id, origin=origin, proposer=proposer, staff_id=staff.id,
                            created_at=utcnow()))
    session.flush()
    return topic


def origin_of(session: Session, topic: Topic) -> TopicOrigin | None:
    """Who proposed a topic without a complaint; None for a topic that came from one."""
    return session.get(TopicOrigin, topic.id)


def merge(session: Session, staff: Staff, topic: Topic, *, into_id: str | int | None,
          version: str | None = None) -> Topic:
    """Merge a proposed topic into another open topic of the same unit; its complaints (and residents) move over."""
    _check_fresh(topic, version)
    try:
        target = session.get(Topic, int(into_id))
    except (TypeError, ValueError):
        target = None
    if (target is None or target.id == topic.id or target.unit_id != topic.unit_id
            or target.state not in (TopicState.proposed, TopicState.approved)):
        raise DomainError("merge_target_invalid")
    return transition_topic(session, topic, "merge", actor=Actor.staff(staff), reason=target.title,
                            data={"into_topic_id": target.id})


def merge_targets(session: Session, topic: Topic) -> list[Topic]:
    return list(session.scalars(select(Topic).where(
        Topic.unit_id == topic.unit_id, Topic.id != topic.id,
        Topic.state.in_([TopicState.proposed, TopicState.approved])).order_by(Topic.id)))


def route_stages(session: Session, topic: Topic) -> list[RouteStage]:
    stages = {s.step: s for s in session.scalars(select(RouteStage).where(RouteStage.topic_id == topic.id))}
    return [stages[step] for step in ROUTE_ORDER if step in stages]


def record_route_stage(session: Session, staff: Staff, topic: Topic, *, step: str, held_on: str,
                       votes_for, votes_against, votes_abstain) -> RouteStage:
    """Record the next step of 四议两公开 with its date and vote counts; steps go in order, each once."""
    step = RouteStep(forms.choice(step, set(ROUTE_STEPS), "route_step_unknown"))
    day = forms.date(held_on)
    votes = [forms.integer(v, "votes_invalid", 0, 100000) for v in (votes_for, votes_against, votes_abstain)]
    done = {s.step for s in route_stages(session, topic)}
    if step in done:
        raise DomainError("route_step_recorded")
    expected = next(s for s in ROUTE_ORDER if s not in done)
    if step != expected:
        raise DomainError("route_step_order", previous=ROUTE_STEPS[expected.value])
    if step == RouteStep.resolve:  # 决议 of a major topic follows its legal review
        require_review(session, topic, agreeing=False)
    stage = RouteStage(topic_id=topic.id, step=step, held_on=day, votes_for=votes[0], votes_against=votes[1],
                       votes_abstain=votes[2], staff_id=staff.id)
    session.add(stage)
    session.flush()
    return stage
