"""Blocking and unblocking a submitter in headless Chromium at a phone's size, from the complaint's page as the
admin. Screenshots in test-artifacts/."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import Unit
from models.governance import Block
from tests import factories
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
def complaint_id(db) -> int:
    from qr.demo import seed_demo

    seed_demo(db)
    grid = db.scalar(select(Unit).where(Unit.name == "梁堂村第一网格"))
    row = factories.complaint(db, grid, factories.resident(db), text="加微信领红包 xxxxxx")
    db.commit()
    return row.id


def test_the_admin_blocks_and_unblocks_a_submitter_on_a_phone(live_app, browser, complaint_id, db):
    base = live_app.url
    page = new_phone(browser).new_page()
    sign_in(page, base, "admin")
    page.goto(f"{base}/triage/complaints/{complaint_id}")
    with page.expect_navigation():
        page.get_by_role("link", name="屏蔽此提交人").click()
    assert f"第 {complaint_id} 号反映" in page.inner_text("main")
    page.get_by_label("屏蔽原因").fill("一小时内重复提交广告 30 余条")
    assert_fits_phone(page)
    screenshot(page, "admin-block-new.png")
    with page.expect_navigation():
        page.get_by_role("button", name="屏蔽").click()
    assert page.url.startswith(f"{base}/admin/blocks")
    card = page.locator("[data-block]").first
    assert card.get_attribute("data-active") == "yes"
    assert "屏蔽中" in card.inner_text() and "永久" in card.inner_text()
    assert page.locator("#block-active").inner_text() == "1"
    assert_fits_phone(page)
    screenshot(page, "admin-blocks.png")

    card.locator("summary", has_text="解除屏蔽").click()
    card.get_by_label("解除原因（记入操作日志）").fill("已电话沟通")
    with page.expect_navigation():
        card.get_by_role("button", name="解除屏蔽").click()
    card = page.locator("[data-block]").first
    assert card.get_attribute("data-active") == "no" and "已解除" in card.inner_text()
    assert page.locator("#block-active").inner_text() == "0"
    screenshot(page, "admin-blocks-lifted.png")
    db.expire_all()
    assert db.scalar(select(Block.lift_reason)) == "已电话沟通"
