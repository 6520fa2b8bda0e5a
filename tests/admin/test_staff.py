"""The admin's staff page: the list and its filters, role and unit changes, password resets, deactivation with a
confirmation (the member's open session refused at the next request) and reactivation; each role's landing page."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from models import AuditEvent, Staff, StaffRole, Unit, utcnow
from qr.demo import DEMO_PASSWORD


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def sign_in(client, username: str, password: str = DEMO_PASSWORD):
    token = csrf(client.get("/staff/signin").get_data(as_text=True))
    return client.post("/staff/signin", data={"csrf_token": token, "username": username, "password": password})


def pw(current: str, new: str, repeated: str) -> dict[str, str]:
    """The own-password form's fields."""
    return {"current_password": current, "new_password": new, "new_password_repeated": repeated}


def member_id(db, username: str) -> int:
    return db.scalar(select(Staff.id).where(Staff.username == username))


def unit_id(db, name: str) -> int:
    return db.scalar(select(Unit.id).where(Unit.name == name))


def add_staff(db, username: str, role: StaffRole, unit_name: str) -> Staff:
    unit = db.scalar(select(Unit).where(Unit.name == unit_name))
    person = Staff(username=username, display_name=f"{username}本人", role=role, units=[unit], created_at=utcnow(),
                   password_hash=generate_password_hash(DEMO_PASSWORD))
    db.add(person)
    db.commit()
    return person


@pytest.fixture
def admin(app, demo):
    client = app.test_client()
    assert sign_in(client, "admin").status_code == 302
    return client


@pytest.mark.parametrize(("username", "role", "home"), [
    ("admin", None, "/admin/"), ("shuji1", None, "/council/"), ("wangge1", None, "/triage/"),
    ("falv1", StaffRole.legal_adviser, "/council/"), ("daibiao1", StaffRole.representative, "/triage/")])
def test_each_role_lands_on_its_own_home_and_the_banner_links_it(app, demo, db, username, role, home):
    if role is not None:
        add_staff(db, username, role, "梁堂村")
    client = app.test_client()
    res = sign_in(client, username)
    assert res.status_code == 302 and res.headers["Location"] == home
    page = client.get("/staff/wechat").get_data(as_text=True)
    assert f'<a href="{home}" id="nav-home"' in page


def test_the_list_shows_every_member_with_role_units_and_binding_and_filters_by_unit_and_role(admin, db):
    page = admin.get("/admin/staff").get_data(as_text=True)
    for username in ("admin", "wangge1", "wangge2", "wangge3", "shuji1", "shuji2", "shuji3"):
        assert f'data-username="{username}"' in page
    assert '<strong id="staff-count">7</strong>' in page
    assert "李网格员" in page and "网格员" in page and "书记 / 召集人" in page and "管理员" in page
    assert "梁堂村第一网格、梁堂村第二网格" in page and "已绑定微信" in page and "未绑定微信" in page  # admin has none
    assert 'href="/staff/invitations"' in page  # new accounts come from the invitation flow
    liangtang = admin.get(f"/admin/staff?unit={unit_id(db, '梁堂村')}").get_data(as_text=True)
    assert re.findall(r'data-username="([^"]+)"', liangtang) == ["wangge1", "shuji1"]
    grid = admin.get("/admin/staff?role=grid_worker").get_data(as_text=True)
    assert re.findall(r'data-username="([^"]+)"', grid) == ["wangge1", "wangge2", "wangge3"]
    both = admin.get(f"/admin/staff?role=secretary&unit={unit_id(db, '张集镇')}").get_data(as_text=True)
    assert re.findall(r'data-username="([^"]+)"', both) == ["shuji1", "shuji2"]
    assert admin.get("/admin/staff?role=boss").status_code == 400
    assert admin.get("/admin/staff?unit=abc").status_code == 400
    assert admin.get("/admin/staff?unit=999999").status_code == 400


def test_only_admins_reach_the_staff_pages(app, demo, db):
    assert app.test_client().get("/admin/staff").status_code == 302
    grid = app.test_client()
    sign_in(grid, "wangge1")
    assert grid.get("/admin/staff").status_code == 404
    assert grid.get(f"/admin/staff/{member_id(db, 'wangge2')}").status_code == 404
    token = csrf(grid.get("/triage/").get_data(as_text=True))
    res = grid.post(f"/admin/staff/{member_id(db, 'wangge2')}/deactivate", data={"csrf_token": token, "confirm": "yes"})
    assert res.status_code == 404
    db.expire_all()
    assert db.get(Staff, member_id(db, "wangge2")).active


def test_deactivating_a_grid_worker_asks_first_then_refuses_their_open_session_at_the_next_request(app, admin, db):
    grid = app.test_client()
    sign_in(grid, "wangge1")
    assert grid.get("/triage/").status_code == 200
    target = member_id(db, "wangge1")
    asked = admin.get(f"/admin/staff/{target}/deactivate").get_data(as_text=True)
    assert "确认停用李网格员的账号" in asked and "会立即被退出登录" in asked and "梁堂村第一网格" in asked
    token = csrf(asked)
    unconfirmed = admin.post(f"/admin/staff/{target}/deactivate", data={"csrf_token": token})
    assert unconfirmed.status_code == 200 and "确认停用" in unconfirmed.get_data(as_text=True)
    db.expire_all()
    assert db.get(Staff, target).active and grid.get("/triage/").status_code == 200

    done = admin.post(f"/admin/staff/{target}/deactivate", data={"csrf_token": token, "confirm": "yes"})
    assert done.status_code == 303
    page = admin.get(done.headers["Location"]).get_data(as_text=True)
    assert "账号已停用" in page and '<strong id="member-state">已停用</strong>' in page
    refused = grid.get("/triage/")  # the same cookie, the very next request
    assert refused.status_code == 302 and refused.headers["Location"].startswith("/staff/signin")
    assert sign_in(app.test_client(), "wangge1").status_code == 401

    again = admin.post(f"/admin/staff/{target}/deactivate", data={"csrf_token": token, "confirm": "yes"})
    assert again.status_code == 409 and "这个账号已经停用" in again.get_data(as_text=True)
    back = admin.post(f"/admin/staff/{target}/reactivate", data={"csrf_token": token})
    assert back.status_code == 303
    assert grid.get("/triage/").status_code == 302  # the old session stays ended after reactivation
    fresh = app.test_client()
    assert sign_in(fresh, "wangge1").status_code == 302 and fresh.get("/triage/").status_code == 200


def test_an_admin_cannot_deactivate_reset_or_change_their_own_account(admin, db):
    me = member_id(db, "admin")
    page = admin.get(f"/admin/staff/{me}").get_data(as_text=True)
    assert "这是您自己的账号" in page and "停用账号…" not in page
    token = csrf(page)
    assert admin.get(f"/admin/staff/{me}/deactivate").status_code == 403
    for path, data in ((f"/admin/staff/{me}/deactivate", {"confirm": "yes"}), (f"/admin/staff/{me}/password", {}),
                       (f"/admin/staff/{me}", {"role": "grid_worker", "unit_id": str(unit_id(db, "梁堂村"))})):
        res = admin.post(path, data={"csrf_token": token, **data})
        assert res.status_code == 403 and "不能停用、重置或修改自己的账号" in res.get_data(as_text=True)
    db.expire_all()
    me_row = db.get(Staff, me)
    assert me_row.active and me_row.role == StaffRole.admin and admin.get("/admin/").status_code == 200


def test_changing_role_and_units_takes_effect_at_the_members_next_sign_in(app, admin, db):
    target = member_id(db, "wangge2")
    token = csrf(admin.get(f"/admin/staff/{target}").get_data(as_text=True))
    chosen = [str(unit_id(db, "汉王村")), str(unit_id(db, "梁堂村"))]
    res = admin.post(f"/admin/staff/{target}", data={"csrf_token": token, "role": "secretary", "unit_id": chosen})
    assert res.status_code == 303
    page = admin.get(res.headers["Location"]).get_data(as_text=True)
    assert "已保存岗位和负责单位" in page and '<strong id="member-role">书记 / 召集人</strong>' in page
    assert "铜山区·张集镇·梁堂村" in page and "铜山区·张集镇·汉王村" in page
    client = app.test_client()
    assert sign_in(client, "wangge2").headers["Location"] == "/council/"

    legal = admin.post(f"/admin/staff/{target}", data={"csrf_token": token, "role": "legal_adviser",
                                                        "unit_id": str(unit_id(db, "汉王村"))})
    assert legal.status_code == 303
    assert "法律顾问" in admin.get(legal.headers["Location"]).get_data(as_text=True)


@pytest.mark.parametrize(("form", "status", "text"), [
    ({"role": "boss", "unit": "汉王村"}, 400, "未知的岗位"),
    ({"role": "secretary"}, 400, "请至少选择一个负责的单位"),
    ({"role": "secretary", "unit_id": "abc"}, 400, "筛选条件不正确"),
])
def test_a_bad_change_says_why_and_changes_nothing(admin, db, form, status, text):
    target = member_id(db, "wangge2")
    token = csrf(admin.get(f"/admin/staff/{target}").get_data(as_text=True))
    data = {"csrf_token": token, "role": form["role"]}
    if "unit" in form:
        data["unit_id"] = str(unit_id(db, form["unit"]))
    if "unit_id" in form:
        data["unit_id"] = form["unit_id"]
    res = admin.post(f"/admin/staff/{target}", data=data)
    assert res.status_code == status and text in res.get_data(as_text=True)
    db.expire_all()
    row = db.get(Staff, target)
    assert row.role == StaffRole.grid_worker and [u.name for u in row.units] == ["汉王村第一网格"]


def test_a_street_admin_manages_only_staff_and_units_in_their_street(app, demo, db):
    add_staff(db, "zhenadmin", StaffRole.admin, "张集镇")
    client = app.test_client()
    sign_in(client, "zhenadmin")
    page = client.get("/admin/staff").get_data(as_text=True)
    assert 'data-username="wangge1"' in page and 'data-username="wangge3"' not in page  # 彭城社区 is in 三堡街道
    assert client.get(f"/admin/staff/{member_id(db, 'wangge3')}").status_code == 404
    target = member_id(db, "wangge1")
    token = csrf(client.get(f"/admin/staff/{target}").get_data(as_text=True))
    res = client.post(f"/admin/staff/{target}", data={"csrf_token": token, "role": "grid_worker",
                                                       "unit_id": str(unit_id(db, "彭城社区第一网格"))})
    assert res.status_code == 403 and "只能分配您管辖范围内的单位" in res.get_data(as_text=True)
    db.expire_all()
    assert [u.name for u in db.get(Staff, target).units] == ["梁堂村第一网格", "梁堂村第二网格"]


def test_a_password_reset_shows_a_temporary_password_once_and_ends_the_old_sessions(app, admin, db):
    grid = app.test_client()
    sign_in(grid, "wangge1")
    assert grid.get("/triage/").status_code == 200
    target = member_id(db, "wangge1")
    token = csrf(admin.get(f"/admin/staff/{target}").get_data(as_text=True))
    res = admin.post(f"/admin/staff/{target}/password", data={"csrf_token": token})
    assert res.status_code == 200 and res.headers["Cache-Control"] == "no-store"
    page = res.get_data(as_text=True)
    password = re.search(r'<code id="temporary-password">([^<]+)</code>', page).group(1)
    assert len(password) == 12 and "只显示这一次" in page
    assert password not in admin.get(f"/admin/staff/{target}").get_data(as_text=True)
    db.expire_all()
    assert password not in db.get(Staff, target).password_hash
    assert grid.get("/triage/").status_code == 302  # the open session ended
    assert sign_in(app.test_client(), "wangge1").status_code == 401  # the old password no longer works
    # The temporary password opens only the page where they choose their own.
    fresh = app.test_client()
    assert sign_in(fresh, "wangge1", password).headers["Location"] == "/triage/"
    for path in ("/triage/", "/staff/wechat", "/council/"):
        assert fresh.get(path).headers["Location"] == "/admin/staff/me/password", path
    form = fresh.get("/admin/staff/me/password")
    page = form.get_data(as_text=True)
    assert form.status_code == 200 and "您正在使用管理员给的临时密码" in page
    token = csrf(page)
    for data, text in ((pw("wrong-password", "a-new-password", "a-new-password"),
                        "当前密码不正确"),
                       (pw(password, "short", "short"), "密码至少需要 10 位"),
                       (pw(password, "a-new-password", "another-one"),
                        "两次输入的新密码不一致"),
                       (pw(password, password, password), "不能与原来的密码相同")):
        res = fresh.post("/admin/staff/me/password", data={"csrf_token": token, **data})
        assert res.status_code == 400 and text in res.get_data(as_text=True)
    assert fresh.get("/triage/").status_code == 302  # still only the password page
    done = fresh.post("/admin/staff/me/password",
                      data={"csrf_token": token, **pw(password, "a-new-password", "a-new-password")})
    assert done.status_code == 303 and done.headers["Location"] == "/triage/?password=changed"
    assert fresh.get("/triage/").status_code == 200  # this session carries on
    assert sign_in(app.test_client(), "wangge1", password).status_code == 401
    assert sign_in(app.test_client(), "wangge1", "a-new-password").headers["Location"] == "/triage/"


def test_a_temporary_password_expires(app, admin, db):
    import datetime as dt

    target = member_id(db, "wangge1")
    token = csrf(admin.get(f"/admin/staff/{target}").get_data(as_text=True))
    page = admin.post(f"/admin/staff/{target}/password", data={"csrf_token": token}).get_data(as_text=True)
    password = re.search(r'<code id="temporary-password">([^<]+)</code>', page).group(1)
    assert "临时密码待更换" in admin.get(f"/admin/staff/{target}").get_data(as_text=True)
    db.get(Staff, target).password_expires_at = utcnow() - dt.timedelta(minutes=1)
    db.commit()
    res = sign_in(app.test_client(), "wangge1", password)
    assert res.status_code == 401 and "临时密码已过期" in res.get_data(as_text=True)


def test_any_staff_member_changes_their_own_password(app, demo):
    client = app.test_client()
    sign_in(client, "shuji1")
    page = client.get("/admin/staff/me/password").get_data(as_text=True)
    assert "当前密码" in page and "临时密码" not in page
    res = client.post("/admin/staff/me/password",
                      data={"csrf_token": csrf(page), **pw(DEMO_PASSWORD, "shuji-own-pass", "shuji-own-pass")})
    assert res.headers["Location"] == "/council/?password=changed"
    assert sign_in(app.test_client(), "shuji1", "shuji-own-pass").status_code == 302
    with app.extensions["xinma.sessionmaker"]() as session:  # the request audit keeps no password
        events = session.scalars(select(AuditEvent)).all()
        assert not any("shuji-own-pass" in f"{e.reason} {e.data}" for e in events)


def test_invitations_offer_the_new_roles(admin):
    page = admin.get("/staff/invitations").get_data(as_text=True)
    assert "法律顾问" in page and "议政代表" in page
