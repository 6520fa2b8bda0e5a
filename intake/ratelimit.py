"""Fixed-window rate limits per resident and per client address, shared by every web process through Redis.

Without a Redis (or while it is unreachable) each process counts on its own, which still stops a flood.
The client address is `request.remote_addr`, which ProxyFix (app.py) sets from the trusted proxy hop only.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import current_app, request
from redis import Redis
from redis.exceptions import NoScriptError

from models import DomainError

# name -> (requests allowed, window in seconds)
DEFAULT_LIMITS: dict[str, tuple[int, int]] = {
    "login_address": (30, 60),
    "login_resident": (10, 60),
    "submit_address": (120, 3600),
    "submit_resident": (20, 3600),
    "upload_resident": (60, 3600),
}


log = logging.getLogger(__name__)


class RateLimited(DomainError):
    status = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__("rate_limited")
        self.retry_after = retry_after


def parse_limits(spec: str) -> dict[str, tuple[int, int]] | None:
    """The limits for a XINMA_RATE_LIMITS value ("off" gives None: no limits)."""
    if spec.strip().lower() == "off":
        return None
    limits = dict(DEFAULT_LIMITS)
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, _, rule = part.partition("=")
        count, _, window = rule.partition("/")
        if name.strip() not in DEFAULT_LIMITS:
            raise ValueError(f"unknown rate limit {name!r}")
        limits[name.strip()] = (int(count), int(window))
    return limits


class _LocalCounters:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: dict[str, tuple[int, float]] = {}

    def hit(self, key: str, window: int, now: float) -> int:
        with self.lock:
            if len(self.counts) > 100_000:
                self.counts = {k: v for k, v in self.counts.items() if v[1] > now}
            count, until = self.counts.get(key, (0, 0.0))
            if until <= now:
                count, until = 0, now + window
            self.counts[key] = (count + 1, until)
            return count + 1


def _limits(app) -> dict[str, tuple[int, int]] | None:
    ext = app.extensions
    if "xinma.rate_limits" not in ext:
        ext["xinma.rate_limits"] = parse_limits(app.config["XINMA"].rate_limits)
    return ext["xinma.rate_limits"]


def hit(name: str, subject: str | int) -> None:
    """Count one request against limit `name` for `subject`; raise RateLimited (429, Retry-After) past it."""
    hit_many((name, subject))


# Counts each key and starts its expiry with the window's first hit, atomically: one EVALSHA for all limits.
_COUNT = """
local counts = {}
for i, key in ipairs(KEYS) do
    counts[i] = redis.call('INCR', key)
    if counts[i] == 1 then redis.call('EXPIRE', key, ARGV[i]) end
end
return counts
"""
_COUNT_SHA = hashlib.sha1(_COUNT.encode()).hexdigest()


def hit_many(*checks: tuple[str, str | int]) -> None:
    """Count one request against each (limit, subject) in one Redis round trip; RateLimited past any of them.

    All of them are counted, the exceeded one included; Retry-After is the longest wait among those exceeded.
    """
    waits = count(current_app._get_current_object(), list(checks))
    if any(waits):
        raise RateLimited(max(waits))


def count(app, checks: list[tuple[str, str | int]], also: Callable[[Any], object] | None = None) -> list[int]:
    """Count one request against each (limit, subject) of `app`, in one Redis round trip; for each, 0 when within
    its limit, else the seconds until its window ends (Retry-After). Callable outside a request (intake/committer.py
    counts many requests at once). `also(pipeline)` adds commands of the caller's to the same round trip (when there
    is nothing to count in Redis it is called with the Redis client itself; should Redis be down, they are lost)."""
    limits = _limits(app)
    queue = app.extensions.get("xinma.queue")
    if limits is None or not checks:
        if also is not None and queue is not None:
            also(queue.connection)
        return [0] * len(checks)
    now = time.time()
    keys = []
    for name, subject in checks:
        allowed, window = limits[name]
        bucket = int(now // window)
        keys.append((f"xinma:rl:{name}:{subject}:{bucket}", window, allowed, max(1, int((bucket + 1) * window - now))))
    counts = None
    if queue is not None:
        try:
            counts = _count_in_redis(queue.connection, [k[0] for k in keys], [k[1] + 1 for k in keys], also)
        except Exception:  # Redis down: count in this process rather than refuse everyone or no one
            counts = None
    if counts is None:
        local = app.extensions.setdefault("xinma.rate_counters", _LocalCounters())
        counts = [local.hit(key, window, now) for key, window, _, _ in keys]
    return [retry_after if n > allowed else 0 for (_, _, allowed, retry_after), n in zip(keys, counts, strict=True)]


def _count_in_redis(connection: Redis, keys: list[str], windows: list[int], also) -> list[int]:
    """EVALSHA of the counting script in one pipeline with `also`'s commands; the script is loaded again when
    Redis no longer has it (after a restart or a flush)."""
    for attempt in range(2):
        pipe = connection.pipeline(transaction=False)
        pipe.evalsha(_COUNT_SHA, len(keys), *keys, *windows)
        if also is not None and attempt == 0:
            also(pipe)
        counts, *others = pipe.execute(raise_on_error=False)
        for failed in (x for x in others if isinstance(x, Exception)):
            log.warning("a command sent with the rate-limit count failed: %s", failed)
        if isinstance(counts, NoScriptError):
            connection.script_load(_COUNT)
            continue
        if isinstance(counts, Exception):
            raise counts
        return [int(c) for c in counts]
    raise RuntimeError("the rate-limit script was not kept by Redis")


def client_address() -> str:
    return request.remote_addr or "unknown"
