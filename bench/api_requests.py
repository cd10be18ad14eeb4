"""Benchmark: what one request of each kind the load test sends costs, in this process and in
PostgreSQL, on a copy of the load test's city.

    .venv/bin/python bench/api_requests.py --template NAME [--requests 60] [--rounds 3] \
        [--full] [--profile KIND [--profile-filter REGEX]] [--queries KIND]

NAME is a template database built by `python -m loadtest [--full] build-template NAME` (the CI
city by default, the full one with --full); it is copied to a throwaway database, which is
dropped at the end. The requests go through Django's test client, so through every middleware
and DRF's token authentication, on the production settings the load test's server gets (DEBUG
off, the cache in Redis), but not through gunicorn's HTTP parsing:

  upload   — a phone photo (a 640×480 JPEG) for the resident-request form's /photos field
  submit   — that form's submission with two of those photos, a fresh Idempotency-Key each
  analyse  — a grid leader's step on an item of their grid ('collected' → 'analysed')
  dispatch — a community worker's step sending an analysed item to a party member
  inbox    — a grid leader's /api/v1/tasks/
  leaderboard, balance — a resident's points reads
  page     — a community home page for a visitor, a hit of the public page cache

Each kind runs --requests times per round, the kinds in turn; after the rounds it prints, per
kind, the median over rounds of: this process's CPU per request (time.process_time), the CPU the
PostgreSQL backend serving this connection used per request (/proc/<pid>/stat of
pg_backend_pid(), same machine), and the queries of one request (CaptureQueriesContext). Every
answer's status is checked (201 or 200; a page must be a cache hit). --profile KIND runs that
kind once more under cProfile and prints the 25 costliest functions by cumulative time (only
those whose file and name match --profile-filter, if given) and the 15 costliest by own time;
--queries KIND prints the SQL of one request of that kind.
Figures go in docs/performance.md.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.forms_http import machine  # noqa: E402
from loadtest.stack import cpu_seconds  # noqa: E402

KINDS = ("upload", "submit", "analyse", "dispatch", "inbox", "leaderboard", "balance", "page")


class Requests:
    """One request of each kind at a time, against the city of `manifest`."""

    def __init__(self, manifest):
        from django.test import Client

        from loadtest import dataset
        from loadtest.loader import jpeg

        self.dataset = dataset
        self.client = Client(SERVER_NAME="localhost")
        self.rng = random.Random(7)
        self.communities = manifest["communities"]
        self.photos = [jpeg(random.Random(n)) for n in range(8)]
        self.collected = [(c, sid, grid) for c in self.communities for sid, grid in c["collected"]]
        self.analysed = [(c, sid) for c in self.communities for sid, _ in c["analysed"]]
        self.rng.shuffle(self.collected)
        self.rng.shuffle(self.analysed)
        self.only = None  # a community every request goes to (while warming up)

    def _auth(self, token):
        return {"HTTP_AUTHORIZATION": f"Token {token}"}

    def _community(self):
        return self.only or self.rng.choice(self.communities)

    def _resident(self):
        community = self._community()
        return community, self.rng.choice(community["residents"])

    def _take(self, queue):
        """The next item of `queue`, of the community warmed up if there is one."""
        index = -1 if self.only is None else max(i for i, entry in enumerate(queue) if entry[0] is self.only)
        return queue.pop(index)

    def _expect(self, reply, status, kind):
        if reply.status_code != status:
            raise SystemExit(f"{kind}: {reply.status_code} {reply.content[:300]!r}")
        return reply

    def upload(self, community=None, resident=None):
        from django.core.files.uploadedfile import SimpleUploadedFile

        if community is None:
            community, resident = self._resident()
        photo = SimpleUploadedFile("IMG.jpg", self.rng.choice(self.photos), content_type="image/jpeg")
        reply = self.client.post(f"/api/v1/forms/{community['slug']}/{self.dataset.REQUEST_FORM}/files/",
                                 {"file": photo, "field": "/photos"}, **self._auth(resident["token"]))
        return self._expect(reply, 201, "upload").json()["token"]

    def prepare_submit(self):
        """Two uploaded photos and the data that uses them (uploaded outside the measured request)."""
        community, resident = self._resident()
        tokens = [self.upload(community, resident) for _ in range(2)]
        return community, resident, self.dataset.request_data(self.rng, resident["building"], 0, photos=tokens)

    def submit(self, prepared):
        community, resident, data = prepared
        reply = self.client.post(f"/api/v1/forms/{community['slug']}/{self.dataset.REQUEST_FORM}/submissions/",
                                 data, content_type="application/json", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
                                 **self._auth(resident["token"]))
        self._expect(reply, 201, "submit")

    def analyse(self):
        community, sid, grid = self._take(self.collected)
        self._transition(sid, community["leaders"][grid], "analyse",
                         {"analysis": "已核实，情况属实", "handling_level": "网格办理"})
        self.analysed.insert(0, (community, sid))

    def dispatch(self):
        community, sid = self._take(self.analysed)
        self._transition(sid, self.rng.choice(community["workers"]), "dispatch",
                         {"assignee": self.rng.choice(community["members"])})

    def _transition(self, sid, token, name, data):
        reply = self.client.post(f"/api/v1/submissions/{sid}/transitions/",
                                 {"transition": name, "comment": "", "data": data},
                                 content_type="application/json", **self._auth(token))
        self._expect(reply, 200, name)

    def inbox(self):
        community = self._community()
        token = self.rng.choice(list(community["leaders"].values()))
        self._expect(self.client.get("/api/v1/tasks/", **self._auth(token)), 200, "inbox")

    def leaderboard(self):
        community, resident = self._resident()
        self._expect(self.client.get(f"/api/v1/communities/{community['slug']}/points/leaderboard/?period=quarter",
                                     **self._auth(resident["token"])), 200, "leaderboard")

    def balance(self):
        community, resident = self._resident()
        self._expect(self.client.get(f"/api/v1/communities/{community['slug']}/points/balance/",
                                     **self._auth(resident["token"])), 200, "balance")

    def page(self):
        community = self._community()
        self.client.cookies.clear()
        reply = self._expect(self.client.get(community["pages"]["home"]), 200, "page")
        if reply.headers.get("X-Linli-Cache") != "hit":
            raise SystemExit(f"page: not a cache hit ({reply.headers.get('X-Linli-Cache')})")

    def one(self, kind):
        """(a callable making one request of `kind`, its preparation's result)."""
        if kind == "submit":
            prepared = self.prepare_submit()
            return lambda: self.submit(prepared)
        return getattr(self, kind)

    def warm(self):
        """One request of each kind in each community: the page cache, and the process's caches
        of each community's definitions (compiled forms, flows, roles), are then what they are
        in a server that has run a while."""
        for community in self.communities:
            self.only = community
            self.client.cookies.clear()
            self.client.get(community["pages"]["home"])  # a miss: stores the page
            for kind in KINDS:
                self.one(kind)()
        self.only = None


def measure(requests, kind, count, pid):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    calls = [requests.one(kind) for _ in range(count)]  # preparations (uploads for submit) outside the timing
    cpu, backend = time.process_time(), cpu_seconds(pid)
    for call in calls:
        call()
    cpu, backend = time.process_time() - cpu, cpu_seconds(pid) - backend
    call = requests.one(kind)
    with CaptureQueriesContext(connection) as queries:
        call()
    return {"cpu": cpu / count * 1000, "pg": backend / count * 1000, "queries": len(queries)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--template", required=True)
    parser.add_argument("--full", action="store_true", help="the template holds the full city")
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", choices=KINDS)
    parser.add_argument("--profile-filter", default="", help="a regular expression: which functions to list")
    parser.add_argument("--queries", choices=KINDS, help="print the SQL of one request of this kind")
    args = parser.parse_args(argv)

    from loadtest import profile as profiles
    from loadtest.session import Session

    with Session(profiles.PROFILES["full" if args.full else "ci"], template=args.template, log=print) as session:
        from django.db import connection

        requests = Requests(session.manifest)
        requests.warm()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        results = {kind: [] for kind in KINDS}
        for round_ in range(args.rounds):
            order = KINDS[round_ % len(KINDS):] + KINDS[:round_ % len(KINDS)]
            for kind in order:
                results[kind].append(measure(requests, kind, args.requests, pid))
        print(f"\n{machine()}; {args.rounds} rounds of {args.requests} requests per kind; median of rounds")
        print(f"{'kind':<12} {'CPU ms/req':>11} {'PG ms/req':>10} {'queries':>8}")
        for kind in KINDS:
            rows = results[kind]
            print(f"{kind:<12} {statistics.median(r['cpu'] for r in rows):>11.1f} "
                  f"{statistics.median(r['pg'] for r in rows):>10.1f} {rows[0]['queries']:>8}")
        if args.queries:
            from django.test.utils import CaptureQueriesContext

            call = requests.one(args.queries)
            with CaptureQueriesContext(connection) as queries:
                call()
            for number, query in enumerate(queries.captured_queries, 1):
                print(f"{number:>3} {query['sql'][:400]}")
        if args.profile:
            calls = [requests.one(args.profile) for _ in range(args.requests)]
            profiler = cProfile.Profile()
            profiler.enable()
            for call in calls:
                call()
            profiler.disable()
            stats = pstats.Stats(profiler)
            stats.sort_stats("cumulative").print_stats(args.profile_filter, 25)
            stats.sort_stats("tottime").print_stats(15)
        connection.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
