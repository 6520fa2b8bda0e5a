"""The mini-program's council endpoints: my topics and meetings, a topic's progress, rating it, rating the answer
to a complaint (回访), a meeting and registering for it, the public board. The times added for meetings carry
their offset, in China time (+08:00)."""

from __future__ import annotations

from flask import Blueprint, request, url_for
from sqlalchemy import select, union
from sqlalchemy.orm import Session

from models import Complaint, Meeting, NotFound, Resident, Topic, utcnow
from models.council import MeetingDetail, MeetingInvitation, MeetingRegistration
from models.entities import meeting_topics
from models.legal import LegalOpinion, ReadingDocument, documents_of, latest_opinion, published_opinion
from models.residents import authenticate_resident
from qr.services import resolve_scene
from web.http import db, json_body, ok
from web.messages import (
    LEAD_KINDS,
    LEGAL_CONCLUSIONS,
    MEETING_FORMS,
    MEETING_STATES,
    OUTCOME_RESULTS,
    PUBLICATION_KINDS,
    RATING_LEVELS,
    TOPIC_STATES,
)

from . import disclosure, followup, forms, implementation, meetings, services
from .board import board_for
from .legal import document_response
from .meetings import local_iso, meeting_state
from .views import photo_response

bp = Blueprint("council_api", __name__, url_prefix="/api/v1")
MY_LIMIT = 200


def topic_meetings(session: Session, topic: Topic) -> list[MeetingDetail]:
    """The meetings that had or have the topic on their agenda, the earliest first."""
    return list(session.scalars(select(MeetingDetail).join(Meeting).join(
        meeting_topics, meeting_topics.c.meeting_id == Meeting.id).where(meeting_topics.c.topic_id == topic.id)
        .order_by(Meeting.starts_at, Meeting.id)))


def resident_meetings(session: Session, resident: Resident) -> list[MeetingDetail]:
    """The meetings a resident was invited to, registered for or is behind an agenda topic of: those to come first
    (the next one first), then the others, the latest first."""
    ids = union(
        select(MeetingInvitation.meeting_id).where(MeetingInvitation.resident_id == resident.id),
        select(MeetingRegistration.meeting_id).where(MeetingRegistration.resident_id == resident.id),
        select(meeting_topics.c.meeting_id).join(Complaint, Complaint.topic_id == meeting_topics.c.topic_id)
        .where(Complaint.resident_id == resident.id))
    rows = list(session.scalars(select(MeetingDetail).join(Meeting).where(MeetingDetail.meeting_id.in_(ids))
                                .order_by(Meeting.starts_at.desc(), Meeting.id.desc()).limit(200)))
    upcoming = sorted((d for d in rows if meeting_state(d) == "upcoming"), key=lambda d: d.meeting.starts_at)
    return upcoming + [d for d in rows if meeting_state(d) != "upcoming"]


def registered_meeting_ids(session: Session, resident: Resident) -> set[int]:
    return set(session.scalars(select(MeetingRegistration.meeting_id)
                               .where(MeetingRegistration.resident_id == resident.id)))


def resident_topics(session: Session, resident: Resident) -> list[Topic]:
    """The topics the resident's complaints are behind, the latest change first."""
    ids = select(Complaint.topic_id).where(Complaint.resident_id == resident.id, Complaint.topic_id.is_not(None))
    return list(session.scalars(select(Topic).where(Topic.id.in_(ids))
                                .order_by(Topic.state_changed_at.desc(), Topic.id.desc()).limit(MY_LIMIT)))


def _resident():
    return authenticate_resident(db(), request.headers.get("Authorization"))


def topic_json(session, topic, resident) -> dict:
    assignment = implementation.assignment_of(session, topic)
    round_ = followup.current_round(session, topic)
    mine = [r for r in followup.ratings(session, topic) if r.resident_id == resident.id and r.source == "resident"]
    return {
        "id": topic.id, "title": topic.title, "unit": topic.unit.name, "state": topic.state.value,
        "state_label": TOPIC_STATES[topic.state.value], "solution": services.solution(session, topic),
        "reply": services.reply(session, topic),
        "assignment": None if assignment is None else {
            "lead": f"{LEAD_KINDS[assignment.lead_kind.value]}·{assignment.lead_name}",
            "due_on": assignment.due_on.isoformat(), "percent": assignment.percent},
        "can_rate": topic.state.value == "implemented" and not any(r.round == round_ for r in mine),
        "my_ratings": [{"round": r.round, "level": r.level.value, "label": RATING_LEVELS[r.level.value],
                        "reason": r.reason} for r in mine],
        "state_changed_at": local_iso(topic.state_changed_at),
        "meetings": [meeting_brief(d) for d in topic_meetings(session, topic)],
        "documents": [document_json(d, url_for("council_api.topic_document", topic_id=topic.id, document_id=d.id))
                      for d in documents_of(session, topic=topic)],
        "legal_opinion": opinion_json(published_opinion(session, topic, forms.today())),
    }


def document_json(doc: ReadingDocument, url: str) -> dict:
    """A reading-pack document (精读本) as the mini-program lists it, with where to download it."""
    return {"id": doc.id, "title": doc.title, "content_type": doc.content_type, "size": doc.size, "url": url,
            "created_at": local_iso(doc.created_at)}


def opinion_json(opinion: LegalOpinion | None) -> dict | None:
    """The legal opinion published with the topic's decision (援法议事), or None before it is published."""
    if opinion is None:
        return None
    return {"conclusion": opinion.conclusion.value, "conclusion_label": LEGAL_CONCLUSIONS[opinion.conclusion.value],
            "text": opinion.text, "adviser": opinion.signed_name, "signed_at": local_iso(opinion.signed_at)}


def meeting_brief(detail: MeetingDetail) -> dict:
    state = meeting_state(detail)
    return {"id": detail.meeting_id, "title": detail.title, "starts_at": local_iso(detail.meeting.starts_at),
            "place": detail.meeting.place, "state": state, "state_label": MEETING_STATES[state],
            "unit": detail.meeting.unit.name, "room": room_json(detail.meeting.council_room)}


def room_json(room) -> dict | None:
    """The council room a meeting takes place in: its name, address and opening times."""
    return None if room is None else {"name": room.name, "address": room.address, "opening_hours": room.opening_hours}


@bp.get("/my/topics")
def my_topics():
    """The topics the resident's complaints became or joined, with their meetings."""
    resident = _resident()
    return ok([topic_json(db(), t, resident) for t in resident_topics(db(), resident)])


@bp.get("/my/meetings")
def my_meetings():
    """The meetings the resident was invited to, registered for or is behind an agenda topic of."""
    resident = _resident()
    registered = registered_meeting_ids(db(), resident)
    return ok([meeting_json(db(), d, resident, registered=d.meeting_id in registered)
               for d in resident_meetings(db(), resident)])


@bp.get("/topics/<int:topic_id>")
def show_topic(topic_id: int):
    resident = _resident()
    topic = followup.resident_topic(db(), resident, topic_id)
    return ok(topic_json(db(), topic, resident))


@bp.post("/topics/<int:topic_id>/ratings")
def rate_topic(topic_id: int):
    resident = _resident()
    body = json_body({"level", "reason"})
    topic = db().get(Topic, topic_id)
    if topic is None:
        raise NotFound("topic_not_found")
    row = followup.rate(db(), topic, resident, level=body.get("level"), reason=body.get("reason"))
    return ok({"id": row.id, "round": row.round, "level": row.level.value, "topic": topic_json(db(), topic, resident)},
              201)


def complaint_followup_json(session: Session, complaint: Complaint) -> dict:
    """The 回访 of a complaint as the resident sees it: whether its answer can be rated now, and their ratings."""
    return {
        "complaint_id": complaint.id, "state": complaint.state.value,
        "can_rate": followup.can_rate_complaint(session, complaint),
        "my_ratings": [{"round": r.round, "level": r.level.value, "label": RATING_LEVELS[r.level.value],
                        "reason": r.reason, "created_at": local_iso(r.created_at)}
                       for r in followup.complaint_ratings(session, complaint) if r.source == "resident"],
    }


@bp.get("/complaints/<int:complaint_id>/ratings")
def complaint_ratings(complaint_id: int):
    """Whether the answer to the resident's complaint (solved or declined) can be rated, and their ratings."""
    resident = _resident()
    return ok(complaint_followup_json(db(), followup.resident_complaint(db(), resident, complaint_id)))


@bp.post("/complaints/<int:complaint_id>/ratings")
def rate_complaint(complaint_id: int):
    """回访 of a complaint solved in the grid or declined: 满意/基本满意/不满意 with an optional comment."""
    resident = _resident()
    body = json_body({"level", "reason"})
    complaint = followup.resident_complaint(db(), resident, complaint_id)
    row = followup.rate_complaint(db(), complaint, resident, level=body.get("level"), reason=body.get("reason"))
    return ok({"id": row.id, "round": row.round, "level": row.level.value,
               "complaint": complaint_followup_json(db(), complaint)}, 201)


@bp.get("/meetings/<int:meeting_id>")
def show_meeting(meeting_id: int):
    resident = _resident()
    detail = meetings.resident_meeting(db(), resident, meeting_id)
    return ok(meeting_json(db(), detail, resident))


def meeting_json(session: Session, detail: MeetingDetail, resident: Resident, *, registered: bool | None = None
                 ) -> dict:
    """A meeting as its page shows it: when and where, its state, registration, its agenda topics with their
    outcomes, and the minutes once held."""
    outcomes = meetings.outcomes(session, detail)
    state = meeting_state(detail)
    count = meetings.registered_count(session, detail)
    if registered is None:
        registered = meetings.is_registered(session, resident, detail)
    places_left = None if detail.capacity is None else max(0, detail.capacity - count)
    return {
        **meeting_brief(detail), "form": detail.meeting.form,
        "form_label": MEETING_FORMS.get(detail.meeting.form, detail.meeting.form), "held": state == "held",
        "held_at": local_iso(detail.held_at), "open": detail.is_open, "capacity": detail.capacity,
        "registered_count": count, "places_left": places_left, "registered": registered,
        "can_register": (state == "upcoming" and not registered and places_left != 0
                         and detail.meeting.starts_at > utcnow()),
        "cancel_reason": detail.cancel_reason if state == "cancelled" else None,
        "minutes": detail.meeting.minutes if state == "held" else None,
        "topics": [{"id": t.id, "title": t.title, "state": t.state.value, "state_label": TOPIC_STATES[t.state.value],
                    "result": outcomes[t.id].result.value if t.id in outcomes else None,
                    "outcome": OUTCOME_RESULTS[outcomes[t.id].result.value] if t.id in outcomes else None,
                    "solution": outcomes[t.id].solution if t.id in outcomes else None}
                   for t in detail.meeting.topics],
        # the reading pack (精读本): the meeting's own documents, then its agenda topics'
        "documents": [document_json(d, url_for("council_api.meeting_document", meeting_id=detail.meeting_id,
                                               document_id=d.id))
                      for d in meeting_documents(session, detail)],
    }


def meeting_documents(session: Session, detail: MeetingDetail) -> list[ReadingDocument]:
    return documents_of(session, meeting=detail.meeting) + [
        d for t in detail.meeting.topics for d in documents_of(session, topic=t)]


@bp.get("/topics/<int:topic_id>/documents/<int:document_id>")
def topic_document(topic_id: int, document_id: int):
    """A reading-pack document of a topic the resident is behind."""
    resident = _resident()
    topic = followup.resident_topic(db(), resident, topic_id)
    doc = next((d for d in documents_of(db(), topic=topic) if d.id == document_id), None)
    if doc is None:
        raise NotFound("document_not_found")
    return document_response(db(), doc)


@bp.get("/meetings/<int:meeting_id>/documents/<int:document_id>")
def meeting_document(meeting_id: int, document_id: int):
    """A reading-pack document of a meeting the resident may see, or of one of its agenda topics."""
    resident = _resident()
    detail = meetings.resident_meeting(db(), resident, meeting_id)
    doc = next((d for d in meeting_documents(db(), detail) if d.id == document_id), None)
    if doc is None:
        raise NotFound("document_not_found")
    return document_response(db(), doc)


@bp.post("/meetings/<int:meeting_id>/registrations")
def register(meeting_id: int):
    resident = _resident()
    body = json_body({"scene"})
    detail = meetings.resident_meeting(db(), resident, meeting_id)
    row = meetings.register(db(), resident, detail, scene=body.get("scene"))
    return ok({"id": row.id, "meeting": meeting_json(db(), detail, resident, registered=True)}, 201)


def _result_photos(scene: str, publication) -> list[str]:
    if publication.kind.value != "result":
        return []
    assignment = implementation.assignment_of(db(), publication.topic)
    return [url_for("council_api.board_photo", scene=scene, topic_id=publication.topic_id, name=name)
            for update in (assignment.updates if assignment else []) for name in (update.photos or [])]


@bp.get("/boards/<scene>")
def board(scene: str):
    _resident()
    code = resolve_scene(db(), scene)
    owner, rows = disclosure.board(db(), code.unit)
    upcoming = [d for d in board_for(db(), scene).upcoming if meeting_state(d) == "upcoming"]
    return ok({"unit": owner.full_name(), "meetings": [meeting_brief(d) for d in upcoming], "publications": [
        {"topic": p.topic.title, "kind": p.kind.value, "kind_label": PUBLICATION_KINDS[p.kind.value], "text": p.text,
         "published_on": p.published_on.isoformat(), "photos": _result_photos(scene, p),
         "legal_opinion": opinion_json(latest_opinion(db(), p.topic) if p.kind.value == "decision" else None)}
        for p in rows]})


@bp.get("/boards/<scene>/topics/<int:topic_id>/photos/<name>")
def board_photo(scene: str, topic_id: int, name: str):
    """A progress photo of a topic on this board, once its result is published there; otherwise 404."""
    _resident()
    owner, _rows = disclosure.board(db(), resolve_scene(db(), scene).unit)
    topic = db().get(Topic, topic_id)
    if topic is None or topic.unit_id != owner.id or not disclosure.result_published(db(), topic):
        raise NotFound("photo_not_found")
    return photo_response(implementation.progress_photo(db(), topic, name), name)
