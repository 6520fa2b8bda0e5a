"""The admin's home: every admin page one tap away, only for admins, with the figures that call for action."""

from __future__ import annotations

import dataclasses
import re

import pytest

from tests.admin.test_staff import sign_in

ADMIN_PAGES = ["/admin/staff", "/admin/rooms", "/admin/cadence", "/admin/units", "/admin/categories",
               "/admin/calendar", "/admin/review", "/admin/audit", "/admin/blocks", "/admin/representatives",
               "/admin/legal", "/staff/rules", "/staff/invitations", "/ops/", "/council/stats", "/council/ledger",
               "/council/hotspots"]


def test_the_admin_home_links_every_admin_page(app, demo):
    client = app.test_client()
    assert sign_in(client, "admin").headers["Location"] == "/admin/"
    page = client.get("/admin/").get_data(as_text=True)
    links = re.findall(r'<a class="row" href="([^"]+)"', page)
    assert sorted(links) == sorted(ADMIN_PAGES)
    assert '<strong id="staff-active">7</strong>' in page
    assert "public-url-warning" not in page  # the tests' public address is a real host name


@pytest.mark.parametrize("username", ["wangge1", "shuji1"])
def test_other_roles_do_not_reach_the_admin_home(app, demo, username):
    client = app.test_client()
    sign_in(client, username)
    assert client.get("/admin/").status_code == 404
    assert app.test_client().get("/admin/").headers["Location"].startswith("/staff/signin")


@pytest.mark.parametrize("public_url", ["http://127.0.0.1:8000", "http://localhost:8000", ""])
def test_the_admin_home_warns_while_posters_would_carry_a_local_address(app, demo, public_url):
    app.config["XINMA"] = dataclasses.replace(app.config["XINMA"], public_url=public_url)
    client = app.test_client()
    sign_in(client, "admin")
    page = client.get("/admin/").get_data(as_text=True)
    assert "海报上的二维码在居民手机上打不开" in page
