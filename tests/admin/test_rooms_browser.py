"""The admin's council rooms, categories, working calendar and unit retirement, and the secretary's coverage on the
statistics page, in headless Chromium at a phone's size. Screenshots are kept in test-artifacts/."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import Unit
from tests.browser import assert_fits_phone, new_phone, screenshot
from tests.council.support import PASSWORD

pytestmark = pytest.mark.browser


def sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/staff/signin")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="登录").click()


@pytest.fixture
def district(db):
    from qr.demo import seed_demo

    seed_demo(db)
    db.commit()
    return {u.name: u.id for u in db.scalars(select(Unit))}


def test_the_admin_walks_rooms_categories_calendar_and_a_retirement_on_a_phone(live_app, browser, district):
    base = live_app.url
    context = new_phone(browser)
    page = context.new_page()
    sign_in(page, base, "admin")

    page.goto(f"{base}/admin/rooms")
    page.get_by_label("所属单位").select_option(label="铜山区·三堡街道（街道（镇））")
    page.get_by_label("名称").fill("三堡街道19点议事厅")
    page.get_by_label("地址").fill("三堡街道党群服务中心二楼")
    page.get_by_label("开放时间").fill("每周三 19:00-21:00")
    page.get_by_label("可容纳人数").fill("60")
    page.get_by_role("button", name="登记").click()
    assert page.locator("#room-saved").is_visible()
    hall = page.locator(".card", has_text="三堡街道19点议事厅")
    assert "每周三 19:00-21:00" in hall.inner_text() and "可容纳 60 人" in hall.inner_text()
    assert_fits_phone(page)
    screenshot(page, "admin-rooms.png")

    page.goto(f"{base}/admin/categories")
    assert page.locator('[data-category="食品安全"]').is_visible()
    page.get_by_label("类别名称").fill("噪音扰民")
    page.get_by_role("button", name="添加").click()
    assert page.locator('[data-category="噪音扰民"]').is_visible()
    page.locator('[data-category="停车"]').get_by_role("button", name="停用").click()
    assert page.locator('[data-retired="停车"]').is_visible()
    assert_fits_phone(page)
    screenshot(page, "admin-categories.png")

    page.goto(f"{base}/admin/calendar?year=2026")
    assert page.locator('[data-national="2026-10-01"]').is_visible()
    page.get_by_label("日期").fill("2026-11-16")
    page.get_by_label("这一天").select_option(label="放假")
    page.get_by_label("说明").fill("区运动会放假")
    page.get_by_role("button", name="添加").click()
    assert "区运动会放假" in page.locator('[data-day="2026-11-16"]').inner_text()
    assert_fits_phone(page)
    screenshot(page, "admin-calendar.png")

    page.goto(f"{base}/admin/units/{district['汉王村']}/retire")
    assert page.locator("#retire-below").inner_text() == "1"
    page.get_by_role("button", name="撤销单位").click()
    assert "请勾选" in page.content()  # not confirmed: refused, nothing changed
    page.goto(f"{base}/admin/units/{district['汉王村']}/retire")
    page.get_by_label("我已确认").check()
    screenshot(page, "admin-unit-retire-confirm.png")
    page.get_by_role("button", name="撤销单位").click()
    assert page.locator("#unit-retired").is_visible()
    assert_fits_phone(page)
    screenshot(page, "admin-unit-retired.png")
    context.close()


def test_the_secretary_reads_rooms_and_coverage_on_the_statistics_page(live_app, browser, district):
    base = live_app.url
    context = new_phone(browser)
    page = context.new_page()
    sign_in(page, base, "shuji1")
    page.goto(f"{base}/council/stats")
    assert page.locator("#rooms-in-use").inner_text() == "1"
    row = page.locator('#coverage-table tr[data-level="community"]')
    assert row.locator('[data-col="units"]').inner_text() == "1"
    assert row.locator('[data-col="with_room"]').inner_text() == "1"
    assert row.locator('[data-col="share"]').inner_text() == "0.0%"
    assert page.locator('#due-table tr[data-due="梁堂村"]').is_visible()
    assert "每 2 个月" in page.locator('#due-table tr[data-due="梁堂村"]').inner_text()
    page.locator("#coverage").scroll_into_view_if_needed()
    assert_fits_phone(page)
    screenshot(page, "council-stats-coverage.png")
    context.close()
