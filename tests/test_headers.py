"""Every page and API answer forbids framing and referrers: a staff form cannot be framed and clicked through, a
private tracking link does not leave in a Referer header."""

from __future__ import annotations

import re

from flask import Response

from web.auth import protect_response


def protected(response) -> None:
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_staff_pages_cannot_be_framed(client, demo):
    from qr.demo import DEMO_PASSWORD

    signin = client.get("/staff/signin")
    protected(signin)
    client.post("/staff/signin", data={"csrf_token": csrf(signin.text), "username": "admin", "password": DEMO_PASSWORD})
    page = client.get("/admin/units")
    assert page.status_code == 200 and "单位" in page.text
    protected(page)


def test_the_h5_tracking_page_sends_no_referrer(client, scene):
    form = client.get(f"/h5/{scene}")
    protected(form)
    sent = client.post(f"/h5/{scene}", data={"csrf_token": csrf(form.text), "category": "设施维修",
                                             "text": "村口路灯坏了半个月"})
    assert sent.status_code == 303 and "/h5/track/" in sent.headers["Location"]
    protected(sent)
    track = client.get(sent.headers["Location"])
    assert track.status_code == 200 and "村口路灯坏了半个月" in track.text
    protected(track)


def test_api_answers_and_errors_carry_the_headers(client, scene):
    found = client.get(f"/api/v1/scenes/{scene}")
    assert found.status_code == 200 and found.json["ok"] is True
    protected(found)
    missing = client.get("/api/v1/scenes/no-such-code")
    assert missing.status_code == 404 and missing.json["error"]["code"] == "scene_unknown"
    protected(missing)


def test_a_policy_set_by_the_view_keeps_its_parts():
    response = Response(b"x", mimetype="image/png")
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    policy = protect_response(response).headers["Content-Security-Policy"]
    assert policy == "default-src 'none'; sandbox; frame-ancestors 'none'"
