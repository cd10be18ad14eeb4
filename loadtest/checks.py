"""What must hold afterwards, read from the database the server wrote (Django's ORM in this
process, on the same database): each function returns Check rows, never raises on a finding.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""

    def as_dict(self):
        return asdict(self)


def percentile(values, q):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


# ---------------------------------------------------------------- HTTP


def no_server_errors(records, allowed=None, name="no 5xx"):
    """No 5xx. `allowed(record)` may excuse some (the outage window of a fault test)."""
    bad = [r for r in records if r.status >= 500 and not (allowed and allowed(r))]
    detail = f"{len(bad)} of {len(records)} requests answered 5xx"
    if bad:
        detail += "; e.g. " + "; ".join(f"{r.kind} {r.status} {r.error[:120]!r}" for r in bad[:3])
    return Check(name, not bad, detail)


def no_connection_errors(records, allowed=None, name="every request answered"):
    bad = [r for r in records if r.status == 0 and not (allowed and allowed(r))]
    detail = f"{len(bad)} of {len(records)} requests had no answer"
    if bad:
        detail += "; e.g. " + "; ".join(f"{r.kind} {r.error[:100]}" for r in bad[:3])
    return Check(name, not bad, detail)


def latency_below(records, kinds, limit, name):
    """p95 of the answered requests' latency (from their scheduled moment); requests the loader
    gave up on (not sent within its limit) count as infinitely slow."""
    values = [r.latency for r in records if r.kind in kinds and r.ok]
    gave_up = sum(1 for r in records if r.kind in kinds and r.status == -1)
    value = percentile(values + [float("inf")] * gave_up, 0.95)
    shown = "over 30 s (gave up)" if value == float("inf") else f"{value * 1000:.0f} ms"
    return Check(name, bool(values) and value < limit,
                 f"p95 {shown} over {len(values)} answered requests and {gave_up} not sent in time "
                 f"(limit {limit * 1000:.0f} ms)")


# ---------------------------------------------------------------- submissions


def submissions_match(accepted, since_id, extra_references=(), forms=None):
    """Every 201 is a row, and every row made since `since_id` was answered with a 201.
    `accepted`: (key, id, reference, kind, replayed); `extra_references`: references read off
    thank-you pages (the form comparison)."""
    from engine.models import Submission

    rows = Submission.objects.filter(pk__gt=since_id)
    if forms:
        rows = rows.filter(form__key__in=forms)
    rows = dict(rows.values_list("pk", "reference"))
    told = {sid for _, sid, _, _, _ in accepted}
    by_reference = {ref: pk for pk, ref in rows.items()}
    told |= {by_reference[r] for r in extra_references if r in by_reference}
    lost = told - set(rows)
    unknown = set(rows) - told
    wrong_reference = [(sid, ref) for _, sid, ref, _, _ in accepted if sid in rows and rows[sid] != ref]
    ok = not lost and not unknown and not wrong_reference
    return Check("nothing lost, nothing extra", ok,
                 f"{len(told)} submissions answered 201, {len(rows)} rows made; lost {len(lost)} "
                 f"{sorted(lost)[:5]}, rows nobody was told about {len(unknown)} {sorted(unknown)[:5]}, "
                 f"wrong reference {len(wrong_reference)}")


def idempotency(accepted, sent_keys):
    """A key sent several times made one row, and every 201 for it named that row."""
    from django.db.models import Count

    from engine.models import Submission

    repeated = {k for k, n in sent_keys.items() if n > 1}
    ids_per_key = {}
    for key, sid, _, _, _ in accepted:
        ids_per_key.setdefault(key, set()).add(sid)
    split = {k: v for k, v in ids_per_key.items() if len(v) > 1}
    rows = dict(Submission.objects.filter(idempotency_key__in=list(repeated)).values("idempotency_key")
                .annotate(n=Count("id")).values_list("idempotency_key", "n"))
    doubled = {k: n for k, n in rows.items() if n > 1}
    answered = sum(1 for k in repeated if k in ids_per_key)
    return Check("a key sent twice makes one row", not split and not doubled,
                 f"{len(repeated)} keys sent more than once ({answered} answered 201); keys with two ids "
                 f"{len(split)}, keys with two rows {len(doubled)}")


def duplicate_answers(records):
    """What the second request of a duplicate got: 201 (the replay) is right; a 4xx is wrong."""
    second = [r for r in records if r.kind in ("submit", "submit-again") and 400 <= r.status < 500]
    detail = f"{len(second)} submissions refused with a 4xx"
    if second:
        detail += "; e.g. " + "; ".join(f"{r.kind} {r.status} {r.error[:160]!r}" for r in second[:3])
    return Check("no submission refused (valid data, retries answered with the first)", not second, detail)


# ---------------------------------------------------------------- flows, timers, files


def flows_whole():
    """Every submission of a form with a flow has its flow instance; every instance in a state
    with a deadline has its pending timer; every timer has its queued task."""
    from django.db.models import Exists, OuterRef

    from django_tasks_db.models import DBTaskResult
    from engine.models import DefinitionVersion, FlowInstance, Submission, Timer
    from engine.workflow import adapter, core

    checks = []
    with_flow = Submission.objects.filter(form__flow__isnull=False)
    missing = with_flow.exclude(Exists(FlowInstance.objects.filter(submission=OuterRef("pk"))))
    checks.append(Check("every submission has its flow instance", not missing.exists(),
                        f"{with_flow.count()} submissions of forms with a flow; {missing.count()} without an instance "
                        f"{list(missing.values_list('pk', flat=True)[:5])}"))
    lacking, looked = [], 0
    open_versions = DefinitionVersion.objects.filter(
        pk__in=FlowInstance.objects.filter(finished_at__isnull=True).values("flow_version"))
    for version in open_versions:
        flow = adapter.compiled(version)
        for state_name, state in flow.states.items():
            if not any(kind == "timer" for kind, _ in core.clocks(state)):
                continue
            instances = FlowInstance.objects.filter(flow_version=version, state=state_name, finished_at__isnull=True)
            looked += instances.count()
            timers = Timer.objects.filter(instance=OuterRef("pk"), state=state_name)
            bad = instances.exclude(Exists(timers.filter(fired_at__isnull=True, cancelled=False))).exclude(
                Exists(timers.filter(fired_at__isnull=False)))
            lacking += list(bad.values_list("submission_id", flat=True)[:5])
    checks.append(Check("every item in a state with a deadline has its timer", not lacking,
                        f"{looked} open items in states with a deadline; without a timer: {lacking[:5]}"))
    timers = Timer.objects.count()
    tasks = DBTaskResult.objects.filter(task_path="engine.workflow.tasks.fire_timers").count()
    checks.append(Check("every timer has its queued task", timers == tasks, f"{timers} timers, {tasks} timer tasks"))
    return checks


def audit_consistent():
    """State and audit agree: version = 1 + the steps recorded (transitions and reassignments;
    comments, field changes and tallies do not move the version), and the last step recorded
    ended in the current state."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("""
            WITH steps AS (
                SELECT e.instance_id, count(*) AS n,
                       (array_agg(e.to_state ORDER BY e.id DESC) FILTER (WHERE e.to_state <> ''))[1] AS last_state
                FROM engine_auditevent e
                WHERE e.transition <> 'comment' AND e.transition NOT LIKE 'set:%%'
                  AND e.transition NOT LIKE 'tally:%%'
                GROUP BY e.instance_id)
            SELECT fi.submission_id, fi.state, fi.version, coalesce(s.n, 0), s.last_state
            FROM engine_flowinstance fi LEFT JOIN steps s ON s.instance_id = fi.id
            WHERE fi.version <> 1 + coalesce(s.n, 0) OR (s.last_state IS NOT NULL AND s.last_state <> fi.state)
        """)
        bad = cursor.fetchall()
        cursor.execute("SELECT count(*) FROM engine_flowinstance")
        total = cursor.fetchone()[0]
    return Check("state and audit agree (no audit row without its state change, and vice versa)", not bad,
                 f"{total} flow instances; {len(bad)} disagree"
                 + (f", e.g. (submission, state, version, steps, last audited state) {bad[:3]}" if bad else ""))


def files_whole(private_root: Path):
    """No SubmissionFile row whose file is missing or shorter than recorded."""
    from engine.models import SubmissionFile

    orphans, total = [], 0
    for pk, name, size in SubmissionFile.objects.values_list("pk", "file", "size").iterator():
        total += 1
        path = private_root / name
        if not path.exists() or path.stat().st_size != size:
            orphans.append(pk)
    unattached = SubmissionFile.objects.filter(submission__isnull=True).count()
    return Check("no file row without its file", not orphans,
                 f"{total} uploaded-file rows ({unattached} never attached to a submission); "
                 f"{len(orphans)} whose file is missing or cut short {orphans[:5]}")


def ledger(session):
    import re

    code, output = session.manage("verify_ledger")
    lines = [line for line in output.splitlines() if re.match(r"^[\w-]+: (ok|broken|no such)", line)]
    return Check("python manage.py verify_ledger passes", code == 0 and bool(lines), "; ".join(lines[-25:]))


def connections(sampler, budget, server_max, name="database connections within the pool limit"):
    ours, server = sampler.peak()
    ok = ours <= budget and server < server_max
    return Check(name, ok, f"peak {ours} connections to the run's database (budget {budget}: web workers × threads "
                           f"+ task worker + this process), {server} on the server (max_connections {server_max}); "
                           f"{len(sampler.samples)} samples")
