"""Benchmark: the statistics page over a district's five years on PostgreSQL.

Fills the database with 10,000 units, 1,000,000 complaints and 100,000 topics (with their answers, meetings,
outcomes, assignments and ratings) using generate_series, then requests the statistics page for the district
and for one street over several periods (with the comparison of the units below and the 12-month trend), and
the ledger's first page, and prints p50/p95 against a baseline page (/healthz) measured in the same run. The data
is loaded with SQL, so the running sums are rebuilt from it (`xinma stats rebuild`) and timed.

    python bench/council_stats.py [--small] [--requests 60] [--url postgresql+psycopg://...]

The database at --url is emptied (schema dropped) first, unless --reuse measures what a previous run left.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402
from support import LOCAL, ensure_database  # noqa: E402

from models.db import make_engine, upgrade  # noqa: E402
from models.stats import CHINA, rebuild  # noqa: E402

DEFAULT_URL = LOCAL + "xinma_bench_stats"


def fill(engine, *, streets: int, communities: int, units: int, complaints: int, topics: int) -> None:
    """Units district → streets → communities → grids, then five years of activity, all in SQL."""
    grids = units - 1 - streets - communities
    c0, g0 = 2 + streets, 2 + streets + communities
    sql = f"""
    INSERT INTO units (id, code, name, level, parent_id, path, created_at)
      VALUES (1, 'D', '铜山区', 'district', NULL, '/1/', now());
    INSERT INTO units (id, code, name, level, parent_id, path, created_at)
      SELECT i, 'S' || i, '街道' || i, 'street', 1, '/1/' || i || '/', now() FROM generate_series(2, {c0 - 1}) i;
    INSERT INTO units (id, code, name, level, parent_id, path, created_at)
      SELECT i, 'C' || i, '社区' || i, 'community', 2 + (i - {c0}) % {streets},
             '/1/' || (2 + (i - {c0}) % {streets}) || '/' || i || '/', now()
      FROM generate_series({c0}, {g0 - 1}) i;
    INSERT INTO units (id, code, name, level, parent_id, path, created_at)
      SELECT i, 'G' || i, '网格' || i, 'grid', p.id, p.path || i || '/', now()
      FROM generate_series({g0}, {g0 + grids - 1}) i JOIN units p ON p.id = {c0} + (i - {g0}) % {communities};
    SELECT setval(pg_get_serial_sequence('units', 'id'), {units});
    INSERT INTO council_rooms (unit_id, name, created_at)
      SELECT id, name || '协商议事室', now() FROM units WHERE level IN ('street', 'community');
    INSERT INTO qr_codes (unit_id, token, created_at) SELECT id, md5(id::text), now() FROM units;
    INSERT INTO residents (openid, created_at) SELECT 'o-' || i, now() FROM generate_series(1, {complaints // 5}) i;
    INSERT INTO topics (unit_id, title, summary, category, state, created_at, state_changed_at)
      SELECT {c0} + i % {communities}, '议题' || i, '', 'livelihood',
             (ARRAY['proposed','approved','rejected','scheduled','agreed','no_consensus','implementing',
                    'implemented','closed','closed'])[1 + i % 10],
             now() - (i % 1825) * interval '1 day', now() - (i % 1825) * interval '1 day' + interval '20 days'
      FROM generate_series(1, {topics}) i;
    INSERT INTO complaints (unit_id, resident_id, qr_code_id, category, text, state, reason_code, topic_id,
                            merged_into_id, created_at, state_changed_at)
      SELECT {g0} + i % {grids}, 1 + i % {complaints // 5}, {g0} + i % {grids}, '设施维修', '路灯坏了',
             s.state,
             CASE WHEN s.state = 'not_deliberable' THEN (ARRAY['against_policy','individual_dispute','unfair',
                  'serious_disagreement'])[1 + i % 4] END,
             CASE WHEN s.state IN ('promoted', 'closed') THEN 1 + i % {topics} END,
             CASE WHEN s.state = 'merged' THEN i - 1 END,
             now() - (i % 1825) * interval '1 day' - (i % 24) * interval '1 hour',
             now() - (i % 1825) * interval '1 day' - (i % 24) * interval '1 hour'
               + (30 + (i * 53) % 8640) * interval '1 minute'
      FROM generate_series(1, {complaints}) i,
           LATERAL (SELECT (ARRAY['awaiting_triage','not_deliberable','not_deliberable','solved','solved','solved',
                                  'solved','promoted','closed','merged'])[1 + (i * 7) % 10] AS state) s;
    INSERT INTO audit_events (subject_kind, subject_id, action, from_state, to_state, actor_kind, data, created_at)
      SELECT 'complaint', id, CASE state WHEN 'not_deliberable' THEN 'decline' WHEN 'solved' THEN 'solve'
                                         WHEN 'merged' THEN 'merge' ELSE 'promote' END,
             'awaiting_triage', state, 'staff', '{{}}', created_at + (7 + (id * 37) % 2880) * interval '1 minute'
      FROM complaints WHERE state <> 'awaiting_triage';
    INSERT INTO meetings (unit_id, starts_at, place, form, minutes, created_at)
      SELECT {c0} + i % {communities}, now() - (i % 1825) * interval '1 day', '议事室', 'forum', '纪要', now()
      FROM generate_series(1, {topics // 5}) i;
    INSERT INTO meeting_details (meeting_id, title, held_at) SELECT id, '议事会', starts_at FROM meetings;
    INSERT INTO meeting_outcomes (meeting_id, topic_id, result, solution, created_at)
      SELECT 1 + t.id % {topics // 5}, t.id,
             CASE WHEN t.state = 'no_consensus' THEN 'no_consensus' ELSE 'consensus' END,
             '方案', t.state_changed_at
      FROM topics t WHERE t.state IN ('agreed', 'no_consensus', 'implementing', 'implemented', 'closed');
    INSERT INTO assignments (topic_id, lead_kind, lead_name, due_on, percent, round, created_at)
      SELECT id, 'branch', '支部', (created_at + interval '60 days')::date,
             CASE WHEN state = 'implementing' THEN 50 ELSE 100 END, 1, created_at
      FROM topics WHERE state IN ('implementing', 'implemented', 'closed');
    INSERT INTO ratings (topic_id, resident_id, round, level, reason, source, created_at)
      SELECT t.id, 1 + t.id % {complaints // 5}, 1, (ARRAY['satisfied','satisfied','satisfied','basic'])[1 + t.id % 4],
             '', 'resident', t.state_changed_at
      FROM topics t WHERE t.state = 'closed';
    """
    with engine.begin() as conn:
        for statement in [s for s in sql.split(";\n") if s.strip()]:
            conn.execute(text(statement))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))


def measure(client, path: str, n: int) -> list[float]:
    client.get(path)  # warm up
    times = []
    for _ in range(n):
        start = time.perf_counter()
        res = client.get(path)
        times.append((time.perf_counter() - start) * 1000)
        assert res.status_code == 200, res.get_data(as_text=True)[:300]
    return times


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", action="store_true", help="a tenth of the data, for a quick look")
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--reuse", action="store_true", help="measure the data a previous run left")
    parser.add_argument("--url", default=os.environ.get("XINMA_BENCH_DATABASE_URL", DEFAULT_URL))
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    scale = 10 if args.small else 1

    engine = make_engine(ensure_database(args.url))
    if not args.reuse:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        upgrade(args.url)
        started = time.perf_counter()
        fill(engine, streets=20, communities=500 // scale, units=10_000 // scale, complaints=1_000_000 // scale,
             topics=100_000 // scale)
        print(f"filled in {time.perf_counter() - started:.0f} s")
        started = time.perf_counter()
        with Session(engine) as session:  # the same command as `xinma stats rebuild`
            cells = rebuild(session)
            session.commit()
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE stat_cells"))
        print(f"running sums rebuilt from the base tables in {time.perf_counter() - started:.0f} s ({cells:,} rows)")
    with engine.connect() as conn:
        for table in ("units", "complaints", "topics", "audit_events", "meetings", "ratings", "stat_cells"):
            print(f"  {table}: {conn.execute(text(f'SELECT count(*) FROM {table}')).scalar():,}")

    from werkzeug.security import generate_password_hash

    from app import create_app
    from models import Staff, StaffRole, Unit, utcnow
    from web.settings import load_settings

    settings = load_settings({"XINMA_DATABASE_URL": args.url, "XINMA_INSTANCE": "/tmp/xinma-bench",
                              "XINMA_PUBLIC_URL": "http://bench.test"})
    app = create_app(settings)
    with app.extensions["xinma.sessionmaker"]() as session:
        district = session.get(Unit, 1)
        session.execute(text("DELETE FROM staff_units WHERE staff_id IN "
                             "(SELECT id FROM staff WHERE username = 'bench')"))
        session.execute(text("DELETE FROM staff WHERE username = 'bench'"))
        session.add(Staff(username="bench", display_name="统计员", password_hash=generate_password_hash("bench-pass"),
                          role=StaffRole.admin, units=[district], created_at=utcnow()))
        session.commit()
    client = app.test_client()
    page = client.get("/staff/signin").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post("/staff/signin", data={"username": "bench", "password": "bench-pass",
                                              "csrf_token": token}).status_code == 302

    n = max(args.requests, 50)
    today = dt.datetime.now(CHINA).date()
    periods = {
        "all time": {},
        "last 365 days": {"from": (today - dt.timedelta(days=364)).isoformat()},
        "one month": {"from": "2025-10-01", "to": "2025-10-31"},
        "odd range": {"from": (today - dt.timedelta(days=1500)).isoformat(),
                      "to": (today - dt.timedelta(days=123)).isoformat()},
    }
    baseline = measure(client, "/healthz", n)
    base95 = p95(baseline)
    print(f"requests per page: {n}")
    print(f"  {'baseline /healthz':<34} p50 {statistics.median(baseline):8.1f} ms   p95 {base95:8.1f} ms")
    target, worst = 300.0, {}
    for unit_name, unit_id in (("district", 1), ("street", 2)):
        for label, args_ in periods.items():
            query = "&".join(f"{k}={v}" for k, v in {"unit": unit_id, **args_}.items())
            values = measure(client, f"/council/stats?{query}", n)
            worst[unit_name] = max(worst.get(unit_name, 0.0), p95(values))
            print(f"  stats {unit_name:<8} {label:<19} p50 {statistics.median(values):8.1f} ms   "
                  f"p95 {p95(values):8.1f} ms   p95 ratio to baseline {p95(values) / base95:6.1f}x")
    for name, value in worst.items():
        print(f"  target p95 < {target:.0f} ms for {name} (worst period {value:.1f} ms): "
              f"{'met' if value < target else 'NOT met'}")
    # The ledger counts the complaints table itself (its figures are checked against the sums'), and pages it.
    for unit_name, unit_id in (("district", 1), ("street", 2)):
        for label in ("all time", "last 365 days", "one month"):
            query = "&".join(f"{k}={v}" for k, v in {"unit": unit_id, **periods[label]}.items())
            values = measure(client, f"/council/ledger?{query}", max(n // 5, 10))
            print(f"  ledger {unit_name:<7} {label:<19} p50 {statistics.median(values):8.1f} ms   "
                  f"p95 {p95(values):8.1f} ms")
    app.extensions["xinma.engine"].dispose()
    engine.dispose()


if __name__ == "__main__":
    main()
