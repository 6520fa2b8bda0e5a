"""/admin/audit: the audit log as the admin reads it, newest first, in Chinese, filtered by person, unit subtree,
action and dates, paged, exported as CSV; nobody else reads it."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from sqlalchemy import select

from models import AuditEvent, ComplaintState, Staff, TopicState, Unit
from models.base import CHINA
from tests import factories
from tests.council.support import PASSWORD, csrf


@pytest.fixture
def session(app, demo):
    with app.extensions["xinma.sessionmaker"]() as s:
        yield s


def staff_client(app, username: str):
    client = app.test_client()
    page = client.get("/staff/signin").get_data(as_text=True)
    res = client.post("/staff/signin", data={"username": username, "password": PASSWORD, "csrf_token": csrf(page)})
    assert res.status_code in (302, 303)
    return client


def unit(session, name: str) -> Unit:
    return session.scalar(select(Unit).where(Unit.name == name))


def staff(session, username: str) -> Staff:
    return session.scalar(select(Staff).where(Staff.username == username))


def shown(client, query: str = "") -> list[int]:
    page = client.get(f"/admin/audit{query}")
    assert page.status_code == 200, page.get_data(as_text=True)[:300]
    return [int(i) for i in re.findall(r'data-audit="(\d+)"', page.get_data(as_text=True))]


def ids(session, **where) -> list[int]:
    session.expire_all()
    query = select(AuditEvent.id)
    for key, value in where.items():
        query = query.where(getattr(AuditEvent, key) == value)
    return sorted(session.scalars(query), reverse=True)


def china(day: str, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), CHINA).astimezone(dt.UTC)


def test_the_viewer_filters_by_person_unit_action_and_dates(app, session):
    village, pengcheng = unit(session, "梁堂村"), unit(session, "彭城社区")
    topic = factories.topic(session, village, state=TopicState.approved)
    complaint = factories.complaint(session, unit(session, "彭城社区第一网格"), factories.resident(session),
                                    state=ComplaintState.awaiting_triage)
    admin = staff(session, "admin")
    old = AuditEvent(subject_kind="unit", subject_id=pengcheng.id, action="qr.rotate", actor_kind="staff",
                     actor_id=admin.id, data={}, created_at=china("2026-01-15"))
    odd = AuditEvent(subject_kind="widget", subject_id=7, action="mystery.action", actor_kind="system", data={},
                     created_at=china("2026-01-20"))
    session.add_all([old, odd])
    session.commit()

    secretary = staff_client(app, "shuji1")
    url = f"/council/topics/{topic.id}"
    page = secretary.get(url).get_data(as_text=True)
    res = secretary.post(f"{url}/route", data={"csrf_token": csrf(page), "step": "propose", "held_on": "2026-11-20",
                                               "votes_for": "7", "votes_against": "0", "votes_abstain": "1"})
    assert res.status_code == 302
    worker = staff_client(app, "wangge3")
    page = worker.get(f"/triage/complaints/{complaint.id}").get_data(as_text=True)
    res = worker.post(f"/triage/complaints/{complaint.id}/reply", data={"csrf_token": csrf(page), "text": "明天来看"})
    assert res.status_code == 302
    vote = ids(session, action="council.route")[0]
    reply = ids(session, action="reply")[0]

    client = staff_client(app, "admin")
    everything = shown(client)
    assert everything[:2] == [reply, vote] and everything[-2:] == [odd.id, old.id]  # newest first
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "记录四议表决" in page and "工作人员回复" in page and "mystery.action" in page
    assert "王书记（shuji1）" in page and "孙网格员（wangge3）" in page and "明天来看" in page
    labels = re.findall(r'class="audit-action">([^<]+)<', page)
    assert "votes_for=7" in page and "记录四议表决" in labels and "council.route" not in labels

    assert shown(client, f"?staff={staff(session, 'shuji1').id}") == [vote]
    assert shown(client, f"?unit={village.id}") == [vote]
    assert shown(client, f"?unit={pengcheng.id}") == [reply, old.id]  # the complaint's grid is below 彭城社区
    district = session.scalar(select(Unit).where(Unit.parent_id.is_(None)))
    assert set(shown(client, f"?unit={district.id}")) >= {vote, reply, old.id}
    assert shown(client, "?action=reply") == [reply]
    assert shown(client, "?until=2026-01-31") == [odd.id, old.id]
    assert shown(client, "?since=2026-01-16&until=2026-01-31") == [odd.id]
    assert old.id not in shown(client, "?since=2026-02-01")
    res = client.get("/admin/audit?since=昨天")
    assert res.status_code == 400 and "筛选条件不正确。" in res.get_data(as_text=True)


def test_pages_of_fifty_and_the_csv_export(app, session):
    admin = staff(session, "admin")
    start = china("2026-03-01")
    session.add_all([AuditEvent(subject_kind="topic", subject_id=n, action="council.publish", actor_kind="staff",
                                actor_id=admin.id, reason=f"第{n}次", data={"kind": "result"},
                                created_at=start + dt.timedelta(minutes=n)) for n in range(1, 121)])
    session.commit()
    client = staff_client(app, "admin")
    first = client.get("/admin/audit").get_data(as_text=True)
    assert re.search(r'id="audit-total">120<', first) and "第 1 / 3 页" in first
    assert len(re.findall(r'data-audit="', first)) == 50 and "第120次" in first and "第70次" not in first
    third = client.get("/admin/audit?page=3").get_data(as_text=True)
    assert len(re.findall(r'data-audit="', third)) == 20 and "第1次" in third

    res = client.get("/admin/audit?format=csv&since=2026-03-01")
    assert res.status_code == 200 and res.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(res.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == ["时间", "操作人", "操作", "对象", "原因", "详情"]
    assert len(rows) == 121
    assert rows[1][1:5] == ["区管理员（admin）", "公开决策/结果", "议题 120", "第120次"]
    assert rows[1][0] == (start + dt.timedelta(minutes=120)).astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")
    filtered = client.get("/admin/audit?format=csv&action=reply").get_data(as_text=True)
    assert len(list(csv.reader(io.StringIO(filtered.lstrip("\ufeff"))))) == 1


def test_only_the_admin_reads_the_log(app, session):
    for username in ("shuji1", "wangge1"):
        assert staff_client(app, username).get("/admin/audit").status_code == 404
        assert staff_client(app, username).get("/admin/audit?format=csv").status_code == 404
    assert app.test_client().get("/admin/audit").status_code == 302
