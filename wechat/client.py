"""WeChatGateway: the one client for WeChat's mini-program server APIs, on top of wechatpy 1.8.18.

wechatpy is used for its request plumbing and token storage only. Its own token fetch (hard-coded URL,
no timeout, plain cgi-bin/token) and its unbounded auto-retry are replaced here.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field

import requests
from requests.adapters import HTTPAdapter
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session.memorystorage import MemoryStorage
from wechatpy.session.redisstorage import RedisStorage

from .errors import (
    TOKEN_INVALID_ERRCODES,
    WeChatError,
    WeChatLoginCodeInvalid,
    WeChatMisconfigured,
    WeChatOutcomeUnknown,
    WeChatPhoneCodeInvalid,
    WeChatRequestInvalid,
    WeChatRetryable,
    WeChatServerError,
    WeChatTokenError,
    WeChatUnreachable,
    error_for,
)

log = logging.getLogger(__name__)

REDIS_PREFIX = "xinma:wechat"
# WeChat rolls a stable token 5 minutes before it expires (a normal fetch then returns a new one): the store keeps
# a token until then only, so a call never sends one in its last minutes.
TOKEN_MARGIN_SECONDS = 300


@dataclass(frozen=True)
class LoginSession:
    """What code2Session returns; session_key stays on the server and out of logs."""

    openid: str
    session_key: str
    unionid: str | None = None

    def __repr__(self) -> str:
        return f"LoginSession(openid={self.openid!r}, session_key='***', unionid={self.unionid!r})"

    __str__ = __repr__


@dataclass(frozen=True)
class TextCheck:
    """Verdict of msgSecCheck v2: decide on `suggest`, not on errcode."""

    suggest: str  # "pass" | "review" | "risky"
    label: int
    trace_id: str

    @property
    def passed(self) -> bool:
        return self.suggest == "pass"


@dataclass(frozen=True)
class PhoneNumber:
    """What getuserphonenumber returns: the number without country code, and the country code."""

    phone: str = field(repr=False)  # out of logs and tracebacks
    country_code: str = ""


def _unreachable(exc: requests.RequestException, what: str) -> WeChatUnreachable:
    # The requests/urllib3 message repeats the URL, whose query holds the secret or the access token:
    # keep only the exception type.
    if isinstance(exc, requests.ReadTimeout):
        # Sent, no answer: the server may still act on it (a slow WeChat delivers the message late).
        return WeChatOutcomeUnknown(None, f"{type(exc).__name__} while calling {what}")
    # Connect failures (refused, connect timeout, reset on a pooled connection) never reached WeChat's handler.
    return WeChatUnreachable(None, f"{type(exc).__name__} while calling {what}")


def _http_error(status: int, what: str) -> WeChatError:
    if status >= 500:
        return WeChatServerError(None, f"HTTP {status} from {what}")
    return WeChatRequestInvalid(None, f"HTTP {status} from {what}")


class WeChatGateway(WeChatClient):
    """Mini-program server API client: stable token, timeouts, one bounded token retry, typed errors."""

    def __init__(
        self,
        appid: str,
        secret: str,
        *,
        base_url: str = "https://api.weixin.qq.com/",
        redis=None,
        timeout: float = 5.0,
        pool_size: int = 10,
    ) -> None:
        """Build a gateway; with `redis` the access token is shared through it (key prefix xinma:wechat).

        `pool_size` is how many HTTP connections are kept open: at least as many as the threads that send at
        once, or each send beyond it opens (and throws away) a connection of its own. No network traffic until
        the first call.
        """
        session = RedisStorage(redis, prefix=REDIS_PREFIX) if redis is not None else MemoryStorage()
        # (connect, read): both bounded, on every call including the token fetch.
        super().__init__(appid, secret, session=session, timeout=(timeout, timeout), auto_retry=False)
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=max(pool_size, 1))
        self._http.mount("http://", adapter)
        self._http.mount("https://", adapter)
        # requests reads the proxy and CA-bundle variables from the environment on every call, which costs
        # more than a send itself when many are in flight: read them once, here.
        self._http.proxies.update(requests.utils.get_environ_proxies(base_url))
        bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        if bundle:
            self._http.verify = bundle
        self._http.trust_env = False
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.API_BASE_URL = self.base_url + "cgi-bin/"
        self.wxa.API_BASE_URL = self.base_url
        self._fetch_lock = threading.Lock()
        self._refresh_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"WeChatGateway(appid={self.appid!r}, base_url={self.base_url!r})"

    def close(self) -> None:
        """Close the pooled HTTP connections. Side effect: later calls open new ones."""
        self._http.close()

    def __enter__(self) -> WeChatGateway:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # -- access token ---------------------------------------------------------------------------

    @property
    def access_token(self) -> str:
        """The shared access token, read from the token store (Redis when shared) at every call.

        Side effects: one store read (a Redis GET); when the store has none, one getStableAccessToken fetch in
        normal mode, by one thread of this process while the others wait for it.
        """
        token = self.session.get(self.access_token_key)
        if token:
            return token
        with self._fetch_lock:
            return self.session.get(self.access_token_key) or self._fetch_token(force_refresh=False)

    def fetch_access_token(self, force_refresh: bool = False) -> dict:
        """Get an access token from getStableAccessToken and store it (memory or Redis); returns its expires_in.

        https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/mp-access-token/getStableAccessToken.html
        Side effects: one POST; writes the shared token storage, to expire TOKEN_MARGIN_SECONDS before WeChat's
        expiry. force_refresh=True invalidates the previous token for every process (WeChat allows 20 a day, 30 s
        apart), so it is used only when a normal fetch returns the very token WeChat just rejected.
        """
        self._fetch_token(force_refresh)
        return {"expires_in": self._expires_in}

    def _fetch_token(self, force_refresh: bool, rejected: str | None = None) -> str:
        """Fetch a token and store it (unless it is `rejected`: the store may hold its replacement by now)."""
        url = self.base_url + "cgi-bin/stable_token"
        body = {
            "grant_type": "client_credential",
            "appid": self.appid,
            "secret": self.secret,
            "force_refresh": bool(force_refresh),
        }
        log.info("fetching WeChat access token (force_refresh=%s)", bool(force_refresh))
        try:
            res = self._http.post(url, json=body, timeout=self.timeout)
        except requests.RequestException as exc:
            # A token fetch is safe to repeat: never "outcome unknown", whatever the timeout.
            raise WeChatUnreachable(None, f"{type(exc).__name__} while calling cgi-bin/stable_token") from None
        if res.status_code >= 400:
            raise _http_error(res.status_code, "cgi-bin/stable_token")
        try:
            result = res.json()
        except ValueError:
            raise WeChatServerError(None, "cgi-bin/stable_token answered non-JSON") from None
        errcode = int(result.get("errcode") or 0)
        if errcode or "access_token" not in result:
            err = error_for(errcode, str(result.get("errmsg", "")))
            if isinstance(err, WeChatRetryable | WeChatMisconfigured):
                raise err
            raise WeChatTokenError(errcode or None, str(result.get("errmsg", "no access_token in answer")))
        expires_in = int(result.get("expires_in") or 7200)
        keep = expires_in - TOKEN_MARGIN_SECONDS if expires_in > 2 * TOKEN_MARGIN_SECONDS else max(expires_in // 2, 1)
        if result["access_token"] != rejected:
            self.session.set(self.access_token_key, result["access_token"], keep)
        self._expires_in = expires_in
        return result["access_token"]

    # -- transport --------------------------------------------------------------------------------

    def _request(self, method, url_or_endpoint, **kwargs):
        """Send one token-protected call; on 40001/40014/42001 get a new token once and retry once."""
        what = url_or_endpoint  # a path or base+path; the query (with the token) is never part of it
        params = dict(kwargs.pop("params", None) or {})
        for attempt in (1, 2):
            token = self.access_token
            call_kwargs = dict(kwargs, params=dict(params, access_token=token))
            try:
                return super()._request(method, url_or_endpoint, **call_kwargs)
            except requests.RequestException as exc:
                raise _unreachable(exc, what) from None
            except WeChatClientException as exc:
                if exc.errcode is None:
                    status = exc.response.status_code if exc.response is not None else 0
                    raise _http_error(status, what) from None
                errcode = int(exc.errcode)
                if errcode not in TOKEN_INVALID_ERRCODES:
                    raise error_for(errcode, str(exc.errmsg)) from None
                if attempt == 2:
                    message = f"token still rejected after one refresh: {exc.errmsg}"
                    raise WeChatTokenError(errcode, message) from None
                log.warning("WeChat rejected the access token (errcode %s); refreshing once", errcode)
                self._refresh_after_rejection(token)
        raise AssertionError("unreachable")  # pragma: no cover

    def _refresh_after_rejection(self, rejected: str) -> None:
        """Replace a token WeChat rejected, once for all threads and processes sharing the token storage.

        Side effects: a normal getStableAccessToken fetch first (WeChat may have rolled the token already); only
        when that returns the rejected token again, one forced fetch for everyone: threads queue on a lock, and
        with Redis, processes take a short `SET NX` lock while the others wait for the shared token to change.
        """
        with self._refresh_lock:
            shared = self.session.get(self.access_token_key)
            if shared and shared != rejected:
                return  # another thread or process already replaced it
            if self._fetch_token(force_refresh=False, rejected=rejected) != rejected:
                return
            redis = getattr(self.session, "redis", None)
            if redis is None:
                self._fetch_token(force_refresh=True)
                return
            lock = f"{REDIS_PREFIX}:refresh:{self.appid}"
            if redis.set(lock, "1", nx=True, ex=max(int(self.timeout[0] * 2), 5)):
                try:
                    self._fetch_token(force_refresh=True)
                finally:
                    redis.delete(lock)
                return
            deadline = time.monotonic() + self.timeout[0] * 2
            while time.monotonic() < deadline:
                shared = self.session.get(self.access_token_key)
                if shared and shared != rejected:
                    return
                time.sleep(0.05)
            raise WeChatUnreachable(None, "another process is refreshing the access token")

    # -- API methods ------------------------------------------------------------------------------

    def code_to_session(self, js_code: str) -> LoginSession:
        """Exchange a wx.login code for the user's openid and session_key (code2Session).

        https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/user-login/code2Session.html
        Side effects: one GET; WeChat consumes the code (single use). Needs no access token.
        """
        params = {
            "appid": self.appid,
            "secret": self.secret,
            "js_code": js_code,
            "grant_type": "authorization_code",
        }
        try:
            res = self._http.get(self.base_url + "sns/jscode2session", params=params, timeout=self.timeout)
        except requests.RequestException as exc:
            raise _unreachable(exc, "sns/jscode2session") from None
        if res.status_code >= 400:
            raise _http_error(res.status_code, "sns/jscode2session")
        try:
            result = res.json()
        except ValueError:
            raise WeChatServerError(None, "sns/jscode2session answered non-JSON") from None
        # Success answers may omit errcode: the openid is the signal.
        if result.get("openid"):
            return LoginSession(
                openid=result["openid"],
                session_key=result.get("session_key", ""),
                unionid=result.get("unionid") or None,
            )
        errcode = int(result.get("errcode") or 0)
        errmsg = str(result.get("errmsg", ""))
        if not errcode:
            raise WeChatLoginCodeInvalid(None, "no openid in code2Session answer")
        raise error_for(errcode, errmsg)

    def get_phone_number(self, code: str, openid: str | None = None) -> PhoneNumber:
        """The phone number behind a getPhoneNumber button's code (phonenumber.getPhoneNumber).

        https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/user-info/phone-number/getPhoneNumber.html
        Side effects: one POST (plus a token fetch if needed); WeChat consumes the code (single use, 5 minutes)
        and bills the call. With `openid`, WeChat also checks the code was made for that user. Raises
        WeChatPhoneCodeInvalid (40029) for a bad, expired, used or mismatched code.
        """
        body = {"code": code, **({"openid": openid} if openid else {})}
        try:
            result = self.wxa._post("wxa/business/getuserphonenumber", data=body)
        except WeChatLoginCodeInvalid as exc:  # 40029 is "invalid code" on every API that takes one
            raise WeChatPhoneCodeInvalid(exc.errcode, exc.errmsg) from None
        info = result.get("phone_info") if isinstance(result, dict) else None
        if not isinstance(info, dict) or not info.get("purePhoneNumber"):
            raise WeChatRequestInvalid(None, "no phone_info in getuserphonenumber answer")
        return PhoneNumber(phone=str(info["purePhoneNumber"]), country_code=str(info.get("countryCode") or ""))

    def send_subscribe_message(
        self,
        openid: str,
        template_id: str,
        data: dict[str, str],
        page: str | None = None,
        miniprogram_state: str = "formal",
        lang: str = "zh_CN",
    ) -> None:
        """Send one subscribe message (服务通知) to a user.

        https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/mp-message-management/subscribe-message/sendMessage.html
        Side effects: one POST (plus a token fetch if needed); consumes one one-time quota of the user.
        Raises WeChatNoSubscription when the user has no quota left for the template (never retry).
        """
        body: dict = {
            "touser": openid,
            "template_id": template_id,
            "data": {key: {"value": value} for key, value in data.items()},
            "miniprogram_state": miniprogram_state,
            "lang": lang,
        }
        if page:
            body["page"] = page
        self.wxa._post("cgi-bin/message/subscribe/send", data=body)

    def msg_sec_check(self, openid: str, content: str, scene: int = 2) -> TextCheck:
        """Check user text with msgSecCheck v2 and return the verdict.

        https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/sec-center/sec-check/msgSecCheck.html
        Side effects: one POST. Raises WeChatUserInactive (61010) if the user was not active in the
        last 2 hours.
        """
        body = {"version": 2, "openid": openid, "scene": scene, "content": content}
        result = self.wxa._post("wxa/msg_sec_check", data=body)
        verdict = result.get("result") or {}
        return TextCheck(
            suggest=str(verdict.get("suggest", "review")),
            label=int(verdict.get("label", 21000)),
            trace_id=str(result.get("trace_id", "")),
        )

    def get_wxacode_unlimited(
        self,
        scene: str,
        page: str = "pages/report/index",
        width: int = 430,
        check_path: bool = False,
        env_version: str = "release",
    ) -> bytes:
        """Create a permanent mini-program code (小程序码) for `scene` and return the image bytes.

        https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/qrcode-link/qr-code/getUnlimitedQRCode.html
        Side effects: one POST. A JSON answer is an error and raises.
        """
        body = {
            "scene": scene,
            "page": page,
            "width": width,
            "check_path": check_path,
            "env_version": env_version,
        }
        result = self.wxa._post("wxa/getwxacodeunlimit", data=body)
        if isinstance(result, dict):
            # errcode 0 with JSON instead of an image: not a usable answer.
            raise WeChatRequestInvalid(result.get("errcode"), str(result.get("errmsg", "no image")))
        return result.content

    def media_check_async(self, openid: str, media_url: str, media_type: int = 2, scene: int = 2) -> str:
        """Submit an image (media_type 2) for the asynchronous media check; returns the trace_id.

        https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/sec-center/sec-check/mediaCheckAsync.html
        Side effects: one POST; WeChat fetches `media_url` and pushes the verdict (event wxa_media_check)
        to the message-push endpoint within about 30 minutes.
        """
        body = {"media_url": media_url, "media_type": media_type, "version": 2, "openid": openid, "scene": scene}
        result = self.wxa._post("wxa/media_check_async", data=body)
        return str(result.get("trace_id", ""))
