"""Personal codes (连心码) of appointed representatives: issue and rotate their tokens, resolve a scan to the
representative's unit, draw the poster and the card (连心卡), and the scan landing of a personal code.

A personal code's token is PERSONAL_PREFIX plus a unit code's kind of token (qr.services.new_token), so it fits
WeChat's scene rule and a scan tells it from a unit code by its first characters, without a query. Its link is
{public_url}/q/<token>, under the same plain-link rule as unit codes.
"""

from __future__ import annotations

import io
import time
from typing import NamedTuple
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, redirect, request, url_for
from PIL import Image, ImageDraw
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Conflict, DomainError, NotFound, Unit, utcnow
from models.representatives import (
    PERSONAL_PREFIX,
    AppointmentState,
    PersonalCode,
    Representative,
    live_codes,
)
from web.http import db
from web.messages import DUTY_LABELS, REPRESENTATIVE_KINDS

from . import services
from .posters import DPI, font, missing_glyphs, mm_to_px, poster_png, qr_image

bp = Blueprint("personal", __name__)
LABELS = {"kinds": REPRESENTATIVE_KINDS, "duties": DUTY_LABELS}  # for pages listing representatives


def is_personal(token: object) -> bool:
    return isinstance(token, str) and token.startswith(PERSONAL_PREFIX)


def issue_personal_code(session: Session, rep: Representative) -> PersonalCode:
    """Give an appointed representative a new personal code, revoking the one they had (old cards stop working).

    Refused `representative_not_appointed` (409) for anyone not appointed. Side effect: the rows, flushed.
    """
    if rep.state != AppointmentState.appointed:
        raise Conflict("representative_not_appointed")
    now = utcnow()
    for old in live_codes(session, rep):
        old.revoked_at = now
    code = PersonalCode(representative_id=rep.id, token=PERSONAL_PREFIX + services.new_token(), created_at=now)
    session.add(code)
    session.flush()
    return code


def current_personal_code(session: Session, rep: Representative) -> PersonalCode | None:
    codes = live_codes(session, rep)
    return codes[0] if codes else None


class PersonalScene(NamedTuple):
    """A live personal code's unit and representative, as a submission names them."""

    unit_id: int
    unit_name: str
    full_name: str
    representative_id: int
    representative_name: str
    kind: str


def personal_scene_of(session: Session, token: str) -> PersonalScene:
    """The representative and unit behind a personal code's token; the same refusals as a unit code's
    (`scene_unknown`, `scene_revoked` also once the representative's appointment ended, `scene_unit_retired`)."""
    if not services.SCENE_ALPHABET.fullmatch(token):
        raise NotFound("scene_unknown")
    code = session.scalar(select(PersonalCode).where(PersonalCode.token == token))
    if code is None:
        raise NotFound("scene_unknown")
    rep = code.representative
    unit: Unit = rep.unit
    if unit.retired_at is not None:
        raise DomainError("scene_unit_retired", status=410)
    if code.revoked_at is not None or rep.state != AppointmentState.appointed:
        raise DomainError("scene_revoked", status=410)
    return PersonalScene(unit.id, unit.name, unit.full_name(), rep.id, rep.name, rep.kind.value)


def scene_unit(session: Session, token: str | None) -> Unit:
    """The unit behind a scanned token, a unit code's or a personal code's."""
    if is_personal(token):
        return session.get(Unit, personal_scene_of(session, token).unit_id)
    return services.resolve_scene(session, token).unit


def personal_url(public_url: str, code: PersonalCode) -> str:
    return f"{public_url.rstrip('/')}/q/{code.token}"


def check_name(name: str) -> None:
    """Refuse a name the poster font cannot draw (`representative_name_glyphs`): it would print as empty boxes."""
    if missing := missing_glyphs(name):
        raise DomainError("representative_name_glyphs", chars="".join(missing))


def _title(rep: Representative) -> str:
    return f"{rep.unit.full_name()}·{REPRESENTATIVE_KINDS[rep.kind.value]} {rep.name}"


def personal_poster_png(rep: Representative, code: PersonalCode, public_url: str, size) -> bytes:
    """The representative's poster: the unit's poster layout, titled with the unit and the representative's name."""
    return poster_png(_title(rep), rep.unit.code, personal_url(public_url, code), size)


CARD_MM = (85.6, 54.0)  # a bank card's size, to keep in a wallet as the seeds' 连心卡


def personal_card_png(rep: Representative, code: PersonalCode, public_url: str) -> bytes:
    """The 连心卡: the QR on the left (36 mm, modules of about 1 mm), the name, kind, unit and duties on the right."""
    width, height = mm_to_px(CARD_MM[0]), mm_to_px(CARD_MM[1])
    card = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(card)
    margin = mm_to_px(4)
    qr = qr_image(personal_url(public_url, code), mm_to_px(36)).convert("L")
    card.paste(qr, (margin, (height - qr.height) // 2))
    x = margin + qr.width + mm_to_px(3)
    text_width = width - x - margin
    y = margin
    lines = [("连心卡", 44, 0), (REPRESENTATIVE_KINDS[rep.kind.value], 26, 60), (rep.name, 48, 0),
             (rep.unit.name, 24, 60), ("、".join(DUTY_LABELS[d] for d in rep.duties if d in DUTY_LABELS), 22, 90),
             ("扫码找我反映身边事", 22, 0)]
    for text, px, grey in lines:
        if not text:
            continue
        face = font(px)
        while face.getlength(text) > text_width and px > 12:
            px -= 2
            face = font(px)
        draw.text((x, y), text, font=face, fill=grey)
        y += round(px * 1.45)
    out = io.BytesIO()
    card.save(out, "PNG", dpi=(DPI, DPI))
    return out.getvalue()


@bp.get("/q/p~<rest>")
def landing(rest: str):
    """A personal code's scan: into the mini-program inside WeChat (embedded mode: the simulated phone), else the
    H5 intake page of the representative's unit, carrying the personal code's token."""
    token = PERSONAL_PREFIX + rest
    scene = personal_scene_of(db(), token)
    services.count_scan(db(), scene.unit_id)
    settings = current_app.config["XINMA"]
    simulator = settings.miniprogram_simulator_url
    if "MicroMessenger" in request.headers.get("User-Agent", "") and simulator and request.args.get("h5") is None:
        link = f"{settings.public_url.rstrip('/')}/q/{token}"
        return redirect(f"{simulator}?{urlencode({'q': link, 'scancode_time': int(time.time())})}")
    return redirect(url_for("h5.report", token=token))


def png_response(data: bytes, filename: str) -> Response:
    return Response(data, mimetype="image/png", headers={"Content-Disposition": f"attachment; filename={filename}"})
