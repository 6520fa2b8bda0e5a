"""Entry on behalf (代填): a grid worker or a representative, signed in, enters what a resident told them on a home
visit (走访), an appointment (约访), a call (电话) or at a reception (候访/接访), for a resident who has no smartphone
or did not scan. The matter enters triage like any complaint, through NewComplaint and transition_complaint; its
resident is a new one without an openid, so no WeChat message goes to anyone about it, unless the resident is
known: the number of a complaint they sent before (in the staff member's scope) makes the matter theirs, and they
hear of it on WeChat like of their own reports."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from sqlalchemy import insert
from sqlalchemy.orm import Session

from models import Complaint, DomainError, Resident, Staff, StaffRole, Unit, utcnow
from models.intake import PHONE, ComplaintContact
from models.lifecycle import Actor, NewComplaint, transition_complaint
from models.representatives import HEARD_VIA, OnBehalfContact, mask_name, representative_of_staff
from models.scope import in_scope, units_in_scope
from models.triage import active_categories
from web.auth import check_csrf, current_staff, staff_required
from web.http import db
from web.messages import COMPLAINT_CATEGORIES, HEARD_VIA_LABELS, REPRESENTATIVE_KINDS, error_text

from .views import bp

TEXT_LIMIT = 1000
NAME_LIMIT = 32
CHANNEL = "on_behalf"  # the resident row of an entry on behalf: no openid, no tracking link


def enter_on_behalf(session: Session, staff: Staff, *, unit_id: object, category: object, text: object,
                    heard_via: object, phone: object = None, resident_name: object = None,
                    known_complaint: object = None) -> Complaint:
    """Record a matter a resident told `staff`, for a unit in their scope; returns the new complaint.

    Refused `on_behalf_unit_invalid`, `category_unknown`, `text_empty`, `text_too_long`,
    `on_behalf_heard_via_unknown`, `phone_invalid`, `on_behalf_name_too_long`, `on_behalf_known_invalid`; nothing
    is written then. With `known_complaint` (the number of an earlier complaint of the resident's, in scope) the
    matter is that resident's, told on WeChat when they have an openid. Side effects: a resident row (channel
    on_behalf, no openid) unless the resident is known, the complaint in state `submitted` naming who
    entered it, how it was heard and (when `staff` is a linked representative) the representative, with its audit
    event, outbox row (never sent: no openid) and content check; the phone's contact row and the resident's name
    when given. Nothing is committed.
    """
    try:
        unit = session.get(Unit, int(unit_id))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        unit = None
    if unit is None or unit.retired_at is not None or not in_scope(staff, unit):
        raise DomainError("on_behalf_unit_invalid")
    if not isinstance(category, str) or category not in active_categories(session, unit.id, COMPLAINT_CATEGORIES):
        raise DomainError("category_unknown")
    text = text.strip() if isinstance(text, str) else ""
    if not text:
        raise DomainError("text_empty")
    if len(text) > TEXT_LIMIT:
        raise DomainError("text_too_long", limit=TEXT_LIMIT)
    if heard_via not in HEARD_VIA:
        raise DomainError("on_behalf_heard_via_unknown")
    phone = phone.strip() if isinstance(phone, str) else ""
    if phone and not PHONE.fullmatch(phone):
        raise DomainError("phone_invalid")
    name = resident_name.strip() if isinstance(resident_name, str) else ""
    if len(name) > NAME_LIMIT:
        raise DomainError("on_behalf_name_too_long", limit=NAME_LIMIT)
    resident = _known_resident(session, staff, known_complaint)
    rep = representative_of_staff(session, staff) if staff.role == StaffRole.representative else None
    if resident is None:
        resident = Resident(openid=None, channel=CHANNEL, created_at=utcnow())
        session.add(resident)
        session.flush()
    complaint = transition_complaint(
        session, NewComplaint(unit_id=unit.id, unit_name=unit.name, resident_id=resident.id, openid=resident.openid,
                              category=category, text=text, representative_id=rep.id if rep else None,
                              entered_by_id=staff.id, heard_via=str(heard_via)),
        "submit", actor=Actor.staff(staff), data={"on_behalf": True, "heard_via": heard_via})
    if phone:
        session.execute(insert(ComplaintContact.__table__).values(complaint_id=complaint.id, phone=phone))
    if name:
        session.add(OnBehalfContact(complaint_id=complaint.id, resident_name=name))
    session.flush()
    return complaint


def _known_resident(session: Session, staff: Staff, number: object) -> Resident | None:
    """The resident behind an earlier complaint the staff member names by its number (第 12 号, in their scope)."""
    text = str(number or "").strip().lstrip("#第").rstrip("号").strip()
    if not text:
        return None
    known = session.get(Complaint, int(text)) if text.isdigit() and int(text) < 2**31 else None
    if known is None or not in_scope(staff, known.unit):
        raise DomainError("on_behalf_known_invalid")
    return known.resident


def _page(error: str | None = None, status: int = 200, form: dict | None = None, done: Complaint | None = None):
    session, staff = db(), current_staff()
    units = [u for u in units_in_scope(session, staff) if u.retired_at is None]
    rep = representative_of_staff(session, staff) if staff.role == StaffRole.representative else None
    categories = active_categories(session, units[0].id, COMPLAINT_CATEGORIES) if units else COMPLAINT_CATEGORIES
    return render_template("triage/on_behalf.html", units=units, categories=categories,
                           heard=HEARD_VIA_LABELS, error=error, form=form or {}, done=done, rep=rep,
                           kinds=REPRESENTATIVE_KINDS), status


@bp.get("/triage/on-behalf")
@staff_required(StaffRole.grid_worker, StaffRole.representative)
def on_behalf():
    """The form: unit, category, what the resident said, how it was heard, their name and phone if they gave them."""
    done = None
    if (done_id := request.args.get("done", "")).isdigit() and int(done_id) < 2**31:
        complaint = db().get(Complaint, int(done_id))
        if complaint is not None and complaint.entered_by_id == current_staff().id:
            done = complaint
    return _page(done=done)


@bp.post("/triage/on-behalf")
@staff_required(StaffRole.grid_worker, StaffRole.representative)
def enter():
    check_csrf()
    session, staff = db(), current_staff()
    form = request.form
    try:
        complaint = enter_on_behalf(session, staff, unit_id=form.get("unit_id"), category=form.get("category"),
                                    text=form.get("text"), heard_via=form.get("heard_via"), phone=form.get("phone"),
                                    resident_name=form.get("resident_name"),
                                    known_complaint=form.get("known_complaint"))
    except DomainError as exc:
        session.rollback()
        return _page(error_text(exc.code, exc.params), exc.status, form.to_dict())
    return redirect(url_for("triage.on_behalf", done=complaint.id), 303)


@bp.app_template_global()
def on_behalf_name(complaint_id: int, *, whole: bool = False) -> str | None:
    """The name a resident gave for an entry on behalf: masked (张*), or whole where the page has just revealed the
    phone through the audited reveal (`whole=True`)."""
    row = db().get(OnBehalfContact, complaint_id)
    if row is None:
        return None
    return row.resident_name if whole else mask_name(row.resident_name)


@bp.app_template_global()
def complaint_via(complaint: Complaint) -> str | None:
    """How a complaint came, when not by a resident scanning a unit code: 经 议政代表 张三 的连心码, 经 议政代表 张三
    走访代填, 李网格员 电话代填."""
    rep = complaint.representative if complaint.representative_id is not None else None
    heard = HEARD_VIA_LABELS.get(complaint.heard_via or "", "")
    if complaint.entered_by_id is None:
        return f"经 {REPRESENTATIVE_KINDS[rep.kind.value]} {rep.name} 的连心码" if rep is not None else None
    if rep is not None:
        return f"经 {REPRESENTATIVE_KINDS[rep.kind.value]} {rep.name} {heard}代填"
    return f"{complaint.entered_by.display_name} {heard}代填"
