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


def install_relay(factory, queue_getter) -> None:
    """After each commit of a session from `factory`, hand the rows it deferred to RQ (none after a rollback)."""
    from sqlalchemy import event, inspect

    @event.listens_for(factory, "after_commit")
    def _relay(session) -> None:
        items = session.info.pop("deferred", [])
        if not items:
            return
        queue = queue_getter()
        if queue is None:
            return
        notifications = []
        for kind, obj in items:
            identity = inspect(obj).identity
            if not identity:
                continue
            if kind == "notification":
                notifications.append(identity[0])
            elif not enqueue(queue, kind, identity[0]):
                return  # Redis is unreachable: stop trying; the sweep hands these rows over later
        if notifications:
            hand_over(queue, notifications)

    @event.listens_for(factory, "after_rollback")
    def _drop(session) -> None:
        session.info.pop("deferred", None)
