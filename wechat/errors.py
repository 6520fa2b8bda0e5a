"""Typed WeChat errors with stable English codes; callers decide on the class, never on errmsg.

Retry policy lives in the class tree: only `WeChatRetryable` subclasses are worth retrying later.
"""

from __future__ import annotations


class WeChatError(Exception):
    """Any failure answered by (or while reaching) WeChat."""

    code = "wechat_error"

    def __init__(self, errcode: int | None = None, errmsg: str = "") -> None:
        self.errcode = errcode
        self.errmsg = errmsg
        super().__init__(f"{self.code}: errcode={errcode} {errmsg}".rstrip())


class WeChatLoginCodeInvalid(WeChatError):
    """The wx.login code is unknown, expired or already used (40029, 40163)."""

    code = "wechat_login_code_invalid"


class WeChatLoginBlocked(WeChatError):
    """WeChat blocked the login of a high-risk user (40226, "code blocked"): a new code is blocked the same way.

    https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/user-login/code2Session.html
    """

    code = "wechat_login_blocked"


class WeChatPhoneCodeInvalid(WeChatError):
    """The getPhoneNumber button's code is unknown, expired, already used or another app's (40029).

    https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/user-info/phone-number/getPhoneNumber.html
    """

    code = "wechat_phone_code_invalid"


class WeChatNoSubscription(WeChatError):
    """The user never accepted this template, refused it, or the one-time quota is used up (43101)."""

    code = "wechat_no_subscription"


class WeChatRetryable(WeChatError):
    """A transient failure: the same call may succeed later."""

    code = "wechat_retryable"


class WeChatRateLimited(WeChatRetryable):
    """Daily (45009) or per-minute (45011) quota reached."""

    code = "wechat_rate_limited"


class WeChatUserBusy(WeChatRetryable):
    """Another call to the same user is still in flight (43108): the same call succeeds once that one is done.

    https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/mp-message-management/subscribe-message/sendMessage.html
    """

    code = "wechat_user_busy"


class WeChatServerError(WeChatRetryable):
    """WeChat answered HTTP 5xx or errcode -1 (system busy)."""

    code = "wechat_server_error"


class WeChatUnreachable(WeChatRetryable):
    """No answer: timeout, connection refused or reset (errcode is None)."""

    code = "wechat_unreachable"


class WeChatOutcomeUnknown(WeChatUnreachable):
    """The request was sent but no answer came in time (read timeout): WeChat may have acted on it.

    Idempotent calls (content checks) may treat it as any other unreachable WeChat; a subscribe message must
    not be re-sent blindly, since WeChat has no idempotency key and a slow server may still deliver it.
    """

    code = "wechat_outcome_unknown"


class WeChatTokenError(WeChatError):
    """No usable access token: still rejected after one refresh, or the token fetch itself failed."""

    code = "wechat_token_error"


class WeChatMisconfigured(WeChatTokenError):
    """The account's settings are wrong: appid (40013), AppSecret (40125) or the API IP whitelist (40164).

    Nothing works until an operator fixes them; retrying will not help.
    """

    code = "wechat_misconfigured"


class WeChatRequestInvalid(WeChatError):
    """WeChat refused the request itself (bad argument, template, openid...); retrying will not help."""

    code = "wechat_request_invalid"


class WeChatUserInactive(WeChatRequestInvalid):
    """The user has not opened the mini-program recently (61010), so per-user checks are refused."""

    code = "wechat_user_inactive"


# Access-token errcodes the gateway answers with one refresh and one retry.
TOKEN_INVALID_ERRCODES = frozenset({40001, 40014, 42001})

_BY_ERRCODE: dict[int, type[WeChatError]] = {
    -1: WeChatServerError,
    40029: WeChatLoginCodeInvalid,
    40163: WeChatLoginCodeInvalid,
    40226: WeChatLoginBlocked,
    43101: WeChatNoSubscription,
    43108: WeChatUserBusy,
    45009: WeChatRateLimited,
    45011: WeChatRateLimited,
    40001: WeChatTokenError,
    40014: WeChatTokenError,
    42001: WeChatTokenError,
    41001: WeChatTokenError,
    40002: WeChatTokenError,
    40013: WeChatMisconfigured,
    40125: WeChatMisconfigured,
    40164: WeChatMisconfigured,
    61010: WeChatUserInactive,
}


def error_for(errcode: int | None, errmsg: str = "") -> WeChatError:
    """Return the typed error for a WeChat errcode (not raised); unknown non-zero codes are invalid requests.

    No side effects.
    """
    if errcode is None:
        return WeChatUnreachable(None, errmsg)
    return _BY_ERRCODE.get(errcode, WeChatRequestInvalid)(errcode, errmsg)
