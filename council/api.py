"""The mini-program's council endpoints: a topic's progress, rating it, registering for a meeting, the public board."""

from __future__ import annotations

from flask import Blueprint, request, url_for

from models import NotFound, Topic
from models.residents import authenticate_resident
from qr.services import resolve_scene
from web.http import db, json_body, ok
from web.messages import LEAD_KINDS, OUTCOME_RESULTS, PUBLICATION_KINDS, RATING_LEVELS, TOPIC_STATES

from . import disclosure, followup, implementation, meetings
from .views import photo_response

bp = Blueprint("council_api", __name__, url_prefix="/api/v1")


def _resident():
    return authenticate_resident(db(), request.headers.get("Authorization"))


def topic_json(session, topic, resident) -> dict:
    assignment = implementation.assignment_of(session, topic)
    round_ = followup.current_round(session, topic)
    mine = [r for r in followup.ratings(session, topic) if r.resident_id == resident.id]
    return {
        "id": topic.id, "title": topic.title, "unit": topic.unit.name, "state": topic.state.value,
        "state_label": TOPIC_STATES[topic.state.value], "solution": meetings.agreed_solution(session, topic),
        "assignment": None if assignment is None else {
            "lead": f"{LEAD_KINDS[assignment.lead_kind.value]}·{assignment.lead_name}",
            "due_on": assignment.due_on.isoformat(), "percent": assignment.percent},
        "can_rate": topic.state.value == "implemented" and not any(r.round == round_ for r in mine),
        "my_ratings": [{"round": r.round, "level": r.level.value, "label": RATING_LEVELS[r.level.value],
                        "reason": r.reason} for r in mine],
    }


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


@bp.get("/meetings/<int:meeting_id>")
def show_meeting(meeting_id: int):
    resident = _resident()
    detail = meetings.resident_meeting(db(), resident, meeting_id)
    return ok(_meeting_json(detail))


def _meeting_json(detail) -> dict:
    outcomes = meetings.outcomes(db(), detail)
    return {"id": detail.meeting_id, "title": detail.title, "starts_at": detail.meeting.starts_at.isoformat(),
            "place": detail.meeting.place, "held": detail.held_at is not None,
            "topics": [{"id": t.id, "title": t.title,
                        "outcome": OUTCOME_RESULTS[outcomes[t.id].result.value] if t.id in outcomes else None}
                       for t in detail.meeting.topics]}


@bp.post("/meetings/<int:meeting_id>/registrations")
def register(meeting_id: int):
    resident = _resident()
    json_body(set())
    detail = meetings.resident_meeting(db(), resident, meeting_id)
    row = meetings.register(db(), resident, detail)
    return ok({"id": row.id, "meeting": _meeting_json(detail)}, 201)


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
    return ok({"unit": owner.full_name(), "publications": [
        {"topic": p.topic.title, "kind": p.kind.value, "kind_label": PUBLICATION_KINDS[p.kind.value], "text": p.text,
         "published_on": p.published_on.isoformat(), "photos": _result_photos(scene, p)} for p in rows]})


@bp.get("/boards/<scene>/topics/<int:topic_id>/photos/<name>")
def board_photo(scene: str, topic_id: int, name: str):
    """A progress photo of a topic on this board, once its result is published there; otherwise 404."""
    _resident()
    owner, _rows = disclosure.board(db(), resolve_scene(db(), scene).unit)
    topic = db().get(Topic, topic_id)
    if topic is None or topic.unit_id != owner.id or not disclosure.result_published(db(), topic):
        raise NotFound("photo_not_found")
    return photo_response(implementation.progress_photo(db(), topic, name), name)
