"""Admin pages: blocked submitters. Block whoever sent a complaint (a WeChat resident, or an H5 sender's device and,
if asked, network address) for a time or for good, with a reason; list the blocks; unblock. The rules and the
refusal at submission are the domain's (models.governance)."""

from __future__ import annotations

import datetime as dt

from flask import redirect, render_template, request, url_for

from models import Complaint, DomainError, NotFound, StaffRole, utcnow
from models.base import CHINA
from models.governance import block_of, block_submitter, blocks, lift_block
from web.auth import check_csrf, current_staff, staff_required
from web.http import db
from web.messages import error_text

from .blueprint import bp


def _complaint(value: str | None) -> Complaint:
    raw = (value or "").strip().lstrip("#第").rstrip("号")
    complaint = db().get(Complaint, int(raw)) if raw.isdigit() and int(raw) < 2**31 else None
    if complaint is None:
        raise NotFound("complaint_not_found")
    return complaint


def _until(value: str | None) -> dt.datetime | None:
    """The end of the chosen day in China (the block lasts through it); empty: for good."""
    if not value:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise DomainError("block_end_invalid") from None
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), CHINA).astimezone(dt.UTC)


def _list_page(error: str | None = None, status: int = 200):
    rows, now = blocks(db()), utcnow()
    return render_template("admin/blocks.html", blocks=rows, now=now, active_count=sum(b.active(now) for b in rows),
                           error=error,
                           done=request.args.get("done"), lifted=request.args.get("lifted")), status


@bp.get("/blocks")
@staff_required(StaffRole.admin)
def block_list():
    return _list_page()


@bp.route("/blocks/new", methods=["GET", "POST"])
@staff_required(StaffRole.admin)
def block_new():
    """屏蔽此提交人: the form for the sender of `?complaint=`, and the block itself."""
    complaint = _complaint(request.values.get("complaint"))
    error, status = None, 200
    if request.method == "POST":
        check_csrf()
        try:
            block = block_submitter(db(), current_staff(), complaint, reason=request.form.get("reason", ""),
                                    ends_at=_until(request.form.get("until")),
                                    include_address=request.form.get("address") == "1")
        except DomainError as exc:
            db().rollback()
            error, status = error_text(exc.code, exc.params), exc.status
        else:
            return redirect(url_for("admin.block_list", done=block.id), 303)
    today = dt.datetime.now(CHINA).date()
    return render_template("admin/block_new.html", complaint=complaint, error=error, form=request.form,
                           today=today.isoformat()), status


@bp.post("/blocks/<int:block_id>/lift")
@staff_required(StaffRole.admin)
def block_lift(block_id: int):
    check_csrf()
    block = block_of(db(), block_id)
    try:
        lift_block(db(), current_staff(), block, reason=request.form.get("reason", ""))
    except DomainError as exc:
        db().rollback()
        return _list_page(error_text(exc.code, exc.params), exc.status)
    return redirect(url_for("admin.block_list", lifted=block_id), 303)
