"""Time-based notifications nobody's action causes: triage and implementation overdue, meeting reminders;
and messages held for a resident's WeChat budget, released when the resident subscribes again.

`check_due` runs in the sweep process of every `xinma worker`, each round. Each event is announced exactly
once, however many sweeps run at once and however often they restart: overdue events claim a mark in
`notices` (unique per subject: complaint, assignment round, meeting registration) in the same transaction as
the notification. Staff overdue events become digest items, folded into the staff daily digest.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.orm import Session

from council.followup import close_expired
from council.hotspot_services import keep_terms
from council.meetings import meeting_params, registrations
from models import (
    Complaint,
    ComplaintState,
    Notification,
    NotificationState,
    StaffRole,
    Topic,
    TopicState,
    Unit,
    utcnow,
)
from models.base import CHINA
from models.council import Assignment, MeetingDetail
from models.entities import Meeting
from models.lifecycle import defer, notify, secretaries_of, staff_of
from models.message_templates import TEMPLATES
from models.notify import Notice, Subscription, claim_notice
from models.outbox import move_notifications
from models.representatives import end_expired_terms
from triage.rules import add_working_days, calendar_of, district_id, rules_for
from web.settings import template_id as template_of

from .retention import anonymise_due
from .runtime import runtime

TRIAGE = "triage_overdue"
IMPLEMENTATION = "implementation_overdue"
REMINDER = "meeting_reminder"


def check_due(now: dt.datetime | None = None) -> dict[str, int]:
    """Announce what has come due since the last round; returns how many of each were announced.

    Side effects: digest items for the staff concerned, outbox rows for meeting reminders, marks in
    `notices`; one commit (the reminders are handed over after it).
    """
    rt = runtime()
    now = now or utcnow()
    with rt.session() as session:
        counts = {TRIAGE: triage_overdue(session, now), IMPLEMENTATION: implementation_overdue(session, now),
                  REMINDER: meeting_reminders(session, now, dt.timedelta(hours=rt.settings.remind_ahead_hours)),
                  "released": release_held(session), "followup_closed": close_expired(session, now=now),
                  "terms_ended": end_expired_terms(session, now),
                  "anonymised": anonymise_due(session, now, days=rt.settings.retention_days,
                                              secret=rt.settings.secret_key,
                                              keep_text=rt.settings.retention_keep_text)}
        keep_terms(session)  # hotspots: the newest open complaints' words kept, decided (and anonymised) ones' dropped
        session.commit()
    return counts


def triage_overdue(session: Session, now: dt.datetime) -> int:
    """Tell the grid workers covering each complaint left untriaged past its deadline, once per complaint."""
    noticed = exists().where(and_(Notice.kind == TRIAGE, Notice.subject_id == Complaint.id))
    # No deadline is shorter than one day: younger complaints cannot be overdue yet.
    candidates = session.scalars(select(Complaint).where(
        Complaint.state == ComplaintState.awaiting_triage, Complaint.created_at < now - dt.timedelta(days=1),
        ~noticed).order_by(Complaint.id).limit(1000)).all()
    calendars: dict[int, tuple[frozenset[dt.date], frozenset[dt.date]]] = {}
    announced = 0
    for complaint in candidates:
        district = district_id(complaint.unit)
        if district not in calendars:
            calendars[district] = calendar_of(session, district)
        deadline = add_working_days(complaint.created_at, rules_for(session, complaint.unit).triage_days,
                                    *calendars[district])
        if deadline >= now or not claim_notice(session, TRIAGE, complaint.id):
            continue
        for worker in staff_of(session, complaint.unit, StaffRole.grid_worker):
            notify(session, TRIAGE, recipient_kind="staff", recipient_id=worker.id, openid=worker.openid,
                   params={"complaint_id": complaint.id, "unit_name": complaint.unit.name,
                           "category": complaint.category, "deadline": deadline.isoformat()})
        announced += 1
    session.flush()
    return announced


def implementation_overdue(session: Session, now: dt.datetime) -> int:
    """Tell the nearest secretary of each topic whose 领办 is past its due date, once per assignment round."""
    today = now.astimezone(CHINA).date()
    rows = session.execute(select(Assignment, Topic).join(Topic, Assignment.topic_id == Topic.id).where(
        Topic.state == TopicState.implementing, Assignment.completed_at.is_(None), Assignment.due_on < today)
        .order_by(Assignment.id).limit(1000)).all()
    announced = 0
    for assignment, topic in rows:
        if not claim_notice(session, f"{IMPLEMENTATION}:{assignment.round}", assignment.id):
            continue
        unit = session.get(Unit, topic.unit_id)
        secretaries = secretaries_of(session, unit)
        if secretaries:
            secretary = secretaries[0]
            notify(session, IMPLEMENTATION, recipient_kind="staff", recipient_id=secretary.id,
                   openid=secretary.openid, params={"topic_id": topic.id, "title": topic.title,
                                                    "unit_name": unit.name, "due_on": assignment.due_on.isoformat()})
        announced += 1
    session.flush()
    return announced


def meeting_reminders(session: Session, now: dt.datetime, ahead: dt.timedelta) -> int:
    """Remind each resident registered for a meeting starting within `ahead`, once per registration.

    Side effects: stamps the meeting's `reminded_at` first (a locking update), so the council's own
    `remind_meetings` job, should someone run it, finds it reminded; a registration made after that stamp
    (a late registrant) is reminded by a later round, marked in `notices`. Returns reminders written.
    """
    due = session.scalars(select(MeetingDetail.meeting_id).join(Meeting).where(
        MeetingDetail.held_at.is_(None), Meeting.starts_at > now, Meeting.starts_at <= now + ahead)
        .order_by(Meeting.starts_at)).all()
    sent = 0
    for meeting_id in due:
        # Whoever stamps the meeting first reminds everyone registered by then; this decides it on the row itself
        # (a second stamper waits for the first and then finds the stamp), whatever the two clocks said.
        first = session.execute(update(MeetingDetail).where(MeetingDetail.meeting_id == meeting_id,
                                                            MeetingDetail.reminded_at.is_(None))
                                .values(reminded_at=now).execution_options(synchronize_session=False)).rowcount == 1
        detail = session.get(MeetingDetail, meeting_id)
        session.refresh(detail)
        stamped = detail.reminded_at if detail.reminded_at.tzinfo else detail.reminded_at.replace(tzinfo=dt.UTC)
        for registration in registrations(session, detail):
            created = registration.created_at
            created = created if created.tzinfo else created.replace(tzinfo=dt.UTC)
            if not first and created <= stamped:
                continue  # reminded by the round (or the council job) that stamped the meeting
            if not claim_notice(session, REMINDER, registration.id):
                continue
            notify(session, REMINDER, recipient_kind="resident", recipient_id=registration.resident_id,
                   openid=registration.resident.openid, params={**meeting_params(detail), "at": now.isoformat()})
            sent += 1
    session.flush()
    return sent


def release_held(session: Session) -> int:
    """Send again the messages held because a resident had no quota left, once they have subscribed again.

    Held rows are undeliverable with no_quota (the ledger was empty) or 43101 (WeChat said so). For each
    resident and one-time template whose ledger now has sends left, the oldest held rows, one per send left,
    go back to pending (counting the resident's rows already on their way) and are handed to RQ after the
    commit; delivery spends the ledger as for any row.
    Should two sweeps release rows at once, a row that finds the ledger empty again is held again: no row is
    ever sent twice or lost. Returns how many rows were released.
    """
    by_template: dict[str, list[str]] = {}
    for event, spec in TEMPLATES.items():
        if spec["kind"] == "one_time":
            by_template.setdefault(template_of(event), []).append(event)
    released = 0
    for template_id, events in by_template.items():
        rows = session.execute(select(Notification.id, Notification.recipient_id,
                                      Subscription.accepted - Subscription.spent)
                               .join(Subscription, and_(Subscription.resident_id == Notification.recipient_id,
                                                        Subscription.template_id == template_id))
                               .where(Notification.event.in_(events), Notification.recipient_kind == "resident",
                                      Notification.state == NotificationState.undeliverable,
                                      or_(Notification.last_error.like("no_quota%"),
                                          Notification.last_error.like("43101%")),
                                      Subscription.long_term.is_(False), Subscription.accepted > Subscription.spent)
                               .order_by(Notification.id).limit(5000)).all()
        # Rows still on their way (pending, sending) spend the ledger before any released row would.
        residents = {resident_id for _, resident_id, _ in rows}
        taken: dict[int, int] = dict(session.execute(
            select(Notification.recipient_id, func.count()).where(
                Notification.recipient_kind == "resident", Notification.recipient_id.in_(residents),
                Notification.event.in_(events),
                Notification.state.in_((NotificationState.pending, NotificationState.sending)))
            .group_by(Notification.recipient_id)).all()) if residents else {}
        for row_id, resident_id, left in rows:
            if taken.get(resident_id, 0) >= left:
                continue  # one held message per send the resident has left, oldest first
            done = move_notifications(session, Notification.id == row_id, from_=NotificationState.undeliverable,
                                      to=NotificationState.pending, last_error=None, finished_at=None,
                                      next_attempt_at=None).rowcount
            if done:
                taken[resident_id] = taken.get(resident_id, 0) + 1
                defer(session, "notification", session.get(Notification, row_id))
                released += 1
    session.flush()
    return released


