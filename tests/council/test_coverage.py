"""Cadence and coverage: the district sets how often its councils meet (per level, per unit); the statistics show
each unit's next due date and the overdue ones; the secretary's daily digest names the due date."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select, update

from council.coverage import add_months
from models import Meeting, Notification, Staff, Unit, utcnow
from models.base import CHINA
from models.council import MeetingDetail
from models.notify import DigestItem
from tests.council.support import PASSWORD, csrf
from workers.digest import build_digests


def sign_in(client, username: str) -> None:
    page = client.get("/staff/signin").text
    res = client.post("/staff/signin", data={"username": username, "password": PASSWORD, "csrf_token": csrf(page)})
    assert res.status_code == 302, res.text[:300]


def unit(db, name: str) -> Unit:
    return db.scalar(select(Unit).where(Unit.name == name))


def cadence(client, data: dict):
    return client.post("/admin/cadence", data=dict(data, csrf_token=csrf(client.get("/admin/cadence").text)))


def due_rows(page: str) -> dict[str, tuple[str, str, bool]]:
    """unit name -> (cadence shown, next due date, overdue) from the statistics page."""
    rows = re.findall(r'<tr data-due="([^"]+)"( class="overdue")?><td>.*?</td>\s*<td>([^<]*)</td><td>[^<]*</td>\s*'
                      r'<td data-col="next_due">([^<]*)', page, re.S)
    return {name: (shown, due, bool(late)) for name, late, shown, due in rows}


def today() -> dt.date:
    return dt.datetime.now(CHINA).date()


def test_add_months_keeps_the_day_or_takes_the_months_last():
    assert add_months(dt.date(2026, 8, 31), 6) == dt.date(2027, 2, 28)
    assert add_months(dt.date(2026, 11, 15), 2) == dt.date(2027, 1, 15)


def test_the_district_sets_the_cadence_and_the_statistics_show_due_and_overdue_units(client, demo, db):
    sign_in(client, "admin")
    page = client.get("/admin/cadence").text
    assert 'value="2"' in page and 'value="6"' in page  # villages every two months, towns twice a year
    assert cadence(client, {"months_street": "0", "months_community": "1"}).status_code == 303
    pengcheng = unit(db, "彭城社区")
    assert cadence(client, {"unit_id": pengcheng.id, "months": "3"}).status_code == 303
    res = cadence(client, {"unit_id": pengcheng.id, "months": "30"})
    assert res.status_code == 400 and "议事频次须是 0 到 24 之间的整数" in res.text
    res = cadence(client, {"months_street": "-1", "months_community": "1"})
    assert res.status_code == 400

    # 梁堂村 was set up three months ago and never met: overdue; 汉王村 met ten days ago.
    liangtang, hanwang = unit(db, "梁堂村"), unit(db, "汉王村")
    liangtang.created_at = utcnow() - dt.timedelta(days=92)
    met = Meeting(unit_id=hanwang.id, starts_at=utcnow() - dt.timedelta(days=10), place="村部", form="forum",
                  created_at=utcnow())
    db.add(met)
    db.flush()
    db.add(MeetingDetail(meeting_id=met.id, title="汉王村议事会", held_at=utcnow() - dt.timedelta(days=10)))
    db.commit()

    stats = client.get(f"/council/stats?unit={unit(db, '铜山区').id}").text
    rows = due_rows(stats)
    created = (utcnow() - dt.timedelta(days=92)).astimezone(CHINA).date()
    assert rows["梁堂村"] == ("每 1 个月", add_months(created, 1).isoformat(), True)
    held = (utcnow() - dt.timedelta(days=10)).astimezone(CHINA).date()
    assert rows["汉王村"] == ("每 1 个月", add_months(held, 1).isoformat(), False)
    assert rows["彭城社区"] == ("每 3 个月", add_months(today(), 3).isoformat(), False)
    assert rows["张集镇"][0] == "不作要求" and rows["张集镇"][1] == "—"
    assert re.search(r'id="overdue-count">1 个单位逾期未开议事会<', stats)
    assert list(rows)[0] == "梁堂村"  # the overdue first

    # Back to the level's default for 彭城社区 (an empty value).
    assert cadence(client, {"unit_id": pengcheng.id, "months": ""}).status_code == 303
    db.expire_all()
    assert unit(db, "彭城社区").meeting_cadence_months is None


def _digests(db, staff_id: int) -> list[Notification]:
    return db.scalars(select(Notification).where(Notification.event == "staff_digest",
                                                 Notification.recipient_id == staff_id)).all()


def test_the_secretarys_digest_names_when_the_next_council_is_due_and_when_it_is_overdue(app, demo, db):
    secretary = db.scalar(select(Staff).where(Staff.username == "shuji1"))
    liangtang = unit(db, "梁堂村")

    # Due in two months and nothing else to tell: no digest.
    assert build_digests(db) == 0
    # With other news, the digest adds the due date after it when the message's 20 characters hold it.
    db.add(DigestItem(staff_id=secretary.id, event="triage_overdue", params={}, created_at=utcnow()))
    db.flush()
    assert build_digests(db) == 1
    due = add_months(today(), 2)
    (first,) = _digests(db, secretary.id)
    expected = f"分拣逾期1件，议事会应于{due.month}月{due.day}日前召开"
    assert first.params["summary"] == (expected if len(expected) <= 20 else "分拣逾期1件")

    # A week before it is due, the secretary hears of it by itself, once a day.
    db.execute(update(Unit).where(Unit.id == liangtang.id).values(created_at=utcnow() - dt.timedelta(days=55)))
    db.expire_all()
    assert build_digests(db) == 1
    assert build_digests(db) == 0
    due = add_months((utcnow() - dt.timedelta(days=55)).astimezone(CHINA).date(), 2)
    assert _digests(db, secretary.id)[-1].params["summary"] == f"议事会应于{due.month}月{due.day}日前召开"

    # Overdue: the digest says so, naming the date it was due by.
    db.execute(update(Unit).where(Unit.id == liangtang.id).values(created_at=utcnow() - dt.timedelta(days=75)))
    db.expire_all()
    tomorrow = utcnow() + dt.timedelta(days=1)
    assert build_digests(db, now=tomorrow) == 1
    due = add_months((utcnow() - dt.timedelta(days=75)).astimezone(CHINA).date(), 2)
    assert _digests(db, secretary.id)[-1].params["summary"] == f"议事会逾期：应于{due.month}月{due.day}日前召开"
    # Overdue with other news: the overdue council comes first.
    db.add(DigestItem(staff_id=secretary.id, event="triage_overdue", params={}, created_at=utcnow()))
    db.flush()
    assert build_digests(db, now=tomorrow) == 1
    assert _digests(db, secretary.id)[-1].params["summary"].startswith("议事会逾期：应于")


@pytest.mark.parametrize("username", ["shuji1", "wangge1"])
def test_the_cadence_page_is_for_admins_only(client, demo, username):
    sign_in(client, username)
    assert client.get("/admin/cadence").status_code == 404
