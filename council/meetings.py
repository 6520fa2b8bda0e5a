"""议事会: schedule, agenda, participants, residents' registrations, the record of what was decided, reminders."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from models import (
    Actor,
    Complaint,
    DomainError,
    Meeting,
    NotFound,
    Resident,
    Staff,
    Topic,
    TopicState,
    Unit,
    transition_topic,
    utcnow,
)
from models.council import MeetingDetail, MeetingOutcome, MeetingParticipant, MeetingRegistration, OutcomeResult
from models.lifecycle import notify
from models.scope import in_scope, scope_clause
from web.messages import MEETING_FORMS, OUTCOME_RESULTS, PARTICIPANT_ROLES

from . import forms

log = logging.getLogger(__name__)
OUTCOME_ACTIONS = {"consensus": "agree", "no_consensus": "disagree", "referred": "refer"}


def meetings(session: Session, staff: Staff) -> list[MeetingDetail]:
    """Meetings of the staff member's units, the next one first, then those already held."""
    rows = session.scalars(select(MeetingDetail).join(Meeting).where(scope_clause(staff, Meeting.unit_id))
                           .order_by(Meeting.starts_at.desc()))
    return sorted(rows, key=lambda d: (d.held_at is not None, d.meeting.starts_at))


def meeting_for(session: Session, staff: Staff, meeting_id: int) -> MeetingDetail:
    detail = session.get(MeetingDetail, meeting_id)
    if detail is None or not in_scope(staff, session.get(Unit, detail.meeting.unit_id)):
        raise NotFound("meeting_not_found")
    return detail


def schedule_meeting(session: Session, staff: Staff, unit: Unit, *, title: str, starts_at: str, place: str,
                     form: str, now: dt.datetime | None = None) -> MeetingDetail:
    """Schedule a council meeting of the unit's council room; refuses a time already past."""
    title = forms.text(title, "meeting_title_empty", 60, "title_too_long")
    moment = forms.local_datetime(starts_at)
    place = forms.text(place, "meeting_place_empty", 200)
    form = forms.choice(form, MEETING_FORMS, "meeting_form_unknown")
    if moment <= (now or utcnow()):
        raise DomainError("meeting_in_past")
    if not in_scope(staff, unit):
        raise NotFound("not_found")
    room = unit.council_room
    meeting = Meeting(unit_id=unit.id, council_room_id=room.id if room else None, starts_at=moment, place=place,
                      form=form, created_at=utcnow())
    session.add(meeting)
    session.flush()
    detail = MeetingDetail(meeting_id=meeting.id, title=title, created_by_id=staff.id)
    detail.meeting = meeting
    session.add(detail)
    session.flush()
    return detail


def _open(detail: MeetingDetail) -> None:
    if detail.held_at is not None:
        raise DomainError("meeting_already_held")


def meeting_params(detail: MeetingDetail) -> dict:
    return {"meeting_id": detail.meeting_id, "meeting_title": detail.title,
            "starts_at": detail.meeting.starts_at.isoformat(), "place": detail.meeting.place}


def add_topic(session: Session, staff: Staff, detail: MeetingDetail, topic_id) -> Topic:
    """Put an approved topic of the meeting's unit on its agenda; every resident behind it is told."""
    _open(detail)
    try:
        topic = session.get(Topic, int(topic_id))
    except (TypeError, ValueError):
        topic = None
    if topic is None:
        raise NotFound("topic_not_found")
    if topic.unit_id != detail.meeting.unit_id:
        raise DomainError("agenda_topic_other_unit")
    if topic.state not in (TopicState.approved, TopicState.no_consensus):
        raise DomainError("agenda_topic_not_ready")
    detail.meeting.topics.append(topic)
    return transition_topic(session, topic, "schedule", actor=Actor.staff(staff), reason=detail.title,
                            data=meeting_params(detail))


def agenda_candidates(session: Session, detail: MeetingDetail) -> list[Topic]:
    return list(session.scalars(select(Topic).where(
        Topic.unit_id == detail.meeting.unit_id,
        Topic.state.in_([TopicState.approved, TopicState.no_consensus])).order_by(Topic.id)))


def invite(session: Session, staff: Staff, detail: MeetingDetail, *, role: str, name: str) -> MeetingParticipant:
    """Invite a 议事代表, 党员, 法律顾问 or a department to the meeting."""
    _open(detail)
    role = forms.choice(role, PARTICIPANT_ROLES, "participant_role_unknown")
    name = forms.text(name, "participant_name_empty", 64)
    person = MeetingParticipant(meeting_id=detail.meeting_id, role=role, name=name, created_at=utcnow())
    session.add(person)
    session.flush()
    return person


def participants(session: Session, detail: MeetingDetail) -> list[MeetingParticipant]:
    return list(session.scalars(select(MeetingParticipant).where(MeetingParticipant.meeting_id == detail.meeting_id)
                                .order_by(MeetingParticipant.id)))


def registrations(session: Session, detail: MeetingDetail) -> list[MeetingRegistration]:
    return list(session.scalars(select(MeetingRegistration)
                                .where(MeetingRegistration.meeting_id == detail.meeting_id)
                                .order_by(MeetingRegistration.id)))


def resident_meeting(session: Session, resident: Resident, meeting_id: int) -> MeetingDetail:
    """A meeting one of whose agenda topics the resident is behind; any other answers like a missing one."""
    detail = session.get(MeetingDetail, meeting_id)
    if detail is None or not _behind_agenda(session, resident, detail):
        raise NotFound("meeting_not_found")
    return detail


def _behind_agenda(session: Session, resident: Resident, detail: MeetingDetail) -> bool:
    topic_ids = [t.id for t in detail.meeting.topics]
    return bool(topic_ids) and session.scalar(select(exists().where(
        Complaint.topic_id.in_(topic_ids), Complaint.resident_id == resident.id))) is True


def register(session: Session, resident: Resident, detail: MeetingDetail) -> MeetingRegistration:
    """A resident behind an agenda topic registers to attend; they get a confirmation message."""
    if not _behind_agenda(session, resident, detail):
        raise DomainError("registration_not_behind", status=403)
    if detail.held_at is not None or detail.meeting.starts_at <= utcnow():
        raise DomainError("registration_closed", status=409)
    if session.scalar(select(MeetingRegistration.id).where(MeetingRegistration.meeting_id == detail.meeting_id,
                                                           MeetingRegistration.resident_id == resident.id)):
        raise DomainError("registration_duplicate", status=409)
    row = MeetingRegistration(meeting_id=detail.meeting_id, resident_id=resident.id, created_at=utcnow())
    session.add(row)
    session.flush()
    notify(session, "meeting_registered", recipient_kind="resident", recipient_id=resident.id,
           openid=resident.openid, params={**meeting_params(detail), "at": utcnow().isoformat()})
    return row


def record(session: Session, staff: Staff, detail: MeetingDetail, *, minutes: str, outcomes: dict[int, tuple],
           present_participants: set[int], present_residents: set[int]) -> MeetingDetail:
    """Record that the meeting was held: attendance, minutes and each agenda topic's outcome.

    Each outcome moves its topic (agree / disagree / refer), which tells the residents behind it.
    """
    _open(detail)
    minutes = forms.text(minutes, "minutes_empty", 20000)
    pending = [t for t in detail.meeting.topics if t.state == TopicState.scheduled]
    decided = []
    for topic in pending:
        result, solution = outcomes.get(topic.id, (None, ""))
        result = forms.choice(result, OUTCOME_RESULTS, "outcome_unknown")
        solution = (solution or "").strip()
        if result == "consensus" and not solution:
            raise DomainError("solution_empty")
        decided.append((topic, result, solution))
    now = utcnow()
    detail.meeting.minutes = minutes
    detail.held_at = now
    for person in participants(session, detail):
        person.attended = person.id in present_participants
    for row in registrations(session, detail):
        row.attended = row.id in present_residents
    actor = Actor.staff(staff)
    for topic, result, solution in decided:
        session.add(MeetingOutcome(meeting_id=detail.meeting_id, topic_id=topic.id, result=OutcomeResult(result),
                                   solution=solution, created_at=now))
        transition_topic(session, topic, OUTCOME_ACTIONS[result], actor=actor, reason=solution or None,
                         data={"meeting_id": detail.meeting_id})
    session.flush()
    return detail


def outcomes(session: Session, detail: MeetingDetail) -> dict[int, MeetingOutcome]:
    return {o.topic_id: o for o in session.scalars(select(MeetingOutcome)
                                                   .where(MeetingOutcome.meeting_id == detail.meeting_id))}


def agreed_solution(session: Session, topic: Topic) -> str:
    return session.scalar(select(MeetingOutcome.solution).where(MeetingOutcome.topic_id == topic.id,
                                                                MeetingOutcome.result == OutcomeResult.consensus)
                          .order_by(MeetingOutcome.id.desc()).limit(1)) or ""


def send_reminders(session: Session, *, now: dt.datetime, ahead: dt.timedelta) -> int:
    """Remind every registered resident of meetings starting within `ahead`; each meeting is reminded once."""
    due = session.scalars(select(MeetingDetail).join(Meeting).where(
        MeetingDetail.reminded_at.is_(None), MeetingDetail.held_at.is_(None), Meeting.starts_at > now,
        Meeting.starts_at <= now + ahead).order_by(Meeting.starts_at)).all()
    sent = 0
    for detail in due:
        claimed = session.execute(update(MeetingDetail).where(MeetingDetail.meeting_id == detail.meeting_id,
                                                              MeetingDetail.reminded_at.is_(None))
                                  .values(reminded_at=now).execution_options(synchronize_session=False)).rowcount
        if not claimed:  # another worker reminded it meanwhile
            continue
        for row in registrations(session, detail):
            notify(session, "meeting_reminder", recipient_kind="resident", recipient_id=row.resident_id,
                   openid=row.resident.openid, params={**meeting_params(detail), "at": now.isoformat()})
            sent += 1
    session.flush()
    return sent
