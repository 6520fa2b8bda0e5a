"""What a job needs in a worker process, built once per process from the settings."""

from __future__ import annotations

import os

from models.db import ProcessEngine
from web.settings import Settings, load_settings
from wechat import WeChatGateway

from .queues import install_relay, make_queue, redis_connection


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = ProcessEngine(settings.database_url)
        self._pid = -1
        self._gateway: WeChatGateway | None = None
        self._redis = None
        self.retry_intervals = list(settings.delivery_retry_intervals)
        self.delivery_threads = settings.delivery_threads

    def session(self):
        factory = self.engine.sessionmaker()
        if not getattr(factory, "_xinma_relay", False):
            install_relay(factory, lambda: self.queue if self.settings.redis_url else None)
            factory._xinma_relay = True
        return factory()

    def _fresh(self) -> None:
        if self._pid != os.getpid():
            self._redis = redis_connection(self.settings.redis_url) if self.settings.redis_url else None
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
        return make_queue(self._redis)


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
