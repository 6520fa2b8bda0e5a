"""`xinma worker`: an RQ worker with the scheduler, plus the sweep on a timer in the same process."""

from __future__ import annotations

import logging
import threading

from rq import Worker
from rq.serializers import JSONSerializer

from models.settings import Settings

from . import jobs
from .queues import QUEUE, redis_connection
from .runtime import install

log = logging.getLogger(__name__)


def _sweep_forever(stop: threading.Event, interval: float) -> None:
    while not stop.is_set():
        try:
            counts = jobs.sweep()
            if any(counts.values()):
                log.info("sweep: %s", counts)
        except Exception:  # a DB or Redis outage must not kill the sweeper; it tries again next round
            log.exception("sweep failed")
        stop.wait(interval)


def run_worker(settings: Settings, *, burst: bool = False) -> None:
    """Work the queue until stopped; sweeps at start and every `sweep_interval` seconds."""
    install(settings)
    connection = redis_connection(settings.redis_url)
    stop = threading.Event()
    sweeper = threading.Thread(target=_sweep_forever, args=(stop, settings.sweep_interval), daemon=True,
                               name="xinma-sweep")
    sweeper.start()
    worker = Worker([QUEUE], connection=connection, serializer=JSONSerializer, maintenance_interval=60)
    try:
        worker.work(with_scheduler=True, burst=burst, logging_level="INFO")
    finally:
        stop.set()
