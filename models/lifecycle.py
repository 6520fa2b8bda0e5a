"""The complaint and topic lifecycles: allowed transitions and the one function per lifecycle that changes state.

Each transition stamps the time, writes an audit event and the outbox rows of the notifications it causes,
all in the caller's transaction. Nothing else in the project assigns `.state`; `notify` is the one writer of
outbox rows.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session, make_transient_to_detached

from .base import utcnow
from .entities import (
    AuditEvent,
    Complaint,
    ComplaintState,
    Notification,
    NotificationState,
    Staff,
    StaffRole,
    Topic,
    TopicState,
    Unit,
    staff_units,
)
from .errors import Conflict
from .outbox import add_notification
from .stats import count_complaint

C = ComplaintState
T = TopicState


@dataclasses.dataclass(frozen=True)
class Actor:
    kind: str  # "resident", "staff" or "system"
    id: int | None = None

    @classmethod
    def staff(cls, staff: Staff) -> Actor:
        return cls("staff", staff.id)


SYSTEM = Actor("system")

# (from state, action) -> to state
COMPLAINT_TRANSITIONS: dict[tuple[ComplaintState | None, str], ComplaintState] = {
    (None, "submit"): C.submitted,
    (C.submitted, "accept"): C.awaiting_triage,
    (C.submitted, "hold"): C.submitted,  # WeChat could not check the text yet: checked again later
    (C.awaiting_triage, "decline"): C.not_deliberable,
    (C.awaiting_triage, "solve"): C.solved,
    (C.awaiting_triage, "merge"): C.merged,
    (C.awaiting_triage, "escalate"): C.awaiting_triage,
    (C.awaiting_triage, "promote"): C.promoted,
    (C.awaiting_triage, "visit"): C.awaiting_triage,
    (C.promoted, "close"): C.closed,
    (C.promoted, "reopen"): C.awaiting_triage,  # its topic was rejected: back to triage
    (C.promoted, "decline"): C.not_deliberable,  # its topic was rejected: answered with the reason
    (C.solved, "reopen"): C.awaiting_triage,  # 回访 不满意: back to the grid worker's queue
}
# Actions that change a complaint's columns, never its state, allowed in every state (a final one too): "review",
# a person's verdict on text WeChat's check left to them (models.governance.review_complaint).
COMPLAINT_COLUMN_ACTIONS = frozenset({"review"})
# States a complaint or a topic never leaves.
COMPLAINT_FINAL = frozenset({C.not_deliberable, C.merged, C.closed})
TOPIC_FINAL = frozenset({T.rejected, T.merged, T.closed})

TOPIC_TRANSITIONS: dict[tuple[TopicState | None, str], TopicState] = {
    (None, "propose"): T.proposed,
    (T.proposed, "approve"): T.approved,
    (T.proposed, "reject"): T.rejected,
    (T.proposed, "merge"): T.merged,
    (T.approved, "schedule"): T.scheduled,
    (T.no_consensus, "schedule"): T.scheduled,
    (T.scheduled, "unschedule"): T.approved,
    (T.scheduled, "agree"): T.agreed,
    (T.scheduled, "disagree"): T.no_consensus,
    (T.scheduled, "refer"): T.referred,
    (T.referred, "agree"): T.agreed,
    (T.agreed, "start"): T.implementing,
    (T.implementing, "complete"): T.implemented,
    (T.implemented, "reopen"): T.implementing,
    (T.implemented, "close"): T.closed,
    (T.no_consensus, "close"): T.closed,
    (T.referred, "close"): T.closed,
}

# Which complaint actions tell the resident, under which notification event.
COMPLAINT_NOTIFY = {
    "submit": "complaint_received",
    "decline": "complaint_triaged",
    "solve": "complaint_triaged",
    "merge": "complaint_triaged",
    "escalate": "complaint_triaged",
    "promote": "complaint_triaged",
    "visit": "complaint_triaged",
    "reopen": "complaint_triaged",
}
# Topic actions that tell every resident behind the topic; "propose" tells the unit's secretaries. Putting a topic
# on an agenda ("schedule") tells them with the meeting's invitation; a rejection (council.services.reject) with
# what became of their complaint.
TOPIC_NOTIFY_RESIDENTS = {
    "approve": "topic_approved",
    "agree": "topic_progress",
    "disagree": "topic_progress",
    "refer": "topic_progress",
    "start": "topic_progress",
    "complete": "rating_requested",
    "reopen": "topic_progress",
    "close": "topic_progress",
}


def _next_state(table: dict, kind: str, state: Any, action: str) -> Any:
    try:
        return table[(state, action)]
    except KeyError:
        raise Conflict(f"{kind}_transition_not_allowed", state=getattr(state, "value", state), action=action) from None


def _audit(session: Session, kind: str, subject_id: int, action: str, before: Any, after: Any,
           actor: Actor, reason: str | None, data: dict[str, Any]) -> AuditEvent:
    event = AuditEvent(
        subject_kind=kind,
        subject_id=subject_id,
        action=action,
        from_state=getattr(before, "value", before),
        to_state=getattr(after, "value", after),
        actor_kind=actor.kind,
        actor_id=actor.id,
        reason=reason,
        data=data,
        created_at=utcnow(),
    )
    session.add(event)
    return event


def notify(session: Session, event: str, *, recipient_kind: str, recipient_id: int, openid: str | None,
           params: dict[str, Any]) -> Notification:
    """Write one outbox row (the only writer of one): a Core INSERT in the caller's transaction; returns the row as
    a detached Notification. Side effect: deferred, so it is handed over to the workers after commit.

    Staff events listed in `models.notify.DIGEST_EVENTS` wait for the daily digest instead (no row now); those in
    `BATCHED_EVENTS` join the person's row still gathering such events, or start one (`models.notify.gather`).
    """
    from .notify import BATCHED_EVENTS, DIGEST_EVENTS, add_digest_item, gather

    if recipient_kind == "staff" and event in DIGEST_EVENTS:
        return add_digest_item(session, recipient_id, event, params)
    values = {"event": event, "recipient_kind": recipient_kind, "recipient_id": recipient_id, "openid": openid,
              "params": params, "state": NotificationState.pending, "attempts": 0, "created_at": utcnow()}
    if recipient_kind == "staff" and event in BATCHED_EVENTS and (joined := gather(session, values)) is not None:
        return joined
    row_id = add_notification(session, values)
    row = stub(Notification, row_id, **{**_NOTIFICATION_UNSET, **values})
    defer(session, "notification", row)
    return row


def defer(session: Session, kind: str, obj: Any) -> None:
    """Ask for a job about `obj` once the transaction commits (ids are read after flush)."""
    session.info.setdefault("deferred", []).append((kind, obj))


@dataclasses.dataclass(frozen=True)
class NewComplaint:
    """What a resident submits, with what its receipt names (the unit's name, the resident's openid), so the
    complaint is written without loading its unit or resident."""

    unit_id: int
    unit_name: str
    resident_id: int
    openid: str | None
    category: str
    text: str
    qr_code_id: int | None = None
    representative_id: int | None = None  # the 议政代表 whose personal code or entry on behalf brought it
    entered_by_id: int | None = None  # the staff member who entered it on the resident's behalf (代填)
    heard_via: str | None = None  # how they heard it: visit, appointment, call, reception


def transition_complaint(session: Session, complaint: Complaint | NewComplaint, action: str, *, actor: Actor,
                         reason: str | None = None, data: dict[str, Any] | None = None,
                         expect: dt.datetime | None = None, values: dict[str, Any] | None = None) -> Complaint:
    """Move a complaint through `action` (a `NewComplaint` through `submit`); the one writer of a complaint's state.

    Side effects: the state and its time, the audit event, the outbox rows of whom the action tells, and for a new
    complaint its statistics delta and its content check deferred to after commit. A new complaint (every
    submission) is written with Core INSERTs and returned detached, its columns loaded (`session.get` loads it).
    With `expect` (the `state_changed_at` the actor saw), the change is a compare-and-set on the row: when another
    transaction changed the complaint meanwhile, `stale_form` is raised and nothing is written. `values` are the
    other columns the action changes (a decline's reason code and reply, a merge's target, an escalation's unit),
    written with the state. A merge and a promotion carry along the complaints merged into this one.
    """
    new = isinstance(complaint, NewComplaint)
    if not new and complaint.id is None:
        raise TypeError("a complaint is submitted as a NewComplaint")
    before = None if new else complaint.state
    after = before if before is not None and action in COMPLAINT_COLUMN_ACTIONS else \
        _next_state(COMPLAINT_TRANSITIONS, "complaint", before, action)
    now = utcnow()
    data = dict(data or {})
    if new:
        values = {"unit_id": complaint.unit_id, "resident_id": complaint.resident_id,
                  "qr_code_id": complaint.qr_code_id, "category": complaint.category, "text": complaint.text,
                  "representative_id": complaint.representative_id, "entered_by_id": complaint.entered_by_id,
                  "heard_via": complaint.heard_via, "state": after, "created_at": now, "state_changed_at": now}
        conn = session.connection()
        complaint_id = conn.execute(_INSERT_COMPLAINT, values).scalar_one()
        count_complaint(session, {**values, "reason_code": None})
        # Core, as the complaint: a submission is never an answer, the one audit the statistics' flush hook reads
        conn.execute(_INSERT_AUDIT, {
            "subject_kind": "complaint", "subject_id": complaint_id, "action": action, "from_state": None,
            "to_state": after.value, "actor_kind": actor.kind, "actor_id": actor.id, "reason": reason, "data": data,
            "created_at": now})
        session.info["audited"] = True  # as models.governance notes ORM-added events: this request is audited
        unit_name, resident_id, openid = complaint.unit_name, complaint.resident_id, complaint.openid
        complaint = stub(Complaint, complaint_id, **values, **_COMPLAINT_UNSET)
        defer(session, "content_check", complaint)
    else:
        changes = {"state": after, "state_changed_at": now, **(values or {})}
        if expect is not None:
            claimed = session.execute(
                update(Complaint)
                .where(Complaint.id == complaint.id, Complaint.state == before, Complaint.state_changed_at == expect)
                .values(**{k: v for k, v in changes.items() if k in Complaint.__table__.c})
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount != 1:
                raise Conflict("stale_form")
        for column, value in changes.items():
            setattr(complaint, column, value)
        session.flush()
        if action in ("merge", "promote"):  # the complaints merged into this one follow it
            session.execute(update(Complaint).where(Complaint.merged_into_id == complaint.id,
                                                    Complaint.state == C.merged)
                            .values(topic_id=complaint.topic_id,
                                    merged_into_id=complaint.merged_into_id if action == "merge" else complaint.id)
                            .execution_options(synchronize_session="fetch"))
        _audit(session, "complaint", complaint.id, action, before, after, actor, reason, data)
        unit_name, resident_id, openid = complaint.unit.name, complaint.resident_id, complaint.resident.openid
    event = COMPLAINT_NOTIFY.get(action)
    if event:
        notify(session, event, recipient_kind="resident", recipient_id=resident_id, openid=openid,
               params={"complaint_id": complaint.id, "category": complaint.category, "unit_name": unit_name,
                       "action": action, "state": after.value, "reason": reason or "", "at": now.isoformat(), **data})
    # It is now in the grid workers' queue: they are told within a minute, gathered per worker (models.notify).
    if action == "accept":
        for worker in staff_of(session, complaint.unit, StaffRole.grid_worker):
            notify(session, "complaint_new_in_unit", recipient_kind="staff", recipient_id=worker.id,
                   openid=worker.openid, params={"complaint_id": complaint.id, "unit_name": complaint.unit.name,
                                                 "category": complaint.category, "at": now.isoformat()})
    return complaint


def stub(cls: type, row_id: int, **values: Any) -> Any:
    """A detached instance standing for a row written with Core (its id and `values` loaded), so `defer` can name
    it by its identity and callers can read it."""
    obj = cls(id=row_id, **values)
    make_transient_to_detached(obj)
    return obj


_INSERT_COMPLAINT = insert(Complaint.__table__).returning(Complaint.__table__.c.id)
_INSERT_AUDIT = insert(AuditEvent.__table__)
# The columns a row written with Core leaves empty, loaded as such on its instance (no query to read them).
_COMPLAINT_UNSET = dict.fromkeys(("content_check", "deliberable", "reason_code", "reply", "topic_id",
                                  "merged_into_id"))
_NOTIFICATION_UNSET = dict.fromkeys(("last_error", "claimed_at", "finished_at", "next_attempt_at"))


def residents_behind(session: Session, topic: Topic) -> list[Complaint]:
    """The complaints (and so the residents) a topic's news goes to: one per resident."""
    rows = session.scalars(select(Complaint).where(Complaint.topic_id == topic.id).order_by(Complaint.id)).all()
    seen: dict[int, Complaint] = {}
    for row in rows:
        seen.setdefault(row.resident_id, row)
    return list(seen.values())


def staff_of(session: Session, unit: Unit, role: StaffRole) -> list[Staff]:
    """Active staff of `role` covering the unit or one of its ancestors, nearest first."""
    ids = unit.ancestor_ids() or [unit.id]
    staff = session.scalars(
        select(Staff).join(staff_units).where(staff_units.c.unit_id.in_(ids), Staff.role == role,
                                              Staff.active.is_(True)).order_by(Staff.id)
    ).unique().all()
    depth = {uid: i for i, uid in enumerate(ids)}
    return sorted(staff, key=lambda s: -max(depth.get(u.id, -1) for u in s.units))


def secretaries_of(session: Session, unit: Unit) -> list[Staff]:
    """Active secretaries covering the unit or one of its ancestors, nearest first."""
    return staff_of(session, unit, StaffRole.secretary)


def transition_topic(session: Session, topic: Topic, action: str, *, actor: Actor, reason: str | None = None,
                     data: dict[str, Any] | None = None) -> Topic:
    """Move a topic through `action`; write the audit event and tell the secretaries or the residents behind it.

    "merge" (with `data["into_topic_id"]`) also moves the topic's complaints, and so their residents, to the other.
    """
    before = topic.state if topic.id is not None else None
    after = _next_state(TOPIC_TRANSITIONS, "topic", before, action)
    now = utcnow()
    data = dict(data or {})
    topic.state = after
    topic.state_changed_at = now
    if action == "merge":
        topic.merged_into_id = data["into_topic_id"]
    if topic.id is None:
        topic.created_at = now
        session.add(topic)
    session.flush()
    if action == "merge":
        session.execute(update(Complaint).where(Complaint.topic_id == topic.id)
                        .values(topic_id=data["into_topic_id"]).execution_options(synchronize_session="fetch"))
    if after == T.closed:
        # A closed topic closes the complaints behind it; their residents hear it once, from the topic below.
        behind = session.scalars(select(Complaint).where(Complaint.topic_id == topic.id,
                                                         Complaint.state == C.promoted).order_by(Complaint.id))
        for complaint in behind.all():
            transition_complaint(session, complaint, "close", actor=actor, reason=reason,
                                 data={"topic_id": topic.id})
    _audit(session, "topic", topic.id, action, before, after, actor, reason, data)
    params = {"topic_id": topic.id, "title": topic.title, "unit_name": topic.unit.name, "action": action,
              "state": after.value, "reason": reason or "", "at": now.isoformat(), **data}
    if action == "propose":
        for secretary in secretaries_of(session, topic.unit):
            notify(session, "topic_proposed", recipient_kind="staff", recipient_id=secretary.id,
                   openid=secretary.openid, params=params)
    elif action in TOPIC_NOTIFY_RESIDENTS:
        for complaint in residents_behind(session, topic):
            notify(session, TOPIC_NOTIFY_RESIDENTS[action], recipient_kind="resident",
                   recipient_id=complaint.resident_id, openid=complaint.resident.openid,
                   params={**params, "complaint_id": complaint.id})
    return topic
