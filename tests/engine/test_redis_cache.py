"""engine.redis_cache: Django's Redis cache with one redis-py client per pool, shared by threads."""

import os
import threading
import uuid

import pytest

from engine.redis_cache import RedisCache

URL = os.environ.get("LOADTEST_REDIS_URL", "redis://127.0.0.1:6379/7")


@pytest.fixture
def redis_cache():
    import redis

    try:
        redis.Redis.from_url(URL, socket_timeout=2).ping()
    except redis.RedisError:
        pytest.skip(f"Redis is not reachable at {URL} (set LOADTEST_REDIS_URL)")
    backend = RedisCache(URL, {"KEY_PREFIX": f"test-{uuid.uuid4().hex[:8]}"})
    yield backend
    backend.clear()


def test_the_client_is_built_once_per_pool(redis_cache):
    client = redis_cache._cache.get_client()
    assert redis_cache._cache.get_client(write=True) is client
    redis_cache.set("a", 1)
    assert redis_cache._cache.get_client("a") is client


def test_threads_sharing_the_client_each_read_their_own_values(redis_cache):
    errors = []

    def worker(n):
        try:
            for i in range(50):
                redis_cache.set(f"k{n}", (n, i))
                got = redis_cache.get_many([f"k{n}"])
                if got != {f"k{n}": (n, i)}:
                    errors.append((n, i, got))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:  # their first calls race: still one pool and one client
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(redis_cache._cache._clients) == 1 and len(redis_cache._cache._pools) == 1
    assert redis_cache._cache._clients[0].connection_pool is redis_cache._cache._pools[0]
