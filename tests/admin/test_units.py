"""Retiring a unit from a page (/admin/units/<id>/retire), with a confirmation: its codes stop taking reports with a
clear Chinese message, it leaves the queue filters and the coverage denominators, its history stays."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from models import Complaint, ComplaintState, QrCode, Unit
from tests import factories
from tests.council.support import PASSWORD, csrf


def sign_in(client, username: str) -> None:
    page = client.get("/staff/signin").text
    res = client.post("/staff/signin", data={"username": username, "password": PASSWORD, "csrf_token": csrf(page)})
    assert res.status_code == 302, res.text[:300]


def sign_out(client) -> None:
    client.post("/staff/signout", data={"csrf_token": csrf(client.get("/staff/signin").text)})
    client.delete_cookie("session")


def unit(db, name: str) -> Unit:
    return db.scalar(select(Unit).where(Unit.name == name))


def token_of(db, unit_id: int) -> str:
    return db.scalar(select(QrCode.token).where(QrCode.unit_id == unit_id).order_by(QrCode.id.desc()).limit(1))


@pytest.fixture
def village(demo, db):
    """汉王村 with a complaint waiting for triage and a closed one."""
    hanwang = unit(db, "汉王村")
    grid = unit(db, "汉王村第一网格")
    who = factories.resident(db)
    waiting = factories.complaint(db, grid, who, state=ComplaintState.awaiting_triage, text="村西头路灯坏了")
    closed = factories.complaint(db, grid, who, state=ComplaintState.solved, text="垃圾桶满了")
    db.commit()
    return {"unit": hanwang, "grid": grid, "waiting": waiting.id, "closed": closed.id,
            "grid_token": token_of(db, grid.id)}


def test_retiring_asks_for_a_confirmation_and_retires_the_unit_with_its_grids(client, village, db):
    sign_in(client, "admin")
    hanwang = village["unit"]
    assert f'href="/admin/units/{hanwang.id}/retire"' in client.get("/admin/cadence").text
    page = client.get(f"/admin/units/{hanwang.id}/retire").text
    assert "撤销单位：汉王村" in page and re.search(r'id="retire-below">1<', page)
    assert "还有 <strong>1</strong> 条反映等待分拣" in page

    res = client.post(f"/admin/units/{hanwang.id}/retire", data={"csrf_token": csrf(page)})
    assert res.status_code == 400 and "请勾选“我已确认”后再撤销单位" in res.text
    db.expire_all()
    assert unit(db, "汉王村").retired_at is None

    res = client.post(f"/admin/units/{hanwang.id}/retire", data={"csrf_token": csrf(page), "confirm": "1"})
    assert res.status_code == 303
    assert "这个单位已于" in client.get(res.headers["Location"]).text
    db.expire_all()
    assert unit(db, "汉王村").retired_at is not None and unit(db, "汉王村第一网格").retired_at is not None
    again = client.post(f"/admin/units/{hanwang.id}/retire", data={"csrf_token": csrf(page), "confirm": "1"})
    assert again.status_code == 409 and "这个单位已经撤销了" in again.text


def test_a_retired_units_codes_stop_taking_reports_with_a_clear_message(client, village, db, wechat_sandbox):
    sign_in(client, "admin")
    hanwang = village["unit"]
    page = client.get(f"/admin/units/{hanwang.id}/retire").text
    client.post(f"/admin/units/{hanwang.id}/retire", data={"csrf_token": csrf(page), "confirm": "1"})
    token = village["grid_token"]

    scan = client.get(f"/q/{token}")
    assert scan.status_code == 410 and "这个二维码所属的单位已撤销" in scan.text
    session = client.post("/api/v1/sessions", json={"code": wechat_sandbox.login_code("o-retired")}).json
    headers = {"Authorization": f"Bearer {session['data']['token']}"}
    res = client.post("/api/v1/complaints", headers=headers,
                      json={"scene": token, "category": "设施维修", "text": "路灯坏了"})
    assert res.status_code == 410 and res.json["error"]["code"] == "scene_unit_retired"
    assert "12345" in res.json["error"]["message"]
    assert db.scalar(select(Complaint.id).order_by(Complaint.id.desc()).limit(1)) == village["closed"]


def test_a_retired_unit_leaves_the_queue_filter_and_the_coverage_but_its_history_stays(client, village, db):
    sign_in(client, "admin")
    hanwang = village["unit"]
    district = unit(db, "铜山区")
    stats = client.get(f"/council/stats?unit={district.id}").text
    assert re.search(r'<tr data-level="community">.*?data-col="units">3<', stats, re.S)
    page = client.get(f"/admin/units/{hanwang.id}/retire").text
    client.post(f"/admin/units/{hanwang.id}/retire", data={"csrf_token": csrf(page), "confirm": "1"})

    stats = client.get(f"/council/stats?unit={district.id}").text
    assert re.search(r'<tr data-level="community">.*?data-col="units">2<', stats, re.S)
    queue = client.get("/triage/?state=all").text
    assert f'data-complaint="{village["waiting"]}"' in queue and f'data-complaint="{village["closed"]}"' in queue
    options = re.search(r'<select[^>]*name="unit".*?</select>', queue, re.S).group(0)
    assert "汉王村" not in options and "梁堂村" in options
    assert "村西头路灯坏了" in client.get(f"/triage/complaints/{village['waiting']}").text


def test_a_district_cannot_be_retired_and_other_admins_units_are_not_found(client, demo, db):
    sign_in(client, "admin")
    district = unit(db, "铜山区")
    page = client.get(f"/admin/units/{district.id}/retire").text
    assert "不能在这里撤销整个区" in page
    res = client.post(f"/admin/units/{district.id}/retire", data={"csrf_token": csrf(page), "confirm": "1"})
    assert res.status_code == 400 and "不能在这里撤销整个区" in res.text
    assert client.get("/admin/units/999999/retire").status_code == 404
    sign_out(client)
    sign_in(client, "shuji1")
    assert client.get(f"/admin/units/{unit(db, '梁堂村').id}/retire").status_code == 404
