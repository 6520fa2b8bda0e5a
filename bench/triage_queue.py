"""Benchmark: the grid worker's queue page and the similar-complaints lookup on a large PostgreSQL district.

Fills the database named by XINMA_BENCH_DATABASE_URL (default: the local `xinma_bench` database; the schema is
dropped and rebuilt) with a 10,000-unit district and 1,000,000 complaints using generate_series, then times,
through the Flask test client, the queue page and the complaint page (which runs the similar lookup) for a worker
whose units hold about 2,000 complaints, and the similar lookup alone. /healthz and the sign-in page, timed in the
same run, are the baseline. Prints p50/p95 in milliseconds and as ratios to the baseline.

    /tmp/venv/bin/python bench/triage_queue.py            # 1,000,000 complaints, 10,000 units
    /tmp/venv/bin/python bench/triage_queue.py --small    # 100,000 complaints, 10,000 units
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select, text  # noqa: E402
from support import LOCAL, ensure_database  # noqa: E402

from models.db import make_engine, upgrade  # noqa: E402
from web.messages import COMPLAINT_CATEGORIES  # noqa: E402

URL = os.environ.get("XINMA_BENCH_DATABASE_URL", LOCAL + "xinma_bench")
STREETS, COMMUNITIES_PER_STREET, GRIDS_PER_COMMUNITY = 9, 10, 110  # 1 + 9 + 90 + 9,900 = 10,000 units
WORKER_GRIDS = 20
PHRASES = ["小区", "东门", "路灯", "坏了", "晚上", "很黑", "下水道", "堵塞", "楼道", "杂物", "停车", "占道", "噪音",
           "装修", "垃圾", "没人清", "电动车", "飞线充电", "物业", "不管", "宠物", "扰民", "漏水", "屋顶"]


def fill(engine, complaints: int) -> None:
    """Rebuild the schema and fill it; every row comes from generate_series inside PostgreSQL."""
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    upgrade(URL)
    communities = STREETS * COMMUNITIES_PER_STREET
    first_grid = 2 + STREETS + communities
    grids = communities * GRIDS_PER_COMMUNITY
    cats = "ARRAY[" + ",".join(f"'{c}'" for c in COMPLAINT_CATEGORIES) + "]"
    words = "ARRAY[" + ",".join(f"'{w}'" for w in PHRASES) + "]"
    first_community = 2 + STREETS
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO units (id, code, name, level, parent_id, path, created_at) "
                          "VALUES (1, 'D1', '基准区', 'district', NULL, '/1/', now())"))
        conn.execute(text(f"""INSERT INTO units (id, code, name, level, parent_id, path, created_at)
            SELECT i, 'S' || i, '街道' || i, 'street', 1, '/1/' || i || '/', now()
            FROM generate_series(2, {1 + STREETS}) i"""))
        conn.execute(text(f"""INSERT INTO units (id, code, name, level, parent_id, path, created_at)
            SELECT i, 'C' || i, '社区' || i, 'community', p, '/1/' || p || '/' || i || '/', now()
            FROM (SELECT i, 2 + (i - {first_community}) / {COMMUNITIES_PER_STREET} AS p
                  FROM generate_series({first_community}, {first_community + communities - 1}) i) s"""))
        conn.execute(text(f"""INSERT INTO units (id, code, name, level, parent_id, path, created_at)
            SELECT i, 'G' || i, '网格' || i, 'grid', c,
                   '/1/' || (2 + (c - {first_community}) / {COMMUNITIES_PER_STREET}) || '/' || c || '/' || i || '/',
                   now()
            FROM (SELECT i, {first_community} + (i - {first_grid}) / {GRIDS_PER_COMMUNITY} AS c
                  FROM generate_series({first_grid}, {first_grid + grids - 1}) i) s"""))
        conn.execute(text("INSERT INTO residents (id, openid, created_at) "
                          "SELECT i, 'o-bench-' || i, now() FROM generate_series(1, 10000) i"))
        conn.execute(text(f"""INSERT INTO complaints (unit_id, resident_id, category, text, state, created_at,
                                                      state_changed_at)
            SELECT {first_grid} + (g % {grids}), 1 + g % 10000, ({cats})[1 + (g / 9900 * 3 + g / 7) % 10],
                   w[1 + (g * 31) % 24] || w[1 + (g * 17) % 24] || w[1 + (g * 13) % 24] || '，'
                   || w[1 + (g * 7) % 24] || w[1 + (g * 3) % 24] || '已经好几天了',
                   CASE WHEN k < 3 THEN 'awaiting_triage' WHEN k < 6 THEN 'solved'
                        WHEN k < 8 THEN 'not_deliberable' ELSE 'closed' END,
                   t, t
            FROM (SELECT g, (g / {grids}) % 10 AS k, {words} AS w,
                         now() - (g % 365) * interval '1 day' - (g % 86400) * interval '1 second' AS t
                  FROM generate_series(1::bigint, {complaints}) g) s"""))
        for table in ("units", "residents"):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))


def add_worker(engine) -> tuple[int, int]:
    """A grid worker covering WORKER_GRIDS grids of the first community; returns (complaints in scope, awaiting)."""
    from werkzeug.security import generate_password_hash

    first_grid = 2 + STREETS + STREETS * COMMUNITIES_PER_STREET
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO staff (id, username, display_name, password_hash, role, active, created_at) "
                          "VALUES (1, 'bench', '基准网格员', :h, 'grid_worker', true, now())"),
                     {"h": generate_password_hash("bench-password", method="pbkdf2:sha256:1000")})
        conn.execute(text(f"INSERT INTO staff_units (staff_id, unit_id) SELECT 1, i FROM "
                          f"generate_series({first_grid}, {first_grid + WORKER_GRIDS - 1}) i"))
        scope = f"unit_id BETWEEN {first_grid} AND {first_grid + WORKER_GRIDS - 1}"
        total = conn.scalar(text(f"SELECT count(*) FROM complaints WHERE {scope}"))
        awaiting = conn.scalar(text(f"SELECT count(*) FROM complaints WHERE {scope} AND state = 'awaiting_triage'"))
    return total, awaiting


def timed(fn, n: int) -> list[float]:
    out = []
    for i in range(n):
        start = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - start) * 1000)
    return out


def pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", action="store_true", help="100,000 complaints instead of 1,000,000")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--keep", action="store_true", help="reuse the data already in the database")
    args = parser.parse_args()
    complaints = 100_000 if args.small else 1_000_000
    ensure_database(URL)
    engine = make_engine(URL)
    if not args.keep:
        started = time.perf_counter()
        fill(engine, complaints)
        print(f"filled {complaints:,} complaints over 10,000 units in {time.perf_counter() - started:.1f}s")
    else:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM staff_units; DELETE FROM staff"))
    total, awaiting = add_worker(engine)
    print(f"worker scope: {WORKER_GRIDS} grids, {total:,} complaints, {awaiting:,} awaiting triage")

    from app import create_app
    from models import Complaint, ComplaintState, Staff
    from triage.similar import similar
    from web.settings import load_settings

    instance = tempfile.mkdtemp(prefix="xinma-bench-")
    app = create_app(load_settings({"XINMA_INSTANCE": instance, "XINMA_DATABASE_URL": URL,
                                    "XINMA_WECHAT_API_BASE": "http://127.0.0.1:9/"}))
    client = app.test_client()
    page = client.get("/staff/signin").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    res = client.post("/staff/signin", data={"username": "bench", "password": "bench-password", "csrf_token": csrf})
    assert res.status_code == 302, res.status_code
    factory = app.extensions["xinma.sessionmaker"]
    with factory() as session:
        staff = session.get(Staff, 1)
        ids = list(session.scalars(select(Complaint.id).where(
            Complaint.unit_id.in_([u.id for u in staff.units]),
            Complaint.state == ComplaintState.awaiting_triage).order_by(Complaint.id).limit(args.requests)))

    def get(path: str):
        res = client.get(path)
        assert res.status_code == 200, (path, res.status_code)

    n = args.requests
    for i in range(20):  # warm up connections, caches and templates
        get("/healthz")
        get("/triage/")
        get(f"/triage/complaints/{ids[i % len(ids)]}")
    cats = COMPLAINT_CATEGORIES
    results = {
        "baseline /healthz": timed(lambda i: get("/healthz"), n),
        "baseline sign-in page": timed(lambda i: get("/staff/signin"), n),
        "queue page": timed(lambda i: get("/triage/" if i % 3 == 0 else
                                          f"/triage/?page={1 + i % 5}" if i % 3 == 1 else
                                          f"/triage/?category={cats[i % len(cats)]}"), n),
        "complaint page (with similar)": timed(lambda i: get(f"/triage/complaints/{ids[i % len(ids)]}"), n),
    }

    def lookup(i: int) -> None:
        with factory() as session:
            worker = session.get(Staff, 1)
            similar(session, worker, session.get(Complaint, ids[i % len(ids)]))

    results["similar lookup alone"] = timed(lookup, n)
    base = pct(results["baseline sign-in page"], 50)
    print(f"\n{n} requests each, PostgreSQL, {complaints:,} complaints; ratios against the sign-in page's p50")
    print(f"{'measure':32} {'p50 ms':>8} {'p95 ms':>8} {'p50 ×':>7} {'p95 ×':>7}")
    for name, values in results.items():
        p50, p95 = pct(values, 50), pct(values, 95)
        print(f"{name:32} {p50:8.1f} {p95:8.1f} {p50 / base:7.1f} {p95 / base:7.1f}")
    ok = all(pct(results[k], 95) < 100 for k in ("queue page", "complaint page (with similar)",
                                                   "similar lookup alone"))
    print("\ntarget p95 < 100 ms for the queue and the similar lookup:", "met" if ok else "NOT met")
    app.extensions["xinma.engine"].dispose()
    engine.dispose()


if __name__ == "__main__":
    main()
