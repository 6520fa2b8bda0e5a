"""Actions that break something in the world ask first: rotating a unit's code (the poster on the wall stops
working); posters carrying a loopback or unset public address warn on every poster page and are not exported
unless forced."""

from __future__ import annotations

import dataclasses
import io
import re
import zipfile

import pytest
from sqlalchemy import select

from models import QrCode, Unit
from qr import services
from tests.admin.test_staff import csrf, sign_in


@pytest.fixture
def admin(app, demo):
    client = app.test_client()
    sign_in(client, "admin")
    return client


def liangtang(db) -> Unit:
    return db.scalar(select(Unit).where(Unit.name == "梁堂村"))


def test_rotating_a_code_asks_first_and_says_the_poster_on_the_wall_stops_working(admin, db, client):
    unit = liangtang(db)
    old = services.current_code(db, unit).token
    page = admin.get(f"/admin/units/{unit.id}").get_data(as_text=True)
    assert f'href="/admin/units/{unit.id}/rotate"' in page and "更换二维码…" in page
    assert f'action="/admin/units/{unit.id}/rotate"' not in page  # no one-click rotation on the unit page
    asked = admin.get(f"/admin/units/{unit.id}/rotate").get_data(as_text=True)
    assert "墙上现有的海报会立即失效" in asked and "确认更换，旧海报作废" in asked and "不更换，返回" in asked
    token = csrf(asked)
    again = admin.post(f"/admin/units/{unit.id}/rotate", data={"csrf_token": token, "confirm": "no"})
    assert again.status_code == 200 and "墙上现有的海报会立即失效" in again.get_data(as_text=True)
    db.expire_all()
    assert services.current_code(db, unit).token == old and client.get(f"/q/{old}").status_code == 302
    done = admin.post(f"/admin/units/{unit.id}/rotate", data={"csrf_token": token, "confirm": "yes"})
    assert done.status_code == 303
    assert "已更换二维码" in admin.get(done.headers["Location"]).get_data(as_text=True)
    db.expire_all()
    assert services.current_code(db, unit).token != old and client.get(f"/q/{old}").status_code == 410
    assert len(db.scalars(select(QrCode).where(QrCode.unit_id == unit.id)).all()) == 2


def test_only_admins_rotate(app, demo, db):
    unit = liangtang(db)
    grid = app.test_client()
    sign_in(grid, "wangge1")
    assert grid.get(f"/admin/units/{unit.id}/rotate").status_code == 404
    token = csrf(grid.get("/triage/").get_data(as_text=True))
    assert grid.post(f"/admin/units/{unit.id}/rotate", data={"csrf_token": token, "confirm": "yes"}).status_code == 404


@pytest.mark.parametrize("public_url", ["http://127.0.0.1:8000", "http://localhost:8000/", "http://[::1]:8000", ""])
def test_a_local_address_warns_on_every_poster_page_and_refuses_exports_unless_forced(app, admin, db, public_url):
    app.config["XINMA"] = dataclasses.replace(app.config["XINMA"], public_url=public_url)
    unit = liangtang(db)
    for path in ("/admin/units", f"/admin/units/{unit.id}"):
        page = admin.get(path).get_data(as_text=True)
        assert 'id="public-url-warning"' in page and "海报上的二维码在居民手机上打不开" in page, path
    for path in (f"/admin/units/{unit.id}/export.zip", f"/admin/units/{unit.id}/export.pdf?size=A5",
                 f"/admin/units/{unit.id}/poster-A4.png"):
        refused = admin.get(path)
        text = refused.get_data(as_text=True)
        assert refused.status_code == 409 and 'data-code="poster_address_loopback"' in text, path
        assert "未导出海报" in text
        forced = re.search(r'id="force-export" href="([^"]+)"', text).group(1).replace("&amp;", "&")
        assert "force=1" in forced and forced.startswith(path.split("?")[0])
        with admin.get(forced) as res:
            assert res.status_code == 200 and res.headers["Content-Disposition"].startswith("attachment"), path
    with admin.get(f"/admin/units/{unit.id}/export.zip?force=1") as res:
        with zipfile.ZipFile(io.BytesIO(res.data)) as archive:
            assert len(archive.namelist()) == 3


def test_a_public_address_exports_without_a_warning(admin, db):
    unit = liangtang(db)
    assert "public-url-warning" not in admin.get(f"/admin/units/{unit.id}").get_data(as_text=True)
    assert "public-url-warning" not in admin.get("/admin/units").get_data(as_text=True)
    with admin.get(f"/admin/units/{unit.id}/export.zip") as res:
        assert res.status_code == 200
