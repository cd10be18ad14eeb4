"""People and roles through the API: who may, bad input, races, revocation on the very next request."""

import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from rest_framework.test import APIClient

from engine.models import Community, OrgUnit, PeopleChange, Person, RoleAssignment
from engine.services import people as people_service
from engine.services.submissions import submit
from tests.concurrency import race

BASE = "/api/v1/communities/minyue/people/"


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def _load():
    call_command("load_definitions", "workflows_yaml/kaiyuan", "workflows_yaml/minyue", "workflows_yaml/zanan",
                 "forms_schemas/minyue", "forms_schemas/zanan", stdout=io.StringIO(), stderr=io.StringIO())


def _staff(community, username, role, unit_key=None):
    user = get_user_model().objects.create_user(username, password="x" * 12)
    unit = (OrgUnit.objects.get(community=community, key=unit_key) if unit_key
            else OrgUnit.objects.get(community=community, depth=1))
    person = Person.objects.create(community=community, user=user, name=username)
    RoleAssignment.objects.create(community=community, person=person, role=role, unit=unit)
    return user


@pytest.fixture
def setup(db):
    _load()
    minyue, zanan = Community.objects.get(slug="minyue"), Community.objects.get(slug="zanan")
    secretary = _staff(minyue, "minyue-sec", "community_secretary")
    other = _staff(zanan, "zanan-sec", next(r["key"] for r in zanan.definitions.get(kind="community")
                                             .live_version.data["roles"] if r.get("admin")))
    resident = get_user_model().objects.create_user("res", password="x" * 12)
    Person.objects.create(community=minyue, user=resident, name="居民甲", unit=OrgUnit.objects.get(community=minyue,
                                                                                              key="grid_1"))
    return minyue, zanan, secretary, other, resident


def test_an_admin_adds_a_person_gives_a_role_and_finds_them(setup):
    minyue, zanan, secretary, other, resident = setup
    api = client_for(secretary)
    created = api.post(BASE, {"name": "王网格", "phone": "139 0000 1234", "unit": "grid_1", "reason": "新任"},
                       format="json")
    assert created.status_code == 201, created.json()
    pid = created.json()["id"]
    assert created.json()["phone"] == "13900001234" and created.json()["unit"] == "grid_1"
    role = api.post(f"{BASE}{pid}/roles/", {"role": "grid_leader", "unit": "grid_1", "until": "2099-12-31"},
                    format="json")
    assert role.status_code == 201, role.json()
    assert RoleAssignment.objects.get(pk=role.json()["id"]).person_id == pid
    assert [p["id"] for p in api.get(BASE, {"q": "1234"}).json()] == [pid]       # phone suffix
    assert [p["id"] for p in api.get(BASE, {"q": "王网"}).json()] == [pid]        # name
    assert [p["id"] for p in api.get(BASE, {"role": "grid_leader"}).json()] == [pid]
    assert pid in [p["id"] for p in api.get(BASE, {"unit": "tongxingyuan"}).json()]  # the unit and below
    assert pid not in [p["id"] for p in api.get(BASE, {"unit": "grid_2"}).json()]
    detail = api.get(f"{BASE}{pid}/").json()
    assert detail["roles"][0]["role"] == "grid_leader" and detail["roles"][0]["until"] == "2099-12-31"
    changes = list(PeopleChange.objects.filter(person_id=pid).order_by("pk").values_list("action", "actor", "reason"))
    assert changes == [("add_person", secretary.pk, "新任"), ("give_role", secretary.pk, "")]


def test_a_role_held_in_an_organisation(setup):
    minyue, zanan, secretary, other, resident = setup
    api = client_for(secretary)
    pid = api.post(BASE, {"name": "商户甲"}, format="json").json()["id"]
    merchant = api.post(f"{BASE}{pid}/roles/", {"role": "merchant", "unit": "organisation"}, format="json")
    assert merchant.status_code == 201, merchant.json()
    assignment = RoleAssignment.objects.get(pk=merchant.json()["id"])
    assert assignment.organisation == "zhongxiang_alliance" and assignment.unit.depth == 1
    # property_manager is an organisation's role held at a compound: "organisation" alone is not enough
    refused = api.post(f"{BASE}{pid}/roles/", {"role": "property_manager", "unit": "organisation"}, format="json")
    assert refused.status_code == 400 and "/unit" in refused.json()["errors"]


@pytest.mark.parametrize("body, pointer", [
    ({"phone": "13900001111"}, "/name"),
    ({"name": "  "}, "/name"),
    ({"name": "甲" * 101}, "/name"),
    ({"name": "甲", "phone": "12345"}, "/phone"),
    ({"name": "甲", "phone": 13900001111}, "/phone"),
    ({"name": "甲", "unit": "no_such_unit"}, "/unit"),
    ({"name": "甲", "reason": "x" * 501}, "/reason"),
])
def test_bad_people_are_refused_with_the_field_and_nothing_is_written(setup, body, pointer):
    minyue, zanan, secretary, other, resident = setup
    before = (Person.objects.count(), PeopleChange.objects.count())
    answer = client_for(secretary).post(BASE, body, format="json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert answer.status_code == 400
    assert pointer in answer.json()["errors"]
    assert re.search(r"[\u4e00-\u9fff]", answer.json()["errors"][pointer][0])  # said in Chinese
    assert (Person.objects.count(), PeopleChange.objects.count()) == before


def test_a_number_belongs_to_one_person_of_the_community(setup):
    minyue, zanan, secretary, other, resident = setup
    api = client_for(secretary)
    assert api.post(BASE, {"name": "甲", "phone": "13900002222"}, format="json").status_code == 201
    again = api.post(BASE, {"name": "乙", "phone": "+86 139-0000-2222"}, format="json")
    assert again.status_code == 400 and "甲" in again.json()["errors"]["/phone"][0]


@pytest.mark.parametrize("body, pointer", [
    ({"role": "no_such_role", "unit": "grid_1"}, "/role"),
    ({"role": "grid_leader", "unit": "tongxingyuan"}, "/unit"),       # a grid role at a compound
    ({"role": "grid_leader"}, "/unit"),                                # a unit is needed
    ({"role": "grid_leader", "unit": "grid_1", "until": "2001-01-01"}, "/until"),
    ({"role": "grid_leader", "unit": "grid_1", "until": "next week"}, "/until"),
    ({"role": "merchant", "unit": "organisation", "organisation": "nope"}, "/organisation"),
    ({"role": ["grid_leader"], "unit": "grid_1"}, "/role"),
])
def test_bad_roles_are_refused_with_the_field_and_nothing_is_written(setup, body, pointer):
    minyue, zanan, secretary, other, resident = setup
    person = Person.objects.create(community=minyue, name="某人")
    before = (RoleAssignment.objects.count(), PeopleChange.objects.count())
    answer = client_for(secretary).post(f"{BASE}{person.pk}/roles/", body, format="json")
    assert answer.status_code == 400 and pointer in answer.json()["errors"], answer.json()
    assert (RoleAssignment.objects.count(), PeopleChange.objects.count()) == before


def test_who_may_use_the_people_api(setup):
    minyue, zanan, secretary, other, resident = setup
    zanan_person = Person.objects.create(community=zanan, name="酂南居民")
    minyue_person = Person.objects.create(community=minyue, name="民悦居民")
    anonymous = APIClient()
    assert anonymous.get(BASE).status_code in (401, 403)
    for user in (resident, other):  # a resident; the admin of another community
        api = client_for(user)
        assert api.get(BASE).status_code == 403
        assert api.post(BASE, {"name": "x"}, format="json").status_code == 403
        assert api.get(f"{BASE}{minyue_person.pk}/").status_code == 403
        assert api.post(f"{BASE}{minyue_person.pk}/roles/", {"role": "grid_leader", "unit": "grid_1"},
                        format="json").status_code == 403
    api = client_for(secretary)
    # another community's person through this community's path: not found, as if the id did not exist
    assert api.get(f"{BASE}{zanan_person.pk}/").status_code == 404
    assert api.patch(f"{BASE}{zanan_person.pk}/", {"name": "改"}, format="json").status_code == 404
    assert api.post(f"{BASE}{zanan_person.pk}/roles/", {"role": "grid_leader", "unit": "grid_1"},
                    format="json").status_code == 404
    assert api.get("/api/v1/communities/zanan/people/").status_code == 403
    assert api.get("/api/v1/communities/nowhere/people/").status_code == 404
    assert Person.objects.get(pk=zanan_person.pk).name == "酂南居民"


def test_a_guardian_appointed_admin_may_until_revoked(setup):
    minyue, zanan, secretary, other, resident = setup
    appointed = get_user_model().objects.create_user("appointed", password="x" * 12)
    people_service.grant_manage(minyue, actor=secretary, user=appointed, reason="街道任命")
    assert client_for(appointed).get(BASE).status_code == 200
    assert [u.username for u in people_service.managers_by_permission(minyue)] == ["appointed"]
    people_service.revoke_manage(minyue, actor=secretary, user=appointed, reason="离任")
    assert client_for(get_user_model().objects.get(pk=appointed.pk)).get(BASE).status_code == 403
    assert list(PeopleChange.objects.filter(community=minyue, action__in=["grant_permission", "revoke_permission"])
                .order_by("pk").values_list("action", flat=True)) == ["grant_permission", "revoke_permission"]


def test_a_role_taken_away_is_refused_on_the_very_next_request(setup):
    minyue, zanan, secretary, other, resident = setup
    api = client_for(secretary)
    leader = get_user_model().objects.create_user("leader", password="x" * 12)
    pid = api.post(BASE, {"name": "网格长", "unit": "grid_1"}, format="json").json()["id"]
    Person.objects.filter(pk=pid).update(user=leader)
    rid = api.post(f"{BASE}{pid}/roles/", {"role": "grid_leader", "unit": "grid_1"}, format="json").json()["id"]
    item = submit(form=minyue.definitions.get(kind="form", key="resident-request"), user=resident,
                  data=_request_data(minyue)).submission
    as_leader = client_for(leader)
    assert as_leader.get(f"/api/v1/submissions/{item.pk}/").status_code == 200
    assert [t["id"] for t in as_leader.get("/api/v1/tasks/").json()] == [item.pk]
    assert api.delete(f"{BASE}{pid}/roles/{rid}/").status_code == 204
    assert as_leader.get(f"/api/v1/submissions/{item.pk}/").status_code == 404
    assert as_leader.get("/api/v1/tasks/").json() == []
    step = as_leader.post(f"/api/v1/submissions/{item.pk}/transitions/",
                          {"transition": "analyse", "data": {"analysis": "x", "handling_level": "网格办理"}},
                          format="json")
    assert step.status_code in (403, 404)
    assert api.delete(f"{BASE}{pid}/roles/{rid}/").status_code == 404  # already gone


def test_a_deactivated_person_holds_no_role(setup):
    minyue, zanan, secretary, other, resident = setup
    api = client_for(secretary)
    leader = get_user_model().objects.create_user("leader2", password="x" * 12)
    pid = api.post(BASE, {"name": "网格长乙", "unit": "grid_1"}, format="json").json()["id"]
    Person.objects.filter(pk=pid).update(user=leader)
    api.post(f"{BASE}{pid}/roles/", {"role": "grid_leader", "unit": "grid_1"}, format="json")
    from engine import policy

    assert policy.roles_of(leader, minyue) == {"grid_leader"}
    answer = api.patch(f"{BASE}{pid}/", {"active": False, "reason": "搬走了"}, format="json")
    assert answer.status_code == 200 and answer.json()["active"] is False
    assert policy.roles_of(leader, minyue) == set()
    assert pid not in [p["id"] for p in api.get(BASE).json()]
    assert pid in [p["id"] for p in api.get(BASE, {"inactive": "1"}).json()]
    refused = api.post(f"{BASE}{pid}/roles/", {"role": "resident", "unit": "grid_1"}, format="json")
    assert refused.status_code == 400 and "/person" in refused.json()["errors"]
    assert PeopleChange.objects.filter(person_id=pid, action="deactivate_person", reason="搬走了").exists()


def test_editing_a_person_records_before_and_after(setup):
    minyue, zanan, secretary, other, resident = setup
    api = client_for(secretary)
    pid = api.post(BASE, {"name": "赵", "unit": "grid_1"}, format="json").json()["id"]
    answer = api.patch(f"{BASE}{pid}/", {"name": "赵大", "unit": "grid_2"}, format="json")
    assert answer.status_code == 200 and answer.json()["unit"] == "grid_2"
    change = PeopleChange.objects.get(person_id=pid, action="edit_person")
    assert change.data == {"before": {"name": "赵", "unit": "grid_1"}, "after": {"name": "赵大", "unit": "grid_2"}}
    bad = api.patch(f"{BASE}{pid}/", {"name": "赵二", "unit": "nowhere"}, format="json")
    assert bad.status_code == 400 and Person.objects.get(pk=pid).name == "赵大"
    assert api.patch(f"{BASE}{pid}/", {"community": "zanan"}, format="json").status_code == 400
    assert api.patch(f"{BASE}{pid}/", ["not", "an", "object"], format="json").status_code == 400


def _request_data(community):
    return {"category": "facilities", "subject": "楼道灯坏了", "details": "三单元楼道灯坏了两个星期，晚上看不见。",
            "urgency": "normal", "address": {"unit": "grid_1"}, "contact_name": "张明", "contact_preference": "visit"}


@pytest.mark.django_db(transaction=True)
def test_two_admins_giving_the_same_role_at_once_make_one_assignment():
    _load()
    minyue = Community.objects.get(slug="minyue")
    secretary = _staff(minyue, "sec-race", "community_secretary")
    person = Person.objects.create(community=minyue, name="争")

    def give(index):
        return client_for(secretary).post(f"{BASE}{person.pk}/roles/", {"role": "grid_leader", "unit": "grid_1"},
                                          format="json").status_code

    results, errors = race(6, give)
    assert not errors
    assert sorted(results) == [201] + [400] * 5
    assert RoleAssignment.objects.filter(person=person, role="grid_leader").count() == 1
    assert PeopleChange.objects.filter(person=person, action="give_role").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_admins_adding_the_same_number_at_once_make_one_person():
    _load()
    minyue = Community.objects.get(slug="minyue")
    secretary = _staff(minyue, "sec-race2", "community_secretary")

    def add(index):
        return client_for(secretary).post(BASE, {"name": f"人{index}", "phone": "13900005555"},
                                          format="json").status_code

    results, errors = race(5, add)
    assert not errors
    assert sorted(results) == [201] + [400] * 4
    assert Person.objects.filter(community=minyue, phone="13900005555").count() == 1


def test_the_streets_admin_manages_its_communities_people_and_no_other_streets(setup):
    minyue, zanan, secretary, other, resident = setup
    street = _staff(Community.objects.get(slug="kaiyuan"), "street-sec", "street_secretary")
    api = client_for(street)
    created = api.post(BASE, {"name": "街道派来的", "unit": "grid_2"}, format="json")
    assert created.status_code == 201
    assert api.post(f"{BASE}{created.json()['id']}/roles/", {"role": "grid_leader", "unit": "grid_2"},
                    format="json").status_code == 201
    if zanan.parent_id != Community.objects.get(slug="kaiyuan").pk:
        assert api.get("/api/v1/communities/zanan/people/").status_code == 403


def test_a_wrong_level_is_named_by_its_title(setup):
    minyue, zanan, secretary, other, resident = setup
    person = Person.objects.create(community=minyue, name="某人")
    answer = client_for(secretary).post(f"{BASE}{person.pk}/roles/", {"role": "grid_leader", "unit": "tongxingyuan"},
                                        format="json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    message = answer.json()["errors"]["/unit"][0]
    assert "网格党小组" in message and "grid" not in message
