"""The whole loop in a real (headless) browser at a phone's size, as the people who use it would walk it.

The resident reports on the WeChat sandbox's simulated phone (which calls the live app as the mini-program
would); the grid worker and the secretary use the staff pages; everyone's messages show in the sandbox inbox.
A real `xinma worker` process runs the content check and the deliveries.
"""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
import requests
from sqlalchemy import select

from models import Complaint, ComplaintState, QrCode, Topic, TopicState, Unit
from tests import factories
from tests.browser import assert_fits_phone, new_phone, screenshot, scroll_width
from tests.conftest import Workers, wait_for
from web.settings import SANDBOX_APPID, SANDBOX_SECRET, load_settings
from wechat import create_sandbox_app, serve_in_thread
from workers.rendering import sandbox_templates, template_id

pytestmark = pytest.mark.browser

RESIDENT = "o-resident-zhang"
SECRETARY = "demo-secretary-liangtang"
PASSWORD = "xinma-demo"
TEXT = "梁堂村3组路灯坏了半个月，晚上出行很不安全"


@pytest.fixture
def phone(browser):
    """A fresh phone-sized browser context (its own cookies), JavaScript on."""
    context = new_phone(browser)
    yield context
    context.close()


def _stop(server, thread) -> None:
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def stack(live_env, db_clean, tmp_path, request):
    """The live app and a WeChat sandbox that know each other's addresses, plus workers pointed at both.

    The sandbox needs the app's address (its phone calls the backend) and the app needs the sandbox's (its
    WeChat API base), so the app's port is bound first behind a stand-in that forwards to the app once built.
    """
    from app import create_app

    holder: dict = {}
    live_server, live_thread, live_url = serve_in_thread(lambda environ, start: holder["app"](environ, start))
    sandbox = create_sandbox_app(appid=SANDBOX_APPID, secret=SANDBOX_SECRET, templates=sandbox_templates(),
                                 backend_url=live_url)
    sandbox_server, sandbox_thread, sandbox_url = serve_in_thread(sandbox)
    env = dict(live_env, XINMA_WECHAT_API_BASE=sandbox_url + "/")
    application = create_app(load_settings(env))
    holder["app"] = application
    pool = Workers(env, tmp_path)
    http = requests.Session()
    yield SimpleNamespace(url=live_url, sandbox=sandbox_url, workers=pool, http=http)
    pool.stop_all()
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        print("--- worker logs ---\n" + pool.logs())
    http.close()
    _stop(sandbox_server, sandbox_thread)
    _stop(live_server, live_thread)
    application.extensions["xinma.engine"].dispose()


@pytest.fixture
def demo(db):
    from qr.demo import seed_demo

    seed_demo(db)
    db.commit()
    return db


def unit_named(db, name: str) -> Unit:
    return db.scalar(select(Unit).where(Unit.name == name))


def scene_of(db, unit_name: str) -> str:
    unit = unit_named(db, unit_name)
    return db.scalar(select(QrCode.token).where(QrCode.unit_id == unit.id, QrCode.revoked_at.is_(None)))


def sandbox_messages(stack, **params) -> list[dict]:
    res = stack.http.get(f"{stack.sandbox}/_sandbox/messages", params=params, timeout=10)
    res.raise_for_status()
    return res.json()["messages"]


def sign_in(page, base: str, username: str, password: str = PASSWORD):
    page.goto(f"{base}/staff/signin")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="登录").click()


def test_the_whole_loop_in_a_browser(stack, demo, browser):
    scene = scene_of(demo, "梁堂村第一网格")
    stack.workers.start()
    # The secretary allowed the long-term reminder once, in the mini-program (as `xinma up` does for demo staff).
    stack.http.post(f"{stack.sandbox}/_sandbox/users", json={"openid": SECRETARY, "nickname": "王书记"}, timeout=10)
    stack.http.post(f"{stack.sandbox}/_sandbox/subscribe", timeout=10,
                    json={"openid": SECRETARY, "template_ids": [template_id("topic_proposed")]}).raise_for_status()

    # (a) The resident scans the unit's code: the simulated mini-program opens on the report page.
    resident = new_phone(browser)
    page = resident.new_page()
    page.goto(f"{stack.sandbox}/phone?scene={scene}")
    assert "梁堂村第一网格" in page.locator(".unit").inner_text()
    page.get_by_label("微信用户（openid）").fill(RESIDENT)
    page.get_by_label("昵称").fill("张阿姨")
    for title in ("问题受理通知", "诉求处理进度通知", "议题审定结果通知"):
        page.get_by_label(f"允许接收“{title}”").check()
    page.get_by_label("类别").select_option("设施维修")
    page.get_by_label("问题描述").fill(TEXT)
    with page.expect_navigation() as nav:
        page.get_by_role("button", name="提交").click()
    assert nav.value.status == 201
    assert page.get_by_role("status").is_visible()
    complaint_id = int(page.locator(".complaint-id").inner_text())
    assert f"编号 {complaint_id}" in page.get_by_role("status").inner_text()
    screenshot(page, "phone-report.png")
    resident.close()

    # (b) The grid worker signs in; once the content check lets the complaint in, they promote it.
    worker = new_phone(browser)
    page = worker.new_page()
    sign_in(page, stack.url, "wangge1")
    assert page.url == f"{stack.url}/triage/"
    card = page.locator(f'[data-complaint="{complaint_id}"]')

    def in_queue() -> bool:
        page.reload()
        return card.count() == 1

    wait_for(in_queue, timeout=30, interval=0.5, what="the complaint in the grid worker's queue")
    assert "路灯坏了半个月" in card.inner_text()
    assert_fits_phone(page)
    screenshot(page, "triage-queue.png")
    card.get_by_role("link").click()
    page.wait_for_url(f"{stack.url}/triage/complaints/{complaint_id}")
    assert page.locator("#complaint-text").inner_text() == TEXT
    assert_fits_phone(page)
    screenshot(page, "triage-complaint.png")
    page.get_by_label("议题名称").fill("梁堂村3组路灯维修")
    page.get_by_label("议题说明").fill("居民反映路灯损坏")
    page.get_by_label("议题类别（三议）").select_option(label="民生改善实事")
    with page.expect_navigation():
        page.get_by_role("button", name="转为议题，报书记审定").click()
    assert page.get_by_role("status").inner_text() == f"已处理第 {complaint_id} 号反映，居民会收到微信通知。"
    assert card.count() == 0
    worker.close()

    # (c) The secretary signs in, opens the topic and approves it.
    secretary = new_phone(browser)
    page = secretary.new_page()
    sign_in(page, stack.url, "shuji1")
    assert page.url == f"{stack.url}/council/"
    topic = page.locator("[data-topic]").filter(has_text="梁堂村3组路灯维修")
    assert topic.count() == 1 and "待审定" in topic.inner_text()
    assert_fits_phone(page)
    topic.get_by_role("link").click()
    page.wait_for_url(re.compile(r"/council/topics/\d+$"))
    assert "路灯坏了半个月" in page.content()
    assert_fits_phone(page)
    with page.expect_navigation():
        page.get_by_role("button", name="审定通过").click()
    assert "已审定" in page.locator(".tag").first.inner_text()
    assert page.get_by_role("button", name="审定通过").count() == 0
    screenshot(page, "council-topic.png")
    secretary.close()

    # (d) The sandbox inbox shows what each person received on WeChat.
    wait_for(lambda: len(sandbox_messages(stack, openid=RESIDENT)) == 3, timeout=30, what="three resident messages")
    inbox = new_phone(browser)
    page = inbox.new_page()
    page.goto(f"{stack.sandbox}/inbox")
    person = page.locator(f'[data-openid="{RESIDENT}"]')
    titles = person.locator(".message strong").all_inner_texts()
    assert titles == ["议题审定结果通知", "诉求处理进度通知", "问题受理通知"]  # newest first
    assert "张阿姨" in person.locator("h2").inner_text()
    assert "梁堂村第一网格" in person.inner_text()
    boss = page.locator(f'[data-openid="{SECRETARY}"]')
    assert boss.locator(".message strong").all_inner_texts() == ["议题待审定提醒"]
    assert "梁堂村3组路灯维修" in boss.inner_text()
    screenshot(page, "sandbox-inbox.png")
    inbox.close()

    # A tap on a message opens the page about it: the resident's complaint until it became a topic, then the topic.
    topic_id = demo.scalar(select(Complaint.topic_id).where(Complaint.id == complaint_id))
    pages = [m["page"].split("&")[0] for m in sandbox_messages(stack, openid=RESIDENT)]
    assert pages == [f"pages/complaint/detail?id={complaint_id}"] * 2 + [f"pages/topic/detail?id={topic_id}"]
    told = sandbox_messages(stack, openid=SECRETARY)
    assert told[0]["page"].split("&")[0] == f"pages/topic/detail?id={topic_id}", told[0]["page"]


def test_wrong_password_shows_the_error_and_stays(stack, demo, phone):
    page = phone.new_page()
    page.goto(f"{stack.url}/staff/signin")
    page.get_by_label("用户名").fill("wangge1")
    page.get_by_label("密码").fill("not-the-password")
    with page.expect_navigation() as nav:
        page.get_by_role("button", name="登录").click()
    assert nav.value.status == 401
    assert page.url == f"{stack.url}/staff/signin"
    assert page.get_by_role("alert").inner_text() == "用户名或密码不正确。"
    assert page.get_by_role("button", name="退出").count() == 0
    # Nothing was signed in: the queue still sends them back to sign in.
    page.goto(f"{stack.url}/triage/")
    assert page.url.startswith(f"{stack.url}/staff/signin")


def test_a_grid_worker_cannot_open_another_communitys_complaint(stack, demo, phone):
    other = factories.complaint(demo, unit_named(demo, "汉王村第一网格"), factories.resident(demo),
                                text="汉王村的事，梁堂村的网格员不该看到")
    demo.commit()
    page = phone.new_page()
    sign_in(page, stack.url, "wangge1")
    response = page.goto(f"{stack.url}/triage/complaints/{other.id}")
    assert response.status == 404
    assert page.get_by_role("heading", level=1).inner_text() == "没有办成"
    assert page.get_by_role("alert").inner_text() == "未找到这条反映。"
    assert "汉王村的事" not in page.content()
    assert_fits_phone(page)


def staff_pages_widths(stack, demo, page, text: str) -> dict[str, int]:
    """Sign in as each role and measure how wide every staff page is, with complaints carrying `text`."""
    grid = unit_named(demo, "梁堂村第一网格")
    who = factories.resident(demo)
    complaint = factories.complaint(demo, grid, who, text=text)
    topic = factories.topic(demo, unit_named(demo, "梁堂村"), title="东门下水道疏通与雨污分流改造")
    factories.complaint(demo, grid, who, state=ComplaintState.promoted, topic=topic, text=text)
    demo.commit()
    widths = {}
    page.goto(f"{stack.url}/staff/signin")
    widths["/staff/signin"] = scroll_width(page)
    sign_in(page, stack.url, "wangge1", "wrong")
    widths["/staff/signin (error)"] = scroll_width(page)
    sign_in(page, stack.url, "wangge1")
    for path in ("/triage/", f"/triage/complaints/{complaint.id}", "/triage/complaints/999999"):
        page.goto(stack.url + path)
        widths[path] = scroll_width(page)
    page.context.clear_cookies()
    sign_in(page, stack.url, "shuji1")
    for path in ("/council/", f"/council/topics/{topic.id}"):
        page.goto(stack.url + path)
        widths[path] = scroll_width(page)
    return widths


def test_staff_pages_fit_a_phone(stack, demo, phone):
    text = "小区东门外的下水道堵塞，下雨天污水漫到路面上，老人孩子出行很不方便。" * 6
    widths = staff_pages_widths(stack, demo, phone.new_page(), text)
    assert {path: w for path, w in widths.items() if w > 375} == {}


def test_staff_pages_fit_a_phone_with_a_pasted_link(stack, demo, phone):
    """A long unbroken run (a pasted link, a long number) wraps instead of widening the page."""
    text = "东门下水道堵塞，照片在这里：https://example.com/share/" + "a1b2c3d4" * 12
    widths = staff_pages_widths(stack, demo, phone.new_page(), text)
    assert {path: w for path, w in widths.items() if w > 375} == {}


def test_the_staff_pages_work_without_javascript(stack, demo, browser, db):
    grid = unit_named(demo, "梁堂村第二网格")
    complaint = factories.complaint(demo, grid, factories.resident(demo), text="第二网格垃圾桶不够用")
    demo.commit()
    context = new_phone(browser, java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, stack.url, "wangge1")
        assert page.url == f"{stack.url}/triage/"
        page.locator(f'[data-complaint="{complaint.id}"] a').click()
        page.wait_for_url(f"{stack.url}/triage/complaints/{complaint.id}")
        page.get_by_label("议题名称").fill("第二网格增设垃圾桶")
        with page.expect_navigation():
            page.get_by_role("button", name="转为议题，报书记审定").click()
        assert page.get_by_role("status").inner_text() == f"已处理第 {complaint.id} 号反映，居民会收到微信通知。"

        page.context.clear_cookies()
        sign_in(page, stack.url, "shuji1")
        page.locator("[data-topic] a").filter(has_text="第二网格增设垃圾桶").click()
        page.wait_for_url(re.compile(r"/council/topics/\d+$"))
        with page.expect_navigation():
            page.get_by_role("button", name="审定通过").click()
        assert "已审定" in page.locator(".tag").first.inner_text()
    finally:
        context.close()
    db.expire_all()
    row = db.get(Complaint, complaint.id)
    assert row.state == ComplaintState.promoted
    assert db.get(Topic, row.topic_id).state == TopicState.approved
