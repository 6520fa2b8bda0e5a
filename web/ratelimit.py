"""Fixed-window rate limits per resident and per client address, shared by every web process through Redis.

Without a Redis (or while it is unreachable) each process counts on its own, which still stops a flood.
The client address is `request.remote_addr`, which ProxyFix (app.py) sets from the trusted proxy hop only.
"""

from __future__ import annotations

import datetime as dt
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
        bucket, retry_after = _window(now, window)
        keys.append((_key(name, subject, bucket), window, allowed, retry_after))
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


def _window(now: float, window: int) -> tuple[int, int]:
    """The fixed window `now` falls in (its number) and the seconds until it ends (Retry-After)."""
    bucket = int(now // window)
    return bucket, max(1, int((bucket + 1) * window - now))


def _key(name: str, subject: str | int, bucket: int) -> str:
    return f"xinma:rl:{name}:{subject}:{bucket}"


def _count_in_redis(connection: Redis, keys: list[str], windows: list[int], also) -> list[int]:
    return [int(c) for c in _run_script(connection, _COUNT, _COUNT_SHA, keys, windows, also)]


def _run_script(connection: Redis, script: str, sha: str, keys: list[str], args: list, also) -> list:
    """EVALSHA of a counting script in one pipeline with `also`'s commands; the script is loaded again when Redis
    no longer has it (after a restart or a flush)."""
    for attempt in range(2):
        pipe = connection.pipeline(transaction=False)
        pipe.evalsha(sha, len(keys), *keys, *args)
        if also is not None and attempt == 0:
            also(pipe)
        result, *others = pipe.execute(raise_on_error=False)
        for failed in (x for x in others if isinstance(x, Exception)):
            log.warning("a command sent with the rate-limit count failed: %s", failed)
        if isinstance(result, NoScriptError):
            connection.script_load(script)
            continue
        if isinstance(result, Exception):
            raise result
        return result
    raise RuntimeError("the rate-limit script was not kept by Redis")


# --- submissions counted by their session's resident, known to Redis -----------------------------------------
#
# Redis keeps, for each session it was told of, the resident whose it is (`xinma:session:<token hash>`, expiring
# with the session): told at sign-in, and by the committer when it had to look a session up in the database; a
# sign-out forgets it. With it, a batch of submissions is counted against both submission limits in one Redis
# round trip, before (and without) a database query for their sessions. The mapping only names the resident: the
# submission's statement still checks that the session is live, so a session that was revoked or went idle, if
# Redis still names its resident, is counted once for that resident before its 401.

_SESSION = "xinma:session:"

# KEYS: (session key, address key) per submission. ARGV: the resident key's prefix and suffix (its window's
# bucket), then the resident and address windows (expiry). Per submission: resident id (-1: session not known, not
# counted), address count, resident count.
_COUNT_KNOWN = """
local out = {}
for i = 1, #KEYS, 2 do
    local resident = redis.call('GET', KEYS[i])
    if resident then
        local a = redis.call('INCR', KEYS[i + 1])
        if a == 1 then redis.call('EXPIRE', KEYS[i + 1], ARGV[4]) end
        local key = ARGV[1] .. resident .. ARGV[2]
        local r = redis.call('INCR', key)
        if r == 1 then redis.call('EXPIRE', key, ARGV[3]) end
        out[#out + 1] = tonumber(resident); out[#out + 1] = a; out[#out + 1] = r
    else
        out[#out + 1] = -1; out[#out + 1] = 0; out[#out + 1] = 0
    end
end
return out
"""
_COUNT_KNOWN_SHA = hashlib.sha1(_COUNT_KNOWN.encode()).hexdigest()


def count_submissions(app, submissions: list[tuple[str, str]], also: Callable[[Any], object] | None = None
                      ) -> list[tuple[int, int] | None] | None:
    """Count submissions, given as (session token hash, client address), against both submission limits, in one
    Redis round trip with `also`'s commands: for each, (resident id, 0 or Retry-After seconds), or None when Redis
    does not know its session (nothing counted: the caller looks it up and counts it with `count`). None for all
    when there is no Redis to ask, no limits, or Redis is down (`also` is then not sent)."""
    limits = _limits(app)
    queue = app.extensions.get("xinma.queue")
    if limits is None or queue is None or not submissions:
        return None
    now = time.time()
    (address_allowed, address_window), (resident_allowed, resident_window) = (
        limits["submit_address"], limits["submit_resident"])
    (address_bucket, address_wait), (resident_bucket, resident_wait) = (
        _window(now, address_window), _window(now, resident_window))
    keys = []
    for token_hash, address in submissions:
        keys += (_SESSION + token_hash, _key("submit_address", address, address_bucket))
    # the resident's key, as `count` names it, around the resident id the script reads
    resident_key = _key("submit_resident", "\0", resident_bucket).split("\0")
    args = [*resident_key, resident_window + 1, address_window + 1]
    try:
        out = _run_script(queue.connection, _COUNT_KNOWN, _COUNT_KNOWN_SHA, keys, args, also)
    except Exception:  # Redis down: the caller counts the way `count` does without it
        return None
    found: list[tuple[int, int] | None] = []
    for n in range(0, len(out), 3):
        resident, at_address, for_resident = (int(x) for x in out[n:n + 3])
        if resident < 0:
            found.append(None)
            continue
        found.append((resident, max(address_wait if at_address > address_allowed else 0,
                                    resident_wait if for_resident > resident_allowed else 0)))
    return found


def remember_sessions(redis, sessions: list[tuple[str, int, dt.datetime]]) -> None:
    """Tell Redis (a client or a pipeline) whose these sessions are: (token hash, resident id, expiry) each."""
    for token_hash, resident_id, expires_at in sessions:
        redis.set(_SESSION + token_hash, resident_id, exat=max(1, int(expires_at.timestamp())))


def remember_session(app, token_hash: str, resident_id: int, expires_at: dt.datetime) -> None:
    """At sign-in: the new session's submissions can be counted without a database query. Best effort: without
    it, the session is looked up in the database at its first submission."""
    queue = app.extensions.get("xinma.queue")
    if queue is not None:
        try:
            remember_sessions(queue.connection, [(token_hash, resident_id, expires_at)])
        except Exception as exc:
            log.warning("could not tell Redis of a new session: %s", exc.__class__.__name__)


def forget_session(app, token_hash: str) -> None:
    """At sign-out. Should Redis not hear of it, the session is still refused (401), counted once before."""
    queue = app.extensions.get("xinma.queue")
    if queue is not None:
        try:
            queue.connection.delete(_SESSION + token_hash)
        except Exception as exc:
            log.warning("could not tell Redis of a sign-out: %s", exc.__class__.__name__)


def client_address() -> str:
    return request.remote_addr or "unknown"
