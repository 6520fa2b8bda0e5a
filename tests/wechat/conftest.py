"""Fixtures: the WeChat sandbox on a real local port, a fake clock, and the real WeChatGateway pointed at it."""

from __future__ import annotations

import pytest

from wechat import WeChatGateway, create_sandbox_app, serve_in_thread

from .support import APPID, SECRET, TEMPLATES, FakeClock, Sandbox


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_sandbox(clock):
    running = []

    def make(**overrides) -> Sandbox:
        options = {"appid": APPID, "secret": SECRET, "templates": TEMPLATES, "clock": clock, **overrides}
        server, thread, url = serve_in_thread(create_sandbox_app(**options))
        sandbox = Sandbox(options, url)
        running.append((server, thread, sandbox))
        return sandbox

    yield make
    for server, thread, sandbox in running:
        sandbox.http.close()
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def sandbox(make_sandbox) -> Sandbox:
    return make_sandbox()


@pytest.fixture
def make_gateway():
    made = []

    def make(base_url: str, **kwargs) -> WeChatGateway:
        kwargs.setdefault("timeout", 2.0)
        gateway = WeChatGateway(kwargs.pop("appid", APPID), kwargs.pop("secret", SECRET), base_url=base_url, **kwargs)
        made.append(gateway)
        return gateway

    yield make
    for gateway in made:
        gateway.close()


@pytest.fixture
def gateway(make_gateway, sandbox) -> WeChatGateway:
    return make_gateway(sandbox.url)


@pytest.fixture
def resident(sandbox, gateway) -> str:
    """A resident who opened the mini-program just now (logged in through code2Session)."""
    openid = "o-resident-1"
    sandbox.control("POST", "/_sandbox/users", {"openid": openid, "nickname": "张阿姨"})
    gateway.code_to_session(sandbox.login_code(openid))
    return openid
