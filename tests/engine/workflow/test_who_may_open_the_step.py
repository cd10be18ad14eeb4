"""What the engine lets a person do, they can find and open: steps given to roles that are not staff
(a member takes the order in their own compound), listed in their inbox and open on the item page and
API — and nowhere else: a member of another compound neither finds nor opens the item."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from engine.models import Community, Definition, OrgUnit, Person, RoleAssignment
from engine.services.submissions import submit
from engine.workflow import adapter

DATA = {"category": "facilities", "subject": "楼道灯坏了", "details": "3号楼2单元楼道灯坏了一个星期",
        "urgency": "normal", "address": {"unit": "grid_1"}, "contact_name": "张明", "contact_preference": "visit"}


@pytest.fixture
def world(db):
    call_command("load_definitions", "workflows_yaml/kaiyuan", "workflows_yaml/minyue", "forms_schemas/minyue",
                 stdout=io.StringIO(), stderr=io.StringIO())
    community = Community.objects.get(slug="minyue")
    users = {}

    def make(key, role=None, unit_key="grid_1"):
        user = get_user_model().objects.create_user(key, password="x" * 12)
        unit = OrgUnit.objects.get(community=community, key=unit_key)
        person = Person.objects.create(community=community, user=user, name=key, unit=unit)
        if role:
            RoleAssignment.objects.create(community=community, person=person, role=role, unit=unit)
        users[key] = user

    make("resident")
    make("leader", "grid_leader", "grid_1")
    make("member_here", "member", "tongxingyuan")
    make("member_there", "member", "compound_5")
    make("neighbour")
    form = Definition.objects.get(community=community, kind="form", key="resident-request")
    item = submit(form=form, data=DATA, user=users["resident"]).submission
    adapter.take(instance_id=item.flow.pk, name="analyse", user=users["leader"],
                 inputs={"analysis": "属实", "handling_level": "网格办理"})
    return users, item


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_a_member_finds_and_takes_the_order_in_their_own_compound(world):
    users, item = world
    here = api(users["member_here"])
    assert [(t["id"], t["transitions"]) for t in here.get("/api/v1/tasks/").json()] == [(item.pk, ["take_order"])]
    assert "take_order" in [t["name"] for t in here.get(f"/api/v1/submissions/{item.pk}/").json()["transitions"]]
    page = Client()
    page.force_login(users["member_here"])
    assert "接单" in page.get(f"/items/{item.pk}/").content.decode()
    assert item.pk in [row["instance"].submission_id for row in page.get("/inbox/").context["rows"]]
    taken = here.post(f"/api/v1/submissions/{item.pk}/transitions/", {"transition": "take_order"}, format="json")
    assert taken.status_code == 200 and taken.json()["state"] == "in_progress"


def test_a_member_of_another_compound_neither_finds_nor_opens_it(world):
    users, item = world
    there = api(users["member_there"])
    assert there.get("/api/v1/tasks/").json() == []
    assert there.get(f"/api/v1/submissions/{item.pk}/").status_code == 404
    refused = there.post(f"/api/v1/submissions/{item.pk}/transitions/", {"transition": "take_order"}, format="json")
    assert refused.status_code in (403, 404)
    page = Client()
    page.force_login(users["member_there"])
    assert page.get(f"/items/{item.pk}/").status_code == 404
    neighbour = api(users["neighbour"])
    assert neighbour.get(f"/api/v1/submissions/{item.pk}/").status_code == 404
    assert neighbour.get("/api/v1/tasks/").json() == []


def test_once_the_order_is_taken_the_other_members_lose_the_item(world):
    users, item = world
    api(users["member_here"]).post(f"/api/v1/submissions/{item.pk}/transitions/", {"transition": "take_order"},
                                   format="json")
    other = get_user_model().objects.create_user("member_here_2", password="x" * 12)
    person = Person.objects.create(community=item.community, user=other, name="另一党员")
    RoleAssignment.objects.create(community=item.community, person=person, role="member",
                                  unit=OrgUnit.objects.get(community=item.community, key="tongxingyuan"))
    assert api(other).get(f"/api/v1/submissions/{item.pk}/").status_code == 404
    assert api(other).get("/api/v1/tasks/").json() == []


@pytest.mark.parametrize("with_secretary", [False, True])
def test_a_community_with_no_secretary_yet_falls_to_whoever_manages_it(db, with_secretary):
    """Nobody holds the grid leader or the secretary: the step falls to those who manage the community
    (guardian's permission, the street's superuser) — and not once a secretary is appointed."""
    from guardian.shortcuts import assign_perm

    call_command("load_definitions", "workflows_yaml/kaiyuan", "workflows_yaml/minyue", "forms_schemas/minyue",
                 stdout=io.StringIO(), stderr=io.StringIO())
    community = Community.objects.get(slug="minyue")
    resident = get_user_model().objects.create_user("resident", password="x" * 12)
    appointed = get_user_model().objects.create_user("appointed", password="x" * 12)
    assign_perm("engine.manage_community", appointed, community)
    street = get_user_model().objects.create_superuser("street", "s@example.cn", "x" * 12)
    if with_secretary:
        secretary = get_user_model().objects.create_user("secretary", password="x" * 12)
        RoleAssignment.objects.create(community=community, role="community_secretary",
                                      unit=OrgUnit.objects.get(community=community, depth=1),
                                      person=Person.objects.create(community=community, user=secretary, name="书记"))
    item = submit(form=Definition.objects.get(community=community, kind="form", key="resident-request"),
                  data=DATA, user=resident).submission
    for user in (appointed, street):
        entry = {t["id"]: t for t in api(user).get("/api/v1/tasks/", HTTP_ACCEPT_LANGUAGE="zh-hans").json()}
        if with_secretary:
            assert item.pk not in entry
        else:
            assert "analyse" in entry[item.pk]["transitions"]
            assert entry[item.pk]["reason"] == "第一网格（同兴苑）暂无网格长"
    if with_secretary:
        assert item.pk in {t["id"] for t in api(secretary).get("/api/v1/tasks/").json()}


def test_a_roster_holder_without_an_account_leaves_the_step_to_the_stand_in(db):
    """A grid leader imported from the roster who has not signed in yet cannot act: the grid counts as
    vacant and the secretary takes the step, told why; once the leader has an account, it is theirs."""
    call_command("load_definitions", "workflows_yaml/kaiyuan", "workflows_yaml/minyue", "forms_schemas/minyue",
                 stdout=io.StringIO(), stderr=io.StringIO())
    community = Community.objects.get(slug="minyue")
    resident = get_user_model().objects.create_user("resident", password="x" * 12)
    secretary = get_user_model().objects.create_user("secretary", password="x" * 12)
    RoleAssignment.objects.create(community=community, role="community_secretary",
                                  unit=OrgUnit.objects.get(community=community, depth=1),
                                  person=Person.objects.create(community=community, user=secretary, name="书记"))
    leader = Person.objects.create(community=community, name="名册上的网格长", phone="13900003001")
    RoleAssignment.objects.create(community=community, role="grid_leader", person=leader,
                                  unit=OrgUnit.objects.get(community=community, key="grid_1"))
    item = submit(form=Definition.objects.get(community=community, kind="form", key="resident-request"),
                  data=DATA, user=resident).submission
    assert item.pk in {t["id"] for t in api(secretary).get("/api/v1/tasks/").json()}
    from engine.services.accounts import account_for_phone

    account = account_for_phone("13900003001")  # the leader signs in for the first time
    assert Person.objects.get(pk=leader.pk).user == account
    assert item.pk not in {t["id"] for t in api(secretary).get("/api/v1/tasks/").json()}
    assert [t["id"] for t in api(account).get("/api/v1/tasks/").json()] == [item.pk]
