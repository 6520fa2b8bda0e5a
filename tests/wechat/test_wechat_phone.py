"""/phone walks the product like a resident would, against a tiny fake backend that speaks the project's API."""

from __future__ import annotations

import secrets

import flask
import pytest
import requests

from wechat import WeChatError, WeChatGateway, serve_in_thread

from .support import APPID, SECRET


def _fake_backend(config: dict) -> flask.Flask:
    """The project's API as the mini-program sees it: sessions, scenes, complaints (envelope {ok, data|error})."""
    app = flask.Flask("fake_backend")
    app.json.ensure_ascii = False
    tokens: dict[str, str] = {}
    complaints: list[dict] = []

    def fail(code: str, message: str, status: int):
        return flask.jsonify({"ok": False, "error": {"code": code, "message": message}}), status

    def current_openid() -> str | None:
        header = flask.request.headers.get("Authorization", "")
        return tokens.get(header.removeprefix("Bearer "))

    @app.post("/api/v1/sessions")
    def create_session():
        try:
            login = config["gateway"].code_to_session(flask.request.get_json()["code"])
        except WeChatError as exc:
            return fail(exc.code, "登录失败，请重试", 401)
        token = secrets.token_urlsafe(16)
        tokens[token] = login.openid
        return flask.jsonify({"ok": True, "data": {"token": token, "expires_in": 3600}}), 201

    @app.get("/api/v1/scenes/<scene>")
    def scene(scene):
        if scene != "u1":
            return fail("scene_unknown", "二维码已失效", 404)
        unit = {"name": "三号楼", "full_name": "幸福社区三号楼"}
        return flask.jsonify({"ok": True, "data": {"unit": unit, "categories": ["照明", "卫生"]}})

    @app.post("/api/v1/complaints")
    def create_complaint():
        openid = current_openid()
        if openid is None:
            return fail("unauthorized", "请先登录", 401)
        body = flask.request.get_json()
        if not body.get("text"):
            return fail("text_required", "请描述您遇到的问题", 422)
        complaint = {
            "id": len(complaints) + 1,
            "openid": openid,
            "text": body["text"],
            "category": body["category"],
            "state": "received",
            "state_label": "已受理",
            "timeline": [{"at": "2026-11-23 19:00", "label": "已提交"}, {"at": "2026-11-23 19:01", "label": "已受理"}],
        }
        complaints.append(complaint)
        config["gateway"].send_subscribe_message(
            openid, "tpl-received", {"thing1": body["text"][:20], "phrase2": "已受理", "time3": "19:01"}
        )
        return flask.jsonify({"ok": True, "data": complaint}), 201

    @app.get("/api/v1/complaints")
    def list_complaints():
        openid = current_openid()
        if openid is None:
            return fail("unauthorized", "请先登录", 401)
        return flask.jsonify({"ok": True, "data": [c for c in complaints if c["openid"] == openid]})

    return app


@pytest.fixture
def backend_and_sandbox(make_sandbox):
    config: dict = {}
    server, thread, backend_url = serve_in_thread(_fake_backend(config))
    sandbox = make_sandbox(backend_url=backend_url)
    config["gateway"] = WeChatGateway(APPID, SECRET, base_url=sandbox.url, timeout=2.0)
    yield sandbox
    config["gateway"].close()
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_resident_reports_and_follows_up(backend_and_sandbox):
    sandbox = backend_and_sandbox
    phone = requests.Session()

    form_page = phone.get(sandbox.url + "/phone", params={"scene": "u1"}, timeout=10)
    assert form_page.status_code == 200
    assert "三号楼" in form_page.text and "幸福社区三号楼" in form_page.text
    assert "照明" in form_page.text and "允许接收“受理通知”" in form_page.text

    done = phone.post(
        sandbox.url + "/phone",
        data={
            "openid": "o-phone-1",
            "nickname": "王大爷",
            "scene": "u1",
            "category": "照明",
            "text": "楼道灯<坏了>",
            "subscribe": "tpl-received",
        },
        timeout=10,
    )
    assert done.status_code == 201, done.text
    assert "提交成功" in done.text and 'class="complaint-id">1<' in done.text and "已受理" in done.text

    mine = phone.get(sandbox.url + "/phone/mine", timeout=10)
    assert "编号 1" in mine.text and "已提交" in mine.text
    assert "楼道灯&lt;坏了&gt;" in mine.text

    [message] = sandbox.messages(openid="o-phone-1")
    assert message["nickname"] == "王大爷" and message["data"]["thing1"] == "楼道灯<坏了>"
    phone.close()


def test_backend_refusal_is_shown_in_chinese(backend_and_sandbox):
    sandbox = backend_and_sandbox
    with requests.Session() as phone:
        page = phone.post(
            sandbox.url + "/phone",
            data={"openid": "o-phone-2", "scene": "u1", "category": "照明", "text": ""},
            timeout=10,
        )
        assert page.status_code == 422
        assert "请描述您遇到的问题" in page.text

        unknown_scene = phone.get(sandbox.url + "/phone", params={"scene": "nope"}, timeout=10)
        assert "二维码已失效" in unknown_scene.text


def test_my_complaints_needs_a_login_first(backend_and_sandbox):
    page = requests.get(backend_and_sandbox.url + "/phone/mine", timeout=10)
    assert "请先在“反映问题”页提交一次" in page.text


def test_phone_without_backend_says_so(sandbox):
    page = requests.post(
        sandbox.url + "/phone", data={"openid": "o-3", "scene": "u1", "category": "x", "text": "y"}, timeout=10
    )
    assert page.status_code == 502
    assert "没有配置后台地址" in page.text
