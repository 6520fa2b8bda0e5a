"""The one way to the workers: after a commit, its rows' jobs go into RQ in one pipeline, each under a
deterministic id that RQ's own atomic uniqueness keeps to one job.

Outbox rows and content checks are not a job each: they wake the delivery job (`workers.delivery.deliver`),
which claims whatever is due. Its id names a time bucket of BUCKET seconds and a slot (one per worker that may
share the work), so the commits of one bucket wake each slot once, and a job never finishes before its bucket
has ended: a row committed while its bucket's job runs is claimed by that job, and a row committed later wakes
the next bucket's. Photos and digests are a job per row. If Redis is down the commit still stands; the sweep
wakes the delivery job for what waited longer than its grace period.
"""

from __future__ import annotations

import logging
import time

from redis import Redis
from redis.exceptions import NoScriptError
from rq import Queue, Retry
from rq.scripts import UNIQUE_ENQUEUE_SCRIPT, _build_hset_args
from rq.serializers import JSONSerializer

log = logging.getLogger(__name__)
QUEUE = "xinma"
DELIVER = "workers.delivery.deliver"
BUCKET = 0.2  # seconds of commits one delivery job id stands for
SLOTS = 2  # delivery jobs woken per bucket: as many workers as may send at once
WAKES = ("notification", "content_check")  # kinds the delivery job finds by itself once woken
JOBS = {  # kind -> (function, job id, RQ retry: photos are not deliveries, their checks keep RQ's back-off)
    "photo": ("workers.intake_jobs.process_photo", "photo-{}", Retry(max=5, interval=[2, 10, 30, 120, 600])),
    "digest": ("workers.schedules.send_digests", "digest-{}", None),
}


def redis_connection(url: str) -> Redis:
    """A Redis client that gives up quickly: a request must never hang because Redis is down."""
    return Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)


def make_queue(connection: Redis) -> Queue:
    return Queue(QUEUE, connection=connection, serializer=JSONSerializer, default_timeout=60)


def bucket_of(moment: float) -> int:
    """The delivery bucket a wall-clock moment (seconds since the epoch) falls in."""
    return int(moment // BUCKET)


def wake_jobs(bucket: int, held: bool = False) -> list[tuple[str, list, str, None]]:
    """The delivery jobs (function, args, id, retry) one bucket's commits wake; `held`: retry held checks too."""
    tag = "held-" if held else ""
    return [(DELIVER, [bucket, held], f"deliver-{tag}{bucket}-{slot}", None) for slot in range(SLOTS)]


def wake(queue: Queue, held: bool = False) -> int:
    """Wake the delivery jobs of the current bucket (see `enqueue`); `held`: retry held content checks too."""
    return enqueue(queue, [], wake=True, held=held)


def enqueue(queue: Queue, items: list[tuple[str, int | str]], *, wake: bool = False, held: bool = False) -> int:
    """Put the jobs for these (kind, row id) pairs into RQ in one pipeline; returns how many were new.

    Notification and content-check rows wake the delivery job of the current bucket; other kinds are one job
    each, id from JOBS. A job whose id exists is left as it is, atomically (RQ's unique-enqueue script: rq 2.x's
    `enqueue_many` has no uniqueness, so the jobs are written with that script, one call each, in one pipeline).
    Returns -1 if Redis could not be reached (the sweep hands the rows over later); never raises.
    """
    specs = []
    bucket = bucket_of(time.time())
    # This process already woke this bucket's jobs: they cannot finish before the bucket ends, so they will see
    # these rows too. Under load a process wakes them once per bucket instead of once per commit.
    wake = held or ((wake or any(kind in WAKES for kind, _ in items))
                    and getattr(queue, "xinma_woken", None) != bucket)
    if wake:
        specs += wake_jobs(bucket, held)
    for kind, row_id in items:
        if kind in JOBS:
            func, id_format, retry = JOBS[kind]
            specs.append((func, [row_id], id_format.format(row_id), retry))
    if not specs:
        return 0
    try:
        added = enqueue_unique(queue, specs)
        if wake and not held:
            queue.xinma_woken = bucket
        return added
    except Exception as exc:  # Redis down or flushed mid-call: the sweep hands the rows over later
        log.warning("could not enqueue %d jobs: %s", len(specs), exc.__class__.__name__)
        return -1


def enqueue_unique(queue: Queue, specs: list[tuple[str, list, str, Retry | None]]) -> int:
    """Enqueue each (function, args, job id, retry) unless a job of that id exists, atomically per job (RQ's
    unique-enqueue script), all in one pipeline; returns how many were new. Redis errors propagate."""
    connection = queue.connection
    jobs = []
    for func, args, job_id, retry in specs:
        job = queue.create_job(func, args=args, job_id=job_id, retry=retry, result_ttl=0, failure_ttl=86400)
        queue._prepare_for_queue(job)  # what `enqueue` sets before it saves a job: origin, enqueued_at, timeout
        jobs.append(job)
    script = connection.register_script(UNIQUE_ENQUEUE_SCRIPT)  # computes its sha locally; no round trip
    for attempt in (1, 2):
        pipe = connection.pipeline(transaction=False)
        pipe.sadd(queue.redis_queues_keys, queue.key)
        for job in jobs:
            pipe.evalsha(script.sha, 2, job.key, queue.key, job.id, "R", -1, *_build_hset_args(job))
        try:
            return sum(pipe.execute()[1:])
        except NoScriptError:
            if attempt == 2:
                raise
            connection.script_load(UNIQUE_ENQUEUE_SCRIPT)  # Redis restarted or flushed its scripts
    raise AssertionError("unreachable")  # pragma: no cover


def install_enqueue(factory, queue_getter) -> None:
    """After each commit of a session from `factory`, enqueue the jobs for the rows it deferred (none after a
    rollback). A deferred object is read for its id after the commit; a plain id is taken as it is."""
    from sqlalchemy import event, inspect

    @event.listens_for(factory, "after_commit")
    def _enqueue(session) -> None:
        deferred = session.info.pop("deferred", [])
        if not deferred:
            return
        queue = queue_getter()
        if queue is None:
            return
        items = []
        for kind, obj in deferred:
            row_id = obj if isinstance(obj, int) else (inspect(obj).identity or [None])[0]
            if row_id is not None:
                items.append((kind, row_id))
        if items:
            enqueue(queue, items)

    @event.listens_for(factory, "after_rollback")
    def _drop(session) -> None:
        session.info.pop("deferred", None)
