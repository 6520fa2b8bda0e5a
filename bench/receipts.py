"""Receipts benchmark: residents submit at a fixed rate; how long until WeChat holds each one's receipt?

One web node under gunicorn (the production settings: 2 workers of 8 threads), two `xinma worker` processes,
real PostgreSQL and Redis, and the WeChat sandbox in a process of its own answering every call (token, content
check, send) after 20 ms. An open loop submits `--rate` complaints a second for `--seconds` seconds, each from a
resident of their own (signed in beforehand, subscribed to the receipt), and notes when each 201 came back. The
sandbox records when each receipt reached it. Printed: the time from each 201 to its receipt at the sandbox
(p50/p95/p99), receipts missing 30 s after the last submission, and duplicates (receipts beyond one per
submission).

    python bench/receipts.py            # 100 submissions/s for 60 s
    python bench/receipts.py --small    # 20 submissions/s for 10 s

Environment: XINMA_BENCH_DATABASE_URL (default: PostgreSQL xinma_bench_receipts, its public schema dropped and
rebuilt), XINMA_BENCH_REDIS_URL (default Redis db 8, flushed), XINMA_BENCH_LOGS (a folder to keep the web
node's and the workers' logs in).
"""

from __future__ import annotations

import argparse
import collections
import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from fanout import free_port, sandbox_app  # noqa: E402
from support import LOCAL, ensure_database  # noqa: E402

LATENCY_MS = 20
GRACE = 30  # seconds after the last submission a receipt may still arrive


def _serve(port: int) -> None:
    """The sandbox, plus one page for this benchmark: when each message was received, to the microsecond (the
    control API's message list rounds to the second)."""
    import logging

    from flask import jsonify
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app = sandbox_app()
    state = app.extensions["wechat_sandbox"]

    @app.get("/_bench/received")
    def received():
        with state.lock:
            return jsonify([[m["openid"], m["template_id"], m["received_at"]] for m in state.messages])

    make_server("127.0.0.1", port, app, threaded=True).serve_forever()


def serve_sandbox(port: int):
    """The sandbox in a process of its own (its state is in memory), on a threaded server."""
    import multiprocessing

    process = multiprocessing.get_context("spawn").Process(target=_serve, args=(port,), daemon=True)
    process.start()
    return process


def address(i: int) -> str:
    """Resident i's client address, as the trusted proxy hop reports it (the per-address limit counts each)."""
    return f"10.{i // 62500 % 250}.{i // 250 % 250}.{i % 250 + 1}"


def reset(db_url: str, redis_url: str) -> list[str]:
    """Rebuild the database with the demo district; flush Redis; returns the demo units' QR scenes."""
    from sqlalchemy import select, text

    from models import QrCode, Unit
    from models.db import make_engine, make_sessionmaker, upgrade
    from qr.demo import seed_demo
    from workers.queues import redis_connection

    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    upgrade(db_url)
    with make_sessionmaker(engine)() as session:
        seed_demo(session)
        session.commit()
        scenes = list(session.scalars(select(QrCode.token).join(Unit, Unit.id == QrCode.unit_id)
                                      .where(QrCode.revoked_at.is_(None), Unit.retired_at.is_(None))
                                      .order_by(QrCode.id)))
    engine.dispose()
    redis_connection(redis_url).flushdb()
    return scenes


def start(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    out = open(log, "wb")  # noqa: SIM115 - the process holds it until it ends
    return subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def wait_up(url: str) -> None:
    for _ in range(300):
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not come up")


def sign_in(web: str, sandbox: str, count: int) -> list[str]:
    """`count` residents who opened the mini-program and tapped 允许 for the receipt; returns their tokens."""
    from web.settings import template_id

    receipt = template_id("complaint_received")
    http = requests.Session()

    def one(i: int) -> str:
        openid = f"o-receipt-{i:05d}"
        code = http.post(f"{sandbox}/_sandbox/login", json={"openid": openid}, timeout=30).json()["code"]
        http.post(f"{sandbox}/_sandbox/subscribe", json={"openid": openid, "template_ids": [receipt]},
                  timeout=30).raise_for_status()
        res = http.post(f"{web}/api/v1/sessions", json={"code": code}, headers={"X-Forwarded-For": address(i)},
                        timeout=30)
        res.raise_for_status()
        return res.json()["data"]["token"]

    with ThreadPoolExecutor(16) as pool:
        return list(pool.map(one, range(count)))


def submit(port: int, tokens: list[str], scenes: list[str], rate: float, seconds: float) -> dict[int, float]:
    """Open loop: submission i is due at start + i / rate, whatever the answers before it; returns, per
    resident index, the wall-clock time its 201 came back (failures are printed)."""
    total = int(rate * seconds)
    start = time.monotonic() + 0.5
    answered: dict[int, float] = {}
    failures: collections.Counter[str] = collections.Counter()
    lock = threading.Lock()
    counter = iter(range(total))

    def worker() -> None:
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            body = json.dumps({"scene": scenes[i % len(scenes)], "category": "停车",
                               "text": f"第{i}号楼下乱停车，堵住消防通道"}, ensure_ascii=False).encode()
            # A connection of its own: an idle kept-alive one may have been closed by the server meanwhile.
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                conn.request("POST", "/api/v1/complaints", body=body, headers={
                    "Authorization": f"Bearer {tokens[i]}", "Content-Type": "application/json",
                    "X-Forwarded-For": address(i), "Idempotency-Key": f"receipt-{i}"})
                res = conn.getresponse()
                answer = res.read()
                failure = None if res.status == 201 else f"{res.status} {answer[:120].decode(errors='replace')}"
            except (OSError, http.client.HTTPException) as exc:
                failure = exc.__class__.__name__
            finally:
                conn.close()
            with lock:
                if failure:
                    failures[failure] += 1
                else:
                    answered[i] = time.time()

    threads = [threading.Thread(target=worker) for _ in range(64)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        print(f"  submissions that failed: {dict(failures)}")
    return answered


def receipts(sandbox: str, count: int) -> dict[int, list[float]]:
    """When the sandbox received each resident's receipts, by resident index."""
    from web.settings import template_id

    receipt = template_id("complaint_received")
    got: dict[int, list[float]] = collections.defaultdict(list)
    for openid, template, at in requests.get(f"{sandbox}/_bench/received", timeout=60).json():
        if template == receipt and openid.startswith("o-receipt-"):
            got[int(openid.rsplit("-", 1)[1])].append(float(at))
    return got


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(len(ordered) * p), len(ordered) - 1)] if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="20 submissions/s for 10 s")
    parser.add_argument("--rate", type=float, help="submissions per second (default 100; 20 with --small)")
    parser.add_argument("--seconds", type=float, help="how long to submit (default 60; 10 with --small)")
    args = parser.parse_args()
    rate = args.rate or (20 if args.small else 100)
    seconds = args.seconds or (10 if args.small else 60)
    count = int(rate * seconds)
    db_url = ensure_database(os.environ.get("XINMA_BENCH_DATABASE_URL", LOCAL + "xinma_bench_receipts"))
    redis_url = os.environ.get("XINMA_BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")
    sandbox_port, web_port = free_port(), free_port()
    sandbox_proc = serve_sandbox(sandbox_port)
    sandbox = f"http://127.0.0.1:{sandbox_port}"
    web = f"http://127.0.0.1:{web_port}"
    procs: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = os.environ.get("XINMA_BENCH_LOGS") or tmp  # to keep the web node's and workers' logs
        env = dict(os.environ, XINMA_INSTANCE=str(Path(tmp) / "instance"), XINMA_DATABASE_URL=db_url,
                   XINMA_REDIS_URL=redis_url, XINMA_WECHAT_API_BASE=sandbox + "/", XINMA_TRUSTED_PROXY_HOPS="1")
        try:
            wait_up(sandbox + "/_sandbox/calls")
            scenes = reset(db_url, redis_url)
            procs.append(start([str(Path(sys.executable).parent / "gunicorn"), "-w", "2", "-k", "gthread",
                                "--threads", "8", "-b", f"127.0.0.1:{web_port}", "--log-level", "warning",
                                "app:create_app()"], env, Path(tmp) / "web.log"))
            wait_up(web + "/healthz")
            tokens = sign_in(web, sandbox, count)
            requests.post(f"{sandbox}/_sandbox/faults", timeout=10,
                          json={"endpoint": "*", "type": "latency_ms", "value": LATENCY_MS, "count": None})
            for i in range(2):
                procs.append(start([sys.executable, "-c", "import app; app.main()", "worker"], env,
                                   Path(tmp) / f"worker-{i}.log"))
            time.sleep(3)  # the workers connect and register before the load (not part of the measure)
            print(f"receipts: {rate:g} submissions/s for {seconds:g} s, one web node (gunicorn 2 x 8 gthreads), "
                  f"2 workers, sandbox {LATENCY_MS} ms per call")
            answered = submit(web_port, tokens, scenes, rate, seconds)
            last = max(answered.values(), default=time.time())
            while time.time() < last + GRACE and len(receipts(sandbox, count)) < len(answered):
                time.sleep(1)
            got = receipts(sandbox, count)
        finally:
            for proc in reversed(procs):
                stop(proc)
            sandbox_proc.terminate()
            sandbox_proc.join(10)
    delays = [got[i][0] - answered[i] for i in answered if got.get(i)]
    missing = sum(1 for i in answered if not got.get(i))
    duplicates = sum(len(times) - 1 for times in got.values() if len(times) > 1)
    p50, p95, p99 = (percentile(delays, p) for p in (0.5, 0.95, 0.99))
    print(f"  {len(answered)} submitted (201), {len(delays)} receipts; from the 201 to the receipt at WeChat: "
          f"p50 {p50:.3f} s, p95 {p95:.3f} s, p99 {p99:.3f} s, max {max(delays, default=float('nan')):.3f} s")
    print(f"  missing {GRACE} s after the last submission: {missing}; duplicates: {duplicates}")
    met = p95 < 2 and not missing and not duplicates and len(answered) == count
    print(f"  floor: p95 < 2 s, none missing, none doubled -> {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
