"""The public-page cache's per-process copies: a hit costs at most one read of the generations,
and a purge, an expiry or a flushed shared cache still reaches the next request."""

import io

import pytest
from django.core.cache import cache
from django.core.management import call_command

from cms import cache as page_cache
from cms.cache import LocalEntries, local_entries
from cms.sections import community_section
from engine.models import Community


@pytest.fixture
def index_url(db):
    call_command("load_definitions", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())
    return community_section(Community.objects.get(slug="minyue"))["announcements"].url


class CountingCache:
    """Counts what the middleware asks of the shared cache."""

    def __init__(self, monkeypatch):
        # `gets` keeps only pages: locmem's get_many calls get once per key itself
        self.gets, self.get_manys = [], []
        real_get, real_get_many = cache.get, cache.get_many
        monkeypatch.setattr(cache, "get", lambda key, *a, **k: (key.startswith("linli:page:") and self.gets.append(key),
                                                  real_get(key, *a, **k))[1])
        monkeypatch.setattr(cache, "get_many",
                            lambda keys, *a, **k: (self.get_manys.append(list(keys)), real_get_many(keys, *a, **k))[1])


def test_a_hit_on_this_processs_copy_reads_only_the_generations(index_url, client, monkeypatch, settings):
    # generations not pushed (any cache but Redis, or turned off); pushed ones: test_pushed_generations.py
    settings.LINLI_PAGE_CACHE_PUSH = False
    assert client.get(index_url)["X-Linli-Cache"] == "miss"
    counting = CountingCache(monkeypatch)
    response = client.get(index_url)
    assert response["X-Linli-Cache"] == "hit"
    assert counting.gets == []  # the page itself was not fetched from the shared cache
    assert len(counting.get_manys) == 1 and all(k.startswith("linli:gen:") for k in counting.get_manys[0])


def test_another_processs_entry_is_taken_from_the_shared_cache_and_kept(index_url, client, monkeypatch):
    client.get(index_url)
    local_entries.clear()  # as in a process that has not served this page yet
    counting = CountingCache(monkeypatch)
    assert client.get(index_url)["X-Linli-Cache"] == "hit"
    assert len(counting.gets) == 1
    assert client.get(index_url)["X-Linli-Cache"] == "hit"
    assert len(counting.gets) == 1  # the second hit used the copy it kept


def test_a_purge_reaches_the_copy_on_the_next_request(index_url, client):
    client.get(index_url)
    assert client.get(index_url)["X-Linli-Cache"] == "hit"
    page_cache.purge(Community.objects.get(slug="minyue").pk)
    assert client.get(index_url)["X-Linli-Cache"] == "miss"


def test_a_flushed_shared_cache_is_not_answered_from_the_copy(index_url, client):
    client.get(index_url)
    cache.clear()  # Redis flushed or restarted: the generations are gone
    assert client.get(index_url)["X-Linli-Cache"] == "miss"


def test_an_expired_copy_is_not_served(index_url, client, monkeypatch):
    client.get(index_url)
    later = page_cache.time.time() + 601  # past AnnouncementIndexPage's cache_seconds
    monkeypatch.setattr(page_cache.time, "time", lambda: later)
    assert client.get(index_url)["X-Linli-Cache"] == "miss"


def entry(size):
    return {"content": b"x" * size, "generations": {}, "headers": {}}


def test_copies_are_bounded_by_bytes_least_recently_used_first():
    entries = LocalEntries(limit=100)
    entries.put("a", entry(40))
    entries.put("b", entry(40))
    assert entries.get("a") is not None  # a is now the most recently used
    entries.put("c", entry(40))
    assert entries.get("b") is None and entries.get("a") is not None and entries.get("c") is not None
    entries.put("huge", entry(101))
    assert entries.get("huge") is None  # larger than the whole budget: not kept, nothing dropped for it
    assert entries.get("a") is not None
    entries.put("a", entry(10))  # replacing counts the new size, not both
    entries.put("d", entry(50))
    assert entries.get("c") is not None and entries.get("d") is not None
