"""A Redis cache that degrades to "no cache" when Redis goes away, instead of failing the page."""

import logging

from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger("backoffice.cache")


def _forgiving(method_name, default=None):
    def method(self, *args, **kwargs):
        try:
            return getattr(RedisCache, method_name)(self, *args, **kwargs)
        except Exception as error:
            logger.warning("Cache unavailable (%s): %s", method_name, error)
            return default(*args, **kwargs) if callable(default) else default

    method.__name__ = method_name
    return method


class ForgivingRedisCache(RedisCache):
    get = _forgiving("get", default=lambda key, default=None, version=None: default)
    get_many = _forgiving("get_many", default=lambda *args, **kwargs: {})
    set = _forgiving("set")
    add = _forgiving("add", default=False)
    set_many = _forgiving("set_many", default=lambda *args, **kwargs: [])
    delete = _forgiving("delete", default=False)
    delete_many = _forgiving("delete_many")
    touch = _forgiving("touch", default=False)
    has_key = _forgiving("has_key", default=False)
    clear = _forgiving("clear")
    incr = _forgiving("incr", default=None)
