"""The permission matrix: every kind of person × every kind of object × read and write,
allowed exactly where it should be — asked of the one policy, and through the HTTP API."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core.management import call_command
from guardian.shortcuts import assign_perm
from rest_framework.test import APIClient

from engine import policy
from engine.models import Community, Definition, OrgUnit, Person, RoleAssignment, Submission

PEOPLE = ["superuser", "secretary", "appointed_admin", "grid_leader_here", "grid_leader_elsewhere", "member",
          "submitter", "neighbour", "other_secretary", "anonymous"]


@pytest.fixture
def world(db):
    call_command("load_definitions", stdout=io.StringIO())
    User = get_user_model()
    minyue, zanan = Community.objects.get(slug="minyue"), Community.objects.get(slug="zanan")
    grids = list(OrgUnit.objects.filter(community=minyue, level="grid").order_by("path")[:2])
    root = OrgUnit.objects.get(community=minyue, depth=1)
    users = {"anonymous": AnonymousUser()}

    def person(key, community=minyue, role=None, unit=None):
        user = User.objects.create_user(key, password="x" * 12, is_superuser=key == "superuser")
        users[key] = user
        someone = Person.objects.create(community=community, user=user, name=key, unit=unit)
        if role:
            RoleAssignment.objects.create(community=community, person=someone, role=role, unit=unit)
        return someone

    person("superuser")
    person("secretary", role="community_secretary", unit=root)
    person("appointed_admin")
    assign_perm("engine.manage_community", users["appointed_admin"], minyue)
    person("grid_leader_here", role="grid_leader", unit=grids[0])
    person("grid_leader_elsewhere", role="grid_leader", unit=grids[1])
    person("member", role="member", unit=grids[0].get_parent())
    submitter = person("submitter", role="resident", unit=grids[0])
    person("neighbour", role="resident", unit=grids[0])
    person("other_secretary", community=zanan, role="community_secretary",
           unit=OrgUnit.objects.get(community=zanan, depth=1))
    form = Definition.objects.get(community=minyue, kind="form", key="resident-request")
    item = Submission.objects.create(community=minyue, form=form, form_version=form.live_version,
                                     submitter=users["submitter"], unit=grids[0], data={"subject": "路灯"})
    return {"users": users, "minyue": minyue, "item": item, "submitter": submitter}


# who may ...                       see the item  manage definitions  award points  see the submitter's points
EXPECTED = {
    "superuser":             (True,  True,  True,  True),
    "secretary":             (True,  True,  True,  True),
    "appointed_admin":       (True,  True,  True,  True),
    "grid_leader_here":      (True,  False, False, False),
    "grid_leader_elsewhere": (False, False, False, False),
    "member":                (False, False, False, False),
    "submitter":             (True,  False, False, True),
    "neighbour":             (False, False, False, False),
    "other_secretary":       (False, False, False, False),
    "anonymous":             (False, False, False, False),
}


@pytest.mark.parametrize("who", PEOPLE)
def test_the_policy_allows_exactly_what_the_matrix_says(world, who):
    user, community = world["users"][who], world["minyue"]
    got = (policy.can_view_submission(user, world["item"]), policy.can_manage_definitions(user, community),
           policy.can_award_points(user, community), policy.can_view_points(user, world["submitter"]))
    assert got == EXPECTED[who]


@pytest.mark.parametrize("who", PEOPLE)
def test_the_api_answers_the_same_and_hides_what_is_not_yours(world, who):
    client = APIClient()
    if who != "anonymous":
        client.force_authenticate(world["users"][who])
    response = client.get(f"/api/v1/submissions/{world['item'].pk}/")
    if who == "anonymous":
        assert response.status_code in (401, 403)
    elif EXPECTED[who][0]:
        assert response.status_code == 200 and response.json()["data"] == {"subject": "路灯"}
    else:
        missing = client.get("/api/v1/submissions/999999/")
        assert response.status_code == missing.status_code == 404
        assert response.json() == missing.json()  # exactly like a missing one


def test_a_revoked_role_takes_effect_on_the_next_request(world):
    leader = world["users"]["grid_leader_here"]
    assert policy.can_view_submission(leader, world["item"])
    RoleAssignment.objects.filter(person__user=leader).delete()
    assert not policy.can_view_submission(leader, world["item"])


def test_roles_of_names_the_roles_held_in_one_community(world):
    assert policy.roles_of(world["users"]["member"], world["minyue"]) == {"member"}
    assert policy.roles_of(world["users"]["other_secretary"], world["minyue"]) == set()


def test_the_answer_for_one_item_is_the_answer_of_the_visible_queryset(world):
    """can_view_submission decides one item without computing the whole visibility; for every
    person and every kind of item it must say what visible_submissions says."""
    import datetime

    from django.contrib.auth.models import Group, Permission
    from django.utils import timezone

    from engine.models import FlowInstance

    User = get_user_model()
    users, minyue = dict(world["users"]), world["minyue"]
    zanan = Community.objects.get(slug="zanan")
    grids = list(OrgUnit.objects.filter(community=minyue, level="grid").order_by("path")[:3])
    form = Definition.objects.get(community=minyue, kind="form", key="resident-request")
    flow = Definition.objects.get(community=minyue, kind="flow", key="resident-request")

    def extra(key, role=None, unit=None, community=minyue, until=None):
        user = User.objects.create_user(key, password="x" * 12)
        users[key] = user
        someone = Person.objects.create(community=community, user=user, name=key, unit=unit)
        if role:
            RoleAssignment.objects.create(community=community, person=someone, role=role, unit=unit, until=until)
        return user

    # the permission given globally, not on a community, makes nobody an admin of one (ModelBackend
    # answers nothing for an object; guardian answers only for the object it was given on)
    global_perm = Permission.objects.get(codename="manage_community")
    extra("global_admin_with_role", role="resident", unit=grids[0]).user_permissions.add(global_perm)
    extra("global_admin_without_role").user_permissions.add(global_perm)
    extra("expired_leader", role="grid_leader", unit=grids[0], until=datetime.date(2020, 1, 1))
    extra("covering_leader", role="grid_leader", unit=grids[2])
    grids[2].covers.add(grids[1])
    group = Group.objects.create(name="admins by group")
    assign_perm("engine.manage_community", group, minyue)
    extra("group_admin").groups.add(group)
    assignee = extra("assignee", role="member", unit=grids[1])

    def item(unit, community=minyue, submitter=None):
        return Submission.objects.create(community=community, form=form, form_version=form.live_version,
                                         submitter=submitter, unit=unit, data={"subject": "楼道灯"})

    items = {"own grid": world["item"], "other grid": item(grids[1]), "no unit": item(None),
             "zanan": item(OrgUnit.objects.filter(community=zanan, level="grid").first(), community=zanan,
                           submitter=users["neighbour"])}
    assigned = items["assigned"] = item(grids[1])
    FlowInstance.objects.create(community=minyue, submission=assigned, flow=flow, flow_version=flow.live_version,
                                state="in_progress", entered_at=timezone.now(), assignee=assignee)

    answers = {}
    for who, user in users.items():
        for what, submission in items.items():
            fresh = Submission.objects.get(pk=submission.pk)  # no relation loaded beforehand
            expected = policy.visible_submissions(user, Submission.objects.filter(pk=submission.pk)).exists()
            answers[who, what] = policy.can_view_submission(user, fresh)
            assert answers[who, what] == expected, (who, what)
    # and the cases the extra people were made for
    assert answers["assignee", "assigned"] and not answers["assignee", "other grid"]
    assert answers["covering_leader", "other grid"] and not answers["covering_leader", "own grid"]
    assert not answers["global_admin_with_role", "no unit"] and not answers["global_admin_without_role", "no unit"]
    assert answers["group_admin", "no unit"] and not answers["group_admin", "zanan"]
    assert not answers["expired_leader", "own grid"]
    assert answers["neighbour", "zanan"] and answers["other_secretary", "zanan"]
