"""python -m loadtest — the load run, or one fault test, on a throwaway PostgreSQL database.

    python -m loadtest --ci                      the CI-sized load run (about 4 minutes with set-up)
    python -m loadtest --full                    the full run: the city, ten minutes at 3× the burst
    python -m loadtest --ci fault kill-web-worker | restart-postgres | kill-task-worker | disk-full
    python -m loadtest --ci build-template NAME  build the city into database NAME and keep it
    python -m loadtest --ci --template NAME ...  copy the city from template database NAME (fast)

Options: --worker-class sync|gthread, --workers N, --threads N, --report FILE (JSON), --keep
(keep the database and the work folder). Needs PostgreSQL (LOADTEST_PG_URL, default
postgres://postgres@127.0.0.1:5432/postgres, a role that may create databases) and Redis
(LOADTEST_REDIS_URL, default redis://127.0.0.1:6379/7, a spare database: flushed). The fault
tests restart PostgreSQL and mount a tmpfs, so they need root. Exit status 0 when every check
passed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import signal
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.forms_http import machine  # noqa: E402

from loadtest import profile as profiles  # noqa: E402

FAULTS = ("kill-web-worker", "restart-postgres", "kill-task-worker", "disk-full")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m loadtest", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--ci", action="store_const", dest="profile", const="ci", help="CI-sized (default)")
    size.add_argument("--full", action="store_const", dest="profile", const="full", help="the full run")
    parser.add_argument("command", nargs="*", help="fault NAME | build-template NAME (default: the load run)")
    parser.add_argument("--template", help="copy the city from this template database instead of building it")
    parser.add_argument("--worker-class", choices=("sync", "gthread"))
    parser.add_argument("--workers", type=int)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--phase", action="append", metavar="NAME:SECONDS:MULTIPLIER",
                        help="replace the profile's phases (repeat for several), e.g. --phase 1x:60:1")
    parser.add_argument("--phases-only", action="store_true", help="skip the shop rush and the form comparison")
    parser.add_argument("--report", type=Path, help="write the report here as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the database and the work folder")
    args = parser.parse_args(argv)
    profile = profiles.with_server(profiles.PROFILES[args.profile or "ci"], workers=args.workers,
                                   worker_class=args.worker_class, threads=args.threads)
    if args.phase:
        phases = []
        for spec in args.phase:
            name, seconds, multiplier = spec.rsplit(":", 2)
            phases.append(profiles.Phase(name, float(seconds), float(multiplier)))
        profile = dataclasses.replace(profile, phases=tuple(phases))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a plain kill still cleans up (finally blocks)

    from loadtest import stack

    if not stack.pg_available():
        print(f"PostgreSQL is not reachable at {stack.PG_ADMIN_URL}", file=sys.stderr)
        return 2
    if not stack.redis_available():
        print(f"Redis is not reachable at {stack.REDIS_URL}", file=sys.stderr)
        return 2

    began = time.monotonic()
    command = args.command or ["load"]
    if command[0] == "build-template":
        from loadtest.session import build_template

        timings = build_template(profile, command[1])
        print(json.dumps(timings, indent=2))
        return 0

    from loadtest.session import Session

    if command[0] == "fault":
        if len(command) < 2 or command[1] not in FAULTS:
            parser.error(f"fault needs one of {', '.join(FAULTS)}")
        from loadtest import faults

        runner = faults.RUNNERS[command[1]]
        report = runner(profile, template=args.template, keep=args.keep)
    elif command[0] == "load":
        from loadtest.scenarios import load_run

        with Session(profile, template=args.template, keep=args.keep) as session:
            report = load_run(session, phases_only=args.phases_only)
            report["set-up seconds"] = session.timings
    else:
        parser.error(f"unknown command {command[0]!r}")
    report["machine"] = machine()
    report["load average"] = os.getloadavg()
    report["seconds"] = time.monotonic() - began
    print_report(report)
    if args.report:
        out = {**report, "checks": [c.as_dict() for c in report["checks"]]}
        args.report.write_text(json.dumps(out, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    return 0 if all(c.ok for c in report["checks"]) else 1


def _fmt(value):
    if isinstance(value, float):
        return "—" if math.isnan(value) else f"{value:.1f}" if value < 100 else f"{value:.0f}"
    return str(value)


def print_report(report):
    print()
    print(f"machine: {report.get('machine')}; load average at the end {report.get('load average')}")
    if report.get("server"):
        print(f"server: {report['server']}, PostgreSQL, Redis cache, DEBUG off, db_worker")
    for phase, table in report.get("phases", {}).items():
        print(f"\n{phase}")
        print("| request | n | per s | p50 ms | p95 ms | p99 ms | service p95 ms | 2xx | 4xx | 5xx | no answer "
              "| gave up |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for kind, row in table.items():
            print(f"| {kind} | " + " | ".join(_fmt(row[k]) for k in (
                "n", "per second", "p50 ms", "p95 ms", "p99 ms", "service p95 ms", "2xx", "4xx", "5xx", "no answer",
                "gave up"))
                + " |")
    if report.get("compare"):
        print("\nform POSTs on the same server (medians of rounds, 8 at a time)")
        print("| form | req/s | p95 ms | rounds req/s |")
        print("|---|---|---|---|")
        for name, row in report["compare"].items():
            print(f"| {name} | {row['req/s']:.1f} | {row['p95 ms']:.0f} | {row['rounds req/s']} |")
    for key in ("cpu", "rush", "connections", "cache", "loader", "task worker alive", "fault", "per phase",
                "server errors", "compare problems", "set-up seconds"):
        if key in report:
            print(f"\n{key}: {json.dumps(report[key], ensure_ascii=False, default=str)}")
    print("\nchecks:")
    for check in report["checks"]:
        print(f"  [{'ok' if check.ok else 'FAILED'}] {check.name}: {check.detail}")
    print(f"\nwhole run {report.get('seconds', 0):.0f} s")


if __name__ == "__main__":
    sys.exit(main())
