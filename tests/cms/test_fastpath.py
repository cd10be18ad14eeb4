"""cms.fastpath: a cached public page answered before Django's handler, with the headers Django
sent for the same request, and never when anything that decides the answer differs."""

import io

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.core.management import call_command
from django.test import RequestFactory

from cms import cache as page_cache
from cms.fastpath import PageHits
from cms.sections import community_section
from engine.models import Community


class CountingDjango:
    """Django's WSGI handler, counting its calls; like the test client, it leaves the test's
    database connection open (the handler's signals would close it)."""

    def __init__(self):
        self.handler = WSGIHandler()
        self.calls = 0

    def __call__(self, environ, start_response):
        self.calls += 1
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            return list(self.handler(environ, start_response))
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)


class Answer:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, dict(headers), body

    def __getitem__(self, name):
        return self.headers[name]


def ask(app, path, method="GET", **extra):
    environ = RequestFactory().generic(method, path, **extra).environ
    sent = {}

    def start_response(status, headers, exc_info=None):
        sent["status"], sent["headers"] = status, headers

    body = b"".join(app(environ, start_response))
    return Answer(sent["status"], sent["headers"], body)


@pytest.fixture
def page(db):
    call_command("load_definitions", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())
    return community_section(Community.objects.get(slug="minyue"))["announcements"].url


@pytest.fixture
def app():
    django = CountingDjango()
    return PageHits(django), django


def warm(app, page):
    """A miss, then a hit served by Django: the shape of the request is now known."""
    hits, django = app
    assert ask(hits, page)["X-Linli-Cache"] == "miss"
    by_django = ask(hits, page)
    assert by_django["X-Linli-Cache"] == "hit" and django.calls == 2
    return by_django


def test_a_known_request_is_answered_without_django_with_djangos_headers(app, page):
    hits, django = app
    by_django = warm(app, page)
    fast = ask(hits, page)
    assert django.calls == 2 and hits.served == 1
    assert fast.status == "200 OK" and fast.body == by_django.body
    assert fast["Content-Length"] == str(len(fast.body))
    without_length = {k: v for k, v in by_django.headers.items() if k != "Content-Length"}
    assert {k: v for k, v in fast.headers.items() if k != "Content-Length"} == without_length
    for header in ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy",
                   "Vary", "Content-Language", "Content-Type"):
        assert fast[header] == by_django[header]


def test_a_purge_sends_the_next_request_to_django(app, page):
    hits, django = app
    warm(app, page)
    page_cache.purge(Community.objects.get(slug="minyue").pk)
    assert ask(hits, page)["X-Linli-Cache"] == "miss"
    assert django.calls == 3 and hits.served == 0


@pytest.mark.parametrize("extra", [
    {"HTTP_ACCEPT_LANGUAGE": "en"},
    {"HTTP_COOKIE": "django_language=en"},
    {"HTTP_COOKIE": "sessionid=abc"},
    {"HTTP_AUTHORIZATION": "Token abc"},
    {"QUERY_STRING": "page=2"},
    {"HTTP_X_FORWARDED_PROTO": "https"},
], ids=["accept-language", "language-cookie", "session-cookie", "authorization", "query", "proxy-scheme"])
def test_a_request_differing_in_what_decides_the_answer_goes_to_django(app, page, settings, extra):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    hits, django = app
    warm(app, page)
    ask(hits, page, **extra)
    assert django.calls == 3 and hits.served == 0


def test_a_head_request_goes_to_django(app, page):
    hits, django = app
    warm(app, page)
    answer = ask(hits, page, method="HEAD")
    assert django.calls == 3 and hits.served == 0 and answer.status == "200 OK"


def test_english_is_answered_in_english_once_known(app, page):
    hits, django = app
    for _ in range(3):
        answer = ask(hits, page, HTTP_ACCEPT_LANGUAGE="en")
    assert hits.served == 1 and django.calls == 2 and answer["Content-Language"] == "en"
    chinese = ask(hits, page)
    assert chinese["Content-Language"] == "zh-hans" and django.calls == 3


def test_a_page_rendered_again_is_not_answered_with_the_old_headers(app, page):
    hits, django = app
    warm(app, page)
    key = next(iter(hits._answers.values())).key
    again = dict(page_cache.local_entries.get(key), expires=page_cache.time.time() + 60,
                 headers={"Content-Type": "text/html; charset=utf-8"})
    page_cache.local_entries.put(key, again)
    ask(hits, page)
    assert django.calls == 3 and hits.served == 0


def test_a_failure_in_the_fast_path_leaves_the_answer_to_django(app, page, monkeypatch, caplog):
    hits, django = app
    warm(app, page)

    def broken(key):
        raise ConnectionError("Redis went away")

    monkeypatch.setattr(page_cache, "fresh_copy", broken)
    answer = ask(hits, page)
    assert answer.status == "200 OK" and django.calls == 3
    assert "fast path failed" in caplog.text


def test_a_response_that_sets_a_cookie_is_never_replayed(db):
    page_cache.local_entries.put("k", {"content": b"<p>x</p>", "generations": {}, "headers": {}, "expires": 1e12})
    calls = []

    def application(environ, start_response):
        calls.append(1)
        environ[page_cache.HIT_KEY] = "k"
        start_response("200 OK", [("Content-Type", "text/html"), ("Set-Cookie", "a=b; Path=/")])
        return [b"<p>x</p>"]

    hits = PageHits(application)
    for _ in range(3):
        ask(hits, "/x/")
    assert len(calls) == 3 and hits.served == 0


def test_the_shapes_remembered_are_bounded(app, page):
    hits, django = app
    hits.limit = 2
    for query in ("a=1", "a=2", "a=3"):
        ask(hits, page, QUERY_STRING=query)
        ask(hits, page, QUERY_STRING=query)
    assert len(hits._answers) == 2
    ask(hits, page, QUERY_STRING="a=1")  # forgotten first: Django again
    assert hits.served == 0
    ask(hits, page, QUERY_STRING="a=3")
    assert hits.served == 1
