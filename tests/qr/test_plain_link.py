"""Plain-link scans (扫普通链接二维码打开小程序): WeChat hands the mini-program `q`, the whole poster link; the scene
lookup finds the token in it, a foreign link is refused, and the verification file an admin sets is served at
/q/<name>.txt before the token route."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
import requests
from sqlalchemy import func, select

from models import AuditEvent, DomainError
from qr import services
from wechat import create_sandbox_app, serve_in_thread

PUBLIC = "https://xinma.example.gov.cn"


@pytest.mark.parametrize("link", [f"{PUBLIC}/q/AbC-_12", f"{PUBLIC}/q/AbC-_12?from=poster",
                                  "http://XINMA.example.gov.cn/q/AbC-_12", quote(f"{PUBLIC}/q/AbC-_12", safe="")])
def test_the_token_is_found_in_our_link_however_it_arrives(link):
    assert services.token_from_link(PUBLIC, link) == "AbC-_12"


@pytest.mark.parametrize(("link", "code"), [
    ("https://evil.example.com/q/AbC", "scene_link_foreign"), (f"{PUBLIC}/h5/AbC", "scene_link_foreign"),
    (f"{PUBLIC}/q/", "scene_link_foreign"), (f"{PUBLIC}/q/a/b", "scene_link_foreign"),
    ("ftp://xinma.example.gov.cn/q/AbC", "scene_link_foreign"), ("AbC", "scene_link_foreign"),
    ("", "scene_missing"), (None, "scene_missing"),
])
def test_any_other_link_is_refused_with_its_code(link, code):
    with pytest.raises(DomainError) as caught:
        services.token_from_link(PUBLIC, link)
    assert caught.value.code == code


def test_a_public_url_with_a_path_prefix():
    assert services.token_from_link("https://gov.example.cn/xinma/", "https://gov.example.cn/xinma/q/T1") == "T1"
    with pytest.raises(DomainError):
        services.token_from_link("https://gov.example.cn/xinma", "https://gov.example.cn/q/T1")


def test_the_scene_lookup_takes_the_link(client, scene):
    by_token = client.get(f"/api/v1/scenes/{scene}")
    by_link = client.get("/api/v1/scenes", query_string={"q": f"http://xinma.test/q/{scene}"})
    assert by_link.status_code == 200 and by_link.json == by_token.json
    assert by_link.json["data"]["scene"] == scene and by_link.json["data"]["unit"]["name"] == "梁堂村第一网格"

    foreign = client.get("/api/v1/scenes", query_string={"q": f"https://other.example.com/q/{scene}"})
    assert foreign.status_code == 400 and foreign.json["error"]["code"] == "scene_link_foreign"
    assert "公示牌" in foreign.json["error"]["message"]
    assert client.get("/api/v1/scenes").json["error"]["code"] == "scene_missing"
    unknown = client.get("/api/v1/scenes", query_string={"q": "http://xinma.test/q/NoSuchToken"})
    assert unknown.status_code == 404 and unknown.json["error"]["code"] == "scene_unknown"


def _sign_in(client, username="admin") -> str:
    from qr.demo import DEMO_PASSWORD

    page = client.get("/staff/signin").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post("/staff/signin", data={"csrf_token": token, "username": username, "password": DEMO_PASSWORD})
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get("/admin/units").get_data(as_text=True)
                     ).group(1) if username == "admin" else token


def test_an_admin_sets_the_verification_file_and_wechat_reads_it(client, app, scene):
    assert client.get("/q/Xk2aB9cD.txt").status_code == 404  # nothing set yet
    csrf = _sign_in(client)
    page = client.get("/admin/units").get_data(as_text=True)
    assert "校验文件" in page and "http://xinma.test/q/" in page

    res = client.post("/admin/link-verification", data={"csrf_token": csrf, "name": "Xk2aB9cD.txt",
                                                         "content": "3f9c1e0a7b5d2468ace0"})
    assert res.status_code == 303
    served = client.get("/q/Xk2aB9cD.txt")
    assert served.status_code == 200 and served.mimetype == "text/plain"
    assert served.get_data(as_text=True) == "3f9c1e0a7b5d2468ace0"
    assert client.get("/q/Other.txt").status_code == 404
    assert client.get(f"/q/{scene}").status_code == 302  # the token route still answers scans
    assert "http://xinma.test/q/Xk2aB9cD.txt" in client.get("/admin/units").get_data(as_text=True)

    client.post("/admin/link-verification", data={"csrf_token": csrf, "name": "New1", "content": "abc"})
    assert client.get("/q/Xk2aB9cD.txt").status_code == 404 and client.get("/q/New1.txt").data == b"abc"
    with app.extensions["xinma.sessionmaker"]() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "link_verification")).all()
        assert [e.data["name"] for e in events] == ["Xk2aB9cD", "New1"] and events[0].actor_kind == "staff"


@pytest.mark.parametrize(("name", "content", "code"), [("../x", "abc", "link_file_name_invalid"),
                                                       ("ok", "两个字", "link_file_content_invalid"),
                                                       ("ok", "", "link_file_content_invalid"),
                                                       ("", "abc", "link_file_name_invalid")])
def test_a_bad_verification_file_is_refused_and_changes_nothing(client, app, demo, name, content, code):
    from web.messages import error_text

    csrf = _sign_in(client)
    res = client.post("/admin/link-verification", data={"csrf_token": csrf, "name": name, "content": content})
    assert res.status_code == 400 and error_text(code) in res.get_data(as_text=True)
    with app.extensions["xinma.sessionmaker"]() as session:
        assert session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "link_verification")) == 0


def test_only_admins_set_it(client, app, demo):
    csrf = _sign_in(client, "wangge1")
    res = client.post("/admin/link-verification", data={"csrf_token": csrf, "name": "a", "content": "b"})
    assert res.status_code == 404
    assert client.get("/q/a.txt").status_code == 404


def test_the_simulated_phone_scans_a_plain_link_into_the_report_form(live_app, app, scene):
    sandbox_app = create_sandbox_app(appid="wx-q", secret="s", templates={}, backend_url=live_app.url)
    server, thread, url = serve_in_thread(sandbox_app)
    try:
        page = requests.get(f"{url}/phone", params={"q": f"http://xinma.test/q/{scene}", "scancode_time": "1"},
                            timeout=10)
        foreign = requests.get(f"{url}/phone", params={"q": f"http://elsewhere.test/q/{scene}"}, timeout=10)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    assert page.status_code == 200
    assert "梁堂村第一网格" in page.text and f'name="scene" value="{scene}"' in page.text
    assert "scancode_time = 1" in page.text
    assert "不是本社区公示牌上的码" in foreign.text
