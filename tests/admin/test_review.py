"""The manual review queue: what WeChat's checks left to a person (H5 text it cannot check, photos awaiting review)
is approved or hidden with a reason, audited once, and the decision shows everywhere: the grid worker's queue, the
review pages, public views, who is served a photo."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from models import AuditEvent, Complaint, ComplaintState, QrCode, Staff, Unit
from models.intake import Photo, photo_to_review, publicly_visible
from tests import factories
from tests.council.support import PASSWORD, csrf
from tests.intake.support import auth, jpeg, upload
from tests.intake.support import sign_in as resident_sign_in


@pytest.fixture
def session(app, demo):
    with app.extensions["xinma.sessionmaker"]() as s:
        yield s


@pytest.fixture
def job_runtime(settings_env):
    """Jobs run in this process against the test database and sandbox, as a worker would run them."""
    from web.settings import load_settings
    from workers import runtime

    previous = runtime._runtime
    rt = runtime.install(load_settings(settings_env))
    yield rt
    runtime._runtime = previous


def sign_in(client, username: str) -> None:
    page = client.get("/staff/signin").get_data(as_text=True)
    res = client.post("/staff/signin", data={"username": username, "password": PASSWORD, "csrf_token": csrf(page)})
    assert res.status_code in (302, 303)


def staff_client(app, username: str):
    client = app.test_client()
    sign_in(client, username)
    return client


def h5_complaint(client, scene: str, text: str = "小区门口的垃圾堆了三天") -> int:
    page = client.get(f"/h5/{scene}").get_data(as_text=True)
    res = client.post(f"/h5/{scene}", data={"csrf_token": csrf(page), "category": "其他", "text": text,
                                            "phone": ""})
    assert res.status_code == 303, res.get_data(as_text=True)[:400]
    with client.application.extensions["xinma.sessionmaker"]() as s:
        return s.scalar(select(func.max(Complaint.id)))


def decide(client, page_url: str, action: str, decision: str, reason: str):
    page = client.get(page_url).get_data(as_text=True)
    return client.post(action, data={"csrf_token": csrf(page), "decision": decision, "reason": reason})


def audit_rows(session, kind: str, subject_id: int) -> list[AuditEvent]:
    session.expire_all()
    return list(session.scalars(select(AuditEvent).where(AuditEvent.subject_kind == kind,
                                                         AuditEvent.subject_id == subject_id).order_by(AuditEvent.id)))


def queue_card(page: str, complaint_id: int) -> str:
    return re.search(rf'data-complaint="{complaint_id}">(.*?)</div>\s*</a>', page, re.S).group(1)


def public_ids(session) -> list[int]:
    session.expire_all()
    return list(session.scalars(select(Complaint.id).where(publicly_visible()).order_by(Complaint.id)))


def test_h5_text_waits_for_review_and_approval_clears_it_everywhere(app, client, session, scene, job_runtime):
    from workers.content_checks import check_complaint_content

    cid = h5_complaint(client, scene)
    assert check_complaint_content(cid) == "review"  # no openid: WeChat cannot check it
    worker, admin = staff_client(app, "wangge1"), staff_client(app, "admin")
    assert "内容待核查" in queue_card(worker.get("/triage/").get_data(as_text=True), cid)
    page = admin.get("/admin/review").get_data(as_text=True)
    assert f'data-review-complaint="{cid}"' in page and "网页提交，微信无法审核" in page and "网页提交" in page
    assert f'href="/admin/blocks/new?complaint={cid}" data-block-sender="{cid}">屏蔽此提交人<' in page
    assert cid not in public_ids(session)

    before = len(audit_rows(session, "complaint", cid))
    res = decide(admin, "/admin/review", f"/admin/review/complaints/{cid}", "approve", "内容属实，无不当言论")
    assert res.status_code == 303
    page = admin.get(res.headers["Location"]).get_data(as_text=True)
    assert f'data-review-complaint="{cid}"' not in page and f"已通过：第 {cid} 号反映" in page
    assert "内容待核查" not in queue_card(worker.get("/triage/").get_data(as_text=True), cid)
    assert f'data-review-complaint="{cid}"' not in worker.get("/triage/review").get_data(as_text=True)
    assert cid in public_ids(session)
    complaint = session.get(Complaint, cid)
    assert complaint.state == ComplaintState.awaiting_triage and complaint.content_check == "pass"
    new = audit_rows(session, "complaint", cid)[before:]
    admin_id = session.scalar(select(Staff.id).where(Staff.username == "admin"))
    assert [(e.action, e.actor_id, e.reason, e.data["decision"]) for e in new] == [
        ("review", admin_id, "内容属实，无不当言论", "approve")]


def test_hidden_text_stays_out_of_public_views_and_a_second_review_is_refused(app, client, session, scene,
                                                                              job_runtime):
    from workers.content_checks import check_complaint_content

    cid = h5_complaint(client, scene, "广告：低价办证")
    check_complaint_content(cid)
    admin = staff_client(app, "admin")
    before = len(audit_rows(session, "complaint", cid))
    res = decide(admin, "/admin/review", f"/admin/review/complaints/{cid}", "hide", " ")
    assert res.status_code == 400 and "请填写审核意见（原因）。" in res.get_data(as_text=True)
    res = decide(admin, "/admin/review", f"/admin/review/complaints/{cid}", "publish", "理由")
    assert res.status_code == 400 and "请选择“通过”或“隐藏”。" in res.get_data(as_text=True)
    assert session.get(Complaint, cid).content_check == "review"
    assert len(audit_rows(session, "complaint", cid)) == before

    assert decide(admin, "/admin/review", f"/admin/review/complaints/{cid}", "hide", "广告").status_code == 303
    session.expire_all()
    assert session.get(Complaint, cid).content_check == "hidden" and cid not in public_ids(session)
    res = decide(admin, "/admin/review", f"/admin/review/complaints/{cid}", "approve", "再看一次")
    assert res.status_code == 409 and "已经有人审核过了" in res.get_data(as_text=True)
    assert session.get(Complaint, cid).content_check == "hidden"
    assert [e.data["decision"] for e in audit_rows(session, "complaint", cid) if e.action == "review"] == ["hide"]


def test_a_decided_complaint_can_still_be_reviewed_and_keeps_its_state(app, session):
    grid = session.scalar(select(Unit).where(Unit.name == "梁堂村第一网格"))
    complaint = factories.complaint(session, grid, factories.resident(session), state=ComplaintState.not_deliberable)
    complaint.content_check = "risky"
    session.commit()
    admin = staff_client(app, "admin")
    page = admin.get("/admin/review").get_data(as_text=True)
    assert f'data-review-complaint="{complaint.id}"' in page and "微信判定有风险" in page
    res = decide(admin, "/admin/review", f"/admin/review/complaints/{complaint.id}", "hide", "含人身攻击")
    assert res.status_code == 303
    session.expire_all()
    row = session.get(Complaint, complaint.id)
    assert (row.state, row.content_check) == (ComplaintState.not_deliberable, "hidden")


def resident_photo_complaint(app, client, session, wechat_sandbox, openid: str = "o-review-photo"):
    grid = session.scalar(select(Unit).where(Unit.name == "梁堂村第一网格"))
    scene = session.scalar(select(QrCode.token).where(QrCode.unit_id == grid.id, QrCode.revoked_at.is_(None)))
    token = resident_sign_in(client, wechat_sandbox, openid)
    ids = [upload(client, token, jpeg(color=c)).json["data"]["id"] for c in ((10, 20, 30), (40, 50, 60))]
    res = client.post("/api/v1/complaints", headers=auth(token),
                      json={"scene": scene, "category": "其他", "text": "井盖坏了", "photos": ids})
    assert res.status_code == 201
    for pid in ids:  # as the worker does when WeChat gives no verdict
        photo_to_review(session, session.get(Photo, pid), "no_verdict")
    session.commit()
    return token, res.json["data"]["id"], ids


def test_a_hidden_photo_is_served_to_admins_only_and_an_approved_one_loses_its_mark(app, client, session,
                                                                                    wechat_sandbox):
    token, cid, (hidden, approved) = resident_photo_complaint(app, client, session, wechat_sandbox)
    admin, worker = staff_client(app, "admin"), staff_client(app, "wangge1")
    page = worker.get(f"/triage/complaints/{cid}").get_data(as_text=True)
    assert page.count("待人工审核") == 2
    review = worker.get("/triage/review").get_data(as_text=True)
    assert f'data-review-photo="{hidden}"' in review and f'data-review-photo="{approved}"' in review

    res = decide(worker, "/triage/review", f"/triage/review/photos/{approved}", "approve", "现场照片，无不当内容")
    assert res.status_code == 303
    res = decide(admin, "/admin/review", f"/admin/review/photos/{hidden}", "hide", "照片拍到路人面部")
    assert res.status_code == 303
    page = admin.get("/admin/review").get_data(as_text=True)
    assert "data-review-photo=" not in page and "没有待审核的照片。" in page

    assert admin.get(f"/api/staff/photos/{hidden}").status_code == 200
    assert worker.get(f"/api/staff/photos/{hidden}").status_code == 404
    assert client.get(f"/api/v1/photos/{hidden}", headers=auth(token)).status_code == 404
    assert client.get(f"/api/v1/photos/{approved}", headers=auth(token)).status_code == 200
    shown = client.get(f"/api/v1/complaints/{cid}", headers=auth(token)).json["data"]["photos"]
    assert [p["id"] for p in shown] == [approved]
    page = worker.get(f"/triage/complaints/{cid}").get_data(as_text=True)
    assert "待人工审核" not in page and f'data-photo="{hidden}"' in page  # its thumbnail link 404s for the worker
    worker_id = session.scalar(select(Staff.id).where(Staff.username == "wangge1"))
    decided = [e for e in audit_rows(session, "photo", approved) if e.action == "media_check_decided"]
    assert [(e.actor_id, e.from_state, e.to_state, e.reason) for e in decided] == [
        (worker_id, "review", "pass", "现场照片，无不当内容")]


def test_grid_workers_review_only_in_their_units_and_the_admin_page_is_the_admins(app, client, session,
                                                                                  wechat_sandbox):
    _, cid, (photo, _) = resident_photo_complaint(app, client, session, wechat_sandbox, "o-review-scope")
    session.get(Complaint, cid).content_check = "review"
    session.commit()
    other = staff_client(app, "wangge3")  # 彭城社区's worker
    page = other.get("/triage/review").get_data(as_text=True)
    assert f'data-review-complaint="{cid}"' not in page and "data-review-photo=" not in page
    assert decide(other, "/triage/review", f"/triage/review/complaints/{cid}", "approve", "看过").status_code == 404
    assert decide(other, "/triage/review", f"/triage/review/photos/{photo}", "approve", "看过").status_code == 404
    session.expire_all()
    assert session.get(Complaint, cid).content_check == "review"
    assert session.get(Photo, photo).media_check == "review"
    assert staff_client(app, "shuji1").get("/admin/review").status_code == 404
    assert other.get("/admin/review").status_code == 404
    worker = staff_client(app, "wangge1")
    assert worker.get("/triage/").get_data(as_text=True).count('id="review-link"') == 1
    assert decide(worker, "/triage/review", f"/triage/review/complaints/{cid}", "approve", "看过").status_code == 303
