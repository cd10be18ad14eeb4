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
