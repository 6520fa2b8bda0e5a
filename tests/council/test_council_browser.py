"""The secretary's pages in headless Chromium at a phone's size, and the statistics page on a desktop too.

Screenshots of the statistics page and of a meeting record are kept in test-artifacts/.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from models import ComplaintState, Meeting, TopicState, Unit, utcnow
from tests import factories
from tests.browser import assert_fits_phone, new_phone, screenshot

from .support import PASSWORD, local_input

pytestmark = pytest.mark.browser


def sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/staff/signin")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="登录").click()


@pytest.fixture
def village(db):
    from qr.demo import seed_demo

    seed_demo(db)
    db.commit()
    unit = db.scalar(select(Unit).where(Unit.name == "梁堂村"))
    grid = db.scalar(select(Unit).where(Unit.name == "梁堂村第一网格"))
    who = factories.resident(db)
    topic = factories.topic(db, unit, state=TopicState.approved, title="东门下水道疏通与雨污分流改造")
    factories.complaint(db, grid, who, state=ComplaintState.promoted, topic=topic,
                        text="小区东门外的下水道堵塞，下雨天污水漫到路面上，老人孩子出行很不方便。" * 3)
    for state in (ComplaintState.solved, ComplaintState.not_deliberable, ComplaintState.awaiting_triage):
        row = factories.complaint(db, grid, who, state=state)
        row.reason_code = "individual_dispute" if state == ComplaintState.not_deliberable else None
    db.commit()
    return {"unit": unit, "topic": topic}


def test_a_meeting_is_scheduled_and_recorded_on_a_phone(live_app, browser, village, db):
    base = live_app.url
    context = new_phone(browser)
    page = context.new_page()
    sign_in(page, base, "shuji1")
    assert_fits_phone(page)
    page.get_by_role("link", name="议事会").click()
    page.get_by_label("议事室").select_option(label="梁堂村协商议事室")
    page.get_by_label("会议名称").fill("梁堂村19点议事厅")
    page.get_by_label("开会时间").fill(local_input(utcnow() + dt.timedelta(days=2)))
    page.get_by_label("地点").fill("梁堂村党群服务中心二楼")
    page.get_by_label("议事形式").select_option(label="听证")
    with page.expect_navigation():
        page.get_by_role("button", name="安排").click()
    assert page.locator("#meeting-state").inner_text() == "待召开"
    assert_fits_phone(page)
    with page.expect_navigation():
        page.get_by_role("button", name="列入议程").click()
    assert "东门下水道疏通与雨污分流改造" in page.locator("[data-agenda]").inner_text()
    for role, name in (("议事代表", "张大爷"), ("法律顾问", "李律师"), ("相关部门", "镇城建办")):
        page.locator("summary", has_text="邀请参会人员").click()
        page.get_by_label("类别").select_option(label=role)
        page.get_by_label("姓名或部门").fill(name)
        with page.expect_navigation():
            page.get_by_role("button", name="邀请").click()
    topic_id = village["topic"].id
    assert page.locator("#record-later").inner_text() == "会议开始后才能记录会议情况。"
    # The meeting's time comes.
    db.execute(update(Meeting).where(Meeting.id == int(page.url.rsplit("/", 1)[1]))
               .values(starts_at=utcnow() - dt.timedelta(minutes=5)))
    db.commit()
    page.reload()
    page.get_by_label("“东门下水道疏通与雨污分流改造”的结果").select_option(label="达成共识")
    page.locator(f"#solution-{topic_id}").fill("由镇城建办疏通东门下水道，年内完成雨污分流改造。")
    page.get_by_label("会议纪要").fill("出席：议事代表、法律顾问、镇城建办。\n议定：疏通下水道并改造雨污分流。")
    with page.expect_navigation():
        page.get_by_role("button", name="保存会议记录").click()
    assert page.locator("#meeting-state").inner_text() == "已召开"
    assert "达成共识" in page.locator(".outcome").inner_text()
    assert "议定：疏通下水道" in page.locator("#minutes-text").inner_text()
    assert page.locator("#participants li").all_inner_texts() == [
        "议事代表：张大爷 ✓ 出席", "法律顾问：李律师 ✓ 出席", "相关部门：镇城建办 ✓ 出席"]
    assert_fits_phone(page)
    screenshot(page, "council-meeting-record.png")

    page.locator("[data-agenda] a").click()
    assert page.locator("#topic-state").inner_text() == "已达成共识"
    assert_fits_phone(page)
    page.get_by_label("领办主体").select_option(label="部门")
    page.get_by_label("领办人或部门").fill("镇城建办")
    page.get_by_label("完成期限").fill((dt.date.today() + dt.timedelta(days=30)).isoformat())
    with page.expect_navigation():
        page.get_by_role("button", name="指定领办").click()
    assert page.locator("#topic-state").inner_text() == "正在落实"
    page.get_by_label("进度（%）").fill("120")
    with page.expect_navigation() as nav:
        page.get_by_role("button", name="记录进度").click()
    assert nav.value.status == 400
    assert page.get_by_role("alert").inner_text() == "进度须是 0 到 100 之间的整数。"
    assert_fits_phone(page)
    context.close()


def test_the_statistics_page_on_a_phone_and_a_desktop(live_app, browser, village):
    base = live_app.url
    context = new_phone(browser)
    page = context.new_page()
    sign_in(page, base, "shuji1")
    page.goto(f"{base}/council/stats")
    figures = dict(zip(page.locator("#figures td:first-child").all_inner_texts(),
                       page.locator("#figures td.v").all_inner_texts(), strict=True))
    assert figures["收到诉求（件）"] == "4" and figures["答复率（%）"] == "75.0" and figures["协商议事室（个）"] == "1"
    assert figures["分拣结果·不予协商：个体矛盾"] == "1"
    assert page.locator("svg[role=img]").count() == 4  # the three charts and the 12-month trend
    assert page.locator("#chart-funnel svg rect").count() == 6
    assert_fits_phone(page)
    screenshot(page, "council-stats-phone.png")
    context.close()

    desktop = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN", timezone_id="Asia/Shanghai")
    page = desktop.new_page()
    sign_in(page, base, "admin")
    page.goto(f"{base}/council/stats")
    page.get_by_label("单位").select_option(label="铜山区·张集镇·梁堂村")
    with page.expect_navigation():
        page.get_by_role("button", name="查看").click()
    assert page.locator("#stats-scope").inner_text().startswith("铜山区·张集镇·梁堂村 及下辖单位")
    table, chart = page.locator("#figures").bounding_box(), page.locator("#chart-funnel").bounding_box()
    assert chart["x"] > table["x"] + table["width"] - 1  # side by side on a desktop
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    with page.expect_download() as download:
        page.get_by_role("link", name="导出 Excel").click()
    assert download.value.suggested_filename.endswith(".xlsx")
    screenshot(page, "council-stats.png")
    desktop.close()
