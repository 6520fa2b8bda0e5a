"""The hotspots page in headless Chromium at a phone's size: from the secretary's home to a topic in one tap.

A screenshot of the page is kept in test-artifacts/hotspots.png.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from models import Complaint, ComplaintState, Topic
from tests.browser import assert_fits_phone, new_phone, screenshot
from tests.council.support import PASSWORD

from .support import load_small_set, page_set

pytestmark = pytest.mark.browser


@pytest.fixture
def gold(db):
    from qr.demo import seed_demo

    seed_demo(db)
    db.commit()
    return load_small_set(db, page_set())


def test_a_secretary_makes_a_topic_of_a_hotspot_on_a_phone(live_app, browser, gold, db):
    base = live_app.url
    context = new_phone(browser)
    page = context.new_page()
    page.goto(f"{base}/staff/signin")
    page.get_by_label("用户名").fill("shuji1")
    page.get_by_label("密码").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="登录").click()
    with page.expect_navigation():
        page.locator("#council-nav").get_by_role("link", name="热点").click()
    assert page.locator("h1").inner_text() == "热点诉求"
    spots = page.locator("section.hotspot")
    assert spots.count() == 2
    first = spots.nth(0)
    assert "飞线充电" in first.inner_text() and "5 条反映" in first.inner_text() and "4 位居民" in first.inner_text()
    first.locator("summary", has_text="查看这些反映").click()
    assert first.locator("li[data-complaint]").count() == 5
    assert "五号楼有人把电线从三楼窗户扯下来给电瓶车充电" in first.inner_text()
    assert_fits_phone(page)
    screenshot(page, "hotspots.png")
    stale = context.new_page()  # the same page left open in another tab
    stale.goto(f"{base}/council/hotspots")
    first.get_by_label("议题名称").fill("梁堂村电动车飞线充电整治")
    with page.expect_navigation():
        first.get_by_role("button", name="生成议题（5 条反映）").click()
    assert "/council/topics/" in page.url
    assert "梁堂村电动车飞线充电整治" in page.locator("body").inner_text()
    assert_fits_phone(page)
    db.expire_all()
    topic = db.scalar(select(Topic))
    behind = db.scalars(select(Complaint.state).where(Complaint.topic_id == topic.id)).all()
    assert behind == [ComplaintState.promoted] * 5
    # The tab left open still offers the suggestion; its tap is refused and the page shows what is left.
    with stale.expect_navigation() as nav:
        stale.locator("section.hotspot").nth(0).get_by_role("button", name="生成议题（5 条反映）").click()
    assert nav.value.status == 409
    assert "这组反映已有变化" in stale.get_by_role("alert").inner_text()
    assert stale.locator("section.hotspot").count() == 1
    assert "饲养宠物" in stale.locator("section.hotspot").inner_text()
    assert_fits_phone(stale)
    assert db.scalar(select(func.count()).select_from(Topic)) == 1
    context.close()
