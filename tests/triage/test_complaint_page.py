"""The complaint page a grid worker opens: the resident's photos, the masked phone and its audited reveal; and
binding a staff account to WeChat so its notifications arrive there."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from models import AuditEvent, Staff
from models.triage import StaffBindCode
from tests.intake.support import auth, jpeg, refused, sign_in, upload

PASSWORD = "xinma-demo"
PHONE = "13812345678"


def staff_sign_in(client, username: str) -> None:
    page = client.get("/staff/signin")
    res = client.post("/staff/signin", data={"username": username, "password": PASSWORD,
                                              "csrf_token": _csrf(page.text)})
    assert res.status_code == 302, res.text[:300]


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


@pytest.fixture
def reported(app, wechat_sandbox, scene):
    """A resident's complaint in 梁堂村第一网格 with two photos and a phone number, sent through the API."""
    phone = app.test_client()
    token = sign_in(phone, wechat_sandbox, "o-photo-resident")
    photos = [upload(phone, token, jpeg(color=c)).json["data"]["id"] for c in ((200, 0, 0), (0, 0, 200))]
    res = phone.post("/api/v1/complaints", headers={**auth(token), "Idempotency-Key": "complaint-page-0001"},
                     json={"scene": scene, "category": "设施维修", "text": "楼道灯坏了一个月", "phone": PHONE,
                           "photos": photos})
    assert res.status_code == 201, res.json
    return {"id": res.json["data"]["id"], "photos": photos}


def reveals(app) -> int:
    with app.extensions["xinma.sessionmaker"]() as session:
        return session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "reveal_phone"))


def test_worker_sees_photos_and_a_masked_phone(app, client, reported):
    staff_sign_in(client, "wangge1")
    page = client.get(f"/triage/complaints/{reported['id']}")
    assert page.status_code == 200
    assert "照片（2 张）" in page.text
    links = re.findall(r'href="(/api/staff/photos/\d+)"', page.text)
    assert links == [f"/api/staff/photos/{p}" for p in reported["photos"]]
    image = client.get(links[0])
    assert image.status_code == 200 and image.mimetype == "image/jpeg"
    assert image.headers["X-Content-Type-Options"] == "nosniff"
    assert "138****5678" in page.text and PHONE not in page.text


def test_revealing_the_phone_needs_a_reason_and_is_audited(app, client, reported):
    staff_sign_in(client, "wangge1")
    path = f"/triage/complaints/{reported['id']}"
    csrf = _csrf(client.get(path).text)

    refusal = client.post(path + "/phone", data={"csrf_token": csrf, "reason": "  "})
    assert refusal.status_code == 400
    assert "查看完整手机号需要填写原因" in refusal.text and PHONE not in refusal.text
    assert reveals(app) == 0

    shown = client.post(path + "/phone", data={"csrf_token": csrf, "reason": "电话约上门时间"})
    assert shown.status_code == 200 and f'href="tel:{PHONE}"' in shown.text
    assert shown.headers["Cache-Control"] == "no-store"
    with app.extensions["xinma.sessionmaker"]() as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "reveal_phone"))
        worker = session.scalar(select(Staff).where(Staff.username == "wangge1"))
        assert (event.subject_id, event.actor_id, event.reason) == (reported["id"], worker.id, "电话约上门时间")
    assert PHONE not in client.get(path).text  # shown once, not remembered


def test_a_worker_of_another_grid_gets_neither_photos_nor_phone(app, client, reported):
    staff_sign_in(client, "wangge2")
    path = f"/triage/complaints/{reported['id']}"
    assert client.get(path).status_code == 404
    assert client.get(f"/api/staff/photos/{reported['photos'][0]}").status_code == 404
    csrf = _csrf(client.get("/staff/wechat").text)
    assert client.post(path + "/phone", data={"csrf_token": csrf, "reason": "看看"}).status_code == 404
    assert reveals(app) == 0


# --- binding a staff account to WeChat -----------------------------------------------------------------------

def bind_code(client) -> str:
    csrf = _csrf(client.get("/staff/wechat").text)
    page = client.post("/staff/wechat", data={"csrf_token": csrf, "action": "code"})
    assert page.status_code == 200, page.text[:2000]
    assert 'id="bind-code"' in page.text, page.text[-3000:]
    return re.search(r'id="bind-code">(\d{4}) (\d{4})<', page.text).expand(r"\1\2")


def unbind(client) -> None:
    csrf = _csrf(client.get("/staff/wechat").text)
    assert client.post("/staff/wechat", data={"csrf_token": csrf, "action": "unbind"}).status_code == 200


def openid_of(app, username: str) -> str | None:
    with app.extensions["xinma.sessionmaker"]() as session:
        return session.scalar(select(Staff.openid).where(Staff.username == username))


def test_a_secretary_binds_wechat_with_the_code_from_their_page(app, client, wechat_sandbox, demo):
    staff_sign_in(client, "wangge1")
    assert "已绑定微信" in client.get("/staff/wechat").text  # the demo binds its accounts
    unbind(client)
    assert openid_of(app, "wangge1") is None
    assert "还没有绑定微信" in client.get("/staff/wechat").text
    first = bind_code(client)
    code = bind_code(client)  # a new code replaces the first
    api = app.test_client()
    refused(api.post("/api/v1/staff-bindings", json={"code": wechat_sandbox.login_code("o-wangge1"),
                                                     "bind_code": first}), 400, "bind_code_invalid")
    res = api.post("/api/v1/staff-bindings", json={"code": wechat_sandbox.login_code("o-wangge1"),
                                                   "bind_code": f"{code[:4]} {code[4:]}"})
    assert res.status_code == 201, res.json
    assert res.json["data"]["staff"] == {"display_name": "李网格员", "role": "grid_worker", "role_name": "网格员"}
    assert openid_of(app, "wangge1") == "o-wangge1"
    assert "已绑定微信" in client.get("/staff/wechat").text
    # the code is used up
    refused(api.post("/api/v1/staff-bindings", json={"code": wechat_sandbox.login_code("o-other"),
                                                     "bind_code": code}), 400, "bind_code_invalid")
    assert openid_of(app, "wangge1") == "o-wangge1"

    unbind(client)
    assert openid_of(app, "wangge1") is None
    with app.extensions["xinma.sessionmaker"]() as session:
        actions = session.scalars(select(AuditEvent.action).where(AuditEvent.subject_kind == "staff")
                                  .order_by(AuditEvent.id)).all()
    assert actions == ["unbind_wechat", "bind_wechat", "unbind_wechat"]


@pytest.mark.parametrize("bind_code", ["", "1234567", "123456789", "abcdefgh", "１２３４５６７８", None, 12345678])
def test_malformed_bind_codes_are_refused(app, client, wechat_sandbox, demo, bind_code):
    res = client.post("/api/v1/staff-bindings", json={"code": wechat_sandbox.login_code("o-x"), "bind_code": bind_code})
    refused(res, 400, "bind_code_invalid")


def test_expired_codes_and_taken_openids_change_nothing(app, client, wechat_sandbox, demo):
    staff_sign_in(client, "wangge1")
    unbind(client)
    code = bind_code(client)
    api = app.test_client()
    with app.extensions["xinma.sessionmaker"]() as session:
        row = session.scalar(select(StaffBindCode))
        row.expires_at = row.created_at - dt.timedelta(seconds=1)
        session.commit()
    refused(api.post("/api/v1/staff-bindings", json={"code": wechat_sandbox.login_code("o-1"), "bind_code": code}),
            400, "bind_code_invalid")
    assert openid_of(app, "wangge1") is None

    code = bind_code(client)
    taken = openid_of(app, "shuji1")
    assert taken  # the demo secretary is bound already
    refused(api.post("/api/v1/staff-bindings", json={"code": wechat_sandbox.login_code(taken), "bind_code": code}),
            409, "openid_taken")
    assert openid_of(app, "wangge1") is None
    refused(api.post("/api/v1/staff-bindings", json={"code": "not-a-real-code", "bind_code": code}),
            400, "login_code_invalid")
    refused(api.post("/api/v1/staff-bindings", json={"code": wechat_sandbox.login_code("o-2"), "bind_code": code,
                                                     "staff_id": 1}), 400, "unknown_field")
    assert openid_of(app, "wangge1") is None


@pytest.mark.browser
def test_the_complaint_page_on_a_phone_shows_photos_and_reveals_the_phone(app, reported, browser):
    from tests.browser import assert_fits_phone, new_phone, screenshot
    from tests.conftest import LiveServer

    server = LiveServer(app)
    try:
        phone = new_phone(browser)
        page = phone.new_page()
        page.goto(f"{server.url}/staff/signin")
        page.get_by_label("用户名").fill("wangge1")
        page.get_by_label("密码").fill(PASSWORD)
        with page.expect_navigation():  # signed in before the next page is asked for
            page.get_by_role("button", name="登录").click()
        page.goto(f"{server.url}/triage/complaints/{reported['id']}")
        images = page.locator("#photos img")
        assert images.count() == 2
        # The thumbnails load lazily (after the page's load event): bring them into view, wait until both are
        # done, loaded or failed, then check each really is a picture (the 40×20 test JPEGs, or their thumbnails).
        images.last.scroll_into_view_if_needed()
        page.wait_for_function("() => [...document.querySelectorAll('#photos img')].every(e => e.complete)")
        assert images.evaluate_all("els => els.map(e => e.naturalWidth > 0)") == [True, True]
        assert page.locator("#complaint-phone").inner_text() == "138****5678"
        assert_fits_phone(page)
        screenshot(page, "triage-complaint-photos.png")
        page.locator("summary", has_text="查看完整号码").click()
        page.get_by_label("为什么需要完整号码（会记入日志）").fill("电话约上门时间")
        with page.expect_navigation():
            page.get_by_role("button", name="查看号码").click()
        assert page.locator("#complaint-phone").inner_text() == PHONE
        assert reveals(app) == 1
        phone.close()
    finally:
        server.stop()
