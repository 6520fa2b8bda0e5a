"""Complaint categories per district (/admin/categories): the default list, add, rename, retire; intake (the
mini-program API and the H5 page) offers the district's active categories; old complaints keep theirs."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import Complaint
from models.triage import ComplaintCategory
from tests.council.support import PASSWORD, csrf

DEFAULTS = ["环境污染", "安全出行", "飞线充电", "饲养宠物", "物业管理", "停车", "老旧小区改造", "设施维修", "邻里纠纷",
            "食品安全", "社会事务", "其他"]


def sign_in(client, username: str) -> None:
    page = client.get("/staff/signin").text
    res = client.post("/staff/signin", data={"username": username, "password": PASSWORD, "csrf_token": csrf(page)})
    assert res.status_code == 302, res.text[:300]


def save(client, data: dict):
    return client.post("/admin/categories", data=dict(data, csrf_token=csrf(client.get("/admin/categories").text)))


def category_id(db, label: str) -> int:
    return db.scalar(select(ComplaintCategory.id).where(ComplaintCategory.label == label))


@pytest.fixture
def resident(client, wechat_sandbox):
    token = client.post("/api/v1/sessions", json={"code": wechat_sandbox.login_code("o-categories")}).json
    return {"Authorization": f"Bearer {token['data']['token']}"}


def test_every_district_starts_with_the_defaults_including_food_safety_and_social_affairs(client, scene, resident):
    assert client.get(f"/api/v1/scenes/{scene}", headers=resident).json["data"]["categories"] == DEFAULTS
    sign_in(client, "admin")
    page = client.get("/admin/categories").text
    assert all(f'data-category="{label}"' in page for label in DEFAULTS)


def test_added_renamed_and_retired_categories_reach_intake(client, scene, resident, db):
    res = client.post("/api/v1/complaints", headers=resident,
                      json={"scene": scene, "category": "停车", "text": "小区门口乱停车"})
    assert res.status_code == 201
    old = res.json["data"]["id"]
    sign_in(client, "admin")
    assert save(client, {"label": "噪音扰民"}).status_code == 303
    assert save(client, {"id": category_id(db, "物业管理"), "label": "物业服务"}).status_code == 303
    assert save(client, {"id": category_id(db, "停车"), "action": "retire"}).status_code == 303

    offered = client.get(f"/api/v1/scenes/{scene}", headers=resident).json["data"]["categories"]
    assert offered[-1] == "噪音扰民" and "物业服务" in offered and "物业管理" not in offered and "停车" not in offered
    h5 = client.get(f"/h5/{scene}").text
    assert "噪音扰民" in h5 and ">停车<" not in h5

    res = client.post("/api/v1/complaints", headers=resident,
                      json={"scene": scene, "category": "停车", "text": "又乱停车了"})
    assert res.status_code == 400 and res.json["error"]["code"] == "category_unknown"
    res = client.post("/api/v1/complaints", headers=resident,
                      json={"scene": scene, "category": "噪音扰民", "text": "晚上广场舞音响太响"})
    assert res.status_code == 201 and res.json["data"]["category"] == "噪音扰民"
    # The complaint filed under the retired category keeps and shows it.
    assert client.get(f"/api/v1/complaints/{old}", headers=resident).json["data"]["category"] == "停车"
    assert db.get(Complaint, old).category == "停车"
    page = client.get("/admin/categories").text
    assert 'data-retired="停车"' in page

    # Adding a retired name again brings it back.
    assert save(client, {"label": "停车"}).status_code == 303
    assert "停车" in client.get(f"/api/v1/scenes/{scene}", headers=resident).json["data"]["categories"]


@pytest.mark.parametrize(("data", "status", "message"), [
    ({"label": "  "}, 400, "请填写类别名称"),
    ({"label": "一二三四五六七八九十一二三四五六七"}, 400, "类别名称不能超过 16 字"),
    ({"label": "停车"}, 409, "已有名为“停车”的类别"),
    ({"id": "999999", "label": "无"}, 404, "未找到这个类别"),
])
def test_bad_category_input_is_refused_and_changes_nothing(client, demo, db, data, status, message):
    sign_in(client, "admin")
    client.get("/admin/categories")
    before = db.scalars(select(ComplaintCategory.label).order_by(ComplaintCategory.id)).all()
    res = save(client, data)
    assert res.status_code == status and message in res.text
    db.expire_all()
    assert db.scalars(select(ComplaintCategory.label).order_by(ComplaintCategory.id)).all() == before


def test_renaming_to_a_taken_name_and_retiring_the_last_category_are_refused(client, demo, db):
    sign_in(client, "admin")
    client.get("/admin/categories")
    res = save(client, {"id": category_id(db, "停车"), "label": "其他"})
    assert res.status_code == 409 and "已有名为“其他”的类别" in res.text
    for label in DEFAULTS[:-1]:
        assert save(client, {"id": category_id(db, label), "action": "retire"}).status_code == 303
    res = save(client, {"id": category_id(db, "其他"), "action": "retire"})
    assert res.status_code == 409 and "至少要保留一个在用的类别" in res.text


def test_units_imported_from_a_file_start_with_the_defaults_and_a_categories_file_replaces_them(
        settings_env, db_clean, db, monkeypatch, tmp_path):
    """`xinma units import` keeps working; its new district offers the default categories and the levels' cadence,
    and `xinma categories import` makes a file's labels the district's list (nothing changes on a bad file)."""
    import openpyxl
    from click.testing import CliRunner

    import app
    from models import Unit
    from models.triage import active_categories, cadence_of, level_cadences

    for key, value in settings_env.items():
        monkeypatch.setenv(key, value)
    runner = CliRunner()
    (tmp_path / "units.csv").write_text("code,name,level,parent_code\n9001,新区,区,\n9001001,新镇,镇,9001\n"
                                        "9001001001,新村,村,9001001\n", encoding="utf-8")
    assert runner.invoke(app.main, ["units", "import", str(tmp_path / "units.csv")]).exit_code == 0
    village = db.scalar(select(Unit).where(Unit.code == "9001001001"))
    assert active_categories(db, village.id, DEFAULTS) == DEFAULTS
    assert cadence_of(village, level_cadences(db, village.ancestor_ids()[0])) == 2

    (tmp_path / "bad.csv").write_text("label\n停车\n\n停车\n一二三四五六七八九十一二三四五六七\n", encoding="utf-8")
    bad = runner.invoke(app.main, ["categories", "import", str(tmp_path / "bad.csv"), "--district", "9001"])
    assert bad.exit_code == 1 and "第 4 行：类别“停车”重复。" in bad.output
    assert "第 5 行：类别名称不能超过 16 字。" in bad.output and "类别未作任何改动" in bad.output
    db.expire_all()
    assert active_categories(db, village.id, DEFAULTS) == DEFAULTS

    book = openpyxl.Workbook()
    for row in (["label"], ["食品安全"], ["噪音扰民"], ["停车"]):
        book.active.append(row)
    book.save(tmp_path / "categories.xlsx")
    good = runner.invoke(app.main, ["categories", "import", str(tmp_path / "categories.xlsx"), "--district", "9001"])
    assert good.exit_code == 0, good.output
    assert "新增 1 个，保留 2 个，停用 10 个类别" in good.output
    db.expire_all()
    assert active_categories(db, village.id, DEFAULTS) == ["食品安全", "噪音扰民", "停车"]
    other = runner.invoke(app.main, ["categories", "import", str(tmp_path / "categories.xlsx"),
                                     "--district", "9001001"])
    assert other.exit_code != 0 and "未找到这个单位" in other.output


def test_the_grid_workers_queue_filters_by_the_districts_own_categories(client, scene, resident, db):
    res = client.post("/api/v1/complaints", headers=resident,
                      json={"scene": scene, "category": "停车", "text": "小区门口乱停车"})
    assert res.status_code == 201
    sign_in(client, "admin")
    assert save(client, {"label": "噪音扰民"}).status_code == 303
    res = client.post("/api/v1/complaints", headers=resident,
                      json={"scene": scene, "category": "噪音扰民", "text": "晚上广场舞音响太响"})
    assert res.status_code == 201
    client.post("/staff/signout", data={"csrf_token": csrf(client.get("/admin/").text)})

    sign_in(client, "wangge1")
    queue = client.get("/triage/").text
    assert "<option>噪音扰民</option>" in queue
    page = client.get("/triage/?category=噪音扰民&state=all")
    assert page.status_code == 200 and "晚上广场舞音响太响" in page.text and "小区门口乱停车" not in page.text
    assert client.get("/triage/?category=没有这个类别").status_code == 400
