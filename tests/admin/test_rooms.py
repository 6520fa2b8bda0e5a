"""The register of council rooms (/admin/rooms), meetings taking place in a room, and the statistics' room count and
coverage following what is entered on the pages."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select, update

from models import CouncilRoom, Meeting, Unit, utcnow
from tests.council.support import PASSWORD, csrf, local_input


def sign_in(client, username: str) -> None:
    page = client.get("/staff/signin").text
    res = client.post("/staff/signin", data={"username": username, "password": PASSWORD, "csrf_token": csrf(page)})
    assert res.status_code == 302, res.text[:300]


def post(client, page_url: str, action: str, data: dict):
    return client.post(action, data=dict(data, csrf_token=csrf(client.get(page_url).text)))


def unit_id(db, name: str) -> int:
    return db.scalar(select(Unit.id).where(Unit.name == name))


@pytest.fixture
def admin(client, demo):
    sign_in(client, "admin")
    return client


def test_an_admin_registers_edits_and_retires_a_room(admin, db):
    sanbao = unit_id(db, "三堡街道")
    res = post(admin, "/admin/rooms", "/admin/rooms", {
        "unit_id": sanbao, "name": "三堡街道19点议事厅", "address": "三堡街道党群服务中心二楼",
        "opening_hours": "每周三 19:00-21:00", "capacity": "60"})
    assert res.status_code == 303
    page = admin.get(res.headers["Location"]).text
    assert 'href="/admin/cadence"' in page
    assert "已保存" in page and "三堡街道19点议事厅" in page and "每周三 19:00-21:00" in page and "可容纳 60 人" in page
    room = db.scalar(select(CouncilRoom).where(CouncilRoom.name == "三堡街道19点议事厅"))
    assert (room.unit_id, room.address, room.capacity) == (sanbao, "三堡街道党群服务中心二楼", 60)

    # A unit may have more than one room: an outdoor spot beside the hall.
    res = post(admin, "/admin/rooms", "/admin/rooms", {"unit_id": sanbao, "name": "三堡广场户外议事点"})
    assert res.status_code == 303
    assert len(db.scalars(select(CouncilRoom).where(CouncilRoom.unit_id == sanbao)).all()) == 2

    res = post(admin, f"/admin/rooms/{room.id}", f"/admin/rooms/{room.id}", {
        "unit_id": sanbao, "name": "三堡街道有事好商量议事厅", "address": "三堡街道党群服务中心二楼",
        "opening_hours": "每周三、周五 19:00-21:00", "capacity": ""})
    assert res.status_code == 303
    db.expire_all()
    room = db.get(CouncilRoom, room.id)
    assert (room.name, room.opening_hours, room.capacity) == ("三堡街道有事好商量议事厅", "每周三、周五 19:00-21:00",
                                                              None)

    res = post(admin, f"/admin/rooms/{room.id}", f"/admin/rooms/{room.id}/retire", {})
    assert res.status_code == 303
    listing = admin.get("/admin/rooms").text
    assert "三堡街道有事好商量议事厅" not in listing and "三堡广场户外议事点" in listing
    assert "已停用" in admin.get("/admin/rooms?retired=1").text
    res = post(admin, "/admin/rooms", f"/admin/rooms/{room.id}", {"unit_id": sanbao, "name": "改名"})
    assert res.status_code == 409 and "这个议事室已停用" in res.text


@pytest.mark.parametrize(("data", "message"), [
    ({"name": " "}, "请填写议事室名称"),
    ({"name": "议事室", "capacity": "0"}, "可容纳人数须是 1 到 10000 之间的整数"),
    ({"name": "议事室", "capacity": "很多"}, "可容纳人数须是 1 到 10000 之间的整数"),
    ({"name": "议事室", "unit_id": "999999"}, "请选择议事室所属的单位"),
    ({"name": "议事室", "grid": True}, "请选择议事室所属的单位"),
])
def test_bad_room_input_is_refused_in_chinese_and_changes_nothing(admin, db, data, message):
    before = db.scalar(select(CouncilRoom.id).order_by(CouncilRoom.id.desc()).limit(1))
    unit = unit_id(db, "梁堂村第一网格" if data.pop("grid", False) else "三堡街道")
    res = post(admin, "/admin/rooms", "/admin/rooms", {"unit_id": unit, **data})
    assert res.status_code == 400 and message in res.text
    assert db.scalar(select(CouncilRoom.id).order_by(CouncilRoom.id.desc()).limit(1)) == before


def test_rooms_are_for_admins_only(client, demo):
    sign_in(client, "shuji1")
    assert client.get("/admin/rooms").status_code == 404


def _schedule(client, data: dict):
    return post(client, "/council/meetings/", "/council/meetings/", {
        "title": "张集镇议事会", "starts_at": local_input(utcnow() + dt.timedelta(days=3)), "form": "forum", **data})


def test_a_meeting_takes_place_in_a_room_of_its_unit_or_above(client, demo, db, wechat_sandbox):
    town_room = db.scalar(select(CouncilRoom).where(CouncilRoom.name == "张集镇有事好商量协商议事室"))
    town_room.address, town_room.opening_hours = "张集镇政府三楼", "每月第一个周三 19:00"
    other = db.scalar(select(CouncilRoom).where(CouncilRoom.name == "彭城社区19点议事厅"))
    db.commit()
    sign_in(client, "shuji1")
    form = client.get("/council/meetings/").text
    assert "张集镇有事好商量协商议事室" in form and "梁堂村协商议事室" in form and "彭城社区19点议事厅" not in form
    village = unit_id(db, "梁堂村")

    res = _schedule(client, {"unit_id": village, "room_id": other.id, "place": ""})
    assert res.status_code == 400 and "只能选择本单位或上级单位在用的议事室" in res.text

    res = _schedule(client, {"unit_id": village, "room_id": town_room.id, "place": "", "is_open": "1"})
    assert res.status_code == 302
    page = client.get(res.headers["Location"]).text
    assert "议事室：张集镇有事好商量协商议事室（张集镇政府三楼）" in page and "每月第一个周三 19:00" in page
    meeting = db.scalar(select(Meeting).order_by(Meeting.id.desc()).limit(1))
    assert meeting.council_room_id == town_room.id and meeting.place == "张集镇有事好商量协商议事室（张集镇政府三楼）"

    # The public board's meeting page and the mini-program's meeting JSON name the room too.
    from models import QrCode

    token = db.scalar(select(QrCode.token).where(QrCode.unit_id == village, QrCode.revoked_at.is_(None)))
    public = client.get(f"/board/{token}/meetings/{meeting.id}").text
    assert "议事室：张集镇有事好商量协商议事室（张集镇政府三楼）" in public
    session = client.post("/api/v1/sessions", json={"code": wechat_sandbox.login_code("o-room")}).json["data"]["token"]
    data = client.get(f"/api/v1/meetings/{meeting.id}", headers={"Authorization": f"Bearer {session}"}).json["data"]
    assert data["room"] == {"name": "张集镇有事好商量协商议事室", "address": "张集镇政府三楼",
                            "opening_hours": "每月第一个周三 19:00"}

    # A retired room is offered no more.
    town_room.retired_at = utcnow()
    db.commit()
    assert "张集镇有事好商量协商议事室" not in client.get("/council/meetings/").text.split("安排议事会")[1]
    res = _schedule(client, {"unit_id": village, "room_id": town_room.id, "place": "镇政府"})
    assert res.status_code == 400 and "在用的议事室" in res.text


def _coverage(page: str) -> dict:
    rooms = re.search(r'id="rooms-in-use">(\d+)<', page).group(1)
    row = re.search(r'<tr data-level="community">(.*?)</tr>', page, re.S).group(1)
    cols = dict(re.findall(r'data-col="(\w+)">([^<]*)<', row))
    return {"rooms": int(rooms), **cols}


def test_the_statistics_room_count_and_coverage_follow_rooms_and_meetings_entered_on_the_pages(client, demo, db):
    sign_in(client, "admin")
    district = unit_id(db, "铜山区")
    stats = f"/council/stats?unit={district}"
    assert _coverage(client.get(stats).text) == {"rooms": 4, "units": "3", "with_room": "3", "met": "0",
                                                 "share": "0.0%"}
    # 三堡街道 gets a hall; 彭城社区's room is retired: 4 rooms in use, 2 of 3 communities have one.
    assert post(client, "/admin/rooms", "/admin/rooms", {"unit_id": unit_id(db, "三堡街道"),
                                                          "name": "三堡街道议事厅"}).status_code == 303
    pengcheng_room = db.scalar(select(CouncilRoom.id).where(CouncilRoom.name == "彭城社区19点议事厅"))
    assert post(client, f"/admin/rooms/{pengcheng_room}", f"/admin/rooms/{pengcheng_room}/retire",
                {}).status_code == 303
    assert _coverage(client.get(stats).text) == {"rooms": 4, "units": "3", "with_room": "2", "met": "0",
                                                 "share": "0.0%"}
    client.post("/staff/signout", data={"csrf_token": csrf(client.get("/admin/").text)})

    # 梁堂村's secretary holds a council in its room: one community of three is covered.
    sign_in(client, "shuji1")
    res = _schedule(client, {"unit_id": unit_id(db, "梁堂村"), "place": "梁堂村党群服务中心"})
    meeting_id = int(res.headers["Location"].rsplit("/", 1)[1])
    db.execute(update(Meeting).where(Meeting.id == meeting_id).values(starts_at=utcnow() - dt.timedelta(hours=2)))
    db.commit()
    res = post(client, f"/council/meetings/{meeting_id}", f"/council/meetings/{meeting_id}/record",
               {"minutes": "议定村口路灯维修方案。"})
    assert res.status_code == 302
    client.post("/staff/signout", data={"csrf_token": csrf(client.get("/council/").text)})
    sign_in(client, "admin")
    assert _coverage(client.get(stats).text) == {"rooms": 4, "units": "3", "with_room": "2", "met": "1",
                                                 "share": "33.3%"}
    # A period before the meeting: it did not happen then.
    before = (dt.date.today() - dt.timedelta(days=30)).isoformat()
    assert _coverage(client.get(f"{stats}&from={before}&to={before}").text)["met"] == "0"
