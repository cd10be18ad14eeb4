"""Benchmark: the quarterly leaderboard over 1,000,000 ledger entries, and awards per second.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/linli_bench .venv/bin/python bench/points.py \
        [--entries 1000000] [--people 10000] [--queries 50] [--awards 2000]

Creates (and drops afterwards) its own database, loads the minyue community, writes N entries
spread over two years for P people with a valid hash chain (bulk, as a migration would), then
times `points.leaderboard(period="quarter")` (p50/p95 over several periods and categories) and
`points.award` one after another and from 4 threads. Figures go in docs/performance.md.
"""

import argparse
import datetime
import os
import platform
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--awards", type=int, default=2000)
    args = parser.parse_args()
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/linli_bench")
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from _database import throwaway_database

    with throwaway_database():
        run(args)


def run(args):
    import io

    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from engine.models import Community, LedgerEntry, LedgerHead, Person
    from engine.points.core import GENESIS, entry_hash
    from engine.services import points

    call_command("migrate", verbosity=0)
    call_command("load_definitions", "workflows_yaml/kaiyuan", "workflows_yaml/minyue", stdout=io.StringIO())
    community = Community.objects.get(slug="minyue")
    categories = [c["key"] for c in points._community_data(community)["points"]["categories"]]
    Person.objects.bulk_create([Person(community=community, name=f"居民{n}") for n in range(args.people)],
                               batch_size=5000)
    people = list(Person.objects.filter(community=community).values_list("pk", flat=True))

    started = time.perf_counter()
    end = timezone.now()
    span = datetime.timedelta(days=730)
    prev, balances, per_person_seq = GENESIS, {}, {}
    batch = []
    for sequence in range(1, args.entries + 1):
        person = people[(sequence * 7919) % len(people)]
        amount = (sequence % 5) + 1
        category = categories[sequence % len(categories)]
        created = end - span + span * (sequence / args.entries)
        balances[person] = balances.get(person, 0) + amount
        per_person_seq[person] = per_person_seq.get(person, 0) + 1
        fields = dict(community=community.slug, sequence=sequence, person=person, category=category, amount=amount,
                      balance_after=balances[person], rule="", reason="巡逻", idempotency_key="",
                      created_at=created.isoformat(), created_by=None, submission=None)
        digest = entry_hash(prev, **fields)
        batch.append(LedgerEntry(community=community, sequence=sequence, person_id=person,
                                 person_sequence=per_person_seq[person], category=category, amount=amount,
                                 balance_after=balances[person], reason="巡逻", created_at=created,
                                 prev_hash=prev, hash=digest))
        prev = digest
        if len(batch) == 20_000:
            LedgerEntry.objects.bulk_create(batch)
            batch = []
    LedgerEntry.objects.bulk_create(batch)
    LedgerHead.objects.update_or_create(community=community, defaults={"sequence": args.entries, "hash": prev})
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE engine_ledgerentry")  # as autovacuum would after a bulk load
    load_seconds = time.perf_counter() - started

    # leaderboard: the last four quarters, all categories and each category
    days = [end.date() - datetime.timedelta(days=91 * q) for q in range(4)]
    timings = []
    for n in range(args.queries):
        day = days[n % len(days)]
        category = None if n % 2 == 0 else categories[n % len(categories)]
        started = time.perf_counter()
        rows = points.leaderboard(community, period="quarter", day=day, category=category, limit=20)
        timings.append((time.perf_counter() - started) * 1000)
        assert len(rows) == 20
    timings.sort()
    p50, p95 = statistics.median(timings), timings[int(len(timings) * 0.95) - 1]

    # awards, one after another
    someone = Person.objects.get(pk=people[0])
    started = time.perf_counter()
    for n in range(args.awards):
        points.award(person=someone, category=categories[0], points=1, reason="bench", idempotency_key=f"seq-{n}")
    sequential = args.awards / (time.perf_counter() - started)

    # awards from 4 threads to different people (they queue on the community's ledger head)
    def worker(index, count, out):
        from django.db import connection as thread_connection

        person = Person.objects.get(pk=people[index + 1])
        for n in range(count):
            points.award(person=person, category=categories[0], points=1, reason="bench",
                         idempotency_key=f"t{index}-{n}")
        out.append(count)
        thread_connection.close()

    done = []
    threads = [threading.Thread(target=worker, args=(i, args.awards // 4, done)) for i in range(4)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    threaded = sum(done) / (time.perf_counter() - started)
    verified = points.verify_ledger(community)

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"database {connection.vendor} {connection.pg_version if connection.vendor == 'postgresql' else ''}")
    print(f"entries: {args.entries} for {args.people} people over two years (written in {load_seconds:.0f} s)")
    print(f"leaderboard (quarter, top 20): p50 {p50:.1f} ms, p95 {p95:.1f} ms over {args.queries} queries")
    print(f"awards: {sequential:.0f}/s one after another, {threaded:.0f}/s from 4 threads")
    print(f"verify_ledger: {'whole' if verified is None else verified}")


if __name__ == "__main__":
    main()
