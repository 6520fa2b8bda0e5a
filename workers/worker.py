"""`xinma worker`: an RQ worker with the scheduler, and the sweep in a process of its own beside it.

The worker runs jobs in its own process (RQ's SimpleWorker) instead of forking a work horse per job: the
delivery job then reuses the process's database connections, its thread pool and the kept-alive HTTP
connections to WeChat, where a fork per job paid for all of them again (about a second each). A worker
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

from web.settings import Settings

from . import periodic, sweep
from .queues import QUEUE, redis_connection
from .runtime import install
from .schedules import schedule_digest

log = logging.getLogger(__name__)


def sweep_forever(settings: Settings, parent: int) -> None:
    """Until the worker that started this process is gone, every `sweep_interval` seconds: sweep the outbox,
    fold the statistics deltas into the sums, announce what came due (overdue, meeting reminders), and enqueue
    the daily staff digest once it is time."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    rt = install(settings)
    while os.getppid() == parent:
        try:
            counts = sweep.sweep()
            counts["statistics_folded"] = sweep.fold_statistics()
            if any(counts.values()):
                log.info("sweep: %s", counts)
            due = periodic.check_due()  # before the digest, so what came due now is in today's
            if any(due.values()):
                log.info("came due: %s", due)
            schedule_digest(rt)
        except Exception:  # a DB or Redis outage must not end the sweeper; it tries again next round
            log.exception("sweep failed")
        next_round = time.monotonic() + settings.sweep_interval
        while os.getppid() == parent and time.monotonic() < next_round:
            time.sleep(min(1.0, max(0.0, next_round - time.monotonic())))  # a second at most without the worker


class Worker(SimpleWorker):
    """RQ's SimpleWorker, whose pub/sub listener is stopped with a bounded wait at shutdown: with redis-py 8 the
    listener can sit up to a minute waiting for the subscription RQ has just dropped, and RQ's stop waits with it
    (seen as workers still alive 30 s after SIGTERM). The listener is a daemon thread: leaving it is safe."""

    def unsubscribe(self) -> None:
        if not self.pubsub_thread:
            return
        self.log.info("Worker %s: unsubscribing from channel %s", self.name, self.pubsub_channel_name)
        self.pubsub.unsubscribe()
        try:
            self.pubsub_thread.stop(timeout=1)
        except TypeError:  # redis-py before 8: stop() does not wait
            self.pubsub_thread.stop()
        self.pubsub.close()


def run_worker(settings: Settings, *, burst: bool = False) -> None:
    """Work the queue until stopped; the sweep runs at start and every `sweep_interval` seconds."""
    rt = install(settings)
    configure_mappers()  # once here, not inside the first job
    rt.session().close()
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
        if sweeper.is_alive():  # stuck in a database or Redis call: the worker's exit must not wait for it
            sweeper.kill()
            sweeper.join(5)
