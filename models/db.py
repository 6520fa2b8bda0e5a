"""Engines, sessions and the schema: created from a URL, built by running the Alembic migrations."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
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

        return engine
    return create_engine(url, pool_pre_ping=True, **kw)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


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
