"""Public pages are rendered once and then served from the cache until what they show changes.

A cached page records the generation of each community it shows (and of the site); a change —
a page published or unpublished, a post changing hands, a consent withdrawn — bumps the
generation of its community, so every page that showed it misses on its next request. Nothing
has to know which URLs a change touched, and the check is one `get_many` per hit.

Each process also keeps the entries it served in memory (`LocalEntries`, bounded by bytes), so a
hit fetches and unpickles no page from Redis. With Redis, each process also holds the generations
it read, and a purge tells every process to forget the ones it changed before `purge()` returns
(`cms.generations`, decision 0019): a hit then asks Redis nothing, and a purge still reaches
every process on its next request. With another cache a hit reads the generations (one
`get_many`). `cms.fastpath` serves such hits before Django's handler.

Only anonymous requests are served from or stored in the cache (no session, no Authorization
header), only GET and HEAD, only pages that opt in (`CachedPageMixin`), and never a response
that sets a cookie. Entries also expire (`cache_seconds`), a backstop for processes whose
cache is not shared (locmem in development; production uses Redis, see docs/operations.md).
"""

from __future__ import annotations

import collections
import threading
import time
import uuid

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from django.utils import translation

from cms.generations import announce, watcher

SITE = "site"
_GENERATION = "linli:gen:{}"
_PAGE = "linli:page:{}:{}:{}"
HARMLESS_COOKIES = {"csrftoken", "django_language"}
_REPLAYED_HEADERS = ("Content-Type", "Content-Language", "Vary")
HIT_KEY = "linli.page_cache_hit"  # in a hit's WSGI environ: the key of the entry served


def _generation_key(scope) -> str:
    return _GENERATION.format(scope)


def purge(*communities, site: bool = False) -> None:
    """Every cached page that shows one of these communities (ids) — or, with site, the site's
    own pages — is rendered afresh on its next request."""
    scopes = [c for c in communities if c is not None] + ([SITE] if site else [])
    if scopes:
        values = {_generation_key(s): uuid.uuid4().hex[:12] for s in scopes}
        cache.set_many(values, None)
        announce(list(values))  # written first: a process that forgets reads the new value


def _generations(scopes) -> dict:
    """The current generations of `scopes`, from the shared cache (read before a render)."""
    keys = [_generation_key(s) for s in scopes]
    _, epoch = watcher.held(())
    found = cache.get_many(keys)
    missing = {k: uuid.uuid4().hex[:12] for k in keys if k not in found}
    if missing:
        for key, value in missing.items():
            cache.add(key, value, None)  # add: a racing process's value wins, and is read back
        found.update(cache.get_many(list(missing)))
        # gone from Redis (evicted, flushed): a process holding the old value must forget it
        announce(list(missing))
    else:
        watcher.keep(found, epoch)
    return found


def _current(entry) -> bool:
    """Whether `entry`'s generations are current: those this process holds, else — or when they
    differ, since what is held may be older than Redis — those in the shared cache."""
    keys = list(entry["generations"])
    held, epoch = watcher.held(keys)
    if held is not None and _fresh(entry, held):
        return True
    found = cache.get_many(keys)
    watcher.keep(found, epoch)
    return _fresh(entry, found)


def fresh_copy(key):
    """This process's copy of the page stored under `key`, if it is still current; else None."""
    local = local_entries.get(key)
    if local is not None and _current(local):
        return local
    return None


class LocalEntries:
    """This process's copy of the entries it served, least recently used dropped first once they
    add up to more than `limit` bytes of content. Shared by the worker's threads."""

    def __init__(self, limit: int):
        self.limit = limit
        self._entries: collections.OrderedDict[str, dict] = collections.OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key, entry):
        size = len(entry["content"])
        if size > self.limit:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= len(old["content"])
            self._entries[key] = entry
            self._bytes += size
            while self._bytes > self.limit:
                _, dropped = self._entries.popitem(last=False)
                self._bytes -= len(dropped["content"])

    def discard(self, key):
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= len(old["content"])

    def clear(self):
        with self._lock:
            self._entries.clear()
            self._bytes = 0


local_entries = LocalEntries(getattr(settings, "LINLI_PAGE_CACHE_LOCAL_BYTES", 32 * 1024 * 1024))


def _fresh(entry, current) -> bool:
    return current == entry["generations"] and entry.get("expires", float("inf")) > time.time()


def _eligible(request) -> bool:
    return (request.method in ("GET", "HEAD") and "HTTP_AUTHORIZATION" not in request.META
            and set(request.COOKIES) <= HARMLESS_COOKIES)


def _page_key(request) -> str:
    return _PAGE.format(request.get_host(), request.get_full_path(), translation.get_language())


class CachedPageMixin:
    """A Wagtail page whose public rendering may be cached. `cache_scopes()` says whose changes
    invalidate it: its community by default."""

    cache_seconds = 600

    def cache_scopes(self):
        community_id = getattr(self, "community_id", None)
        if community_id is None:
            return [SITE]
        from engine.models import Community

        # a street's pages show its communities too
        return [community_id, *Community.objects.filter(parent_id=community_id).values_list("pk", flat=True)]

    def serve(self, request, *args, **kwargs):
        cacheable = _eligible(request) and not getattr(request, "is_preview", False)
        # read before rendering: a change made while this renders leaves the entry stale-marked
        generations = _generations(self.cache_scopes()) if cacheable else None
        response = super().serve(request, *args, **kwargs)
        if cacheable:
            response.linli_cache = (generations, self.cache_seconds)
        return response


class PublicPageCacheMiddleware:
    """Serves a cached public page before Wagtail routes the request; stores what a
    `CachedPageMixin` page marked. Sits after LocaleMiddleware (the language is in the key)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not _eligible(request):
            return self.get_response(request)
        key = _page_key(request)
        entry = self._lookup(key)
        if entry is not None:
            response = HttpResponse(entry["content"], status=200)
            for name, value in entry["headers"].items():
                response[name] = value
            response["X-Linli-Cache"] = "hit"
            request.META[HIT_KEY] = key  # cms.fastpath may serve the next such request itself
            return response
        response = self.get_response(request)
        marked = getattr(response, "linli_cache", None)
        if marked and response.status_code == 200 and not response.cookies and not response.streaming:
            generations, seconds = marked
            if hasattr(response, "render") and not response.is_rendered:
                response.render()
            entry = {"content": response.content, "generations": generations, "expires": time.time() + seconds,
                     "headers": {h: response[h] for h in _REPLAYED_HEADERS if h in response}}
            cache.set(key, entry, seconds)
            local_entries.put(key, entry)
            response["X-Linli-Cache"] = "miss"
        return response

    @staticmethod
    def _lookup(key):
        """The entry to serve for `key`, or None: this process's copy when its generations are still
        current, else the shared one when it is."""
        local = local_entries.get(key)
        if local is not None:
            if _current(local):
                return local
            local_entries.discard(key)
        shared = cache.get(key)
        if shared is None or not _current(shared):
            return None
        local_entries.put(key, shared)
        return shared
