"""No item waits for a role nobody holds: in minyue, a request from a grid without a grid leader
goes to the leader above it, else to the community secretary (the admin role), who sees it in the
inbox page and the API with the reason in Chinese — and stops seeing it once a leader is appointed.
A flow may name its own fallback role. Messages to a vacant role reach the stand-in."""

import datetime
import io
import shutil
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from engine.models import (AuditEvent, Community, Definition, FlowInstance, Notification, OrgUnit, Person,
                           RoleAssignment, Submission)
from engine.services.submissions import submit
from engine.workflow import adapter
from tests.concurrency import race

ROOT = Path(__file__).resolve().parents[3]
ANALYSIS = {"analysis": "属实，楼道灯需要更换", "handling_level": "社区办理"}


def load(workflows=ROOT / "workflows_yaml", forms=ROOT / "forms_schemas"):
    call_command("load_definitions", str(workflows / "kaiyuan"), str(workflows / "minyue"), str(forms / "minyue"),
                 stdout=io.StringIO(), stderr=io.StringIO())


class World:
    """minyue with a secretary at the root; nobody leads grid_1 (第一网格) unless a test appoints one."""

    def __init__(self):
        self.community = Community.objects.get(slug="minyue")
        units = OrgUnit.objects.filter(community=self.community)
        self.root = units.get(depth=1)
        self.grid_1, self.grid_2, self.grid_3 = (units.get(key=k) for k in ("grid_1", "grid_2", "grid_3"))
        self.users = {}
        self.secretary = self.person("secretary", "community_secretary", self.root)
        self.person("leader_3", "grid_leader", self.grid_3)
        self.resident = self.person("resident", None, self.grid_1)

    def person(self, key, role=None, unit=None, **assignment):
        user = get_user_model().objects.create_user(key, password="x" * 12, first_name=key)
        person = Person.objects.create(community=self.community, user=user, name=key, unit=unit)
        if role:
            RoleAssignment.objects.create(community=self.community, person=person, role=role, unit=unit, **assignment)
        self.users[key] = user
        return user

    def request(self, unit=None):
        form = Definition.objects.get(community=self.community, kind="form", key="resident-request")
        unit = unit or self.grid_1
        data = {"category": "facilities", "subject": "楼道灯坏了", "details": "3号楼2单元楼道灯坏了一个星期",
                "urgency": "normal", "address": {"unit": unit.key}, "contact_name": "张明",
                "contact_preference": "visit"}
        submission = submit(form=form, data=data, user=self.users["resident"]).submission
        assert submission.unit_id == unit.pk
        return submission


@pytest.fixture
def world(db):
    load()
    return World()


def client(user):
    api = APIClient()
    api.force_authenticate(user)
    return api


def tasks(user):
    response = client(user).get("/api/v1/tasks/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
    return {entry["id"]: entry for entry in response.json()}


def act(user, submission, name="analyse", data=None, comment="", version=None):
    body = {"transition": name, "data": ANALYSIS if data is None else data, "comment": comment}
    if version is not None:
        body["version"] = version
    return client(user).post(f"/api/v1/submissions/{submission.pk}/transitions/", body, format="json")


def page(user, url):
    from django.test import Client

    browser = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    browser.force_login(user)
    response = browser.get(url)
    assert response.status_code == 200
    return response.content.decode()


REASON = "第一网格（同兴苑）暂无网格长"


def test_a_vacant_grid_goes_to_the_secretary_with_the_reason_in_the_api(world):
    submission = world.request()
    entry = tasks(world.secretary)[submission.pk]
    assert set(entry["transitions"]) == {"analyse", "decline"}
    assert entry["reason"] == REASON
    assert entry["fallback"] == [
        {"transition": "analyse", "role": "grid_leader", "unit": "grid_1", "to": "admin", "reason": REASON},
        {"transition": "decline", "role": "grid_leader", "unit": "grid_1", "to": "admin", "reason": REASON}]
    assert submission.pk not in tasks(world.users["leader_3"])  # another grid's leader does not inherit it
    response = act(world.secretary, submission)
    assert response.status_code == 200 and response.json()["state"] == "analysed"
    event = AuditEvent.objects.get(instance__submission=submission, transition="analyse")
    assert event.actor == world.secretary
    assert event.data["stand_in"] == {"role": "grid_leader", "unit": world.grid_1.path, "unit_key": "",
                                      "to": ""}


def test_the_inbox_page_and_the_item_page_say_why_in_chinese(world):
    submission = world.request()
    inbox = page(world.secretary, "/inbox/")
    assert submission.reference in inbox and f"转由您办理：{REASON}" in inbox
    item = page(world.secretary, f"/items/{submission.pk}/")
    assert f"转由您办理：{REASON}" in item and "Passed to you" not in item


def test_only_the_admin_roles_stand_in_by_default(world):
    from guardian.shortcuts import assign_perm

    worker = world.person("worker", "community_worker", world.root)  # staff: sees every item, not an admin
    building = world.person("building", "building_head", world.grid_1)
    appointed = world.person("appointed", None, world.root)  # manages the community by guardian's permission
    assign_perm("engine.manage_community", appointed, world.community)
    submission = world.request()
    for user in (worker, building, appointed, world.users["resident"]):
        assert "analyse" not in tasks(user).get(submission.pk, {"transitions": []})["transitions"], user
        assert act(user, submission).status_code in (403, 404), user
    assert act(world.users["resident"], submission).status_code == 403  # their own item: seen, not theirs to analyse
    assert FlowInstance.objects.get(submission=submission).state == "collected"


def test_the_reason_in_english(world):
    submission = world.request()
    response = client(world.secretary).get("/api/v1/tasks/", HTTP_ACCEPT_LANGUAGE="en")
    entry = next(e for e in response.json() if e["id"] == submission.pk)
    assert entry["reason"] == "第一网格（同兴苑） has no 网格长"


def test_a_leader_in_their_own_right_sees_no_reason(world):
    world.person("leader_1", "grid_leader", world.grid_1)
    submission = world.request()
    entry = tasks(world.users["leader_1"])[submission.pk]
    assert entry["fallback"] == [] and entry["reason"] == ""
    assert "转由您办理" not in page(world.users["leader_1"], f"/items/{submission.pk}/")


def test_a_leader_at_the_parent_unit_takes_it_and_the_secretary_does_not(world):
    compound = world.grid_1.get_parent()
    world.person("compound_leader", "grid_leader", compound)
    submission = world.request()
    entry = tasks(world.users["compound_leader"])[submission.pk]
    assert "analyse" in entry["transitions"] and entry["fallback"] == []
    assert submission.pk not in tasks(world.secretary)
    assert act(world.secretary, submission).status_code == 403
    assert act(world.users["compound_leader"], submission).status_code == 200


def test_a_leader_of_the_covering_branch_takes_a_covered_compounds_grid(world):
    # 同兴苑's branch covers 上河万家: a grid leader at 同兴苑 holds 第二网格 too
    world.person("branch_leader", "grid_leader", world.grid_1.get_parent())
    submission = world.request(world.grid_2)
    assert "analyse" in tasks(world.users["branch_leader"])[submission.pk]["transitions"]
    assert submission.pk not in tasks(world.secretary)


def test_a_leader_appointed_later_takes_it_over_from_the_secretary(world):
    submission = world.request()
    assert submission.pk in tasks(world.secretary)
    world.person("leader_1", "grid_leader", world.grid_1)
    assert submission.pk not in tasks(world.secretary)
    assert "analyse" in tasks(world.users["leader_1"])[submission.pk]["transitions"]
    assert act(world.secretary, submission).status_code == 403
    assert act(world.users["leader_1"], submission).status_code == 200


def test_a_leader_whose_term_ended_leaves_the_grid_vacant(world):
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    world.person("former_leader", "grid_leader", world.grid_1, until=yesterday)
    submission = world.request()
    assert submission.pk not in tasks(world.users["former_leader"])
    assert act(world.users["former_leader"], submission).status_code == 404  # no longer reviews the grid
    assert tasks(world.secretary)[submission.pk]["reason"] == REASON


def test_a_leader_who_left_the_community_leaves_the_grid_vacant(world):
    world.person("gone_leader", "grid_leader", world.grid_1)
    Person.objects.filter(user=world.users["gone_leader"]).update(active=False)
    submission = world.request()
    assert tasks(world.secretary)[submission.pk]["reason"] == REASON


def test_a_leader_not_yet_in_office_does_not_fill_the_grid(world):
    world.person("next_leader", "grid_leader", world.grid_1, since=timezone.localdate() + datetime.timedelta(days=7))
    submission = world.request()
    assert submission.pk in tasks(world.secretary)


def test_an_item_without_a_unit_goes_to_the_secretary(world):
    world.person("leader_1", "grid_leader", world.grid_1)
    submission = world.request()
    Submission.objects.filter(pk=submission.pk).update(unit=None)
    entry = tasks(world.secretary)[submission.pk]
    assert entry["reason"] == "此事项未注明所在单位，无从确定网格长"
    assert entry["fallback"][0]["unit"] == ""
    assert submission.pk not in tasks(world.users["leader_1"])  # nobody holds "the item's grid"
    assert act(world.secretary, submission).status_code == 200


def test_the_secretary_is_not_flooded_with_the_grids_that_have_leaders(world):
    """The SQL pre-filter keeps only the really vacant items (before the core checks each)."""
    world.person("leader_1", "grid_leader", world.grid_1)
    held = [world.request(world.grid_1) for _ in range(3)] + [world.request(world.grid_3)]
    vacant = [world.request(world.grid_2), world.request(OrgUnit.objects.get(key="grid_2_rh_01"))]
    narrowed = adapter.actionable(world.secretary, FlowInstance.objects.filter(finished_at__isnull=True))
    assert sorted(i.submission_id for i in narrowed) == sorted(s.pk for s in vacant)
    assert not {s.pk for s in held} & set(tasks(world.secretary))


def test_an_item_at_a_unit_above_the_grid_level_is_vacant_for_the_grid_step(world):
    world.person("leader_1", "grid_leader", world.grid_1)
    submission = world.request(world.grid_1.get_parent())  # a compound: no grid to find a leader in
    narrowed = adapter.actionable(world.secretary, FlowInstance.objects.filter(finished_at__isnull=True))
    assert [i.submission_id for i in narrowed] == [submission.pk]
    assert "analyse" in tasks(world.secretary)[submission.pk]["transitions"]


def test_the_secretarys_inbox_queries_do_not_grow_with_vacant_items(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    world.request()

    def count():
        with CaptureQueriesContext(connection) as queries:
            listed = tasks(world.secretary)
        return len(listed), len(queries)

    count()  # this process's caches filled
    few, few_queries = count()
    buildings = OrgUnit.objects.filter(path__startswith=world.grid_1.path).exclude(pk=world.grid_1.pk)
    for building in buildings:
        world.request(building)
    many, many_queries = count()
    assert many == few + buildings.count() and many_queries == few_queries


@pytest.mark.django_db(transaction=True)
def test_stand_ins_racing_on_one_item_get_one_success_and_conflicts():
    load()
    world = World()
    stand_ins = [world.secretary] + [world.person(f"secretary_{n}", "community_secretary", world.root)
                                     for n in range(5)]
    submission = world.request()
    statuses, errors = race(len(stand_ins), lambda index: act(stand_ins[index], submission).status_code)
    assert errors == [] and sorted(statuses) == [200] + [409] * (len(stand_ins) - 1)
    assert AuditEvent.objects.filter(instance__submission=submission, transition="analyse").count() == 1


def test_a_stand_in_with_bad_input_writes_nothing(world):
    submission = world.request()
    response = act(world.secretary, submission, data={"analysis": ""})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"/data/analysis", "/data/handling_level"}
    instance = FlowInstance.objects.get(submission=submission)
    assert instance.state == "collected" and not AuditEvent.objects.filter(instance=instance).exists()


def test_a_message_to_a_vacant_role_reaches_the_admins(world):
    """refer_to_street notifies the street liaison; minyue has none, so the secretary hears it."""
    world.person("leader_1", "grid_leader", world.grid_1)
    worker = world.person("worker", "community_worker", world.root)
    handler = world.person("handler", None, world.grid_1)
    submission = world.request()
    assert act(world.users["leader_1"], submission).status_code == 200
    handler_id = Person.objects.get(user=handler).pk
    assert act(worker, submission, "dispatch", {"assignee": handler_id}).status_code == 200
    Notification.objects.all().delete()
    assert act(world.secretary, submission, "refer_to_street", {}, comment="需要街道协调").status_code == 200
    assert set(Notification.objects.values_list("user__username", flat=True)) == {"secretary"}
    liaison = world.person("liaison", "street_liaison", world.root)
    assert [u.username for u in adapter._recipients(FlowInstance.objects.get(submission=submission),
                                                    {"role": "street_liaison"}, None)] == [liaison.username]


def test_messages_go_to_current_holders_only(world):
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    world.person("former_leader", "grid_leader", world.grid_1, until=yesterday)
    leader = world.person("leader_1", "grid_leader", world.grid_1)
    instance = FlowInstance.objects.get(submission=world.request())
    spec = {"role": "grid_leader", "scope": "submitter_unit", "level": "grid"}
    assert [u.username for u in adapter._recipients(instance, spec, None)] == [leader.username]


# ---------------------------------------------------------------- a flow's own fallback role


@pytest.fixture
def fallback_world(db, tmp_path, settings):
    """minyue whose analyse step names community_worker (社区“两委”成员) as its fallback."""
    workflows, forms = tmp_path / "workflows_yaml", tmp_path / "forms_schemas"
    for folder in ("kaiyuan", "minyue"):
        shutil.copytree(ROOT / "workflows_yaml" / folder, workflows / folder)
    shutil.copytree(ROOT / "forms_schemas" / "minyue", forms / "minyue")
    shutil.copytree(ROOT / "forms_schemas" / "_shared", forms / "_shared")
    flow = workflows / "minyue" / "resident-request.flow.yaml"
    source = flow.read_text(encoding="utf-8")
    step = "  - name: analyse\n    title: 研判\n    from: collected\n    to: analysed\n    by:\n      role: grid_leader\n" \
           "      scope: submitter_unit\n      level: grid\n"
    assert step in source
    flow.write_text(source.replace(step, step + "      fallback: community_worker\n"), encoding="utf-8")
    settings.LINLI_FORMS_DIR, settings.LINLI_WORKFLOWS_DIR = forms, workflows
    load(workflows, forms)
    assert Definition.objects.get(key="resident-request", kind="flow").live_version.data["transitions"][0]["by"][
        "fallback"] == "community_worker"
    return World()


def test_a_named_fallback_role_takes_the_step_and_the_secretary_only_what_it_does_not(fallback_world):
    world = fallback_world
    worker = world.person("worker", "community_worker", world.root)
    submission = world.request()
    entry = tasks(worker)[submission.pk]
    assert entry["transitions"] == ["analyse"]  # decline names no fallback: it is the admins'
    assert entry["fallback"][0]["to"] == "community_worker" and entry["reason"] == REASON
    secretary = tasks(world.secretary)[submission.pk]
    assert secretary["transitions"] == ["decline"]
    assert act(world.secretary, submission).status_code == 403
    assert act(worker, submission).status_code == 200
    event = AuditEvent.objects.get(instance__submission=submission, transition="analyse")
    assert event.data["stand_in"]["to"] == "community_worker"


def test_a_vacant_fallback_role_leaves_the_step_to_the_secretary(fallback_world):
    world = fallback_world
    submission = world.request()
    assert set(tasks(world.secretary)[submission.pk]["transitions"]) == {"analyse", "decline"}
    assert act(world.secretary, submission).status_code == 200
