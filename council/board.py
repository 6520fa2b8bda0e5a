"""The public board of a unit (两公开) for anyone who scans its poster, without signing in: the matters accepted
there and below and where each stands, the council's topics and their outcomes, the decisions and results made
public, and its open meetings. Nothing personal is shown: no names, phones or the words of a complaint."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from models import Complaint, ComplaintState, Meeting, NotFound, Topic, TopicState, Unit, UnitLevel, utcnow
from models.base import CHINA
from models.council import MeetingDetail, MeetingOutcome, Publication, PublicationKind
from models.legal import LegalOpinion, ReadingDocument, documents_for_topics, latest_opinion
from models.representatives import PUBLIC_STATES, AppointmentState, Representative
from models.scope import nearest
from qr.personal import LABELS as PERSONAL_LABELS
from qr.personal import current_personal_code, scene_unit
from qr.posters import qr_png
from qr.services import resolve_scene
from web.messages import COMPLAINT_STATES, OUTCOME_RESULTS, TOPIC_STATES

from . import disclosure
from .meetings import meeting_state

LIMIT = 30
# Accepted matters: past the content check, and not folded into another complaint.
SHOWN_COMPLAINTS = (ComplaintState.awaiting_triage, ComplaintState.solved, ComplaintState.not_deliberable,
                    ComplaintState.promoted, ComplaintState.closed)
SHOWN_LABELS = [(s.value, COMPLAINT_STATES[s.value]) for s in SHOWN_COMPLAINTS]
# Topics the secretary accepted for the council.
SHOWN_TOPICS = tuple(s for s in TopicState if s not in (TopicState.proposed, TopicState.rejected, TopicState.merged))


@dataclasses.dataclass(frozen=True)
class Matter:
    category: str
    unit_name: str
    state: str
    state_label: str
    day: dt.date


@dataclasses.dataclass(frozen=True)
class TopicLine:
    title: str
    state_label: str
    outcome: str | None
    solution: str
    day: dt.date
    topic_id: int | None = None


@dataclasses.dataclass
class Board:
    owner: Unit
    counts: dict[str, int]  # complaint state -> how many, over everything shown
    matters: list[Matter]
    topics: list[TopicLine]
    publications: list[Publication]
    upcoming: list[MeetingDetail]
    held: list[MeetingDetail]
    opinions: dict[int, LegalOpinion] = dataclasses.field(default_factory=dict)  # decision's topic -> 法律意见
    documents: dict[int, list[ReadingDocument]] = dataclasses.field(default_factory=dict)  # topic -> 精读本


def _day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(CHINA).date()


def _below(owner: Unit):
    return select(Unit.id).where(Unit.path.startswith(owner.path, autoescape=True))


def _open_meetings(owner: Unit):
    """Open meetings of the owner's unit, the units below it, and those above (a street's meeting is theirs too)."""
    return select(MeetingDetail).join(Meeting).where(
        MeetingDetail.is_open.is_(True),
        or_(Meeting.unit_id.in_(_below(owner)), Meeting.unit_id.in_(owner.ancestor_ids())))


def board_for(session: Session, scene: str, now: dt.datetime | None = None) -> Board:
    """The board behind a scanned code (its community's, or the unit's own above that level); reads only."""
    now = now or utcnow()
    owner, publications = disclosure.board(session, resolve_scene(session, scene).unit)
    below = _below(owner)
    shown = (Complaint.unit_id.in_(below), Complaint.state.in_(SHOWN_COMPLAINTS))
    counts = {ComplaintState(state).value: n for state, n in session.execute(
        select(Complaint.state, func.count()).where(*shown).group_by(Complaint.state))}
    matters = [Matter(category, unit_name, ComplaintState(state).value, COMPLAINT_STATES[ComplaintState(state).value],
                      _day(created))
               for category, unit_name, state, created in session.execute(
                   select(Complaint.category, Unit.name, Complaint.state, Complaint.created_at)
                   .join(Unit, Unit.id == Complaint.unit_id).where(*shown)
                   .order_by(Complaint.created_at.desc(), Complaint.id.desc()).limit(LIMIT))]
    topics = list(session.scalars(select(Topic).where(Topic.unit_id.in_(below), Topic.state.in_(SHOWN_TOPICS))
                                  .order_by(Topic.state_changed_at.desc(), Topic.id.desc()).limit(LIMIT)))
    latest = {o.topic_id: o for o in session.scalars(
        select(MeetingOutcome).where(MeetingOutcome.topic_id.in_([t.id for t in topics])).order_by(MeetingOutcome.id))}
    lines = [TopicLine(t.title, TOPIC_STATES[t.state.value],
                       OUTCOME_RESULTS[latest[t.id].result.value] if t.id in latest else None,
                       latest[t.id].solution if t.id in latest else "", _day(t.state_changed_at), t.id)
             for t in topics]
    rows = list(session.scalars(_open_meetings(owner).order_by(Meeting.starts_at.desc()).limit(50)))
    upcoming = sorted((d for d in rows if d.held_at is None and d.meeting.starts_at > now),
                      key=lambda d: d.meeting.starts_at)
    held = [d for d in rows if meeting_state(d) == "held"][:5]
    # The legal opinion is published with the decision (援法议事); the reading pack with the topic.
    opinions = {p.topic_id: o for p in publications if p.kind == PublicationKind.decision
                and (o := latest_opinion(session, p.topic)) is not None}
    return Board(owner, counts, matters, lines, publications, upcoming, held, opinions,
                 documents_for_topics(session, [t.id for t in topics]))


def open_meeting(session: Session, scene: str, meeting_id: int) -> tuple[Unit, MeetingDetail]:
    """An open meeting shown on the board behind the scanned code; any other answers like a missing one."""
    unit = resolve_scene(session, scene).unit
    owner = nearest(unit, UnitLevel.community) or unit
    detail = session.scalar(_open_meetings(owner).where(MeetingDetail.meeting_id == meeting_id))
    if detail is None:
        raise NotFound("meeting_not_found")
    return owner, detail


def public_representatives(session: Session, scene: str) -> tuple[Unit, list[tuple[Representative, str | None]]]:
    """The representatives and liaisons of the board's units, publicly announced (公示中) or appointed, each with
    their personal code's link once appointed; behind a unit code or a personal code. Reads only: the names,
    kinds, units and duties that the appointment made public, nothing else."""
    owner = nearest(scene_unit(session, scene), UnitLevel.community) or scene_unit(session, scene)
    reps = session.scalars(select(Representative).join(Unit, Unit.id == Representative.unit_id)
                           .where(Unit.path.startswith(owner.path, autoescape=True),
                                  Representative.state.in_(PUBLIC_STATES))
                           .order_by(Unit.path, Representative.kind, Representative.id)).all()
    out = []
    for rep in reps:
        code = current_personal_code(session, rep) if rep.state == AppointmentState.appointed else None
        out.append((rep, code.token if code else None))
    return owner, out


def representative_labels() -> dict[str, dict[str, str]]:
    """The words the public list shows for kinds (议政代表, 民意联络员) and duties (候访, 接访, 约访, 走访)."""
    return dict(PERSONAL_LABELS)


def public_code_token(session: Session, scene: str, rep_id: int) -> str:
    """The personal code's token of a representative on the board behind `scene`; any other answers 404."""
    _owner, listed = public_representatives(session, scene)
    token = next((token for rep, token in listed if rep.id == rep_id and token), None)
    if token is None:
        raise NotFound("representative_not_found")
    return token


def public_code_png(session: Session, scene: str, rep_id: int, public_url: str) -> bytes:
    """The QR of a listed representative's personal code, to scan off the board's page."""
    return qr_png(f"{public_url.rstrip('/')}/q/{public_code_token(session, scene, rep_id)}", box_px=6)
