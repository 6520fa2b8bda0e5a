"""Pooled connections are pinged when they sat idle, and replaced when the ping fails; busy ones are not pinged."""

from __future__ import annotations

from sqlalchemy import text

from models import db as models_db


def test_an_idle_dead_connection_is_replaced_and_a_busy_one_is_not_pinged(database_url, monkeypatch):
    engine = models_db.make_engine(database_url)
    pings = []
    dead = []  # the connection objects themselves (an id could be reused once one is gone)

    def ping(dbapi_conn) -> bool:
        pings.append(dbapi_conn)
        return not any(dbapi_conn is d for d in dead)

    monkeypatch.setattr(engine.dialect, "do_ping", ping)
    try:
        with engine.connect() as conn:
            first = conn.connection.dbapi_connection
        pings.clear()
        for _ in range(5):  # back from the previous use a moment ago: no ping, the same connection
            with engine.connect() as conn:
                assert conn.connection.dbapi_connection is first
                assert conn.execute(text("SELECT 1")).scalar() == 1
        assert pings == []

        monkeypatch.setattr(models_db, "IDLE_PING", 0.0)  # from now on every checkout counts as after idling
        dead.append(first)  # as if the database had restarted while it sat in the pool
        with engine.connect() as conn:
            assert conn.connection.dbapi_connection is not first
            assert conn.execute(text("SELECT 1")).scalar() == 1
        assert pings[0] is first and len(pings) == 2  # the dead one was found; its replacement answered
    finally:
        engine.dispose()
