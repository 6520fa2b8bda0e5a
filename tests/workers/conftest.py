"""Fixtures for delivery fault tests: fast back-off, a Redis server the test may stop, rows in the outbox."""

from __future__ import annotations

import collections
import shutil
import socket
import subprocess

import pytest
import redis as redis_lib
from sqlalchemy import select

from models import Notification, NotificationState, Resident, utcnow
from models.lifecycle import notify
from tests.conftest import Workers, needs, wait_for
from web.settings import load_settings

FAST = {"XINMA_DELIVERY_RETRY_INTERVALS": "0.5,0.5,1,1,1", "XINMA_DELIVERY_THREADS": "4"}
FINAL = {NotificationState.sent, NotificationState.undeliverable, NotificationState.failed,
         NotificationState.needs_review}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A redis-server of the test's own (never the machine's), stopped and started like an outage."""

    def __init__(self, tmp) -> None:
        self.port = free_port()
        self.dir = tmp
        self.proc: subprocess.Popen | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", str(self.dir)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis_lib.Redis(port=self.port, socket_connect_timeout=1)
        wait_for(lambda: _pings(client), timeout=10, what="redis-server to start")
        client.close()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def _pings(client) -> bool:
    try:
        return client.ping()
    except redis_lib.ConnectionError:
        return False


@pytest.fixture
def own_redis(tmp_path):
    if not shutil.which("redis-server"):
        needs("redis-server")
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fast_env(live_env):
    return dict(live_env, **FAST)


@pytest.fixture
def fast_app(fast_env, db_clean):
    from app import create_app

    application = create_app(load_settings(fast_env))
    yield application
    application.extensions["xinma.engine"].dispose()


@pytest.fixture
def fast_workers(fast_env, tmp_path, request):
    pool = Workers(fast_env, tmp_path)
    yield pool
    pool.stop_all()
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        print("--- worker logs ---\n" + pool.logs())


def outbox(app, sandbox, n: int, *, openid: str = "o-resident-fault", event: str = "complaint_received",
           subscribe: bool = True) -> list[int]:
    """Write `n` outbox rows for one resident in one commit (handed over to the workers after it)."""
    from workers.rendering import template_id

    if subscribe:
        for _ in range(n):
            sandbox.subscribe(openid, template_id(event))
    else:
        sandbox.control("POST", "/_sandbox/users", {"openid": openid})
    with app.extensions["xinma.sessionmaker"]() as session:
        resident = session.scalar(select(Resident).where(Resident.openid == openid))
        if resident is None:
            resident = Resident(openid=openid, created_at=utcnow())
            session.add(resident)
            session.flush()
        rows = [notify(session, event, recipient_kind="resident", recipient_id=resident.id, openid=openid,
                       params={"complaint_id": i + 1, "category": "停车", "unit_name": "幸福社区第一网格",
                               "at": utcnow().isoformat()}) for i in range(n)]
        session.commit()
        return [r.id for r in rows]


def sent_per_row(sandbox) -> collections.Counter:
    """How many messages the sandbox received for each outbox row (the page carries &n=<row id>)."""
    return collections.Counter(int(m["page"].rsplit("&n=", 1)[1]) for m in sandbox.messages())


def settle(db, ids: list[int], timeout: float = 60) -> dict[int, Notification]:
    """Wait until every row is in a final state; return them by id."""

    def done():
        db.expire_all()
        rows = db.scalars(select(Notification).where(Notification.id.in_(ids))).all()
        return rows if len(rows) == len(ids) and all(r.state in FINAL for r in rows) else None

    return {r.id: r for r in wait_for(done, timeout=timeout, what="every row to reach a final state")}


def wait_started(redis_url: str, timeout: float = 30) -> None:
    """Wait until a worker has started a job (so a kill lands inside it)."""
    from workers.queues import make_queue, redis_connection

    conn = redis_connection(redis_url)
    queue = make_queue(conn)
    wait_for(lambda: queue.started_job_registry.count > 0, timeout=timeout, what="a job to start")
    conn.close()


