"""Group commit for complaint submissions: the submissions a web process receives together are written together.

Each web process has one committer thread, with a database connection of its own. A request that takes the
one-statement path (intake/fastpath.py) hands its submission over and waits; the thread takes every submission
waiting, counts their rate limits in one Redis round trip (Redis names each session's resident, see
intake/ratelimit.py; sessions it does not know are checked in one query first and counted in a second round trip),
writes them all in one statement (one transaction, one commit flushed to disk; it checks that each session is
live) and wakes each request with its own result row, then
names the rows the workers need in one RPUSH; when more submissions are already waiting, that RPUSH goes with
their rate-limit count instead, in the same round trip. A submission arriving while a batch is being written waits
for the next one. A batch about to be written waits (LINGER at most) only for submissions this process is already
reading (`on_the_way`), as PostgreSQL's commit_delay waits for commit_siblings: under little load every batch is one
submission and nothing waits; under load more submissions share the round trips and the commit.

Each submission still gets exactly the answer it would get alone: the statement treats every submission on its
own, the result rows are read by the request (`fastpath.outcome`), and a batch never holds one resident's
Idempotency-Key twice (the second waits for the next batch, where it finds the first one's key). Should a batch's
statement fail, nothing of it was written, and each request writes its submission alone.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from models import Conflict, DomainError
from models.residents import check_live
from web import ratelimit
from workers.queues import handoff

from . import fastpath

log = logging.getLogger(__name__)

BATCH = 64  # submissions per statement at most
LINGER = 0.002  # seconds a batch waits at most for submissions already on their way in this process

_SESSIONS = """
SELECT rs.token_hash, rs.revoked_at, rs.expires_at, coalesce(rs.last_seen_at, rs.created_at), rs.resident_id
FROM resident_sessions rs
WHERE rs.token_hash = ANY(string_to_array(%(hashes)s, ' '))
"""


class _Waiting:
    """One submission in a batch. Its request's thread waits on a bare lock, released once (`finish`) by the
    committer: one wake-up, where an Event's wait takes a condition and its lock again after waking."""

    __slots__ = ("item", "address", "resident_id", "row", "error", "done", "_lock")

    def __init__(self, item: dict[str, Any], address: str, resident_id: int | None) -> None:
        self.item, self.address, self.resident_id = item, address, resident_id
        self.row: tuple | None = None
        self.error: BaseException | None = None
        self.done = False
        self._lock = threading.Lock()
        self._lock.acquire()

    def finish(self) -> None:
        """Wake the request (once: a second call does nothing). Called by the committer's thread only."""
        if not self.done:
            self.done = True
            self._lock.release()

    def wait(self) -> None:
        self._lock.acquire()


class Committer:
    """Writes the submissions of the threads of one web process together (see the module's text)."""

    def __init__(self, app) -> None:
        self.app = app
        self.engine = app.extensions["xinma.autocommit"]
        self._pid: int | None = None
        self._start_lock = threading.Lock()
        self._raw = None  # the thread's own database connection, out of the pool, closed with the pool
        event.listen(app.extensions["xinma.engine"], "engine_disposed", lambda engine: self._drop())
        self._unsent: list[list[tuple[str, int]]] = []  # written rows not yet named to the relay
        self._queue: list[_Waiting] = []  # submissions waiting for the next batch (this process's, see _start)

    def submit(self, token_hash: str, body: dict[str, Any], key: str | None, address: str
               ) -> tuple[int, str, bool]:
        """Write one submission (`body` found `fastpath.usable`) by the session with this token hash, from this
        client address; returns (status, JSON text of the answer, whether it is a replay). Raises what the general
        path raises: 401 for a session that is not live, 429 past a rate limit (both counted once), and
        `fastpath.outcome`'s errors."""
        item = fastpath.prepare(token_hash, body, key)
        resident_id = None  # known once the first attempt was checked and counted
        for _ in range(3):
            waiting = self._wait(_Waiting(item, address, resident_id))
            resident_id = waiting.resident_id
            if waiting.error is not None:
                raise waiting.error
            result = fastpath.outcome(self.engine.connect, item, waiting.row)
            if result is not None:
                return result
        raise Conflict("idempotency_key_in_progress")

    @contextmanager
    def on_the_way(self) -> Iterator[None]:
        """Around a request's work before `submit`: while it lasts, a batch about to be written waits (LINGER at
        most) for this submission to join it. Leaving without submitting (a refused body) stops the wait."""
        self._start()
        with self._wake:
            self._coming += 1
        self._local.coming = True
        try:
            yield
        finally:
            if self._local.coming:
                self._arrived(None)

    def _arrived(self, waiting: _Waiting | None) -> None:
        """This thread's submission joins the queue (None: it will not come after all). The committer is woken
        only when that ends its wait: the first submission of a batch, the last one on its way, a full batch."""
        with self._wake:
            if getattr(self._local, "coming", False):
                self._coming -= 1
                self._local.coming = False
            if waiting is not None:
                self._queue.append(waiting)
            if not self._coming or len(self._queue) == 1 or len(self._queue) >= BATCH:
                self._wake.notify()

    def _start(self) -> None:
        if self._pid != os.getpid():  # first use in this process (gunicorn forks after the app is made)
            with self._start_lock:
                if self._pid != os.getpid():
                    self._queue = []
                    self._wake = threading.Condition()
                    self._coming, self._local = 0, threading.local()
                    self._raw, self._unsent = None, []  # nothing of the parent process's
                    threading.Thread(target=self._run, name="xinma-committer", daemon=True).start()
                    self._pid = os.getpid()

    def _wait(self, waiting: _Waiting) -> _Waiting:
        self._start()
        self._arrived(waiting)
        waiting.wait()
        return waiting

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._queue:
                    self._wake.wait()
                until = time.monotonic() + LINGER
                while self._coming and len(self._queue) < BATCH and time.monotonic() < until:
                    self._wake.wait(until - time.monotonic())
                batch, self._queue = self._queue[:BATCH], self._queue[BATCH:]
            try:
                later = self._write(batch)
            except BaseException:  # the thread must outlive anything: every request waiting is answered
                log.exception("group commit failed for %d submissions", len(batch))
                for waiting in batch:
                    if not waiting.done:
                        waiting.error = waiting.error or RuntimeError("group commit failed")
                        waiting.finish()
                continue
            if later:
                with self._wake:
                    self._queue[:0] = later

    def _write(self, batch: list[_Waiting]) -> list[_Waiting]:
        """Check, count and write one batch; wakes each request written or refused, returns those left for the
        next batch (a key already in this one)."""
        first = [w for w in batch if w.resident_id is None]  # not yet checked and counted
        if first:
            self._check(first)
        ready, later, keys = [], [], set()
        for waiting in batch:
            if waiting.error is not None:
                waiting.finish()
            elif waiting.item["key"] is not None and (waiting.resident_id, waiting.item["key"]) in keys:
                later.append(waiting)
            else:
                keys.add((waiting.resident_id, waiting.item["key"]))
                ready.append(waiting)
        if not ready:
            return later
        rows = self._statement(ready)
        for waiting, row in zip(ready, rows, strict=True):
            waiting.row = row
            waiting.finish()
        queue = self.app.extensions["xinma.queue"]
        if queue is not None:  # the workers' relay (without one, the sweep finds the rows)
            self._unsent += [[("notification", row[8]), ("content_check", row[7])] for row in rows if row and row[7]]
            if not self._queue:  # else the next batch's Redis round trip names them too
                self._hand_over(queue.connection)
        return later

    def _hand_over(self, redis) -> None:
        """Name the written rows to the workers' relay (one RPUSH) on this Redis client or pipeline; names lost
        with Redis down are covered by the sweep."""
        if self._unsent:
            handoff(redis, *self._unsent)
        self._unsent = []

    def _statement(self, ready: list[_Waiting]) -> list[tuple | None]:
        """The statement's result rows for these submissions. Should it fail for a batch (nothing of which is then
        written), each submission is written alone; one that fails alone gets the error, and None for its row."""
        try:
            return fastpath.write(self._connection(), [w.item for w in ready])
        except Exception as exc:
            self._drop()
            if len(ready) == 1:
                ready[0].error = exc
                return [None]
            log.exception("batch of %d submissions not written; each is written alone", len(ready))
        return [self._statement([w])[0] for w in ready]

    def _check(self, first: list[_Waiting]) -> None:
        """Both rate limits for the batch's new submissions, and the sign-in check as the general path does it
        for those whose session Redis does not know (those it knows are checked by the statement)."""
        known = ratelimit.count_submissions(
            self.app, [(w.item["row"]["token_hash"], w.address) for w in first], also=self._hand_over)
        if known is not None:
            rest = []
            for waiting, found in zip(first, known, strict=True):
                if found is None:
                    rest.append(waiting)
                    continue
                waiting.resident_id, wait = found
                if wait:
                    waiting.error = ratelimit.RateLimited(wait)
            first = rest
            if not first:
                return
        hashes = " ".join({w.item["row"]["token_hash"] for w in first})  # one text: half the driver's work of a list
        for attempt in range(2):
            try:
                sessions = {row[0]: row[1:] for row in self._connection().execute(_SESSIONS, {"hashes": hashes})}
                break
            except Exception:  # a connection broken since the last batch: once more on a new one
                self._drop()
                if attempt:
                    raise
        counted, live = [], {}
        for waiting in first:
            token_hash = waiting.item["row"]["token_hash"]
            session = sessions.get(token_hash)
            try:
                check_live(session and session[:3], waiting.item["now"])
            except DomainError as exc:
                waiting.error = exc
                continue
            waiting.resident_id = session[3]
            live[token_hash] = (token_hash, session[3], session[1])
            counted.append(waiting)
        checks = [check for w in counted
                  for check in (("submit_address", w.address), ("submit_resident", w.resident_id))]

        def also(redis) -> None:  # the relay's names, if not sent yet, and the sessions for Redis to know next time
            self._hand_over(redis)
            if known is not None:  # else nothing asks Redis for them (no limits, or Redis was down just now)
                ratelimit.remember_sessions(redis, list(live.values()))

        waits = ratelimit.count(self.app, checks, also=also)
        for n, waiting in enumerate(counted):
            wait = max(waits[2 * n], waits[2 * n + 1])
            if wait:
                waiting.error = ratelimit.RateLimited(wait)

    def _connection(self):
        """The thread's own autocommit connection (the driver's, kept out of the pool: no check-out per batch)."""
        if self._raw is None:
            self._raw = self.engine.raw_connection()
            self._raw.driver_connection.autocommit = True
        return self._raw.driver_connection

    def _drop(self) -> None:
        """After a failure the connection may be broken: the next batch opens another."""
        if self._raw is not None:
            self._raw.invalidate()
            self._raw = None
