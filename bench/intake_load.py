"""Load benchmark: complaint submission under gunicorn on PostgreSQL, against a minimal Flask endpoint as ceiling.

Both run under the same gunicorn settings in the same run; wrk drives the maximum throughput with 64 requests in
flight, in short rounds alternating between the two (this machine's speed drifts within seconds, so the ratio is
taken per pair of rounds run back to back, and their median is the figure); then a paced (open-loop) generator
measures latency at half the submission endpoint's throughput. Every submission is written by the one writer
(intake.services.record_complaint -> models.lifecycle.transition_complaint) in its request's one transaction.
The default settings are the production ones (README): sync workers, two per core (`--worker-class gthread
--threads N` measures the threaded worker instead).

    python bench/intake_load.py [--small] [--database-url URL] [--redis-url URL] [--workers N]
                                [--worker-class sync|gthread] [--threads N]

Honest load: real PostgreSQL, real Redis, the real rate limits (the defaults: 20 submissions per resident and 120
per client address per hour) and a unique Idempotency-Key on every request. The limiter is kept from refusing the
load the way production traffic does: many residents (6,000 signed in, spread over the demo district's units, each
scanning their own unit's code), each on their own client address, given by the one trusted proxy hop
(X-Forwarded-For, XINMA_TRUSTED_PROXY_HOPS=1) as nginx would in front of gunicorn.
Every request is still counted against both limits (in Redis, one pipeline per request). The ceiling receives the
same requests. Each round also reads from /proc the CPU
time the web server, PostgreSQL and Redis spent, per request: the run is CPU-bound, so that is where the ratio
comes from. The database named by --database-url is
emptied and rebuilt (its `public` schema is dropped).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from support import LOCAL, ensure_database  # noqa: E402


def ceiling_app():
    """The ceiling: a Flask endpoint that parses a JSON body and answers the same envelope, nothing else."""
    from flask import Flask, jsonify, request

    app = Flask("ceiling")

    @app.post("/api/v1/complaints")
    def echo():
        body = request.get_json(silent=True) or {}
        return jsonify({"ok": True, "data": {"id": 1, "category": body.get("category")}}), 201

    return app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(env: dict[str, str], residents: int) -> tuple[list[str], list[str]]:
    """Rebuild the database, seed the demo district, sign in `residents` residents; returns (scenes, tokens): the
    QR codes of the demo's units, resident i living in the unit of scenes[i % len(scenes)]."""
    import datetime as dt

    from sqlalchemy import select, text

    from models import QrCode, Unit
    from models.db import make_engine, make_sessionmaker, upgrade
    from models.residents import sign_in_resident
    from qr.demo import seed_demo
    from wechat import LoginSession

    url = env["XINMA_DATABASE_URL"]
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    upgrade(url)
    tokens = []
    with make_sessionmaker(engine)() as session:
        seed_demo(session)
        scenes = list(session.scalars(select(QrCode.token).join(Unit, Unit.id == QrCode.unit_id)
                                      .where(QrCode.revoked_at.is_(None), Unit.retired_at.is_(None))
                                      .order_by(QrCode.id)))
        for i in range(residents):
            _, token = sign_in_resident(session, LoginSession(openid=f"o-bench-{i}", session_key="x"),
                                        lifetime=dt.timedelta(days=1))
            tokens.append(token)
        session.commit()
    engine.dispose()
    return scenes, tokens


def gunicorn_options(workers: int, worker_class: str, threads: int) -> list[str]:
    """The gunicorn settings under test (both endpoints run under the same)."""
    options = ["-w", str(workers), "-k", worker_class]
    return options + (["--threads", str(threads)] if worker_class == "gthread" else []) + ["--preload"]


def start_gunicorn(target: str, port: int, env: dict[str, str], options: list[str]) -> subprocess.Popen:
    cmd = [str(Path(sys.executable).parent / "gunicorn"), *options, "-b", f"127.0.0.1:{port}",
           "--pythonpath", f"{ROOT},{ROOT / 'bench'}", "--log-level", "warning", target]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"gunicorn did not start: {target}")


def stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def warm_up(port: int, tokens: list[str], bodies: list[dict]) -> None:
    """Wait until every worker answers (each connection may land on another worker)."""
    deadline = time.monotonic() + 60
    answered = 0
    while answered < 10 and time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("POST", "/api/v1/complaints", body=json.dumps(bodies[answered % len(bodies)]).encode(),
                         headers={"Authorization": f"Bearer {tokens[answered]}", "Content-Type": "application/json",
                                  "X-Forwarded-For": address(answered)})
            conn.getresponse().read()
            conn.close()
            answered += 1
        except OSError:
            time.sleep(0.2)


def address(i: int) -> str:
    """The client address of resident i (one each, as seen by the trusted proxy)."""
    return f"10.{i // 62500 % 250}.{i // 250 % 250}.{i % 250 + 1}"


def lua_script(path: Path, tokens: list[str], bodies: list[dict], run: str) -> None:
    """A wrk script: resident after resident (each from their own address, with their own unit's scene), a fresh
    Idempotency-Key each time."""
    lines = ["local tokens = {" + ",".join(json.dumps(t) for t in tokens) + "}",
             "local addrs = {" + ",".join(json.dumps(address(i)) for i in range(len(tokens))) + "}",
             "local bodies = {" + ",".join(json.dumps(json.dumps(b, ensure_ascii=False), ensure_ascii=False)
                                           for b in bodies) + "}",
             "local n = 0",
             "local id = 0",
             "local counter = 1",
             "setup = function(thread)",
             "  thread:set('id', counter)",
             "  counter = counter + 1",
             "end",
             "request = function()",
             "  n = n + 1",
             "  local i = ((n * 7 + id * 1009) % #tokens) + 1",
             '  return wrk.format("POST", "/api/v1/complaints", {["Authorization"] = "Bearer " .. tokens[i], '
             '["Content-Type"] = "application/json", ["X-Forwarded-For"] = addrs[i], '
             f'["Idempotency-Key"] = "{run}-" .. id .. "-" .. n}}, bodies[(i - 1) % #bodies + 1])',
             "end"]
    path.write_text("\n".join(lines) + "\n")


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(server_group: int) -> dict[str, float]:
    """CPU time used so far (user + system, from /proc) by the web server's processes, PostgreSQL and Redis."""
    used = {"web server": 0.0, "PostgreSQL": 0.0, "Redis": 0.0}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        group, seconds = int(fields[2]), (int(fields[11]) + int(fields[12])) / TICK
        kind = ("web server" if group == server_group else "PostgreSQL" if name == "postgres"
                else "Redis" if name.startswith("redis-server") else None)
        if kind:
            used[kind] += seconds
    return used


def run_wrk(port: int, script: Path, seconds: int, connections: int, server_group: int) -> dict:
    before = cpu_seconds(server_group)
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script),
                          f"http://127.0.0.1:{port}/api/v1/complaints"], capture_output=True, text=True, check=True)
    after = cpu_seconds(server_group)
    text = out.stdout
    done = int(re.search(r"(\d+) requests in", text).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    p50 = _ms(re.search(r"\s50%\s+(\S+)", text).group(1))
    p99 = _ms(re.search(r"\s99%\s+(\S+)", text).group(1))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    return {"rps": rps, "p50": p50, "p99": p99, "non_2xx": int(bad.group(1)) if bad else 0,
            **{f"cpu {kind}": (after[kind] - before[kind]) / done * 1000 for kind in after}}


def paced(port: int, tokens: list[str], bodies: list[dict], rate: float, seconds: float, threads: int = 32,
          offset: int = 0) -> dict:
    """Open loop: requests are due at fixed times; latency counts from when each was due (no coordinated omission)."""
    payloads = [json.dumps(b, ensure_ascii=False).encode() for b in bodies]
    total = int(rate * seconds)
    start = time.monotonic() + 0.2
    latencies: list[float] = []
    failures: dict[str, int] = {}
    lock = threading.Lock()
    counter = iter(range(total))

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            due = start + i / rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            r = (i * 13 + offset) % len(tokens)
            try:
                conn.request("POST", "/api/v1/complaints", body=payloads[r % len(payloads)],
                             headers={"Authorization": f"Bearer {tokens[r]}", "Content-Type": "application/json",
                                      "X-Forwarded-For": address(r), "Idempotency-Key": f"paced-{offset}-{i}"})
                res = conn.getresponse()
                answer = res.read()
                failure = None if res.status == 201 else f"{res.status} {answer[:200].decode(errors='replace')}"
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                failure = exc.__class__.__name__
            elapsed = (time.monotonic() - due) * 1000
            with lock:
                latencies.append(elapsed)
                if failure:
                    failures[failure] = failures.get(failure, 0) + 1
        conn.close()

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    latencies.sort()
    return {"rate": rate, "requests": len(latencies), "failed": sum(failures.values()), "failures": failures,
            "p50": statistics.median(latencies), "p99": latencies[int(len(latencies) * 0.99) - 1]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="short runs (a smoke test of the benchmark)")
    parser.add_argument("--database-url", default=os.environ.get(
        "XINMA_BENCH_DATABASE_URL", LOCAL + "xinma_bench_intake"))
    parser.add_argument("--redis-url", default=os.environ.get("XINMA_BENCH_REDIS_URL", "redis://127.0.0.1:6379/4"))
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--worker-class", choices=("sync", "gthread"), default="sync")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker (gthread only)")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--residents", type=int, default=6000)
    args = parser.parse_args()
    ensure_database(args.database_url)
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed (apt-get install wrk)")
    seconds = 3 if args.small else 5
    rounds = 2 if args.small else 8
    paced_seconds = 5 if args.small else 20
    instance = Path(tempfile.mkdtemp(prefix="xinma-bench-"))
    env = dict(os.environ, XINMA_MODE="embedded", XINMA_INSTANCE=str(instance),
               XINMA_DATABASE_URL=args.database_url, XINMA_REDIS_URL=args.redis_url, XINMA_RATE_LIMITS="",
               XINMA_TRUSTED_PROXY_HOPS="1", XINMA_WECHAT_API_BASE="http://127.0.0.1:9/",
               XINMA_PUBLIC_URL="http://127.0.0.1")
    import redis

    redis.Redis.from_url(args.redis_url).flushdb()  # no jobs or counters left from an earlier run
    scenes, tokens = prepare(env, residents=args.residents)
    bodies = [{"scene": scene, "category": "停车", "text": "小区门口车辆乱停，消防通道被堵，请尽快处理。",
               "phone": "13812341234"} for scene in scenes]
    runs: dict[str, list[dict]] = {"ceiling": [], "submit": []}
    options = gunicorn_options(args.workers, args.worker_class, args.threads)
    servers = {}
    try:
        # Both servers stay up; the rounds alternate between them, so load from anything else on the machine
        # weighs on both alike (an idle gunicorn takes no CPU).
        for name, target in (("ceiling", "intake_load:ceiling_app()"), ("submit", "app:create_app()")):
            port = free_port()
            servers[name] = (port, start_gunicorn(target, port, env, options))
            warm_up(port, tokens, bodies)
            script = instance / f"{name}-warm.lua"
            lua_script(script, tokens, bodies, f"{name}-warm")
            run_wrk(port, script, 2, args.connections, servers[name][1].pid)
        for r in range(rounds):
            for name, (port, proc) in servers.items():
                script = instance / f"{name}-{r}.lua"
                lua_script(script, tokens, bodies, f"{name}-{r}")
                runs[name].append(run_wrk(port, script, seconds, args.connections, proc.pid))
        c = {k: statistics.median(x[k] for x in runs["ceiling"]) for k in runs["ceiling"][0]}
        s = {k: statistics.median(x[k] for x in runs["submit"]) for k in runs["submit"][0]}
        rate = max(1.0, s["rps"] / 2)
        p = paced(servers["submit"][0], tokens, bodies, rate, paced_seconds, offset=len(tokens) // 2)
    finally:
        for _, proc in servers.values():
            stop(proc)
        redis.Redis.from_url(args.redis_url).flushdb()
        shutil.rmtree(instance, ignore_errors=True)

    ratios = [b["rps"] / a["rps"] for a, b in zip(runs["ceiling"], runs["submit"], strict=True)]
    print(f"gunicorn {' '.join(options)} (both endpoints); "
          f"wrk -t1 -c{args.connections}, {rounds} alternating rounds of {seconds}s each (medians); "
          f"PostgreSQL {args.database_url.rsplit('/', 1)[-1]}; real Redis rate limits, {len(tokens)} residents on "
          f"their own addresses in {len(scenes)} units, a unique Idempotency-Key per request")
    print(f"{'endpoint':<34}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>10}")
    for label, row in (("ceiling (minimal Flask POST)", c), ("POST /api/v1/complaints", s)):
        print(f"{label:<34}{row['rps']:>10.0f}{row['p50']:>10.1f}{row['p99']:>10.1f}{row['non_2xx']:>10.0f}")
    print("CPU per request (ms, medians of the rounds, from /proc): " + "; ".join(
        f"{label} web server {row['cpu web server']:.2f}, PostgreSQL {row['cpu PostgreSQL']:.2f}, "
        f"Redis {row['cpu Redis']:.2f}" for label, row in (("ceiling", c), ("submission", s))))
    print("req/s per round: ceiling " + ", ".join(f"{x['rps']:.0f}" for x in runs["ceiling"]) + "; submission "
          + ", ".join(f"{x['rps']:.0f}" for x in runs["submit"]))
    print(f"throughput ratio submit/ceiling: median of the rounds {statistics.median(ratios):.2f} (per round, each "
          f"pair of runs back to back: {', '.join(f'{x:.2f}' for x in ratios)}; ratio of the medians "
          f"{s['rps'] / c['rps']:.2f})  (target >= 0.15)")
    print(f"paced at {p['rate']:.0f} req/s (half the submission throughput) for {paced_seconds}s: "
          f"{p['requests']} requests, {p['failed']} failed, p50 {p['p50']:.1f} ms, p99 {p['p99']:.1f} ms  "
          f"(target p99 < 100 ms)" + (f"; failures: {p['failures']}" if p["failures"] else ""))


if __name__ == "__main__":
    main()
