"""Admin pages: the audit viewer. Every audit event (the domain's transitions and reveals, and the request-level
record of every other staff action, web/audit.py), newest first, filtered by person, unit (the subtree of the
subject's unit), action and date range, paged, and exported as CSV. Read-only: the log is never changed."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math

from flask import Response, render_template, request
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from models import AuditEvent, Complaint, DomainError, Meeting, Staff, StaffRole, Topic, Unit
from models.base import CHINA
from models.entities import staff_units
from models.governance import Block
from models.intake import Photo
from web.auth import staff_required
from web.http import db
from web.messages import AUDIT_ACTIONS, AUDIT_SUBJECTS

from .blueprint import bp

PAGE_SIZE = 50
EXPORT_LIMIT = 50_000


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        raise DomainError("filter_invalid") from None


def _day(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        raise DomainError("filter_invalid") from None


def _china_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), CHINA).astimezone(dt.UTC)


def _in_units(subtree) -> object:
    """Events whose subject lies in the unit subtree: the subject's own unit where it has one."""
    e = AuditEvent
    complaints = select(Complaint.id).where(Complaint.unit_id.in_(subtree))
    return or_(
        (e.subject_kind == "complaint") & e.subject_id.in_(complaints),
        (e.subject_kind == "topic") & e.subject_id.in_(select(Topic.id).where(Topic.unit_id.in_(subtree))),
        (e.subject_kind == "meeting") & e.subject_id.in_(select(Meeting.id).where(Meeting.unit_id.in_(subtree))),
        (e.subject_kind == "unit") & e.subject_id.in_(subtree),
        (e.subject_kind == "photo") & e.subject_id.in_(select(Photo.id).where(Photo.complaint_id.in_(complaints))),
        (e.subject_kind == "block") & e.subject_id.in_(select(Block.id).where(Block.complaint_id.in_(complaints))),
        (e.subject_kind == "staff") & e.subject_id.in_(
            select(staff_units.c.staff_id).where(staff_units.c.unit_id.in_(subtree))),
    )


def audit_query(session: Session, args) -> tuple[object, dict]:
    """The filtered query (newest first) and the filters as chosen; `filter_invalid` for a malformed one."""
    chosen = {"staff": _int(args.get("staff")), "unit": _int(args.get("unit")),
              "action": (args.get("action") or "").strip()[:32], "since": _day(args.get("since")),
              "until": _day(args.get("until"))}
    query = select(AuditEvent)
    if chosen["staff"] is not None:
        query = query.where(AuditEvent.actor_kind == "staff", AuditEvent.actor_id == chosen["staff"])
    if chosen["unit"] is not None:
        unit = session.get(Unit, chosen["unit"])
        if unit is None:
            raise DomainError("filter_invalid")
        query = query.where(_in_units(select(Unit.id).where(Unit.path.startswith(unit.path))))
    if chosen["action"]:
        query = query.where(AuditEvent.action == chosen["action"])
    if chosen["since"]:
        query = query.where(AuditEvent.created_at >= _china_midnight(chosen["since"]))
    if chosen["until"]:
        query = query.where(AuditEvent.created_at < _china_midnight(chosen["until"] + dt.timedelta(days=1)))
    return query.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()), chosen


def _actors(session: Session, events: list[AuditEvent]) -> dict[int, Staff]:
    ids = {e.actor_id for e in events if e.actor_kind == "staff" and e.actor_id is not None}
    return {s.id: s for s in session.scalars(select(Staff).where(Staff.id.in_(ids)))} if ids else {}


def actor_name(event: AuditEvent, actors: dict[int, Staff]) -> str:
    if event.actor_kind == "staff":
        staff = actors.get(event.actor_id)
        return f"{staff.display_name}（{staff.username}）" if staff else f"工作人员 {event.actor_id}"
    return {"resident": "居民", "system": "系统"}.get(event.actor_kind, event.actor_kind)


def subject_label(event: AuditEvent) -> str:
    kind = AUDIT_SUBJECTS.get(event.subject_kind, event.subject_kind)
    return f"{kind} {event.subject_id}" if event.subject_id else kind


def subject_link(event: AuditEvent) -> str | None:
    return {"complaint": f"/triage/complaints/{event.subject_id}", "topic": f"/council/topics/{event.subject_id}",
            "meeting": f"/council/meetings/{event.subject_id}"}.get(event.subject_kind) if event.subject_id else None


def details(event: AuditEvent) -> str:
    """The event's data as people read it: key=value pairs, a state change as 'from → to'."""
    parts = []
    if event.from_state or event.to_state:
        parts.append(f"{event.from_state or '—'} → {event.to_state or '—'}")
    for key, value in (event.data or {}).items():
        parts.append(f"{key}={value if not isinstance(value, list) else '、'.join(map(str, value))}")
    return "；".join(parts)


@bp.get("/audit")
@staff_required(StaffRole.admin)
def audit():
    session = db()
    query, chosen = audit_query(session, request.args)
    if request.args.get("format") == "csv":
        return _csv(session, query)
    page = max(1, _int(request.args.get("page")) or 1)
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    events = list(session.scalars(query.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)))
    actors = _actors(session, events)
    staff = list(session.scalars(select(Staff).order_by(Staff.display_name, Staff.id)))
    units = list(session.scalars(select(Unit).where(Unit.retired_at.is_(None)).order_by(Unit.path)))
    present = sorted(session.scalars(select(AuditEvent.action).distinct()))
    keep = {k: ("" if v is None else str(v)) for k, v in chosen.items()}
    return render_template("admin/audit.html", events=events, actors=actors, staff=staff, units=units,
                           actions=present, labels=AUDIT_ACTIONS, chosen=keep, page=page, total=total,
                           filters={k: v for k, v in keep.items() if v},
                           pages=max(1, math.ceil(total / PAGE_SIZE)), actor_name=actor_name,
                           subject_label=subject_label, subject_link=subject_link, details=details)


def _csv(session: Session, query) -> Response:
    events = list(session.scalars(query.limit(EXPORT_LIMIT)))
    actors = _actors(session, events)
    out = io.StringIO()
    out.write("\ufeff")  # Excel opens UTF-8 CSV as such only with the BOM
    writer = csv.writer(out)
    writer.writerow(["时间", "操作人", "操作", "对象", "原因", "详情"])
    for e in events:
        writer.writerow([e.created_at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S"), actor_name(e, actors),
                         AUDIT_ACTIONS.get(e.action, e.action), subject_label(e), e.reason or "", details(e)])
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=audit.csv", "Cache-Control": "no-store"})
