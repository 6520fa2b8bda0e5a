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
from wechat.errors import WeChatUserBusy


@pytest.mark.parametrize(
    ("errcode", "cls", "retryable"),
    [
        (40029, WeChatLoginCodeInvalid, False),
        (40163, WeChatLoginCodeInvalid, False),
        (40226, WeChatLoginCodeInvalid, False),
        (43101, WeChatNoSubscription, False),
        (43108, WeChatUserBusy, True),
        (45009, WeChatRateLimited, True),
        (45011, WeChatRateLimited, True),
        (-1, WeChatServerError, True),
        (None, WeChatUnreachable, True),
        (40125, WeChatTokenError, False),
        (40013, WeChatTokenError, False),
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
