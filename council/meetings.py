"""议事会: schedule, agenda and the residents' invitations, participants, open meetings and registrations up to a
capacity, cancelling and moving a meeting, the record of what was decided (after the start), reminders."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import exists, func, select, union, update
from sqlalchemy.orm import Session

from models import (
    Actor,
    AuditEvent,
    Complaint,
    CouncilRoom,
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
from models.base import CHINA
from models.council import (
    MeetingDetail,
    MeetingInvitation,
    MeetingOutcome,
    MeetingParticipant,
    MeetingRegistration,
    OutcomeResult,
)
from models.lifecycle import notify, residents_behind
from models.scope import in_scope, scope_clause
from qr.services import resolve_scene
from web.messages import MEETING_FORMS, OUTCOME_RESULTS, PARTICIPANT_ROLES

from . import forms

log = logging.getLogger(__name__)
OUTCOME_ACTIONS = {"consensus": "agree", "no_consensus": "disagree", "referred": "refer"}
CAPACITY_LIMIT = 10000


def local_iso(moment: dt.datetime | None) -> str | None:
    """A time as residents read it: China time, with its +08:00 offset."""
    return None if moment is None else moment.astimezone(CHINA).isoformat()


def meeting_state(detail: MeetingDetail) -> str:
    """upcoming, held or cancelled."""
    return "cancelled" if detail.cancelled_at else "held" if detail.held_at else "upcoming"


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


def rooms_for(session: Session, units: list[Unit]) -> list[CouncilRoom]:
    """The rooms in use where these units' councils may meet: theirs and those of the units above, nearest first."""
    ids = {i for unit in units for i in unit.ancestor_ids()}
    return list(session.scalars(select(CouncilRoom).join(Unit, Unit.id == CouncilRoom.unit_id).where(
        CouncilRoom.unit_id.in_(ids), CouncilRoom.retired_at.is_(None)).order_by(Unit.path.desc(), CouncilRoom.id)))


def _room(session: Session, unit: Unit, room_id) -> CouncilRoom | None:
    """The room chosen for a meeting of `unit` (one of rooms_for); none chosen: the unit's own first room."""
    if room_id in (None, ""):
        return unit.council_room
    room = next((r for r in rooms_for(session, [unit]) if str(r.id) == str(room_id).strip()), None)
    if room is None:
        raise DomainError("meeting_room_unavailable")
    return room


def schedule_meeting(session: Session, staff: Staff, unit: Unit, *, title: str, starts_at: str, place: str,
                     form: str, is_open: bool = False, capacity: str | int | None = None,
                     room_id: str | int | None = None, now: dt.datetime | None = None) -> MeetingDetail:
    """Schedule a council meeting of the unit in a council room (`room_id`: one of rooms_for; none: the unit's own
    first room), by default at the room's name and address; refuses a time already past. An open meeting is on the
    unit's public board and anyone in the unit may register, up to `capacity` (none: no limit).
    """
    title = forms.text(title, "meeting_title_empty", 60, "title_too_long")
    moment = forms.local_datetime(starts_at)
    form = forms.choice(form, MEETING_FORMS, "meeting_form_unknown")
    capacity = None if capacity in (None, "") else forms.integer(capacity, "capacity_invalid", 1, CAPACITY_LIMIT)
    if moment <= (now or utcnow()):
        raise DomainError("meeting_in_past")
    if not in_scope(staff, unit):
        raise NotFound("not_found")
    room = _room(session, unit, room_id)
    if room_id not in (None, "") and not (isinstance(place, str) and place.strip()):
        place = f"{room.name}（{room.address}）" if room.address else room.name
    place = forms.text(place, "meeting_place_empty", 200)
    meeting = Meeting(unit_id=unit.id, council_room=room, starts_at=moment, place=place, form=form, created_at=utcnow())
    session.add(meeting)
    session.flush()
    detail = MeetingDetail(meeting_id=meeting.id, title=title, created_by_id=staff.id, is_open=bool(is_open),
                           capacity=capacity)
    detail.meeting = meeting
    session.add(detail)
    session.flush()
    return detail


def _open(detail: MeetingDetail) -> None:
    if detail.cancelled_at is not None:
        raise DomainError("meeting_cancelled", status=409)
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
    transition_topic(session, topic, "schedule", actor=Actor.staff(staff), reason=detail.title,
                     data=meeting_params(detail))
    _invite_residents(session, detail, topic)
    return topic


def _invite_residents(session: Session, detail: MeetingDetail, topic: Topic) -> int:
    """Invite every resident behind the topic not yet invited to this meeting: one invitation row and one message
    each, however many of their topics are on the agenda."""
    invited = set(session.scalars(select(MeetingInvitation.resident_id)
                                  .where(MeetingInvitation.meeting_id == detail.meeting_id)))
    now = utcnow()
    sent = 0
    for complaint in residents_behind(session, topic):
        if complaint.resident_id in invited:
            continue
        invited.add(complaint.resident_id)
        session.add(MeetingInvitation(meeting_id=detail.meeting_id, resident_id=complaint.resident_id,
                                      created_at=now))
        notify(session, "meeting_invitation", recipient_kind="resident", recipient_id=complaint.resident_id,
               openid=complaint.resident.openid, params={**meeting_params(detail), "at": now.isoformat()})
        sent += 1
    session.flush()
    return sent


def _told_of_changes(session: Session, detail: MeetingDetail) -> list[Resident]:
    """The residents invited to or registered for the meeting, each once."""
    ids = union(select(MeetingInvitation.resident_id).where(MeetingInvitation.meeting_id == detail.meeting_id),
                select(MeetingRegistration.resident_id).where(MeetingRegistration.meeting_id == detail.meeting_id))
    return list(session.scalars(select(Resident).where(Resident.id.in_(ids)).order_by(Resident.id)))


def _tell_of_change(session: Session, staff: Staff, detail: MeetingDetail, action: str, reason: str,
                    data: dict) -> int:
    """Audit a cancellation or a new time, and tell each invited or registered resident once."""
    now = utcnow()
    session.add(AuditEvent(subject_kind="meeting", subject_id=detail.meeting_id, action=action, from_state=None,
                           to_state=meeting_state(detail), actor_kind="staff", actor_id=staff.id, reason=reason,
                           data=data, created_at=now))
    people = _told_of_changes(session, detail)
    for resident in people:
        notify(session, "meeting_changed", recipient_kind="resident", recipient_id=resident.id,
               openid=resident.openid, params={**meeting_params(detail), "result": action, "reason": reason,
                                               "at": now.isoformat()})
    session.flush()
    return len(people)


def cancel(session: Session, staff: Staff, detail: MeetingDetail, *, reason: str) -> MeetingDetail:
    """Cancel a meeting not yet held, with a reason; its agenda topics go back to await a meeting, and every invited
    or registered resident is told."""
    _open(detail)
    reason = forms.text(reason, "cancel_reason_empty", 200)
    detail.cancelled_at = utcnow()
    detail.cancel_reason = reason
    actor = Actor.staff(staff)
    for topic in detail.meeting.topics:
        if topic.state == TopicState.scheduled:
            transition_topic(session, topic, "unschedule", actor=actor, reason=reason,
                             data={"meeting_id": detail.meeting_id})
    _tell_of_change(session, staff, detail, "cancel", reason, {})
    return detail


def reschedule(session: Session, staff: Staff, detail: MeetingDetail, *, starts_at: str, place: str,
               reason: str = "", now: dt.datetime | None = None) -> MeetingDetail:
    """Move a meeting not yet held to a new time (and place); every invited or registered resident is told, and the
    reminder goes out again before the new time."""
    _open(detail)
    moment = forms.local_datetime(starts_at)
    place = forms.text(place, "meeting_place_empty", 200)
    reason = reason.strip()[:200] if isinstance(reason, str) else ""
    if moment <= (now or utcnow()):
        raise DomainError("meeting_in_past")
    meeting = detail.meeting
    if moment == meeting.starts_at and place == meeting.place:
        raise DomainError("meeting_unchanged")
    before = {"starts_at": meeting.starts_at.isoformat(), "place": meeting.place}
    meeting.starts_at, meeting.place = moment, place
    detail.reminded_at = None
    _tell_of_change(session, staff, detail, "reschedule", reason, {"before": before})
    return detail


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
    """An open meeting, or one the resident was invited to, registered for or is behind an agenda topic of; any
    other answers like a missing one."""
    detail = session.get(MeetingDetail, meeting_id)
    if detail is None or not (detail.is_open or _connected(session, resident, detail)
                              or is_registered(session, resident, detail)):
        raise NotFound("meeting_not_found")
    return detail


def _connected(session: Session, resident: Resident, detail: MeetingDetail) -> bool:
    """Invited to the meeting, or behind one of its agenda topics."""
    return _behind_agenda(session, resident, detail) or session.scalar(select(exists().where(
        MeetingInvitation.meeting_id == detail.meeting_id, MeetingInvitation.resident_id == resident.id))) is True


def is_registered(session: Session, resident: Resident, detail: MeetingDetail) -> bool:
    return session.scalar(select(exists().where(MeetingRegistration.meeting_id == detail.meeting_id,
                                                MeetingRegistration.resident_id == resident.id))) is True


def _in_unit(session: Session, resident: Resident, detail: MeetingDetail, scene: str | None) -> bool:
    """Whether the resident belongs to the meeting's unit: the code they scanned (`scene`) or one of their
    complaints lies in it or below."""
    unit = session.get(Unit, detail.meeting.unit_id)
    if scene is not None:
        return resolve_scene(session, scene).unit.path.startswith(unit.path)
    below = select(Unit.id).where(Unit.path.startswith(unit.path, autoescape=True))
    return session.scalar(select(exists().where(Complaint.resident_id == resident.id,
                                                Complaint.unit_id.in_(below)))) is True


def _behind_agenda(session: Session, resident: Resident, detail: MeetingDetail) -> bool:
    topic_ids = [t.id for t in detail.meeting.topics]
    return bool(topic_ids) and session.scalar(select(exists().where(
        Complaint.topic_id.in_(topic_ids), Complaint.resident_id == resident.id))) is True


def register(session: Session, resident: Resident, detail: MeetingDetail, *, scene: str | None = None
             ) -> MeetingRegistration:
    """A resident registers to attend, up to the meeting's capacity; they get a confirmation message.

    Residents invited or behind an agenda topic may register for any meeting; anyone in the meeting's unit (by the
    code they scanned, `scene`, or a complaint of theirs there) for an open one.
    """
    if detail.cancelled_at is not None:
        raise DomainError("meeting_cancelled", status=409)
    if detail.held_at is not None or detail.meeting.starts_at <= utcnow():
        raise DomainError("registration_closed", status=409)
    if not _connected(session, resident, detail):
        if not detail.is_open:
            raise DomainError("registration_not_behind", status=403)
        if not _in_unit(session, resident, detail, scene):
            raise DomainError("registration_not_in_unit", status=403)
    # One registration at a time per meeting, so two residents cannot both take the last place.
    session.execute(select(MeetingDetail.meeting_id).where(MeetingDetail.meeting_id == detail.meeting_id)
                    .with_for_update())
    if is_registered(session, resident, detail):
        raise DomainError("registration_duplicate", status=409)
    if detail.capacity is not None and registered_count(session, detail) >= detail.capacity:
        raise DomainError("registration_full", status=409, capacity=detail.capacity)
    row = MeetingRegistration(meeting_id=detail.meeting_id, resident_id=resident.id, created_at=utcnow())
    session.add(row)
    session.flush()
    notify(session, "meeting_registered", recipient_kind="resident", recipient_id=resident.id,
           openid=resident.openid, params={**meeting_params(detail), "at": utcnow().isoformat()})
    return row


def registered_count(session: Session, detail: MeetingDetail) -> int:
    return session.scalar(select(func.count()).select_from(MeetingRegistration)
                          .where(MeetingRegistration.meeting_id == detail.meeting_id))


def record(session: Session, staff: Staff, detail: MeetingDetail, *, minutes: str, outcomes: dict[int, tuple],
           present_participants: set[int], present_residents: set[int], now: dt.datetime | None = None
           ) -> MeetingDetail:
    """Record that the meeting was held, once it has started: attendance, minutes and each agenda topic's outcome.

    Each outcome moves its topic (agree / disagree / refer), which tells the residents behind it.
    """
    _open(detail)
    now = now or utcnow()
    if now < detail.meeting.starts_at:
        raise DomainError("meeting_not_started", status=409,
                          at=detail.meeting.starts_at.astimezone(CHINA).strftime("%m月%d日 %H:%M"))
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
        MeetingDetail.reminded_at.is_(None), MeetingDetail.held_at.is_(None), MeetingDetail.cancelled_at.is_(None),
        Meeting.starts_at > now,
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
