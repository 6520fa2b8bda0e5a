"""Law-assisted deliberation (援法议事) on the council's pages: the legal adviser's home (the major topics awaiting
their review in the units that named them), their opinion form (法律意见, signed), the reading pack (精读本:
documents the secretary or the adviser attach to a topic or a meeting, checked by content and kept in the
database) and its downloads for staff and on the public board."""

from __future__ import annotations

import io
import re
import warnings

from flask import current_app, redirect, render_template, request, send_file, url_for
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import DomainError, NotFound, Staff, StaffRole, Topic, Unit, utcnow
from models.council import MeetingDetail
from models.entities import meeting_topics
from models.legal import (
    Conclusion,
    ReadingDocument,
    advised_units,
    advises,
    awaiting_review,
    documents_of,
    named_adviser,
    open_topics,
    review_of,
    reviewed_by,
    sign_opinion,
)
from qr.services import resolve_scene
from web.auth import check_csrf, current_staff, staff_required
from web.http import db
from web.messages import LEGAL_CONCLUSIONS

from . import board as boards
from . import disclosure, forms, meetings, services
from .views import bp, public_bp

OPINION_LIMIT = 5000
TITLE_LIMIT = 100
DOCUMENT_MAX_BYTES = 2 * 1024 * 1024 - 64 * 1024  # below the app's request limit, leaving room for the form
DOCUMENTS_PER_OWNER = 20
MAX_PIXELS = 30_000_000  # a scanned page at 300 dpi is ~9 million


@bp.context_processor
@public_bp.context_processor
def _legal_labels():
    return {"conclusions": LEGAL_CONCLUSIONS, "legal_review": lambda topic: review_of(db(), topic),
            "reading_pack": lambda **owner: documents_of(db(), **owner), "document_label": document_label,
            "unit_adviser": lambda unit_id: named_adviser(db(), db().get(Unit, unit_id))}


def document_label(doc: ReadingDocument) -> str:
    kind = {"application/pdf": "PDF", "text/plain": "文本"}.get(doc.content_type, "图片")
    size = f"{doc.size / 1024 / 1024:.1f}MB" if doc.size >= 1024 * 1024 else f"{max(1, doc.size // 1024)}KB"
    return f"{kind} · {size}"


# --- who may reach what ------------------------------------------------------------------------------------------

def topic_in_reach(session: Session, staff: Staff, topic_id: int) -> Topic:
    """A topic the secretary may see (their scope), or the legal adviser (named by its unit); else `topic_not_found`."""
    if staff.role != StaffRole.legal_adviser:
        return services.topic_for(session, staff, topic_id)
    topic = session.get(Topic, topic_id)
    if topic is None or not advises(session, staff, topic.unit):
        raise NotFound("topic_not_found")
    return topic


def meeting_in_reach(session: Session, staff: Staff, meeting_id: int) -> MeetingDetail:
    if staff.role != StaffRole.legal_adviser:
        return meetings.meeting_for(session, staff, meeting_id)
    detail = session.get(MeetingDetail, meeting_id)
    if detail is None or not advises(session, staff, session.get(Unit, detail.meeting.unit_id)):
        raise NotFound("meeting_not_found")
    return detail


def _document(session: Session, document_id: int) -> ReadingDocument:
    doc = session.get(ReadingDocument, document_id)
    if doc is None:
        raise NotFound("document_not_found")
    return doc


def staff_may_read(session: Session, staff: Staff, doc: ReadingDocument) -> bool:
    try:
        if doc.topic_id is not None:
            topic_in_reach(session, staff, doc.topic_id)
        else:
            meeting_in_reach(session, staff, doc.meeting_id)
    except NotFound:
        return False
    return True


# --- the adviser's pages -----------------------------------------------------------------------------------------

@bp.get("/legal")
@staff_required(StaffRole.legal_adviser)
def legal_home():
    """The legal adviser's home: the units that named them, the major topics awaiting their opinion, their recent
    opinions and the coming meetings of their units."""
    session, staff = db(), current_staff()
    units = advised_units(session, staff)
    upcoming = [d for d in meetings.meetings(session, _Scope(units))
                if meetings.meeting_state(d) == "upcoming"] if units else []
    awaiting, reviewed = awaiting_review(session, staff), reviewed_by(session, staff)
    listed = {t.id for t in awaiting} | {t.id for t, _ in reviewed}
    others = [t for t in open_topics(session, staff) if t.id not in listed]
    return render_template("council/legal_home.html", units=units, awaiting=awaiting, others=others,
                           reviewed=reviewed, upcoming=upcoming)


class _Scope:
    """The units that named an adviser, as a scope for the meeting list (`meetings.meetings` reads `.units`)."""

    def __init__(self, units: list[Unit]) -> None:
        self.units = units


@bp.get("/legal/topics/<int:topic_id>")
@staff_required(StaffRole.legal_adviser)
def legal_topic(topic_id: int):
    session, staff = db(), current_staff()
    topic = topic_in_reach(session, staff, topic_id)
    return render_template("council/legal_topic.html", topic=topic, review=review_of(session, topic),
                           solution=services.solution(session, topic), documents=documents_of(session, topic=topic))


@bp.post("/legal/topics/<int:topic_id>/opinion")
@staff_required(StaffRole.legal_adviser)
def legal_opinion(topic_id: int):
    """The adviser signs their written opinion on a topic of a unit that named them."""
    check_csrf()
    session, staff = db(), current_staff()
    topic = topic_in_reach(session, staff, topic_id)
    if staff.role != StaffRole.legal_adviser:  # an admin may look, but an opinion is the adviser's own
        raise NotFound("topic_not_found")
    conclusion = Conclusion(forms.choice(request.form.get("conclusion"), LEGAL_CONCLUSIONS,
                                         "legal_conclusion_unknown"))
    text = forms.text(request.form.get("text"), "legal_opinion_text_empty", OPINION_LIMIT)
    sign_opinion(session, staff, topic, conclusion=conclusion, text=text, now=utcnow())
    return redirect(url_for("council.legal_topic", topic_id=topic.id) + "#opinions")


@bp.get("/legal/meetings/<int:meeting_id>")
@staff_required(StaffRole.legal_adviser)
def legal_meeting(meeting_id: int):
    session, staff = db(), current_staff()
    detail = meeting_in_reach(session, staff, meeting_id)
    return render_template("council/legal_meeting.html", detail=detail, meeting=detail.meeting,
                           state=meetings.meeting_state(detail))


# --- the reading pack --------------------------------------------------------------------------------------------

TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def check_document(data: bytes) -> tuple[str, str, bytes]:
    """What an uploaded file really is, by its content (never its name): (content type, suffix, bytes to keep).

    PDF is kept as sent; a JPEG or PNG is re-encoded (nothing the uploader embedded, such as a location, is kept);
    text must be UTF-8 without control characters. Anything else is `document_type_unsupported` (415).
    """
    if not data:
        raise DomainError("document_empty")
    if len(data) > DOCUMENT_MAX_BYTES:
        raise DomainError("document_too_large", status=413, limit_mb=DOCUMENT_MAX_BYTES // (1024 * 1024) or 1)
    if data[:5] == b"%PDF-":
        if b"%%EOF" not in data[-1024:]:
            raise DomainError("document_unreadable", status=415)
        return "application/pdf", "pdf", data
    image_format = "JPEG" if data[:3] == b"\xff\xd8\xff" else "PNG" if data[:8] == b"\x89PNG\r\n\x1a\n" else None
    if image_format:
        return _clean_image(data, image_format)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DomainError("document_type_unsupported", status=415) from None
    if TEXT_CONTROL.search(text) or not text.strip():
        raise DomainError("document_type_unsupported", status=415)
    return "text/plain", "txt", text.encode()


def _clean_image(data: bytes, image_format: str) -> tuple[str, str, bytes]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[image_format])
            if image.width * image.height > MAX_PIXELS:
                raise DomainError("document_too_large", status=413, limit_mb=DOCUMENT_MAX_BYTES // (1024 * 1024))
            image.load()
            if image_format == "JPEG" and image.mode not in ("RGB", "L"):
                image = image.convert("RGB")
            out = io.BytesIO()
            image.save(out, image_format, **({"quality": 85} if image_format == "JPEG" else {"optimize": True}))
    except DomainError:
        raise
    except Exception:  # truncated or corrupt: Pillow raises many kinds
        raise DomainError("document_unreadable", status=415) from None
    return ("image/jpeg", "jpg", out.getvalue()) if image_format == "JPEG" else ("image/png", "png", out.getvalue())


def attach_document(session: Session, staff: Staff, *, upload, title: str, topic: Topic | None = None,
                    meeting: MeetingDetail | None = None) -> ReadingDocument:
    """Check an uploaded file and keep it in the reading pack of a topic or a meeting. Side effect: adds the row
    with its bytes; the request's audit records who attached it."""
    if upload is None or not getattr(upload, "filename", ""):
        raise DomainError("document_missing")
    data = upload.read(DOCUMENT_MAX_BYTES + 1)
    content_type, suffix, kept = check_document(data)
    title = _one_line(title) or _one_line(re.sub(r"\.[A-Za-z0-9]{1,5}$", "", upload.filename.rsplit("/", 1)[-1]
                                                  .rsplit("\\", 1)[-1])) or "精读材料"
    if len(title) > TITLE_LIMIT:
        raise DomainError("document_title_too_long", limit=TITLE_LIMIT)
    owner = {"topic": topic} if topic is not None else {"meeting": meeting.meeting}
    if len(documents_of(session, **owner)) >= DOCUMENTS_PER_OWNER:
        raise DomainError("documents_too_many", limit=DOCUMENTS_PER_OWNER)
    row = ReadingDocument(topic_id=topic.id if topic is not None else None,
                          meeting_id=meeting.meeting_id if meeting is not None else None, title=title,
                          content_type=content_type, suffix=suffix, size=len(kept), data=kept, staff_id=staff.id,
                          uploaded_name=staff.display_name, created_at=utcnow())
    session.add(row)
    session.flush()
    return row


def _one_line(value: str | None) -> str:
    """A title on one line: control characters and runs of white space become one space (it names the download)."""
    return " ".join(TEXT_CONTROL.sub(" ", value or "").split())


def _upload_size_checked() -> None:
    """A body over the app's request limit is refused with the document's own message (werkzeug's 413 names no
    limit), before the form is read."""
    if (request.content_length or 0) > current_app.config["MAX_CONTENT_LENGTH"]:
        raise DomainError("document_too_large", status=413, limit_mb=DOCUMENT_MAX_BYTES // (1024 * 1024))


@bp.post("/topics/<int:topic_id>/documents")
@staff_required(StaffRole.secretary, StaffRole.legal_adviser)
def topic_document(topic_id: int):
    _upload_size_checked()
    check_csrf()
    session, staff = db(), current_staff()
    topic = topic_in_reach(session, staff, topic_id)
    attach_document(session, staff, upload=request.files.get("file"), title=request.form.get("title", ""),
                    topic=topic)
    page = "council.legal_topic" if staff.role == StaffRole.legal_adviser else "council.topic"
    return redirect(url_for(page, topic_id=topic.id) + "#documents")


@bp.post("/meetings/<int:meeting_id>/documents")
@staff_required(StaffRole.secretary, StaffRole.legal_adviser)
def meeting_document(meeting_id: int):
    _upload_size_checked()
    check_csrf()
    session, staff = db(), current_staff()
    detail = meeting_in_reach(session, staff, meeting_id)
    if detail.cancelled_at is not None:
        raise DomainError("meeting_cancelled_documents", status=409)
    attach_document(session, staff, upload=request.files.get("file"), title=request.form.get("title", ""),
                    meeting=detail)
    page = "council.legal_meeting" if staff.role == StaffRole.legal_adviser else "council.meeting"
    return redirect(url_for(page, meeting_id=detail.meeting_id) + "#documents")


@bp.post("/documents/<int:document_id>/delete")
@staff_required(StaffRole.secretary, StaffRole.legal_adviser)
def delete_document(document_id: int):
    """Take a document out of the reading pack (a wrong file, or one that should not be public): the secretary of
    its unit, or the adviser who attached it. Side effect: deletes the row and its bytes; the request is audited."""
    check_csrf()
    session, staff = db(), current_staff()
    doc = _document(session, document_id)
    adviser = staff.role == StaffRole.legal_adviser
    if not staff_may_read(session, staff, doc) or (adviser and doc.staff_id != staff.id):
        raise NotFound("document_not_found")
    session.delete(doc)
    session.flush()
    if doc.topic_id is not None:
        return redirect(url_for("council.legal_topic" if adviser else "council.topic", topic_id=doc.topic_id)
                        + "#documents")
    return redirect(url_for("council.legal_meeting" if adviser else "council.meeting", meeting_id=doc.meeting_id)
                    + "#documents")


def document_response(session: Session, doc: ReadingDocument, *, public: bool = False):
    """The document's bytes under its title: a PDF as a download, text and images shown; nosniff and sandboxed."""
    response = send_file(io.BytesIO(doc.data), mimetype=doc.content_type,  # Flask adds text's charset=utf-8
                         as_attachment=doc.suffix == "pdf", download_name=f"{doc.title}.{doc.suffix}",
                         max_age=0, conditional=False, etag=False)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "no-cache" if public else "private, no-store"
    return response


@bp.get("/documents/<int:document_id>")
@staff_required(StaffRole.secretary, StaffRole.legal_adviser)
def document(document_id: int):
    session, staff = db(), current_staff()
    doc = _document(session, document_id)
    if not staff_may_read(session, staff, doc):
        raise NotFound("document_not_found")
    return document_response(session, doc)


# --- on the public board -----------------------------------------------------------------------------------------

def board_document(session: Session, scene: str, document_id: int) -> ReadingDocument:
    """A document of a topic shown on this board, or of an open meeting announced there (or of one of its agenda
    topics); else `document_not_found`."""
    doc = _document(session, document_id)
    if doc.topic_id is not None:
        owner, _ = disclosure.board(session, resolve_scene(session, scene).unit)
        topic = session.get(Topic, doc.topic_id)
        if topic.unit.path.startswith(owner.path) and topic.state in boards.SHOWN_TOPICS:
            return doc
        meeting_ids = list(session.scalars(select(meeting_topics.c.meeting_id)
                                           .where(meeting_topics.c.topic_id == topic.id)))
    else:
        meeting_ids = [doc.meeting_id]
    for meeting_id in meeting_ids:  # the open meeting's own pack, or an agenda topic's shown on its page
        try:
            boards.open_meeting(session, scene, meeting_id)
        except NotFound:
            continue
        return doc
    raise NotFound("document_not_found")


@public_bp.get("/board/<scene>/documents/<int:document_id>")
def public_document(scene: str, document_id: int):
    """A reading-pack document shown on the unit's public board (no sign-in)."""
    return document_response(db(), board_document(db(), scene, document_id), public=True)

