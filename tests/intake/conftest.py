from __future__ import annotations

import pytest


@pytest.fixture
def job_runtime(settings_env):
    """Jobs run in this process against the test database and sandbox, as a worker would run them."""
    from web.settings import load_settings
    from workers import runtime

    previous = runtime._runtime
    rt = runtime.install(load_settings(settings_env))
    yield rt
    runtime._runtime = previous
