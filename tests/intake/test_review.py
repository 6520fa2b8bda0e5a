"""Content checks always end somewhere a person sees: WeChat errors, images it cannot read, verdicts that never come."""

from __future__ import annotations

import datetime as dt
import io
import re
import time

import requests
from PIL import Image
from sqlalchemy import select

from models import AuditEvent, Complaint, utcnow
from models.intake import Photo
from tests.conftest import wait_for

from .support import auth, jpeg, sign_in, upload

PASSWORD = "xinma-demo"


def photo_of(app, pid: int) -> Photo:
    with app.extensions["xinma.sessionmaker"]() as session:
        return session.get(Photo, pid)


def review_notes(app, kind: str, subject_id: int) -> list[dict]:
    with app.extensions["xinma.sessionmaker"]() as session:
        return list(session.scalars(select(AuditEvent.data).where(
            AuditEvent.subject_kind == kind, AuditEvent.subject_id == subject_id,
            AuditEvent.action.in_(("media_check_review", "accept"))).order_by(AuditEvent.id)))


def complaint_with(client, token, scene, text, photos=()) -> int:
    res = client.post("/api/v1/complaints", headers=auth(token),
                      json={"scene": scene, "category": "其他", "text": text, "photos": list(photos)})
    assert res.status_code == 201, res.json
    return res.json["data"]["id"]


def staff_sign_in(client, username: str = "wangge1") -> None:
    page = client.get("/staff/signin")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    res = client.post("/staff/signin", data={"username": username, "password": PASSWORD, "csrf_token": csrf})
    assert res.status_code == 302, res.text[:300]


def test_a_photo_wechat_refuses_to_check_goes_to_staff_review_with_the_errcode(
        client, wechat_sandbox, app, scene, job_runtime):
    from workers.intake_jobs import process_photo

    token = sign_in(client, wechat_sandbox)
    refused, down = (upload(client, token, jpeg(color=c)).json["data"]["id"] for c in ((1, 2, 3), (4, 5, 6)))
    wechat_sandbox.fault("media_check", "errcode", 40003)  # invalid openid: asking again will not help
    assert process_photo(refused) == "review"
    assert photo_of(app, refused).media_check == "review"
    assert review_notes(app, "photo", refused) == [{"unchecked": "wechat_error", "errcode": 40003}]
    assert process_photo(refused) == "review"  # run again (a retry, a restart): not asked again, noted once
    assert len(review_notes(app, "photo", refused)) == 1

    wechat_sandbox.fault("media_check", "http_500", count=None)  # outside RQ this run is the last attempt
    assert process_photo(down) == "review"
    assert review_notes(app, "photo", down) == [{"unchecked": "wechat_unreachable"}]
    checks = wechat_sandbox.control("GET", "/_sandbox/media_checks")["media_checks"]
    assert checks == []  # WeChat took neither: nothing is waiting for a verdict that cannot come

    # both are on the staff's review page once they belong to a complaint
    cid = complaint_with(client, token, scene, "小区门口的垃圾堆了三天", [refused, down])
    staff = app.test_client()
    staff_sign_in(staff)
    page = staff.get("/triage/review").text
    assert re.findall(r'data-review-photo="(\d+)"', page) == [str(refused), str(down)]
    assert "微信审核接口报错（错误码 40003）" in page and "微信暂不可用，多次重试未果" in page
    assert f"第 {cid} 号反映" in page


def test_a_webp_photo_reaches_wechat_as_jpeg(client, wechat_sandbox, app, demo, job_runtime):
    from workers.intake_jobs import process_photo

    token = sign_in(client, wechat_sandbox)
    webp = io.BytesIO()
    Image.new("RGBA", (60, 40), (0, 120, 0, 128)).save(webp, "WEBP")
    pid = upload(client, token, webp.getvalue(), filename="a.webp", content_type="image/webp").json["data"]["id"]
    assert process_photo(pid) == "submitted"
    url = wechat_sandbox.control("GET", "/_sandbox/media_checks")["media_checks"][0]["media_url"]
    fetched = client.get(url.removeprefix("http://xinma.test"))
    assert fetched.status_code == 200 and fetched.headers["Content-Type"] == "image/jpeg"
    with Image.open(io.BytesIO(fetched.data)) as image:
        assert (image.format, image.size) == ("JPEG", (60, 40))
    assert photo_of(app, pid).content_type == "image/webp"  # the resident's photo itself is kept as sent


def test_a_photo_without_a_verdict_35_minutes_after_its_check_goes_to_review(
        client, wechat_sandbox, app, demo, job_runtime):
    from workers.intake_jobs import process_photo
    from workers.sweep import sweep

    token = sign_in(client, wechat_sandbox)
    waiting, judged = (upload(client, token, jpeg(color=c)).json["data"]["id"] for c in ((9, 9, 9), (8, 8, 8)))
    assert process_photo(waiting) == process_photo(judged) == "submitted"
    with app.extensions["xinma.sessionmaker"]() as session:
        session.get(Photo, judged).media_check = "pass"  # its verdict came (as the push would write it)
        session.commit()
    asked = utcnow()
    assert sweep(now=asked + dt.timedelta(minutes=34))["photos_to_review"] == 0
    assert photo_of(app, waiting).media_check is None  # WeChat promises a verdict within 30 minutes
    assert sweep(now=asked + dt.timedelta(minutes=36))["photos_to_review"] == 1
    assert (photo_of(app, waiting).media_check, photo_of(app, judged).media_check) == ("review", "pass")
    assert review_notes(app, "photo", waiting) == [{"unchecked": "no_verdict"}]
    assert sweep(now=asked + dt.timedelta(minutes=60))["photos_to_review"] == 0  # once


def state_seen(base: str, token: str, cid: int) -> str:
    """The complaint's state as its resident's list shows it."""
    mine = requests.get(f"{base}/api/v1/complaints", headers=auth(token), timeout=10).json()["data"]
    return next(c["state"] for c in mine if c["id"] == cid)


def test_a_complaint_whose_text_check_errors_is_in_manual_review_within_a_minute(
        live_app, workers, wechat_sandbox, scene, db):
    """A real worker and the sandbox answering msgSecCheck with errors retrying cannot fix."""
    base = live_app.url
    login = requests.post(f"{base}/api/v1/sessions", json={"code": wechat_sandbox.login_code("o-err")}, timeout=10)
    token = login.json()["data"]["token"]
    ids = {}
    workers.start()
    for errcode in (40003, 44002, 47001):
        wechat_sandbox.fault("sec_check", "errcode", errcode)
        start = time.monotonic()
        res = requests.post(f"{base}/api/v1/complaints", headers=auth(token), timeout=10,
                            json={"scene": scene, "category": "其他", "text": f"楼道堆放杂物（{errcode}）"})
        assert res.status_code == 201, res.text
        cid = res.json()["data"]["id"]
        wait_for(lambda cid=cid: state_seen(base, token, cid) == "awaiting_triage",
                 timeout=60, what=f"the complaint checked with errcode {errcode} to reach triage")
        ids[errcode] = (cid, time.monotonic() - start)
    assert all(seconds < 60 for _, seconds in ids.values()), ids
    assert "sec_check" in str(wechat_sandbox.control("GET", "/_sandbox/calls"))

    staff = requests.Session()
    page = staff.get(f"{base}/staff/signin", timeout=10)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    staff.post(f"{base}/staff/signin", data={"username": "wangge1", "password": PASSWORD, "csrf_token": csrf},
               timeout=10)
    queue = staff.get(f"{base}/triage/", timeout=10).text
    assert 'href="/triage/review"' in queue
    review = staff.get(f"{base}/triage/review", timeout=10).text
    assert re.findall(r'data-review-complaint="(\d+)"', review) == [str(cid) for cid, _ in ids.values()]
    for errcode in ids:
        assert f"微信审核接口报错（错误码 {errcode}）" in review
    rows = db.scalars(select(Complaint).where(Complaint.id.in_([c for c, _ in ids.values()]))).all()
    assert {(r.state.value, r.content_check) for r in rows} == {("awaiting_triage", "review")}
