"""Benchmark: a community's honour roll and post board, cached and uncached, over HTTP, in one run.

    .venv/bin/python bench/publishing.py [--rounds 5] [--seconds 3] [--renders 100] \
        [--cache-url redis://127.0.0.1:6379/5]

The minyue community (the example definitions, loaded by `load_definitions`) with 10,000 people
(engine.models.Person: a mix of consents, so names are masked, hidden or shown) and its public
section (cms.sections.community_section); then, against it:

  honour — a HonourRollPage (cms/models/honours.py) with 15 entries, published with
           `save_revision().publish()`, a previous period beside it; each name is decided at each
           render from the person's consent as it is then (engine.privacy);
  board  — the community's PostBoardPage: 500 open post assignments (the seven service posts of
           community.yaml, some holders reachable for a call-back) over every unit below the
           community's own, grouped by compound and building live by cms.sections.post_board;
  bare   — /bench/page/, the ceiling: a Django view rendering a small page on the site's base
           template (cms/base.html), no query.

Served by `gunicorn -w 2` (sync workers) on 127.0.0.1, DEBUG off, a temporary SQLite database
(WAL), and the cache in a spare Redis database (--cache-url, db 5 by default) that both workers
share, as production shares one (locmem would give each worker its own copy to warm, and the
set-up's purges in this process would not reach them). Only that database is flushed, and only
if it holds nothing but Linli's and Wagtail's keys. Each round, the five take turns in slices of --slice
requests (the order rotates every round), `--concurrency` connections at once, a new connection
per request, at most --requests or --seconds each:

  cached   — repeat anonymous GETs of the same URL; each must be a hit of
             cms.cache.PublicPageCacheMiddleware (`X-Linli-Cache: hit`);
  uncached — the same page at a URL never asked before (`?miss=<n>`: the cache key is the full
             path), so each GET is a miss that renders and stores the page (`X-Linli-Cache: miss`);
             the entries these leave are deleted after every round.

Besides req/s and p95 latency it reads the CPU time gunicorn's workers used per request (/proc).
Before gunicorn starts, the uncached render is also timed in this process with Django's test
client, `cms.cache.purge(community)` before every request (what a change does: the stale entry is
read, found out of date, and the page rendered and stored again), median and p95 of --renders
requests (wall and CPU time), with the queries of one render counted (CaptureQueriesContext). Prints medians over
rounds and the cached/bare ratios. Stops gunicorn whatever happens; starts no new round after
--budget seconds. --setup-only leaves a database to profile against. Figures go in
docs/performance.md.
"""

import argparse
import datetime
import functools
import http.client
import io
import itertools
import os
import random
import re
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.forms_http import (free_port, in_turns, machine, p95, run_concurrently, start_gunicorn,  # noqa: E402
                              stop_gunicorn)

COMMUNITY = "minyue"
ROLL = "service_star"
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁"
                "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴孔汤")
SURNAMES += ["欧阳", "司马", "上官", "诸葛"]  # a few two-character surnames: masked as 欧**华
GIVEN = list("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国文红玉志宏海燕春梅晓东林玲凤淑珍荣")
CITATIONS = ["坚持每周巡查楼道消防通道，清理杂物二十余次。", "帮助独居老人代购药品、陪同就医。",
             "组织楼栋垃圾分类宣传，带动邻居参与志愿服务。", ""]

# The ceiling: what every public page has (the base template, static URLs, the language), no query.
BARE_PAGE = """{% extends "cms/base.html" %}{% block title %}民悦社区{% endblock %}{% block content %}
<h1>民悦社区</h1>
<p>社区党总支、七个小区党支部、七个网格：有困难、有诉求、有建议，都可以在这里找到我们。</p>
<ul class="cards"><li>公告</li><li>光荣榜</li><li>岗位公示</li><li>数据公开</li></ul>
{% endblock %}"""
BARE_MARKER = "<h1>民悦社区</h1>"

# gunicorn's workers and this process use the bench settings with one more URL, /bench/page/.
SETTINGS_MODULE = '''"""Written by bench/publishing.py: bench.bench_settings, with /bench/page/ in front."""
from bench.bench_settings import *  # noqa: F401,F403

ROOT_URLCONF = "publishing_urls"
'''
URLS_MODULE = '''"""Written by bench/publishing.py."""
from bench.publishing import bench_urlpatterns

urlpatterns = bench_urlpatterns()
'''


# ---------------------------------------------------------------- the bare view (in gunicorn)


@functools.cache
def _bare_template():
    from django.template import engines

    return engines["django"].from_string(BARE_PAGE)


def bare_page(request):
    from django.http import HttpResponse

    return HttpResponse(_bare_template().render({}, request))


def bench_urlpatterns():
    from django.urls import path

    from bench.bench_urls import urlpatterns

    return [path("bench/page/", bare_page, name="bench_bare_page"), *urlpatterns]


# ---------------------------------------------------------------- set-up (in this process)


def set_up_site(people_count, holdings_count, entries_count):
    """Load the definitions, then minyue's people, posts, section and honour rolls. Returns the
    community, the two pages and what they must show."""
    from django.core.management import call_command

    from cms.sections import community_section
    from engine.models import Community, OrgUnit
    from engine.services import honours

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    migrated = time.perf_counter() - started
    out = io.StringIO()
    call_command("load_definitions", stdout=out)
    community = Community.objects.filter(slug=COMMUNITY).first()
    assert community is not None, out.getvalue()
    section = community_section(community)
    units = list(OrgUnit.objects.filter(community=community).order_by("path"))
    rng = random.Random(20260501)
    people = _people(community, units, people_count, rng)
    members = [p for p in people if p.is_member]
    data = honours.community_data(community)
    posts = [p["key"] for c in data["posts"]["categories"] for p in c["posts"]]
    _holdings(community, units, posts, members[:holdings_count], rng)
    roll = _honour_rolls(community, section["honours"], units, members[holdings_count:], entries_count, rng)
    return {"community": community, "honour": roll, "board": section["posts"], "migrate_seconds": migrated}


def _people(community, units, count, rng):
    """`count` residents (15 % party members, most of them with an account) living in the grids
    and households; consents mixed so that every case of engine.privacy occurs, and some post
    holders may be asked to call back (consent and an account)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    from engine.models import Person

    homes = [u for u in units if u.depth >= 3]  # grids and the households under them
    batch = []
    for n in range(count):
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
        batch.append(Person(
            community=community, name=name, phone=f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}",
            unit=rng.choice(homes), is_member=rng.random() < 0.15, show_name_publicly=rng.random() < 0.25,
            honour_roll_consent=rng.random() < 0.5, contact_consent=rng.random() < 0.3,
            external_id=f"MY{n:05d}"))
    with_account = [p for p in batch if p.is_member and rng.random() < 0.6]
    unusable = make_password(None)
    accounts = get_user_model().objects.bulk_create(
        [get_user_model()(username=f"bench-{p.external_id}", password=unusable) for p in with_account])
    for person, account in zip(with_account, accounts):
        person.user = account
    Person.objects.bulk_create(batch, batch_size=2000)
    return list(Person.objects.filter(community=community).order_by("pk"))


def _holdings(community, units, posts, holders, rng):
    """One open post for each holder, over every unit below the community's own."""
    from engine.models import PostAssignment

    places = [u for u in units if u.depth >= 2]
    start = datetime.date(2024, 1, 1)
    PostAssignment.objects.bulk_create([
        PostAssignment(community=community, post=posts[n % len(posts)], unit=places[n % len(places)], person=person,
                       since=start + datetime.timedelta(days=rng.randrange(700)))
        for n, person in enumerate(holders)])


def _honour_rolls(community, index, units, candidates, entries_count, rng):
    """Two quarters of the community's service-star roll; returns the latest (the one measured)."""
    from cms.models import HonourEntry, HonourRollPage
    from cms.sections import _level_keys
    from engine.services import honours

    rules = honours.rules_for(community)
    levels = _level_keys(community)
    by_path = {u.path: u for u in units}
    by_pk = {u.pk: u for u in units}
    title = honours.roll_definition(community, ROLL)["title"]
    title = title.get("zh-hans", ROLL) if isinstance(title, dict) else title
    page = None
    for n, (label, start, end) in enumerate([("2025Q4", datetime.date(2025, 10, 1), datetime.date(2026, 1, 1)),
                                             ("2026Q1", datetime.date(2026, 1, 1), datetime.date(2026, 4, 1))]):
        chosen = candidates[n * entries_count:(n + 1) * entries_count]
        page = HonourRollPage(title=f"{title} {label}", slug=f"{ROLL.replace('_', '-')}-{label.lower()}",
                              community=community, roll_key=ROLL, period=label, period_start=start, period_end=end,
                              live=False)
        page.entries = [
            HonourEntry(sort_order=rank, person=person, points=120 - 5 * rank,
                        citation=CITATIONS[rank % len(CITATIONS)],
                        place=_place(by_pk[person.unit_id], by_path, rules, levels))
            for rank, person in enumerate(chosen)]
        index.add_child(instance=page)
        page.save_revision().publish()
    return page


def _place(unit, by_path, rules, levels):
    chain = [by_path[unit.path[:n]] for n in range(4, len(unit.path) + 1, 4) if unit.path[:n] in by_path]
    return rules.unit_path([(u.level, u.name) for u in chain], levels)


def check_pages(client, site, holdings, entries):
    """Both pages render what was set up, with names masked where consent is missing."""
    from engine.services.honours import rules_for

    honour = client.get(site["honour"].url).content.decode()
    shown = re.findall(r'class="honour-name">([^<]*)<', honour)
    assert len(shown) == entries, f"honour roll shows {len(shown)} entries, not {entries}"
    anonymous = rules_for(site["community"]).anonymous_label  # no honour-roll consent: no name
    assert anonymous in shown and any(s != anonymous for s in shown), shown
    board = client.get(site["board"].url).content.decode()
    holders = board.count('class="holder"')
    assert holders == holdings, f"post board shows {holders} holders, not {holdings}"
    links = len(re.findall(r'class="holder">[^<]*<a href=', board))  # "ask them to call me back"
    assert "*" in board and 0 < links < holders, (links, board[:500])
    return {"honour": len(honour.encode()), "board": len(board.encode()), "links": links}


# ---------------------------------------------------------------- uncached render (in this process)


def render_times(client, path, community_id, runs):
    """A page rendered afresh, its community purged before every request: (wall ms, CPU ms) per
    request. The CPU time is this thread's (SQLite's included, Redis's not): other jobs on the
    machine stretch the wall time, hardly the CPU time."""
    from cms import cache

    wall, cpu = [], []
    for n in range(runs + 5):
        cache.purge(community_id)
        started, started_cpu = time.perf_counter(), time.thread_time()
        response = client.get(path)
        elapsed, elapsed_cpu = time.perf_counter() - started, time.thread_time() - started_cpu
        assert response.status_code == 200 and response["X-Linli-Cache"] == "miss", (
            response.status_code, response.get("X-Linli-Cache"))
        if n >= 5:  # the first few compile templates and fill per-process caches
            wall.append(elapsed * 1000)
            cpu.append(elapsed_cpu * 1000)
    return wall, cpu


def queries_of(client, path, community_id):
    """The queries of one uncached render, [(sql, ms)] where ms is the cursor's execute (for SQLite
    the statement run to its first row; building model instances from the rows is not in it), and
    the number of queries of one hit."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from cms import cache

    timed = []

    def timer(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            timed.append((sql, (time.perf_counter() - started) * 1000))

    cache.purge(community_id)
    with CaptureQueriesContext(connection) as miss, connection.execute_wrapper(timer):
        client.get(path)
    with CaptureQueriesContext(connection) as hit:
        response = client.get(path)
    assert response["X-Linli-Cache"] == "hit", response.get("X-Linli-Cache")
    assert len(timed) == len(miss.captured_queries), (len(timed), len(miss.captured_queries))
    return timed, len(hit.captured_queries)


def _table(sql):
    found = re.search(r'(?:FROM|INTO|UPDATE) "(\w+)"', sql)
    return found.group(1) if found else sql.split()[0]


def by_table(queries):
    """'table count, ...; execute x ms in all, the slowest ...'."""
    tables = Counter(_table(sql) for sql, _ in queries)
    slowest = max(queries, key=lambda q: q[1])
    return (", ".join(f"{table} {count}" for table, count in tables.most_common()) +
            f"; execute {sum(ms for _, ms in queries):.1f} ms in all, the slowest {_table(slowest[0])} "
            f"{slowest[1]:.1f} ms")


def post_board_time(community, runs):
    from cms.sections import post_board

    times = []
    for _ in range(runs):
        started = time.perf_counter()
        post_board(community)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


# ---------------------------------------------------------------- the loader


def fetch(port, path, timeout=30):
    """GET on a new connection: (status, X-Linli-Cache, body, seconds). Like forms_http.request,
    with the one response header that says whether the cache served the page."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        started = time.perf_counter()
        connection.request("GET", path, headers={"Host": f"127.0.0.1:{port}", "User-Agent": "linli-bench"})
        response = connection.getresponse()
        content = response.read()
        elapsed = time.perf_counter() - started
    finally:
        connection.close()
    return response.status, response.getheader("X-Linli-Cache"), content.decode("utf-8", "replace"), elapsed


_MISSES = itertools.count(1)


class Contender:
    def __init__(self, name, path, marker, cache):
        # cache: the X-Linli-Cache every response must carry ("hit", "miss"; None for the bare view)
        self.name, self.path, self.marker, self.cache = name, path, marker, cache

    def job(self, port):
        def job():
            path = f"{self.path}?miss={next(_MISSES)}" if self.cache == "miss" else self.path
            status, cache, html, elapsed = fetch(port, path)
            ok = status == 200 and cache == self.cache and self.marker in html
            return ok, elapsed, f"GET {path} {status} X-Linli-Cache: {cache}"
        return job


def measure(contenders, port, process, args, round_number, results, problems):
    """One round: the contenders' GETs in interleaved slices of --slice requests (A B C A B C ...),
    so a burst of load from elsewhere hits all of them alike. Returns loader CPU and wall seconds."""
    shift = round_number % len(contenders)
    order = contenders[shift:] + contenders[:shift]
    pending = {c.name: [c.job(port) for _ in range(args.requests)] for c in order}
    acc, loader_cpu, measured_wall = in_turns(order, pending, args, process.pid)
    for name, into in acc.items():
        row, lat = results[name], into["lat"]
        row["rps"].append(len(lat) / into["wall"] if into["wall"] else 0.0)
        row["p95"].append(p95(lat) * 1000)
        row["cpu"].append(into["cpu"] / len(lat) * 1000 if lat and into["cpu_ok"] else float("nan"))
        if into["failed"]:
            problems.append(f"round {round_number + 1} {name}: {len(into['failed'])} failed, e.g. {into['failed'][0]}")
    return loader_cpu, measured_wall


# ---------------------------------------------------------------- the cache database


def redis_database(url):
    """The Redis database the bench may flush: it must answer, and hold nothing but the keys
    Linli's cache and Wagtail's (the site's root paths) write there."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        foreign = [k for k in client.scan_iter(count=1000) if not re.match(rb":\d+:(linli|wagtail)", k)]
    except redis.RedisError as error:
        raise SystemExit(f"Redis at {url} did not answer ({error}): start it, or pass another --cache-url")
    if foreign:
        raise SystemExit(f"{url} holds keys that are not Linli's cache (e.g. {foreign[0]!r}): "
                         f"pass --cache-url with a spare database number")
    return client


def delete_misses(client):
    """The entries the uncached GETs stored (one per URL asked): not needed again."""
    keys = list(client.scan_iter(match=r"*\?miss=*", count=1000))
    for n in range(0, len(keys), 500):
        client.delete(*keys[n:n + 500])


# ---------------------------------------------------------------- main


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--requests", type=int, default=600, help="requests per measurement (at most)")
    parser.add_argument("--seconds", type=float, default=3.0, help="time bound per measurement")
    parser.add_argument("--slice", type=int, default=100,
                        help="requests per slice: contenders take turns slice by slice within a measurement")
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--holdings", type=int, default=500, help="open post assignments on the board")
    parser.add_argument("--entries", type=int, default=15, help="people on the measured honour roll")
    parser.add_argument("--renders", type=int, default=100, help="in-process uncached renders per page")
    parser.add_argument("--cache-url", default="redis://127.0.0.1:6379/5",
                        help="a spare Redis database: flushed before and after the run")
    parser.add_argument("--show-queries", action="store_true", help="print the SQL of one uncached render")
    parser.add_argument("--budget", type=float, default=200.0, help="start no new round after this many seconds")
    parser.add_argument("--setup-only", action="store_true",
                        help="set up the database and pages, print where, and stop (for profiling)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (database, gunicorn log)")
    args = parser.parse_args()
    began = time.perf_counter()
    if not args.cache_url.startswith("redis://"):
        parser.error("--cache-url must be a redis:// database: both workers must share the cache")
    redis_client = redis_database(args.cache_url)

    work = Path(tempfile.mkdtemp(prefix="linli-bench-publishing-"))
    # a plain `kill` of this script still stops gunicorn (the finally below) and removes the folder
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        return run(args, work, began, redis_client)
    finally:
        if not args.setup_only:
            redis_client.flushdb()
        if args.keep or args.setup_only:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def run(args, work, began, redis_client):
    (work / "site").mkdir()
    (work / "site" / "publishing_settings.py").write_text(SETTINGS_MODULE, encoding="utf-8")
    (work / "site" / "publishing_urls.py").write_text(URLS_MODULE, encoding="utf-8")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "publishing_settings",
        "DATABASE_URL": f"sqlite:///{work / 'bench.sqlite3'}",
        "CACHE_URL": args.cache_url,
        "DEBUG": "0",
        "SECRET_KEY": "linli-bench-not-secret-" + os.urandom(8).hex(),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "MEDIA_ROOT": str(work / "media"),
        "PRIVATE_MEDIA_ROOT": str(work / "private_media"),
        "TASKS_BACKEND": "database",
        "LINLI_FORMS_DIR": str(ROOT / "forms_schemas"),
        "LINLI_WORKFLOWS_DIR": str(ROOT / "workflows_yaml"),
        "PYTHONPATH": os.pathsep.join([str(work / "site"), str(ROOT)]),
    }
    os.environ.update(env)
    sys.path.insert(0, str(work / "site"))
    redis_client.flushdb()
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    started = time.perf_counter()
    site = set_up_site(args.people, args.holdings, args.entries)
    setup_seconds = time.perf_counter() - started
    community = site["community"]
    client = Client(HTTP_HOST="127.0.0.1")
    sizes = check_pages(client, site, args.holdings, args.entries)
    print(f"set up in {setup_seconds:.1f} s (migrate {site['migrate_seconds']:.1f} s): {args.people} people, "
          f"{args.holdings} open posts ({sizes['links']} holders may be asked to call back), honour roll of "
          f"{args.entries}; pages of {sizes['honour'] / 1000:.0f} kB "
          f"and {sizes['board'] / 1000:.0f} kB", flush=True)
    if args.setup_only:
        print(f"DJANGO_SETTINGS_MODULE={env['DJANGO_SETTINGS_MODULE']} PYTHONPATH={env['PYTHONPATH']} "
              f"DATABASE_URL={env['DATABASE_URL']} CACHE_URL={args.cache_url} DEBUG=0 "
              f"ALLOWED_HOSTS=127.0.0.1; pages {site['honour'].url} {site['board'].url}")
        return 0

    # uncached render, in this process, before gunicorn starts (nothing else on the cores)
    renders, queries = {}, {}
    for name in ("honour", "board"):
        renders[name] = render_times(client, site[name].url, community.pk, args.renders)
        queries[name] = queries_of(client, site[name].url, community.pk)
    board_alone = post_board_time(community, 30)
    with CaptureQueriesContext(connection) as bare_queries:
        client.get("/bench/page/")
    connection.close()
    redis_client.flushdb()

    contenders = [
        Contender("bare", "/bench/page/", BARE_MARKER, None),
        Contender("honour", site["honour"].url, 'class="honours"', "hit"),
        Contender("board", site["board"].url, 'class="board"', "hit"),
        Contender("honour-miss", site["honour"].url, 'class="honours"', "miss"),
        Contender("board-miss", site["board"].url, 'class="board"', "miss"),
    ]
    results = {c.name: {"rps": [], "p95": [], "cpu": []} for c in contenders}
    problems = []
    loader_cpu = measured_wall = 0.0
    log = open(work / "gunicorn.log", "w")
    process = None
    port = free_port()
    try:
        process = start_gunicorn(port, env, log)
        # warm up: both workers compile their templates and fill their per-process caches; the
        # first GET of each page stores it in the shared cache
        warm = [c for c in contenders if c.cache != "hit"]
        for contender in warm:
            run_concurrently([contender.job(port) for _ in range(20)], args.concurrency, 30)
        for contender in contenders:
            if contender.cache == "hit":
                fetch(port, contender.path)
                _, failed, _, _ = run_concurrently([contender.job(port) for _ in range(20)], args.concurrency, 30)
                if failed:
                    raise RuntimeError(f"{contender.name}: not served from the cache: {failed[0]}")
        delete_misses(redis_client)

        for round_number in range(args.rounds):
            if time.perf_counter() - began > args.budget:
                problems.append(f"time budget of {args.budget:g} s reached: {round_number} rounds measured")
                break
            cpu, wall = measure(contenders, port, process, args, round_number, results, problems)
            loader_cpu += cpu
            measured_wall += wall
            delete_misses(redis_client)
            print(f"round {round_number + 1}: " + "   ".join(
                f"{c.name} {results[c.name]['rps'][-1]:.0f}/s" for c in contenders), flush=True)
    finally:
        stop_gunicorn(process)
        log.close()

    med = {name: {k: statistics.median(v) for k, v in values.items()} for name, values in results.items()}
    measured = len(results["bare"]["rps"])
    print()
    print(f"machine: {machine()}")
    print(f"gunicorn -w 2 (sync) on 127.0.0.1, SQLite WAL, cache {args.cache_url}, DEBUG off; "
          f"{args.concurrency} concurrent connections; {measured} rounds, at most {args.requests} requests or "
          f"{args.seconds:g} s per measurement; medians")
    print()
    labels = {"bare": "bare Django view (ceiling)", "honour": "honour roll, cached (hit)",
              "board": "post board, cached (hit)", "honour-miss": "honour roll, uncached (miss)",
              "board-miss": "post board, uncached (miss)"}
    print("| page | req/s | p95 ms | server CPU ms/req |")
    print("|---|---|---|---|")
    for contender in contenders:
        m = med[contender.name]
        print(f"| {labels[contender.name]} | {m['rps']:.1f} | {m['p95']:.1f} | {m['cpu']:.2f} |")
    print()
    print(f"| uncached render in-process ({args.renders} requests, purged before each) "
          f"| median ms | p95 ms | CPU median ms | CPU p95 ms | queries |")
    print("|---|---|---|---|---|---|")
    for name, label in (("honour", "honour roll"), ("board", "post board")):
        wall, cpu = renders[name]
        print(f"| {label} | {statistics.median(wall):.1f} | {p95(wall):.1f} | {statistics.median(cpu):.1f} | "
              f"{p95(cpu):.1f} | {len(queries[name][0])} |")
    print()

    for name in ("honour", "board"):
        # Judged on the median of per-round ratios: within a round the pages take turns every
        # --slice requests, so a burst of load from elsewhere on the machine hits all alike.
        per_round = [a / b for a, b in zip(results[name]["rps"], results["bare"]["rps"])]
        by_cpu = med["bare"]["cpu"] / med[name]["cpu"]
        verdict = "met" if statistics.median(per_round) >= 0.7 else "MISSED"
        print(f"{labels[name]} / bare: {statistics.median(per_round):.2f} x (target >= 0.7) {verdict}: median of "
              f"per-round ratios (rounds: {', '.join(f'{r:.2f}' for r in per_round)}); by server CPU {by_cpu:.2f}")
    for name, label in (("honour", "honour roll"), ("board", "post board")):
        wall, cpu = renders[name]
        print(f"{label} uncached render: median {statistics.median(wall):.1f} ms, p95 {p95(wall):.1f} ms "
              f"(target < 100 ms) {'met' if p95(wall) < 100 else 'MISSED'}; CPU median {statistics.median(cpu):.1f} "
              f"ms, p95 {p95(cpu):.1f} ms {'met' if p95(cpu) < 100 else 'MISSED'}")
    print(f"of the post board's render, cms.sections.post_board() alone: {board_alone:.1f} ms (median of 30)")
    for name, label in (("honour", "honour roll"), ("board", "post board")):
        captured, hit = queries[name]
        print(f"{label} queries: uncached {len(captured)} ({by_table(captured)}); a hit {hit}")
        if args.show_queries:
            for sql, ms in captured:
                print(f"    {ms:6.2f} ms  {sql[:160]}")
    print(f"bare view queries: {len(bare_queries.captured_queries)}")
    if problems:
        print("\nproblems:")
        for problem in problems:
            print("  " + problem)
    print(f"\nloader CPU: {loader_cpu:.1f} s over {measured_wall:.1f} s measured "
          f"({100 * loader_cpu / max(measured_wall, 1e-9):.0f} % of one core)")
    print(f"whole run {time.perf_counter() - began:.0f} s")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
