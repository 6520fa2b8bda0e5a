"""Benchmark: hotspot quality on the labelled set, and the time to suggest hotspots for a community with 10,000
open complaints.

Quality: bench/data/hotspots_labelled.json (paraphrased clusters from the seeds' matters and noise complaints
that belong to no cluster, each with a gold id) is written into the demo district as complaints awaiting triage;
the function the page calls (`council.hotspot_services.hotspots`, every cluster kept: min_size 1) groups them, and
the script prints B-cubed precision and recall (per complaint: the share of its found cluster that shares its gold
id, and the share of its gold cluster found with it) and pairwise precision and recall, plus how many gold
clusters of 3 or more came out as one suggestion. Target: >= 0.8 each.

Speed: one community with 10,000 complaints awaiting triage over the last 30 days (the labelled texts varied by
place words and filler, across its grids, 3,000 residents), a secretary over it; the page GET /council/hotspots
through the Flask test client and the function alone, each timed over repeated requests after the first (which
segments the 10,000 texts once and keeps their words). The page keeps a village's clusters while its open complaints
stay the same; the function is also timed clustering on every call (`cached=False`). Target: p95 < 500 ms.

    python bench/hotspots.py                                   # embedded SQLite in a temporary folder
    python bench/hotspots.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/xinma_bench_hotspots
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select, text  # noqa: E402
from support import ensure_database  # noqa: E402

from models.db import make_engine, upgrade  # noqa: E402

LABELLED = Path(__file__).parent / "data" / "hotspots_labelled.json"
GRID_OF = {"梁堂村": "梁堂村第一网格", "汉王村": "汉王村第一网格", "彭城社区": "彭城社区第一网格"}
PLACES = ["", "", "", "3号楼", "东门", "南区", "二组", "老街", "菜场旁边", "幼儿园门口", "北面那排房子", "5单元"]
PASSWORD = "bench-password"
FILLERS = ["", "", "", "，已经好几天了", "，麻烦看一下", "，大家都有意见", "，谢谢", "，之前也反映过"]


def labelled() -> list[dict]:
    return json.loads(LABELLED.read_text(encoding="utf-8"))["complaints"]


def fresh_schema(url: str) -> None:
    if url.startswith("postgresql"):
        ensure_database(url)
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    upgrade(url)


def make_app(url: str):
    from app import create_app
    from web.settings import load_settings

    return create_app(load_settings({"XINMA_INSTANCE": tempfile.mkdtemp(prefix="xinma-bench-"),
                                     "XINMA_DATABASE_URL": url, "XINMA_WECHAT_API_BASE": "http://127.0.0.1:9/"}))


def add_complaints(session, rows: list[tuple[int, str, str, int, dt.datetime]]) -> list[int]:
    """(unit id, category, text, resident number, created at) as complaints awaiting triage; returns their ids."""
    from models import Complaint, ComplaintState, Resident, utcnow

    numbers = sorted({r[3] for r in rows})
    for start in range(0, len(numbers), 1000):
        chunk = numbers[start:start + 1000]
        session.execute(insert(Resident), [{"openid": f"o-bench-hotspot-{n}", "created_at": utcnow()} for n in chunk])
    known = dict(session.execute(select(Resident.openid, Resident.id)).all())
    values = [{"unit_id": unit, "resident_id": known[f"o-bench-hotspot-{who}"], "category": cat, "text": words,
               "state": ComplaintState.awaiting_triage, "created_at": at, "state_changed_at": at}
              for unit, cat, words, who, at in rows]
    ids = []
    for start in range(0, len(values), 1000):
        ids += session.scalars(insert(Complaint).returning(Complaint.id), values[start:start + 1000]).all()
    session.commit()
    return ids


def quality(url: str) -> dict:
    from council import clusters
    from council.hotspot_services import hotspots
    from models import Staff, Unit, utcnow
    from qr.demo import seed_demo

    fresh_schema(url)
    app = make_app(url)
    rows = labelled()
    with app.extensions["xinma.sessionmaker"]() as session:
        seed_demo(session)
        session.commit()
        units = {u.name: u.id for u in session.scalars(select(Unit))}
        now = utcnow()
        ids = add_complaints(session, [
            (units[GRID_OF[r["unit"]]], r["category"], r["text"], r["resident"],
             now - dt.timedelta(days=r["days_ago"], minutes=r["id"])) for r in rows])
        gold = {cid: r["gold"] for cid, r in zip(ids, rows, strict=True)}
        admin = session.scalar(select(Staff).where(Staff.username == "admin"))
        found = {}
        spots = hotspots(session, admin, min_size=1)
        for n, spot in enumerate(spots):
            found.update(dict.fromkeys(spot.ids, n))
    app.extensions["xinma.engine"].dispose()
    by_gold = defaultdict(set)
    for cid, g in gold.items():
        by_gold[g].add(cid)
    big = [members for g, members in by_gold.items() if not g.startswith("noise") and len(members) >= 3]
    whole = sum(1 for members in big if any(set(s.ids) == members for s in spots))
    return {"complaints": len(gold), "clusters": len(big), "noise": sum(g.startswith("noise") for g in gold.values()),
            "bcubed": clusters.bcubed(found, gold), "pairwise": clusters.pairwise(found, gold),
            "found_whole": whole, "missing": set(gold) - set(found)}


def speed(url: str, count: int, requests: int, seed: int = 7) -> dict:
    from werkzeug.security import generate_password_hash

    from council.hotspot_services import hotspots
    from models import Staff, StaffRole, UnitLevel, utcnow
    from models.hotspots import ComplaintTerms
    from qr.demo import add_unit

    fresh_schema(url)
    app = make_app(url)
    rng = random.Random(seed)
    texts = labelled()
    factory = app.extensions["xinma.sessionmaker"]
    with factory() as session:
        district = add_unit(session, "B1", "基准区", UnitLevel.district, None)
        street = add_unit(session, "B2", "基准街道", UnitLevel.street, district)
        community = add_unit(session, "B3", "基准社区", UnitLevel.community, street)
        grids = [add_unit(session, f"B3-{i}", f"基准社区第{i}网格", UnitLevel.grid, community) for i in range(1, 9)]
        session.add(Staff(username="bench-secretary", display_name="基准书记", role=StaffRole.secretary,
                          password_hash=generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000"),
                          units=[community], created_at=utcnow()))
        session.commit()
        now = utcnow()
        rows = []
        for _ in range(count):
            r = rng.choice(texts)
            words = rng.choice(PLACES) + r["text"] + rng.choice(FILLERS)
            rows.append((rng.choice(grids).id, r["category"], words, rng.randrange(3000),
                         now - dt.timedelta(seconds=rng.randrange(29 * 86400))))
        started = time.perf_counter()
        add_complaints(session, rows)
        filled = time.perf_counter() - started
    if url.startswith("postgresql"):
        with app.extensions["xinma.engine"].connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    client = app.test_client()
    page = client.get("/staff/signin").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    res = client.post("/staff/signin", data={"username": "bench-secretary", "password": PASSWORD,
                                             "csrf_token": csrf})
    assert res.status_code == 302, res.status_code

    def get(_i: int) -> str:
        res = client.get("/council/hotspots")
        assert res.status_code == 200, res.status_code
        return res.text

    started = time.perf_counter()
    first = get(0)
    cold = (time.perf_counter() - started) * 1000
    with factory() as session:
        kept = session.scalar(select(text("count(*)")).select_from(ComplaintTerms))
    shown = len(re.findall(r'class="card hotspot"', first))
    get(0)  # templates and connections warm
    page_ms = timed(get, requests)

    def call(cached: bool):
        def run(_i: int) -> None:
            with factory() as session:
                staff = session.scalar(select(Staff).where(Staff.username == "bench-secretary"))
                found.append(len(hotspots(session, staff, cached=cached)))
                session.rollback()
        return run

    found: list[int] = []
    computed_ms = timed(call(False), requests)
    function_ms = timed(call(True), requests)
    app.extensions["xinma.engine"].dispose()
    return {"count": count, "filled_s": filled, "cold_ms": cold, "kept": kept, "shown": shown,
            "hotspots": found[-1], "page": page_ms, "function": function_ms, "computed": computed_ms}


def timed(fn, n: int) -> list[float]:
    out = []
    for i in range(n):
        start = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - start) * 1000)
    return out


def pct(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="PostgreSQL URL (its public schema is dropped and rebuilt); "
                                               "default: SQLite files in a temporary folder")
    parser.add_argument("--complaints", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="xinma-bench-hotspots-")
    url_q = args.database_url or f"sqlite:///{folder}/quality.db"
    url_s = args.database_url or f"sqlite:///{folder}/speed.db"
    backend = "PostgreSQL" if args.database_url else "SQLite"

    q = quality(url_q)
    bp, br = q["bcubed"]
    pp, pr = q["pairwise"]
    print(f"quality ({backend}): {q['complaints']} labelled complaints, {q['clusters']} gold clusters of 3 or more, "
          f"{q['noise']} noise complaints")
    print(f"  B-cubed  precision {bp:.3f}  recall {br:.3f}")
    print(f"  pairwise precision {pp:.3f}  recall {pr:.3f}")
    print(f"  gold clusters suggested whole: {q['found_whole']} of {q['clusters']}")
    if q["missing"]:
        print(f"  complaints in no cluster: {sorted(q['missing'])}")

    s = speed(url_s, args.complaints, args.requests)
    print(f"\nspeed ({backend}): one community, {s['count']:,} complaints awaiting triage over 30 days "
          f"(filled in {s['filled_s']:.1f}s); {s['hotspots']} hotspots of 3 or more, {s['shown']} shown")
    print(f"  first page (segments and keeps {s['kept']:,} complaints' words): {s['cold_ms']:.0f} ms")
    print(f"  {'measure':34} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}   ({args.requests} requests each)")
    for name, values in (("GET /council/hotspots", s["page"]), ("hotspots() alone", s["function"]),
                         ("hotspots() computed every time", s["computed"])):
        print(f"  {name:34} {pct(values, 50):8.1f} {pct(values, 95):8.1f} {max(values):8.1f}")
    print("  (the page and hotspots() keep a village's clusters while its open complaints stay the same; the last "
          "line clusters on every call)")
    with open("/proc/loadavg") as f:
        print(f"  load average at the end: {' '.join(f.read().split()[:3])} ({os.cpu_count()} cores)")
    ok_q = min(bp, br) >= 0.8
    ok_s = pct(s["page"], 95) < 500
    ok_c = pct(s["computed"], 95) < 500
    print(f"\ntarget B-cubed precision and recall >= 0.8: {'met' if ok_q else 'NOT met'}; "
          f"page p95 < 500 ms: {'met' if ok_s else 'NOT met'}; computed every time: {'met' if ok_c else 'NOT met'}")


if __name__ == "__main__":
    main()
