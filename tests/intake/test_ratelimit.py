"""Rate limits on login and submission: 429 with Retry-After, counted across processes, by the trusted hop only."""

from __future__ import annotations

import dataclasses
import re

import pytest

from web.settings import load_settings

from .support import auth, counts, refused, sign_in


def make_app(env, **changes):
    from app import create_app

    settings = dataclasses.replace(load_settings(env), **changes)
    application = create_app(settings)
    application.config["TESTING"] = True
    return application


@pytest.fixture
def limited(settings_env, demo):
    application = make_app(settings_env, rate_limits="login_address=3/60,submit_resident=2/3600")
    yield application
    application.extensions["xinma.engine"].dispose()


def login(client, wechat_sandbox, openid="o-rl", **headers):
    return client.post("/api/v1/sessions", json={"code": wechat_sandbox.login_code(openid)}, headers=headers)


def test_login_flood_from_one_address_gets_429_with_retry_after(limited, wechat_sandbox):
    client = limited.test_client()
    for _ in range(3):
        assert login(client, wechat_sandbox).status_code == 201
    before = counts(limited)
    res = refused(login(client, wechat_sandbox), 429, "rate_limited")
    assert 1 <= int(res.headers["Retry-After"]) <= 60
    assert counts(limited) == before
    # X-Forwarded-For from an untrusted client changes nothing
    refused(login(client, wechat_sandbox, **{"X-Forwarded-For": "10.9.9.9"}), 429, "rate_limited")


def test_trusted_proxy_hop_gives_the_client_address(settings_env, demo, wechat_sandbox):
    application = make_app(settings_env, rate_limits="login_address=2/60", trusted_proxy_hops=1)
    client = application.test_client()
    try:
        for _ in range(2):
            assert login(client, wechat_sandbox, **{"X-Forwarded-For": "10.0.0.1"}).status_code == 201
        refused(login(client, wechat_sandbox, **{"X-Forwarded-For": "10.0.0.1"}), 429, "rate_limited")
        # the client cannot spoof its way out: only the last hop (set by our proxy) counts
        refused(login(client, wechat_sandbox, **{"X-Forwarded-For": "1.2.3.4, 10.0.0.1"}), 429, "rate_limited")
        assert login(client, wechat_sandbox, **{"X-Forwarded-For": "10.0.0.2"}).status_code == 201
    finally:
        application.extensions["xinma.engine"].dispose()


def test_submission_limit_per_resident(limited, wechat_sandbox, scene):
    client = limited.test_client()
    token = sign_in(client, wechat_sandbox)
    body = {"scene": scene, "category": "停车", "text": "乱停车"}
    for _ in range(2):
        assert client.post("/api/v1/complaints", json=body, headers=auth(token)).status_code == 201
    before = counts(limited)
    res = refused(client.post("/api/v1/complaints", json=body, headers=auth(token)), 429, "rate_limited")
    assert int(res.headers["Retry-After"]) >= 1
    assert counts(limited) == before
    other = sign_in(client, wechat_sandbox, "o-other")
    assert client.post("/api/v1/complaints", json=body, headers=auth(other)).status_code == 201


def test_limits_are_shared_through_redis_by_every_process(settings_env, redis_url, redis, demo, wechat_sandbox):
    env = dict(settings_env, XINMA_REDIS_URL=redis_url)
    first = make_app(env, rate_limits="login_address=3/60")
    second = make_app(env, rate_limits="login_address=3/60")
    try:
        assert login(first.test_client(), wechat_sandbox).status_code == 201
        assert login(second.test_client(), wechat_sandbox).status_code == 201
        assert login(first.test_client(), wechat_sandbox).status_code == 201
        refused(login(second.test_client(), wechat_sandbox), 429, "rate_limited")
        assert any(key.startswith(b"xinma:rl:login_address:") for key in redis.keys("xinma:rl:*"))
    finally:
        for application in (first, second):
            application.extensions["xinma.engine"].dispose()


def test_a_count_lives_as_long_as_its_window(settings_env, redis_url, redis, demo, wechat_sandbox):
    """Each window's counter is made with its expiry: Redis forgets it once the window is over."""
    application = make_app(dict(settings_env, XINMA_REDIS_URL=redis_url), rate_limits="login_address=2/60")
    client = application.test_client()
    try:
        assert login(client, wechat_sandbox).status_code == 201
        assert login(client, wechat_sandbox).status_code == 201
        refused(login(client, wechat_sandbox), 429, "rate_limited")
        keys = redis.keys("xinma:rl:login_address:*")
        assert [int(redis.get(key)) for key in keys] == [3]
        assert 0 < redis.ttl(keys[0]) <= 61
    finally:
        application.extensions["xinma.engine"].dispose()


def test_without_a_reachable_redis_the_process_counts_on_its_own(settings_env, demo, wechat_sandbox):
    """Redis down: the limits still hold, counted in the process (no 500, no free pass)."""
    application = make_app(dict(settings_env, XINMA_REDIS_URL="redis://127.0.0.1:1/0"),
                           rate_limits="login_address=2/60")
    client = application.test_client()
    try:
        for _ in range(2):
            assert login(client, wechat_sandbox).status_code == 201
        res = refused(login(client, wechat_sandbox), 429, "rate_limited")
        assert 1 <= int(res.headers["Retry-After"]) <= 60
    finally:
        application.extensions["xinma.engine"].dispose()


def test_limit_spec_is_checked():
    from web.ratelimit import DEFAULT_LIMITS, parse_limits

    assert parse_limits("off") is None
    assert parse_limits("")["login_address"] == DEFAULT_LIMITS["login_address"]
    with pytest.raises(ValueError):
        parse_limits("nonsense=1/1")


# --- the H5 page ---------------------------------------------------------------------------------------------

def h5_post(client, scene: str, text: str = "小区门口的垃圾堆了三天"):
    page = client.get(f"/h5/{scene}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client.post(f"/h5/{scene}", data={"csrf_token": token, "category": "其他", "text": text, "phone": ""})


def refused_page(res, status: int, code: str, message: str):
    body = res.get_data(as_text=True)
    assert res.status_code == status, body[:300]
    assert re.search(rf'data-code="{code}">([^<]+)<', body).group(1) == message
    return res


def test_the_41st_h5_post_from_one_address_is_refused_with_a_chinese_page(app, scene):
    client = app.test_client()
    for n in range(40):
        client.delete_cookie("xinma_device")  # a flood that drops the device cookie: the address still counts
        assert h5_post(client, scene, f"第 {n} 条").status_code == 303
    client.delete_cookie("xinma_device")
    before = counts(app)
    res = refused_page(h5_post(client, scene, "第 41 条"), 429, "rate_limited", "操作太频繁，请稍后再试。")
    assert 1 <= int(res.headers["Retry-After"]) <= 3600
    assert counts(app) == before


def test_one_browser_is_limited_by_its_device_cookie(app, scene):
    client = app.test_client()
    for _ in range(20):
        assert h5_post(client, scene).status_code == 303
    before = counts(app)
    refused_page(h5_post(client, scene), 429, "rate_limited", "操作太频繁，请稍后再试。")
    assert counts(app) == before
    assert h5_post(app.test_client(), scene).status_code == 303  # another browser at the same address
