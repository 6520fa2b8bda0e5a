"""The representatives' pages in headless Chromium at a phone's size: the register and a representative's steps,
entry on behalf, the activity log and its 四个一, and the public list. Screenshots go to test-artifacts/."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from models import Complaint, QrCode, utcnow
from models.representatives import Representative
from tests.browser import assert_fits_phone, new_phone, screenshot
from tests.representatives.support import PASSWORD, appointed, unit_named

pytestmark = pytest.mark.browser


def sign_in(page, base: str, username: str, then: str) -> None:
    page.goto(f"{base}/staff/signin?next={then}")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="登录").click()


@pytest.fixture
def seeded(db):
    from qr.demo import seed_demo

    seed_demo(db)
    db.commit()


def test_a_secretary_appoints_a_representative_on_a_phone(live_app, browser, seeded, db):
    base = live_app.url
    page = new_phone(browser).new_page()
    sign_in(page, base, "shuji1", "/admin/representatives")
    page.get_by_label("单位").nth(1).select_option(label="铜山区·张集镇·梁堂村·梁堂村第一网格")
    page.get_by_label("姓名").fill("张三")
    page.get_by_label("推荐人 / 推荐单位").fill("梁堂村第一党支部")
    page.get_by_label("走访").check()
    page.get_by_label("候访").check()
    with page.expect_navigation():
        page.get_by_role("button", name="登记推荐").click()
    assert page.locator("#rep-state").inner_text() == "已推荐"
    page.get_by_label("意见 / 说明").fill("热心公益，群众认可")
    with page.expect_navigation():
        page.get_by_role("button", name="审查").click()
    for step, state in (("决定", "已决定"), ("公示", "公示中")):
        with page.expect_navigation():
            page.get_by_role("button", name=step, exact=True).click()
        assert page.locator("#rep-state").inner_text() == state
    assert_fits_phone(page)
    screenshot(page, "representative-announced.png")
    with page.expect_navigation():
        page.get_by_role("button", name="聘任").click()
    assert "公示期尚未结束" in page.locator("#step-error").inner_text()
    db.execute(update(Representative).values(notice_ends_at=utcnow() - dt.timedelta(minutes=1)))
    db.commit()  # the five days pass
    page.goto(f"{base}/admin/representatives/{db.scalar(select(Representative.id))}")
    with page.expect_navigation():
        page.get_by_role("button", name="聘任").click()
    assert page.locator("#rep-state").inner_text() == "已聘任"
    image = page.get_by_alt_text("张三的连心码")
    image.wait_for()
    assert page.evaluate("img => img.naturalWidth", image.element_handle()) > 100
    assert_fits_phone(page)
    screenshot(page, "representative-appointed.png")
    page.get_by_role("link", name="‹ 返回名册").click()
    assert "张三" in page.locator("[data-representative]").first.inner_text()
    assert_fits_phone(page)
    screenshot(page, "representatives-register.png")


def test_a_representative_enters_a_matter_and_logs_their_work_on_a_phone(live_app, browser, seeded, db, engine):
    base = live_app.url
    rep_id = appointed(_AppView(engine), name="张三", account="daibiao1")
    page = new_phone(browser).new_page()
    sign_in(page, base, "daibiao1", "/admin/representatives/me")
    assert "张三 的履职记录" in page.locator("h1").inner_text()
    page.get_by_label("活动").select_option(label="召开座谈会")
    page.get_by_label("内容").fill("在第一家属院召开居民座谈会，听取停车问题意见")
    page.get_by_label("参加 / 接触群众人数（可不填）").fill("15")
    with page.expect_navigation():
        page.get_by_role("button", name="保存").click()
    assert page.locator("#logged").is_visible()
    page.get_by_role("link", name="代居民反映问题").click()
    page.get_by_label("怎样听到的").select_option(label="走访")
    page.get_by_label("问题类别").select_option(label="停车")
    page.get_by_label("居民反映的问题").fill("家属院里外来车辆乱停，老人出门不方便")
    page.get_by_label("居民称呼（可不填，工作人员只看到姓）").fill("王奶奶")
    assert_fits_phone(page)
    screenshot(page, "on-behalf-form.png")
    with page.expect_navigation():
        page.get_by_role("button", name="提交").click()
    assert "已提交第" in page.locator("#entered").inner_text()
    screenshot(page, "on-behalf-done.png")
    row = db.scalar(select(Complaint).order_by(Complaint.id.desc()))
    assert (row.representative_id, row.heard_via) == (rep_id, "visit")
    page.get_by_role("link", name="‹ 我的履职记录").click()
    assert "走访代填" in page.locator(f'[data-complaint="{row.id}"]').inner_text()
    assert_fits_phone(page)
    screenshot(page, "representative-activities.png")
    page.get_by_role("link", name="“四个一”年度小结").click()
    assert page.locator('[data-four="forum"] [data-done]').inner_text() == "已完成"
    assert page.locator('[data-four="policy_talk"] [data-done]').inner_text() == "未完成"
    assert_fits_phone(page)
    screenshot(page, "representative-four-ones.png")


def test_the_public_list_on_a_phone(live_app, browser, seeded, db, engine):
    appointed(_AppView(engine), name="张三", duties=("waiting", "receiving", "appointment", "visiting"))
    village = unit_named(db, "梁堂村")
    scene = db.scalar(select(QrCode.token).where(QrCode.unit_id == village.id, QrCode.revoked_at.is_(None)))
    page = new_phone(browser).new_page()
    page.goto(f"{live_app.url}/board/{scene}")
    page.get_by_role("link", name="有事找代表：议政代表与民意联络员").click()
    card = page.locator("[data-representative]")
    assert "张三" in card.inner_text() and "候访、接访、约访、走访" in card.inner_text()
    image = page.get_by_alt_text("张三的连心码")
    image.wait_for()
    assert page.evaluate("img => img.complete && img.naturalWidth", image.element_handle()) > 100
    assert_fits_phone(page)
    screenshot(page, "board-representatives.png")


class _AppView:
    """What `appointed` needs of an app, for rows the live server then reads: a sessionmaker on the test database."""

    def __init__(self, engine) -> None:
        from models.db import make_sessionmaker

        self.extensions = {"xinma.sessionmaker": make_sessionmaker(engine)}
