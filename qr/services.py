"""Issue, rotate and resolve the scene tokens behind unit codes; count scans; retire units."""

from __future__ import annotations

import datetime as dt
import io
import ipaddress
import re
import secrets
import warnings
from typing import NamedTuple
from urllib.parse import unquote, urlsplit

from PIL import Image
from sqlalchemy import bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from models import AuditEvent, DomainError, NotFound, QrCode, Staff, Unit, utcnow
from models.base import CHINA
from models.qr import UnitScan
from web.auth import wechat_misconfigured
from wechat import WeChatError
from wechat.errors import WeChatMisconfigured

TOKEN_BYTES = 16  # 128 random bits; token_urlsafe gives 22 characters, all in WeChat's scene alphabet
SCENE_MAX = 32  # WeChat's limit for getwxacodeunlimit's scene
# WeChat's scene alphabet: digits, letters and !#$&'()*+,/:;=?@-._~
SCENE_ALPHABET = re.compile(rf"[0-9A-Za-z!#$&'()*+,/:;=?@\-._~]{{1,{SCENE_MAX}}}")  # the project's one scene rule


def new_token() -> str:
    """A fresh scene token: 128 random bits, 22 characters from WeChat's scene alphabet."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def issue_code(session: Session, unit: Unit) -> QrCode:
    """Give the unit a new code, revoking the one it had (its old posters stop working)."""
    if unit.retired_at is not None:
        raise DomainError("unit_retired", status=409)
    now = utcnow()
    for old in session.scalars(select(QrCode).where(QrCode.unit_id == unit.id, QrCode.revoked_at.is_(None))):
        old.revoked_at = now
    code = QrCode(unit_id=unit.id, token=new_token(), created_at=now)
    code.unit = unit
    session.add(code)
    session.flush()
    return code


rotate_code = issue_code


def current_code(session: Session, unit: Unit) -> QrCode | None:
    return session.scalar(select(QrCode).where(QrCode.unit_id == unit.id, QrCode.revoked_at.is_(None)))


class Scene(NamedTuple):
    """A live code's unit, as a submission names it: (code id, unit id, unit name, full name)."""

    code_id: int
    unit_id: int
    unit_name: str
    full_name: str


_UNITS = [aliased(Unit) for _ in range(5)]  # a grid and up to four levels above it
_SCENE = (select(QrCode.id, QrCode.revoked_at, _UNITS[0].id, _UNITS[0].retired_at, *(u.name for u in _UNITS))
          .join(_UNITS[0], _UNITS[0].id == QrCode.unit_id)
          .outerjoin(_UNITS[1], _UNITS[1].id == _UNITS[0].parent_id)
          .outerjoin(_UNITS[2], _UNITS[2].id == _UNITS[1].parent_id)
          .outerjoin(_UNITS[3], _UNITS[3].id == _UNITS[2].parent_id)
          .outerjoin(_UNITS[4], _UNITS[4].id == _UNITS[3].parent_id)
          .where(QrCode.token == bindparam("token")))


def scene_of(session: Session, token: str | None) -> Scene:
    """The live code behind a scanned scene token, in one Core query (the resolution every caller goes through);
    `scene_missing`, `scene_unknown`, `scene_revoked` or `scene_unit_retired` else."""
    if not token or not isinstance(token, str):
        raise DomainError("scene_missing")
    if not SCENE_ALPHABET.fullmatch(token):
        raise NotFound("scene_unknown")
    row = session.connection().execute(_SCENE, {"token": token}).first()
    if row is None:
        raise NotFound("scene_unknown")
    code_id, revoked_at, unit_id, retired_at, *names = row
    if retired_at is not None:
        raise DomainError("scene_unit_retired", status=410)
    if revoked_at is not None:
        raise DomainError("scene_revoked", status=410)
    names = [n for n in names if n is not None]
    return Scene(code_id, unit_id, names[0], "·".join(reversed(names)))


def resolve_scene(session: Session, token: str | None) -> QrCode:
    """The live code behind a scanned scene token (`scene_of`), loaded with its unit."""
    return session.get(QrCode, scene_of(session, token).code_id)


def scan_url(public_url: str, code: QrCode) -> str:
    return f"{public_url.rstrip('/')}/q/{code.token}"


def token_from_link(public_url: str, link: object) -> str:
    """The scene token inside a scanned poster link, as WeChat hands it to the mini-program for a plain-link scan
    (`q`: the whole link, {public_url}/q/<token>, perhaps with a query; once URL-encoded is accepted too).

    `scene_missing` without a link; `scene_link_foreign` for a link of another site or path. No side effects.
    """
    if not isinstance(link, str) or not link.strip():
        raise DomainError("scene_missing")
    link = link.strip()
    if "://" not in link and "%3A" in link.upper():
        link = unquote(link)  # the mini-program passed query.q on without decodeURIComponent
    ours, theirs = urlsplit(public_url), urlsplit(link)
    prefix = ours.path.rstrip("/") + "/q/"
    token = theirs.path[len(prefix):]
    if (theirs.scheme not in ("http", "https") or theirs.netloc.lower() != ours.netloc.lower()
            or not theirs.path.startswith(prefix) or not token or "/" in token):
        raise DomainError("scene_link_foreign")
    return token


# --- the verification file of the plain-link rule (扫普通链接二维码打开小程序) ---------------------------------
# WeChat checks a plain-link rule by fetching a file it issues (a name and its content) under the rule's path,
# here /q/<name>.txt. The admin's latest setting is an audit event (who set it, when), the one place it is kept:
# every web node reads it from the database.
LINK_FILE_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
LINK_FILE_CONTENT = re.compile(r"[\x21-\x7e]{1,256}")


def set_link_verification(session: Session, admin: Staff, name: object, content: object) -> tuple[str, str]:
    """Record the verification file WeChat issued; returns (name without .txt, content).

    Side effect: an audit event (`link_verification`) that later ones supersede. Refuses a name or content that
    is not what WeChat issues (`link_file_name_invalid`, `link_file_content_invalid`).
    """
    name = str(name or "").strip().removesuffix(".txt")
    content = str(content or "").strip()
    if not LINK_FILE_NAME.fullmatch(name):
        raise DomainError("link_file_name_invalid")
    if not LINK_FILE_CONTENT.fullmatch(content):
        raise DomainError("link_file_content_invalid")
    session.add(AuditEvent(subject_kind="wechat", subject_id=0, action="link_verification", actor_kind="staff",
                           actor_id=admin.id, data={"name": name, "content": content}, created_at=utcnow()))
    session.flush()
    return name, content


def link_verification(session: Session) -> dict | None:
    """The verification file last set ({name, content, set_at}), or None."""
    event = session.scalar(select(AuditEvent).where(AuditEvent.subject_kind == "wechat", AuditEvent.subject_id == 0,
                                                    AuditEvent.action == "link_verification")
                           .order_by(AuditEvent.id.desc()).limit(1))
    return None if event is None else {**event.data, "set_at": event.created_at}


def is_loopback(public_url: str) -> bool:
    """Whether the address printed on posters points at the machine itself (XINMA_PUBLIC_URL left unset): a phone
    scanning such a poster reaches nothing."""
    host = urlsplit(public_url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def retire_unit(session: Session, unit: Unit) -> Unit:
    """Take a unit out of service: its code stops working with a clear message; its history stays."""
    now = utcnow()
    unit.retired_at = now
    for code in session.scalars(select(QrCode).where(QrCode.unit_id == unit.id, QrCode.revoked_at.is_(None))):
        code.revoked_at = now
    session.flush()
    return unit


def china_today(now: dt.datetime | None = None) -> dt.date:
    return (now or utcnow()).astimezone(CHINA).date()


def count_scan(session: Session, unit_id: int, day: dt.date | None = None) -> None:
    """Add one scan to the unit's count for the day (China time); safe under concurrent scans."""
    day = day or china_today()
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(UnitScan).values(unit_id=unit_id, day=day, count=1)
    stmt = stmt.on_conflict_do_update(index_elements=["unit_id", "day"], set_={"count": UnitScan.count + 1})
    session.execute(stmt)


def scan_counts(session: Session, unit_ids: list[int], day: dt.date | None = None) -> dict[int, tuple[int, int]]:
    """unit id -> (scans today, scans in all) for these units."""
    day = day or china_today()
    if not unit_ids:
        return {}
    out: dict[int, tuple[int, int]] = {}
    for unit_id, total in session.execute(select(UnitScan.unit_id, func.sum(UnitScan.count))
                                          .where(UnitScan.unit_id.in_(unit_ids)).group_by(UnitScan.unit_id)):
        out[unit_id] = (0, int(total))
    for unit_id, count in session.execute(select(UnitScan.unit_id, UnitScan.count)
                                          .where(UnitScan.unit_id.in_(unit_ids), UnitScan.day == day)):
        out[unit_id] = (int(count), out.get(unit_id, (0, 0))[1])
    return out


def get_unit(session: Session, unit_id: int) -> Unit:
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise NotFound("unit_not_found")
    return unit


def unit_by_code(session: Session, code: str) -> Unit:
    unit = session.scalar(select(Unit).where(Unit.code == code.strip()))
    if unit is None:
        raise NotFound("unit_not_found")
    return unit


def subtree(session: Session, unit: Unit, *, live_only: bool = True) -> list[Unit]:
    """The unit and everything below it, in tree order."""
    query = select(Unit).where(Unit.path.like(f"{unit.path}%"))
    if live_only:
        query = query.where(Unit.retired_at.is_(None))
    units = list(session.scalars(query))
    return sort_tree(units)


def sort_tree(units: list[Unit]) -> list[Unit]:
    """Depth-first order, siblings by code."""
    by_parent: dict[int | None, list[Unit]] = {}
    ids = {u.id for u in units}
    for u in units:
        by_parent.setdefault(u.parent_id if u.parent_id in ids else None, []).append(u)
    out: list[Unit] = []
    stack = sorted(by_parent.get(None, []), key=lambda u: u.code, reverse=True)
    while stack:
        u = stack.pop()
        out.append(u)
        stack.extend(sorted(by_parent.get(u.id, []), key=lambda c: c.code, reverse=True))
    return out


# --- mini-program codes (小程序码) ------------------------------------------------------------------------------

MINIPROGRAM_PAGE = "pages/report/index"  # the mini-program's intake page; it reads the scene from its options
WXACODE_WIDTH = 1280  # the largest WeChat makes: the code is printed 11-16 cm wide
ENV_VERSIONS = {"formal": "release", "trial": "trial", "developer": "develop"}


def miniprogram_code(gateway, code: QrCode, *, state: str = "formal") -> Image.Image:
    """The unit's mini-program code from WeChat's getwxacodeunlimit, carrying the code's token as its scene.

    Side effects: one WeChat call. Raises `wxacode_failed` (502) when WeChat refuses or answers with anything
    but an image, so a broken code is never printed; `wechat_misconfigured` (503, logged) for wrong settings.
    """
    try:
        data = gateway.get_wxacode_unlimited(code.token, page=MINIPROGRAM_PAGE, width=WXACODE_WIDTH,
                                             check_path=state == "formal",
                                             env_version=ENV_VERSIONS.get(state, "release"))
    except WeChatMisconfigured as exc:
        raise wechat_misconfigured(exc) from None
    except WeChatError as exc:
        raise DomainError("wxacode_failed", status=502, detail=getattr(exc, "errcode", None) or "网络") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=["PNG", "JPEG"])
            image.load()
    except Exception:  # JSON instead of an image, truncated, a bomb: Pillow raises many kinds
        raise DomainError("wxacode_failed", status=502, detail="图片无效") from None
    return image
