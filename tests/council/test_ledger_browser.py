"""The ledger and the statistics' comparison and trend in headless Chromium: the secretary on a phone, the admin on
a desktop. Screenshots in test-artifacts/ (council-ledger-phone.png, council-stats-trend-phone.png,
council-stats-compare.png, council-ledger.png)."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from models import Actor, ComplaintState, Staff, TopicState, Unit, transition_complaint
from tests import factories
from tests.browser import assert_fits_phone, new_phone, screenshot

from .test_council_browser import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def district(db):
    from qr.demo import seed_demo

    seed_demo(db)
    db.commit()
    grid = db.scalar(select(Unit).where(Unit.name == "梁堂村第一网格"))
    second = db.scalar(select(Unit).where(Unit.name == "梁堂村第二网格"))
    hanwang = db.scalar(select(Unit).where(Unit.name == "汉王村第一网格"))
    village = db.scalar(select(Unit).where(Unit.name == "梁堂村"))
    who = factories.resident(db)
    topic = factories.topic(db, village, state=TopicState.approved, title="东门下水道疏通")
    factories.complaint(db, grid, who, state=ComplaintState.promoted, topic=topic,
                        text="小区东门外的下水道堵塞，下雨天污水漫到路面上。")
    declined = factories.complaint(db, grid, who, text="邻居家的狗半夜叫，影响休息。")
    factories.complaint(db, second, who, state=ComplaintState.solved, text="路灯不亮")
    factories.complaint(db, second, who, text="垃圾桶满了没人清")
    factories.complaint(db, hanwang, who, state=ComplaintState.solved, text="井盖松动")
    db.commit()
    worker = db.scalar(select(Staff).where(Staff.username == "wangge1"))
    transition_complaint(db, declined, "decline", actor=Actor.staff(worker), reason="个体矛盾",
                         values={"reason_code": "individual_dispute", "reply": "建议找人民调解委员会调解"})
    db.commit()
    return {"village": village}


def figures_of(page) -> dict[str, str]:
    return dict(zip(page.locator("#figures td:first-child").all_inner_texts(),
                    page.locator("#figures td.v").all_inner_texts(), strict=True))


def test_the_secretary_walks_the_trend_and_the_ledger_on_a_phone(live_app, browser, district):
    base = live_app.url
    context = new_phone(browser, accept_downloads=True)
    page = context.new_page()
    sign_in(page, base, "shuji1")
    page.goto(f"{base}/council/stats")
    shown = figures_of(page)
    assert shown["收到诉求（件）"] == "4"
    compare = page.locator("#compare tbody tr")
    assert compare.count() == 2  # 梁堂村's two grids
    first = page.locator('#compare tr[data-unit="梁堂村第一网格"] td.v').all_inner_texts()
    assert first == ["2", "2", "0", "0", "—"]
    months = page.locator("#trend-table tbody tr")
    assert months.count() == 12
    this_month = dt.date.today().strftime("%Y-%m")
    assert page.locator(f'#trend-table tr[data-month="{this_month}"] td.v').first.inner_text() == "4"
    assert page.locator("#trend svg rect").count() == 12
    assert_fits_phone(page)
    page.locator("#trend").scroll_into_view_if_needed()
    screenshot(page, "council-stats-trend-phone.png")

    with page.expect_navigation():
        page.get_by_role("link", name="查看诉求台账 ›").click()
    assert page.locator('[data-count="received"]').inner_text() == shown["收到诉求（件）"]
    assert page.locator('[data-count="answered"]').inner_text() == shown["已答复诉求（件）"]
    assert page.locator("[data-matter]").count() == 4
    page.get_by_label("状态").select_option(label="不予协商，已答复")
    with page.expect_navigation():
        page.get_by_role("button", name="查看").click()
    card = page.locator("[data-matter]")
    assert card.count() == 1
    assert "不予协商：个体矛盾（李网格员）" in card.inner_text() and "建议找人民调解委员会调解" in card.inner_text()
    assert_fits_phone(page)
    screenshot(page, "council-ledger-phone.png")
    with page.expect_download() as download:
        page.get_by_role("link", name="导出 CSV").click()
    assert download.value.suggested_filename == "xinma-ledger-320312100201.csv"
    rows = list(csv.reader(io.StringIO(download.value.path().read_bytes().decode("utf-8-sig"))))
    assert len(rows) == 3 and rows[2][rows[1].index("分拣人")] == "李网格员"
    context.close()


def test_the_admin_compares_the_towns_and_exports_a_ledger(live_app, browser, district):
    base = live_app.url
    desktop = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN",
                                  timezone_id="Asia/Shanghai", accept_downloads=True)
    page = desktop.new_page()
    sign_in(page, base, "admin")
    page.goto(f"{base}/council/stats")
    assert page.locator("#compare tbody tr").all_inner_texts()[0].split()[0] == "三堡街道"
    towns = {name: page.locator(f'#compare tr[data-unit="{name}"] td.v').all_inner_texts()
             for name in ("张集镇", "三堡街道")}
    assert towns["张集镇"][:2] == ["5", "4"] and towns["三堡街道"][:2] == ["0", "0"]
    screenshot(page, "council-stats-compare.png")
    with page.expect_navigation():
        page.locator("#compare").get_by_role("link", name="张集镇").click()
    assert page.locator("#stats-scope").inner_text().startswith("铜山区·张集镇 及下辖单位")
    assert figures_of(page)["收到诉求（件）"] == "5"
    assert sorted(page.locator("#compare tbody tr").evaluate_all("rows => rows.map(r => r.dataset.unit)")) == \
        sorted(["梁堂村", "汉王村"])

    with page.expect_navigation():
        page.get_by_role("link", name="查看诉求台账 ›").click()
    assert page.locator("#ledger-scope").inner_text().startswith("铜山区·张集镇 及下辖单位")
    assert page.locator('[data-count="received"]').inner_text() == "5"
    with page.expect_download() as download:
        page.get_by_role("link", name="导出 Excel").click()
    sheet = load_workbook(io.BytesIO(download.value.path().read_bytes())).active
    values = list(sheet.iter_rows(values_only=True))
    assert len(values) - 2 == 5 and values[1][0] == "编号"
    assert {row[values[1].index("单位")] for row in values[2:]} >= {"铜山区·张集镇·汉王村·汉王村第一网格"}
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    screenshot(page, "council-ledger.png")
    desktop.close()
