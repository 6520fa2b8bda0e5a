"""The H5 intake page and the admin unit page in headless Chromium at a phone's size, with screenshots."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from sqlalchemy import select

from models import Unit
from qr import services
from qr.demo import DEMO_PASSWORD
from qr.posters import SIZES, poster_png
from tests.browser import assert_fits_phone, new_phone, screenshot
from tests.conftest import ARTIFACTS, LiveServer

pytestmark = pytest.mark.browser


@pytest.fixture
def live(app, demo):
    server = LiveServer(app)
    yield server
    server.stop()


def test_h5_report_and_tracking_on_a_phone(live, db, browser, app, tmp_path):
    from models.intake import Photo, PhotoFile
    from tests.qr.test_codes import gps_jpeg


    unit = db.scalar(select(Unit).where(Unit.name == "梁堂村第一网格"))
    token = services.current_code(db, unit).token
    phone = new_phone(browser)
    page = phone.new_page()
    page.goto(f"{live.url}/q/{token}")
    assert page.url == f"{live.url}/h5/{token}"
    assert page.locator("#unit-name").inner_text() == "铜山区·张集镇·梁堂村·梁堂村第一网格"
    assert_fits_phone(page)
    page.get_by_label("问题类别").select_option("设施维修")
    page.get_by_label("问题描述").fill("梁堂村3组路灯坏了半个月，晚上出行很不安全")
    page.get_by_label("手机号（选填，方便网格员联系您）").fill("138")
    with page.expect_navigation():
        page.get_by_role("button", name="提交").click()
    assert "请填写 11 位手机号码" in page.get_by_role("alert").inner_text()
    assert page.get_by_label("问题描述").input_value().startswith("梁堂村3组路灯")
    page.get_by_label("手机号（选填，方便网格员联系您）").fill("13812345678")
    # A photo straight from a phone's camera, GPS position in its EXIF, chosen in a plain file input.
    (tmp_path / "IMG_0001.jpg").write_bytes(gps_jpeg((120, 90)))
    page.get_by_label("照片（选填，最多 6 张）").set_input_files([str(tmp_path / "IMG_0001.jpg")])
    screenshot(page, "h5-report.png")
    with page.expect_navigation():
        page.get_by_role("button", name="提交").click()
    assert re.search(r"/h5/track/[A-Za-z0-9_-]{43}\?new=1$", page.url)
    assert "提交成功" in page.get_by_role("status").inner_text()
    assert "您的反映已提交" in page.locator("ol.timeline").inner_text()
    assert page.locator("#photo-count").inner_text() == "1"
    db.expire_all()
    [photo] = db.scalars(select(Photo)).all()
    assert photo.complaint_id is not None and (photo.width, photo.height) == (120, 90)
    with Image.open(io.BytesIO(db.get(PhotoFile, photo.name).data)) as stored:
        assert dict(stored.getexif()) == {} and "exif" not in stored.info
    assert_fits_phone(page)
    screenshot(page, "h5-tracking.png")
    phone.close()


def test_admin_units_on_a_phone(live, db, browser):
    phone = new_phone(browser)
    page = phone.new_page()
    page.goto(f"{live.url}/admin/units")
    page.get_by_label("用户名").fill("admin")
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="登录").click()
    assert page.url == f"{live.url}/admin/units"
    assert_fits_phone(page)
    page.get_by_label("搜索单位（名称或代码）").fill("梁堂")
    with page.expect_navigation():
        page.get_by_role("button", name="搜索").click()
    assert page.locator("#unit-count").inner_text() == "3"
    with page.expect_navigation():
        page.locator('[data-unit="320312100201"] a').click()
    old = page.locator("#scan-url").inner_text()
    assert_fits_phone(page)
    screenshot(page, "admin-unit.png")
    with page.expect_navigation():
        page.get_by_role("link", name="更换二维码…").click()
    assert page.locator("#scan-url").count() == 0  # a confirmation first: the poster on the wall stops working
    with page.expect_navigation():
        page.get_by_role("button", name="确认更换，旧海报作废").click()
    assert "已更换二维码" in page.get_by_role("status").inner_text()
    assert page.locator("#scan-url").inner_text() != old
    phone.close()


def test_poster_screenshot_artifact(db):
    ARTIFACTS.mkdir(exist_ok=True)
    png = poster_png("铜山区·张集镇·梁堂村·梁堂村第一网格", "320312100201-01", "http://xinma.test/q/AbCdEfGhIjKlMnOpQrStUv",
                     SIZES["A4"])
    (ARTIFACTS / "poster-A4.png").write_bytes(png)
    assert Image.open(io.BytesIO(png)).size == SIZES["A4"].pixels
