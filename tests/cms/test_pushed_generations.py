"""cms.generations: with Redis, a hit asks Redis nothing once this process holds the generations,
and a purge made in another process has reached this one when it returns; a lost subscription,
an unconfirmed purge and a value read while a purge came in are each handled."""

import io
import json
import logging
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.core.cache import cache, caches
from django.core.management import call_command

from cms import cache as page_cache
from cms import generations
from cms.generations import Watcher, watcher
from cms.sections import community_section
from engine.models import Community

URL = os.environ.get("LOADTEST_REDIS_URL", "redis://127.0.0.1:6379/7")
ROOT = Path(__file__).resolve().parents[2]


def until(condition, seconds=10.0):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


@pytest.fixture
def redis_settings(settings):
    import redis

    try:
        redis.Redis.from_url(URL, socket_timeout=2).ping()
    except redis.RedisError:
        pytest.skip(f"Redis is not reachable at {URL} (set LOADTEST_REDIS_URL)")
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    settings.CACHES = {"default": {"BACKEND": "engine.redis_cache.RedisCache", "LOCATION": URL, "KEY_PREFIX": prefix}}
    settings.LINLI_PAGE_CACHE_PURGE_WAIT = 5.0
    watcher.held(())  # subscribes
    assert until(lambda: watcher.live), "the watcher did not subscribe"
    yield prefix
    cache.clear()
    watcher.stop()


@pytest.fixture
def page(db, redis_settings):
    call_command("load_definitions", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())
    page_cache.local_entries.clear()
    return community_section(Community.objects.get(slug="minyue"))["announcements"].url


class CountingRedis:
    """Counts the cache's reads on the way to Redis."""

    def __init__(self, monkeypatch):
        self.reads = []
        backend = caches["default"]  # not the proxy: the settings fixture may swap it back first
        for name in ("get", "get_many"):
            real = getattr(backend, name)
            monkeypatch.setattr(backend, name, lambda *a, _real=real, _name=name, **k: (self.reads.append(_name),
                                                                                     _real(*a, **k))[1])


def test_a_hit_asks_redis_nothing_once_the_generations_are_held(page, client, monkeypatch):
    assert client.get(page)["X-Linli-Cache"] == "miss"  # read the generations before rendering: held
    counting = CountingRedis(monkeypatch)
    for _ in range(3):
        assert client.get(page)["X-Linli-Cache"] == "hit"
    assert counting.reads == []


def test_a_purge_made_in_another_process_has_reached_this_one_when_it_returns(page, client, redis_settings):
    client.get(page)
    assert client.get(page)["X-Linli-Cache"] == "hit"
    community = Community.objects.get(slug="minyue").pk
    script = (
        "import django; from django.conf import settings; "
        f"settings.configure(CACHES={{'default': {{'BACKEND': 'engine.redis_cache.RedisCache', 'LOCATION': {URL!r}, "
        f"'KEY_PREFIX': {redis_settings!r}}}}}, LINLI_PAGE_CACHE_PURGE_WAIT=5); django.setup(); "
        f"from cms.cache import purge; purge({community})"
    )
    environ = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=environ, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert "confirmed" not in done.stderr  # every process confirmed: no warning
    assert client.get(page)["X-Linli-Cache"] == "miss"


def test_a_lost_subscription_means_reading_redis_until_it_is_back(page, client, monkeypatch):
    import redis

    client.get(page)
    admin = redis.Redis.from_url(URL)
    ours = [c for c in admin.client_list(_type="pubsub") if c["name"] == watcher.connection_name]
    assert len(ours) == 1  # this process's subscription, by its name
    admin.client_kill_filter(_id=ours[0]["id"])
    assert until(lambda: not watcher.live, seconds=5)
    counting = CountingRedis(monkeypatch)
    assert client.get(page)["X-Linli-Cache"] == "hit"
    assert counting.reads == ["get_many"]  # nothing held while the subscription is down
    assert until(lambda: watcher.live, seconds=10)
    client.get(page)  # read once more, and held
    counting.reads.clear()
    client.get(page)
    assert counting.reads == []


def test_a_flush_through_the_cache_is_announced(page, client):
    client.get(page)
    cache.clear()
    assert client.get(page)["X-Linli-Cache"] == "miss"


def test_a_process_that_does_not_confirm_is_named_and_the_purge_still_returns(page, settings, caplog):
    import redis

    settings.LINLI_PAGE_CACHE_PURGE_WAIT = 0.3
    _, _, channel = generations._redis()
    silent = redis.Redis.from_url(URL).pubsub()
    silent.subscribe(channel)  # hears the purge, never confirms it
    assert silent.get_message(timeout=2)["type"] == "subscribe"
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="cms.generations"):
        page_cache.purge(Community.objects.get(slug="minyue").pk)
    assert time.monotonic() - started < 3
    assert "1 of 2 processes confirmed" in caplog.text
    message = silent.get_message(timeout=2)
    assert message["type"] == "message" and json.loads(message["data"])["keys"]
    silent.close()


# ---------------------------------------------------------------- one process's rules, without Redis


class Acks:
    """Stands in for the Redis client a listener confirms with."""

    def __init__(self):
        self.sent = []

    def pipeline(self, transaction=False):
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def rpush(self, key, value):
        self.sent.append(key)

    def expire(self, key, seconds):
        pass

    def execute(self):
        pass


@pytest.fixture
def live_watcher(monkeypatch):
    monkeypatch.setattr(generations, "_redis", lambda: None)  # no listener thread
    one = Watcher()
    one.held(())
    with one._lock:
        one._set_live(True)
    return one


def test_a_value_read_while_a_purge_came_in_is_not_kept(live_watcher):
    _, epoch = live_watcher.held(["linli:gen:1"])
    live_watcher._forget(Acks(), json.dumps({"ack": "a", "keys": ["linli:gen:2"]}))
    live_watcher.keep({"linli:gen:1": "old"}, epoch)  # read before the purge was handled
    assert live_watcher.held(["linli:gen:1"])[0] is None
    _, epoch = live_watcher.held(["linli:gen:1"])
    live_watcher.keep({"linli:gen:1": "new"}, epoch)
    assert live_watcher.held(["linli:gen:1"])[0] == {"linli:gen:1": "new"}


def test_a_purge_forgets_its_keys_and_confirms(live_watcher):
    for key in ("linli:gen:1", "linli:gen:2"):
        live_watcher.keep({key: "v"}, live_watcher.held(())[1])
    acks = Acks()
    live_watcher._forget(acks, json.dumps({"ack": "ack-1", "keys": ["linli:gen:1"]}))
    assert acks.sent == ["ack-1"]
    assert live_watcher.held(["linli:gen:1"])[0] is None
    assert live_watcher.held(["linli:gen:2"])[0] == {"linli:gen:2": "v"}
    live_watcher._forget(acks, json.dumps({"ack": "ack-2", "keys": [generations.EVERYTHING]}))
    assert live_watcher.held(["linli:gen:2"])[0] is None


def test_what_is_held_is_forgotten_after_a_while(live_watcher, monkeypatch):
    live_watcher.keep({"linli:gen:1": "v"}, live_watcher.held(())[1])
    later = time.monotonic() + generations.HOLD_SECONDS + 1
    monkeypatch.setattr(live_watcher, "clock", lambda: later)
    assert live_watcher.held(["linli:gen:1"])[0] is None


def test_nothing_is_held_while_not_subscribed(live_watcher):
    with live_watcher._lock:
        live_watcher._set_live(False)
    _, epoch = live_watcher.held(())
    live_watcher.keep({"linli:gen:1": "v"}, epoch)
    assert live_watcher.held(["linli:gen:1"])[0] is None


def test_a_message_that_is_not_a_purge_is_ignored(live_watcher, caplog):
    live_watcher.keep({"linli:gen:1": "v"}, live_watcher.held(())[1])
    acks = Acks()
    live_watcher._forget(acks, b"\xff not json")
    assert acks.sent == [] and "not a purge" in caplog.text
    assert live_watcher.held(["linli:gen:1"])[0] == {"linli:gen:1": "v"}


def test_with_another_cache_nothing_is_held(db, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    _, epoch = watcher.held(())
    watcher.keep({"linli:gen:1": "v"}, epoch)
    assert watcher.held(["linli:gen:1"])[0] is None and not watcher.live
