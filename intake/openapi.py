"""The OpenAPI 3 document of the mini-program API, served at /api/v1/openapi.json and checked by the tests."""

from __future__ import annotations

from typing import Any

from models.messages import COMPLAINT_CATEGORIES

from .photos import MAX_PER_COMPLAINT
from .services import ADDRESS_LIMIT, TEXT_LIMIT

ERROR = {
    "type": "object",
    "required": ["ok", "error"],
    "additionalProperties": False,
    "properties": {
        "ok": {"const": False},
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "additionalProperties": False,
            "properties": {
                "code": {"type": "string", "pattern": "^[a-z_]+$", "description": "stable English code"},
                "message": {"type": "string", "minLength": 1, "description": "Chinese text for the resident"},
            },
        },
    },
}


def _ok(data: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": ["ok", "data"], "additionalProperties": False,
            "properties": {"ok": {"const": True}, "data": data}}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    text = {400: "请求不符合要求", 401: "未登录或登录失效", 404: "不存在或无权查看", 405: "不支持的请求方式",
            409: "同一请求正在处理", 410: "二维码已更换", 413: "照片或请求太大", 415: "照片格式不支持",
            422: "请求编号已用于其他内容", 429: "太频繁（见 Retry-After）", 503: "微信暂不可用"}
    out = {str(s): _json({"$ref": "#/components/schemas/Error"}, text[s]) for s in statuses}
    if 429 in statuses:
        out["429"]["headers"] = {"Retry-After": {"schema": {"type": "integer", "minimum": 1},
                                                 "description": "seconds to wait"}}
    return out


NULLABLE_STR = {"type": ["string", "null"]}
UNIT = {"type": "object", "required": ["name", "full_name"], "properties": {
    "name": {"type": "string"}, "full_name": {"type": "string"}, "level": {"type": "string"}}}
PHOTO = {
    "type": "object",
    "required": ["id", "content_type", "width", "height", "url", "thumbnail_url", "thumbnail_ready"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "integer"},
        "content_type": {"enum": ["image/jpeg", "image/png", "image/webp"]},
        "width": {"type": "integer", "minimum": 1},
        "height": {"type": "integer", "minimum": 1},
        "url": {"type": "string"},
        "thumbnail_url": {"type": "string"},
        "thumbnail_ready": {"type": "boolean"},
    },
}
COMPLAINT = {
    "type": "object",
    "required": ["id", "unit", "category", "text", "state", "state_label", "reply", "created_at", "phone",
                 "location", "photos"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "integer"},
        "unit": UNIT,
        "category": {"type": "string"},
        "text": {"type": "string"},
        "state": {"type": "string"},
        "state_label": {"type": "string"},
        "reply": NULLABLE_STR,
        "created_at": {"type": "string", "format": "date-time"},
        "phone": {"type": ["string", "null"], "pattern": r"^1[0-9]{2}\*{4}[0-9]{4}$",
                  "description": "masked: 138****1234"},
        "location": {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Location"}]},
        "photos": {"type": "array", "items": {"$ref": "#/components/schemas/Photo"}},
        "timeline": {"type": "array", "items": {
            "type": "object", "required": ["at", "label", "reason"], "additionalProperties": False,
            "properties": {"at": {"type": "string", "format": "date-time"}, "label": {"type": "string"},
                           "reason": {"type": "string"}}}},
    },
}
LOCATION = {
    "type": "object",
    "required": ["latitude", "longitude"],
    "additionalProperties": False,
    "properties": {
        "latitude": {"type": "number", "minimum": -90, "maximum": 90},
        "longitude": {"type": "number", "minimum": -180, "maximum": 180},
        "address": {"type": ["string", "null"], "maxLength": ADDRESS_LIMIT},
    },
}
NEW_COMPLAINT = {
    "type": "object",
    "required": ["scene", "category", "text"],
    "additionalProperties": False,
    "description": "Only these fields: state, unit, assignee and timestamps are set by staff and refused here.",
    "properties": {
        "scene": {"type": "string", "minLength": 1, "maxLength": 64, "description": "the scene token of the QR code"},
        "category": {"enum": COMPLAINT_CATEGORIES},
        "text": {"type": "string", "minLength": 1, "maxLength": TEXT_LIMIT, "pattern": r"\S"},
        "phone": {"type": ["string", "null"], "pattern": "^(1[3-9][0-9]{9})?$"},
        "location": {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Location"}]},
        "photos": {"type": ["array", "null"], "maxItems": MAX_PER_COMPLAINT, "uniqueItems": True,
                   "items": {"type": "integer", "minimum": 1}},
    },
}
AUTH = [{"resident": []}]
ID = {"name": "{name}", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}


def _id(name: str) -> dict[str, Any]:
    return dict(ID, name=name)


IMAGE = {"description": "the photo, re-encoded; X-Content-Type-Options: nosniff",
         "content": {t: {"schema": {"type": "string", "format": "binary"}}
                     for t in ("image/jpeg", "image/png", "image/webp")}}


def openapi_document() -> dict[str, Any]:
    """The whole mini-program API as OpenAPI 3.1."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "心码 xinma mini-program API", "version": "1",
                 "description": "Every JSON answer is {ok: true, data} or {ok: false, error: {code, message}}: "
                                "`code` is a stable English code, `message` the Chinese text to show."},
        "servers": [{"url": "/api/v1"}],
        "components": {
            "securitySchemes": {"resident": {"type": "http", "scheme": "bearer",
                                             "description": "the token from POST /sessions"}},
            "schemas": {"Error": ERROR, "Complaint": COMPLAINT, "Photo": PHOTO, "Location": LOCATION},
        },
        "paths": {
            "/sessions": {"post": {
                "operationId": "createSession", "summary": "wx.login code → the backend's own session token",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["code"], "additionalProperties": False,
                    "properties": {"code": {"type": "string", "minLength": 1, "maxLength": 128,
                                            "pattern": r"\S"}}}}}},
                "responses": {"201": _json(_ok({"type": "object", "required": ["token", "expires_in"],
                                                "additionalProperties": False,
                                                "properties": {"token": {"type": "string", "minLength": 40},
                                                               "expires_in": {"type": "integer"}}}),
                                           "signed in"),
                              **_errors(400, 429, 503)}}},
            "/sessions/current": {"delete": {
                "operationId": "endSession", "summary": "sign out (the token stops working)", "security": AUTH,
                "responses": {"200": _json(_ok({"type": "object", "required": ["signed_out"],
                                                "properties": {"signed_out": {"const": True}}}), "signed out"),
                              **_errors(401)}}},
            "/scenes/{token}": {"get": {
                "operationId": "getScene", "summary": "the unit behind a scanned QR code, and the categories",
                "parameters": [{"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": _json(_ok({"type": "object", "required": ["unit", "categories"],
                                                "properties": {"unit": UNIT, "categories": {
                                                    "type": "array", "items": {"type": "string"}}}}), "the unit"),
                              **_errors(400, 404, 410)}}},
            "/complaints": {
                "post": {
                    "operationId": "createComplaint", "summary": "report a problem", "security": AUTH,
                    "parameters": [{"name": "Idempotency-Key", "in": "header", "required": False,
                                    "description": "one per submission; a retry with the same payload replays "
                                                   "the first answer for 24 hours",
                                    "schema": {"type": "string", "pattern": "^[A-Za-z0-9_\\-:.]{8,128}$"}}],
                    "requestBody": {"required": True,
                                    "content": {"application/json": {"schema": NEW_COMPLAINT}}},
                    "responses": {"201": _json(_ok({"$ref": "#/components/schemas/Complaint"}), "recorded"),
                                  **_errors(400, 401, 404, 409, 410, 422, 429)}},
                "get": {
                    "operationId": "listComplaints", "summary": "my complaints with their timelines",
                    "security": AUTH,
                    "responses": {"200": _json(_ok({"type": "array",
                                                    "items": {"$ref": "#/components/schemas/Complaint"}}), "mine"),
                                  **_errors(401)}},
            },
            "/complaints/{complaint_id}": {"get": {
                "operationId": "getComplaint", "summary": "one of my complaints", "security": AUTH,
                "parameters": [_id("complaint_id")],
                "responses": {"200": _json(_ok({"$ref": "#/components/schemas/Complaint"}), "the complaint"),
                              **_errors(401, 404)}}},
            "/photos": {"post": {
                "operationId": "uploadPhoto", "summary": "upload one photo (wx.uploadFile, name \"file\")",
                "security": AUTH,
                "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                    "type": "object", "required": ["file"], "additionalProperties": False,
                    "properties": {"file": {"type": "string", "format": "binary"}}}}}},
                "responses": {"201": _json(_ok({"$ref": "#/components/schemas/Photo"}), "stored"),
                              **_errors(400, 401, 413, 415, 429)}}},
            "/photos/{photo_id}": {"get": {
                "operationId": "getPhoto", "summary": "one of my photos", "security": AUTH,
                "parameters": [_id("photo_id")],
                "responses": {"200": IMAGE, **_errors(401, 404)}}},
            "/photos/{photo_id}/thumbnail": {"get": {
                "operationId": "getThumbnail", "summary": "its thumbnail (JPEG)", "security": AUTH,
                "parameters": [_id("photo_id")],
                "responses": {"200": {"description": "thumbnail",
                                      "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}}},
                              **_errors(401, 404)}}},
        },
    }
