"""The sandbox's pages for people: `/` index, `/inbox` every delivered message, `/phone` a simulated resident's
phone that walks the product end to end against the project's backend (`backend_url`), as the mini-program would.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

import flask
import requests
from flask import Flask, render_template, request

from . import pusher
from .state import Sandbox

# The sandbox's own user-facing messages (the /phone page), in one place.
MESSAGES = {
    "no_backend": "沙盒没有配置后台地址（backend_url），无法提交。",
    "backend_unreachable": "无法连接后台服务，请稍后再试。",
    "backend_garbled": "后台返回了无法识别的内容（HTTP {status}）。",
    "backend_failed": "后台处理失败（{code}）。",
    "openid_required": "请填写微信用户（openid）。",
    "not_logged_in": "还没有登录：请先在“反映问题”页提交一次。",
}


def register(app: Flask, sb: Sandbox) -> None:
    """Add the pages to the sandbox app."""
    state = sb.state

    @app.get("/")
    def index_page():
        return render_template("sandbox/index.html", appid=sb.appid, backend_url=sb.backend, templates=sb.templates,
                               push=sb.push)

    @app.get("/inbox")
    def inbox_page():
        chosen = request.args.get("openid") or None
        messages = sb.select_messages(chosen, None)
        people: dict[str, dict] = {}
        for message in reversed(messages):  # newest first
            person = people.setdefault(
                message["openid"],
                {"openid": message["openid"], "nickname": message["nickname"], "messages": []},
            )
            person["messages"].append(message)
        with state.lock:
            everyone = sorted({m["openid"] for m in state.messages})
        refresh = request.args.get("refresh", type=int)
        return render_template(
            "sandbox/inbox.html",
            people=list(people.values()),
            everyone=everyone,
            chosen=chosen,
            refresh=refresh if refresh and refresh > 0 else None,
        )

    def call_backend(method: str, path: str, *, token: str | None = None, payload: dict | None = None):
        """Call the project backend as the mini-program would: (data, None) or (None, Chinese message)."""
        if not sb.backend:
            return None, MESSAGES["no_backend"]
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            res = requests.request(method, sb.backend + path, json=payload, headers=headers, timeout=10)
        except requests.RequestException:
            return None, MESSAGES["backend_unreachable"]
        try:
            envelope = res.json()
        except ValueError:
            return None, MESSAGES["backend_garbled"].format(status=res.status_code)
        if not isinstance(envelope, dict):
            return None, MESSAGES["backend_garbled"].format(status=res.status_code)
        if envelope.get("ok") and res.status_code < 400:
            return envelope.get("data"), None
        error = envelope.get("error") or {}
        message = error.get("message") if isinstance(error, dict) else None
        code = error.get("code") if isinstance(error, dict) else None
        return None, message or MESSAGES["backend_failed"].format(code=code or res.status_code)

    def one_time_templates() -> list[tuple[str, str]]:
        return [(tid, spec.get("title", tid)) for tid, spec in sb.templates.items()
                if spec["kind"] == "one_time"]

    def phone_form(form: dict, error: str | None = None, status: int = 200):
        scene_info, scene_error = None, None
        if form.get("link") and sb.backend:
            # A plain-link scan (https://developers.weixin.qq.com/miniprogram/introduction/qrcode): the page gets
            # q, the whole link, which the mini-program sends on for the backend to find the scene in.
            scene_info, scene_error = call_backend("GET", "/api/v1/scenes?" + urlencode({"q": form["link"]}))
            if isinstance(scene_info, dict) and isinstance(scene_info.get("scene"), str):
                form["scene"] = scene_info["scene"]
        elif form["scene"] and sb.backend:
            scene_info, scene_error = call_backend("GET", "/api/v1/scenes/" + quote(form["scene"], safe=""))
        return (
            render_template(
                "sandbox/phone.html",
                form=form,
                scene_info=scene_info if isinstance(scene_info, dict) else None,
                scene_error=scene_error,
                error=error,
                subscribable=one_time_templates(),
                backend_url=sb.backend,
            ),
            status,
        )

    @app.get("/phone")
    def phone_page():
        openid = request.args.get("openid") or flask.session.get("openid") or "demo-resident-1"
        with state.lock:
            nickname = state.users.get(openid, {}).get("nickname", "")
        form = {
            "openid": openid,
            "nickname": nickname,
            "scene": request.args.get("scene", ""),
            "link": request.args.get("q", ""),  # already decoded once, as decodeURIComponent(query.q) would
            "scancode_time": request.args.get("scancode_time", ""),
            "category": "",
            "text": "",
            "subscribe": [tid for tid, _ in one_time_templates()],
            "wechat_phone": "",
        }
        return phone_form(form)

    @app.post("/phone")
    def phone_submit():
        f = request.form
        form = {
            "openid": f.get("openid", "").strip(),
            "nickname": f.get("nickname", "").strip(),
            "scene": f.get("scene", "").strip(),
            "category": f.get("category", "").strip(),
            "text": f.get("text", "").strip(),
            "subscribe": [t for t in f.getlist("subscribe") if t in sb.templates],
            "wechat_phone": f.get("wechat_phone", "").strip(),  # the number this WeChat user has bound, if any
        }
        if not form["openid"]:
            return phone_form(form, MESSAGES["openid_required"], 400)
        sb.register_user(form["openid"], form["nickname"] or None)
        if form["subscribe"]:
            sb.answer_subscriptions(form["openid"], [(tid, "accept") for tid in form["subscribe"]])  # tapped 允许
        code = sb.issue_login_code(form["openid"])  # wx.login on the phone
        session_data, error = call_backend("POST", "/api/v1/sessions", payload={"code": code})
        token = session_data.get("token") if isinstance(session_data, dict) else None
        if error or not token:
            return phone_form(form, error or MESSAGES["backend_failed"].format(code="no token"), 502)
        if form["subscribe"]:  # WeChat pushes the popup's answers (the resident is known to the backend by now)
            pusher.push_now(sb, pusher.popup_event(sb, form["openid"], {t: "accept" for t in form["subscribe"]}))
        flask.session["openid"] = form["openid"]
        flask.session["token"] = token
        phone = None
        if form["wechat_phone"]:  # tapped 使用微信手机号 and allowed: the button's code, then the backend's answer
            number, error = call_backend("POST", "/api/v1/phone", token=token, payload={
                "code": sb.issue_phone_code(form["openid"], form["wechat_phone"])})
            if error or not isinstance(number, dict):
                return phone_form(form, error or MESSAGES["backend_failed"].format(code="no phone"), 422)
            phone = number.get("phone")
        complaint, error = call_backend(
            "POST",
            "/api/v1/complaints",
            token=token,
            payload={"scene": form["scene"], "category": form["category"], "text": form["text"], "phone": phone},
        )
        if error or not isinstance(complaint, dict):
            return phone_form(form, error or MESSAGES["backend_failed"].format(code="no data"), 422)
        return render_template("sandbox/phone_done.html", complaint=complaint, form=form), 201

    @app.get("/phone/mine")
    def phone_mine():
        token = flask.session.get("token")
        if not token:
            error = MESSAGES["not_logged_in"]
            return render_template("sandbox/phone_mine.html", complaints=None, error=error)
        complaints, error = call_backend("GET", "/api/v1/complaints", token=token)
        if not isinstance(complaints, list):
            complaints = None
        return render_template(
            "sandbox/phone_mine.html", complaints=complaints, error=error, openid=flask.session.get("openid")
        )
