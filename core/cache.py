"""A Redis cache that degrades to "no cache" when Redis goes away, instead of failing the page.

Every operation that can't reach Redis logs a warning and answers as an empty cache would (a miss,
nothing stored). A Redis that hangs rather than refuses would still cost a socket timeout per call,
several per page; so after a failure the backend stops trying for ``RETRY_AFTER_SECONDS`` (10 s by
default, a top-level key of the cache's settings) and answers from "no cache" straight away.
"""

import logging
import time

from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger("core.cache")

# location -> monotonic time until which Redis isn't tried again; shared by the threads of a process
# (Django makes one cache object per thread).
_outages: dict[str, float] = {}


def _forgiving(method_name, default=None):
    def method(self, *args, **kwargs):
        if self._in_outage():
            return default(*args, **kwargs) if callable(default) else default
        try:
            return getattr(RedisCache, method_name)(self, *args, **kwargs)
        except Exception as error:
            self._outage_started(method_name, error)
            return default(*args, **kwargs) if callable(default) else default

    method.__name__ = method_name
    return method


class ForgivingRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self.retry_after = float(params.get("RETRY_AFTER_SECONDS", 10))
        self._location = server if isinstance(server, str) else ",".join(server)

    def _in_outage(self) -> bool:
        until = _outages.get(self._location)
        if until is None:
            return False
        if time.monotonic() < until:
            return True
        _outages.pop(self._location, None)
        return False

    def _outage_started(self, method_name, error) -> None:
        logger.warning(
            "Cache unavailable (%s): %s; working without it for %.0f s",
            method_name,
            error,
            self.retry_after,
            extra={"cache_operation": method_name},
        )
        if self.retry_after > 0:
            _outages[self._location] = time.monotonic() + self.retry_after

    get = _forgiving("get", default=lambda key, default=None, version=None: default)
    get_many = _forgiving("get_many", default=lambda *args, **kwargs: {})
    set = _forgiving("set")
    add = _forgiving("add", default=False)
    set_many = _forgiving("set_many", default=lambda data, *args, **kwargs: list(data))  # none stored
    delete = _forgiving("delete", default=False)
    delete_many = _forgiving("delete_many")
    touch = _forgiving("touch", default=False)
    has_key = _forgiving("has_key", default=False)
    clear = _forgiving("clear")
    incr = _forgiving("incr", default=None)
