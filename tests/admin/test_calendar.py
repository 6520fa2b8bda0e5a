"""The district's working calendar (/admin/calendar): its own days off and working days over the national
calendar, shown with the year's national holidays for reference; the days off move triage deadlines."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from models.base import CHINA
from models.triage import Holiday, WorkingDay
from tests.council.support import PASSWORD, csrf
from triage.rules import add_working_days, holidays


def sign_in(client, username: str) -> None:
    page = client.get("/staff/signin").text
    res = client.post("/staff/signin", data={"username": username, "password": PASSWORD, "csrf_token": csrf(page)})
    assert res.status_code == 302, res.text[:300]


def add(client, **data):
    return client.post("/admin/calendar", data=dict(data, csrf_token=csrf(client.get("/admin/calendar").text)))


@pytest.fixture
def admin(client, demo):
    sign_in(client, "admin")
    return client


def test_the_page_shows_the_national_holidays_of_a_year_for_reference(admin):
    page = admin.get("/admin/calendar?year=2026").text
    assert 'data-national="2026-10-01"' in page and "国庆节" in page and "春节" in page
    assert "2026-09-20 调休上班" in page  # a 调休 Sunday worked before National Day
    assert "完全按国家日历" in page


def test_a_district_adds_and_removes_its_own_days(admin, db):
    res = add(admin, day="2026-11-16", kind="off", name="区运动会放假")
    assert res.status_code == 303
    res = add(admin, day="2026-11-21", kind="work", name="调休上班")
    assert res.status_code == 303
    page = admin.get(res.headers["Location"]).text
    assert 'data-day="2026-11-16"' in page and "区运动会放假" in page and 'data-day="2026-11-21"' in page
    off = db.scalar(select(Holiday).where(Holiday.day == dt.date(2026, 11, 16)))
    assert off is not None and off.unit_id is not None
    assert db.scalar(select(WorkingDay.name).where(WorkingDay.day == dt.date(2026, 11, 21))) == "调休上班"

    # The day off moves a triage deadline: Friday 13 November + 1 working day skips the weekend and the 16th.
    friday = dt.datetime(2026, 11, 13, 10, 0, tzinfo=CHINA)
    assert add_working_days(friday, 1, holidays(db)).date() == dt.date(2026, 11, 17)

    res = add(admin, day="2026-11-16", kind="work", name="又一次")
    assert res.status_code == 409 and "2026-11-16 已经设置过了" in res.text
    res = admin.post("/admin/calendar/remove", data={"csrf_token": csrf(page), "district": off.unit_id,
                                                     "kind": "off", "id": off.id})
    assert res.status_code == 303
    assert 'data-day="2026-11-16"' not in admin.get("/admin/calendar").text
    assert add_working_days(friday, 1, holidays(db)).date() == dt.date(2026, 11, 16)


@pytest.mark.parametrize(("data", "message"), [
    ({"day": "2026-13-01", "kind": "off", "name": "x"}, "日期格式不正确"),
    ({"day": "", "kind": "off", "name": "x"}, "日期格式不正确"),
    ({"day": "2026-11-16", "kind": "holiday", "name": "x"}, "请选择“放假”或“上班”"),
    ({"day": "2026-11-16", "kind": "off", "name": " "}, "请填写说明"),
])
def test_bad_calendar_input_is_refused_and_changes_nothing(admin, db, data, message):
    res = add(admin, **data)
    assert res.status_code == 400 and message in res.text
    assert db.scalar(select(Holiday.id)) is None and db.scalar(select(WorkingDay.id)) is None


def test_the_calendar_is_for_admins_only(client, demo):
    sign_in(client, "wangge1")
    assert client.get("/admin/calendar").status_code == 404


def test_a_districts_own_days_move_its_deadlines_only(admin, db):
    """A worked Saturday brings the district's deadlines forward; another district's calendar is its own."""
    from models import Unit, UnitLevel
    from triage.rules import calendar_of

    assert add(admin, day="2026-11-14", kind="work", name="调休上班").status_code == 303
    assert add(admin, day="2026-11-17", kind="off", name="区运动会放假").status_code == 303
    district = db.scalar(select(WorkingDay.unit_id))
    other = Unit(code="other-district", name="别的区", level=UnitLevel.district, path="")
    db.add(other)
    db.flush()
    other.path = f"/{other.id}/"
    db.commit()

    friday = dt.datetime(2026, 11, 13, 10, 0, tzinfo=CHINA)
    assert add_working_days(friday, 1, *calendar_of(db, district)).date() == dt.date(2026, 11, 14)
    assert add_working_days(friday, 3, *calendar_of(db, district)).date() == dt.date(2026, 11, 18)
    assert add_working_days(friday, 1, *calendar_of(db, other.id)).date() == dt.date(2026, 11, 16)
    assert add_working_days(friday, 3, *calendar_of(db, other.id)).date() == dt.date(2026, 11, 18)
