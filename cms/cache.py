"""Public pages are rendered once and then served from the cache until what they show changes.

A cached page records the generation of each community it shows (and of the site); a change —
a page published or unpublished, a post changing hands, a consent withdrawn — bumps the
generation of its community, so every page that showed it misses on its next request. Nothing
has to know which URLs a change touched, and the check is one `get_many` per hit.

Only anonymous requests are served from or stored in the cache (no session, no Authorization
header), only GET and HEAD, only pages that opt in (`CachedPageMixin`), and never a response
that sets a cookie. Entries also expire (`cache_seconds`), a backstop for processes whose
cache is not shared (locmem in development; production uses Redis, see docs/operations.md).
"""

from __future__ import annotations

import uuid

from django.core.cache import cache
from django.http import HttpResponse
from django.utils import translation

SITE = "site"
_GENERATION = "linli:gen:{}"
_PAGE = "linli:page:{}:{}:{}"
_HARMLESS_COOKIES = {"csrftoken", "django_language"}
_REPLAYED_HEADERS = ("Content-Type", "Content-Language", "Vary")


def _generation_key(scope) -> str:
    return _GENERATION.format(scope)


def purge(*communities, site: bool = False) -> None:
    """Every cached page that shows one of these communities (ids) — or, with site, the site's
    own pages — is rendered afresh on its next request."""
    scopes = [c for c in communities if c is not None] + ([SITE] if site else [])
    if scopes:
        cache.set_many({_generation_key(s): uuid.uuid4().hex[:12] for s in scopes}, None)


def _generations(scopes) -> dict:
    keys = [_generation_key(s) for s in scopes]
    found = cache.get_many(keys)
    missing = {k: uuid.uuid4().hex[:12] for k in keys if k not in found}
    if missing:
        for key, value in missing.items():
            cache.add(key, value, None)  # add: a racing process's value wins, and is read back
        found.update(cache.get_many(list(missing)))
    return found


def _eligible(request) -> bool:
    return (request.method in ("GET", "HEAD") and "HTTP_AUTHORIZATION" not in request.META
            and set(request.COOKIES) <= _HARMLESS_COOKIES)


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
        entry = cache.get(key)
        if entry is not None:
            current = cache.get_many(list(entry["generations"]))
            if current == entry["generations"]:
                response = HttpResponse(entry["content"], status=200)
                for name, value in entry["headers"].items():
                    response[name] = value
                response["X-Linli-Cache"] = "hit"
                return response
        response = self.get_response(request)
        marked = getattr(response, "linli_cache", None)
        if marked and response.status_code == 200 and not response.cookies and not response.streaming:
            generations, seconds = marked
            if hasattr(response, "render") and not response.is_rendered:
                response.render()
            cache.set(key, {"content": response.content, "generations": generations,
                            "headers": {h: response[h] for h in _REPLAYED_HEADERS if h in response}}, seconds)
            response["X-Linli-Cache"] = "miss"
        return response
