"""The mini-program's staff page: bind the WeChat user to the staff account whose bind code they typed."""

from __future__ import annotations

from flask import Blueprint

from intake import ratelimit
from models.messages import STAFF_ROLES
from models.web import db, json_body, ok, wechat_login

from . import binding

bp = Blueprint("triage_api", __name__, url_prefix="/api/v1")


@bp.errorhandler(ratelimit.RateLimited)
def _rate_limited(exc: ratelimit.RateLimited):
    from intake.api import _rate_limited as answer

    return answer(exc)


@bp.post("/staff-bindings")
def bind_staff():
    """{"code": wx.login code, "bind_code": the 8 digits shown on the staff page} → the bound account."""
    ratelimit.hit("login_address", ratelimit.client_address())
    body = json_body({"code", "bind_code"})
    bind_code = binding.normalise(body.get("bind_code"))
    login = wechat_login(body.get("code"))
    staff = binding.bind(db(), bind_code, login.openid)
    return ok({"staff": {"display_name": staff.display_name, "role": staff.role.value,
                         "role_name": STAFF_ROLES[staff.role.value]}}, 201)
