"""The audit viewer in headless Chromium at a phone's size: the admin invites someone, then finds that action in the
log by action, by person and by date, and the CSV link carries the filters. Screenshots in test-artifacts/."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from models import AuditEvent, Staff, Unit
from models.base import CHINA
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
def history(db):
    from qr.demo import seed_demo

    seed_demo(db)
    secretary = db.scalar(select(Staff).where(Staff.username == "shuji1"))
    village = db.scalar(select(Unit).where(Unit.name == "梁堂村"))
    long_ago = dt.datetime(2026, 1, 15, 19, 30, tzinfo=CHINA)
    db.add_all([AuditEvent(subject_kind="unit", subject_id=village.id, action="council.meeting_create",
                           actor_kind="staff", actor_id=secretary.id, data={"title": "19点议事厅"},
                           created_at=long_ago + dt.timedelta(days=n)) for n in range(3)])
    db.commit()


def test_the_admin_finds_an_action_in_the_log_on_a_phone(live_app, browser, history, db):
    base = live_app.url
    page = new_phone(browser).new_page()
    sign_in(page, base, "admin")
    page.goto(f"{base}/staff/invitations")
    page.get_by_label("姓名").fill("周网格员")
    page.get_by_label("岗位").select_option(label="网格员")
    page.get_by_label("梁堂村第一网格").check()
    with page.expect_navigation():
        page.get_by_role("button", name="生成邀请链接").click()
    assert "/staff/invite/" in page.locator("#invite-link").inner_text()

    page.goto(f"{base}/admin/")
    with page.expect_navigation():
        page.get_by_role("link", name="操作日志").click()
    assert page.locator("#audit-total").inner_text() == "4"
    newest = page.locator("[data-audit]").first
    assert newest.locator(".audit-action").inner_text() == "邀请工作人员"
    assert newest.locator(".audit-actor").inner_text() == "区管理员（admin）"
    assert "display_name=周网格员" in newest.locator(".audit-details").inner_text()
    assert_fits_phone(page)
    screenshot(page, "admin-audit.png")

    page.locator("summary", has_text="筛选").click()
    page.get_by_label("操作人").select_option(label="王书记（shuji1）")
    page.get_by_label("从（含）").fill("2026-01-16")
    page.get_by_label("到（含）").fill("2026-01-31")
    with page.expect_navigation():
        page.get_by_role("button", name="筛选").click()
    assert page.locator("#audit-total").inner_text() == "2"
    assert page.locator(".audit-action").all_inner_texts() == ["安排议事会", "安排议事会"]
    assert page.locator(".audit-time").all_inner_texts() == ["2026年01月17日 19:30", "2026年01月16日 19:30"]
    href = page.locator("#audit-csv").get_attribute("href")
    assert "format=csv" in href and "since=2026-01-16" in href and "until=2026-01-31" in href
    screenshot(page, "admin-audit-filtered.png")

    assert page.get_by_label("操作", exact=True).is_visible()  # the filters stay open while one is chosen
    page.get_by_label("操作人").select_option(label="全部")
    page.get_by_label("从（含）").fill("")
    page.get_by_label("到（含）").fill("")
    page.get_by_label("操作", exact=True).select_option(label="邀请工作人员")
    with page.expect_navigation():
        page.get_by_role("button", name="筛选").click()
    assert page.locator("#audit-total").inner_text() == "1"
