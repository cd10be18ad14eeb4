"""Four faults, each on its own copy of the city, each ending with the checks of what the
database holds:

  kill-web-worker   SIGKILL a gunicorn worker in the middle of reviewers' transitions (twice);
                    every item is before or after its step, audit and state agree, the ledger
                    verifies;
  restart-postgres  `pg_ctlcluster ... restart` under load: errors only while it is down, then
                    everything succeeds, and nothing is half-written (PostgreSQL is started again
                    whatever happens);
  kill-task-worker  SIGKILL `db_worker` while it fires due escalations, start it again: every
                    escalation fired once, with one audit row and one notification;
  disk-full         residents' uploads on a 2 MB tmpfs until it is full: a clear refusal in the
                    API's error shape (not a 500 page) and no file row without its file.
"""

from __future__ import annotations

import collections
import datetime
import random
import re
import threading
import time
import uuid

from . import checks, dataset, stack
from .checks import Check
from .loader import OpenLoop, Recorder, call, jpeg
from .scenarios import summarise, warm_up
from .session import Session
from .traffic import City


def _closed_loop(jobs, threads):
    """Run callables on `threads` threads, all of them, as fast as they go."""
    pending = collections.deque(jobs)
    lock = threading.Lock()

    def worker():
        while True:
            with lock:
                if not pending:
                    return
                job = pending.popleft()
            job()

    running = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join()


def _report(profile, session, name, records, extra_checks, **figures):
    phases = sorted({r.phase for r in records})
    seconds = {p: max(1e-9, max(r.ended for r in records if r.phase == p) -
                      min(r.scheduled for r in records if r.phase == p)) for p in phases}
    return {"profile": profile.name, "fault": {"name": name, **figures}, "database": session.database,
            "phases": summarise(records, [(p, seconds[p]) for p in phases]), "checks": extra_checks,
            "server errors": session.server_errors()[:10]}


# ---------------------------------------------------------------- 1. a web worker killed


def kill_web_worker(profile, template=None, keep=False, log=print):
    with Session(profile, template=template, keep=keep, log=log) as session:
        manifest = session.manifest
        recorder = Recorder()
        with session.task_worker(), session.gunicorn() as server:
            port = server.port
            warm_up(port, manifest)
            # first, some items in progress for their handlers to resolve (points: the ledger)
            prepared = []
            for index, community in enumerate(manifest["communities"]):
                for sid, _grid in community["analysed"][:40]:
                    member = random.Random(sid).choice(community["members"])
                    reply = call(port, "POST", f"/api/v1/submissions/{sid}/transitions/",
                                 json_body={"transition": "dispatch", "data": {"assignee": member}},
                                 headers={"Authorization": f"Token {community['workers'][0]}"})
                    if reply.status == 200:
                        prepared.append((index, sid, member))
            jobs, outcome = [], {}
            lock = threading.Lock()

            def step(name, sid, token, data, comment=""):
                def job():
                    reply = recorder.timed(name, "transitions", time.monotonic(), port, "POST",
                                           f"/api/v1/submissions/{sid}/transitions/",
                                           json_body={"transition": name, "comment": comment, "data": data},
                                           headers={"Authorization": f"Token {token}"})
                    with lock:
                        outcome[sid] = (name, reply.status if reply else 0)
                return job

            for community in manifest["communities"]:
                for sid, grid in community["collected"]:
                    jobs.append(step("analyse", sid, community["leaders"][grid],
                                     {"analysis": "已核实", "handling_level": "网格办理"}))
            for index, sid, member in prepared:
                community = manifest["communities"][index]
                jobs.append(step("resolve", sid, community["member_tokens"][member], {}, comment="已处理完毕"))
            random.Random(3).shuffle(jobs)
            total = len(jobs)
            killed = []

            def killer():
                for share in (0.3, 0.65):
                    while len(outcome) < share * total:
                        time.sleep(0.02)
                    killed.append((server.kill_worker(), len(outcome)))
                    log(f"killed gunicorn worker {killed[-1][0]} after {killed[-1][1]} of {total} transitions")

            thread = threading.Thread(target=killer)
            thread.start()
            _closed_loop(jobs, 8)
            thread.join()
            time.sleep(1)
            respawned = len(server.worker_pids())

        from engine.models import AuditEvent, FlowInstance

        states = dict(FlowInstance.objects.filter(submission_id__in=list(outcome))
                      .values_list("submission_id", "state"))
        events = collections.Counter(AuditEvent.objects.filter(
            instance__submission_id__in=list(outcome), transition__in=("analyse", "resolve"))
            .values_list("instance__submission_id", flat=True))
        target = {"analyse": ("collected", "analysed"), "resolve": ("in_progress", "feedback")}
        wrong, unknown = [], 0
        for sid, (name, status) in outcome.items():
            before, after = target[name]
            state = states.get(sid)
            own = events[sid] - (1 if name == "resolve" else 0)  # a resolved item has no earlier resolve
            if status == 200 and not (state == after and own == 1):
                wrong.append((sid, name, status, state, own))
            elif status != 200:
                unknown += 1
                if not ((state == before and own == 0) or (state == after and own == 1)):
                    wrong.append((sid, name, status, state, own))
        result = [
            Check("every item is before or after its step", not wrong,
                  f"{len(outcome)} transitions, {unknown} without a 200 (cut off with their worker); "
                  f"{len(wrong)} items neither before nor after {wrong[:3]}"),
            checks.audit_consistent(),
            checks.ledger(session),
            checks.no_server_errors(recorder.records),
            Check("gunicorn replaced the killed workers", respawned == profile.gunicorn_workers,
                  f"{respawned} workers after the kills (of {profile.gunicorn_workers})"),
        ]
        return _report(profile, session, "kill-web-worker", recorder.records, result, killed=killed,
                       transitions=total, resolves=len(prepared))


# ---------------------------------------------------------------- 2. PostgreSQL restarted


def restart_postgres(profile, template=None, keep=False, log=print, seconds=45.0, at=12.0, grace=5.0):
    if not stack.can_restart_postgres():
        raise stack.StackError("restarting PostgreSQL needs root and pg_ctlcluster")
    try:
        with Session(profile, template=template, keep=keep, log=log) as session:
            manifest = session.manifest
            recorder = Recorder()
            window = {}
            worker = session.task_worker()
            with worker, session.gunicorn() as server:
                warm_up(server.port, manifest)
                city = City(manifest, profile, server.port, recorder)
                loop = OpenLoop(profile.loader_threads, recorder)
                city.stopping = loop.stopping
                start = time.monotonic() + 0.5

                def restart():
                    time.sleep(max(0.0, start + at - time.monotonic()))
                    window["start"] = time.monotonic()
                    took, output = stack.restart_postgres()
                    window["end"] = time.monotonic()
                    log(f"PostgreSQL restarted in {took:.1f} s")

                restarter = threading.Thread(target=restart)
                restarter.start()
                with loop:
                    loop.run(city.schedule("restart", start, seconds, 1.0), start + seconds)
                restarter.join()
                stack.ensure_postgres_up()
                time.sleep(2)
                worker_alive = worker.alive()
                if not worker_alive:  # what the process manager does (docs/operations.md)
                    worker.start()
                    time.sleep(3)
                restarted_worker_alive = worker.alive()
                # A second restart while the site is quiet: each web thread still holds the
                # connection it had (CONN_MAX_AGE); its next request must not fail on it.
                quiet_took, _ = stack.restart_postgres()
                stack.ensure_postgres_up()
                time.sleep(2)
                quiet = Recorder()
                community = manifest["communities"][0]
                quiet_jobs = []
                for n in range(3 * 8):
                    resident = community["residents"][n]
                    quiet_jobs.append(lambda r=resident: quiet.timed(
                        "leaderboard", "after a quiet restart", time.monotonic(), server.port, "GET",
                        f"/api/v1/communities/{community['slug']}/points/leaderboard/?period=quarter",
                        headers={"Authorization": f"Token {r['token']}"}))
                _closed_loop(quiet_jobs, 8)
            outage_start, outage_end = window["start"], window["end"] + grace

            def in_outage(record):
                return record.started <= outage_end and record.ended >= outage_start

            after = [r for r in recorder.records if r.started > outage_end]
            result = [
                checks.no_server_errors(recorder.records, allowed=in_outage, name="5xx only while PostgreSQL is down"),
                checks.no_connection_errors(recorder.records, allowed=in_outage,
                                            name="no answer only while PostgreSQL is down"),
                Check("everything succeeds after the restart", all(r.ok for r in after),
                      f"{sum(r.ok for r in after)} of {len(after)} requests after the outage (+{grace:g} s) succeeded"
                      + "".join(f"; {r.kind} {r.status} {r.error[:120]!r}" for r in after if not r.ok)[:600]),
                checks.submissions_match(city.accepted, manifest["max_submission"]),
                checks.idempotency(city.accepted, city.sent_keys),
                *checks.flows_whole(),
                checks.audit_consistent(),
                checks.files_whole(session.work / "private_media"),
                Check("the task worker runs again after the restart (restarted by its process manager if it exited)",
                      restarted_worker_alive,
                      ("db_worker kept running" if worker_alive else "db_worker exited during the restart ("
                       + session.log_tail("db_worker.log", 3).replace("\n", " | ")[-300:]
                       + "); started again, it keeps running") if restarted_worker_alive else "db_worker is down"),
                Check("after a restart while quiet, the next requests succeed (no stale connection)",
                      all(r.ok for r in quiet.records),
                      f"{sum(r.ok for r in quiet.records)} of {len(quiet.records)} requests succeeded "
                      f"(PostgreSQL restarted in {quiet_took:.1f} s, then 2 s)"
                      + "".join(f"; {r.status} {r.error[:80]!r}" for r in quiet.records if not r.ok)[:300]),
            ]
            during = [r for r in recorder.records if in_outage(r)]
            return _report(profile, session, "restart-postgres", recorder.records + quiet.records, result,
                           outage_seconds=round(window["end"] - window["start"], 1), grace=grace,
                           failed_in_outage=sum(not r.ok for r in during), requests_in_outage=len(during),
                           task_worker_exited=not worker_alive)
    finally:
        stack.ensure_postgres_up()


# ---------------------------------------------------------------- 3. the task worker killed


def kill_task_worker(profile, template=None, keep=False, log=print, items=150, kill_after=0.3):
    with Session(profile, template=template, keep=keep, log=log) as session:
        from django.contrib.auth import get_user_model
        from django.db import connection
        from django.db.models import Count
        from django.utils import timezone

        from django_tasks_db.models import DBTaskResult
        from engine.models import AuditEvent, FlowInstance, Notification, Timer
        from engine.workflow import adapter

        manifest = session.manifest
        User = get_user_model()
        made = []
        # items in progress (dispatched through the adapter, the API's own path), then their
        # deadlines moved into the past, as if five working days had gone by
        per = max(1, items // len(manifest["communities"]))
        for community in manifest["communities"]:
            worker = User.objects.get(pk=community["worker_users"][0])
            for sid, _grid in community["analysed"][:per]:
                instance = FlowInstance.objects.get(submission_id=sid)
                member = random.Random(sid).choice(community["members"])
                adapter.take(instance_id=instance.pk, name="dispatch", user=worker, inputs={"assignee": member})
                made.append(instance.pk)
        now = timezone.now()
        Timer.objects.filter(instance_id__in=made, transition="escalate").update(
            due_at=now - datetime.timedelta(minutes=1))
        Timer.objects.filter(instance_id__in=made, reminder__isnull=False).update(
            due_at=now - datetime.timedelta(minutes=2))
        DBTaskResult.objects.filter(task_path="engine.workflow.tasks.fire_timers", status="READY").update(
            run_after=now)
        connection.close()
        log(f"{len(made)} items in progress with their escalation due")

        def fired():
            return AuditEvent.objects.filter(instance_id__in=made, transition="escalate").count()

        worker = session.task_worker()
        worker.start()
        deadline = time.monotonic() + 120
        while fired() < kill_after * len(made) and time.monotonic() < deadline and worker.alive():
            time.sleep(0.05)
        at_kill = fired()
        worker.kill()
        stuck = DBTaskResult.objects.filter(task_path="engine.workflow.tasks.fire_timers", status="RUNNING").count()
        log(f"killed db_worker after {at_kill} of {len(made)} escalations; {stuck} task(s) left RUNNING")
        time.sleep(1)
        worker = session.task_worker()
        worker.start()
        deadline = time.monotonic() + 180
        while fired() < len(made) and time.monotonic() < deadline:
            time.sleep(0.2)
        after_restart = fired()
        time.sleep(2)
        worker.stop()
        code, cron = session.manage("fire_timers")  # what cron runs every minute: nothing left to fire
        left_by_cron = re.findall(r"fired (\d+) timer", cron)

        escalate_timers = Timer.objects.filter(instance_id__in=made, transition="escalate")
        unfired = escalate_timers.filter(fired_at__isnull=True).count()
        events = collections.Counter(AuditEvent.objects.filter(instance_id__in=made, transition="escalate")
                                     .values_list("instance_id", flat=True))
        twice = [pk for pk, n in events.items() if n > 1]
        states = collections.Counter(FlowInstance.objects.filter(pk__in=made).values_list("state", flat=True))
        told = Notification.objects.filter(instance_id__in=made, message__contains="超过5个工作日未办结") \
            .values("instance_id", "user_id").annotate(n=Count("id"))
        told_twice = [row for row in told if row["n"] > 1]
        reminded = Notification.objects.filter(instance_id__in=made, message__contains="明天到期") \
            .values("instance_id", "user_id").annotate(n=Count("id"))
        reminded_twice = [row for row in reminded if row["n"] > 1]
        left_running = DBTaskResult.objects.filter(task_path="engine.workflow.tasks.fire_timers",
                                                   status="RUNNING").count()
        result = [
            Check("every escalation fired", unfired == 0 and after_restart == len(made),
                  f"{len(made)} due; {at_kill} fired before the kill, {after_restart} after the restart; "
                  f"{unfired} timers unfired; states {dict(states)}"),
            Check("every escalation fired once", not twice and len(events) == len(made),
                  f"{len(events)} items escalated, {len(twice)} twice"),
            Check("one notification per escalation and recipient", not told_twice and not reminded_twice,
                  f"{sum(r['n'] for r in told)} escalation notices ({len(told_twice)} repeated), "
                  f"{sum(r['n'] for r in reminded)} reminders ({len(reminded_twice)} repeated)"),
            Check("fire_timers afterwards finds nothing left", code == 0 and left_by_cron == ["0"],
                  f"python manage.py fire_timers: fired {left_by_cron[0] if left_by_cron else '?'} timer(s)"),
            checks.audit_consistent(),
            *checks.flows_whole(),
            checks.ledger(session),
        ]
        return {"profile": profile.name, "database": session.database, "checks": result, "phases": {},
                "fault": {"name": "kill-task-worker", "items": len(made), "fired before the kill": at_kill,
                          "tasks left RUNNING by the killed worker": left_running}}


# ---------------------------------------------------------------- 4. the disk full


def disk_full(profile, template=None, keep=False, log=print, size="2m", attempts=60):
    if not stack.can_mount():
        raise stack.StackError("mounting a tmpfs needs root")
    session = Session(profile, template=template, keep=keep, log=log)
    media = session.work / "full_private_media"
    session.private_media = media
    with session, stack.tmpfs(media, size):
        manifest = session.manifest
        recorder = Recorder()
        with session.task_worker(), session.gunicorn() as server:
            port = server.port
            community = manifest["communities"][0]
            rng = random.Random(11)
            photos = [jpeg(random.Random(n), size=(640, 480), noise=True) for n in range(6)]
            base = f"/api/v1/forms/{community['slug']}/{dataset.REQUEST_FORM}"
            tokens, refusals, statuses = [], [], collections.Counter()
            failures_in_a_row = 0
            for n in range(attempts):
                resident = community["residents"][n % len(community["residents"])]
                reply = recorder.timed("upload", "disk full", time.monotonic(), port, "POST", f"{base}/files/",
                                       files={"file": ("IMG.jpg", photos[n % len(photos)], "image/jpeg")},
                                       fields={"field": "/photos"},
                                       headers={"Authorization": f"Token {resident['token']}"})
                statuses[reply.status if reply else 0] += 1
                if reply is not None and reply.status == 201:
                    tokens.append((resident, reply.json()["token"]))
                    failures_in_a_row = 0
                else:
                    refusals.append((reply.status if reply else 0, reply.body[:300].decode("utf-8", "replace")
                                     if reply else "", reply.headers.get("content-type", "") if reply else ""))
                    failures_in_a_row += 1
                    if failures_in_a_row >= 5:
                        break
            # the site goes on: a page, a submission with the photos that were stored, one without
            page = call(port, "GET", community["pages"]["home"])
            submitted = []
            for resident, token in tokens[:3]:
                reply = recorder.timed("submit", "disk full", time.monotonic(), port, "POST", f"{base}/submissions/",
                                       json_body=dataset.request_data(rng, resident["building"], 1, photos=[token]),
                                       headers={"Authorization": f"Token {resident['token']}",
                                                "Idempotency-Key": uuid.uuid4().hex})
                submitted.append(reply.status if reply else 0)
        clear = [r for r in refusals if (400 <= r[0] < 500 or r[0] == 507) and "application/json" in r[2]
                 and '"errors"' in r[1]]
        result = [
            Check("the disk filled up", bool(refusals) and bool(tokens),
                  f"{len(tokens)} uploads stored, then {len(refusals)} refused; statuses {dict(statuses)}"),
            Check("a full disk is a clear refusal (4xx/507 in the error shape), not a 500",
                  bool(refusals) and len(clear) == len(refusals),
                  f"{len(clear)} of {len(refusals)} refusals clear" +
                  (f"; e.g. {refusals[0][0]} {refusals[0][2]} {refusals[0][1][:160]!r}" if refusals else "")),
            checks.files_whole(media),
            Check("the site goes on while the disk is full", page.status == 200 and all(s == 201 for s in submitted),
                  f"home page {page.status}; submissions with stored photos {submitted}"),
        ]
        leftovers = _files_without_rows(media)
        result.append(Check("no partly written file left behind", not leftovers,
                            f"{len(leftovers)} files on the disk without a row {leftovers[:3]}"))
        report = _report(profile, session, "disk-full", recorder.records, result, stored=len(tokens),
                         refused=len(refusals), files_on_disk_without_a_row=leftovers)
    return report


def _files_without_rows(root):
    from engine.models import SubmissionFile

    names = set(SubmissionFile.objects.values_list("file", flat=True))
    return [str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and str(p.relative_to(root)) not in names]


RUNNERS = {"kill-web-worker": kill_web_worker, "restart-postgres": restart_postgres,
           "kill-task-worker": kill_task_worker, "disk-full": disk_full}
