"""The load and fault tests run `python -m loadtest` (the CI-sized profile) in a subprocess: it
starts its own gunicorn, task worker and throwaway PostgreSQL database, which this process (set
up by pytest-django for the rest of the suite) cannot share. The city is built once per session
into a template database; each scenario copies it (seconds) and drops its copy."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from loadtest import stack

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def city_template():
    if not stack.pg_available():
        pytest.skip(f"PostgreSQL is not reachable at {stack.PG_ADMIN_URL} (set LOADTEST_PG_URL)")
    if not stack.redis_available():
        pytest.skip(f"Redis is not reachable at {stack.REDIS_URL} (set LOADTEST_REDIS_URL)")
    name = f"linli_load_tpl_{os.getpid()}"
    done = run_loadtest("build-template", name, timeout=900)
    if done.returncode != 0:
        pytest.fail(f"building the city failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    try:
        yield name
    finally:
        stack.drop_database(name)


def run_loadtest(*args, timeout):
    return subprocess.run([sys.executable, "-m", "loadtest", "--ci", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def scenario(template, *args, tmp_path, timeout=1200):
    """Run one scenario on a copy of the city: (report, output)."""
    report = tmp_path / "report.json"
    done = run_loadtest("--template", template, "--report", str(report), *args, timeout=timeout)
    output = done.stdout[-6000:] + done.stderr[-4000:]
    if not report.exists():
        pytest.fail(f"python -m loadtest {' '.join(args)} wrote no report (exit {done.returncode}):\n{output}")
    return json.loads(report.read_text(encoding="utf-8")), output


def failed(report, *names):
    """The checks (all, or those whose name starts with one of `names`) that failed, as text."""
    chosen = [c for c in report["checks"] if not names or c["name"].startswith(names)]
    assert chosen, f"no check named {names} in the report"
    return "\n".join(f"{c['name']}: {c['detail']}" for c in chosen if not c["ok"])


@pytest.fixture(autouse=True)
def _fresh_connections_after():
    """A fault test restarts PostgreSQL: this process's own connection (pytest-django's, kept
    for the rest of the suite) died with it, so the next test must open a new one."""
    yield
    from django.db import connections

    connections.close_all()
