"""Binding a staff account to its WeChat openid, so grid workers and secretaries get their notifications in WeChat.

The staff member asks for a bind code (绑定码) on their signed-in staff page and types it into the mini-program's
staff page; the mini-program sends it with a fresh wx.login code, which tells us the openid. Eight digits, valid
for ten minutes, one per staff member, stored hashed, attempts rate-limited per client address.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from models import AuditEvent, Conflict, DomainError, Staff, utcnow
from models.triage import StaffBindCode

CODE_DIGITS = 8
CODE_LIFETIME = dt.timedelta(minutes=10)


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _audit(session: Session, staff: Staff, action: str, actor_kind: str) -> None:
    session.add(AuditEvent(subject_kind="staff", subject_id=staff.id, action=action, actor_kind=actor_kind,
                           actor_id=staff.id, data={}, created_at=utcnow()))


def new_code(session: Session, staff: Staff) -> tuple[str, dt.datetime]:
    """A fresh bind code for `staff` (the previous one stops working) and when it expires."""
    session.execute(delete(StaffBindCode).where(StaffBindCode.staff_id == staff.id))
    while True:
        code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
        if session.scalar(select(StaffBindCode.id).where(StaffBindCode.code_hash == _hash(code))) is None:
            break
    now = utcnow()
    session.add(StaffBindCode(staff_id=staff.id, code_hash=_hash(code), created_at=now, expires_at=now + CODE_LIFETIME))
    session.flush()
    return code, now + CODE_LIFETIME


def normalise(code: object) -> str:
    """The digits of a typed code ("1234 5678" and "1234-5678" are fine); `bind_code_invalid` otherwise."""
    if not isinstance(code, str):
        raise DomainError("bind_code_invalid")
    digits = "".join(ch for ch in code if ch not in " -")
    if len(digits) != CODE_DIGITS or not digits.isascii() or not digits.isdigit():
        raise DomainError("bind_code_invalid")
    return digits


def bind(session: Session, code: str, openid: str) -> Staff:
    """Bind the staff member behind `code` to `openid`; the code is used up. Audited."""
    row = session.scalar(select(StaffBindCode).where(StaffBindCode.code_hash == _hash(normalise(code)))
                         .with_for_update())
    if row is None or row.expires_at <= utcnow():
        raise DomainError("bind_code_invalid")
    staff = session.get(Staff, row.staff_id)
    if staff is None or not staff.active:
        raise DomainError("bind_code_invalid")
    holder = session.scalar(select(Staff).where(Staff.openid == openid))
    if holder is not None and holder.id != staff.id:
        raise Conflict("openid_taken")
    staff.openid = openid
    session.delete(row)
    _audit(session, staff, "bind_wechat", "staff")
    session.flush()
    return staff


def unbind(session: Session, staff: Staff) -> None:
    """Forget the staff member's openid: their notifications stop reaching WeChat. Audited."""
    if staff.openid is None:
        return
    staff.openid = None
    _audit(session, staff, "unbind_wechat", "staff")
    session.flush()
