"""What a job needs in a worker process, built once per process from the settings."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

from rq import get_current_job

from models.db import ProcessEngine
from web.settings import Settings, load_settings
from wechat import WeChatGateway

from .queues import install_enqueue, make_queue, redis_connection


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = ProcessEngine(settings.database_url)
        self._pid = -1
        self._gateway: WeChatGateway | None = None
        self._redis = None
        self._queue = None
        self.retry_intervals = list(settings.delivery_retry_intervals)
        self.delivery_threads = settings.delivery_threads

    def session(self):
        factory = self.engine.sessionmaker()
        if not getattr(factory, "_xinma_enqueue", False):
            install_enqueue(factory, lambda: self.queue if self.settings.redis_url else None)
            factory._xinma_enqueue = True
        return factory()

    def _fresh(self) -> None:
        if self._pid != os.getpid():
            self._redis = redis_connection(self.settings.redis_url) if self.settings.redis_url else None
            self._queue = make_queue(self._redis) if self._redis is not None else None
            s = self.settings
            self._gateway = WeChatGateway(s.wechat_appid, s.wechat_secret, base_url=s.wechat_api_base,
                                          redis=self._redis, timeout=s.wechat_timeout,
                                          pool_size=s.delivery_threads + 2)
            self._pid = os.getpid()

    @property
    def wechat(self) -> WeChatGateway:
        self._fresh()
        return self._gateway

    @property
    def queue(self):
        self._fresh()
        return self._queue

    def calls_pool(self) -> ThreadPoolExecutor:
        """Threads for WeChat calls in flight at once (XINMA_DELIVERY_THREADS), for one job: use it in a `with`.

        Not kept between jobs: RQ forks its scheduler between jobs, and a fork taken while other threads run
        may inherit a lock one of them held and hang.
        """
        self.session().close()  # build this process's engine before the threads share it
        return ThreadPoolExecutor(max(1, self.delivery_threads), thread_name_prefix="wechat")


_runtime: Runtime | None = None


def runtime() -> Runtime:
    """The process's runtime, made from the environment the first time a job asks."""
    global _runtime
    if _runtime is None:
        _runtime = Runtime(load_settings())
    return _runtime


def install(settings: Settings) -> Runtime:
    global _runtime
    _runtime = Runtime(settings)
    return _runtime


def final_attempt() -> bool:
    """Whether the running RQ job has no retry left (or runs outside RQ)."""
    job = get_current_job()
    return job is None or not job.retries_left
