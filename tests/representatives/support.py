"""Helpers the representative tests share: staff sign-in, a representative appointed through every step, their
personal code's link, and reading QR codes back with an independent reader (zxing-cpp)."""

from __future__ import annotations

import datetime as dt
import io
import re

from PIL import Image
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from models import Staff, StaffRole, Unit, utcnow
from models.lifecycle import Actor
from models.representatives import Representative, recommend, transition_representative

PASSWORD = "xinma-demo"
PUBLIC_URL = "http://xinma.test"


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def staff_sign_in(client, username: str) -> None:
    page = client.get("/staff/signin")
    res = client.post("/staff/signin", data={"username": username, "password": PASSWORD, "csrf_token": csrf(page.text)})
    assert res.status_code == 302, res.text[:300]


def post(client, path: str, data: dict, page: str | None = None):
    """A staff form POST with the session's CSRF token (read from `page`, or from the queue's sign-out form)."""
    token = csrf(page if page is not None else client.get("/staff/wechat").text)
    return client.post(path, data={**data, "csrf_token": token})


def unit_named(session, name: str) -> Unit:
    return session.scalar(select(Unit).where(Unit.name == name))


def staff_named(session, username: str) -> Staff:
    return session.scalar(select(Staff).where(Staff.username == username))


def appointed(app, unit_name: str = "梁堂村第一网格", name: str = "张三", kind: str = "representative",
              account: str | None = None, duties=("visiting", "receiving")) -> int:
    """A representative recommended, reviewed, decided, announced (notice period already over) and appointed, with
    a personal code; `account` names a new staff account of role representative linked to them. Returns the id."""
    from qr.personal import issue_personal_code

    with app.extensions["xinma.sessionmaker"]() as session:
        admin = staff_named(session, "admin")
        unit = unit_named(session, unit_name)
        rep = recommend(session, admin, unit, kind=kind, name=name, duties=list(duties), recommended_by="第一党支部")
        past = utcnow() - dt.timedelta(days=6)
        for action in ("review", "decide", "announce"):
            transition_representative(session, rep, action, actor=Actor.staff(admin), reason="同意", now=past)
        transition_representative(session, rep, "appoint", actor=Actor.staff(admin))
        issue_personal_code(session, rep)
        if account:
            staff = Staff(username=account, display_name=f"{name}（代表）", role=StaffRole.representative,
                          password_hash=generate_password_hash(PASSWORD), units=[unit], created_at=utcnow())
            session.add(staff)
            session.flush()
            rep.staff_id = staff.id
        session.commit()
        return rep.id


def representative(app, rep_id: int) -> Representative:
    with app.extensions["xinma.sessionmaker"]() as session:
        rep = session.get(Representative, rep_id)
        session.expunge(rep)
        return rep


def personal_token(app, rep_id: int) -> str:
    from models.representatives import PersonalCode

    with app.extensions["xinma.sessionmaker"]() as session:
        return session.scalar(select(PersonalCode.token).where(PersonalCode.representative_id == rep_id,
                                                               PersonalCode.revoked_at.is_(None)))


def decode_qr(png: bytes) -> list[str]:
    """Every QR code zxing-cpp finds in the image (an independent reader, not the library that drew it)."""
    import zxingcpp

    image = Image.open(io.BytesIO(png)).convert("L")
    return [r.text for r in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]
