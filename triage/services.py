"""Triage decisions: each one a compare-and-set through the complaint lifecycle, audited, telling the resident."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import math

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, defaultload, lazyload

from models import (
    Actor,
    AuditEvent,
    Complaint,
    ComplaintState,
    Conflict,
    DomainError,
    NotFound,
    Staff,
    Topic,
    TopicState,
    Unit,
    UnitLevel,
    transition_complaint,
    transition_topic,
    utcnow,
)
from models.intake import Photo
from models.lifecycle import notify
from models.scope import in_scope, nearest
from models.triage import ComplaintCategory, HomeVisit
from web.messages import COMPLAINT_CATEGORIES, DELIBERATION_CATEGORIES, MESSAGE_FRAMES, REFERRALS

from .rules import Rules, add_working_days, calendar_of, district_id, overdue_before, rules_for

log = logging.getLogger(__name__)
TITLE_LIMIT = 60
NOTE_LIMIT = 1000
PER_PAGE = 30
QUEUE_STATES = (ComplaintState.awaiting_triage, ComplaintState.submitted, ComplaintState.promoted)
# What was handled stays findable: decided complaints, by their state, or everything ("all").
HISTORY_STATES = (ComplaintState.solved, ComplaintState.not_deliberable, ComplaintState.merged, ComplaintState.closed)
ALL_STATES = "all"
SEARCH_LIMIT = 50
JOINABLE_TOPICS = (TopicState.proposed, TopicState.approved, TopicState.scheduled, TopicState.agreed,
                   TopicState.referred, TopicState.implementing)
MERGEABLE = (ComplaintState.awaiting_triage, ComplaintState.promoted)


# --- reading -------------------------------------------------------------------------------------------------

@dataclasses.dataclass
class QueueRow:
    complaint: Complaint
    deadline: dt.datetime
    overdue: bool


@dataclasses.dataclass
class QueuePage:
    rows: list[QueueRow]
    total: int
    overdue: int
    by_state: dict[str, int]
    units: list[ScopeUnit]
    page: int
    pages: int
    categories: list[str]


@dataclasses.dataclass(frozen=True)
class ScopeUnit:
    id: int
    name: str
    path: str


def scope_units(session: Session, staff: Staff) -> list[ScopeUnit]:
    """The units the worker covers and all below them, walked down `parent_id` (an index, unlike a LIKE on path)."""
    roots = [u.id for u in staff.units]
    if not roots:
        return []
    tree = select(Unit.id, Unit.name, Unit.path).where(Unit.id.in_(roots)).cte("tree", recursive=True)
    tree = tree.union(select(Unit.id, Unit.name, Unit.path).where(Unit.parent_id == tree.c.id))
    rows = session.execute(select(tree.c.id, tree.c.name, tree.c.path).order_by(tree.c.path)).all()
    return [ScopeUnit(*row) for row in rows]


def queue(session: Session, staff: Staff, *, unit_id: int | None = None, category: str | None = None,
          state: str | None = None, search: str | None = None, page: int = 1,
          now: dt.datetime | None = None) -> QueuePage:
    """One page of the complaints in the worker's units, with counts per state; reads only. `state`: one of
    QUEUE_STATES (oldest deadline first; awaiting triage by default), of HISTORY_STATES or "all" (latest change
    first), else `queue_state_unknown`. `search`: a number (12, #12, 第12号) or words of the text or reply."""
    now = now or utcnow()
    units = scope_units(session, staff)
    ids = [u.id for u in units]
    if unit_id is not None:
        chosen = next((u for u in units if u.id == unit_id), None)
        if chosen is None:
            raise DomainError("filter_invalid")
        ids = [u.id for u in units if u.path.startswith(chosen.path)]
    where = [Complaint.unit_id.in_(ids)]
    labels = queue_categories(session, units)
    if category:
        if category not in labels:
            raise DomainError("filter_invalid")
        where.append(Complaint.category == category)
    shown = QUEUE_STATES + HISTORY_STATES
    state = state or ComplaintState.awaiting_triage.value
    if state != ALL_STATES and state not in {s.value for s in shown}:
        raise DomainError("queue_state_unknown")
    search = (search or "").strip()[:SEARCH_LIMIT]
    if search:
        where.append(_search_clause(search))
    rules: dict[int, Rules] = {}
    calendars: dict[int, tuple[frozenset[dt.date], frozenset[dt.date]]] = {}
    if units:
        first = session.get(Unit, units[0].id)
        rules[district_id(first)] = rules_for(session, first)
        calendars[district_id(first)] = calendar_of(session, district_id(first))
    # Deadlines grow with the submission time, so the overdue ones are those submitted before a cut-off.
    cutoff = overdue_before(now, next(iter(rules.values())).triage_days if rules else 3,
                             *(next(iter(calendars.values())) if calendars else ()))
    counts = session.execute(
        select(Complaint.state, func.count(), func.count().filter(Complaint.created_at < cutoff))
        .where(*where, Complaint.state.in_(shown)).group_by(Complaint.state)).all()
    by_state = {s.value: 0 for s in shown}
    overdue = 0
    for row_state, count, late in counts:
        by_state[ComplaintState(row_state).value] = count
        if row_state == ComplaintState.awaiting_triage:
            overdue = late
    by_state[ALL_STATES] = sum(by_state.values())
    if state == ALL_STATES:
        where.append(Complaint.state.in_(shown))
        order = (Complaint.state_changed_at.desc(), Complaint.id.desc())
    else:
        where.append(Complaint.state == ComplaintState(state))
        order = ((Complaint.created_at, Complaint.id) if ComplaintState(state) in QUEUE_STATES
                 else (Complaint.state_changed_at.desc(), Complaint.id.desc()))
    total = by_state[state]
    pages = max(1, math.ceil(total / PER_PAGE))
    page = min(max(1, page), pages)
    items = session.scalars(
        select(Complaint).where(*where).order_by(*order)
        .options(lazyload(Complaint.resident), defaultload(Complaint.unit).lazyload(Unit.parent))
        .offset((page - 1) * PER_PAGE).limit(PER_PAGE)).all()
    rows = []
    for item in items:
        key = district_id(item.unit)
        if key not in rules:
            rules[key] = rules_for(session, item.unit)
        if key not in calendars:
            calendars[key] = calendar_of(session, key)
        deadline = add_working_days(item.created_at, rules[key].triage_days, *calendars[key])
        waiting = item.state in (ComplaintState.awaiting_triage, ComplaintState.submitted)
        rows.append(QueueRow(item, deadline, waiting and deadline < now))
    return QueuePage(rows, total, overdue if state == ComplaintState.awaiting_triage.value else 0, by_state,
                     units, page, pages, labels)


def queue_categories(session: Session, units: list[ScopeUnit]) -> list[str]:
    """The categories the queue filters by: the defaults and every category of the worker's districts, retired
    ones too (their complaints keep the label). Reads only."""
    districts = {int(u.path.strip("/").split("/")[0]) for u in units if u.path.strip("/")}
    labels = session.scalars(select(ComplaintCategory.label).where(ComplaintCategory.unit_id.in_(districts))
                             .order_by(ComplaintCategory.unit_id, ComplaintCategory.position,
                                       ComplaintCategory.id)).all() if districts else []
    return list(dict.fromkeys([*COMPLAINT_CATEGORIES, *labels]))


def _search_clause(search: str):
    """A complaint by its number, or by words of its text or reply (LIKE's wildcards taken literally)."""
    number = search.lstrip("#第").rstrip("号").strip()
    words = or_(Complaint.text.contains(search, autoescape=True), Complaint.reply.contains(search, autoescape=True))
    if number.isdigit() and len(number) < 10:
        return or_(Complaint.id == int(number), words)
    return words


def complaint_for(session: Session, staff: Staff, complaint_id: int) -> Complaint:
    """A complaint the worker may see; any other answers like a missing one, and the attempt is logged."""
    complaint = session.get(Complaint, complaint_id)
    if complaint is None or not in_scope(staff, complaint.unit):
        if complaint is not None:
            log.warning("staff %s tried complaint %s outside their units", staff.id, complaint_id)
        raise NotFound("complaint_not_found")
    return complaint


def timeline(session: Session, complaint: Complaint) -> list[tuple[AuditEvent, str | None]]:
    """The complaint's audit events, oldest first, with the acting staff member's name where there is one."""
    events = session.scalars(select(AuditEvent).where(AuditEvent.subject_kind == "complaint",
                                                      AuditEvent.subject_id == complaint.id)
                             .order_by(AuditEvent.id)).all()
    names = dict(session.execute(select(Staff.id, Staff.display_name).where(
        Staff.id.in_([e.actor_id for e in events if e.actor_kind == "staff"]))).all())
    return [(e, names.get(e.actor_id) if e.actor_kind == "staff" else None) for e in events]


def visits(session: Session, complaint: Complaint) -> list[HomeVisit]:
    return list(session.scalars(select(HomeVisit).where(HomeVisit.complaint_id == complaint.id)
                                .order_by(HomeVisit.id)))


def photos(session: Session, complaint: Complaint) -> list[Photo]:
    """The complaint's photos, then those of complaints merged into it, in upload order."""
    ids = [complaint.id, *(c.id for c in _followers(session, complaint))]
    return list(session.scalars(select(Photo).where(Photo.complaint_id.in_(ids)).order_by(Photo.id)))


def joinable_topics(session: Session, complaint: Complaint) -> list[Topic]:
    """Open topics of the complaint's community that it could join."""
    owner = nearest(complaint.unit, UnitLevel.community) or complaint.unit
    return list(session.scalars(select(Topic).where(Topic.unit_id == owner.id, Topic.state.in_(JOINABLE_TOPICS))
                                .order_by(Topic.id.desc()).limit(20)))


# --- deciding ------------------------------------------------------------------------------------------------

def _seen(complaint: Complaint, version: str | None) -> dt.datetime:
    """The `state_changed_at` the worker's form was made from; a different one means someone acted meanwhile."""
    if version is None:
        return complaint.state_changed_at
    try:
        seen = dt.datetime.fromisoformat(version)
    except ValueError:
        raise Conflict("stale_form") from None
    if seen.tzinfo is None or seen != complaint.state_changed_at:
        raise Conflict("stale_form")
    return seen


def _text(value: str | None, code: str, limit: int = NOTE_LIMIT) -> str:
    value = (value or "").strip()
    if not value:
        raise DomainError(code)
    if len(value) > limit:
        raise DomainError("note_too_long", limit=limit)
    return value


def _followers(session: Session, survivor: Complaint) -> list[Complaint]:
    return list(session.scalars(select(Complaint).where(Complaint.merged_into_id == survivor.id,
                                                        Complaint.state == ComplaintState.merged)))


def _tell_followers(session: Session, survivor: Complaint, action: str, data: dict) -> None:
    """Residents whose complaints were merged into `survivor` hear what happened to it."""
    for follower in _followers(session, survivor):
            notify(session, "complaint_triaged", recipient_kind="resident", recipient_id=follower.resident_id,
               openid=follower.resident.openid,
               params={"complaint_id": follower.id, "category": follower.category, "unit_name": follower.unit.name,
                       "action": action, "state": ComplaintState.merged.value, "via_complaint_id": survivor.id,
                       "at": utcnow().isoformat(), **data})


def decline(session: Session, staff: Staff, complaint: Complaint, *, reason_code: str, reply: str,
            referral: str | None = None, version: str | None = None) -> Complaint:
    """Classify as not deliberable with a reason code of the district's rule set, a reply and maybe a referral.

    Side effects: the audited transition; the resident (and those merged into this one) are told.
    """
    seen = _seen(complaint, version)
    if not reason_code:
        raise DomainError("reason_required")
    rules = rules_for(session, complaint.unit)
    if reason_code not in rules.reasons:
        raise DomainError("reason_unknown")
    reply = _text(reply, "reply_empty")
    if referral and referral not in REFERRALS:
        raise DomainError("referral_unknown")
    data = {"reason_code": reason_code, "reason": rules.reasons[reason_code], "rule_set": rules.code,
            "result": "decline", "detail": rules.reasons[reason_code]}
    if referral:
        data.update(referral=referral, referral_name=REFERRALS[referral])
    transition_complaint(session, complaint, "decline", actor=Actor.staff(staff), reason=reply, data=data,
                         expect=seen, values={"deliberable": False, "reason_code": reason_code, "reply": reply})
    _tell_followers(session, complaint, "decline", {"result": "decline", "detail": data["detail"]})
    return complaint


def solve(session: Session, staff: Staff, complaint: Complaint, *, note: str, version: str | None = None) -> Complaint:
    """小事不出网格: record what the worker did; the resident is told. Side effects: the audited transition."""
    seen = _seen(complaint, version)
    note = _text(note, "solve_note_empty")
    transition_complaint(session, complaint, "solve", actor=Actor.staff(staff), reason=note,
                         data={"result": "solve"}, expect=seen, values={"reply": note})
    _tell_followers(session, complaint, "solve", {"result": "solve"})
    return complaint


def merge(session: Session, staff: Staff, complaint: Complaint, *, target_id: int | None,
          version: str | None = None) -> Complaint:
    """Merge a duplicate into another open complaint the worker may see; its resident follows the survivor.

    Side effects: the audited transition (the resident is told); complaints merged into this one move along.
    """
    seen = _seen(complaint, version)
    if target_id is None:
        raise DomainError("merge_target_required")
    if target_id == complaint.id:
        raise DomainError("merge_into_self")
    target = session.get(Complaint, target_id)
    if target is None or not in_scope(staff, target.unit):
        if target is not None:
            log.warning("staff %s tried to merge into complaint %s outside their units", staff.id, target_id)
        raise NotFound("merge_target_not_found")
    if target.state not in MERGEABLE:
        raise DomainError("merge_target_closed")
    values = {"merged_into_id": target.id}
    if target.state == ComplaintState.promoted:
        values["topic_id"] = target.topic_id
    return transition_complaint(session, complaint, "merge", actor=Actor.staff(staff), reason=f"#{target.id}",
                                data={"merged_into": target.id, "result": "merge",
                                      "detail": MESSAGE_FRAMES["merge"].format(id=target.id)},
                                expect=seen, values=values)


def escalate(session: Session, staff: Staff, complaint: Complaint, *, reason: str,
             version: str | None = None) -> Complaint:
    """大事不出社区、难事不出街道: hand the complaint to the parent unit's queue, with the reason.

    Side effects: the audited transition (the resident is told); the complaint leaves a grid worker's queue.
    """
    seen = _seen(complaint, version)
    reason = _text(reason, "escalate_reason_empty")
    parent = complaint.unit.parent
    if parent is None:
        raise DomainError("escalate_top")
    from_unit = complaint.unit
    return transition_complaint(session, complaint, "escalate", actor=Actor.staff(staff), reason=reason,
                                data={"from_unit_id": from_unit.id, "to_unit_id": parent.id,
                                      "result": "escalate",
                                      "detail": MESSAGE_FRAMES["escalate"].format(unit=parent.name)}, expect=seen,
                                values={"unit_id": parent.id, "unit": parent})


def promote(session: Session, staff: Staff, complaint: Complaint, *, title: str = "", summary: str = "",
            category: str = "", topic_id: int | None = None, version: str | None = None) -> Topic:
    """Classify as deliberable and promote to a new topic of the complaint's community, or join an open one.

    Side effects: a new topic is proposed (its secretaries are told); the audited transition tells the resident.
    """
    seen = _seen(complaint, version)
    actor = Actor.staff(staff)
    owner = nearest(complaint.unit, UnitLevel.community) or complaint.unit
    if topic_id is not None:
        topic = session.get(Topic, topic_id)
        if topic is None or topic.unit_id != owner.id:
            if topic is not None:
                log.warning("staff %s tried topic %s outside their community", staff.id, topic_id)
            raise NotFound("topic_not_found")
        if topic.state not in JOINABLE_TOPICS:
            raise DomainError("topic_closed")
        data = {"topic_id": topic.id, "joined": True, "result": "join", "detail": topic.title}
    else:
        title = (title or "").strip()
        if not title:
            raise DomainError("title_empty")
        if len(title) > TITLE_LIMIT:
            raise DomainError("title_too_long", limit=TITLE_LIMIT)
        if category not in DELIBERATION_CATEGORIES:
            raise DomainError("deliberation_category_unknown")
        topic = Topic(unit_id=owner.id, title=title, summary=(summary or "").strip(), category=category,
                      proposed_by_id=staff.id)
        topic.unit = owner
        data = None
    if data is None:
        transition_topic(session, topic, "propose", actor=actor, data={"complaint_id": complaint.id})
        data = {"topic_id": topic.id, "result": "promote", "detail": topic.title}
    transition_complaint(session, complaint, "promote", actor=actor, reason=topic.title, data=data, expect=seen,
                         values={"deliberable": True, "topic_id": topic.id, "topic": topic})
    _tell_followers(session, complaint, "promote", {"topic_id": topic.id, "result": data["result"],
                                                    "detail": topic.title})
    return topic


def record_visit(session: Session, staff: Staff, complaint: Complaint, *, notes: str,
                 version: str | None = None) -> HomeVisit:
    """上门协商: keep the notes of a home visit; the complaint stays in the queue and the resident is told."""
    seen = _seen(complaint, version)
    notes = _text(notes, "visit_notes_empty")
    visit = HomeVisit(complaint_id=complaint.id, staff_id=staff.id, notes=notes, created_at=utcnow())
    session.add(visit)
    transition_complaint(session, complaint, "visit", actor=Actor.staff(staff), reason=notes,
                         data={"result": "visit"}, expect=seen)
    return visit
