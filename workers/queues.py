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
}


def redis_connection(url: str) -> Redis:
    """A Redis client that gives up quickly: a request must never hang because Redis is down."""
    return Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)


def make_queue(connection: Redis) -> Queue:
    return Queue(QUEUE, connection=connection, serializer=JSONSerializer, default_timeout=60)


def enqueue(queue: Queue, kind: str, row_id: int) -> bool:
    """Hand one row's job to RQ unless a live job for it exists; False if Redis could not be reached."""
    func, id_format = JOBS[kind]
    job_id = id_format.format(row_id)
    try:
        try:
            existing = Job.fetch(job_id, connection=queue.connection, serializer=JSONSerializer)
        except NoSuchJobError:
            existing = None
        if existing is not None:
            if existing.get_status(refresh=False) in LIVE:
                return True
            existing.delete()
        queue.enqueue(func, row_id, job_id=job_id, retry=RETRY, result_ttl=300, failure_ttl=86400)
        return True
    except Exception as exc:  # Redis down or flushed mid-call: the sweep hands the row over later
        log.warning("could not enqueue %s %s: %s", kind, row_id, exc.__class__.__name__)
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
        for kind, obj in items:
            identity = inspect(obj).identity
            if identity and not enqueue(queue, kind, identity[0]):
                return  # Redis is unreachable: stop trying; the sweep hands these rows over later

    @event.listens_for(factory, "after_rollback")
    def _drop(session) -> None:
        session.info.pop("deferred", None)
