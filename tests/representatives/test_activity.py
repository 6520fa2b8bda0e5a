"""A representative's activity log and the yearly "四个一": what they logged, plus the matters that came through
their code or their entries and those carried to a result."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from models import Complaint, Resident, utcnow
from models.base import CHINA
from models.lifecycle import SYSTEM, Actor, NewComplaint, transition_complaint
from models.representatives import RepresentativeActivity
from tests.representatives.support import appointed, post, staff_named, staff_sign_in, unit_named


def _figures(page: str) -> dict[str, str]:
    return dict(re.findall(r'data-figure="([a-z_]+)">([^<]*)<', page))


def _done(page: str) -> dict[str, str]:
    return dict(re.findall(r'data-four="([a-z_]+)">.*?data-done="(true|false)"', page, re.S))


def _log(client, rep_id: int, **form):
    page = client.get(f"/admin/representatives/{rep_id}/activities")
    return post(client, f"/admin/representatives/{rep_id}/activities", form, page.text)


def _matter(app, rep_id: int, *, solved: bool, heard_via: str | None = None, entered_by: str | None = None):
    """A complaint that came through the representative (their code, or their entry), solved or still open."""
    with app.extensions["xinma.sessionmaker"]() as session:
        unit = unit_named(session, "梁堂村第一网格")
        resident = Resident(openid=None, channel="h5", created_at=utcnow())
        session.add(resident)
        session.flush()
        staff = staff_named(session, entered_by) if entered_by else None
        row = transition_complaint(session, NewComplaint(
            unit_id=unit.id, unit_name=unit.name, resident_id=resident.id, openid=None, category="停车",
            text="停车难", representative_id=rep_id, heard_via=heard_via, entered_by_id=staff.id if staff else None),
            "submit", actor=SYSTEM)
        row = session.get(Complaint, row.id)
        if solved:
            transition_complaint(session, row, "accept", actor=SYSTEM, values={"content_check": "pass"})
            worker = staff_named(session, "wangge1")
            transition_complaint(session, row, "solve", actor=Actor.staff(worker), values={"reply": "已协调车位"})
        session.commit()


def test_the_representative_logs_their_year_and_the_four_ones_add_up(app, client, demo):
    rep_id = appointed(app, name="张三", account="daibiao1")
    staff_sign_in(client, "daibiao1")
    assert client.get("/admin/representatives/me").headers["Location"].endswith(f"/{rep_id}/activities")
    today = dt.datetime.now(CHINA).date().isoformat()
    summary = client.get(f"/admin/representatives/{rep_id}/summary").text
    assert _done(summary) == {"policy_talk": "false", "forum": "false", "suggestion": "false", "matter": "false"}

    assert _log(client, rep_id, kind="policy_talk", happened_on=today, summary="宣讲养老保险新政策",
                people="30").status_code == 303
    res = _log(client, rep_id, kind="forum", happened_on=today, summary="第一家属院座谈会", people="12")
    assert res.status_code == 303
    assert _log(client, rep_id, kind="visit", happened_on=today, summary="走访独居老人").status_code == 303
    _matter(app, rep_id, solved=True)  # a resident scanned the code; solved in the grid
    _matter(app, rep_id, solved=False, heard_via="visit", entered_by="daibiao1")

    page = client.get(f"/admin/representatives/{rep_id}/activities").text
    assert "宣讲养老保险新政策" in page and "第一家属院座谈会" in page
    summary = client.get(f"/admin/representatives/{rep_id}/summary").text
    figures = _figures(summary)
    assert figures == {"policy_talk": "1", "forum": "1", "suggestion": "2", "matter": "1", "visit": "2",
                       "reception": "0", "forum_people": "42", "complaints": "2", "by_code": "1", "on_behalf": "1",
                       "results": "1"}
    assert set(_done(summary).values()) == {"true"}
    last_year = client.get(f"/admin/representatives/{rep_id}/summary?year={dt.date.today().year - 1}").text
    assert _figures(last_year)["complaints"] == "0" and _figures(last_year)["policy_talk"] == "0"


@pytest.mark.parametrize("form, message", [
    ({"kind": "dance"}, "请选择活动类型"),
    ({"happened_on": "2099-01-01"}, "活动日期格式不正确"),
    ({"happened_on": "昨天"}, "活动日期格式不正确"),
    ({"summary": " "}, "请填写活动内容"),
    ({"people": "-3"}, "参加人数应为"),
])
def test_a_bad_log_entry_is_refused_and_writes_nothing(app, client, demo, db, form, message):
    rep_id = appointed(app, account="daibiao1")
    staff_sign_in(client, "daibiao1")
    data = {"kind": "forum", "happened_on": dt.datetime.now(CHINA).date().isoformat(), "summary": "座谈", **form}
    res = _log(client, rep_id, **data)
    assert res.status_code == 400 and message in res.text
    assert db.scalar(select(func.count()).select_from(RepresentativeActivity)) == 0


def test_a_representative_reads_only_their_own_log(app, client, demo):
    mine = appointed(app, name="张三", account="daibiao1")
    other = appointed(app, name="王五", unit_name="汉王村第一网格", account="daibiao2")
    staff_sign_in(client, "daibiao1")
    assert client.get(f"/admin/representatives/{mine}/activities").status_code == 200
    assert client.get(f"/admin/representatives/{other}/activities").status_code == 404
    assert client.get(f"/admin/representatives/{other}/summary").status_code == 404
    assert client.get(f"/admin/representatives/{mine}").status_code == 404  # the register is not theirs
    assert client.get("/admin/representatives").status_code == 404

