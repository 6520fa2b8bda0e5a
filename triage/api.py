"""The mini-program's staff page: bind the WeChat user to the staff account whose bind code they typed."""

from __future__ import annotations

from flask import Blueprint

from web import ratelimit
from web.auth import wechat_login
from web.http import db, json_body, ok
from web.messages import STAFF_ROLES

from . import binding

bp = Blueprint("triage_api", __name__, url_prefix="/api/v1")


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
