"""The law-assisted deliberation pages in headless Chromium at a phone's size: the adviser's home and opinion form,
the admin's legal page, and the reading pack on the secretary's topic page and the board. Screenshots are kept in
test-artifacts/."""

from __future__ import annotations

import pytest
from PIL import Image
from sqlalchemy import select

from models import QrCode, TopicState, Unit
from tests import factories
from tests.browser import assert_fits_phone, new_phone, screenshot

from .support import DEMO_PASSWORD, adviser, major, topic

pytestmark = pytest.mark.browser
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def sign_in(page, base: str, username: str, password: str = DEMO_PASSWORD) -> None:
    page.goto(f"{base}/staff/signin")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="登录").click()


@pytest.fixture
def district(db):
    from qr.demo import seed_demo

    seed_demo(db)
    db.commit()
    return db


def test_the_adviser_reviews_a_major_topic_on_a_phone(live_app, browser, district, tmp_path):
    db = district
    adviser(db, "梁堂村")
    major(db, "major_affairs")
    item = topic(db, title="梁堂村集体土地流转与收益分配方案")
    base = live_app.url
    context = new_phone(browser)
    page = context.new_page()
    sign_in(page, base, "lvshi1", factories.PASSWORD)
    page.goto(f"{base}/council/")
    assert page.url.endswith("/council/legal")
    assert page.locator("#advised-units").inner_text() == "您是梁堂村的法律顾问。"
    assert_fits_phone(page)
    screenshot(page, "legal-adviser-home.png")
    with page.expect_navigation():
        page.locator(f'[data-awaiting="{item.id}"] a').click()
    assert page.locator("#major").inner_text() == "重大事项"
    assert page.locator("#no-opinion").inner_text() == "尚未出具法律意见。"
    with page.expect_navigation() as nav:  # no conclusion chosen
        page.get_by_role("button", name="签署法律意见").click()
    assert nav.value.status == 400
    assert page.get_by_role("alert").inner_text() == "请选择审核结论：合法、需修改或不合法。"
    page.go_back()
    page.get_by_label("需修改").check()
    page.get_by_label("法律意见（依据的法律法规、存在的问题和修改建议）").fill(
        "流转方案符合《农村土地承包法》第三十六条；收益分配须经村民会议讨论决定（《村民委员会组织法》第二十四条）。")
    with page.expect_navigation():
        page.get_by_role("button", name="签署法律意见").click()
    latest = page.locator("#latest-opinion")
    assert latest.locator("[data-conclusion]").inner_text() == "需修改"
    assert "法律顾问 李律师" in latest.inner_text()
    page.locator("summary", has_text="上传精读材料").click()
    pack = tmp_path / "村民委员会组织法.pdf"
    pack.write_bytes(PDF)
    page.get_by_label("文件（PDF、UTF-8 文本或 JPG/PNG 图片，2MB 以内）").set_input_files(str(pack))
    with page.expect_navigation():
        page.get_by_role("button", name="上传").click()
    assert page.locator("[data-document] strong").all_inner_texts() == ["村民委员会组织法"]
    assert_fits_phone(page)
    screenshot(page, "legal-opinion-form.png")
    page.goto(f"{base}/council/legal")
    assert page.locator("#nothing-awaiting").is_visible()
    assert page.locator(f'[data-reviewed="{item.id}"]').is_visible()
    context.close()


def test_the_admin_names_an_adviser_and_major_categories_on_a_phone(live_app, browser, district):
    db = district
    adviser(db)
    village = db.scalar(select(Unit).where(Unit.name == "梁堂村"))
    base = live_app.url
    context = new_phone(browser)
    page = context.new_page()
    sign_in(page, base, "admin")
    page.goto(f"{base}/admin/legal")
    assert_fits_phone(page)
    page.get_by_label("党政工作要事").check()
    with page.expect_navigation():
        page.get_by_role("button", name="保存铜山区的重大事项").click()
    assert page.locator("#saved").inner_text() == "已保存重大事项类别。"
    assert page.get_by_label("党政工作要事").is_checked() and not page.get_by_label("民生改善实事").is_checked()
    page.get_by_label("梁堂村的法律顾问").select_option(label="李律师（lvshi1）")
    with page.expect_navigation():
        page.locator(f"#unit-{village.id} button").click()
    assert page.locator("#saved").inner_text() == "已保存法律顾问。"
    assert page.locator(f"#unit-{village.id} [data-adviser]").inner_text().startswith("法律顾问：李律师")
    assert page.locator("[data-adviser] .tag.warn").count() == 2  # 汉王村 and 彭城社区 have none yet
    assert_fits_phone(page)
    screenshot(page, "admin-legal.png")
    context.close()


def test_the_secretary_sees_the_review_and_the_reading_pack_and_the_board_shows_it(live_app, browser, district,
                                                                                  tmp_path):
    db = district
    adviser(db, "梁堂村")
    major(db, "major_affairs")
    item = topic(db, title="村集体土地流转方案")
    scheduled = topic(db, state=TopicState.scheduled, category="livelihood", title="东门路灯维修")
    base = live_app.url
    context = new_phone(browser)
    page = context.new_page()
    sign_in(page, base, "shuji1")
    page.goto(f"{base}/council/topics/{item.id}")
    assert page.locator("#major").inner_text() == "重大事项"
    assert page.locator("#adviser").inner_text() == "法律顾问：李律师"
    page.get_by_label("决议结果").select_option(label="同意实施（随后指定领办）")
    page.get_by_label("决议内容（同意时为实施方案，不予实施时为答复）").fill("按方案流转")
    with page.expect_navigation() as nav:
        page.get_by_role("button", name="记录决议").click()
    assert nav.value.status == 409
    assert page.get_by_role("alert").inner_text().startswith(
        "“村集体土地流转方案”属于重大事项，须经法制审核：还缺少法律顾问李律师")
    assert_fits_phone(page)
    screenshot(page, "legal-resolution-refused.png")
    page.goto(f"{base}/council/topics/{scheduled.id}")
    page.locator("summary", has_text="上传精读材料").click()
    text = tmp_path / "路灯管理办法.txt"
    text.write_text("《城市道路照明设施管理规定》第十条：照明设施的维修由管理单位负责。\n", encoding="utf-8")
    page.get_by_label("文件（PDF、UTF-8 文本或 JPG/PNG 图片，2MB 以内）").set_input_files(str(text))
    page.get_by_label("名称（可不填，默认用文件名）").fill("城市道路照明设施管理规定")
    with page.expect_navigation():
        page.get_by_role("button", name="上传").click()
    assert page.url.endswith("#documents")
    assert page.locator("[data-document] strong").all_inner_texts() == ["城市道路照明设施管理规定"]
    assert "文本 · 1KB · 王书记" in page.locator("[data-document] .meta").inner_text()
    page.locator("summary", has_text="上传精读材料").click()
    fake = tmp_path / "政策.pdf"
    fake.write_bytes(b"MZ\x90\x00 not a pdf at all")
    page.get_by_label("文件（PDF、UTF-8 文本或 JPG/PNG 图片，2MB 以内）").set_input_files(str(fake))
    with page.expect_navigation() as nav:
        page.get_by_role("button", name="上传").click()
    assert nav.value.status == 415
    assert "文件类型按内容识别，改文件名无效" in page.get_by_role("alert").inner_text()
    page.go_back()
    page.reload()
    assert_fits_phone(page)
    screenshot(page, "legal-reading-pack.png")
    context.close()

    scene = db.scalar(select(QrCode.token).join(Unit).where(Unit.name == "梁堂村", QrCode.revoked_at.is_(None)))
    public = new_phone(browser).new_page()
    public.goto(f"{base}/board/{scene}")
    link = public.locator('[data-topic-documents] a:has-text("城市道路照明设施管理规定")')
    assert link.is_visible()
    response = public.request.get(base + link.get_attribute("href"))
    assert response.status == 200 and "第十条" in response.text()
    assert_fits_phone(public)
    screenshot(public, "legal-board-documents.png")
    public.context.close()


def test_the_adviser_attaches_a_reading_pack_to_a_coming_meeting(live_app, browser, district, tmp_path):
    import datetime as dt

    from models import Meeting, utcnow
    from models.council import MeetingDetail
    from models.entities import meeting_topics

    db = district
    adviser(db, "梁堂村")
    item = topic(db, state=TopicState.scheduled, category="livelihood", title="东门下水道疏通")
    village = db.scalar(select(Unit).where(Unit.name == "梁堂村"))
    row = Meeting(unit_id=village.id, starts_at=utcnow() + dt.timedelta(days=2), place="梁堂村党群服务中心",
                  form="forum", created_at=utcnow())
    db.add(row)
    db.flush()
    db.add(MeetingDetail(meeting_id=row.id, title="梁堂村19点议事厅"))
    db.execute(meeting_topics.insert().values(meeting_id=row.id, topic_id=item.id))
    db.commit()
    base = live_app.url
    context = new_phone(browser)
    page = context.new_page()
    sign_in(page, base, "lvshi1", factories.PASSWORD)
    with page.expect_navigation():
        page.locator(f'[data-meeting="{row.id}"] a').click()
    assert page.locator("[data-agenda] strong").all_inner_texts() == ["东门下水道疏通"]
    page.locator("summary", has_text="上传精读材料").click()
    scan = tmp_path / "排水管理条例.png"
    Image.new("RGB", (300, 420), (250, 250, 245)).save(scan, "PNG")
    page.get_by_label("文件（PDF、UTF-8 文本或 JPG/PNG 图片，2MB 以内）").set_input_files(str(scan))
    with page.expect_navigation():
        page.get_by_role("button", name="上传").click()
    assert page.locator("[data-document] strong").all_inner_texts() == ["排水管理条例"]
    assert page.locator("[data-document] .meta").inner_text().startswith("图片 · ")
    assert_fits_phone(page)
    screenshot(page, "legal-meeting-pack.png")
    context.close()
