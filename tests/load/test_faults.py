"""Faults under load, CI-sized, each on its own copy of the city (loadtest/faults.py)."""

import os

import pytest

from loadtest import stack

from .conftest import failed, scenario

pytestmark = pytest.mark.slow

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="restarting PostgreSQL and mounting a tmpfs need root")


def test_a_killed_web_worker_leaves_every_item_before_or_after_its_step(city_template, tmp_path):
    report, output = scenario(city_template, "fault", "kill-web-worker", tmp_path=tmp_path)
    assert not failed(report), output


@needs_root
@pytest.mark.skipif(not stack.can_restart_postgres(), reason="needs pg_ctlcluster")
def test_a_postgresql_restart_fails_cleanly_and_recovers(city_template, tmp_path):
    try:
        report, output = scenario(city_template, "fault", "restart-postgres", tmp_path=tmp_path)
    finally:
        assert stack.ensure_postgres_up(), "PostgreSQL did not come back"
    assert not failed(report), output


def test_a_killed_task_worker_fires_every_escalation_once(city_template, tmp_path):
    report, output = scenario(city_template, "fault", "kill-task-worker", tmp_path=tmp_path)
    assert not failed(report), output


@needs_root
def test_a_full_disk_is_a_clear_refusal_and_leaves_no_orphaned_file_rows(city_template, tmp_path):
    report, output = scenario(city_template, "fault", "disk-full", tmp_path=tmp_path)
    assert not failed(report), output
