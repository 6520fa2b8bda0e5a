"""A representative's personal code (连心码): its card and posters decode, with an independent reader, to a link
whose submission through the real API lands in the unit's triage queue naming the representative."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from intake.openapi import openapi_document
from models import Complaint
from tests.intake.support import auth, sign_in
from tests.representatives.support import (
    PUBLIC_URL,
    appointed,
    decode_qr,
    personal_token,
    post,
    staff_sign_in,
)

pytest.importorskip("zxingcpp")


def _scene_by_link(client, link: str):
    res = client.get("/api/v1/scenes", query_string={"q": link})
    assert res.status_code == 200, res.json
    return res


@pytest.mark.parametrize("path", ["card.png", "poster-A4.png", "poster-A5.png", "qr.png"])
def test_the_card_and_posters_carry_the_representative_s_link(app, client, demo, path):
    rep_id = appointed(app)
    staff_sign_in(client, "shuji1")
    res = client.get(f"/admin/representatives/{rep_id}/{path}")
    assert res.status_code == 200 and res.mimetype == "image/png"
    assert decode_qr(res.data) == [f"{PUBLIC_URL}/q/{personal_token(app, rep_id)}"]


def test_a_scan_of_the_card_reaches_the_unit_s_queue_naming_the_representative(app, client, demo, wechat_sandbox,
                                                                             job_runtime):
    from workers.content_checks import check_complaint_content

    rep_id = appointed(app, name="张三")
    staff_sign_in(client, "shuji1")
    [link] = decode_qr(client.get(f"/admin/representatives/{rep_id}/card.png").data)

    phone = app.test_client()  # the resident's mini-program, handed the link as WeChat hands it (q)
    scene = _scene_by_link(phone, link)
    openapi = __import__("schemathesis").openapi.from_dict(openapi_document())
    openapi["/scenes"]["GET"].validate_response(scene)
    data = scene.json["data"]
    assert data["unit"]["name"] == "梁堂村第一网格"
    assert data["representative"] == {"name": "张三", "kind": "representative", "kind_label": "议政代表"}
    token = sign_in(phone, wechat_sandbox, "o-elder")
    res = phone.post("/api/v1/complaints", headers=auth(token),
                     json={"scene": data["scene"], "category": "环境污染", "text": "家属院门口垃圾堆了三天"})
    assert res.status_code == 201, res.json
    cid = res.json["data"]["id"]
    assert check_complaint_content(cid) == "pass"
    with app.extensions["xinma.sessionmaker"]() as session:
        row = session.get(Complaint, cid)
        assert (row.state.value, row.representative_id, row.entered_by_id, row.unit.name) == \
            ("awaiting_triage", rep_id, None, "梁堂村第一网格")

    worker = app.test_client()
    staff_sign_in(worker, "wangge1")
    queue = worker.get("/triage/").text
    card = re.search(rf'<div class="card" data-complaint="{cid}">(.*?)</a>', queue, re.S).group(1)
    assert "经 议政代表 张三 的连心码" in card
    assert "经 议政代表 张三 的连心码" in worker.get(f"/triage/complaints/{cid}").text
    activities = client.get(f"/admin/representatives/{rep_id}/activities").text
    assert f'data-complaint="{cid}"' in activities and "居民扫连心码" in activities


def test_a_rotated_code_stops_and_the_new_one_works(app, client, demo):
    rep_id = appointed(app)
    old = personal_token(app, rep_id)
    staff_sign_in(client, "shuji1")
    page = client.get(f"/admin/representatives/{rep_id}")
    assert post(client, f"/admin/representatives/{rep_id}/code", {}, page.text).status_code == 303
    new = personal_token(app, rep_id)
    assert new != old and new.startswith("p~")
    res = client.get(f"/api/v1/scenes/{old}")
    assert res.status_code == 410 and res.json["error"]["code"] == "scene_revoked"
    assert client.get(f"/api/v1/scenes/{new}").json["data"]["representative"]["name"] == "张三"


def test_outside_wechat_the_code_opens_the_h5_page_and_its_report_names_the_representative(app, client, demo):
    rep_id = appointed(app, name="李梅", kind="liaison")
    token = personal_token(app, rep_id)
    landing = client.get(f"/q/{token}")
    assert landing.status_code == 302 and landing.headers["Location"].endswith(f"/h5/{token}")
    page = client.get(f"/h5/{token}")
    assert page.status_code == 200 and "梁堂村第一网格" in page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    res = client.post(f"/h5/{token}", data={"category": "设施维修", "text": "路灯不亮", "phone": "",
                                             "csrf_token": csrf})
    assert res.status_code == 303, res.text[:300]
    with app.extensions["xinma.sessionmaker"]() as session:
        row = session.scalar(select(Complaint).order_by(Complaint.id.desc()))
        assert (row.representative_id, row.unit.name, row.text) == (rep_id, "梁堂村第一网格", "路灯不亮")


def test_an_unknown_personal_token_is_refused_like_an_unknown_unit_code(client, demo):
    res = client.get("/api/v1/scenes/p~nosuchtokenxxxxxxxxxxxx")
    assert res.status_code == 404 and res.json["error"]["code"] == "scene_unknown"
    assert client.get("/q/p~nosuchtokenxxxxxxxxxxxx").status_code == 404


def test_a_representative_downloads_their_own_card_and_no_one_else_s(app, client, demo):
    mine = appointed(app, name="张三", account="daibiao1")
    other = appointed(app, name="王五", unit_name="汉王村第一网格")
    staff_sign_in(client, "daibiao1")
    page = client.get(f"/admin/representatives/{mine}/activities").text
    assert f'href="/admin/representatives/{mine}/card.png"' in page
    card = client.get(f"/admin/representatives/{mine}/card.png")
    assert decode_qr(card.data) == [f"{PUBLIC_URL}/q/{personal_token(app, mine)}"]
    assert client.get(f"/admin/representatives/{other}/card.png").status_code == 404
