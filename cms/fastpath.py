"""Cached public pages served before Django's handler (config/wsgi.py).

A hit of `cms.cache.PublicPageCacheMiddleware` still costs a whole pass through Django: the
request object, six middlewares on the way in and out, the signals. Under load that was most of
a page's cost in the web process. This WSGI wrapper remembers, for each request Django answered
with a hit, what decided the answer and the exact headers Django sent; the next request with the
same inputs is answered from the same entry with the same headers, without Django, as long as
the entry is still this process's current copy (`cms.cache.fresh_copy`: the generations are
checked exactly as the middleware checks them). Anything else goes to Django.

The inputs are everything that the middlewares in front of the page cache and the cache key read:
method (GET only), host, scheme and the proxy's headers for them, path and query string, the
language cookie and Accept-Language, and the names of the cookies (only the harmless ones pass).
A request with an Authorization header never comes here. The replayed headers are the ones of a
hit that Django itself served for those inputs, so security headers, the content security policy
and Vary are the same; a response that set a cookie is never replayed.
"""

from __future__ import annotations

import collections
import logging
import threading

from django.conf import settings
from django.http.cookie import parse_cookie

from cms import cache as page_cache

log = logging.getLogger(__name__)

_HEADERS_NOT_REPLAYED = {"content-length", "date", "server"}


def _inputs(environ):
    """What a cached page's answer depends on, or None when the request may not be answered here."""
    if environ.get("REQUEST_METHOD") != "GET" or "HTTP_AUTHORIZATION" in environ:
        return None
    language = None
    raw = environ.get("HTTP_COOKIE")
    if raw:
        cookies = parse_cookie(raw)
        if not set(cookies) <= page_cache.HARMLESS_COOKIES:
            return None
        language = cookies.get(settings.LANGUAGE_COOKIE_NAME)
    proxy = settings.SECURE_PROXY_SSL_HEADER
    return (environ.get("HTTP_HOST"), environ.get("SERVER_NAME"), environ.get("SERVER_PORT"),
            environ.get("wsgi.url_scheme"), environ.get(proxy[0]) if proxy else None,
            environ.get("HTTP_X_FORWARDED_HOST"), environ.get("HTTP_X_FORWARDED_PORT"),
            environ.get("SCRIPT_NAME"), environ.get("PATH_INFO"), environ.get("QUERY_STRING"),
            environ.get("HTTP_ACCEPT_LANGUAGE"), language)


class Answer:
    __slots__ = ("key", "expires", "status", "headers")

    def __init__(self, key, expires, status, headers):
        self.key, self.expires, self.status, self.headers = key, expires, status, headers


class PageHits:
    """WSGI middleware around Django's application; `limit` request shapes are remembered, least
    recently used forgotten first."""

    def __init__(self, application, limit=10_000):
        self.application = application
        self.limit = limit
        self._answers: collections.OrderedDict[tuple, Answer] = collections.OrderedDict()
        self._lock = threading.Lock()
        self.served = 0  # answered here, not by Django (tests and benchmarks read it)

    def __call__(self, environ, start_response):
        inputs = _inputs(environ)
        if inputs is not None:
            try:
                body = self._serve(inputs, start_response)
            except Exception:  # noqa: BLE001 - Django answers instead, and reports what failed
                log.exception("fast path failed; Django answers this request")
                body = None
            if body is not None:
                return body
        return self._through_django(inputs, environ, start_response)

    def _serve(self, inputs, start_response):
        with self._lock:
            answer = self._answers.get(inputs)
            if answer is None:
                return None
            self._answers.move_to_end(inputs)
        entry = page_cache.fresh_copy(answer.key)
        if entry is None or entry.get("expires") != answer.expires:
            # purged, expired, dropped, or rendered again (its headers may differ): Django decides
            with self._lock:
                self._answers.pop(inputs, None)
            return None
        content = entry["content"]
        start_response(answer.status, [*answer.headers, ("Content-Length", str(len(content)))])
        self.served += 1
        return [content]

    def _through_django(self, inputs, environ, start_response):
        sent = {}

        def recording_start_response(status, headers, exc_info=None):
            sent["status"], sent["headers"] = status, headers
            return start_response(status, headers, exc_info)

        response = self.application(environ, recording_start_response)
        key = environ.get(page_cache.HIT_KEY)
        if inputs is not None and key is not None and sent.get("status", "").startswith("200 "):
            self._remember(inputs, key, sent["status"], sent["headers"])
        return response

    def _remember(self, inputs, key, status, headers):
        if any(name.lower() == "set-cookie" for name, _ in headers):
            return
        entry = page_cache.local_entries.get(key)
        if entry is None:
            return
        kept = [(name, value) for name, value in headers if name.lower() not in _HEADERS_NOT_REPLAYED]
        with self._lock:
            self._answers[inputs] = Answer(key, entry.get("expires"), status, kept)
            self._answers.move_to_end(inputs)
            while len(self._answers) > self.limit:
                self._answers.popitem(last=False)

    def forget(self):
        with self._lock:
            self._answers.clear()
