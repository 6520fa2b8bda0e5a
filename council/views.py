"""The secretary's mobile pages: topics, meetings, 领办, 回访, disclosure; the statistics page with its exports; and
the public board of each unit with its open meetings' pages (H5, no sign-in)."""

from __future__ import annotations

import functools

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for

from models import DomainError, NotFound, StaffRole, Topic, TopicState, Unit, UnitLevel, utcnow
from models.legal import require_review
from models.lifecycle import residents_behind
from models.scope import units_in_scope
from web.auth import check_csrf, current_staff, staff_required
from web.http import db, private_image
from web.messages import (
    DELIBERATION_CATEGORIES,
    LEAD_KINDS,
    MEETING_FORMS,
    MEETING_STATES,
    OUTCOME_RESULTS,
    PARTICIPANT_ROLES,
    PUBLICATION_KINDS,
    RATING_LEVELS,
    REJECT_HANDLING,
    ROUTE_STEPS,
    TOPIC_ORIGINS,
    TOPIC_STATES,
)

from . import board as boards
from . import coverage, disclosure, followup, forms, implementation, meetings, services, statistics

bp = Blueprint("council", __name__, url_prefix="/council", template_folder="templates")
public_bp = Blueprint("board", __name__, template_folder="templates")
LABELS = {"states": TOPIC_STATES, "categories": DELIBERATION_CATEGORIES, "forms": MEETING_FORMS,
          "roles": PARTICIPANT_ROLES, "results": OUTCOME_RESULTS, "leads": LEAD_KINDS, "levels": RATING_LEVELS,
          "kinds": PUBLICATION_KINDS, "steps": ROUTE_STEPS, "meeting_states": MEETING_STATES,
          "origins": TOPIC_ORIGINS, "handling": REJECT_HANDLING,
          "meeting_state": meetings.meeting_state}


@bp.context_processor
@public_bp.context_processor
def _labels():
    return LABELS


@bp.get("/")
@staff_required(StaffRole.secretary, StaffRole.legal_adviser)
def home():
    staff = current_staff()
    if staff.role == StaffRole.legal_adviser:  # the adviser's home is the legal review
        return redirect(url_for("council.legal_home"))
    return render_template("council/home.html", topics=services.topics(db(), staff),
                           overdue=implementation.overdue(db(), staff),
                           upcoming=[m for m in meetings.meetings(db(), staff) if m.held_at is None],
                           units=units_in_scope(db(), staff))


@bp.post("/topics/")
@staff_required(StaffRole.secretary)
def propose():
    """A topic proposed by the party branch, a secretary or a 议政代表, with no complaint behind it."""
    check_csrf()
    f = request.form
    item = services.propose(db(), current_staff(), unit_id=f.get("unit_id"), title=f.get("title", ""),
                            summary=f.get("summary", ""), category=f.get("category", ""),
                            origin=f.get("origin", ""), proposer=f.get("proposer", ""))
    return _back(item)


@bp.get("/topics/<int:topic_id>")
@staff_required(StaffRole.secretary, StaffRole.grid_worker)
def topic(topic_id: int):
    session = db()
    item = services.topic_for(session, current_staff(), topic_id)
    return render_template(
        "council/topic.html", topic=item, merge_targets=services.merge_targets(session, item),
        stages=services.route_stages(session, item), assignment=implementation.assignment_of(session, item),
        solution=services.solution(session, item), ratings=followup.ratings(session, item),
        origin=services.origin_of(session, item), resolution=services.resolution(session, item),
        reply=services.reply(session, item), closable=services.CLOSABLE,
        publications=disclosure.publications(session, item), behind=residents_behind(session, item),
        today=forms.today().isoformat())


def _back(item: Topic):
    return redirect(url_for("council.topic", topic_id=item.id))


def topic_form(rule: str, *roles: StaffRole):
    """Register a form post about one topic: sign-in and role, CSRF, the topic within the staff member's scope, then
    `handler(session, staff, topic, form)`; back to the topic's page unless the handler answers otherwise."""
    def register(handler):
        @functools.wraps(handler)
        def view(topic_id: int):
            check_csrf()
            staff = current_staff()
            item = services.topic_for(db(), staff, topic_id)
            return handler(db(), staff, item, request.form) or _back(item)

        bp.add_url_rule(f"/topics/<int:topic_id>/{rule}", endpoint=handler.__name__, methods=["POST"],
                        view_func=staff_required(*(roles or (StaffRole.secretary,)))(view))
        return handler
    return register


@topic_form("approve")
def approve(session, staff, item, f):
    services.approve(session, staff, item, version=f.get("version"))


@topic_form("reject")
def reject(session, staff, item, f):
    services.reject(session, staff, item, reason=f.get("reason", ""), complaints=f.get("complaints", "triage"),
                    version=f.get("version"))


@topic_form("close")
def close(session, staff, item, f):
    services.close(session, staff, item, reason=f.get("reason", ""), version=f.get("version"))


@topic_form("resolution")
def resolve(session, staff, item, f):
    services.resolve_referral(session, staff, item, result=f.get("result", ""), text=f.get("text", ""),
                              held_on=f.get("held_on", ""), version=f.get("version"))


@topic_form("merge")
def merge(session, staff, item, f):
    services.merge(session, staff, item, into_id=f.get("into"), version=f.get("version"))
    return redirect(url_for("council.topic", topic_id=item.merged_into_id))


@topic_form("route")
def route(session, staff, item, f):
    services.record_route_stage(session, staff, item, step=f.get("step", ""), held_on=f.get("held_on", ""),
                                votes_for=f.get("votes_for", ""), votes_against=f.get("votes_against", ""),
                                votes_abstain=f.get("votes_abstain", ""))


@topic_form("assignment")
def assign(session, staff, item, f):
    implementation.assign(session, staff, item, lead_kind=f.get("lead_kind", ""), lead_name=f.get("lead_name", ""),
                          due_on=f.get("due_on", ""))


@topic_form("progress")
def progress(session, staff, item, f):
    assignment = implementation.assignment_of(session, item)
    if assignment is None:
        raise DomainError("topic_not_agreed", status=409)
    implementation.report_progress(session, staff, assignment, percent=f.get("percent", ""), note=f.get("note", ""),
                                   photos=request.files.getlist("photos"))


@topic_form("visit-rating", StaffRole.secretary, StaffRole.grid_worker)
def visit_rating(session, staff, item, f):
    followup.rate_on_visit(session, staff, item, resident_id=f.get("resident_id"), level=f.get("level"),
                           reason=f.get("reason"))


@topic_form("publications")
def publish(session, staff, item, f):
    disclosure.publish(session, staff, item, kind=f.get("kind", ""), text=f.get("text", ""),
                       published_on=f.get("published_on") or None)


def photo_response(data: bytes, name: str):
    """A progress photo under its server-made name (JPEG: re-encoded on upload)."""
    return private_image(data, "image/jpeg", name)


@bp.get("/topics/<int:topic_id>/photos/<name>")
@staff_required(StaffRole.secretary, StaffRole.grid_worker)
def progress_photo(topic_id: int, name: str):
    item = services.topic_for(db(), current_staff(), topic_id)
    return photo_response(implementation.progress_photo(db(), item, name), name)


# --- meetings ------------------------------------------------------------------------------------------------

@bp.get("/meetings/")
@staff_required(StaffRole.secretary)
def meeting_list():
    staff = current_staff()
    units = [u for u in units_in_scope(db(), staff) if u.level != UnitLevel.grid and u.retired_at is None]
    return render_template("council/meetings.html", meetings=meetings.meetings(db(), staff), units=units,
                           rooms=meetings.rooms_for(db(), units))


@bp.post("/meetings/")
@staff_required(StaffRole.secretary)
def meeting_create():
    check_csrf()
    staff = current_staff()
    f = request.form
    try:
        unit = db().get(Unit, int(f.get("unit_id", "")))
    except ValueError:
        unit = None
    if unit is None:
        raise DomainError("field_required", field="单位")
    detail = meetings.schedule_meeting(db(), staff, unit, title=f.get("title", ""), starts_at=f.get("starts_at", ""),
                                       place=f.get("place", ""), form=f.get("form", ""),
                                       is_open=f.get("is_open") == "1", capacity=f.get("capacity", ""),
                                       room_id=f.get("room_id"))
    return redirect(url_for("council.meeting", meeting_id=detail.meeting_id))


@bp.get("/meetings/<int:meeting_id>")
@staff_required(StaffRole.secretary)
def meeting(meeting_id: int):
    session = db()
    detail = meetings.meeting_for(session, current_staff(), meeting_id)
    return render_template("council/meeting.html", detail=detail, meeting=detail.meeting,
                           candidates=meetings.agenda_candidates(session, detail),
                           participants=meetings.participants(session, detail),
                           registrations=meetings.registrations(session, detail),
                           outcomes=meetings.outcomes(session, detail), scheduled=TopicState.scheduled,
                           started=detail.meeting.starts_at <= utcnow(), state=meetings.meeting_state(detail))


def meeting_form(rule: str):
    """Register a secretary's form post about one meeting, like `topic_form`; back to the meeting's page."""
    def register(handler):
        @functools.wraps(handler)
        def view(meeting_id: int):
            check_csrf()
            staff = current_staff()
            detail = meetings.meeting_for(db(), staff, meeting_id)
            handler(db(), staff, detail, request.form)
            return redirect(url_for("council.meeting", meeting_id=detail.meeting_id))

        bp.add_url_rule(f"/meetings/<int:meeting_id>/{rule}", endpoint=handler.__name__, methods=["POST"],
                        view_func=staff_required(StaffRole.secretary)(view))
        return handler
    return register


@meeting_form("agenda")
def agenda(session, staff, detail, f):
    meetings.add_topic(session, staff, detail, f.get("topic_id"))


@meeting_form("participants")
def invite(session, staff, detail, f):
    meetings.invite(session, staff, detail, role=f.get("role", ""), name=f.get("name", ""))


def _ids(name: str) -> set[int]:
    return {int(v) for v in request.form.getlist(name) if v.isdigit()}


@meeting_form("cancel")
def cancel(session, staff, detail, f):
    meetings.cancel(session, staff, detail, reason=f.get("reason", ""))


@meeting_form("reschedule")
def reschedule(session, staff, detail, f):
    meetings.reschedule(session, staff, detail, starts_at=f.get("starts_at", ""), place=f.get("place", ""),
                        reason=f.get("reason", ""))


@meeting_form("record")
def record(session, staff, detail, f):
    outcomes = {t.id: (f.get(f"result_{t.id}"), f.get(f"solution_{t.id}", "")) for t in detail.meeting.topics}
    for t in detail.meeting.topics:  # the council agrees on a major topic only after its legal review
        if t.state == TopicState.scheduled and outcomes[t.id][0] == "consensus":
            require_review(session, t, agreeing=True)
    meetings.record(session, staff, detail, minutes=f.get("minutes", ""), outcomes=outcomes,
                    present_participants=_ids("participant"), present_residents=_ids("registration"))


# --- the public board (no sign-in) ---------------------------------------------------------------------------

@public_bp.get("/board/<scene>")
def board(scene: str):
    """A unit's public board, for anyone who scans its poster: accepted matters and their state, topics and their
    outcomes, decisions and results made public, open meetings. No personal data."""
    page = boards.board_for(db(), scene)
    return render_template("council/board.html", board=page, scene=scene, matter_states=boards.SHOWN_LABELS), \
        200, {"Cache-Control": "no-cache"}


@public_bp.get("/board/<scene>/meetings/<int:meeting_id>")
def public_meeting(scene: str, meeting_id: int):
    """An open meeting's public notice, and once held its minutes and outcomes."""
    owner, detail = boards.open_meeting(db(), scene, meeting_id)
    return render_template("council/public_meeting.html", owner=owner, detail=detail, meeting=detail.meeting,
                           outcomes=meetings.outcomes(db(), detail), scene=scene,
                           registered=meetings.registered_count(db(), detail),
                           state=meetings.meeting_state(detail)), 200, {"Cache-Control": "no-cache"}


@public_bp.get("/board/<scene>/representatives")
def board_representatives(scene: str):
    """The unit's representatives and liaisons (names, kinds, units, duties, personal codes; those in 公示 as such)."""
    owner, listed = boards.public_representatives(db(), scene)
    return render_template("council/board_representatives.html", owner=owner, listed=listed, scene=scene,
                           **boards.representative_labels()), 200, {"Cache-Control": "no-cache"}


@public_bp.get("/board/<scene>/representatives/<int:rep_id>/qr.png")
def board_representative_qr(scene: str, rep_id: int):
    png = boards.public_code_png(db(), scene, rep_id, current_app.config["XINMA"].public_url)
    return Response(png, mimetype="image/png", headers={"Cache-Control": "no-cache"})


# --- statistics ----------------------------------------------------------------------------------------------

def _stats():
    staff = current_staff()
    unit = statistics.unit_for_stats(db(), staff, request.args.get("unit"))
    period = statistics.parse_period(request.args.get("from"), request.args.get("to"))
    return staff, unit, period, statistics.figures(db(), unit, period)


@bp.get("/stats")
@staff_required(StaffRole.secretary)
def stats():
    staff, unit, period, data = _stats()
    funnel = statistics.bars([("收到诉求", data["complaints_received"]), ("已答复", data["complaints_answered"]),
                              ("协商议题", data["topics"]), ("达成共识", data["consensus"]),
                              ("落实见效", data["implemented"]), ("正在推进", data["in_progress"])])
    decisions = statistics.bars(list(data["decisions"].items()))
    ratings = statistics.bars(list(data["ratings"].items()))
    return render_template("council/stats.html", unit=unit, data=data, rows=statistics.table(data), funnel=funnel,
                           decisions=decisions, ratings=ratings, units=statistics.unit_choices(db(), staff, unit),
                           **statistics.breakdowns(db(), unit, period), coverage=coverage.figures(db(), unit, period),
                           start=request.args.get("from", ""), end=request.args.get("to", ""),
                           export_args={k: v for k, v in (("unit", unit.id), ("from", request.args.get("from")),
                                                          ("to", request.args.get("to"))) if v})


@bp.get("/stats.<fmt>")
@staff_required(StaffRole.secretary)
def export(fmt: str):
    _staff, unit, _period, data = _stats()
    if fmt == "csv":
        body, mime = statistics.to_csv(data), "text/csv; charset=utf-8"
    elif fmt == "xlsx":
        body, mime = statistics.to_xlsx(data), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        raise NotFound("not_found")
    name = f"xinma-stats-{unit.code}.{fmt}"
    return Response(body, mimetype=mime, headers={"Content-Disposition": f'attachment; filename="{name}"'})


import council.hotspots  # noqa: E402,F401 - registers /council/hotspots on bp
import council.legal  # noqa: E402,F401 - registers the legal review pages and the reading pack

from . import ledger  # noqa: E402,F401 - registers /council/ledger and its exports on bp
