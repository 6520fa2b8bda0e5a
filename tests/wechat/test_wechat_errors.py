"""error_for: the mapping every caller's retry decision rests on."""

from __future__ import annotations

import pytest

from wechat import (
    WeChatLoginCodeInvalid,
    WeChatNoSubscription,
    WeChatRateLimited,
    WeChatRequestInvalid,
    WeChatRetryable,
    WeChatServerError,
    WeChatTokenError,
    WeChatUnreachable,
    WeChatUserInactive,
    error_for,
)
from wechat.errors import WeChatLoginBlocked, WeChatMisconfigured, WeChatUserBusy


@pytest.mark.parametrize(
    ("errcode", "cls", "retryable"),
    [
        (40029, WeChatLoginCodeInvalid, False),
        (40163, WeChatLoginCodeInvalid, False),
        (40226, WeChatLoginBlocked, False),
        (43101, WeChatNoSubscription, False),
        (43108, WeChatUserBusy, True),
        (45009, WeChatRateLimited, True),
        (45011, WeChatRateLimited, True),
        (-1, WeChatServerError, True),
        (None, WeChatUnreachable, True),
        (40125, WeChatMisconfigured, False),
        (40013, WeChatMisconfigured, False),
        (40164, WeChatMisconfigured, False),
        (40001, WeChatTokenError, False),
        (47003, WeChatRequestInvalid, False),
        (40037, WeChatRequestInvalid, False),
        (61010, WeChatUserInactive, False),
    ],
)
def test_error_for(errcode, cls, retryable):
    error = error_for(errcode, "msg")

    assert type(error) is cls
    assert isinstance(error, WeChatRetryable) is retryable
    assert error.errcode == errcode and error.errmsg == "msg"


def test_user_inactive_is_an_invalid_request_with_its_own_code():
    error = error_for(61010, "user access record expired")
    assert isinstance(error, WeChatRequestInvalid)
    assert error.code == "wechat_user_inactive"


def test_blocked_login_is_not_an_invalid_code_and_wrong_settings_are_a_token_error_of_their_own():
    blocked, misconfigured = error_for(40226, "code blocked"), error_for(40164, "invalid ip")
    assert not isinstance(blocked, WeChatLoginCodeInvalid) and blocked.code == "wechat_login_blocked"
    assert isinstance(misconfigured, WeChatTokenError) and misconfigured.code == "wechat_misconfigured"
