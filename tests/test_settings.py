"""Configuration: safe embedded defaults, and production refuses to start without what it needs."""

from __future__ import annotations

import subprocess
import sys

import pytest

from web.settings import SettingsError, load_settings

PRODUCTION = {
    "XINMA_MODE": "production",
    "XINMA_SECRET_KEY": "s" * 48,
    "XINMA_WECHAT_APPID": "wx1234567890abcdef",
    "XINMA_WECHAT_SECRET": "real-secret",
    "XINMA_DATABASE_URL": "postgresql+psycopg://xinma@db/xinma",
    "XINMA_REDIS_URL": "redis://cache:6379/0",
}


def test_embedded_defaults(tmp_path):
    settings = load_settings({"XINMA_INSTANCE": str(tmp_path)})
    assert settings.embedded
    assert settings.database_url == f"sqlite:///{tmp_path / 'xinma.db'}"
    assert settings.wechat_api_base == "http://127.0.0.1:8001/"  # the sandbox, never the real WeChat
    assert len(settings.secret_key) >= 48
    assert load_settings({"XINMA_INSTANCE": str(tmp_path)}).secret_key == settings.secret_key  # kept, not remade


@pytest.mark.parametrize("missing", sorted(set(PRODUCTION) - {"XINMA_MODE"}))
def test_production_refuses_to_start_without(missing, tmp_path):
    env = {k: v for k, v in PRODUCTION.items() if k != missing}
    with pytest.raises(SettingsError, match=missing):
        load_settings(dict(env, XINMA_INSTANCE=str(tmp_path)))


def test_production_uses_the_real_wechat_and_refuses_a_short_key(tmp_path):
    settings = load_settings(dict(PRODUCTION, XINMA_INSTANCE=str(tmp_path)))
    assert settings.wechat_api_base == "https://api.weixin.qq.com/"
    assert not (tmp_path / "secret_key").exists()
    with pytest.raises(SettingsError, match="at least 32"):
        load_settings(dict(PRODUCTION, XINMA_SECRET_KEY="short", XINMA_INSTANCE=str(tmp_path)))


def test_cli_says_what_is_missing(tmp_path):
    env = {"XINMA_MODE": "production", "PATH": "/usr/bin:/bin", "XINMA_INSTANCE": str(tmp_path)}
    res = subprocess.run([sys.executable, "-c", "import app; app.main()", "web"], env=env, capture_output=True,
                         text=True, timeout=60)
    assert res.returncode != 0
    assert "production mode needs XINMA_SECRET_KEY" in res.stderr


def test_delivery_settings_are_read_here_and_passed_to_the_worker(tmp_path):
    env = {"XINMA_INSTANCE": str(tmp_path), "XINMA_DELIVERY_RETRY_INTERVALS": "1, 5,30", "XINMA_DELIVERY_THREADS": "8",
           "XINMA_DIGEST_HOUR": "7", "XINMA_REMIND_AHEAD_HOURS": "2.5", "XINMA_METRICS_TOKEN": "scrape-me"}
    settings = load_settings(env)
    assert settings.delivery_retry_intervals == (1, 5, 30)
    assert (settings.delivery_threads, settings.digest_hour, settings.remind_ahead_hours) == (8, 7, 2.5)
    assert load_settings(settings.environ()) == settings  # the worker started by `xinma up` sees the same
    defaults = load_settings({"XINMA_INSTANCE": str(tmp_path)})
    assert defaults.delivery_retry_intervals == (10, 60, 300, 1800, 7200) and defaults.delivery_threads == 32


@pytest.mark.parametrize("name, value", [("XINMA_DELIVERY_RETRY_INTERVALS", "10,soon"),
                                         ("XINMA_DELIVERY_RETRY_INTERVALS", "-1"),
                                         ("XINMA_DELIVERY_THREADS", "0"), ("XINMA_DELIVERY_THREADS", "many"),
                                         ("XINMA_DIGEST_HOUR", "24"), ("XINMA_REMIND_AHEAD_HOURS", "soon")])
def test_bad_delivery_settings_refuse_to_start(name, value, tmp_path):
    with pytest.raises(SettingsError, match=name):
        load_settings({"XINMA_INSTANCE": str(tmp_path), name: value})
