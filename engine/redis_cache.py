"""Django's Redis cache, with one redis-py client per connection pool instead of one per call.

Django's `RedisCacheClient.get_client()` builds a new `redis.Redis` for every cache operation.
With redis-py 8 that constructor fills a dictionary of response callbacks each time; in the load
test it was an eighth of the web workers' CPU, most of it on the cached-page path (two cache
calls per hit). A `redis.Redis` over a `ConnectionPool` is safe to share between threads (each
command borrows a connection from the pool), so one per pool is kept and reused. Everything
else — serialisation, pools, key handling, the read/write split — is Django's. `clear()` also
sends `cleared`, so that values other processes hold from this cache are forgotten
(cms.generations).
"""

from __future__ import annotations

import threading

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient
from django.dispatch import Signal


class SharedClientRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}  # server index -> redis.Redis over that server's pool
        self._lock = threading.Lock()

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            # Django creates pools unlocked: threads racing on their first call would each make a
            # pool (and here a client) of their own; one of each is made under the lock instead
            with self._lock:
                client = self._clients.get(index)
                if client is None:
                    if index not in self._pools:
                        self._pools[index] = self._pool_class.from_url(self._servers[index], **self._pool_options)
                    client = self._clients[index] = self._client(connection_pool=self._pools[index])
        return client


# sent after `clear()`: processes holding values read from the cache must forget them (cms.generations)
cleared = Signal()


class RedisCache(DjangoRedisCache):
    """settings.CACHES BACKEND "engine.redis_cache.RedisCache"; LOCATION and OPTIONS as Django's."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = SharedClientRedisCacheClient

    def clear(self):
        result = super().clear()
        cleared.send(sender=type(self), cache=self)
        return result
