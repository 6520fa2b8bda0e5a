"""`xinma worker`: an RQ worker with the scheduler, and the sweep in a process of its own beside it.

The worker runs jobs in its own process (RQ's SimpleWorker) instead of forking a work horse per job: a
delivery batch then reuses the process's database connections, the shared access token and the kept-alive
HTTP connections to WeChat, where a fork per job paid for all of them again (about a second each). A worker
killed mid-job is the same case as a killed horse: its rows stay `sending` (needs review) or pending (the
sweep hands them over again). The sweep does not run as a thread of the worker: the scheduler is a forked
process, and a fork taken while another thread holds a lock (a database driver's, the logging module's)
deadlocks the child.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time

from rq import SimpleWorker
from rq.serializers import JSONSerializer
from sqlalchemy.orm import configure_mappers

from models import utcnow
from web.settings import Settings

from . import jobs, periodic
from .digest import due_today
from .queues import QUEUE, drain, enqueue, redis_connection
from .runtime import install

log = logging.getLogger(__name__)


def sweep_forever(settings: Settings, parent: int) -> None:
    """Until the worker that started this process is gone: relay the rows requests hand over (`drain`), and every
    `sweep_interval` seconds sweep the outbox, fold the statistics deltas into the sums, announce what came due
    (overdue, meeting reminders), and enqueue the daily staff digest once it is time."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    rt = install(settings)
    next_sweep = time.monotonic()
    while os.getppid() == parent:
        try:  # relay the rows requests hand over, as they come (first: what waited while no worker ran)
            drain(rt.queue, timeout=max(0.05, min(1.0, next_sweep - time.monotonic())))
        except Exception as exc:  # Redis down: the sweep hands the rows over from the database
            log.warning("relay failed: %s", exc.__class__.__name__)
            time.sleep(1)
        if time.monotonic() < next_sweep:
            continue
        try:
            counts = jobs.sweep()
            counts["statistics_folded"] = jobs.fold_statistics()
            if any(counts.values()):
                log.info("sweep: %s", counts)
            due = periodic.check_due()  # before the digest, so what came due now is in today's
            if any(due.values()):
                log.info("came due: %s", due)
            schedule_digest(rt)
        except Exception:  # a DB or Redis outage must not end the sweeper; it tries again next round
            log.exception("sweep failed")
        next_sweep = time.monotonic() + settings.sweep_interval


def schedule_digest(rt) -> bool:
    """Enqueue today's staff digest once, after XINMA_DIGEST_HOUR (China time, default 8).

    Side effects: a Redis SET NX marker per day, so many workers enqueue it once; should Redis lose the
    marker, a second run finds no undigested items and sends nothing twice.
    """
    day = due_today(utcnow(), rt.settings.digest_hour)
    if day is None:
        return False
    queue = rt.queue
    if not queue.connection.set(f"xinma:digest:{day}", "1", nx=True, ex=2 * 86400):
        return False
    return enqueue(queue, "digest", day)


def run_worker(settings: Settings, *, burst: bool = False) -> None:
    """Work the queue until stopped; the sweep runs at start and every `sweep_interval` seconds."""
    rt = install(settings)
    configure_mappers()  # once here, not inside the first job
    rt.session().close()
    sweeper = multiprocessing.get_context("spawn").Process(target=sweep_forever, args=(settings, os.getpid()),
                                                           name="xinma-sweep", daemon=True)
    sweeper.start()
    worker = SimpleWorker([QUEUE], connection=redis_connection(settings.redis_url), serializer=JSONSerializer,
                    maintenance_interval=60)
    try:
        worker.work(with_scheduler=True, burst=burst, logging_level="INFO")
    finally:
        sweeper.terminate()
        sweeper.join(5)
