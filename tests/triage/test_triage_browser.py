"""The grid worker's pages in headless Chromium at 375×812 with JavaScript off: sign in, work the queue, take each
decision, lose a race. Screenshots go to test-artifacts/."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from models import Complaint, ComplaintState, StaffRole
from tests import factories
from tests.browser import assert_fits_phone, launch, new_phone, screenshot, sync_playwright
from wechat import serve_in_thread

pytestmark = pytest.mark.browser

TEXTS = {
    "promote": "小区东门的路灯坏了半个月，晚上出行很不安全",
    "duplicate": "东门路灯坏了好多天了，晚上出行不安全",
    "decline": "楼上邻居家装修噪音太大，和他说了也不听",
    "solve": "3号楼楼道里的灯泡坏了一个",
    "escalate": "社区主干道下水道反复堵塞，需要整体改造",
    "visit": "两户人家为公共走廊堆放杂物吵架",
}


def in_browser(body) -> None:
    """Run `body(browser)` on its own thread with its own Playwright: the Sync API refuses to start a second time
    on a thread where another module's browser session is still running."""
    failure: list[BaseException] = []

    def run() -> None:
        try:
            with sync_playwright() as playwright:
                chromium = launch(playwright)
                try:
                    body(chromium)
                finally:
                    chromium.close()
        except BaseException as exc:  # noqa: BLE001 - handed to the test's own thread below
            failure.append(exc)

    thread = threading.Thread(target=run, name="triage-browser")
    thread.start()
    thread.join(120)
    assert not thread.is_alive(), "the browser test did not finish in 120 s"
    if failure:
        raise failure[0]


@pytest.fixture
def site(app):
    with app.extensions["xinma.sessionmaker"]() as session:
        u = factories.units(session)
        factories.staff(session, StaffRole.grid_worker, u["grid"], username="worker")
        factories.staff(session, StaffRole.secretary, u["community"], openid="o-sec", username="secretary")
        ids = {key: factories.complaint(session, u["grid"], factories.resident(session), text=text).id
               for key, text in TEXTS.items()}
        session.commit()
    server, thread, url = serve_in_thread(app)
    yield url, ids
    server.shutdown()
    server.server_close()
    thread.join(5)


def sign_in(page, url: str) -> None:
    page.goto(f"{url}/staff/signin")
    page.get_by_label("用户名").fill("worker")
    page.get_by_label("密码").fill(factories.PASSWORD)
    page.get_by_role("button", name="登录").click()


def open_decision(page, url: str, cid: int, summary: str):
    page.goto(f"{url}/triage/complaints/{cid}")
    details = page.locator("details", has=page.locator("summary", has_text=summary))
    if details.get_attribute("open") is None:
        page.locator("summary", has_text=summary).click()
    return details


def state_of(app, cid: int) -> ComplaintState:
    with app.extensions["xinma.sessionmaker"]() as session:
        return session.scalar(select(Complaint.state).where(Complaint.id == cid))


def test_work_the_queue_and_take_each_decision(site, app):
    in_browser(lambda browser: work_the_queue(browser, site, app))


def work_the_queue(browser, site, app) -> None:
    url, ids = site
    phone = new_phone(browser, java_script_enabled=False)
    page = phone.new_page()
    sign_in(page, url)
    assert page.url == f"{url}/triage/"
    assert page.locator("#count-awaiting").inner_text() == "6"
    assert page.locator("[data-complaint]").count() == 6
    assert "分拣期限" in page.locator(f'[data-complaint="{ids["promote"]}"]').inner_text()
    assert_fits_phone(page)
    screenshot(page, "triage-queue.png")

    page.locator(f'[data-complaint="{ids["duplicate"]}"] a').click()
    assert page.locator(f'[data-similar="{ids["promote"]}"]').count() == 1
    screenshot(page, "triage-complaint-similar.png")
    form = page.locator("details", has=page.locator("summary", has_text="与相同问题合并"))
    assert form.get_by_label("合并到第几号反映").input_value() == str(ids["promote"])
    form.get_by_role("button", name="合并").click()
    assert "已处理第" in page.get_by_role("status").inner_text()
    assert state_of(app, ids["duplicate"]) == ComplaintState.merged

    form = open_decision(page, url, ids["promote"], "可以协商")
    form.get_by_label("议题名称").fill("东门路灯维修")
    form.get_by_role("button", name="转为议题，报书记审定").click()
    assert state_of(app, ids["promote"]) == ComplaintState.promoted

    form = open_decision(page, url, ids["decline"], "不予协商")
    form.get_by_label("理由").select_option("individual_dispute")
    form.get_by_label("给居民的答复").fill("属于邻里个体矛盾，已为您联系人民调解")
    form.get_by_label("转介（可不选）").select_option("mediation")
    screenshot(page, "triage-decline.png")
    form.get_by_role("button", name="不予协商并答复").click()
    assert state_of(app, ids["decline"]) == ComplaintState.not_deliberable

    form = open_decision(page, url, ids["solve"], "在网格内解决")
    form.get_by_label("做了什么").fill("已联系物业更换灯泡")
    form.get_by_role("button", name="已解决，告诉居民").click()
    assert state_of(app, ids["solve"]) == ComplaintState.solved

    form = open_decision(page, url, ids["visit"], "记录上门协商")
    form.get_by_label("协商情况").fill("上门与两户协商，约定清理杂物")
    form.get_by_role("button", name="保存记录").click()
    assert "已记录上门协商" in page.get_by_role("status").inner_text()
    assert "约定清理杂物" in page.locator("#timeline").inner_text()
    screenshot(page, "triage-visit.png")

    form = open_decision(page, url, ids["escalate"], "上报上级")
    form.get_by_label("上报理由").fill("涉及整个社区，需社区统筹")
    form.get_by_role("button", name="上报").click()
    assert state_of(app, ids["escalate"]) == ComplaintState.awaiting_triage
    assert page.locator("#count-awaiting").inner_text() == "1"  # only the visited one is left here
    assert_fits_phone(page)
    screenshot(page, "triage-queue-after.png")


def test_the_slower_of_two_workers_sees_what_happened(site, app):
    in_browser(lambda browser: lose_a_race(browser, site, app))


def lose_a_race(browser, site, app) -> None:
    url, ids = site
    first, second = new_phone(browser, java_script_enabled=False), new_phone(browser, java_script_enabled=False)
    try:
        a, b = first.new_page(), second.new_page()
        sign_in(a, url)
        sign_in(b, url)
        form_a = open_decision(a, url, ids["solve"], "在网格内解决")
        form_b = open_decision(b, url, ids["solve"], "不予协商")
        form_a.get_by_label("做了什么").fill("已更换灯泡")
        form_a.get_by_role("button", name="已解决，告诉居民").click()
        form_b.get_by_label("给居民的答复").fill("不议")
        with b.expect_navigation() as nav:
            form_b.get_by_role("button", name="不予协商并答复").click()
        assert nav.value.status == 409
        assert "已被他人更新" in b.get_by_role("alert").inner_text()
        assert "网格员已解决" in b.locator("#what-happened").inner_text()
        assert "已更换灯泡" in b.locator("#what-happened").inner_text()
        assert_fits_phone(b)
        screenshot(b, "triage-conflict.png")
        assert state_of(app, ids["solve"]) == ComplaintState.solved
    finally:
        first.close()
        second.close()
