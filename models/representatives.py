"""Representatives (议政代表) and liaisons (民意联络员): their appointment, personal codes and activity log.

A representative is recommended, reviewed, decided, publicly announced for a notice period and then appointed
(推荐→审查→决定→公示→聘任); a candidate may be declined or withdraw, an appointment ends with its term.
`transition_representative` is the one writer of that state: it stamps the time and writes the audit event.
An appointed representative carries a personal code (连心码): its own scene token, rotated, never reused, whose
scans reach the unit's triage queue naming the representative. Tokens start with PERSONAL_PREFIX, which no unit
code's token holds, so a scan tells the two apart without a query.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Integer, Text, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from .base import CHINA, Base, enum_column, intpk, str32, str64, str200, timestamp, utcnow
from .entities import AuditEvent, Complaint, ComplaintState, Staff, Topic, TopicState, Unit
from .errors import Conflict, DomainError
from .lifecycle import SYSTEM, Actor

PERSONAL_PREFIX = "p~"  # "~" is in WeChat's scene alphabet but never in a token_urlsafe unit token
NOTICE_DAYS = 5  # the 公示 period before an appointment, as the seeds' notices run
DUTIES = ("waiting", "receiving", "appointment", "visiting")  # 候访 接访 约访 走访
HEARD_VIA = ("visit", "appointment", "call", "reception")  # 走访 约访 电话 候访/接访: how an entry was heard


class RepresentativeKind(enum.StrEnum):
    representative = "representative"  # 议政代表
    liaison = "liaison"  # 民意联络员


class AppointmentState(enum.StrEnum):
    recommended = "recommended"
    reviewed = "reviewed"
    decided = "decided"
    announced = "announced"
    appointed = "appointed"
    declined = "declined"
    withdrawn = "withdrawn"
    ended = "ended"


A = AppointmentState
_CANDIDATE = (A.recommended, A.reviewed, A.decided, A.announced)
REPRESENTATIVE_TRANSITIONS: dict[tuple[AppointmentState | None, str], AppointmentState] = {
    (None, "recommend"): A.recommended,
    (A.recommended, "review"): A.reviewed,
    (A.reviewed, "decide"): A.decided,
    (A.decided, "announce"): A.announced,
    (A.announced, "appoint"): A.appointed,
    **{(s, "decline"): A.declined for s in _CANDIDATE},
    **{(s, "withdraw"): A.withdrawn for s in (*_CANDIDATE, A.appointed)},
    (A.appointed, "end_term"): A.ended,
}
REPRESENTATIVE_FINAL = frozenset({A.declined, A.withdrawn, A.ended})
PUBLIC_STATES = (A.announced, A.appointed)  # shown on the unit's public list


class Representative(Base):
    """One representative or liaison of a unit, where their appointment stands, and their optional staff account."""

    __tablename__ = "representatives"
    __table_args__ = (
        CheckConstraint("state != 'announced' OR notice_ends_at IS NOT NULL", name="announced_has_notice"),
        CheckConstraint("length(name) > 0", name="name_not_empty"),
    )

    id: Mapped[intpk]
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    kind: Mapped[RepresentativeKind] = enum_column(RepresentativeKind)
    name: Mapped[str64]
    duties: Mapped[list[str]] = mapped_column(JSON, default=list)
    state: Mapped[AppointmentState] = enum_column(AppointmentState, default=AppointmentState.recommended)
    recommended_by: Mapped[str200]
    review_notes: Mapped[str | None] = mapped_column(Text)
    notice_ends_at: Mapped[dt.datetime | None]
    appointed_at: Mapped[dt.datetime | None]
    term_ends_on: Mapped[dt.date | None] = mapped_column(Date)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), unique=True)
    created_at: Mapped[timestamp]
    state_changed_at: Mapped[timestamp]

    unit: Mapped[Unit] = relationship(lazy="joined")
    staff: Mapped[Staff | None] = relationship()


class PersonalCode(Base):
    """A representative's personal code (连心码): an opaque scene token; rotated, never reused."""

    __tablename__ = "personal_codes"

    id: Mapped[intpk]
    representative_id: Mapped[int] = mapped_column(ForeignKey("representatives.id"), index=True)
    token: Mapped[str32] = mapped_column(unique=True)
    created_at: Mapped[timestamp]
    revoked_at: Mapped[dt.datetime | None]

    representative: Mapped[Representative] = relationship(lazy="joined")


class ActivityKind(enum.StrEnum):
    policy_talk = "policy_talk"  # 宣讲政策
    forum = "forum"  # 座谈会
    suggestion = "suggestion"  # 意见建议
    visit = "visit"  # 走访
    reception = "reception"  # 候访 / 接访
    matter = "matter"  # 办好一件实事


class RepresentativeActivity(Base):
    """One entry of a representative's activity log, as they or their unit's staff wrote it down."""

    __tablename__ = "representative_activities"

    id: Mapped[intpk]
    representative_id: Mapped[int] = mapped_column(ForeignKey("representatives.id"), index=True)
    kind: Mapped[ActivityKind] = enum_column(ActivityKind)
    happened_on: Mapped[dt.date] = mapped_column(Date)
    summary: Mapped[str] = mapped_column(Text)
    people: Mapped[int] = mapped_column(Integer, default=0)
    logged_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[timestamp]


NAME_LIMIT = 32
NOTES_LIMIT = 1000


def transition_representative(session: Session, rep: Representative, action: str, *, actor: Actor,
                              reason: str | None = None, now: dt.datetime | None = None) -> Representative:
    """Move a representative through one appointment step; the one writer of `Representative.state`.

    Side effects: the state and its time; "review" keeps `reason` as the review notes; "announce" opens the
    public notice period (NOTICE_DAYS); "appoint", refused `notice_period_running` (409) before it ends, stamps
    the appointment; "withdraw" and "end_term" revoke the personal code. One audit event (subject
    `representative`). Refused `representative_transition_not_allowed` (409) for a step the state does not allow.
    """
    now = now or utcnow()
    before = rep.state if rep.id is not None else None
    try:
        after = REPRESENTATIVE_TRANSITIONS[(before, action)]
    except KeyError:
        raise Conflict("representative_transition_not_allowed", state=getattr(before, "value", before),
                       action=action) from None
    reason = (reason or "").strip() or None
    if reason and len(reason) > NOTES_LIMIT:
        raise DomainError("text_too_long", limit=NOTES_LIMIT)
    if action == "review":
        rep.review_notes = reason
    elif action == "announce":
        rep.notice_ends_at = now + dt.timedelta(days=NOTICE_DAYS)
    elif action == "appoint":
        if rep.notice_ends_at is not None and now < rep.notice_ends_at:
            raise Conflict("notice_period_running", until=rep.notice_ends_at.isoformat())
        rep.appointed_at = now
    elif action in ("withdraw", "end_term"):
        for code in live_codes(session, rep):
            code.revoked_at = now
    rep.state = after
    rep.state_changed_at = now
    if rep.id is None:
        rep.created_at = now
        session.add(rep)
    session.flush()
    session.add(AuditEvent(subject_kind="representative", subject_id=rep.id, action=action,
                           from_state=getattr(before, "value", before), to_state=after.value, actor_kind=actor.kind,
                           actor_id=actor.id, reason=reason, data={}, created_at=now))
    session.flush()
    return rep


def live_codes(session: Session, rep: Representative) -> list[PersonalCode]:
    return list(session.scalars(select(PersonalCode).where(PersonalCode.representative_id == rep.id,
                                                           PersonalCode.revoked_at.is_(None))))


def representative_of_staff(session: Session, staff: Staff) -> Representative | None:
    """The appointed representative a staff account (role `representative`) signs in as, if linked."""
    return session.scalar(select(Representative).where(Representative.staff_id == staff.id,
                                                       Representative.state == A.appointed))


def appointment_steps(session: Session, rep: Representative) -> list[dict[str, Any]]:
    """The representative's audited steps, oldest first: action, when, who (actor id) and the notes."""
    events = session.scalars(select(AuditEvent).where(AuditEvent.subject_kind == "representative",
                                                      AuditEvent.subject_id == rep.id)
                             .order_by(AuditEvent.created_at, AuditEvent.id))
    return [{"action": e.action, "at": e.created_at, "actor_id": e.actor_id, "reason": e.reason} for e in events]


class OnBehalfContact(Base):
    """Who a matter entered on a resident's behalf (代填) came from, if they gave a name: shown masked to staff,
    whole only beside the audited phone reveal."""

    __tablename__ = "on_behalf_contacts"

    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), primary_key=True)
    resident_name: Mapped[str32]


def mask_name(name: str | None) -> str | None:
    """张* / 欧*** : the family name only."""
    return None if not name else name[0] + "*" * (len(name) - 1)


def _clean_name(name: object) -> str:
    name = name.strip() if isinstance(name, str) else ""
    if not name:
        raise DomainError("representative_name_empty")
    if len(name) > NAME_LIMIT:
        raise DomainError("representative_name_too_long", limit=NAME_LIMIT)
    return name


def _duties(duties: object) -> list[str]:
    duties = list(duties or [])
    if any(d not in DUTIES for d in duties):
        raise DomainError("representative_duties_unknown")
    return [d for d in DUTIES if d in duties]


def recommend(session: Session, actor: Staff, unit: Unit, *, kind: object, name: object, duties: object,
              recommended_by: object) -> Representative:
    """Register a recommended representative or liaison for a unit (the caller checked the unit is in scope).

    Refused `representative_kind_unknown`, `representative_name_empty`/`_too_long`, `representative_duties_unknown`,
    `representative_recommender_empty`. Side effects: the row and its `recommend` audit event.
    """
    try:
        kind = RepresentativeKind(kind)
    except ValueError:
        raise DomainError("representative_kind_unknown") from None
    name = _clean_name(name)
    recommended_by = recommended_by.strip() if isinstance(recommended_by, str) else ""
    if not recommended_by:
        raise DomainError("representative_recommender_empty")
    if len(recommended_by) > 200:
        raise DomainError("text_too_long", limit=200)
    rep = Representative(unit_id=unit.id, kind=kind, name=name, duties=_duties(duties),
                         recommended_by=recommended_by)
    rep.unit = unit
    return transition_representative(session, rep, "recommend", actor=Actor.staff(actor), reason=recommended_by)


def update_details(session: Session, actor: Staff, rep: Representative, *, duties: object, term_ends_on: object,
                   staff: Staff | None) -> Representative:
    """Change a representative's duties, term end and linked staff account (None: unlinked); not a step.

    `staff` must be an active account of role `representative` not linked to anyone else (the caller checked its
    scope): else `representative_staff_invalid`. Side effects: the columns and an audit event (`details`).
    """
    rep.duties = _duties(duties)
    if term_ends_on in (None, ""):
        rep.term_ends_on = None
    else:
        try:
            rep.term_ends_on = dt.date.fromisoformat(str(term_ends_on))
        except ValueError:
            raise DomainError("term_end_invalid") from None
    if staff is not None:
        other = session.scalar(select(Representative.id).where(Representative.staff_id == staff.id,
                                                                Representative.id != rep.id))
        if staff.role.value != "representative" or not staff.active or other is not None:
            raise DomainError("representative_staff_invalid")
    rep.staff_id = staff.id if staff is not None else None
    session.add(AuditEvent(subject_kind="representative", subject_id=rep.id, action="details", actor_kind="staff",
                           actor_id=actor.id, data={"duties": rep.duties, "staff_id": rep.staff_id,
                                                    "term_ends_on": str(rep.term_ends_on or "")},
                           created_at=utcnow()))
    session.flush()
    return rep


SUMMARY_LIMIT = 1000


def log_activity(session: Session, actor: Staff, rep: Representative, *, kind: object, happened_on: object,
                 summary: object, people: object = 0, today: dt.date | None = None) -> RepresentativeActivity:
    """Write one entry of a representative's activity log (a talk, a forum, a visit…). Not a state change.

    Refused `activity_kind_unknown`, `activity_date_invalid` (unreadable or after today), `activity_summary_empty`,
    `text_too_long`, `activity_people_invalid`. Side effect: the row.
    """
    try:
        kind = ActivityKind(kind)
    except ValueError:
        raise DomainError("activity_kind_unknown") from None
    try:
        day = dt.date.fromisoformat(str(happened_on))
    except ValueError:
        raise DomainError("activity_date_invalid") from None
    if day > (today or dt.date.today()):
        raise DomainError("activity_date_invalid")
    summary = summary.strip() if isinstance(summary, str) else ""
    if not summary:
        raise DomainError("activity_summary_empty")
    if len(summary) > SUMMARY_LIMIT:
        raise DomainError("text_too_long", limit=SUMMARY_LIMIT)
    try:
        people = int(people or 0)
    except (TypeError, ValueError):
        raise DomainError("activity_people_invalid") from None
    if not 0 <= people <= 100_000:
        raise DomainError("activity_people_invalid")
    row = RepresentativeActivity(representative_id=rep.id, kind=kind, happened_on=day, summary=summary,
                                 people=people, logged_by_id=actor.id, created_at=utcnow())
    session.add(row)
    session.flush()
    return row


def _year_bounds(year: int) -> tuple[dt.datetime, dt.datetime]:
    return (dt.datetime(year, 1, 1, tzinfo=CHINA).astimezone(dt.UTC),
            dt.datetime(year + 1, 1, 1, tzinfo=CHINA).astimezone(dt.UTC))


def activity_summary(session: Session, rep: Representative, year: int) -> dict[str, Any]:
    """A representative's year in figures (China time), and whether each of the "四个一" was done: a policy talk
    (宣讲一次政策), a forum (召开一次座谈会), opinions collected (收集一批意见建议: logged suggestions and the
    matters that reached the queue through them) and a matter done (办好一件实事: logged, or a matter through them
    solved, closed, or its topic implemented). Reads only."""
    start, end = _year_bounds(year)
    logged = {k.value: (0, 0) for k in ActivityKind}
    for kind, n, people in session.execute(
            select(RepresentativeActivity.kind, func.count(), func.coalesce(func.sum(RepresentativeActivity.people), 0))
            .where(RepresentativeActivity.representative_id == rep.id,
                   RepresentativeActivity.happened_on >= dt.date(year, 1, 1),
                   RepresentativeActivity.happened_on < dt.date(year + 1, 1, 1))
            .group_by(RepresentativeActivity.kind)):
        logged[ActivityKind(kind).value] = (int(n), int(people))
    rows = session.execute(
        select(Complaint.state, Complaint.heard_via, Complaint.entered_by_id, Topic.state)
        .outerjoin(Topic, Topic.id == Complaint.topic_id)
        .where(Complaint.representative_id == rep.id, Complaint.created_at >= start, Complaint.created_at < end)).all()
    done_states = {ComplaintState.solved, ComplaintState.closed}
    results = sum(1 for state, _, _, topic in rows
                  if state in done_states or topic in (TopicState.implemented, TopicState.closed))
    heard = {via: sum(1 for _, h, _, _ in rows if h == via) for via in HEARD_VIA}
    figures = {
        "policy_talk": logged["policy_talk"][0], "forum": logged["forum"][0],
        "forum_people": logged["forum"][1] + logged["policy_talk"][1],
        "suggestion": logged["suggestion"][0] + len(rows),
        "visit": logged["visit"][0] + heard["visit"], "reception": logged["reception"][0] + heard["reception"],
        "matter": logged["matter"][0] + results,
        "complaints": len(rows), "by_code": sum(1 for _, _, by, _ in rows if by is None),
        "on_behalf": sum(1 for _, _, by, _ in rows if by is not None), "results": results,
    }
    figures["four_ones"] = {"policy_talk": figures["policy_talk"] > 0, "forum": figures["forum"] > 0,
                            "suggestion": figures["suggestion"] > 0, "matter": figures["matter"] > 0}
    return figures


def activities(session: Session, rep: Representative, limit: int = 200) -> list[RepresentativeActivity]:
    """The representative's logged entries, latest first. No side effects."""
    return list(session.scalars(select(RepresentativeActivity)
                                .where(RepresentativeActivity.representative_id == rep.id)
                                .order_by(RepresentativeActivity.happened_on.desc(),
                                          RepresentativeActivity.id.desc()).limit(limit)))


def matters_of(session: Session, rep: Representative, limit: int = 100) -> list[Complaint]:
    """The complaints that came through the representative (their code or their entries), latest first."""
    return list(session.scalars(select(Complaint).where(Complaint.representative_id == rep.id)
                                .order_by(Complaint.created_at.desc(), Complaint.id.desc()).limit(limit)))


def end_expired_terms(session: Session, now: dt.datetime) -> int:
    """End the appointments whose term ran out before today (China time); returns how many.

    Side effects: each through `transition_representative` ("end_term", by the system: state, personal code
    revoked, audit event), in the caller's transaction. A term ending today still holds today.
    """
    today = now.astimezone(CHINA).date()
    due = session.scalars(select(Representative).where(Representative.state == A.appointed,
                                                       Representative.term_ends_on < today)
                          .order_by(Representative.id).limit(500)).all()
    for rep in due:
        transition_representative(session, rep, "end_term", actor=SYSTEM, reason="任期届满", now=now)
    return len(due)
