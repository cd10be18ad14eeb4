"""Django's Redis cache, with one redis-py client per connection pool instead of one per call.

Django's `RedisCacheClient.get_client()` builds a new `redis.Redis` for every cache operation.
With redis-py 8 that constructor fills a dictionary of response callbacks each time; in the load
test it was an eighth of the web workers' CPU, most of it on the cached-page path (two cache
calls per hit). A `redis.Redis` over a `ConnectionPool` is safe to share between threads (each
command borrows a connection from the pool), so one per pool is kept and reused. Everything
else — serialisation, pools, key handling, the read/write split — is Django's.
"""

from __future__ import annotations

import threading

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


class SharedClientRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}
        self._lock = threading.Lock()

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            with self._lock:  # two threads' first calls: both would work, one client is kept
                client = self._clients.setdefault(id(pool), self._client(connection_pool=pool))
        return client


class RedisCache(DjangoRedisCache):
    """settings.CACHES BACKEND "engine.redis_cache.RedisCache"; LOCATION and OPTIONS as Django's."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = SharedClientRedisCacheClient
