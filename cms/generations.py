"""Purge markers pushed to every web process, so that a cached page's hit asks Redis nothing.

A hit must know that its page's generations are still current (decision 0011). Reading them from
Redis on every hit was most of a hit's cost under load: a round trip to another process, and on
a saturated machine a wait for that process to be scheduled. Instead each web process holds the
generations it has read, and a purge tells every process to forget the ones it changed
(decision 0019):

- `announce(keys)`, called by `cms.cache.purge` after it wrote the new generations, publishes
  their keys on a Redis channel and waits until every subscribed process has confirmed, up to
  LINLI_PAGE_CACHE_PURGE_WAIT seconds (a warning names the processes that did not). When it
  returns, no process holds an old value: a purge reaches every process before its next request.
- A process trusts what it holds only while its subscription is up. When the subscription drops
  (Redis restarted, the link lost, no answer to a PING within a few seconds) it forgets
  everything and reads Redis on every hit until it has subscribed again. A value read while a
  message was being handled is not kept (`epoch`).
- What is held is also forgotten after HOLD_SECONDS: a backstop for changes that nobody
  announced, such as a FLUSHDB typed by hand. `cache.clear()` announces itself.

Only with the Redis backend (engine.redis_cache); with any other cache every hit reads the cache,
as before.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid

from django.conf import settings
from django.core.cache import caches

log = logging.getLogger(__name__)

HOLD_SECONDS = 5.0
EVERYTHING = "*"
_CHANNEL = "linli:purges"
_ACK = "linli:purge-ack:{}"
_PING_SECONDS = 1.0
_SILENT_SECONDS = 3.0  # no PONG for this long: the link is taken as lost


def _redis():
    """(backend, client, channel) when the default cache is Linli's Redis backend, else None."""
    from engine.redis_cache import RedisCache

    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        return None
    client = backend._cache.get_client(write=True)
    # channels are not per database: the database and the key prefix are in the name
    db = client.connection_pool.connection_kwargs.get("db", 0)
    return backend, client, f"{db}{backend.make_key(_CHANNEL)}"


def announce(keys) -> None:
    """Tell every process to forget these generations (cache keys; EVERYTHING for all), and wait
    until each subscribed process has."""
    found = _redis()
    if found is None or not keys:
        return
    backend, client, channel = found
    ack = backend.make_key(_ACK.format(uuid.uuid4().hex))
    receivers = client.publish(channel, json.dumps({"ack": ack, "keys": list(keys)}))
    wait = getattr(settings, "LINLI_PAGE_CACHE_PURGE_WAIT", 2.0)
    deadline = time.monotonic() + wait
    confirmed = []
    try:
        while len(confirmed) < receivers:
            left = deadline - time.monotonic()
            answer = client.blpop([ack], timeout=left) if left > 0 else None
            if answer is None:
                log.warning("purge of %s: %d of %d processes confirmed within %g s; the others may serve "
                            "the old page until they do (confirmed: %s)", ", ".join(keys), len(confirmed),
                            receivers, wait, ", ".join(confirmed) or "none")
                return
            confirmed.append(answer[1].decode())
    finally:
        client.delete(ack)


class Watcher:
    """This process's generations, kept while its subscription to the purges is up."""

    def __init__(self):
        self._lock = threading.Lock()
        self._held: dict[str, tuple[object, float]] = {}  # cache key -> (value, monotonic time read)
        self._epoch = 0  # changes with every message and every change of `_live`
        self._live = False
        self._pid = None
        self._stopping = threading.Event()
        self.clock = time.monotonic  # what "how old" is measured with (tests move it)
        self._listeners = 0
        self.connection_name = None

    # ---------------------------------------------------------------- what a hit asks

    def held(self, keys):
        """(values, epoch): the values held for all `keys`, or None when one is not held (or too
        old, or the subscription is down); pass `epoch` to `keep` with what was read instead."""
        self._start()
        now = self.clock()
        with self._lock:
            epoch = self._epoch
            if not self._live or not getattr(settings, "LINLI_PAGE_CACHE_PUSH", True):
                return None, epoch
            values = {}
            for key in keys:
                held = self._held.get(key)
                if held is None or now - held[1] > HOLD_SECONDS:
                    return None, epoch
                values[key] = held[0]
            return values, epoch

    def keep(self, values, epoch) -> None:
        """Hold `values`, read from Redis after `held` returned `epoch`, unless a purge or a change
        of the subscription came in between (the read may be older than the purge)."""
        now = self.clock()
        with self._lock:
            if self._live and epoch == self._epoch:
                for key, value in values.items():
                    self._held[key] = (value, now)

    @property
    def live(self) -> bool:
        return self._live

    # ---------------------------------------------------------------- the subscription

    def _start(self):
        pid = os.getpid()
        if self._pid == pid:
            return
        with self._lock:
            if self._pid == pid:
                return
            # a new process (gunicorn forks its workers): nothing held, no subscription yet
            self._pid, self._live, self._epoch = pid, False, self._epoch + 1
            self._held.clear()
            self._stopping = threading.Event()
        if _redis() is not None:
            self._listeners += 1
            # the subscription's connection name: a listener stopped a moment ago may linger
            self.connection_name = f"linli-purges-{pid}-{self._listeners}"
            threading.Thread(target=self._listen, args=(pid, self._stopping, self.connection_name),
                             name="linli-purges", daemon=True).start()

    def stop(self):
        """Stop listening and forget everything; the next `held` subscribes again (the cache's
        settings changed, in tests)."""
        with self._lock:
            self._stopping.set()
            self._pid = None
            self._set_live(False)

    def _set_live(self, live):  # under the lock
        self._live = live
        self._epoch += 1
        self._held.clear()

    def _listen(self, pid, stopping, name):
        delay = 0.05
        while not stopping.is_set() and os.getpid() == pid:
            found = _redis()
            if found is None:  # the cache is no longer Redis: nothing to listen to, nothing to trust
                with self._lock:
                    if self._stopping is stopping:
                        self._set_live(False)
                return
            _, client, channel = found
            # a connection of its own, named, so that `CLIENT LIST` shows whose it is
            shared = client.connection_pool
            pool = type(shared)(connection_class=shared.connection_class,
                                **{**shared.connection_kwargs, "client_name": name})
            pubsub = type(client)(connection_pool=pool).pubsub()
            try:
                pubsub.subscribe(channel)
                pinged = answered = time.monotonic()
                while not stopping.is_set():
                    message = pubsub.get_message(timeout=_PING_SECONDS)
                    now = time.monotonic()
                    if message is not None:
                        answered = now
                        if message["type"] == "subscribe":
                            with self._lock:
                                if self._stopping is stopping:  # not a listener stopped since
                                    self._set_live(True)
                            delay = 0.05
                        elif message["type"] == "message":
                            self._forget(client, message["data"])
                    if now - pinged >= _PING_SECONDS:
                        pubsub.ping()
                        pinged = now
                    if now - answered > _SILENT_SECONDS:
                        raise ConnectionError(f"no answer from Redis on {channel} for {_SILENT_SECONDS:g} s")
            except Exception as error:  # noqa: BLE001 - any failure: forget, read Redis, subscribe again
                if not stopping.is_set():
                    log.warning("purges: subscription to %s lost (%s); reading Redis on every hit until it is back",
                                channel, error)
            finally:
                with self._lock:
                    if self._stopping is stopping:
                        self._set_live(False)
                try:
                    pubsub.close()
                    pool.disconnect()
                except Exception:  # noqa: BLE001 - the connection is already gone
                    pass
            stopping.wait(delay)
            delay = min(delay * 2, 5.0)

    def _forget(self, client, data):
        try:
            payload = json.loads(data)
            keys, ack = payload["keys"], payload["ack"]
        except (ValueError, KeyError, TypeError):
            log.warning("purges: a message that is not a purge was ignored: %.200r", data)
            return
        with self._lock:
            self._epoch += 1
            if EVERYTHING in keys:
                self._held.clear()
            else:
                for key in keys:
                    self._held.pop(key, None)
        with client.pipeline(transaction=False) as pipe:
            pipe.rpush(ack, str(os.getpid()))
            pipe.expire(ack, 60)
            pipe.execute()


watcher = Watcher()
