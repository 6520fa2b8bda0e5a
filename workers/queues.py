"""The one place queues are made: explicit connection, JSON serializer, deterministic job ids per row."""

from __future__ import annotations

import logging

from redis import Redis
from rq import Queue, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

log = logging.getLogger(__name__)
QUEUE = "xinma"
RETRY = Retry(max=5, interval=[2, 10, 30, 120, 600])
LIVE = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED}
JOBS = {
    "notification": ("workers.jobs.deliver_notification", "notification-{}"),
    "content_check": ("workers.jobs.check_complaint_content", "content-check-{}"),
    "photo": ("workers.intake_jobs.process_photo", "photo-{}"),
    "digest": ("workers.jobs.send_digests", "digest-{}"),
}
BATCH = ("workers.jobs.deliver_notifications", "notifications-{}-{}-{}")
BATCH_SIZE = 200  # rows per batch job: RQ's per-job cost (a fork) is paid once per batch


def redis_connection(url: str) -> Redis:
    """A Redis client that gives up quickly: a request must never hang because Redis is down."""
    return Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)


def make_queue(connection: Redis) -> Queue:
    return Queue(QUEUE, connection=connection, serializer=JSONSerializer, default_timeout=60)


def enqueue(queue: Queue, kind: str, row_id: int) -> bool:
    """Hand one row's job to RQ unless a live job for it exists; False if Redis could not be reached."""
    func, id_format = JOBS[kind]
    return _enqueue(queue, func, [row_id], id_format.format(row_id))


def hand_over(queue: Queue, notification_ids: list[int], round_id: str | None = None) -> int:
    """Hand outbox rows to RQ: one job for a single row, batch jobs of BATCH_SIZE for many; rows handed over.

    A batch's job id names its rows, so the same batch handed twice is queued once. The sweep passes its own
    `round_id`: a job left "started" by a killed worker must not hide its rows from the next round. A row in
    two batches is still sent once, since delivery claims each row with a compare-and-set.
    """
    ids = sorted(set(notification_ids))
    if round_id is None and len(ids) == 1:
        return int(enqueue(queue, "notification", ids[0]))
    handed = 0
    for start in range(0, len(ids), BATCH_SIZE):
        chunk = ids[start:start + BATCH_SIZE]
        job_id = BATCH[1].format(chunk[0], chunk[-1], len(chunk)) + (f"-{round_id}" if round_id else "")
        if not _enqueue(queue, BATCH[0], [chunk], job_id, retry=None):
            return handed
        handed += len(chunk)
    return handed


def _enqueue(queue: Queue, func: str, args: list, job_id: str, retry: Retry | None = RETRY) -> bool:
    try:
        try:
            existing = Job.fetch(job_id, connection=queue.connection, serializer=JSONSerializer)
        except NoSuchJobError:
            existing = None
        if existing is not None:
            if existing.get_status(refresh=False) in LIVE:
                return True
            existing.delete()
        queue.enqueue(func, *args, job_id=job_id, retry=retry, result_ttl=300, failure_ttl=86400)
        return True
    except Exception as exc:  # Redis down or flushed mid-call: the sweep hands the rows over later
        log.warning("could not enqueue %s: %s", job_id, exc.__class__.__name__)
        return False


def relay(queue: Queue, items: list[tuple[str, int]], *more: list[tuple[str, int]]) -> bool:
    """Hand committed rows to RQ in one Redis round trip; False if Redis could not be reached.

    `items` are the (kind, row id) pairs one transaction committed (`more`: those of further transactions, each
    grouped on its own). A transaction's notification rows go as one job for a single row or batch jobs of
    BATCH_SIZE; every other kind as one job per row. All jobs are written and queued in one pipeline. No
    existence check is needed: the rows were just committed, so no job for them can exist yet, and should one
    exist the delivery's compare-and-set claim still sends each row once.
    """
    datas = [data for group in (items, *more) for data in _jobs(group)]
    if not datas:
        return True
    try:
        pipe = queue.connection.pipeline()
        queue.enqueue_many(datas, pipeline=pipe)
        pipe.execute()
        return True
    except Exception as exc:  # Redis down: the sweep hands the rows over later
        log.warning("could not hand %d jobs to RQ: %s", len(datas), exc.__class__.__name__)
        return False


def _jobs(items: list[tuple[str, int]]) -> list:
    """The RQ jobs for one transaction's rows (see `relay`)."""
    notifications = sorted({row_id for kind, row_id in items if kind == "notification"})
    datas = []
    if len(notifications) == 1:
        datas.append(_data(JOBS["notification"][0], [notifications[0]],
                           JOBS["notification"][1].format(notifications[0]), RETRY))
    else:
        for start in range(0, len(notifications), BATCH_SIZE):
            chunk = notifications[start:start + BATCH_SIZE]
            datas.append(_data(BATCH[0], [chunk], BATCH[1].format(chunk[0], chunk[-1], len(chunk)), None))
    for kind, row_id in items:
        if kind != "notification":
            func, id_format = JOBS[kind]
            datas.append(_data(func, [row_id], id_format.format(row_id), RETRY))
    return datas


HANDOFF = "xinma:handoff"


def handoff(connection: Redis, *transactions: list[tuple[str, int]]) -> bool:
    """Name the rows each of these transactions just committed to the workers' relay, in one RPUSH of one list
    element per transaction; False if Redis could not be reached.

    This follows the commit of every request that writes outbox rows (every resident submission), so it is one
    cheap command: `drain()`, in each worker's sweep process, turns the rows into RQ jobs, many transactions at a
    time, each as `relay` would have (a single receipt stays a job of its own). Should the names be lost (Redis
    down or flushed, a relay killed mid-batch), the sweep hands the rows over from the database after its grace
    period: the outbox row is the record, this list only saves the wait.
    """
    try:
        connection.rpush(HANDOFF, *(" ".join(f"{kind}:{row_id}" for kind, row_id in items) for items in transactions))
        return True
    except Exception as exc:  # Redis down: the sweep hands the rows over later
        log.warning("could not hand %d transactions' rows over: %s", len(transactions), exc.__class__.__name__)
        return False


def drain(queue: Queue, timeout: float, batch: int = 500) -> int:
    """Wait up to `timeout` seconds for transactions' rows handed over, then relay up to `batch` transactions to RQ
    in one pipeline; returns how many rows were relayed. Redis errors propagate (the caller waits, tries again)."""
    first = queue.connection.blpop([HANDOFF], timeout=timeout)
    if first is None:
        return 0
    groups = []
    for element in [first[1], *(queue.connection.lpop(HANDOFF, batch - 1) or [])]:
        group = []
        for name in element.decode().split():
            kind, _, row_id = name.partition(":")
            if kind in JOBS and row_id.isdigit():
                group.append((kind, int(row_id)))
        if group:
            groups.append(group)
    if groups and not relay(queue, *groups):
        for group in groups:  # Redis failed mid-way: put them back for the next round
            handoff(queue.connection, group)
        return 0
    return sum(len(group) for group in groups)


def _data(func: str, args: list, job_id: str, retry: Retry | None):
    return Queue.prepare_data(func, args, job_id=job_id, retry=retry, result_ttl=300, failure_ttl=86400)


def install_relay(factory, queue_getter) -> None:
    """After each commit of a session from `factory`, hand the rows it deferred to the workers' relay (`handoff`;
    none after a rollback)."""
    from sqlalchemy import event, inspect

    @event.listens_for(factory, "after_commit")
    def _relay(session) -> None:
        deferred = session.info.pop("deferred", [])
        if not deferred:
            return
        queue = queue_getter()
        if queue is None:
            return
        items = [(kind, identity[0]) for kind, obj in deferred if (identity := inspect(obj).identity)]
        if items:
            handoff(queue.connection, items)

    @event.listens_for(factory, "after_rollback")
    def _drop(session) -> None:
        session.info.pop("deferred", None)
