"""Engines, sessions and the schema: created from a URL, built by running the Alembic migrations."""

from __future__ import annotations

import os
import time
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str, **kw) -> Engine:
    """An engine for SQLite (embedded) or PostgreSQL (production), with SQLite set up for concurrent use."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kw)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - run on every connection
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

    else:
        engine = create_engine(url, **kw)
    _ping_when_idle(engine)
    return engine


IDLE_PING = 1.0  # seconds a pooled connection may sit unused before it is checked at checkout


def _ping_when_idle(engine: Engine) -> None:
    """SQLAlchemy's pre-ping, for connections that sat in the pool longer than IDLE_PING only.

    A dead connection (the database restarted meanwhile, which takes longer than a second) is found and replaced
    before a request uses it, as with `pool_pre_ping`; a connection back from the previous request a moment ago is
    not pinged again, which under load would cost every request a round trip. A connection that breaks while in
    use is invalidated by SQLAlchemy as usual.
    """

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_conn, record) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_conn, record, _proxy) -> None:
        since = record.info.get("idle_since")
        if since is not None and time.monotonic() - since < IDLE_PING:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_conn)
        except Exception:
            alive = False
        if not alive:
            raise exc.DisconnectionError("connection was closed while idle")  # the pool retries with a new one


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """The project's sessions on `engine`; each keeps the statistics' running sums (models.stats.watch)."""
    from .stats import watch

    factory = sessionmaker(engine, expire_on_commit=False)
    watch(factory)
    return factory


def alembic_config(url: str):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str) -> None:
    """Bring the database at `url` to the newest migration."""
    from alembic import command

    command.upgrade(alembic_config(url), "heads")


class ProcessEngine:
    """One engine per process: a forked RQ work horse must not reuse its parent's connections."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._pid = -1
        self._engine: Engine | None = None
        self._factory: sessionmaker[Session] | None = None

    def sessionmaker(self) -> sessionmaker[Session]:
        if self._pid != os.getpid() or self._factory is None:
            if self._engine is not None:
                self._engine.dispose(close=False)
            self._engine = make_engine(self.url)
            self._factory = make_sessionmaker(self._engine)
            self._pid = os.getpid()
        return self._factory
