"""`xinma worker`: an RQ worker with the scheduler, and the sweep in a process of its own beside it.

The sweep does not run as a thread of the worker: RQ forks a work horse per job, and a fork taken while
another thread holds a lock (a database driver's, the logging module's) leaves the horse deadlocked.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time

from rq import Worker
from rq.serializers import JSONSerializer

from models import utcnow
from models.settings import Settings

from . import jobs
from .digest import due_today
from .queues import QUEUE, enqueue, redis_connection
from .runtime import install

log = logging.getLogger(__name__)


def sweep_forever(settings: Settings, parent: int) -> None:
    """Sweep every `sweep_interval` seconds until the worker that started this process is gone."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    rt = install(settings)
    while os.getppid() == parent:
        try:
            counts = jobs.sweep()
            if any(counts.values()):
                log.info("sweep: %s", counts)
            schedule_digest(rt)
        except Exception:  # a DB or Redis outage must not end the sweeper; it tries again next round
            log.exception("sweep failed")
        time.sleep(settings.sweep_interval)


def schedule_digest(rt) -> bool:
    """Enqueue today's staff digest once, after XINMA_DIGEST_HOUR (China time, default 8).

    Side effects: a Redis SET NX marker per day, so many workers enqueue it once; should Redis lose the
    marker, a second run finds no undigested items and sends nothing twice.
    """
    day = due_today(utcnow(), int(os.environ.get("XINMA_DIGEST_HOUR", "8")))
    if day is None:
        return False
    queue = rt.queue
    if not queue.connection.set(f"xinma:digest:{day}", "1", nx=True, ex=2 * 86400):
        return False
    return enqueue(queue, "digest", day)


def run_worker(settings: Settings, *, burst: bool = False) -> None:
    """Work the queue until stopped; the sweep runs at start and every `sweep_interval` seconds."""
    install(settings)
    sweeper = multiprocessing.get_context("spawn").Process(target=sweep_forever, args=(settings, os.getpid()),
                                                           name="xinma-sweep", daemon=True)
    sweeper.start()
    worker = Worker([QUEUE], connection=redis_connection(settings.redis_url), serializer=JSONSerializer,
                    maintenance_interval=60)
    try:
        worker.work(with_scheduler=True, burst=burst, logging_level="INFO")
    finally:
        sweeper.terminate()
        sweeper.join(5)
