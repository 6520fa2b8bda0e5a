"""The manual review queue in headless Chromium at a phone's size: the admin approves one complaint's text, hides
another's and hides a photo, each with a reason; the grid worker's queue loses the marks. Screenshots in
test-artifacts/."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import select

from models import Complaint, Unit, utcnow
from models.intake import Photo, add_photo_file
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


def photo_of(db, complaint: Complaint, color) -> Photo:
    out = io.BytesIO()
    Image.new("RGB", (120, 90), color).save(out, "JPEG")
    name = f"review-{color[0]}.jpg"
    add_photo_file(db, name, "image/jpeg", out.getvalue())
    photo = Photo(name=name, resident_id=complaint.resident_id, complaint_id=complaint.id, content_type="image/jpeg",
                  width=120, height=90, size=len(out.getvalue()), media_check="review", created_at=utcnow())
    db.add(photo)
    db.flush()
    return photo


@pytest.fixture
def flagged(db):
    from qr.demo import seed_demo

    seed_demo(db)
    grid = db.scalar(select(Unit).where(Unit.name == "梁堂村第一网格"))
    fine = factories.complaint(db, grid, factories.resident(db), text="三号楼门口的路灯坏了一个月，晚上很黑")
    spam = factories.complaint(db, grid, factories.resident(db), text="低价办证，加微信 xxxxxx")
    fine.content_check, spam.content_check = "review", "risky"
    photo = photo_of(db, fine, (200, 40, 40))
    db.commit()
    return {"fine": fine.id, "spam": spam.id, "photo": photo.id}


def test_the_admin_approves_and_hides_on_a_phone(live_app, browser, flagged, db):
    base = live_app.url
    context = new_phone(browser)
    page = context.new_page()
    sign_in(page, base, "admin")
    page.goto(f"{base}/admin/")
    with page.expect_navigation():
        page.get_by_role("link", name="人工审核").click()
    assert page.url.endswith("/admin/review")
    assert page.locator("#complaint-count").inner_text() == "2" and page.locator("#photo-count").inner_text() == "1"
    assert_fits_phone(page)
    screenshot(page, "admin-review-queue.png")

    fine = page.locator(f'[data-review-complaint="{flagged["fine"]}"]')
    fine.get_by_label("审核意见（记入操作日志）").fill("反映属实，内容正常")
    with page.expect_navigation():
        fine.get_by_role("button", name="通过").click()
    assert page.locator("#review-done").inner_text() == f"已通过：第 {flagged['fine']} 号反映。"
    assert page.locator("#complaint-count").inner_text() == "1"

    spam = page.locator(f'[data-review-complaint="{flagged["spam"]}"]')
    spam.get_by_role("button", name="隐藏").click()  # no reason yet: the browser asks for one, nothing is sent
    page.wait_for_timeout(300)
    assert page.locator("#complaint-count").inner_text() == "1"
    assert spam.get_by_label("审核意见（记入操作日志）").evaluate("e => e.validity.valueMissing")
    spam.get_by_label("审核意见（记入操作日志）").fill("广告，与社区事务无关")
    with page.expect_navigation():
        spam.get_by_role("button", name="隐藏").click()
    assert page.locator("#review-done").inner_text() == f"已隐藏：第 {flagged['spam']} 号反映。"

    photo = page.locator(f'[data-review-photo="{flagged["photo"]}"]')
    photo.get_by_label("审核意见（记入操作日志）").fill("照片拍到路人面部")
    with page.expect_navigation():
        photo.get_by_role("button", name="隐藏").click()
    assert page.locator("#no-complaints").is_visible() and page.locator("#no-photos").is_visible()
    screenshot(page, "admin-review-done.png")

    db.expire_all()
    assert db.get(Complaint, flagged["fine"]).content_check == "pass"
    assert db.get(Complaint, flagged["spam"]).content_check == "hidden"
    assert db.get(Photo, flagged["photo"]).media_check == "hidden"

    worker = new_phone(browser).new_page()
    sign_in(worker, base, "wangge1")
    worker.goto(f"{base}/triage/")
    for cid in (flagged["fine"], flagged["spam"]):
        assert "内容待核查" not in worker.locator(f'[data-complaint="{cid}"]').inner_text()
    worker.goto(f"{base}/triage/review")
    assert worker.locator("#no-complaints").is_visible() and worker.locator("#no-photos").is_visible()
    context.close()
