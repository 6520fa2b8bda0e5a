"""Fixed-window rate limits per resident and per client address, shared by every web process through Redis.

A (limit, subject) pair has one counter per window, `xinma:rl:<limit>:<subject>:<window number>`, made with its
expiry on the window's first hit and counted by INCR; a request's limits are counted in one pipeline (one round
trip). Without a Redis (or while it is unreachable) each process counts on its own, which still stops a flood.
The client address is `request.remote_addr`, which ProxyFix (app.py) sets from the trusted proxy hop only.
"""

from __future__ import annotations

import threading
import time

from flask import current_app, request
from redis.exceptions import RedisError

from models import DomainError

# name -> (requests allowed, window in seconds)
DEFAULT_LIMITS: dict[str, tuple[int, int]] = {
    "login_address": (30, 60),
    "login_resident": (10, 60),
    "submit_address": (120, 3600),
    "submit_resident": (20, 3600),
    "upload_resident": (60, 3600),
    "submit_h5_address": (40, 3600),  # the H5 page: no resident to count by, so the address and the device cookie
    "submit_h5_device": (20, 3600),
}


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
    """This process's own counts, for while there is no Redis to share them through."""

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
    if "xinma.rate_limits" not in ext:  # once per app: the counters first, so they exist once the limits do
        ext["xinma.rate_counters"] = _LocalCounters()
        ext["xinma.rate_limits"] = parse_limits(app.config["XINMA"].rate_limits)
    return ext["xinma.rate_limits"]


def hit(name: str, subject: str | int) -> None:
    """Count one request against limit `name` for `subject`; raise RateLimited (429, Retry-After) past it."""
    hit_many((name, subject))


def hit_many(*checks: tuple[str, str | int]) -> None:
    """Count one request against each (limit, subject), in one Redis round trip; RateLimited past any of them.

    All of them are counted, the exceeded one included; Retry-After is the longest wait among those exceeded.
    """
    app = current_app
    limits = _limits(app)
    if limits is None:
        return
    now = time.time()
    windows = []
    for name, subject in checks:
        allowed, window = limits[name]
        number = int(now // window)
        retry_after = max(1, int((number + 1) * window - now))
        windows.append((f"xinma:rl:{name}:{subject}:{number}", window, allowed, retry_after))
    counts = _count(app, windows, now)
    waits = [retry_after for (_, _, allowed, retry_after), n in zip(windows, counts, strict=True) if n > allowed]
    if waits:
        raise RateLimited(max(waits))


def _count(app, windows: list[tuple[str, int, int, int]], now: float) -> list[int]:
    """Each window's count after this request: in Redis (SET NX with the expiry, then INCR, all in one pipeline),
    or in this process when there is no Redis or it cannot be reached."""
    queue = app.extensions.get("xinma.queue")
    if queue is not None:
        try:
            pipe = queue.connection.pipeline(transaction=False)
            for key, window, _, _ in windows:
                pipe.set(key, 0, ex=window + 1, nx=True)
                pipe.incr(key)
            return pipe.execute()[1::2]
        except RedisError:  # Redis down: count in this process rather than refuse everyone or no one
            pass
    local = app.extensions["xinma.rate_counters"]
    return [local.hit(key, window, now) for key, window, _, _ in windows]


def client_address() -> str:
    return request.remote_addr or "unknown"
