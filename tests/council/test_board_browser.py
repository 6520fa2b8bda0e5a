"""The public board and an open meeting's page as a resident sees them on a phone (375×812), no sign-in.

Screenshots: test-artifacts/public-board.png, public-meeting.png, public-meeting-held.png.
"""

from __future__ import annotations

import pytest

from tests.browser import assert_fits_phone, new_phone, screenshot

from .test_board import board_world

pytestmark = pytest.mark.browser


def test_a_passer_by_reads_the_board_and_an_open_meeting(live_app, browser, db):
    world = board_world(db)
    context = new_phone(browser)
    page = context.new_page()
    page.goto(f"{live_app.url}/board/{world['scene']}")
    assert page.get_by_role("heading", level=1).inner_text() == "梁堂村公开栏"
    assert [h.strip() for h in page.locator("h2").all_inner_texts()] == [
        "议事会预告", "两公开", "协商议题", "受理的反映", "已召开的议事会"]
    assert page.locator("[data-matter]").count() == 4
    assert "13812345678" not in page.content()
    assert_fits_phone(page)
    screenshot(page, "public-board.png")

    page.get_by_role("link", name="梁堂村19点议事厅").click()
    page.wait_for_url(f"**/meetings/{world['upcoming']}")
    assert page.locator("#meeting-state").inner_text() == "待召开"
    assert "还剩 30 个" in page.locator("#places").inner_text()
    assert page.locator("#how-to-register").is_visible()
    assert_fits_phone(page)
    screenshot(page, "public-meeting.png")

    page.get_by_role("link", name="梁堂村公开栏").click()
    page.get_by_role("link", name="十一月议事会").click()
    page.wait_for_url(f"**/meetings/{world['held']}")
    assert page.locator("#meeting-state").inner_text() == "已召开"
    assert page.locator("#minutes-text").inner_text() == "出席居民12人，议定疏通下水道。"
    assert "镇城建办年内完成雨污分流改造" in page.locator("[data-agenda]").inner_text()
    assert_fits_phone(page)
    screenshot(page, "public-meeting-held.png")
    context.close()
