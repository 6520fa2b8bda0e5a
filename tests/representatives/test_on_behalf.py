"""Entry on behalf (代填): a grid worker or a representative enters what a resident told them; it enters triage like
any complaint, names who entered it and how it was heard, keeps the resident's name and phone masked, and sends no
WeChat message to anyone."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from models import AuditEvent, Complaint, Notification, Resident
from models.intake import ComplaintContact
from models.representatives import OnBehalfContact
from tests.representatives.support import appointed, post, staff_sign_in, unit_named


def _unit(app, name: str) -> int:
    with app.extensions["xinma.sessionmaker"]() as session:
        return unit_named(session, name).id


def _enter(client, **form):
    page = client.get("/triage/on-behalf")
    assert page.status_code == 200
    return post(client, "/triage/on-behalf", form, page.text)


def _counts(app) -> tuple[int, ...]:
    with app.extensions["xinma.sessionmaker"]() as session:
        return tuple(session.scalar(select(func.count()).select_from(m))
                     for m in (Complaint, Resident, AuditEvent, Notification, ComplaintContact, OnBehalfContact))


def _latest(app) -> Complaint:
    with app.extensions["xinma.sessionmaker"]() as session:
        row = session.scalar(select(Complaint).order_by(Complaint.id.desc()))
        session.expunge(row)
        return row


def test_a_grid_worker_enters_a_home_visit_and_it_reaches_triage_masked(app, client, demo, job_runtime):
    from workers.content_checks import check_complaint_content

    staff_sign_in(client, "wangge1")
    res = _enter(client, unit_id=_unit(app, "梁堂村第二网格"), heard_via="visit", category="设施维修",
                 text="老人家里的自来水管冻裂了", resident_name="张大爷", phone="13912345678")
    assert res.status_code == 303
    done = client.get(res.headers["Location"]).text
    row = _latest(app)
    assert f"已提交第 {row.id} 号反映" in done
    assert (row.unit_id, row.heard_via, row.representative_id, row.state.value) == \
        (_unit(app, "梁堂村第二网格"), "visit", None, "submitted")
    with app.extensions["xinma.sessionmaker"]() as session:
        resident = session.get(Resident, row.resident_id)
        assert (resident.openid, resident.channel) == (None, "on_behalf")
        assert session.scalars(select(Notification.openid)).all() == [None]  # the receipt goes nowhere
        event = session.scalar(select(AuditEvent).where(AuditEvent.subject_id == row.id,
                                                        AuditEvent.action == "submit"))
        assert (event.actor_kind, event.data["heard_via"]) == ("staff", "visit")
    check_complaint_content(row.id)  # no openid: like an H5 report, its text waits for a person's review
    queue = client.get("/triage/").text
    card = re.search(rf'<div class="card" data-complaint="{row.id}">(.*?)</a>', queue, re.S).group(1)
    assert "李网格员 走访代填" in card
    page = client.get(f"/triage/complaints/{row.id}").text
    assert "139****5678" in page and "13912345678" not in page
    assert "居民：张**" in page and "张大爷" not in page
    revealed = post(client, f"/triage/complaints/{row.id}/phone", {"reason": "约时间再上门"}, page)
    assert "13912345678" in revealed.text and "居民：张大爷" in revealed.text
    with app.extensions["xinma.sessionmaker"]() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)
                              .where(AuditEvent.action == "reveal_phone")) == 1


def test_a_representative_s_entry_names_them_in_the_queue(app, client, demo):
    appointed(app, name="张三", account="daibiao1")
    staff_sign_in(client, "daibiao1")
    assert client.get("/admin/representatives/me").status_code == 302
    res = _enter(client, unit_id=_unit(app, "梁堂村第一网格"), heard_via="reception", category="停车",
                 text="家属院里外来车辆乱停")
    assert res.status_code == 303
    row = _latest(app)
    assert row.representative_id is not None and row.heard_via == "reception"
    assert client.get(f"/triage/complaints/{row.id}").status_code == 404  # a representative does not triage
    worker = app.test_client()
    staff_sign_in(worker, "wangge1")
    queue = worker.get("/triage/?state=submitted").text
    assert "经 议政代表 张三 候访/接访代填" in queue
    log = client.get(f"/admin/representatives/{row.representative_id}/activities").text
    assert f'data-complaint="{row.id}"' in log and "候访/接访代填" in log


@pytest.mark.parametrize("form, message", [
    ({"heard_via": "rumour"}, "请选择是怎样听到的"),
    ({"category": "天气"}, "请选择一个问题类别"),
    ({"text": "  "}, "请描述您遇到的问题"),
    ({"phone": "12345"}, "请填写 11 位手机号码"),
    ({"resident_name": "长" * 33}, "居民称呼不能超过 32 字"),
    ({"unit": "汉王村第一网格"}, "请选择您负责的单位"),
])
def test_a_bad_entry_is_refused_and_writes_nothing(app, client, demo, form, message):
    staff_sign_in(client, "wangge1")
    data = {"unit_id": _unit(app, form.pop("unit", "梁堂村第一网格")), "heard_via": "call", "category": "停车",
            "text": "电话反映小区停车难", **form}
    before = _counts(app)
    res = _enter(client, **data)
    assert res.status_code == 400 and message in res.text
    assert _counts(app) == before


def test_a_secretary_cannot_enter_on_behalf(app, client, demo):
    staff_sign_in(client, "shuji1")
    assert client.get("/triage/on-behalf").status_code == 404


def test_a_representative_signing_in_lands_on_entry_on_behalf(app, client, demo):
    appointed(app, name="张三", account="daibiao1")
    page = client.get("/staff/signin")
    res = post(client, "/staff/signin", {"username": "daibiao1", "password": "xinma-demo"}, page.text)
    assert res.status_code == 302
    home = client.get(res.headers["Location"], follow_redirects=True)
    assert home.status_code == 200 and "代居民反映" in home.text and "我的履职记录" in home.text


def test_a_known_resident_gets_the_matter_and_hears_of_it_on_wechat(app, client, demo, scene, wechat_sandbox):
    from tests.intake.support import auth, sign_in

    phone = app.test_client()
    token = sign_in(phone, wechat_sandbox, "o-grandma")
    earlier = phone.post("/api/v1/complaints", headers=auth(token),
                         json={"scene": scene, "category": "停车", "text": "楼下车位被占"}).json["data"]["id"]
    staff_sign_in(client, "wangge1")
    res = _enter(client, unit_id=_unit(app, "梁堂村第一网格"), heard_via="call", category="设施维修",
                 text="电话说楼道扶手松了", known_complaint=f"第{earlier}号")
    assert res.status_code == 303
    row = _latest(app)
    with app.extensions["xinma.sessionmaker"]() as session:
        assert session.get(Resident, row.resident_id).openid == "o-grandma"
        receipt = session.scalar(select(Notification).where(Notification.event == "complaint_received")
                                 .order_by(Notification.id.desc()))
        assert (receipt.openid, receipt.params["complaint_id"]) == ("o-grandma", row.id)
    mine = phone.get("/api/v1/complaints", headers=auth(token)).json["data"]
    assert [c["id"] for c in mine] == [row.id, earlier]


@pytest.mark.parametrize("number", ["99999", "abc"])
def test_an_unknown_or_foreign_complaint_number_is_refused(app, client, demo, number):
    staff_sign_in(client, "wangge1")
    before = _counts(app)
    res = _enter(client, unit_id=_unit(app, "梁堂村第一网格"), heard_via="call", category="停车", text="停车难",
                 known_complaint=number)
    assert res.status_code == 400 and "未找到这个反映编号" in res.text
    assert _counts(app) == before


def test_a_complaint_number_outside_the_worker_s_units_is_refused(app, client, demo, wechat_sandbox):
    from models import QrCode
    from tests.intake.support import auth, sign_in

    with app.extensions["xinma.sessionmaker"]() as session:
        foreign = session.scalar(select(QrCode.token).where(QrCode.unit_id == unit_named(session, "汉王村第一网格").id,
                                                            QrCode.revoked_at.is_(None)))
    phone = app.test_client()
    token = sign_in(phone, wechat_sandbox, "o-hanwang")
    number = phone.post("/api/v1/complaints", headers=auth(token),
                        json={"scene": foreign, "category": "停车", "text": "停车难"}).json["data"]["id"]
    staff_sign_in(client, "wangge1")  # 梁堂村's grids only
    res = _enter(client, unit_id=_unit(app, "梁堂村第一网格"), heard_via="call", category="停车", text="停车难",
                 known_complaint=str(number))
    assert res.status_code == 400 and "未找到这个反映编号" in res.text
