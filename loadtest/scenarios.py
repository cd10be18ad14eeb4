"""The load run: the profile's phases, then the shop rush, then Wagtail's form page beside Linli's
— all on the same server, in one run — and the checks of what the database holds afterwards.
"""

from __future__ import annotations

import collections
import os
import queue
import random
import statistics
import threading
import time
import uuid

from bench import forms_http

from . import checks, dataset, stack
from .checks import Check, percentile
from .loader import OpenLoop, Recorder, call
from .traffic import City

KIND_ORDER = ["page", "upload", "submit", "submit-again", "submit-retry", "analyse", "dispatch", "leaderboard",
              "balance", "inbox", "redeem", "reserve", "reject"]


def summarise(records, phases):
    """{phase: {kind: {n, rate, p50, p95, p99, service p95, 2xx, 4xx, 5xx, no answer}}}."""
    out = {}
    for phase, seconds in phases:
        rows = collections.defaultdict(list)
        for r in records:
            if r.phase == phase:
                rows[r.kind].append(r)
        table = {}
        for kind in sorted(rows, key=lambda k: KIND_ORDER.index(k) if k in KIND_ORDER else 99):
            rs = rows[kind]
            ok = [r.latency for r in rs if r.ok]
            table[kind] = {
                "n": len(rs), "per second": len(rs) / seconds if seconds else 0.0,
                "p50 ms": percentile(ok, 0.5) * 1000, "p95 ms": percentile(ok, 0.95) * 1000,
                "p99 ms": percentile(ok, 0.99) * 1000,
                "service p95 ms": percentile([r.service for r in rs if r.ok], 0.95) * 1000,
                "2xx": sum(r.ok for r in rs), "4xx": sum(400 <= r.status < 500 for r in rs),
                "5xx": sum(r.status >= 500 for r in rs), "no answer": sum(r.status == 0 for r in rs),
                "gave up": sum(r.status == -1 for r in rs),
            }
        out[phase] = table
    return out


def warm_up(port, manifest):
    """Each worker process compiles its templates and flows, every page is stored in the cache
    once (the profile's reads are of a live site, not of a cold start)."""
    urls = [u for c in manifest["communities"] for u in c["pages"].values()]
    urls += list(manifest.get("street_pages", {}).values())
    for _ in range(2):
        for url in urls:
            call(port, "GET", url)
    community = manifest["communities"][0]
    token = community["residents"][0]["token"]
    for _ in range(4):
        call(port, "GET", f"/api/v1/communities/{community['slug']}/points/leaderboard/?period=quarter",
             headers={"Authorization": f"Token {token}"})
        call(port, "GET", f"/api/v1/forms/{community['slug']}/{dataset.REQUEST_FORM}/",
             headers={"Authorization": f"Token {token}"})


# ---------------------------------------------------------------- the load


def run_phases(session, recorder, city, loop, sampler, log=print):
    """Each phase of the profile in turn. Returns [(phase, seconds)] and {phase: CPU figures}."""
    phases, cpu = [], {}
    for phase in session.profile.phases:
        start = time.monotonic() + 0.5
        schedule = city.schedule(phase.name, start, phase.seconds, phase.multiplier)
        log(f"phase {phase.name}: {phase.seconds:g} s at {phase.multiplier:g}×, {len(schedule)} requests scheduled")
        began, web0, db0, own0 = time.monotonic(), *sampler.cpu(), _own_cpu()
        loop.run(schedule, start + phase.seconds)
        web1, db1 = sampler.cpu()
        count = sum(1 for r in recorder.records if r.phase == phase.name)
        wall = time.monotonic() - began
        cpu[phase.name] = {"requests": count, "wall s": round(wall, 1),
                           "gunicorn cores": round((web1 - web0) / wall, 2),
                           "postgres cores": round((db1 - db0) / wall, 2),
                           "loader cores": round((_own_cpu() - own0) / wall, 2),
                           "load average": os.getloadavg()[0]}
        phases.append((phase.name, phase.seconds))
        log(f"  done in {wall:.0f} s; late starts so far {loop.late}; queues: {len(city.collected)} to analyse, "
            f"{len(city.analysed)} to dispatch; {cpu[phase.name]}")
    return phases, cpu


def _own_cpu():
    times = os.times()
    return times.user + times.system


# ---------------------------------------------------------------- the shop rush


def shop_rush(session, port, recorder, log=print):
    """The points supermarket opens: `rush.people` residents of the first community ask for the
    rush item (stock `rush.stock`, one each) within `rush.seconds`; community workers reserve
    in order of arrival, `rush.workers` at a time; when the item is sold out they decline the
    request, which tells the resident. Returns (figures, checks)."""
    from django.db.models import Count

    from engine.models import Community, FlowInstance, Redemption, StoreItem

    rush = session.profile.rush
    community = session.manifest["communities"][0]
    slug, phase = community["slug"], "shop rush"
    people = community["rushers"]
    arrivals_at = sorted(random.Random(7).uniform(0, rush.seconds) for _ in people)
    waiting = queue.Queue()
    accepted = []
    outcomes = collections.Counter()
    sold_out_answers, other_refusals = [], []
    lock = threading.Lock()
    base = f"/api/v1/forms/{slug}/{dataset.REDEEM_FORM}/submissions/"
    start = time.monotonic() + 0.5

    def ask(person, moment):
        def job(scheduled):
            reply = recorder.timed("redeem", phase, scheduled, port, "POST", base,
                                   json_body={"item": dataset.RUSH_ITEM, "quantity": 1, "collection": "centre"},
                                   headers={"Authorization": f"Token {person['token']}",
                                            "Idempotency-Key": uuid.uuid4().hex})
            if reply is not None and reply.status == 201:
                body = reply.json()
                with lock:
                    accepted.append((None, body["id"], body["reference"], "redeem", False))
                waiting.put(body["id"])
            else:
                with lock:
                    outcomes["request refused"] += 1
        job.kind, job.phase = "redeem", phase
        return (moment, job)

    def worker(token):
        while True:
            sid = waiting.get()
            if sid is None:
                return
            now = time.monotonic()
            reply = recorder.timed("reserve", phase, now, port, "POST", f"/api/v1/submissions/{sid}/transitions/",
                                   json_body={"transition": "reserve", "comment": "", "data": {}},
                                   headers={"Authorization": f"Token {token}"})
            if reply is not None and reply.status == 200:
                with lock:
                    outcomes["reserved"] += 1
                continue
            body = reply.json() if reply is not None else None
            if reply is not None and 400 <= reply.status < 500 and isinstance(body, dict) and (
                    body.get("reason") == "out_of_stock" or "out_of_stock" in str(body.get("errors", ""))):
                with lock:
                    outcomes["told sold out"] += 1
                    sold_out_answers.append(body)
                recorder.timed("reject", phase, time.monotonic(), port, "POST",
                               f"/api/v1/submissions/{sid}/transitions/",
                               json_body={"transition": "reject", "comment": "很抱歉，本期已兑完", "data": {}},
                               headers={"Authorization": f"Token {token}"})
            else:
                with lock:
                    outcomes[f"reserve answered {reply.status if reply else 'nothing'}"] += 1
                    other_refusals.append((reply.status if reply else 0, body))

    stock_before = StoreItem.objects.get(community__slug=slug, key=dataset.RUSH_ITEM).stock
    workers = [threading.Thread(target=worker, args=(community["workers"][n % len(community["workers"])],))
               for n in range(rush.workers)]
    for thread in workers:
        thread.start()
    began = time.monotonic()
    try:
        with OpenLoop(64, recorder) as loop:
            loop.run([ask(p, start + t) for p, t in zip(people, arrivals_at)], start + rush.seconds + 1)
    finally:
        for _ in workers:
            waiting.put(None)
        for thread in workers:
            thread.join()
    seconds = time.monotonic() - began
    log(f"shop rush: {len(people)} people in {rush.seconds:g} s for {stock_before} items: {dict(outcomes)} "
        f"({seconds:.0f} s)")

    item = StoreItem.objects.get(community__slug=slug, key=dataset.RUSH_ITEM)
    redemptions = Redemption.objects.filter(item=item).exclude(status=Redemption.Status.CANCELLED)
    per_person = redemptions.values("person").annotate(n=Count("id"))
    twice = [r for r in per_person if r["n"] > 1]
    states = collections.Counter(FlowInstance.objects.filter(
        community=Community.objects.get(slug=slug), flow__key="points-redemption").values_list("state", flat=True))
    shape_ok = all({"reason", "state", "detail"} <= set(b) for b in sold_out_answers)
    result = [
        Check("shop rush: exactly the stock is sold", redemptions.count() == stock_before and item.stock == 0,
              f"{redemptions.count()} reservations for {stock_before} items; stock now {item.stock}; "
              f"{len(twice)} people with two"),
        Check("shop rush: no negative stock", item.stock >= 0, f"stock {item.stock}"),
        Check("shop rush: the rest told sold out (a 4xx in the error shape)",
              outcomes["told sold out"] == len(people) - stock_before and shape_ok and not other_refusals,
              f"{outcomes['told sold out']} told sold out of {len(people) - stock_before} expected; "
              f"other answers {len(other_refusals)}"
              + (f", e.g. {other_refusals[0][0]} {str(other_refusals[0][1])[:200]}" if other_refusals else "")
              + (f"; sold-out body e.g. {sold_out_answers[0]}" if sold_out_answers else "")),
    ]
    figures = {"people": len(people), "stock": stock_before, "seconds": rush.seconds, "outcomes": dict(outcomes),
               "redemption states": dict(states)}
    return figures, result, accepted


# ---------------------------------------------------------------- the form comparison


def compare_forms(session, port, manifest, log=print):
    """Wagtail's form builder page (cms.models.SimpleFormPage, the 12 fields of bench/forms_http.py)
    beside Linli's one-step form page for the same 12 fields (benchville) and Linli's submission
    API (the resident request, JSON, signed in), on the same server: POSTs in interleaved slices,
    8 at a time, as bench/forms_http.py measures them. Returns {name: {req/s, p95 ms}} (medians
    of rounds) and the references the pages and the API returned (for the lost/extra check)."""
    plain = forms_http.browser_values(False)
    labelled = forms_http.browser_values(True)
    compare = manifest["compare"]
    contenders = [forms_http.Contender("linli page", compare["linli"], plain),
                  forms_http.Contender("wagtail page", compare["wagtail"],
                                       dict(zip(compare["wagtail_names"], (labelled[k] for k in forms_http.VALID))))]
    community = manifest["communities"][-1]
    accepted, references = [], []
    lock = threading.Lock()

    def api_job():
        def job():
            resident = random.choice(community["residents"])
            reply = call(port, "POST", f"/api/v1/forms/{community['slug']}/{dataset.REQUEST_FORM}/submissions/",
                         json_body=dataset.request_data(random.Random(), resident["building"], 1),
                         headers={"Authorization": f"Token {resident['token']}", "Idempotency-Key": uuid.uuid4().hex})
            ok = reply.status == 201
            if ok:
                body = reply.json()
                with lock:
                    accepted.append((None, body["id"], body["reference"], "compare", False))
            return ok, reply.elapsed, f"POST {reply.status} {reply.body[:100]!r}"
        return job

    profile = session.profile
    results = {name: {"rps": [], "p95": []} for name in ("linli page", "wagtail page", "linli api")}
    problems = []
    from wagtail.contrib.forms.models import FormSubmission

    from engine.models import Submission

    def rows():
        return {"linli page": Submission.objects.filter(form__community__slug=forms_http.COMMUNITY).count(),
                "wagtail page": FormSubmission.objects.filter(page__url_path__endswith="/wagtail-request/").count()}

    before = rows()
    thanked = collections.Counter()
    for contender in contenders:  # warm
        prepared = [contender.prepare(port) for _ in range(4)]
        latencies, _, _, _ = forms_http.run_concurrently([contender.post_job(port, p) for p in prepared], 2, 30)
        thanked[contender.name] += len(latencies)
    for round_number in range(profile.compare_rounds):
        prepared = {c.name: [c.prepare(port) for _ in range(profile.compare_requests)] for c in contenders}
        jobs = {c.name: [c.post_job(port, p) for p in prepared[c.name]] for c in contenders}
        jobs["linli api"] = [api_job() for _ in range(profile.compare_requests)]
        order = list(jobs)
        order = order[round_number % 3:] + order[:round_number % 3]
        acc = {name: {"lat": [], "wall": 0.0} for name in order}
        while any(jobs[name] for name in order):
            for name in order:
                if not jobs[name]:
                    continue
                batch, jobs[name] = jobs[name][:40], jobs[name][40:]
                latencies, failed, wall, _ = forms_http.run_concurrently(batch, 8, 60)
                thanked[name] += len(latencies)
                acc[name]["lat"] += latencies
                acc[name]["wall"] += wall
                problems += [f"{name}: {f}" for f in failed[:2]]
        for name, into in acc.items():
            results[name]["rps"].append(len(into["lat"]) / into["wall"] if into["wall"] else 0.0)
            results[name]["p95"].append(percentile(into["lat"], 0.95) * 1000)
    after = rows()
    stored = Check("form comparison: every thank-you page is one row, nothing else stored",
                   all(after[n] - before[n] == thanked[n] for n in before),
                   "; ".join(f"{n}: {thanked[n]} thank-you pages, {after[n] - before[n]} rows" for n in before))
    # every Linli page row was answered with a thank-you page (checked above): count them as told
    references = list(Submission.objects.filter(form__community__slug=forms_http.COMMUNITY)
                      .values_list("reference", flat=True))
    table = {name: {"req/s": statistics.median(v["rps"]), "p95 ms": statistics.median(v["p95"]),
                    "rounds req/s": [round(x, 1) for x in v["rps"]]} for name, v in results.items()}
    log("form comparison: " + "; ".join(f"{n} {t['req/s']:.1f}/s p95 {t['p95 ms']:.0f} ms" for n, t in table.items()))
    return table, accepted, references, problems, stored


# ---------------------------------------------------------------- the whole run


def load_run(session, log=print, phases_only=False):
    """The profile's phases, the shop rush and the form comparison on one server. Returns the
    report (figures and checks)."""
    from django.db import connections

    profile = session.profile
    manifest = session.manifest
    recorder = Recorder()
    report = {"profile": profile.name, "database": session.database, "checks": []}
    worker = session.task_worker()
    server = session.gunicorn()
    threads = profile.threads if profile.worker_class == "gthread" else 1
    budget = profile.gunicorn_workers * threads + 1 + 1
    with worker, server, stack.Sampler(session.database) as sampler:
        sampler.gunicorn = server
        report["server"] = server.description
        warm_up(server.port, manifest)
        city = City(manifest, profile, server.port, recorder)
        with OpenLoop(profile.loader_threads, recorder) as loop:
            city.stopping = loop.stopping
            phases, report["cpu"] = run_phases(session, recorder, city, loop, sampler, log)
        rush_figures, rush_checks, rush_accepted, compare, compare_accepted, compare_refs, compare_problems = \
            {}, [], [], {}, [], [], []
        compare_stored = None
        if not phases_only:
            rush_figures, rush_checks, rush_accepted = shop_rush(session, server.port, recorder, log)
            phases.append(("shop rush", profile.rush.seconds))
            compare, compare_accepted, compare_refs, compare_problems, compare_stored = compare_forms(
                session, server.port, manifest, log)
        time.sleep(2)  # let the task worker take what the last requests queued
        report["task worker alive"] = worker.alive()
    connections.close_all()
    report["phases"] = summarise(recorder.records, phases)
    report["rush"] = rush_figures
    report["compare"] = compare
    report["connections"] = {"peak ours": sampler.peak()[0], "peak server": sampler.peak()[1],
                             "budget": budget, "max_connections": stack.max_connections()}
    report["loader"] = {"threads": profile.loader_threads, "late starts (over 100 ms)": loop.late,
                        "gave up (not sent within 30 s)": loop.gave_up,
                        "idle (nothing to act on)": dict(city.idle)}
    pages = [r for r in recorder.records if r.kind == "page" and r.ok]
    report["cache"] = dict(collections.Counter(r.extra.get("cache") for r in pages))
    load_records = [r for r in recorder.records if r.phase != "shop rush"]
    report["checks"] = [
        checks.no_server_errors(recorder.records),
        checks.no_connection_errors(recorder.records),
        *[check for phase in ([n for n in profile.asserted if n in {p.name for p in profile.phases}]
                              or [p.name for p in profile.phases])
          for check in (checks.latency_below([r for r in load_records if r.phase == phase], {"submit"}, 1.0,
                                             f"submit p95 < 1 s ({phase})"),
                        checks.latency_below([r for r in load_records if r.phase == phase], {"page"}, 0.3,
                                             f"cached pages p95 < 300 ms ({phase})"))],
        checks.submissions_match(city.accepted + compare_accepted + rush_accepted, manifest["max_submission"],
                                 compare_refs),
        checks.idempotency(city.accepted, city.sent_keys),
        checks.duplicate_answers(recorder.records),
        *checks.flows_whole(),
        checks.audit_consistent(),
        checks.files_whole(session.work / "private_media"),
        checks.ledger(session),
        checks.connections(sampler, budget, report["connections"]["max_connections"]),
        *rush_checks,
        *([compare_stored] if compare_stored else []),
    ]
    for phase, table in report["phases"].items():
        for kind in ("submit", "page"):
            if kind in table:
                limit = 1000 if kind == "submit" else 300
                report.setdefault("per phase", []).append(
                    f"{phase} {kind} p95 {table[kind]['p95 ms']:.0f} ms (limit {limit} ms)")
    if compare_problems:
        report["compare problems"] = compare_problems[:5]
    report["server errors"] = session.server_errors()[:10]
    return report
