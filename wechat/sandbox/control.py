"""The sandbox's control API (/_sandbox/...): what a test or a person does to WeChat from outside.

Make users and login codes, answer the subscribe popup, read what was delivered, inject faults, expire tokens,
configure and trigger the message pushes, reset.
"""

from __future__ import annotations

from flask import Flask, jsonify, request

from ..push import FORMATS, MODES, check_aes_key
from . import pusher
from .faults import add_fault
from .state import ENDPOINT_KINDS, FAULT_TYPES, LOGIN_CODE_TTL, Sandbox

PRIVACY_EVENTS = ("user_authorization_revoke", "user_authorization_cancellation")


def _error(message: str, status: int = 400):
    return jsonify({"error": message}), status


def _body() -> dict:
    data = request.get_json(force=True, silent=True)
    return data if isinstance(data, dict) else {}


def _template_list(data: dict) -> list[str] | None:
    template_ids = data.get("template_ids")
    if not data.get("openid") or not isinstance(template_ids, list) or not template_ids:
        return None
    return [str(t) for t in template_ids]


def register(app: Flask, sb: Sandbox) -> None:
    """Add the /_sandbox/ endpoints to the sandbox app."""
    state = sb.state

    @app.post("/_sandbox/users")
    def control_users():
        data = _body()
        if not data.get("openid"):
            return _error("openid is required")
        user = sb.register_user(str(data["openid"]), data.get("nickname"), data.get("unionid"))
        return jsonify({"user": user}), 201

    @app.get("/_sandbox/users")
    def control_list_users():
        with state.lock:
            users = [{"openid": oid, **u} for oid, u in state.users.items()]
        return jsonify({"users": users})

    @app.post("/_sandbox/login")
    def control_login():
        data = _body()
        if not data.get("openid"):
            return _error("openid is required")
        return jsonify({"code": sb.issue_login_code(str(data["openid"])), "expires_in": LOGIN_CODE_TTL}), 201

    @app.post("/_sandbox/phone_code")
    def control_phone_code():
        """The user taps the getPhoneNumber button and allows: the code the mini-program gets for their number."""
        data = _body()
        phone, country = data.get("phone"), str(data.get("country_code") or "86")
        if not data.get("openid") or not isinstance(phone, str) or not phone.isdigit() or not country.isdigit():
            return _error("openid and phone (digits, without country code) are required")
        code = sb.issue_phone_code(str(data["openid"]), phone, country)
        return jsonify({"code": code, "expires_in": LOGIN_CODE_TTL}), 201

    @app.post("/_sandbox/subscribe")
    def control_subscribe():
        """The user answers the subscribe popup: every template accepted, or each as `answers` says."""
        data = _body()
        template_ids = _template_list(data)
        if template_ids is None:
            return _error("openid and a non-empty template_ids list are required")
        answers = data.get("answers") or {}
        if not isinstance(answers, dict) or any(a not in ("accept", "reject") for a in answers.values()):
            return _error("answers maps template ids to accept or reject")
        chosen = {tid: answers.get(tid, "accept") for tid in template_ids}
        openid = str(data["openid"])
        try:
            quota = sb.answer_subscriptions(openid, [(tid, chosen[tid]) for tid in template_ids])
        except ValueError as exc:
            return _error(str(exc))
        push = pusher.push_now(sb, pusher.popup_event(sb, openid, chosen))
        return jsonify({"openid": openid, "result": chosen, "quota": quota, "push": push})

    @app.post("/_sandbox/unsubscribe")
    def control_unsubscribe():
        """The user turns templates off in the service-notification settings (subscribe_msg_change_event)."""
        data = _body()
        template_ids = _template_list(data)
        if template_ids is None:
            return _error("openid and a non-empty template_ids list are required")
        openid = str(data["openid"])
        try:
            quota = sb.answer_subscriptions(openid, [(tid, "reject") for tid in template_ids])
        except ValueError as exc:
            return _error(str(exc))
        push = pusher.push_now(sb, pusher.change_event(sb, openid, template_ids))
        return jsonify({"openid": openid, "quota": quota, "push": push})

    @app.post("/_sandbox/privacy")
    def control_privacy():
        """The user withdraws what they authorised (`user_authorization_revoke`, RevokeInfo e.g. "8,13") or
        deletes their WeChat account (`user_authorization_cancellation`)."""
        data = _body()
        if not data.get("openid") or data.get("event") not in PRIVACY_EVENTS:
            return _error(f"openid and event ({' or '.join(PRIVACY_EVENTS)}) are required")
        event = pusher.privacy_event(sb, str(data["openid"]), data["event"], str(data.get("revoke_info") or ""))
        return jsonify({"push": pusher.push_now(sb, event)})

    @app.post("/_sandbox/media_checks/<trace_id>/verdict")
    def control_media_verdict(trace_id: str):
        """Push a chosen verdict for a submitted image now (errcode -1008: WeChat could not download it)."""
        data = _body()
        suggest = data.get("suggest", "pass")
        errcode = data.get("errcode", 0)
        if suggest not in ("pass", "review", "risky") or errcode not in (0, -1008):
            return _error("suggest is pass, review or risky; errcode 0 or -1008")
        with state.lock:
            check = next((c for c in state.media_checks if c["trace_id"] == trace_id), None)
        if check is None:
            return _error("no media check with this trace_id", 404)
        event = pusher.media_check_event(sb, check["openid"], trace_id, suggest, errcode)
        return jsonify({"push": pusher.push_now(sb, event)})

    @app.get("/_sandbox/push")
    def control_push_config():
        return jsonify({"push": {**vars(sb.push), "aes_key": bool(sb.push.aes_key)}})

    @app.post("/_sandbox/push")
    def control_set_push():
        """Set the console's message-push configuration: url, token, aes_key, format, mode, delay, media_verdict."""
        data = _body()
        if data.get("format", sb.push.format) not in FORMATS or data.get("mode", sb.push.mode) not in MODES:
            return _error(f"format is one of {', '.join(FORMATS)}; mode one of {', '.join(MODES)}")
        if data.get("media_verdict", "pass") not in ("pass", "review", "risky"):
            return _error("media_verdict is pass, review or risky")
        aes_key = data.get("aes_key", sb.push.aes_key)
        if data.get("mode", sb.push.mode) != "plain" or aes_key:
            try:
                check_aes_key(aes_key or "")
            except ValueError as exc:
                return _error(f"aes_key: {exc}")
        with state.lock:
            for name in ("url", "token", "aes_key", "format", "mode", "media_verdict"):
                if name in data:
                    setattr(sb.push, name, data[name])
            if isinstance(data.get("delay"), int | float) and data["delay"] >= 0:
                sb.push.delay = float(data["delay"])
        return control_push_config()

    @app.post("/_sandbox/app_pages")
    def control_app_pages():
        """Tell the sandbox the mini-program's pages (app.json); subscribe sends naming another page get 41030.
        An empty list forgets them (no page check)."""
        pages = _body().get("pages")
        if not isinstance(pages, list) or not all(isinstance(p, str) and p and "?" not in p for p in pages):
            return _error("pages is a list of page paths without a query, e.g. pages/complaint/detail")
        with state.lock:
            sb.app_pages = tuple(pages) or None
        return jsonify({"app_pages": list(sb.app_pages or [])})

    @app.get("/_sandbox/pushes")
    def control_pushes():
        with state.lock:
            return jsonify({"pushes": [dict(p) for p in state.pushes]})

    @app.get("/_sandbox/messages")
    def control_messages():
        return jsonify({"messages": sb.select_messages(request.args.get("openid"), request.args.get("template_id"))})

    @app.get("/_sandbox/calls")
    def control_calls():
        with state.lock:
            return jsonify({"endpoints": {k: dict(v) for k, v in state.calls.items()},
                            "tokens_issued": state.tokens_issued, "force_refreshes": state.force_refreshes})

    @app.get("/_sandbox/media_checks")
    def control_media_checks():
        with state.lock:
            return jsonify({"media_checks": [dict(m) for m in state.media_checks]})

    @app.get("/_sandbox/faults")
    def control_faults():
        with state.lock:
            return jsonify({"faults": [dict(f) for f in state.faults]})

    @app.post("/_sandbox/faults")
    def control_add_fault():
        data = _body()
        endpoint = data.get("endpoint", "*")
        kind = data.get("type")
        if endpoint not in (*ENDPOINT_KINDS, "*"):
            return _error(f"endpoint must be one of {', '.join(ENDPOINT_KINDS)} or *")
        if kind not in FAULT_TYPES:
            return _error(f"type must be one of {', '.join(FAULT_TYPES)}")
        value = data.get("value")
        if kind == "errcode" and not isinstance(value, int):
            return _error("errcode faults need an integer value, e.g. 45009")
        if kind in ("latency_ms", "timeout") and not isinstance(value, int | float):
            value = 10 if kind == "timeout" else 200
        count = data.get("count")
        if count is not None and (not isinstance(count, int) or count < 1):
            return _error("count must be a positive integer or null (until cleared)")
        fault = add_fault(sb, endpoint=endpoint, kind=kind, value=value, errmsg=data.get("errmsg"),
                          acts=data.get("acts", True) is not False, count=count)
        with state.lock:
            return jsonify({"fault": fault, "faults": [dict(f) for f in state.faults]}), 201

    @app.delete("/_sandbox/faults")
    def control_clear_faults():
        endpoint = request.args.get("endpoint")
        with state.lock:
            state.faults = [f for f in state.faults if endpoint and f["endpoint"] != endpoint]
            return jsonify({"faults": [dict(f) for f in state.faults]})

    @app.post("/_sandbox/expire_tokens")
    def control_expire_tokens():
        now = sb.clock()
        with state.lock:
            expired = 0
            for record in state.tokens.values():
                if record["expires_at"] > now:
                    record["expires_at"] = now
                    expired += 1
        return jsonify({"expired": expired})

    @app.post("/_sandbox/reset")
    def control_reset():
        with state.lock:
            state.reset()
        return jsonify({"reset": True})
