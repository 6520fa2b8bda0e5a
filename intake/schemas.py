"""The complaint as the resident reads it (with its photos and location), and a note's request body: JSON Schemas
of the OpenAPI document."""

from __future__ import annotations

from models.intake import NOTE_TEXT_LIMIT

from .photos import MAX_PER_COMPLAINT
from .services import ADDRESS_LIMIT

NULLABLE_STR = {"type": ["string", "null"]}
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
CHINA_TIME = {"type": "string", "format": "date-time", "pattern": r"\+08:00$", "description": "China time, +08:00"}
PHOTOS = {"type": "array", "items": {"$ref": "#/components/schemas/Photo"}}
TOPIC_BRIEF = {
    "type": "object", "required": ["id", "title", "state", "state_label"], "additionalProperties": False,
    "description": "the council topic the complaint became or joined: open pages/topic/detail?id=…",
    "properties": {"id": {"type": "integer"}, "title": {"type": "string"}, "state": {"type": "string"},
                   "state_label": {"type": "string"}},
}
COMPLAINT_MEETING = {
    "type": "object", "required": ["id", "title", "starts_at", "place", "state", "state_label"],
    "additionalProperties": False, "description": "a meeting with the topic on its agenda: pages/meeting/detail?id=…",
    "properties": {"id": {"type": "integer"}, "title": {"type": "string"}, "starts_at": CHINA_TIME,
                   "place": {"type": "string"}, "state": {"enum": ["upcoming", "held", "cancelled"]},
                   "state_label": {"type": "string"}},
}
DECISION = {
    "type": "object", "additionalProperties": False, "description": "the latest triage decision",
    "required": ["action", "label", "at", "reason_code", "reason_label", "referral", "referral_label"],
    "properties": {
        "action": {"enum": ["decline", "solve", "merge", "promote", "escalate"]}, "label": {"type": "string"},
        "at": CHINA_TIME, "reason_code": NULLABLE_STR,
        "reason_label": {"type": ["string", "null"], "description": "why not deliberable (四不议), on a decline"},
        "referral": NULLABLE_STR,
        "referral_label": {"type": ["string", "null"], "description": "where to turn instead: 人民调解, 12345 热线…"},
    },
}
NOTE = {
    "type": "object", "required": ["id", "author", "text", "at", "photos"], "additionalProperties": False,
    "properties": {"id": {"type": "integer"},
                   "author": {"enum": ["resident", "staff"], "description": "resident: mine; staff: a reply"},
                   "text": {"type": "string"}, "at": CHINA_TIME, "photos": PHOTOS},
}
COMPLAINT = {
    "type": "object",
    "required": ["id", "unit", "category", "text", "state", "state_label", "reply", "created_at", "phone",
                 "location", "photos", "topic", "meetings", "decision", "notes", "can_add_note"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "integer"},
        "unit": {"type": "object", "required": ["name", "full_name"], "properties": {
            "name": {"type": "string"}, "full_name": {"type": "string"}}},
        "category": {"type": "string"},
        "text": {"type": "string"},
        "state": {"type": "string"},
        "state_label": {"type": "string"},
        "reply": NULLABLE_STR,
        "created_at": CHINA_TIME,
        "phone": {"type": ["string", "null"], "pattern": r"^1[0-9]{2}\*{4}[0-9]{4}$",
                  "description": "masked: 138****1234"},
        "location": {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Location"}]},
        "photos": PHOTOS,
        "topic": {"oneOf": [{"type": "null"}, TOPIC_BRIEF]},
        "meetings": {"type": "array", "items": COMPLAINT_MEETING},
        "decision": {"oneOf": [{"type": "null"}, DECISION]},
        "notes": {"type": "array", "items": NOTE, "description": "what I added and what staff replied, oldest first"},
        "can_add_note": {"type": "boolean", "description": "open: POST …/notes is accepted"},
        "timeline": {"type": "array", "items": {
            "type": "object", "required": ["at", "label", "reason"], "additionalProperties": False,
            "properties": {"at": CHINA_TIME, "label": {"type": "string"}, "reason": {"type": "string"}}}},
    },
}
NEW_NOTE = {
    "type": "object", "additionalProperties": False,
    "description": "words and/or photos uploaded with POST /photos (at least one of the two)",
    "properties": {
        "text": {"type": ["string", "null"], "maxLength": NOTE_TEXT_LIMIT},
        "photos": {"type": ["array", "null"], "maxItems": MAX_PER_COMPLAINT, "uniqueItems": True,
                   "items": {"type": "integer", "minimum": 1}},
    },
}
