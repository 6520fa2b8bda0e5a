"""The OpenAPI 3 document of the mini-program API, served at /api/v1/openapi.json and checked by the tests."""

from __future__ import annotations

from typing import Any

from models.message_templates import TEMPLATES
from web.messages import COMPLAINT_CATEGORIES, LEGAL_CONCLUSIONS, PUBLICATION_KINDS, RATING_LEVELS
from web.settings import template_id

from .phone import PHONE_PATH
from .photos import MAX_PER_COMPLAINT
from .privacy import PRIVACY_PATHS
from .schemas import COMPLAINT, LOCATION, NEW_NOTE, PHOTO
from .services import TEXT_LIMIT

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
    text = {400: "请求不符合要求", 401: "未登录或登录失效", 403: "不允许（见 error.code）", 404: "不存在或无权查看",
            405: "不支持的请求方式",
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
NEW_COMPLAINT = {
    "type": "object",
    "required": ["scene", "category", "text"],
    "additionalProperties": False,
    "description": "Only these fields: state, unit, assignee and timestamps are set by staff and refused here.",
    "properties": {
        "scene": {"type": "string", "minLength": 1, "maxLength": 64, "description": "the scene token of the QR code"},
        "category": {"type": "string", "minLength": 1, "maxLength": 32, "examples": COMPLAINT_CATEGORIES,
                     "description": "one of the categories getScene lists: the active ones of the unit's district "
                                    "(each district starts with the examples, then adds, renames and retires its own)"},
        "text": {"type": "string", "minLength": 1, "maxLength": TEXT_LIMIT, "pattern": r"\S"},
        "phone": {"type": ["string", "null"], "pattern": "^(1[3-9][0-9]{9})?$"},
        "location": {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Location"}]},
        "photos": {"type": ["array", "null"], "maxItems": MAX_PER_COMPLAINT, "uniqueItems": True,
                   "items": {"type": "integer", "minimum": 1}},
    },
}
SCENE = {"type": "object", "required": ["scene", "unit", "categories"], "properties": {
    "scene": {"type": "string", "description": "the token to submit with"}, "unit": UNIT,
    "categories": {"type": "array", "items": {"type": "string"}},
    "representative": {"description": "whose personal code (连心码) was scanned; null for a unit code",
                       "oneOf": [{"type": "null"}, {
                           "type": "object", "required": ["name", "kind", "kind_label"], "additionalProperties": False,
                           "properties": {"name": {"type": "string"}, "kind": {"enum": ["representative", "liaison"]},
                                          "kind_label": {"type": "string"}}}]}}}
AUTH = [{"resident": []}]
# Ids are PostgreSQL integers: a larger one names nothing and is answered 404 before any query.
ID = {"name": "{name}", "in": "path", "required": True,
      "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}}


def _id(name: str) -> dict[str, Any]:
    return dict(ID, name=name)


RATING = {"type": "object", "required": ["round", "level", "label", "reason"], "additionalProperties": False,
          "properties": {"round": {"type": "integer", "minimum": 1}, "level": {"enum": list(RATING_LEVELS)},
                         "label": {"enum": list(RATING_LEVELS.values())}, "reason": {"type": "string"}}}
MEETING_BRIEF = {
    "type": "object", "required": ["id", "title", "starts_at", "place", "state", "state_label", "unit", "room"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "integer"}, "title": {"type": "string"},
        "unit": {"type": "string", "description": "the name of the unit whose council meets"},
        "starts_at": {"type": "string", "format": "date-time", "description": "China time, +08:00"},
        "place": {"type": "string"}, "state": {"enum": ["upcoming", "held", "cancelled"]},
        "state_label": {"type": "string"},
        "room": {"description": "the council room (议事室) the meeting takes place in, if any", "oneOf": [
            {"type": "null"},
            {"type": "object", "required": ["name", "address", "opening_hours"], "additionalProperties": False,
             "properties": {"name": {"type": "string"}, "address": NULLABLE_STR, "opening_hours": NULLABLE_STR}}]},
    },
}
DOCUMENT = {
    "type": "object", "required": ["id", "title", "content_type", "size", "url", "created_at"],
    "additionalProperties": False, "description": "a reading-pack document (精读本): laws and policies to read",
    "properties": {
        "id": {"type": "integer"}, "title": {"type": "string"},
        "content_type": {"enum": ["application/pdf", "text/plain", "image/jpeg", "image/png"]},
        "size": {"type": "integer", "minimum": 1}, "url": {"type": "string", "description": "where to download it"},
        "created_at": {"type": "string", "format": "date-time", "description": "China time, +08:00"},
    },
}
LEGAL_OPINION = {
    "description": "the legal adviser's opinion (法律意见), published with the decision; null before that",
    "oneOf": [{"type": "null"}, {
        "type": "object", "required": ["conclusion", "conclusion_label", "text", "adviser", "signed_at"],
        "additionalProperties": False,
        "properties": {"conclusion": {"enum": list(LEGAL_CONCLUSIONS)},
                       "conclusion_label": {"enum": list(LEGAL_CONCLUSIONS.values())}, "text": {"type": "string"},
                       "adviser": {"type": "string"},
                       "signed_at": {"type": "string", "format": "date-time", "description": "China time, +08:00"}}}]}
TOPIC = {
    "type": "object",
    "required": ["id", "title", "unit", "state", "state_label", "solution", "assignment", "can_rate", "my_ratings"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "integer"}, "title": {"type": "string"}, "unit": {"type": "string"},
        "state": {"type": "string"}, "state_label": {"type": "string"}, "solution": {"type": "string"},
        "reply": {"type": ["string", "null"], "description": "what residents were answered when it was rejected or "
                                                            "closed (also closed by the 居民会议's resolution)"},
        "assignment": {"oneOf": [{"type": "null"}, {
            "type": "object", "required": ["lead", "due_on", "percent"], "additionalProperties": False,
            "properties": {"lead": {"type": "string"}, "due_on": {"type": "string", "format": "date"},
                           "percent": {"type": "integer", "minimum": 0, "maximum": 100}}}]},
        "can_rate": {"type": "boolean", "description": "true once implemented and not yet rated this round"},
        "my_ratings": {"type": "array", "items": RATING},
        "state_changed_at": {"type": "string", "format": "date-time", "description": "China time, +08:00"},
        "meetings": {"type": "array", "description": "the meetings that had or have it on their agenda",
                     "items": MEETING_BRIEF},
        "documents": {"type": "array", "items": DOCUMENT}, "legal_opinion": LEGAL_OPINION,
    },
}
COMPLAINT_FOLLOWUP = {
    "type": "object", "required": ["complaint_id", "state", "can_rate", "my_ratings"], "additionalProperties": False,
    "properties": {
        "complaint_id": {"type": "integer"}, "state": {"type": "string"},
        "can_rate": {"type": "boolean", "description": "true once solved or declined and this answer not yet rated"},
        "my_ratings": {"type": "array", "items": {
            "type": "object", "required": ["round", "level", "label", "reason", "created_at"],
            "additionalProperties": False,
            "properties": {**RATING["properties"],
                           "created_at": {"type": "string", "format": "date-time", "description": "+08:00"}}}},
    },
}
MEETING = {
    "type": "object",
    "required": ["id", "title", "starts_at", "place", "state", "state_label", "form", "form_label", "held",
                 "held_at", "open", "capacity", "registered_count", "places_left", "registered", "can_register",
                 "cancel_reason", "minutes", "topics", "unit", "room"],
    "additionalProperties": False,
    "properties": {
        **MEETING_BRIEF["properties"], "form": {"type": "string"}, "form_label": {"type": "string"},
        "held": {"type": "boolean"}, "held_at": {"type": ["string", "null"], "format": "date-time"},
        "open": {"type": "boolean", "description": "anyone in the unit may register; announced on the board"},
        "capacity": {"type": ["integer", "null"], "minimum": 1}, "registered_count": {"type": "integer"},
        "places_left": {"type": ["integer", "null"], "minimum": 0}, "registered": {"type": "boolean"},
        "can_register": {"type": "boolean"}, "cancel_reason": {"type": ["string", "null"]},
        "minutes": {"type": ["string", "null"], "description": "once held"},
        "topics": {"type": "array", "items": {
            "type": "object", "required": ["id", "title", "state", "state_label", "result", "outcome", "solution"],
            "additionalProperties": False,
            "properties": {"id": {"type": "integer"}, "title": {"type": "string"}, "state": {"type": "string"},
                           "state_label": {"type": "string"},
                           "result": {"enum": ["consensus", "no_consensus", "referred", None]},
                           "outcome": {"type": ["string", "null"]}, "solution": {"type": ["string", "null"]}}}},
        "documents": {"type": "array", "items": DOCUMENT,
                      "description": "the reading pack: the meeting's own documents, then its agenda topics'"},
    },
}
SUBSCRIBE_ANSWERS = ["accept", "reject", "ban", "filter"]
DOCUMENT_BYTES = {"description": "the document", "content": {
    t: {"schema": {"type": "string", "format": "binary"}}
    for t in ("application/pdf", "text/plain; charset=utf-8", "image/jpeg", "image/png")}}


def _template_ids() -> list[str]:
    return sorted(template_id(event) for event in TEMPLATES)


def _count_map(description: str) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}, "description": description}


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
                              **_errors(400, 403, 429, 503)}}},
            "/staff-bindings": {"post": {
                "operationId": "bindStaff",
                "summary": "a grid worker or secretary binds this WeChat to their staff account with the 8-digit "
                           "code (绑定码) from their staff page, so their notifications reach WeChat",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["code", "bind_code"], "additionalProperties": False,
                    "properties": {"code": {"type": "string", "minLength": 1, "maxLength": 128, "pattern": r"\S"},
                                   "bind_code": {"type": "string", "pattern": "^[0-9 -]*$",
                                                 "description": "8 digits; spaces and dashes are ignored"}}}}}},
                "responses": {"201": _json(_ok({"type": "object", "required": ["staff"], "additionalProperties": False,
                                                "properties": {"staff": {
                                                    "type": "object", "additionalProperties": False,
                                                    "required": ["display_name", "role", "role_name"],
                                                    "properties": {"display_name": {"type": "string"},
                                                                   "role": {"enum": ["grid_worker", "secretary",
                                                                                     "admin"]},
                                                                   "role_name": {"type": "string"}}}}}),
                                           "bound"),
                              **_errors(400, 409, 429, 503)}}},
            "/sessions/current": {"delete": {
                "operationId": "endSession", "summary": "sign out (the token stops working)", "security": AUTH,
                "responses": {"200": _json(_ok({"type": "object", "required": ["signed_out"],
                                                "properties": {"signed_out": {"const": True}}}), "signed out"),
                              **_errors(401)}}},
            "/scenes/{token}": {"get": {
                "operationId": "getScene", "summary": "the unit behind a scanned QR code, and the categories",
                "parameters": [{"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": _json(_ok(SCENE), "the unit"), **_errors(400, 404, 410)}}},
            "/scenes": {"get": {
                "operationId": "getSceneByLink", "summary": "the same for a plain-link scan (query.q decoded once)",
                "parameters": [{"name": "q", "in": "query", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": _json(_ok(SCENE), "the unit"), **_errors(400, 404, 410)}}},
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
            "/complaints/{complaint_id}/notes": {"post": {
                "operationId": "addComplaintNote", "security": AUTH, "parameters": [_id("complaint_id")],
                "summary": "add words and/or photos to my open complaint (not a decision); the grid worker is told",
                "requestBody": {"required": True, "content": {"application/json": {"schema": NEW_NOTE}}},
                "responses": {"201": _json(_ok({"$ref": "#/components/schemas/Complaint"}), "added"),
                              **_errors(400, 401, 404, 409, 429)}}},
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
            "/subscriptions": {
                "post": {
                    "operationId": "recordSubscriptions", "security": AUTH,
                    "summary": "record what wx.requestSubscribeMessage answered (the message quota ledger)",
                    "requestBody": {"required": True, "content": {"application/json": {"schema": {
                        "type": "object", "required": ["results"], "additionalProperties": False,
                        "properties": {"results": {
                            "type": "object", "minProperties": 1,
                            "propertyNames": {"enum": _template_ids()},
                            "additionalProperties": {"enum": SUBSCRIBE_ANSWERS},
                            "description": "template id → accept | reject | ban | filter, as wx returns it"}}}}}},
                    "responses": {"201": _json(_ok({"type": "object", "required": ["left"],
                                                    "additionalProperties": False,
                                                    "properties": {"left": _count_map("sends left per template")}}),
                                               "recorded"),
                                  **_errors(400, 401)}},
                "get": {
                    "operationId": "getSubscriptions", "security": AUTH,
                    "summary": "sends left per template, messages waiting for a subscription, templates to ask again",
                    "responses": {"200": _json(_ok({
                        "type": "object", "required": ["left", "waiting", "resubscribe"], "additionalProperties": False,
                        "properties": {"left": _count_map("one-time sends left per template"),
                                       "waiting": _count_map("messages held for want of a subscription"),
                                       "resubscribe": {"type": "array", "items": {"type": "string"}}}}), "the ledger"),
                                  **_errors(401)}},
            },
            "/topics/{topic_id}": {"get": {
                "operationId": "getTopic", "summary": "the progress of a topic one of my complaints became",
                "security": AUTH, "parameters": [_id("topic_id")],
                "responses": {"200": _json(_ok(TOPIC), "the topic"), **_errors(401, 404)}}},
            "/topics/{topic_id}/ratings": {"post": {
                "operationId": "rateTopic", "security": AUTH, "parameters": [_id("topic_id")],
                "summary": "the satisfaction rating after implementation: 满意 / 基本满意 / 不满意 "
                           "(不满意 needs a reason and reopens the topic)",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["level"], "additionalProperties": False,
                    "properties": {"level": {"enum": list(RATING_LEVELS),
                                             "description": "satisfied 满意, basic 基本满意, unsatisfied 不满意"},
                                   "reason": {"type": ["string", "null"], "maxLength": 500}}}}}},
                "responses": {"201": _json(_ok({
                    "type": "object", "required": ["id", "round", "level", "topic"], "additionalProperties": False,
                    "properties": {"id": {"type": "integer"}, "round": {"type": "integer"},
                                   "level": {"enum": list(RATING_LEVELS)}, "topic": TOPIC}}), "rated"),
                    **_errors(400, 401, 403, 404, 409)}}},
            "/complaints/{complaint_id}/ratings": {
                "get": {
                    "operationId": "getComplaintFollowup", "security": AUTH, "parameters": [_id("complaint_id")],
                    "summary": "回访 of my complaint solved in the grid or declined: may I rate this answer",
                    "responses": {"200": _json(_ok(COMPLAINT_FOLLOWUP), "the follow-up"), **_errors(401, 404)}},
                "post": {
                    "operationId": "rateComplaint", "security": AUTH, "parameters": [_id("complaint_id")],
                    "summary": "rate the answer to my complaint: 满意 / 基本满意 / 不满意 with an optional comment "
                               "(不满意 on a solved one sends it back to the grid worker)",
                    "requestBody": {"required": True, "content": {"application/json": {"schema": {
                        "type": "object", "required": ["level"], "additionalProperties": False,
                        "properties": {"level": {"enum": list(RATING_LEVELS)},
                                       "reason": {"type": ["string", "null"], "maxLength": 500}}}}}},
                    "responses": {"201": _json(_ok({
                        "type": "object", "required": ["id", "round", "level", "complaint"],
                        "additionalProperties": False,
                        "properties": {"id": {"type": "integer"}, "round": {"type": "integer"},
                                       "level": {"enum": list(RATING_LEVELS)}, "complaint": COMPLAINT_FOLLOWUP}}),
                        "rated"), **_errors(400, 401, 404, 409)}},
            },
            "/my/topics": {"get": {
                "operationId": "listMyTopics", "security": AUTH,
                "summary": "the topics my complaints became or joined, the latest change first, with their meetings",
                "responses": {"200": _json(_ok({"type": "array", "items": TOPIC}), "my topics"), **_errors(401)}}},
            "/my/meetings": {"get": {
                "operationId": "listMyMeetings", "security": AUTH,
                "summary": "meetings I was invited to, registered for or am behind a topic of: those to come first",
                "responses": {"200": _json(_ok({"type": "array", "items": MEETING}), "my meetings"),
                              **_errors(401)}}},
            "/meetings/{meeting_id}": {"get": {
                "operationId": "getMeeting", "security": AUTH,
                "summary": "a council meeting: an open one, or one I was invited to, registered for or am behind",
                "parameters": [_id("meeting_id")],
                "responses": {"200": _json(_ok(MEETING), "the meeting"), **_errors(401, 404)}}},
            "/meetings/{meeting_id}/registrations": {"post": {
                "operationId": "registerForMeeting", "security": AUTH,
                "summary": "register to attend, up to the capacity; for an open meeting, anyone in its unit: "
                           "give the scanned code's scene unless a complaint of mine is there",
                "parameters": [_id("meeting_id")],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "additionalProperties": False,
                    "properties": {"scene": {"type": "string", "minLength": 1, "maxLength": 64}}}}}},
                "responses": {"201": _json(_ok({"type": "object", "required": ["id", "meeting"],
                                                "additionalProperties": False,
                                                "properties": {"id": {"type": "integer"}, "meeting": MEETING}}),
                                           "registered"),
                              **_errors(400, 401, 403, 404, 409, 410)}}},
            "/topics/{topic_id}/documents/{document_id}": {"get": {
                "operationId": "getTopicDocument", "security": AUTH,
                "summary": "a reading-pack document of a topic one of my complaints became (PDF, text or image)",
                "parameters": [_id("topic_id"), _id("document_id")],
                "responses": {"200": DOCUMENT_BYTES, **_errors(401, 404)}}},
            "/meetings/{meeting_id}/documents/{document_id}": {"get": {
                "operationId": "getMeetingDocument", "security": AUTH,
                "summary": "a reading-pack document of a meeting I may see, or of one of its agenda topics",
                "parameters": [_id("meeting_id"), _id("document_id")],
                "responses": {"200": DOCUMENT_BYTES, **_errors(401, 404)}}},
            "/boards/{scene}": {"get": {
                "operationId": "getBoard", "security": AUTH,
                "summary": "the unit's public board: decisions and results made public, no personal data",
                "parameters": [{"name": "scene", "in": "path", "required": True,
                                "schema": {"type": "string", "minLength": 1, "maxLength": 64}}],
                "responses": {"200": _json(_ok({
                    "type": "object", "required": ["unit", "meetings", "publications"], "additionalProperties": False,
                    "properties": {"unit": {"type": "string"}, "meetings": {
                        "type": "array", "items": MEETING_BRIEF,
                        "description": "the open meetings to come (any resident of the unit may register)"},
                        "publications": {"type": "array", "items": {
                        "type": "object", "required": ["topic", "kind", "kind_label", "text", "published_on"],
                        "additionalProperties": False,
                        "properties": {"topic": {"type": "string"}, "kind": {"enum": list(PUBLICATION_KINDS)},
                                       "kind_label": {"enum": list(PUBLICATION_KINDS.values())},
                                       "text": {"type": "string"},
                                       "published_on": {"type": "string", "format": "date"},
                                       "photos": {"type": "array", "items": {"type": "string"},
                                                  "description": "progress photos' paths, on results only"},
                                       "legal_opinion": LEGAL_OPINION}}}}}),
                    "the board"),
                    **_errors(400, 401, 404, 410)}}},
            "/boards/{scene}/topics/{topic_id}/photos/{name}": {"get": {
                "operationId": "getBoardPhoto", "security": AUTH,
                "summary": "a progress photo of a topic whose result this board has published",
                "parameters": [{"name": "scene", "in": "path", "required": True,
                                "schema": {"type": "string", "minLength": 1, "maxLength": 64}},
                               _id("topic_id"),
                               {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "the photo",
                                      "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}}},
                              **_errors(401, 404, 410)}}},
            "/phone": PHONE_PATH, **PRIVACY_PATHS,
            "/photos/{photo_id}/thumbnail": {"get": {
                "operationId": "getThumbnail", "summary": "its thumbnail (JPEG)", "security": AUTH,
                "parameters": [_id("photo_id")],
                "responses": {"200": {"description": "thumbnail",
                                      "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}}},
                              **_errors(401, 404)}}},
        },
    }
