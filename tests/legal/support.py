"""What the legal tests share: the demo district with a legal adviser, staff sign-in with CSRF, topics and the
figures a page shows."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from models import ComplaintState, Staff, StaffRole, Topic, TopicState, Unit, utcnow
from models.council import Publication, RouteStage, TopicResolution
from models.legal import LegalAdviser, LegalOpinion, MajorCategory, ReadingDocument
from tests import factories

DEMO_PASSWORD = "xinma-demo"
ADVISER = "lvshi1"  # the demo has no adviser: each test names one (factories' password)


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def unit(session, name: str) -> Unit:
    return session.scalar(select(Unit).where(Unit.name == name))


def sign_in(client, username: str, password: str = DEMO_PASSWORD) -> None:
    page = client.get("/staff/signin").get_data(as_text=True)
    res = client.post("/staff/signin", data={"username": username, "password": password, "csrf_token": csrf(page)})
    assert res.status_code == 302, res.get_data(as_text=True)[:300]


def sign_in_adviser(client, username: str = ADVISER) -> None:
    sign_in(client, username, factories.PASSWORD)


def form_post(client, page_url: str, action: str, data: dict, **kw):
    page = client.get(page_url).get_data(as_text=True)
    return client.post(action, data=dict(data, csrf_token=csrf(page)), **kw)


def alert(res) -> str:
    body = res.get_data(as_text=True)
    return re.search(r'role="alert"[^>]*>([^<]*)<', body).group(1)


def refused(res, status: int, message: str) -> None:
    assert res.status_code == status, res.get_data(as_text=True)[:500]
    assert alert(res) == message


def adviser(session, *named_by: str, username: str = ADVISER, display_name: str = "李律师") -> Staff:
    """A legal adviser covering 张集镇, named by the given villages."""
    person = factories.staff(session, StaffRole.legal_adviser, unit(session, "张集镇"), username=username)
    person.display_name = display_name
    for name in named_by:
        session.add(LegalAdviser(unit_id=unit(session, name).id, staff_id=person.id, named_at=utcnow()))
    session.commit()
    return person


def major(session, *categories: str, district: str = "铜山区") -> None:
    for category in categories:
        session.add(MajorCategory(district_id=unit(session, district).id, category=category, created_at=utcnow()))
    session.commit()


def topic(session, village: str = "梁堂村", state: TopicState = TopicState.referred, category: str = "major_affairs",
          title: str = "村集体土地流转方案", resident=None) -> Topic:
    place = unit(session, village)
    row = factories.topic(session, place, state=state, title=title)
    row.category = category
    grid = session.scalar(select(Unit).where(Unit.parent_id == place.id))
    factories.complaint(session, grid, resident or factories.resident(session), state=ComplaintState.promoted,
                        topic=row)
    session.commit()
    return row


TABLES = (LegalOpinion, ReadingDocument, LegalAdviser, MajorCategory, TopicResolution, RouteStage, Publication)


def snapshot(session) -> tuple:
    """How many rows each legal and resolution table has, and every topic's state."""
    session.expire_all()
    return (tuple(session.scalar(select(func.count()).select_from(t)) for t in TABLES),
            tuple(session.scalars(select(Topic.state).order_by(Topic.id))))
