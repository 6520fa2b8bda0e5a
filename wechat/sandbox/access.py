"""Fake WeChat: access tokens and login (cgi-bin/token, cgi-bin/stable_token, sns/jscode2session).

Each rule names the WeChat documentation page it follows.
"""

from __future__ import annotations

import base64
import secrets

from flask import Flask, jsonify, request

from .faults import wechat_endpoint
from .state import LOGIN_CODE_TTL, Refusal, Sandbox

# https://mp.weixin.qq.com/debug/minigame/dev/api-backend/auth.getAccessToken.html: each cgi-bin/token call
# issues a new token; the previous one keeps working for 5 minutes.
TOKEN_OVERLAP = 300
# https://developers.weixin.qq.com/minigame/dev/api-backend/open-api/access-token/auth.getStableAccessToken.html
# (and https://developers.weixin.qq.com/doc/service/api/base/api_getstableaccesstoken): force_refresh is limited
# to 20 a day, at least 30 seconds apart. The day quota is refused with 45009 (reach max api daily quota
# limit), a refresh too soon after the last with 45011 (api minute-quota reach limit), WeChat's quota errcodes.
FORCE_REFRESH_PER_DAY = 20
FORCE_REFRESH_SPACING = 30
# https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/user-login/code2Session.html: 45011 when one user
# logs in too often; the documented limit is 100 calls per user per minute.
LOGINS_PER_USER_MINUTE = 100


def body_json(errcode: int = 47001, errmsg: str = "data format error") -> dict:
    """The request body as a JSON object whatever the Content-Type (wechatpy sends none; WeChat accepts that)."""
    data = request.get_json(force=True, silent=True)
    if not isinstance(data, dict):
        raise Refusal(errcode, errmsg)
    return data


def require_token(sb: Sandbox) -> None:
    """Refuse a call without a live access token as WeChat does (41001 missing, 40001 unknown/rotated, 42001)."""
    token = request.args.get("access_token", "")
    if not token:
        raise Refusal(41001, "access_token missing")
    now = sb.clock()
    with sb.state.lock:
        record = sb.state.tokens.get(token)
    if record is None or (record["revoked_at"] is not None and record["revoked_at"] <= now):
        raise Refusal(40001, "invalid credential, access_token is invalid or not latest")
    if record["expires_at"] <= now:
        raise Refusal(42001, "access_token expired")


def _check_credentials(sb: Sandbox, got_appid: str | None, got_secret: str | None) -> None:
    if got_appid != sb.appid:
        raise Refusal(40013, "invalid appid")
    if got_secret != sb.secret:
        raise Refusal(40125, "invalid appsecret")


def _issue_token(sb: Sandbox, source: str) -> tuple[str, int]:
    """Mint a token (lock held by caller)."""
    token = secrets.token_urlsafe(48)
    sb.state.tokens[token] = {"expires_at": sb.clock() + sb.token_ttl, "revoked_at": None, "source": source}
    sb.state.tokens_issued += 1
    return token, sb.token_ttl


def _claim_force_refresh(sb: Sandbox, now: float) -> None:
    """Count one forced refresh, or refuse it under the day quota and the 30-second spacing (lock held)."""
    forced = [t for t in sb.state.forced if now - t < 86400]
    if len(forced) >= FORCE_REFRESH_PER_DAY:
        raise Refusal(45009, "reach max api daily quota limit: force_refresh 20 times a day")
    if forced and now - forced[-1] < FORCE_REFRESH_SPACING:
        raise Refusal(45011, "api minute-quota reach limit: force_refresh at most once in 30 seconds")
    forced.append(now)
    sb.state.forced = forced
    sb.state.force_refreshes += 1


def register(app: Flask, sb: Sandbox) -> None:
    """Add the token and login endpoints to the sandbox app."""
    state = sb.state

    @app.get("/cgi-bin/token")
    @wechat_endpoint(sb, "token")
    def get_access_token():
        if request.args.get("grant_type") != "client_credential":
            raise Refusal(40002, "invalid grant_type")
        _check_credentials(sb, request.args.get("appid"), request.args.get("secret"))
        now = sb.clock()
        with state.lock:
            for record in state.tokens.values():
                if record["source"] == "token" and record["revoked_at"] is None:
                    record["revoked_at"] = now + min(TOKEN_OVERLAP, sb.token_ttl)
            token, expires_in = _issue_token(sb, "token")
        return jsonify({"access_token": token, "expires_in": expires_in})

    @app.post("/cgi-bin/stable_token")
    @wechat_endpoint(sb, "token")
    def get_stable_access_token():
        data = body_json()
        if data.get("grant_type") != "client_credential":
            raise Refusal(40002, "invalid grant_type")
        _check_credentials(sb, data.get("appid"), data.get("secret"))
        now = sb.clock()
        # WeChat rolls the stable token 5 minutes before expiry; scale that down for short test TTLs.
        roll_before = min(TOKEN_OVERLAP, sb.token_ttl / 2)
        with state.lock:
            current = state.tokens.get(state.stable_token or "")
            if data.get("force_refresh"):
                _claim_force_refresh(sb, now)
                if current is not None:
                    current["revoked_at"] = now
                current = None
            elif current is not None and current["expires_at"] - now <= roll_before:
                current = None
            if current is None:
                token, expires_in = _issue_token(sb, "stable")
                state.stable_token = token
            else:
                token, expires_in = state.stable_token, int(current["expires_at"] - now)
        return jsonify({"access_token": token, "expires_in": expires_in})

    @app.get("/sns/jscode2session")
    @wechat_endpoint(sb, "login")
    def code_to_session():
        # https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/user-login/code2Session.html: a code is
        # valid 5 minutes and once (40029 invalid, 40163 already used).
        args = request.args
        _check_credentials(sb, args.get("appid"), args.get("secret"))
        if args.get("grant_type") != "authorization_code":
            raise Refusal(40002, "invalid grant_type")
        code = args.get("js_code", "")
        if not code:
            raise Refusal(41008, "missing code")
        now = sb.clock()
        with state.lock:
            record = state.codes.get(code)
            if record is None or now - record["issued_at"] > LOGIN_CODE_TTL:
                raise Refusal(40029, "invalid code")
            openid = record["openid"]
            recent = [t for t in state.logins.get(openid, []) if now - t < 60]
            if len(recent) >= LOGINS_PER_USER_MINUTE:
                raise Refusal(45011, "api minute-quota reach limit: too many logins of this user")
            state.logins[openid] = [*recent, now]
            if record["used"]:
                raise Refusal(40163, "code been used")
            record["used"] = True
            state.last_login[openid] = now
            unionid = state.user(openid)["unionid"]
        answer = {"openid": openid, "session_key": base64.b64encode(secrets.token_bytes(16)).decode()}
        if unionid:
            answer["unionid"] = unionid
        return jsonify(answer)
