"""`POST /api/v1/phone`: the resident's own phone number from WeChat's getPhoneNumber button (手机号快速验证).

The mini-program's `<button open-type="getPhoneNumber">` gives a code (not the wx.login one); WeChat's
phonenumber.getPhoneNumber turns it into the number the resident bound to WeChat. The answer goes to the
resident alone, whole (to fill the complaint's phone, which staff see masked) and masked (to show on screen).
Nothing is stored: the number is kept only if the resident submits it with a complaint.
"""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, request

from models import DomainError
from models.intake import PHONE, mask_phone
from models.residents import authenticate_resident
from web import ratelimit
from web.auth import wechat_misconfigured
from web.http import db, json_body, ok
from wechat import WeChatError, WeChatRetryable
from wechat.errors import WeChatMisconfigured, WeChatPhoneCodeInvalid

log = logging.getLogger(__name__)
bp = Blueprint("intake_phone", __name__, url_prefix="/api/v1")

def _error(text: str, **extra) -> dict:
    return {"description": text, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            **extra}


# This operation in the OpenAPI document (intake.openapi), written out here to keep that module short.
PHONE_PATH = {"post": {
    "operationId": "getPhoneNumber", "security": [{"resident": []}],
    "summary": "the getPhoneNumber button's code → my phone number, to fill the complaint's phone (not stored)",
    "requestBody": {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": ["code"], "additionalProperties": False,
        "properties": {"code": {"type": "string", "minLength": 1, "maxLength": 128, "pattern": r"\S",
                                "description": "e.detail.code of bindgetphonenumber (5 minutes, single use)"}}}}}},
    "responses": {
        "200": {"description": "the number", "content": {"application/json": {"schema": {
            "type": "object", "required": ["ok", "data"], "additionalProperties": False,
            "properties": {"ok": {"const": True}, "data": {
                "type": "object", "required": ["phone", "masked"], "additionalProperties": False,
                "properties": {"phone": {"type": "string", "pattern": "^1[3-9][0-9]{9}$"},
                               "masked": {"type": "string", "pattern": r"^1[0-9]{2}\*{4}[0-9]{4}$"}}}}}}}},
        "400": _error("phone_code_missing, phone_code_invalid (expired, used or another user's: tap again)"),
        "401": _error("未登录或登录失效"),
        "422": _error("phone_not_mainland: not a mainland China mobile number"),
        "429": _error("太频繁（见 Retry-After）", headers={"Retry-After": {
            "schema": {"type": "integer", "minimum": 1}, "description": "seconds to wait"}}),
        "503": _error("phone_unavailable, wechat_unavailable, wechat_misconfigured"),
    }}}

@bp.post("/phone")
def phone_number():
    """The signed-in resident's WeChat phone number for a getPhoneNumber code; rate limited like sign-in.

    Side effects: one WeChat call (billed by WeChat per success; the code is used up); counts against the
    sign-in limits of the address and the resident. Nothing is written.
    """
    resident = authenticate_resident(db(), request.headers.get("Authorization"))
    ratelimit.hit("login_address", ratelimit.client_address())
    ratelimit.hit("login_resident", resident.openid or f"resident-{resident.id}")
    code = json_body({"code"}).get("code")
    if not isinstance(code, str) or not code.strip() or len(code) > 128:
        raise DomainError("phone_code_missing")
    try:
        number = current_app.extensions["xinma.wechat"].get_phone_number(code.strip(), openid=resident.openid)
    except WeChatPhoneCodeInvalid:
        raise DomainError("phone_code_invalid") from None
    except WeChatMisconfigured as exc:
        raise wechat_misconfigured(exc) from None
    except WeChatRetryable:
        raise DomainError("wechat_unavailable", status=503) from None
    except WeChatError as exc:  # e.g. the account may not use the phone-number button
        log.warning("getuserphonenumber refused (errcode %s)", exc.errcode)
        raise DomainError("phone_unavailable", status=503) from None
    if number.country_code not in ("86", "") or not PHONE.fullmatch(number.phone):
        raise DomainError("phone_not_mainland", status=422)
    return ok({"phone": number.phone, "masked": mask_phone(number.phone)})
