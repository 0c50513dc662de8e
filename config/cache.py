"""Django's Redis cache, where Redis out of reach is a cache miss instead of a 500.

What the shop keeps in its cache can always be worked out again (thumbnail sizes, filter menus)
or counted again (rate limits). So while Redis restarts, reads miss, writes are dropped and
counters start afresh, each logged: the shop keeps selling, and the rate limits let requests
through until Redis is back (a shop that sells beats one that counts).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError, TimeoutError

logger = logging.getLogger(__name__)

OUT_OF_REACH = (ConnectionError, TimeoutError)


def _unless_out_of_reach(fallback: Callable) -> Callable:
    """Run the method; if Redis is out of reach, log it and return ``fallback(*args)``."""

    def decorate(method: Callable) -> Callable:
        @functools.wraps(method)
        def guarded(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except OUT_OF_REACH as error:
                logger.warning("Cache out of reach, %s skipped: %s", method.__name__, error)
                return fallback(*args, **kwargs)

        return guarded

    return decorate


def _not_there(key, delta=1, version=None):
    raise ValueError(f"Key {key!r} not found (the cache is out of reach)")  # Django's incr miss


def _given_default(key, default=None, version=None):
    return default


class ResilientRedisCache(RedisCache):
    get = _unless_out_of_reach(_given_default)(RedisCache.get)
    get_many = _unless_out_of_reach(lambda keys, version=None: {})(RedisCache.get_many)
    has_key = _unless_out_of_reach(lambda *a, **k: False)(RedisCache.has_key)
    add = _unless_out_of_reach(lambda *a, **k: False)(RedisCache.add)
    set = _unless_out_of_reach(lambda *a, **k: None)(RedisCache.set)
    set_many = _unless_out_of_reach(lambda data, *a, **k: list(data))(RedisCache.set_many)
    touch = _unless_out_of_reach(lambda *a, **k: False)(RedisCache.touch)
    delete = _unless_out_of_reach(lambda *a, **k: False)(RedisCache.delete)
    delete_many = _unless_out_of_reach(lambda *a, **k: None)(RedisCache.delete_many)
    incr = _unless_out_of_reach(_not_there)(RedisCache.incr)
    clear = _unless_out_of_reach(lambda: None)(RedisCache.clear)


def resilient(cache: dict) -> dict:
    """``cache`` (one entry of CACHES), with Redis swapped for ResilientRedisCache and short
    socket timeouts, so that an unreachable Redis costs a request half a second, not minutes."""
    if cache["BACKEND"] != "django.core.cache.backends.redis.RedisCache":
        return cache
    options = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5, **cache.get("OPTIONS", {})}
    return {**cache, "BACKEND": "config.cache.ResilientRedisCache", "OPTIONS": options}
