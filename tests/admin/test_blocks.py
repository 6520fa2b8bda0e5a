"""Blocked submitters: an admin blocks whoever sent a complaint (a WeChat resident, an H5 sender's browser, and its
address when asked) with a reason, for a time or for good; their next complaint is refused before anything is
written, without accusing them; unblocking lets them in again; every step is audited once."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select, update

from models import AuditEvent, Complaint, QrCode, Resident, Staff, Unit
from models.base import CHINA
from models.governance import Block
from tests.council.support import PASSWORD, csrf
from tests.intake.support import auth
from tests.intake.support import sign_in as resident_sign_in

REFUSAL = "暂时无法提交反映。如有急事，请直接联系所在社区或拨打 12345。"


@pytest.fixture
def session(app, demo):
    with app.extensions["xinma.sessionmaker"]() as s:
        yield s


@pytest.fixture
def scene(session) -> str:
    grid = session.scalar(select(Unit).where(Unit.name == "梁堂村第一网格"))
    return session.scalar(select(QrCode.token).where(QrCode.unit_id == grid.id, QrCode.revoked_at.is_(None)))


def staff_client(app, username: str):
    client = app.test_client()
    page = client.get("/staff/signin").get_data(as_text=True)
    res = client.post("/staff/signin", data={"username": username, "password": PASSWORD, "csrf_token": csrf(page)})
    assert res.status_code in (302, 303)
    return client


def submit(client, token: str, scene: str, text: str = "楼道灯坏了"):
    return client.post("/api/v1/complaints", headers=auth(token),
                       json={"scene": scene, "category": "设施维修", "text": text})


def h5_post(client, scene: str, text: str = "小区门口的垃圾堆了三天"):
    page = client.get(f"/h5/{scene}").get_data(as_text=True)
    return client.post(f"/h5/{scene}", data={"csrf_token": csrf(page), "category": "其他", "text": text, "phone": ""})


def block(admin, complaint_id: int, **form):
    page = admin.get(f"/admin/blocks/new?complaint={complaint_id}").get_data(as_text=True)
    return admin.post("/admin/blocks/new", data={"csrf_token": csrf(page), "complaint": complaint_id, **form})


def lift(admin, block_id: int, reason: str):
    page = admin.get("/admin/blocks").get_data(as_text=True)
    return admin.post(f"/admin/blocks/{block_id}/lift", data={"csrf_token": csrf(page), "reason": reason})


def rows(session) -> tuple[int, int, int]:
    session.expire_all()
    return tuple(session.scalar(select(func.count()).select_from(m)) for m in (Complaint, Resident, AuditEvent))


def audit_of(session, action: str) -> list[AuditEvent]:
    session.expire_all()
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def test_a_blocked_resident_is_refused_without_anything_stored_until_unblocked(app, client, session, scene,
                                                                              wechat_sandbox):
    token = resident_sign_in(client, wechat_sandbox, "o-flooder")
    first = submit(client, token, scene)
    assert first.status_code == 201
    cid = first.json["data"]["id"]
    worker, admin = staff_client(app, "wangge1"), staff_client(app, "admin")
    assert 'id="block-sender"' not in worker.get(f"/triage/complaints/{cid}").get_data(as_text=True)
    page = admin.get(f"/triage/complaints/{cid}").get_data(as_text=True)
    assert re.search(rf'id="block-sender" href="/admin/blocks/new\?complaint={cid}">屏蔽此提交人<', page)

    res = block(admin, cid, reason="一小时内重复提交广告 30 余条", until="")
    assert res.status_code == 303
    listing = admin.get(res.headers["Location"]).get_data(as_text=True)
    assert 'data-active="yes"' in listing and "永久" in listing and "一小时内重复提交广告 30 余条" in listing
    assert re.search(r'id="block-active">1<', listing)

    before = rows(session)
    refused = submit(client, token, scene, "又一条")
    assert refused.status_code == 403
    assert refused.json["error"] == {"code": "submitter_blocked", "message": REFUSAL}
    assert rows(session) == before
    other = resident_sign_in(client, wechat_sandbox, "o-neighbour")
    assert submit(client, other, scene).status_code == 201  # only this resident

    block_id = session.scalar(select(Block.id))
    assert lift(admin, block_id, "已电话沟通，承诺不再发广告").status_code == 303
    listing = admin.get("/admin/blocks").get_data(as_text=True)
    assert "已解除" in listing and "已电话沟通，承诺不再发广告" in listing
    assert submit(client, token, scene, "这次是真的问题").status_code == 201
    admin_id = session.scalar(select(Staff.id).where(Staff.username == "admin"))
    assert [(e.actor_id, e.reason, e.data["complaint_id"]) for e in audit_of(session, "block")] == [
        (admin_id, "一小时内重复提交广告 30 余条", cid)]
    assert [(e.actor_id, e.reason) for e in audit_of(session, "unblock")] == [(admin_id, "已电话沟通，承诺不再发广告")]
    assert audit_of(session, "admin.block_new") == [] and audit_of(session, "admin.block_lift") == []


def test_an_h5_sender_is_blocked_by_their_browser_and_by_address_when_asked(app, session, scene):
    sender = app.test_client()
    assert h5_post(sender, scene).status_code == 303
    cid = session.scalar(select(func.max(Complaint.id)))
    admin = staff_client(app, "admin")
    form = admin.get(f"/admin/blocks/new?complaint={cid}").get_data(as_text=True)
    assert "同时屏蔽其网络地址" in form
    assert block(admin, cid, reason="重复提交无关内容", until="").status_code == 303

    before = rows(session)
    res = h5_post(sender, scene, "再来一条")
    assert res.status_code == 403
    assert re.search(r'data-code="submitter_blocked">([^<]+)<', res.get_data(as_text=True)).group(1) == REFUSAL
    assert rows(session) == before
    neighbour = app.test_client()  # another browser on the same network
    assert h5_post(neighbour, scene).status_code == 303

    res = block(admin, cid, reason="换了浏览器继续提交", until="", address="1")
    assert res.status_code == 409 and "这位提交人已被屏蔽。" in res.get_data(as_text=True)
    assert lift(admin, session.scalar(select(Block.id)), "改为连网络地址一起屏蔽").status_code == 303
    assert block(admin, cid, reason="换了浏览器继续提交", until="", address="1").status_code == 303
    before = rows(session)
    assert h5_post(app.test_client(), scene).status_code == 403
    assert rows(session) == before
    assert "含网络地址" in admin.get("/admin/blocks").get_data(as_text=True)


def test_a_block_until_a_day_ends_then(app, client, session, scene, wechat_sandbox):
    token = resident_sign_in(client, wechat_sandbox, "o-weekly")
    cid = submit(client, token, scene).json["data"]["id"]
    admin = staff_client(app, "admin")
    tomorrow = (dt.datetime.now(CHINA).date() + dt.timedelta(days=1))
    assert block(admin, cid, reason="冷静一下", until=tomorrow.isoformat()).status_code == 303
    session.expire_all()
    ends = session.scalar(select(Block.ends_at)).astimezone(CHINA)
    assert (ends.date(), ends.hour, ends.minute) == (tomorrow + dt.timedelta(days=1), 0, 0)
    assert submit(client, token, scene).status_code == 403
    session.execute(update(Block).values(ends_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
    session.commit()
    assert submit(client, token, scene).status_code == 201
    listing = admin.get("/admin/blocks").get_data(as_text=True)
    assert "已到期" in listing and 'data-active="no"' in listing and "解除屏蔽</button>" not in listing


@pytest.mark.parametrize(("form", "status", "message"), [
    ({"reason": " ", "until": ""}, 400, "请填写屏蔽或解除屏蔽的原因。"),
    ({"reason": "刷屏", "until": "2020-01-01"}, 400, "屏蔽截止时间必须晚于现在。"),
    ({"reason": "刷屏", "until": "下周"}, 400, "屏蔽截止日期格式不正确。"),
])
def test_a_bad_block_form_is_refused_and_changes_nothing(app, client, session, scene, wechat_sandbox, form, status,
                                                        message):
    token = resident_sign_in(client, wechat_sandbox, "o-bad-form")
    cid = submit(client, token, scene).json["data"]["id"]
    admin = staff_client(app, "admin")
    before = rows(session)
    res = block(admin, cid, **form)
    assert res.status_code == status
    assert re.search(r'id="block-error">([^<]+)<', res.get_data(as_text=True)).group(1) == message
    assert rows(session) == before and session.scalar(select(func.count()).select_from(Block)) == 0


def test_only_admins_reach_the_blocks(app, client, session, scene, wechat_sandbox):
    token = resident_sign_in(client, wechat_sandbox, "o-someone")
    cid = submit(client, token, scene).json["data"]["id"]
    for username in ("wangge1", "shuji1"):
        other = staff_client(app, username)
        assert other.get("/admin/blocks").status_code == 404
        assert other.get(f"/admin/blocks/new?complaint={cid}").status_code == 404
    admin = staff_client(app, "admin")
    assert admin.get("/admin/blocks/new?complaint=999999").status_code == 404
    assert admin.get("/admin/blocks").status_code == 200
    assert app.test_client().get("/admin/blocks").status_code == 302  # to the sign-in page
