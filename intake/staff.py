"""Staff-side intake actions: the audited phone reveal and photos for staff whose scope covers the complaint."""

from __future__ import annotations

from flask import Blueprint, request

from models import Unauthorized
from models.intake import reveal_phone
from web.auth import check_csrf, current_staff
from web.http import db, ok

from .api import send_photo
from .photos import visible_photo

bp = Blueprint("intake_staff", __name__, url_prefix="/api/staff")


def _staff():
    staff = current_staff()
    if staff is None:
        raise Unauthorized("signin_required")
    return staff


@bp.post("/complaints/<int:complaint_id>/phone")
def reveal(complaint_id: int):
    """Reveal a complaint's phone number to the signed-in staff member; written to the audit log."""
    staff = _staff()
    check_csrf()
    phone = reveal_phone(db(), staff, complaint_id, reason=request.form.get("reason", ""))
    return ok({"phone": phone})


@bp.get("/photos/<int:photo_id>")
def photo(photo_id: int):
    return send_photo(visible_photo(db(), photo_id, staff=_staff()))


@bp.get("/photos/<int:photo_id>/thumbnail")
def thumbnail(photo_id: int):
    return send_photo(visible_photo(db(), photo_id, staff=_staff()), thumbnail=True)
