"""What the benchmark scripts share: each one's own PostgreSQL database on the local server, made when missing."""

from __future__ import annotations

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

LOCAL = "postgresql+psycopg://postgres@127.0.0.1:5432/"


def ensure_database(url: str) -> str:
    """Create the benchmark database when the server does not have it yet; returns `url`."""
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database}) is None:
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()
    return url
