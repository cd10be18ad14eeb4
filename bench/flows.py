"""Benchmark: the inbox over 100,000 open items, and transitions per second through the API.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/linli_bench .venv/bin/python bench/flows.py \
        [--items 100000] [--query-runs 50] [--api-runs 30] [--transitions 300] [--threads 4] \
        [--candidate-index]

Creates (and drops afterwards, whatever happens) its own database, loads the minyue community
(kaiyuan street, minyue, minyue's forms), and appoints a grid leader at every grid, the community
secretary at the root, a community worker and handlers (party members at the compounds). It then
bulk-writes N open resident requests as `submit()` + `start()` and the later transitions would
have left them — Submission (live form version, valid data, the unit of one of the seven grids,
a reference number), FlowInstance in `collected` / `analysed` / `in_progress`, the audit events of
the steps taken (analyse, dispatch), and for the items in progress their assignee, the clocks of
the state (escalation 5 working days after dispatch, some of them passed, and the reminder before
it) and the assignee's notification — then VACUUM ANALYZE. (Not written: the task rows that
`_schedule` enqueues for each timer; nothing measured here reads them.)

With --candidate-index it then adds a partial index on the open instances' (due_at, entered_at),
the order the inbox sorts by, and measures (a) and (b) again: an experiment, not the schema.

Measured:
  (a) the inbox query alone, as the Tasks view builds it (policy.visible_submissions, open items,
      overdue first, first 50), for the grid leader of one grid and for the community secretary;
  (b) GET /api/v1/tasks/ through django.test.Client (force_login) for both; cProfiled once if its
      p95 is above the 50 ms target;
  (c) POST /api/v1/submissions/{id}/transitions/ ("analyse" by the grid leader) on fresh items
      made with submit(), one after another and from T threads on different items; "dispatch" by
      the secretary one after another.
Each measurement stops early when its time budget is spent; a watchdog bounds the whole run.
Figures go in docs/performance.md.
"""

import argparse
import cProfile
import datetime
import io
import os
import platform
import pstats
import random
import signal
import statistics
import sys
import threading
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_MS = 50.0


class Watchdog(Exception):
    pass


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=100_000, help="open items to bulk-write")
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--query-runs", type=int, default=50, help="runs of the inbox query per reviewer")
    parser.add_argument("--api-runs", type=int, default=30, help="GET /api/v1/tasks/ per reviewer")
    parser.add_argument("--transitions", type=int, default=300, help="fresh items per transition measurement")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--budget", type=float, default=40.0, help="seconds at most per measurement")
    parser.add_argument("--time-limit", type=int, default=340, help="seconds for the whole run (watchdog)")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--candidate-index", action="store_true",
                        help="then add a partial index on open items' (due_at, entered_at) and measure again")
    args = parser.parse_args()
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/linli_bench")
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("TASKS_BACKEND", "database")
    import django

    warnings.filterwarnings("ignore", message="No directory at")  # whitenoise: no collectstatic here
    django.setup()
    from django.conf import settings
    from django.db import connection

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]  # django.test.Client's host
    # A name of its own, so a points benchmark running meanwhile keeps its database.
    connection.settings_dict.setdefault("TEST", {})["NAME"] = f"test_{connection.settings_dict['NAME']}_flows"
    creation = connection.creation

    def expired(signum, frame):
        raise Watchdog(f"stopped after {args.time_limit} s")

    signal.signal(signal.SIGALRM, expired)
    signal.alarm(args.time_limit)
    test_name = creation._create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    settings.DATABASES["default"]["NAME"] = test_name
    connection.close()
    connection.settings_dict["NAME"] = test_name
    try:
        run(args)
    finally:
        signal.alarm(0)
        drop(creation, test_name)


def drop(creation, test_name):
    from django.db import connection

    connection.close()
    try:
        creation.destroy_test_db(test_name, verbosity=0)
    except Exception as error:  # a thread still connected: force it
        print(f"dropping {test_name} again with FORCE ({error})", file=sys.stderr)
        with connection._nodb_cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{test_name}" WITH (FORCE)')


def percentiles(timings):
    timings = sorted(timings)
    if not timings:
        return float("nan"), float("nan")
    return statistics.median(timings), timings[max(0, int(len(timings) * 0.95 + 0.5) - 1)]


def timed_runs(action, runs, budget):
    """Milliseconds of up to `runs` calls of action(), stopping when `budget` seconds are spent."""
    timings, spent = [], time.perf_counter()
    for _ in range(runs):
        started = time.perf_counter()
        action()
        timings.append((time.perf_counter() - started) * 1000)
        if time.perf_counter() - spent > budget:
            break
    return timings


# ---------------------------------------------------------------- the world


def build_people(community):
    """Reviewers, handlers and residents as the tests make them (RoleAssignment at a unit)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    from engine.models import OrgUnit, Person, RoleAssignment

    User = get_user_model()
    grids = list(OrgUnit.objects.filter(community=community, level="grid").order_by("path"))
    compounds = list(OrgUnit.objects.filter(community=community, level="compound").order_by("path"))
    root = OrgUnit.objects.get(community=community, depth=1)
    specs = []  # (username, role, unit)
    for index, grid in enumerate(grids, start=1):
        specs.append((f"leader{index}", "grid_leader", grid))
        specs += [(f"resident{index}_{n}", "resident", grid) for n in range(100)]
    specs.append(("secretary", "community_secretary", root))
    specs.append(("worker", "community_worker", root))
    for index, compound in enumerate(compounds, start=1):
        specs += [(f"handler{index}_{n}", "member", compound) for n in range(2)]
    unusable = make_password(None)
    users = User.objects.bulk_create([User(username=name, first_name=name, password=unusable)
                                      for name, _, _ in specs])
    people = Person.objects.bulk_create([Person(community=community, user=user, name=name, unit=unit,
                                                is_member=role == "member")
                                         for user, (name, role, unit) in zip(users, specs)])
    RoleAssignment.objects.bulk_create([RoleAssignment(community=community, person=person, role=role, unit=unit)
                                        for person, (_, role, unit) in zip(people, specs)])
    by_name = {name: (user, person) for user, person, (name, _, _) in zip(users, people, specs)}
    residents = {grid.pk: [by_name[f"resident{i}_{n}"] for n in range(100)] for i, grid in enumerate(grids, 1)}
    leaders = {grid.pk: by_name[f"leader{i}"] for i, grid in enumerate(grids, 1)}
    handlers = [pair for name, pair in by_name.items() if name.startswith("handler")]
    return grids, leaders, by_name["secretary"], handlers, residents


CATEGORIES = ["environment", "facilities", "safety", "property_service", "elderly_disabled", "policy", "other"]
SUBJECTS = ["楼道灯坏了", "垃圾清运不及时", "小区路面破损", "单元门禁损坏", "下水管道堵塞", "健身器材松动", "车棚漏雨"]


def request_data(rng, grid_key, n):
    """A valid resident request (resident-request.schema.json) at a grid."""
    index = rng.randrange(len(SUBJECTS))
    data = {"category": CATEGORIES[index], "subject": f"{SUBJECTS[index]}（{n}）",
            "details": f"{SUBJECTS[index]}，已经有一个星期了，请尽快安排处理，谢谢。编号{n}",
            "urgency": "normal", "address": {"unit": grid_key, "room": f"{rng.randrange(1, 20)}号楼"},
            "contact_name": "张明", "contact_preference": "visit", "publicity_consent": False}
    if rng.random() < 0.3:
        data.update(contact_preference="phone", mobile=f"139{rng.randrange(10**8):08d}")
    return data


def populate(args, community, grids, leaders, secretary, handlers, residents):
    """N open items as submit() + start() (and analyse, dispatch for the later states) leave them."""
    from django.db import connection, transaction
    from django.db.models import Max
    from django.utils import timezone

    from engine.forms.registry import form_spec
    from engine.models import AuditEvent, Definition, FlowInstance, Notification, Submission, Timer
    from engine.workflow import adapter, core
    from engine.workflow.calendar import before, deadline

    form = Definition.objects.get(community=community, kind="form", key="resident-request")
    flow_record = adapter.flow_for_form(form)
    flow = adapter.compiled(flow_record.live_version)
    prefix = form_spec(form.live_version).reference_prefix
    # entering in_progress (dispatch) starts its clocks: the escalation deadline and a reminder before it
    clocks = [spec for kind, spec in core.clocks(flow.states["in_progress"]) if kind == "timer"]
    level = flow.transitions["analyse"].inputs["handling_level"]["choices"][0]
    dispatch_spec = next(t for t in flow_record.live_version.data["transitions"] if t["name"] == "dispatch")
    message = next(action["notify"]["message"] for action in dispatch_spec["actions"] if "notify" in action)
    rng = random.Random(20240601)
    now = timezone.now()
    first = (Submission.objects.aggregate(m=Max("id"))["m"] or 0) + 1
    counts = {"collected": 0, "analysed": 0, "in_progress": 0, "overdue": 0}
    offsets = {}  # the calendar walk depends on the day only (the time of day is kept)

    def shifted(moment, duration, back=False):
        midnight = timezone.localtime(moment).replace(hour=0, minute=0, second=0, microsecond=0)
        key = (midnight.date(), duration.count, duration.unit, back)
        if key not in offsets:
            offsets[key] = (before(midnight, duration) if back else deadline(midnight, duration)) - midnight
        return moment + offsets[key]
    auto_now = [Submission._meta.get_field("submit_time"), AuditEvent._meta.get_field("created_at")]
    for field in auto_now:
        field.auto_now_add = False  # keep the times written here
    try:
        for start in range(first, first + args.items, args.batch):
            subs, flows, events, timers, notes = [], [], [], [], []
            for pk in range(start, min(first + args.items, start + args.batch)):
                grid = grids[rng.randrange(len(grids))]
                user, _ = rng.choice(residents[grid.pk])
                roll = rng.random()
                state = "collected" if roll < 0.4 else "analysed" if roll < 0.6 else "in_progress"
                counts[state] += 1
                if state == "in_progress":  # dispatched in the last 12 days: about a third overdue
                    entered = now - datetime.timedelta(seconds=rng.randrange(12 * 86400))
                    analysed_at = entered - datetime.timedelta(seconds=rng.randrange(3600, 2 * 86400))
                    submitted = analysed_at - datetime.timedelta(seconds=rng.randrange(600, 86400))
                elif state == "analysed":
                    entered = analysed_at = now - datetime.timedelta(seconds=rng.randrange(5 * 86400))
                    submitted = analysed_at - datetime.timedelta(seconds=rng.randrange(600, 86400))
                else:
                    entered = submitted = now - datetime.timedelta(seconds=rng.randrange(5 * 86400))
                reference = f"{prefix}{timezone.localtime(submitted):%Y%m%d}{pk:06d}"
                subs.append(Submission(id=pk, community=community, form=form, form_version=form.live_version,
                                       submitter=user, data=request_data(rng, grid.key, pk), reference=reference,
                                       submit_time=submitted, unit=grid, language="zh-hans"))
                assignee, due = None, None
                if state == "in_progress":
                    assignee, assignee_person = rng.choice(handlers)
                    for spec in clocks:  # as adapter._schedule writes them
                        at = shifted(entered, spec["after"])
                        if spec.get("reminder"):
                            timers.append(Timer(instance_id=pk, state=spec["state"], reminder=spec["reminder"],
                                                due_at=max(entered, shifted(at, spec["remind_before"], back=True))))
                        else:
                            timers.append(Timer(instance_id=pk, state=spec["state"],
                                                transition=spec.get("transition", ""),
                                                close_vote=bool(spec.get("close_vote")), due_at=at))
                            due = at if due is None else min(due, at)
                    counts["overdue"] += due < now
                version = {"collected": 1, "analysed": 2, "in_progress": 3}[state]
                flows.append(FlowInstance(id=pk, community=community, submission_id=pk, flow=flow_record,
                                          flow_version=flow_record.live_version, state=state, version=version,
                                          assignee=assignee, signatures={}, entered_at=entered, due_at=due))
                # (start() writes no audit event: the submission row is the first event of the history)
                if state != "collected":
                    events.append(AuditEvent(community=community, instance_id=pk, actor=leaders[grid.pk][0],
                                             transition="analyse", from_state="collected", to_state="analysed",
                                             data={"inputs": {"analysis": "情况属实", "handling_level": level}},
                                             created_at=analysed_at))
                if state == "in_progress":
                    events.append(AuditEvent(community=community, instance_id=pk, actor=secretary[0],
                                             transition="dispatch", from_state="analysed", to_state="in_progress",
                                             data={"inputs": {"assignee": assignee_person.pk}}, created_at=entered))
                    notes.append(Notification(user=assignee, community=community, instance_id=pk,
                                              message=message[:500]))
            with transaction.atomic():
                Submission.objects.bulk_create(subs)
                FlowInstance.objects.bulk_create(flows)
                AuditEvent.objects.bulk_create(events)
                Timer.objects.bulk_create(timers)
                Notification.objects.bulk_create(notes)
    finally:
        for field in auto_now:
            field.auto_now_add = True
    from django.core.management.color import no_style

    with connection.cursor() as cursor:
        for statement in connection.ops.sequence_reset_sql(no_style(), [Submission, FlowInstance]):
            cursor.execute(statement)
        if connection.vendor == "postgresql":
            cursor.execute("VACUUM ANALYZE")  # as autovacuum would after a bulk load
    return form, level, counts


# ---------------------------------------------------------------- measurements


def inbox_items(user):
    """The Tasks view's queryset, built as the view builds it (engine/api/views.py, Tasks.get)."""
    from django.db.models import F

    from engine import policy
    from engine.models import FlowInstance, Submission

    visible = policy.visible_submissions(user, Submission.objects.all())
    return (FlowInstance.objects.filter(submission__in=visible, finished_at__isnull=True)
            .select_related("submission", "flow", "flow_version", "community", "submission__unit")
            .order_by(F("due_at").asc(nulls_last=True), "entered_at"))


def inbox_query(user, limit=50):
    """Build and evaluate it: the first `limit` items."""
    return list(inbox_items(user)[:limit])


def inbox_sql(user, limit=50):
    return inbox_items(user)[:limit].query.sql_with_params()


def run_sql(sql, params):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def explain(user):
    """The lines of the plan that matter: the limit, how the open instances are read and sorted, timings."""
    sql, params = inbox_sql(user)
    kept = []
    for line in (row[0] for row in run_sql("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)):
        node = line.strip().removeprefix("->").strip()
        outer_instances = " on engine_flowinstance " in node and '"U' not in node and "submission_id_key" not in node
        if node.startswith(("Limit", "Sort", "Gather Merge", "Planning Time", "Execution Time")) or outer_instances:
            kept.append(line)
    return kept


class QueryCount:
    """Counts the SQL statements run on this thread's connection (request_started resets
    connection.queries, so CaptureQueriesContext undercounts around test-client requests)."""

    def __enter__(self):
        from django.db import connection

        self.count = 0
        self._wrapper = connection.execute_wrapper(self)
        self._wrapper.__enter__()
        return self

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)

    def __exit__(self, *exc):
        self._wrapper.__exit__(*exc)

    def __len__(self):
        return self.count


def client_for(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def profile_summary(call):
    """cProfile one call: total, SQL, open_transitions and its parts, the top functions."""
    with QueryCount() as queries:
        call()
    profiler = cProfile.Profile()
    profiler.enable()
    call()
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = max(stats.total_tt, 1e-9)

    def cumulative(module_part, name):
        return sum(ct for (path, _, func), (_, _, _, ct, _) in stats.stats.items()
                   if func == name and module_part in path)

    def calls(module_part, name):
        return sum(nc for (path, _, func), (_, nc, _, _, _) in stats.stats.items()
                   if func == name and module_part in path)

    parts = {
        "SQL (cursor execute, incl. driver)": cumulative("django/db/backends/utils.py", "_execute"),
        "adapter.open_transitions": cumulative("engine/workflow/adapter.py", "open_transitions"),
        "  adapter.facts_for": cumulative("engine/workflow/adapter.py", "facts_for"),
        "  core.options": cumulative("engine/workflow/core.py", "options"),
        "policy.visible_submissions": cumulative("engine/policy.py", "visible_submissions"),
    }
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(r"engine|rest_framework/views|"
                                                                            r"django/db/models/query\.py", 14)
    return {"queries": len(queries), "total_ms": total * 1000,
            "open_transitions_calls": calls("engine/workflow/adapter.py", "open_transitions"),
            "parts": {k: v * 1000 for k, v in parts.items()}, "top": out.getvalue()}


def transitions(args, form, level, leader_user, resident_user, secretary_user, handler_person):
    from engine.services.submissions import submit

    rng = random.Random(7)
    grid_key = resident_user.people.get().unit.key
    started = time.perf_counter()
    fresh = [submit(form=form, data=request_data(rng, grid_key, 900_000 + n), user=resident_user,
                    language="zh-hans").submission.pk
             for n in range(2 * args.transitions + 1)]
    submit_rate = len(fresh) / (time.perf_counter() - started)
    body = {"transition": "analyse", "data": {"analysis": "情况属实，需社区协调", "handling_level": level}}
    client = client_for(leader_user)

    def post(c, pk, payload):
        response = c.post(f"/api/v1/submissions/{pk}/transitions/", payload, content_type="application/json")
        assert response.status_code == 200, (response.status_code, response.content[:300])

    with QueryCount() as queries:
        post(client, fresh.pop(), body)
    analyse_queries = len(queries)

    sequential_items, threaded_items = fresh[:args.transitions], fresh[args.transitions:]
    latencies, done = [], 0
    started = time.perf_counter()
    for pk in sequential_items:
        t = time.perf_counter()
        post(client, pk, body)
        latencies.append((time.perf_counter() - t) * 1000)
        done += 1
        if time.perf_counter() - started > args.budget:
            break
    sequential = done / (time.perf_counter() - started)
    analysed = sequential_items[:done]

    share = [threaded_items[i::args.threads] for i in range(args.threads)]
    ready = threading.Barrier(args.threads + 1)
    results, errors = [], []
    deadline_at = [0.0]

    def worker(items):
        from django.db import connection as thread_connection

        try:
            c = client_for(leader_user)
            ready.wait()
            count = 0
            for pk in items:
                post(c, pk, body)
                count += 1
                if time.perf_counter() > deadline_at[0]:
                    break
            results.append(count)
        except Exception as error:  # reported, not hidden
            errors.append(repr(error))
            try:
                ready.abort()
            except threading.BrokenBarrierError:
                pass
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=worker, args=(items,), daemon=True) for items in share]
    for thread in threads:
        thread.start()
    ready.wait()
    started = time.perf_counter()
    deadline_at[0] = started + args.budget
    for thread in threads:
        thread.join()
    threaded = sum(results) / (time.perf_counter() - started)
    if errors:
        raise RuntimeError(f"threads failed: {errors}")

    # dispatch (assign, notify, timer with its task) by the secretary, one after another
    secretary_client = client_for(secretary_user)
    dispatch = {"transition": "dispatch", "data": {"assignee": handler_person.pk}}
    dispatch_latencies = []
    started = time.perf_counter()
    for pk in analysed:
        t = time.perf_counter()
        post(secretary_client, pk, dispatch)
        dispatch_latencies.append((time.perf_counter() - t) * 1000)
        if time.perf_counter() - started > args.budget:
            break
    dispatch_rate = len(dispatch_latencies) / (time.perf_counter() - started)
    return {"submit_rate": submit_rate, "analyse_queries": analyse_queries, "sequential": sequential,
            "sequential_n": done, "latency": percentiles(latencies), "threaded": threaded,
            "threaded_n": sum(results), "dispatch": dispatch_rate, "dispatch_n": len(dispatch_latencies),
            "dispatch_latency": percentiles(dispatch_latencies)}


def shape_check(form, resident_user):
    """Differences between a bulk-written `collected` item and one made by submit() + start()
    (in a transaction rolled back): which fields are empty, the instance's state and version,
    its audit events and timers."""
    from django.db import transaction

    from engine.models import FlowInstance, Submission
    from engine.services.submissions import submit

    def shape(submission):
        instance = FlowInstance.objects.get(submission=submission)
        empty = {f.name for f in Submission._meta.concrete_fields if getattr(submission, f.attname) in (None, "")}
        empty |= {f"flow.{f.name}" for f in FlowInstance._meta.concrete_fields
                  if getattr(instance, f.attname) in (None, "", {})}
        return (frozenset(empty), instance.state, instance.version, instance.flow_version_id,
                submission.form_version_id, instance.events.count(), instance.timers.count(),
                submission.reference[:2])

    bulk = Submission.objects.filter(flow__state="collected", submitter=resident_user).order_by("pk").first()
    with transaction.atomic():
        data = dict(bulk.data, subject="楼道灯坏了（核对）")
        made = submit(form=form, data=data, user=resident_user, language="zh-hans").submission
        real = shape(made)
        transaction.set_rollback(True)
    ours = shape(bulk)
    return [f"{a!r} (bulk) != {b!r} (submit)" for a, b in zip(ours, real) if a != b]


CANDIDATE_INDEX = ("bench_inbox_open_due", "(due_at, entered_at) WHERE finished_at IS NULL")


def measure_query(args, reviewers, tag):
    """(a) the inbox query as the view builds it, and its SQL statement alone."""
    rows = []
    for label, user in reviewers:
        inbox_query(user)  # warm: compiled flows, connections
        timings = timed_runs(lambda: inbox_query(user), args.query_runs, args.budget)
        with QueryCount() as queries:
            first = inbox_query(user)
        rows.append((f"(a) inbox query, {label}{tag}", *percentiles(timings),
                     f"{len(timings)} runs, {len(first)} rows; policy + ORM + SQL, {len(queries)} SQL queries"))
        print(rows[-1], flush=True)
        sql, params = inbox_sql(user)
        timings = timed_runs(lambda: run_sql(sql, params), args.query_runs, args.budget)
        rows.append((f"(a) its SQL statement alone, {label}{tag}", *percentiles(timings),
                     f"{len(timings)} runs; cursor.execute + fetchall"))
        print(rows[-1], flush=True)
    return rows


def measure_api(args, api, tag, profile):
    """(b) GET /api/v1/tasks/ through the test client; cProfiled once when above the target."""
    rows, profiles = [], {}
    for label, user, query in api:
        client = client_for(user)

        def get(client=client, query=query):
            response = client.get(f"/api/v1/tasks/{query}")
            assert response.status_code == 200, response.status_code
            return response

        items = get().json()
        with QueryCount() as queries:
            get()
        timings = timed_runs(get, args.api_runs, args.budget)
        p50, p95 = percentiles(timings)
        rows.append((f"(b) GET /api/v1/tasks/{query}, {label}{tag}", p50, p95,
                     f"{len(timings)} runs, {len(items)} items returned, {len(queries)} SQL queries"))
        print(rows[-1], flush=True)
        if p95 > TARGET_MS and profile:
            profiles[label] = profile_summary(get)
    return rows, profiles


def run(args):
    from django.core.management import call_command
    from django.db import connection

    from engine.models import Community, FlowInstance

    load_before = os.getloadavg()
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    call_command("load_definitions", "workflows_yaml/kaiyuan", "workflows_yaml/minyue", "forms_schemas/minyue",
                 stdout=io.StringIO())
    community = Community.objects.get(slug="minyue")
    grids, leaders, secretary, handlers, residents = build_people(community)
    setup_seconds = time.perf_counter() - started
    started = time.perf_counter()
    form, level, counts = populate(args, community, grids, leaders, secretary, handlers, residents)
    load_seconds = time.perf_counter() - started
    leader_user = leaders[grids[0].pk][0]
    secretary_user = secretary[0]
    open_total = FlowInstance.objects.filter(finished_at__isnull=True).count()
    leader_visible = FlowInstance.objects.filter(finished_at__isnull=True, submission__unit=grids[0]).count()
    differences = shape_check(form, residents[grids[0].pk][0][0])
    print(f"bulk rows against submit(): {'same shape' if not differences else differences}")
    print(f"set up in {setup_seconds:.0f} s; {args.items} items written in {load_seconds:.0f} s: {counts}; "
          f"open {open_total}, in the leader's grid {leader_visible}", flush=True)

    reviewers = [("grid leader (1 grid)", leader_user), ("community secretary (root, admin)", secretary_user)]
    api = [("grid leader (1 grid)", leader_user, ""), ("community secretary (root, admin)", secretary_user, ""),
           ("grid leader, ?state=collected", leader_user, "?state=collected")]
    rows = measure_query(args, reviewers, "")  # (measurement, p50, p95, note)
    plans = {label: explain(user) for label, user in reviewers}
    api_rows, profiles = measure_api(args, api, "", profile=not args.no_profile)
    rows += api_rows

    resident_user = residents[grids[0].pk][0][0]
    handler_person = handlers[0][1]
    flows = transitions(args, form, level, leader_user, resident_user, secretary_user, handler_person)

    if args.candidate_index:
        # An experiment, not the schema: a partial index in the order the inbox sorts by.
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE INDEX {CANDIDATE_INDEX[0]} ON engine_flowinstance {CANDIDATE_INDEX[1]}")
            cursor.execute("ANALYZE engine_flowinstance")
        tag = " [candidate index]"
        rows += measure_query(args, reviewers, tag)
        plans.update({label + tag: explain(user) for label, user in reviewers})
        rows += measure_api(args, api[1:], tag, profile=False)[0]

    load_after = os.getloadavg()
    import subprocess

    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "engine", "config"], cwd=ROOT, capture_output=True,
                           text=True)
    print()
    print(f"tree: {head.stdout.strip() or '?'}"
          f"{' with uncommitted changes in engine/ or config/' if dirty.stdout.strip() else ''}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"database {connection.vendor} {getattr(connection, 'pg_version', '')}; "
          f"load average before {load_before[0]:.1f}, after {load_after[0]:.1f}")
    print(f"items: {args.items} open ({counts['collected']} collected, {counts['analysed']} analysed, "
          f"{counts['in_progress']} in progress of which {counts['overdue']} overdue) over {len(grids)} grids; "
          f"{leader_visible} in the grid leader's grid; written in {load_seconds:.0f} s")
    print()
    print(f"| measurement | p50 | p95 | target | runs / note |")
    print(f"|---|---|---|---|---|")
    for name, p50, p95, note in rows:
        print(f"| {name} | {p50:.1f} ms | {p95:.1f} ms | under {TARGET_MS:.0f} ms (p95) | {note} |")
    s50, s95 = flows["latency"]
    d50, d95 = flows["dispatch_latency"]
    print(f"| submit() of fresh items (service, no HTTP) | {flows['submit_rate']:.0f}/s | | — | |")
    print(f"| POST transition `analyse`, one after another | {flows['sequential']:.0f}/s | "
          f"{s50:.1f} / {s95:.1f} ms | — | {flows['sequential_n']} items, {flows['analyse_queries']} queries each |")
    print(f"| POST transition `analyse`, {args.threads} threads, different items | {flows['threaded']:.0f}/s | | — | "
          f"{flows['threaded_n']} items |")
    print(f"| POST transition `dispatch`, one after another | {flows['dispatch']:.0f}/s | "
          f"{d50:.1f} / {d95:.1f} ms | — | {flows['dispatch_n']} items |")
    for label, plan in plans.items():
        print(f"\nEXPLAIN ANALYZE, inbox query, {label}:")
        print("\n".join("    " + line for line in plan))
    for label, summary in profiles.items():
        print(f"\nprofile of one GET /api/v1/tasks/ for {label}: {summary['total_ms']:.0f} ms under cProfile, "
              f"{summary['queries']} SQL queries, open_transitions called {summary['open_transitions_calls']} times")
        for part, ms in summary["parts"].items():
            print(f"    {part}: {ms:.0f} ms ({ms / summary['total_ms'] * 100:.0f} %)")
        print(summary["top"])


if __name__ == "__main__":
    main()
