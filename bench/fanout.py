"""Fan-out benchmark: one meeting invitation to N residents through two `xinma worker` processes.

The WeChat sandbox runs in its own process on a threaded server and answers every send after 20 ms; the
workers are `xinma worker` processes as deployed. Prints deliveries per second, duplicates (messages beyond
one per outbox row, counted at the sandbox) and losses (rows not sent, or sent but never received), for the
delivery job as configured and, as the baseline measured in the same run, for the same job with one send in
flight per worker (XINMA_DELIVERY_THREADS=1).

    python bench/fanout.py            # 10,000 residents, PostgreSQL xinma_bench_fanout + Redis db 7
    python bench/fanout.py --small    # 1,000 residents

It also measures what the request of every resident submission pays after its commit to put its rows' jobs
into RQ (the receipt and the content check wake the delivery job, a photo is a job of its own): for the first
commit of a delivery bucket in a process, and for the later ones, in microseconds and Redis round trips.

Environment: XINMA_BENCH_DATABASE_URL, XINMA_BENCH_REDIS_URL override the defaults. The database's public
schema is dropped and rebuilt.
"""

from __future__ import annotations

import argparse
import collections
import multiprocessing
import os
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from sqlalchemy import func, insert, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from support import LOCAL, ensure_database  # noqa: E402

from models import Notification, NotificationState, Resident, utcnow  # noqa: E402
from models.db import make_engine, make_sessionmaker, upgrade  # noqa: E402
from models.lifecycle import notify  # noqa: E402
from models.notify import Subscription  # noqa: E402
from web.settings import (  # noqa: E402
    SANDBOX_APPID,
    SANDBOX_SECRET,
    load_settings,
    template_id,  # noqa: E402
)
from workers.queues import BUCKET, enqueue, install_enqueue, make_queue, redis_connection  # noqa: E402
from workers.rendering import sandbox_templates  # noqa: E402

EVENT = "meeting_invitation"
LATENCY_MS = 20


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sandbox_app():
    """The WeChat sandbox as the bench serves it."""
    from wechat import create_sandbox_app

    return create_sandbox_app(appid=SANDBOX_APPID, secret=SANDBOX_SECRET, templates=sandbox_templates())


def _serve(port: int) -> None:
    import logging

    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    make_server("127.0.0.1", port, sandbox_app(), threaded=True).serve_forever()


def serve_sandbox(port: int):
    """The sandbox in a process of its own (its state is in memory), on a threaded server."""
    process = multiprocessing.get_context("spawn").Process(target=_serve, args=(port,), daemon=True)
    process.start()
    return process


class Run:
    def __init__(self, db_url: str, redis_url: str, sandbox: str, workdir: Path) -> None:
        self.db_url, self.redis_url, self.sandbox, self.workdir = db_url, redis_url, sandbox, workdir
        self.http = requests.Session()

    def reset(self) -> None:
        engine = make_engine(self.db_url)
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        upgrade(self.db_url)
        redis_connection(self.redis_url).flushdb()
        self.http.post(f"{self.sandbox}/_sandbox/reset", timeout=10)
        self.http.post(f"{self.sandbox}/_sandbox/faults", timeout=10,
                       json={"endpoint": "subscribe_send", "type": "latency_ms", "value": LATENCY_MS, "count": None})

    def residents(self, n: int) -> list[tuple[int, str]]:
        """n residents who each tapped 允许 once for the invitation template (in WeChat and in the ledger)."""
        tid = template_id(EVENT)
        openids = [f"o-bench-{i:05d}" for i in range(n)]

        def accept(openid: str) -> None:
            self.http.post(f"{self.sandbox}/_sandbox/subscribe", json={"openid": openid, "template_ids": [tid]},
                           timeout=10).raise_for_status()

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(accept, openids))
        engine = make_engine(self.db_url)
        now = utcnow()
        with engine.begin() as conn:
            conn.execute(insert(Resident), [{"openid": o, "created_at": now, "channel": "wechat"} for o in openids])
            rows = conn.execute(select(Resident.id, Resident.openid).order_by(Resident.id)).all()
            conn.execute(insert(Subscription), [{"resident_id": rid, "template_id": tid, "accepted": 1, "spent": 0,
                                                 "long_term": False, "updated_at": now} for rid, _ in rows])
        engine.dispose()
        return [(rid, openid) for rid, openid in rows]

    def workers(self, count: int, env_extra: dict[str, str]) -> list[subprocess.Popen]:
        env = dict(os.environ, XINMA_INSTANCE=str(self.workdir / "instance"), XINMA_DATABASE_URL=self.db_url,
                   XINMA_REDIS_URL=self.redis_url, XINMA_WECHAT_API_BASE=self.sandbox + "/",
                   **env_extra)
        procs = []
        for i in range(count):
            log = open(self.workdir / f"worker-{len(os.listdir(self.workdir))}-{i}.log", "wb")  # noqa: SIM115
            cmd = [sys.executable, "-X", "faulthandler", "-c", "import app; app.main()", "worker"]
            procs.append(subprocess.Popen(cmd, env=env,
                                          cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        time.sleep(3)  # let them connect and register before the fan-out (not part of the measured time)
        return procs

    def fan_out(self, people: list[tuple[int, str]]) -> tuple[list[int], float]:
        """Write the invitation for everyone in one commit; its after-commit hook wakes the delivery job."""
        engine = make_engine(self.db_url)
        factory = make_sessionmaker(engine)
        queue = make_queue(redis_connection(self.redis_url))
        install_enqueue(factory, lambda: queue)
        with factory() as session:
            rows = [notify(session, EVENT, recipient_kind="resident", recipient_id=rid, openid=openid,
                           params={"meeting_title": "幸福社区停车难议事会", "starts_at": utcnow().isoformat(),
                                   "place": "幸福社区议事厅", "meeting_id": 1}) for rid, openid in people]
            started = time.monotonic()  # the clock starts at the commit: it writes the rows, then wakes the job
            session.commit()
            ids = [r.id for r in rows]
        engine.dispose()
        return ids, started

    def wait(self, ids: list[int], started: float, timeout: float) -> float:
        engine = make_engine(self.db_url)
        pending = (NotificationState.pending, NotificationState.sending)
        deadline = time.monotonic() + timeout
        with engine.connect() as conn:
            while time.monotonic() < deadline:
                left = conn.execute(select(func.count()).select_from(Notification)
                                    .where(Notification.state.in_(pending))).scalar()
                if not left:
                    break
                time.sleep(0.2)
        elapsed = time.monotonic() - started
        engine.dispose()
        return elapsed

    def tally(self, ids: list[int]) -> dict[str, int]:
        messages = self.http.get(f"{self.sandbox}/_sandbox/messages", timeout=60).json()["messages"]
        per_row = collections.Counter(int(m["page"].rsplit("&n=", 1)[1]) for m in messages)
        engine = make_engine(self.db_url)
        with engine.connect() as conn:
            states = dict(conn.execute(select(Notification.state, func.count()).group_by(Notification.state)).all())
        engine.dispose()
        return {"rows": len(ids), "received": len(messages),
                "duplicates": sum(c - 1 for c in per_row.values() if c > 1),
                "losses": sum(1 for i in ids if per_row[i] == 0),
                "sent": states.get(NotificationState.sent, 0),
                "not_sent": len(ids) - states.get(NotificationState.sent, 0)}

    def measure(self, n: int, threads: int | None) -> dict:
        self.reset()
        people = self.residents(n)
        extra = {"XINMA_DELIVERY_THREADS": str(threads)} if threads else {}
        procs = self.workers(2, extra)
        try:
            ids, started = self.fan_out(people)
            elapsed = self.wait(ids, started, timeout=900)
        finally:
            for proc in procs:
                try:
                    os.killpg(proc.pid, 15)
                    proc.wait(30)
                except ProcessLookupError:
                    pass
                except subprocess.TimeoutExpired:  # still running 30 s later: the measure is taken already
                    os.killpg(proc.pid, 6)  # SIGABRT: each Python process writes its threads' stacks to the log
                    time.sleep(1)
                    os.killpg(proc.pid, 9)
                    proc.wait()
                    tails = [log.read_text(errors="replace")[-1500:] for log in sorted(self.workdir.glob("worker-*"))]
                    print("  (a worker did not stop within 30 s of SIGTERM and was killed; the workers' logs end:\n"
                          + "\n---\n".join(tails) + ")")
        result = self.tally(ids)
        result.update(seconds=round(elapsed, 2), per_second=round(n / elapsed, 1))
        return result


def measure_enqueue(redis_url: str, n: int = 500) -> dict[str, dict[str, float]]:
    """Cost of one submission's after-commit enqueue on a connection that counts round trips: its receipt and
    content check, first in its delivery bucket in its process (it wakes the delivery jobs) and later in the
    bucket (nothing to send: the bucket's jobs are woken), and with a photo (a job of its own) later in the
    bucket."""
    import redis as redis_lib

    class Counting(redis_lib.Connection):
        trips = 0

        def send_packed_command(self, command, check_health=True):
            Counting.trips += 1
            return super().send_packed_command(command, check_health)

    pool = redis_lib.ConnectionPool.from_url(redis_url, connection_class=Counting)
    conn = redis_lib.Redis(connection_pool=pool)
    conn.flushdb()
    queue = make_queue(conn)
    enqueue(queue, [("photo", 0)])  # warm: the server version RQ caches on the queue, the script Redis caches
    results = {}
    for name, fresh, photo, base in (("first in its bucket", True, False, 1_000_000),
                                     ("later in the bucket", False, False, 2_000_000),
                                     ("with a photo", False, True, 3_000_000)):
        Counting.trips, elapsed = 0, 0.0
        for i in range(base, base + n):
            queue.xinma_woken = None if fresh else int(time.time() // BUCKET)  # as a process that has (not) woken it
            started = time.perf_counter()
            enqueue(queue, [("notification", i), ("content_check", i)] + ([("photo", i)] if photo else []))
            elapsed += time.perf_counter() - started
        results[name] = {"us": round(elapsed / n * 1e6), "trips": Counting.trips / n}
    conn.flushdb()
    conn.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="1,000 residents instead of 10,000")
    parser.add_argument("--baseline", type=int, default=200, help="rows for the one-send-at-a-time baseline")
    args = parser.parse_args()
    n = 1000 if args.small else 10_000
    db_url = ensure_database(os.environ.get("XINMA_BENCH_DATABASE_URL", LOCAL + "xinma_bench_fanout"))
    redis_url = os.environ.get("XINMA_BENCH_REDIS_URL", "redis://127.0.0.1:6379/7")
    port = free_port()
    sandbox = serve_sandbox(port)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            requests.get(url + "/_sandbox/calls", timeout=1)
            break
        except requests.RequestException:
            time.sleep(0.1)
    costs = measure_enqueue(redis_url)
    first, later, photo = costs["first in its bucket"], costs["later in the bucket"], costs["with a photo"]
    print(f"after-commit enqueue of one submission (receipt, content check): first in its {BUCKET:g} s bucket in "
          f"its process {first['us']} us, {first['trips']:.0f} Redis round trip; later in the bucket {later['us']} us, "
          f"{later['trips']:.0f} round trips; with a photo job {photo['us']} us, {photo['trips']:.0f} round trip")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            run = Run(db_url, redis_url, url, Path(tmp))
            base = run.measure(min(args.baseline, n), threads=1)
            print(f"baseline (the delivery job with one send in flight per worker), {base['rows']} residents: "
                  f"{base['per_second']} deliveries/s, duplicates {base['duplicates']}, losses {base['losses']}")
            main_run = run.measure(n, threads=None)
            threads = load_settings().delivery_threads
            print(f"fan-out (the delivery job, up to {threads} sends in flight per worker, one per resident), "
                  f"{main_run['rows']} residents, 2 workers, sandbox {LATENCY_MS} ms per send:")
            print(f"  {main_run['per_second']} deliveries/s ({main_run['seconds']} s from commit to the last row), "
                  f"{main_run['per_second'] / base['per_second']:.1f}x the baseline")
            print(f"  received {main_run['received']}, duplicates {main_run['duplicates']}, "
                  f"losses {main_run['losses']}, rows not sent {main_run['not_sent']}")
            met = main_run["per_second"] >= 200 and not main_run["duplicates"] and not main_run["losses"]
            print(f"  target: >= 200 deliveries/s, 0 duplicates, 0 losses -> {'met' if met else 'NOT met'}")
    finally:
        sandbox.terminate()
        sandbox.join(10)


if __name__ == "__main__":
    main()
