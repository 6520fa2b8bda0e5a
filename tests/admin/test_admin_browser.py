"""The admin's pages in headless Chromium at a phone's size, with screenshots: the home, the staff page (role and
unit change, password reset, deactivation with its confirmation while the member's own browser is signed in), the
code rotation's confirmation, the poster warning; and the secretary's landing."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from models import Staff, Unit
from qr import services
from qr.demo import DEMO_PASSWORD
from tests.browser import assert_fits_phone, new_phone, screenshot
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser


@pytest.fixture
def live(app, demo):
    server = LiveServer(app)
    yield server
    server.stop()


def signed_in(browser, live, username: str, path: str = "/staff/signin"):
    phone = new_phone(browser)
    page = phone.new_page()
    page.goto(f"{live.url}{path}")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="登录").click()
    return phone, page


def test_the_admin_manages_a_grid_worker_from_the_home_page(live, browser, db):
    worker_phone, worker = signed_in(browser, live, "wangge1")
    assert worker.url == f"{live.url}/triage/"

    phone, page = signed_in(browser, live, "admin")
    assert page.url == f"{live.url}/admin/"
    assert page.locator("#nav-home").get_attribute("href") == "/admin/"
    assert page.get_by_role("link", name="消息送达").count() == 1
    assert_fits_phone(page)
    screenshot(page, "admin-home.png")

    with page.expect_navigation():
        page.get_by_role("link", name="工作人员").first.click()
    assert page.url == f"{live.url}/admin/staff"
    page.get_by_label("岗位").select_option(label="网格员")
    with page.expect_navigation():
        page.get_by_role("button", name="筛选").click()
    assert page.locator("#staff-count").inner_text() == "3"
    assert_fits_phone(page)
    screenshot(page, "admin-staff-list.png")
    with page.expect_navigation():
        page.locator('[data-username="wangge1"] a').click()
    assert page.get_by_role("heading", name="李网格员").count() == 1

    # Role and units: a third grid to look after.
    units = page.get_by_label("负责单位（可多选，含下级）")
    chosen = units.evaluate("s => [...s.selectedOptions].map(o => o.label)")
    assert chosen == ["　　　梁堂村第一网格", "　　　梁堂村第二网格"]
    units.select_option(label=[*chosen, "　　　汉王村第一网格"])
    with page.expect_navigation():
        page.get_by_role("button", name="保存").click()
    assert "已保存岗位和负责单位" in page.get_by_role("status").inner_text()
    assert "汉王村第一网格" in page.locator("#member-units").inner_text()
    db.expire_all()
    staff = db.scalar(select(Staff).where(Staff.username == "wangge1"))
    assert sorted(u.name for u in staff.units) == ["梁堂村第一网格", "梁堂村第二网格", "汉王村第一网格"]
    screenshot(page, "admin-staff-member.png")

    # Password reset: shown once; the worker's open session ends.
    with page.expect_navigation():
        page.get_by_role("button", name="生成临时密码").click()
    password = page.locator("#temporary-password").inner_text()
    assert len(password) == 12 and "只显示这一次" in page.locator("#password-reset").inner_text()
    screenshot(page, "admin-staff-password.png")
    worker.reload()
    assert worker.url.startswith(f"{live.url}/staff/signin")
    worker.get_by_label("用户名").fill("wangge1")
    worker.get_by_label("密码").fill(password)
    with worker.expect_navigation():
        worker.get_by_role("button", name="登录").click()
    assert worker.url == f"{live.url}/admin/staff/me/password"  # a temporary password opens only this page
    worker.get_by_label("临时密码").fill(password)
    worker.get_by_label("新密码（至少 10 位）").fill("liwangge-2026")
    worker.get_by_label("再输入一次新密码").fill("liwangge-2026")
    screenshot(worker, "staff-own-password.png")
    with worker.expect_navigation():
        worker.get_by_role("button", name="保存新密码").click()
    assert worker.url == f"{live.url}/triage/?password=changed"

    # Deactivation: a confirmation page first; then the worker's next request is refused.
    page.goto(f"{live.url}/admin/staff/{staff.id}")
    with page.expect_navigation():
        page.get_by_role("link", name="停用账号…").click()
    assert "会立即被退出登录" in page.get_by_role("alert").inner_text()
    assert_fits_phone(page)
    screenshot(page, "admin-staff-deactivate-confirm.png")
    with page.expect_navigation():
        page.get_by_role("button", name="确认停用").click()
    assert "账号已停用" in page.get_by_role("status").inner_text()
    assert page.locator("#member-state").inner_text() == "已停用"
    worker.reload()
    assert worker.url.startswith(f"{live.url}/staff/signin")
    screenshot(worker, "admin-staff-deactivated-worker-signed-out.png")
    worker_phone.close()
    phone.close()


def test_rotating_a_code_asks_first(live, browser, db, client):
    unit = db.scalar(select(Unit).where(Unit.name == "梁堂村"))
    old = services.current_code(db, unit).token
    phone, page = signed_in(browser, live, "admin", f"/admin/units/{unit.id}")
    with page.expect_navigation():
        page.get_by_role("link", name="更换二维码…").click()
    assert "墙上现有的海报会立即失效" in page.get_by_role("alert").inner_text()
    assert_fits_phone(page)
    screenshot(page, "admin-rotate-confirm.png")
    with page.expect_navigation():
        page.get_by_role("link", name="不更换，返回").click()
    db.expire_all()
    assert services.current_code(db, unit).token == old
    with page.expect_navigation():
        page.get_by_role("link", name="更换二维码…").click()
    with page.expect_navigation():
        page.get_by_role("button", name="确认更换，旧海报作废").click()
    assert "已更换二维码" in page.get_by_role("status").inner_text()
    db.expire_all()
    assert services.current_code(db, unit).token != old
    phone.close()


def test_posters_with_a_loopback_address_warn_and_are_not_exported(app, demo, browser, db):
    app.config["XINMA"] = dataclasses.replace(app.config["XINMA"], public_url="http://127.0.0.1:8000")
    server = LiveServer(app)
    try:
        unit = db.scalar(select(Unit).where(Unit.name == "梁堂村"))
        phone, page = signed_in(browser, server, "admin", f"/admin/units/{unit.id}")
        assert "海报上的二维码在居民手机上打不开" in page.locator("#public-url-warning").inner_text()
        assert_fits_phone(page)
        screenshot(page, "admin-unit-poster-warning.png")
        with page.expect_navigation():
            page.get_by_role("link", name="ZIP").click()
        assert page.get_by_role("heading", name="未导出海报").count() == 1
        assert page.locator("[data-code=poster_address_loopback]").count() == 1
        screenshot(page, "admin-export-refused.png")
        with page.expect_download() as download:
            page.get_by_role("link", name="仍然导出（海报不能张贴）").click()
        assert download.value.suggested_filename == f"{unit.code}-posters-A4.zip"
        phone.close()
    finally:
        server.stop()


def test_the_secretary_lands_on_the_council_page(live, browser):
    phone, page = signed_in(browser, live, "shuji1")
    assert page.url == f"{live.url}/council/"
    assert page.locator("#nav-home").get_attribute("href") == "/council/"
    assert_fits_phone(page)
    screenshot(page, "secretary-landing.png")
    assert page.goto(f"{live.url}/admin/").status == 404
    phone.close()
