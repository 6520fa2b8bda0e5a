from __future__ import annotations

import pytest
from sqlalchemy import select

from models import QrCode, Unit


@pytest.fixture
def scene(app, demo):
    with app.extensions["xinma.sessionmaker"]() as session:
        unit = session.scalar(select(Unit).where(Unit.name == "梁堂村第一网格"))
        return session.scalar(select(QrCode.token).where(QrCode.unit_id == unit.id, QrCode.revoked_at.is_(None)))


@pytest.fixture
def job_runtime(settings_env):
    """Jobs run in this process against the test database and sandbox, as a worker would run them."""
    from models.settings import load_settings
    from workers import runtime

    previous = runtime._runtime
    rt = runtime.install(load_settings(settings_env))
    yield rt
    runtime._runtime = previous
