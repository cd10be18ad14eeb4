"""The five-step resident request (民情直通车) end to end with the right people at each step:
collection, analysis, dispatch, handling with a deadline in working days, feedback and rating —
a bad rating reopens, the timer escalates across the National Day holiday, points are paid once."""

import datetime
import io

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import call_command
from rest_framework.test import APIClient

from engine.models import (AuditEvent, Community, Definition, FlowInstance, LedgerEntry, Notification, OrgUnit,
                           Person, RoleAssignment, Timer)
from engine.services.submissions import submit
from engine.workflow import adapter
from tests.concurrency import race

TZ = datetime.timezone(datetime.timedelta(hours=8))


def build():
    call_command("load_definitions", "workflows_yaml/kaiyuan", "workflows_yaml/minyue", "forms_schemas/minyue",
                 stdout=io.StringIO())
    community = Community.objects.get(slug="minyue")
    User = get_user_model()
    grid = OrgUnit.objects.filter(community=community, level="grid").order_by("path").first()
    other_grid = OrgUnit.objects.filter(community=community, level="grid").order_by("path")[1]
    root = OrgUnit.objects.get(community=community, depth=1)
    people = {}

    def make(key, role=None, unit=None):
        user = User.objects.create_user(key, password="x" * 12, first_name=key)
        person = Person.objects.create(community=community, user=user, name=key, unit=unit or grid)
        if role:
            RoleAssignment.objects.create(community=community, person=person, role=role, unit=unit)
        people[key] = user
        return person

    make("resident", "resident", grid)
    make("leader", "grid_leader", grid)
    make("other_leader", "grid_leader", other_grid)
    make("secretary", "community_secretary", root)
    handler = make("handler", "member", grid.get_parent())
    form = Definition.objects.get(community=community, kind="form", key="resident-request")
    data = {"category": "facilities", "subject": "楼道灯坏了", "details": "3号楼2单元楼道灯坏了一个星期",
            "urgency": "normal", "address": {"unit": grid.key}, "contact_name": "张明", "contact_preference": "visit"}
    submission = submit(form=form, data=data, user=people["resident"]).submission
    return community, people, handler, submission


@pytest.fixture
def world(db):
    return build()


def act(user, submission, transition, data=None, comment="", version=None):
    client = APIClient()
    client.force_authenticate(user)
    body = {"transition": transition, "comment": comment, "data": data or {}}
    if version is not None:
        body["version"] = version
    return client.post(f"/api/v1/submissions/{submission.pk}/transitions/", body, format="json")


def test_a_submission_starts_its_flow(world):
    community, people, handler, submission = world
    instance = FlowInstance.objects.get(submission=submission)
    assert instance.state == "collected" and instance.flow.key == "resident-request"
    assert instance.flow_version == instance.flow.live_version
    client = APIClient()
    client.force_authenticate(people["resident"])
    history = client.get(f"/api/v1/submissions/{submission.pk}/").json()["history"]
    assert [(h["transition"], h["to"], h["by"]) for h in history] == [("submit", "collected", "me")]


def test_the_whole_journey_with_a_reopening_and_points_paid_once(world):
    community, people, handler, submission = world
    # the resident cannot analyse; the grid leader of another grid cannot either
    assert act(people["resident"], submission, "analyse").status_code == 403
    assert act(people["other_leader"], submission, "analyse").status_code == 404  # not even visible to them
    missing = act(people["leader"], submission, "analyse", {})
    assert missing.status_code == 400 and set(missing.json()["errors"]) == {"/data/analysis", "/data/handling_level"}
    choices = Definition.objects.get(community=community, key="resident-request", kind="flow").live_version.data
    level = next(t for t in choices["transitions"] if t["name"] == "analyse")["input"]["handling_level"]["choices"][0]
    ok = act(people["leader"], submission, "analyse", {"analysis": "情况属实", "handling_level": level})
    assert ok.status_code == 200 and ok.json()["state"] == "analysed"
    # dispatch to a member, who is told
    dispatched = act(people["secretary"], submission, "dispatch", {"assignee": handler.pk})
    assert dispatched.json()["state"] == "in_progress"
    instance = FlowInstance.objects.get(submission=submission)
    assert instance.assignee == people["handler"] and instance.due_at is not None
    assert Notification.objects.filter(user=people["handler"]).exists()
    # resolving needs a comment; then the handler earns the rule's points
    assert act(people["handler"], submission, "resolve").status_code == 400
    assert act(people["handler"], submission, "resolve", comment="已更换灯泡").json()["state"] == "feedback"
    assert LedgerEntry.objects.filter(person=handler, rule="resolve_request").count() == 1
    # a bad rating cannot close it, and reopens it
    bad = {"resolved": False, "rating": 1, "comment": "灯还是不亮"}
    refused = act(people["resident"], submission, "rate", bad)
    assert refused.status_code == 400 and refused.json()["reason"] == "guard"
    assert act(people["resident"], submission, "reopen", bad).json()["state"] == "in_progress"
    assert act(people["handler"], submission, "resolve", comment="重新修好").json()["state"] == "feedback"
    assert LedgerEntry.objects.filter(person=handler, rule="resolve_request").count() == 2  # once per resolution
    closed = act(people["resident"], submission, "rate", {"resolved": True, "rating": 5})
    assert closed.json()["state"] == "closed"
    instance.refresh_from_db()
    assert instance.finished_at is not None
    # the history says who did what, and a closed item offers nothing more
    client = APIClient()
    client.force_authenticate(people["resident"])
    detail = client.get(f"/api/v1/submissions/{submission.pk}/").json()
    assert [h["transition"] for h in detail["history"]] == [
        "submit", "analyse", "dispatch", "resolve", "reopen", "resolve", "rate"]
    assert detail["transitions"] == [] and detail["state"] == "closed"
    assert act(people["resident"], submission, "reopen", bad).status_code == 409  # wrong state, not forbidden


def test_the_inbox_lists_what_each_person_must_act_on(world):
    community, people, handler, submission = world
    client = APIClient()
    client.force_authenticate(people["leader"])
    inbox = client.get("/api/v1/tasks/").json()
    assert [(i["reference"], i["transitions"]) for i in inbox] == [(submission.reference, ["analyse", "decline"])]
    client.force_authenticate(people["other_leader"])
    assert client.get("/api/v1/tasks/").json() == []


def test_the_deadline_escalates_by_timer_across_national_day(world):
    community, people, handler, submission = world
    act(people["leader"], submission, "analyse", {"analysis": "属实", "handling_level": "社区办理"})
    with time_machine.travel(datetime.datetime(2026, 9, 29, 10, 0, tzinfo=TZ), tick=False):
        act(people["secretary"], submission, "dispatch", {"assignee": handler.pk})
    instance = FlowInstance.objects.get(submission=submission)
    # 5 working days from 9-29: 9-30, (holiday 10-1..10-7), 10-8, 10-9, 10-10 (make-up Saturday), 10-12
    assert instance.due_at == datetime.datetime(2026, 10, 12, 10, 0, tzinfo=TZ)
    assert adapter.fire_due_timers(now=datetime.datetime(2026, 10, 9, 12, 0, tzinfo=TZ)) == 0
    # one working day before the deadline (10-10, the make-up Saturday) the handler is reminded
    assert adapter.fire_due_timers(now=datetime.datetime(2026, 10, 10, 10, 1, tzinfo=TZ)) == 1
    assert Notification.objects.filter(user=people["handler"], message__contains="明天到期").count() == 1
    assert adapter.fire_due_timers(now=datetime.datetime(2026, 10, 12, 10, 1, tzinfo=TZ)) == 1
    instance.refresh_from_db()
    assert instance.state == "escalated"
    assert AuditEvent.objects.filter(instance=instance, transition="escalate", actor_kind="timer").count() == 1
    assert adapter.fire_due_timers(now=datetime.datetime(2026, 10, 13, tzinfo=TZ)) == 0  # fires once
    assert Timer.objects.filter(instance=instance, transition="escalate").exclude(fired_at=None).count() == 1


def test_a_stale_version_gets_409_with_the_current_state(world):
    community, people, handler, submission = world
    version = FlowInstance.objects.get(submission=submission).version
    act(people["leader"], submission, "analyse", {"analysis": "属实", "handling_level": "社区办理"})
    stale = act(people["resident"], submission, "withdraw", version=version)
    assert stale.status_code == 409 and stale.json()["state"] == "analysed"


@pytest.mark.django_db(transaction=True)
def test_twenty_people_taking_one_transition_at_once_one_succeeds():
    community, people, handler, submission = build()
    act(people["leader"], submission, "analyse", {"analysis": "属实", "handling_level": "社区办理"})
    act(people["secretary"], submission, "dispatch", {"assignee": handler.pk})
    statuses, errors = race(20, lambda _: act(people["handler"], submission, "resolve", comment="办好了").status_code)
    assert errors == []
    assert sorted(statuses) == [200] + [409] * 19
    assert AuditEvent.objects.filter(transition="resolve").count() == 1
    assert LedgerEntry.objects.filter(rule="resolve_request").count() == 1


def test_reassignment_and_delegation_and_comments(world):
    community, people, handler, submission = world
    act(people["leader"], submission, "analyse", {"analysis": "属实", "handling_level": "社区办理"})
    act(people["secretary"], submission, "dispatch", {"assignee": handler.pk})
    other = Person.objects.create(community=community, name="另一位党员",
                                  user=get_user_model().objects.create_user("other", password="x" * 12))
    client = APIClient()
    client.force_authenticate(people["resident"])
    assert client.post(f"/api/v1/submissions/{submission.pk}/assignee/", {"person": other.pk},
                       format="json").status_code == 403
    client.force_authenticate(people["handler"])  # the assignee delegates
    moved = client.post(f"/api/v1/submissions/{submission.pk}/assignee/", {"person": other.pk, "comment": "出差"},
                        format="json")
    assert moved.status_code == 200
    assert FlowInstance.objects.get(submission=submission).assignee.username == "other"
    assert act(people["handler"], submission, "resolve", comment="x").status_code == 404  # no longer theirs to see
    client.force_authenticate(people["resident"])
    assert client.post(f"/api/v1/submissions/{submission.pk}/comments/", {"comment": " "},
                       format="json").status_code == 400
    assert client.post(f"/api/v1/submissions/{submission.pk}/comments/", {"comment": "请尽快"},
                       format="json").status_code == 201
    history = client.get(f"/api/v1/submissions/{submission.pk}/").json()["history"]
    assert [h["transition"] for h in history][-2:] == ["reassign", "comment"]


def test_with_the_database_worker_a_deadline_is_a_task_due_at_that_moment(world, settings):
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}  # Django resets its backends
    community, people, handler, submission = world
    act(people["leader"], submission, "analyse", {"analysis": "属实", "handling_level": "社区办理"})
    act(people["secretary"], submission, "dispatch", {"assignee": handler.pk})
    instance = FlowInstance.objects.get(submission=submission)
    queued = DBTaskResult.objects.filter(task_path="engine.workflow.tasks.fire_timers")
    assert instance.due_at in set(queued.values_list("run_after", flat=True))


def test_the_inbox_selects_in_sql_only_items_with_a_step_for_the_caller(world):
    community, people, handler, submission = world
    form = Definition.objects.get(community=community, kind="form", key="resident-request")
    second = submit(form=form, data=submission.data, user=people["resident"]).submission
    act(people["leader"], submission, "analyse", {"analysis": "属实", "handling_level": "社区办理"})
    act(people["secretary"], submission, "dispatch", {"assignee": handler.pk})  # in progress: nothing for the leader
    client = APIClient()
    client.force_authenticate(people["leader"])
    assert [i["reference"] for i in client.get("/api/v1/tasks/").json()] == [second.reference]
    client.force_authenticate(people["handler"])
    assert [(i["reference"], i["transitions"]) for i in client.get("/api/v1/tasks/").json()] == [
        (submission.reference, ["resolve"])]
    from engine.models import FlowInstance as Instance

    narrowed = adapter.actionable(people["leader"], Instance.objects.filter(finished_at__isnull=True))
    assert list(narrowed.values_list("submission_id", flat=True)) == [second.pk]


def test_the_inbox_filters_by_a_node_of_the_tree(world):
    community, people, handler, submission = world
    act(people["leader"], submission, "analyse", {"analysis": "属实", "handling_level": "社区办理"})
    client = APIClient()
    client.force_authenticate(people["secretary"])  # who dispatches analysed items
    unit = submission.unit
    assert [i["id"] for i in client.get(f"/api/v1/tasks/?community=minyue&unit={unit.get_parent().key}").json()] == [
        submission.pk]
    other = OrgUnit.objects.filter(community=community, level="compound").exclude(pk=unit.get_parent().pk).first()
    assert client.get(f"/api/v1/tasks/?community=minyue&unit={other.key}").json() == []
    assert client.get(f"/api/v1/tasks/?community=minyue&unit=nowhere").json() == []


def test_the_inbox_finds_its_flows_without_joining_the_communitys_people(world):
    """Joining people and role holders gave one row per resident for every flow version: with
    300 000 residents the inbox took seconds. Subqueries keep it to the flows themselves."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from engine.models import FlowInstance as Instance
    from engine.models import Person

    community, people, handler, submission = world
    for n in range(30):  # many neighbours with roles must not multiply the flows
        neighbour = Person.objects.create(community=community, name=f"邻居{n}", unit=submission.unit)
        RoleAssignment.objects.create(community=community, person=neighbour, role="resident", unit=submission.unit)
    with CaptureQueriesContext(connection) as queries:
        narrowed = list(adapter.actionable(people["leader"], Instance.objects.filter(finished_at__isnull=True)))
    assert [i.submission_id for i in narrowed] == [submission.pk]
    versions = [q["sql"] for q in queries.captured_queries  # the look-up (not a compiled flow's content)
                if '"engine_definitionversion"."content_hash" FROM "engine_definitionversion"' in q["sql"]]
    assert len(versions) == 1 and "JOIN" not in versions[0].split("WHERE")[0].replace(
        'INNER JOIN "engine_definition"', ""), versions
    assert "DISTINCT" not in versions[0]


def test_ancestors_preloaded_for_many_units_are_those_found_one_by_one(world):
    community, people, handler, submission = world
    units = list(OrgUnit.objects.filter(community=community).order_by("path"))
    assert {u.depth for u in units} >= {1, 2, 3}  # the root, compounds, grids (and buildings below)
    one_by_one = {u.pk: adapter.FactsCache(people["leader"]).item_units(u) for u in units}
    cache = adapter.FactsCache(people["leader"])
    cache.preload_units([*units, None])
    assert {u.pk: cache.item_units(u) for u in units} == one_by_one
    grid = submission.unit
    assert one_by_one[grid.pk]["grid"] == grid.path and one_by_one[grid.pk]["compound"] == grid.get_parent().path


def test_the_inbox_reads_the_items_units_in_one_query_however_many_buildings(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    community, people, handler, submission = world
    form = Definition.objects.get(community=community, kind="form", key="resident-request")
    client = APIClient()
    client.force_authenticate(people["leader"])

    def inbox():
        with CaptureQueriesContext(connection) as queries:
            listed = client.get("/api/v1/tasks/").json()
        return listed, len(queries)

    inbox()  # this process's caches (compiled flows, roles) filled
    few, few_queries = inbox()
    grid = OrgUnit.objects.get(pk=submission.unit_id)
    buildings = [grid.add_child(community=community, key=f"楼{n}", name=f"{n}号楼", level="building")
                 for n in range(1, 7)]
    for building in buildings:  # items in different buildings of the leader's grid
        from engine.models import Submission

        item = Submission.objects.create(community=community, form=form, form_version=form.live_version,
                                         submitter=people["resident"], unit=building, data=submission.data)
        adapter.start(item)
    many, many_queries = inbox()
    assert len(many) == len(few) + len(buildings)
    assert many_queries == few_queries
