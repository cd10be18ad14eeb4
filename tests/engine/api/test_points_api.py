"""The points API: leaderboard with masked names, one's own balance, admins' awards."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from rest_framework.test import APIClient

from engine.models import Community, OrgUnit, Person, RoleAssignment
from engine.services import points


@pytest.fixture
def setup(db):
    call_command("load_definitions", "workflows_yaml/kaiyuan", "workflows_yaml/minyue", stdout=io.StringIO())
    community = Community.objects.get(slug="minyue")
    User = get_user_model()
    secretary = User.objects.create_user("sec", password="x" * 12)
    resident = User.objects.create_user("res", password="x" * 12)
    root = OrgUnit.objects.get(community=community, depth=1)
    RoleAssignment.objects.create(community=community, role="community_secretary", unit=root,
                                  person=Person.objects.create(community=community, user=secretary, name="书记"))
    me = Person.objects.create(community=community, user=resident, name="张小明")
    category = points._community_data(community)["points"]["categories"][0]["key"]
    return community, secretary, resident, me, category


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_leaderboard_masks_names_unless_consented(setup):
    community, secretary, resident, me, category = setup
    points.award(person=me, category=category, points=9, reason="巡逻")
    shown = Person.objects.create(community=community, name="李华", show_name_publicly=True)
    points.award(person=shown, category=category, points=4, reason="巡逻")
    body = client_for(resident).get("/api/v1/communities/minyue/points/leaderboard/?period=quarter").json()
    assert body["entries"] == [{"rank": 1, "name": "张*明", "points": 9}, {"rank": 2, "name": "李华", "points": 4}]
    assert client_for(resident).get("/api/v1/communities/minyue/points/leaderboard/?period=decade").status_code == 400


def test_the_balance_is_the_callers_own(setup):
    community, secretary, resident, me, category = setup
    points.award(person=me, category=category, points=6, reason="清洁")
    body = client_for(resident).get("/api/v1/communities/minyue/points/balance/").json()
    assert body["balance"] == 6 and body["history"][0]["reason"] == "清洁"
    stranger = get_user_model().objects.create_user("nobody", password="x" * 12)
    assert client_for(stranger).get("/api/v1/communities/minyue/points/balance/").status_code == 404


def test_an_admin_awards_with_a_reason_once_per_key_and_a_resident_cannot(setup):
    community, secretary, resident, me, category = setup
    body = {"person": me.pk, "category": category, "points": 5, "reason": "表彰"}
    first = client_for(secretary).post("/api/v1/communities/minyue/points/awards/", body, format="json",
                                       HTTP_IDEMPOTENCY_KEY="award-1")
    again = client_for(secretary).post("/api/v1/communities/minyue/points/awards/", body, format="json",
                                       HTTP_IDEMPOTENCY_KEY="award-1")
    assert first.status_code == again.status_code == 201 and points.balance(me) == 5
    assert client_for(resident).post("/api/v1/communities/minyue/points/awards/", body,
                                     format="json").status_code == 403
    bad = client_for(secretary).post("/api/v1/communities/minyue/points/awards/",
                                     {"person": me.pk, "category": category, "points": -50, "reason": ""},
                                     format="json")
    assert bad.status_code == 400 and set(bad.json()["errors"]) == {"/reason"}
    overdraw = client_for(secretary).post("/api/v1/communities/minyue/points/awards/",
                                          {"person": me.pk, "category": category, "points": -50, "reason": "违规"},
                                          format="json")
    assert overdraw.status_code == 400 and "积分不足" in overdraw.json()["errors"]["/points"][0]
    assert points.balance(me) == 5


@pytest.fixture
def zanan_setup(db):
    call_command("load_definitions", "workflows_yaml/kaiyuan", "workflows_yaml/minyue", "workflows_yaml/zanan",
                 stdout=io.StringIO(), stderr=io.StringIO())
    zanan = Community.objects.get(slug="zanan")
    admin_role = next(r["key"] for r in zanan.definitions.get(kind="community").live_version.data["roles"]
                      if r.get("admin"))
    admin = get_user_model().objects.create_user("zanan-admin", password="x" * 12)
    RoleAssignment.objects.create(community=zanan, role=admin_role, unit=OrgUnit.objects.get(community=zanan, depth=1),
                                  person=Person.objects.create(community=zanan, user=admin, name="书记"))
    patroller = Person.objects.create(community=zanan, name="巡逻队员")
    return zanan, admin, patroller


def test_an_admin_awards_by_a_rule_of_community_yaml_within_its_limit(zanan_setup):
    zanan, admin, patroller = zanan_setup
    api = client_for(admin)
    url = "/api/v1/communities/zanan/points/awards/"
    first = api.post(url, {"person": patroller.pk, "rule": "security_patrol", "reason": "12月3日夜间巡逻"},
                     format="json")
    assert first.status_code == 201 and first.json()["points"] == 3 and first.json()["rule"] == "security_patrol"
    for n in range(7):  # the rule allows 8 a month
        assert api.post(url, {"person": patroller.pk, "rule": "security_patrol", "reason": f"巡逻{n}"},
                        format="json").status_code == 201
    ninth = api.post(url, {"person": patroller.pk, "rule": "security_patrol", "reason": "巡逻9"}, format="json",
                     HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert ninth.status_code == 400 and "上限" in ninth.json()["errors"]["/points"][0]
    assert points.balance(patroller) == 24
    unknown = api.post(url, {"person": patroller.pk, "rule": "no_such_rule", "reason": "x"}, format="json")
    assert unknown.status_code == 400 and "/rule" in unknown.json()["errors"]
    both = api.post(url, {"person": patroller.pk, "rule": "security_patrol", "points": 50, "reason": "x"},
                    format="json")
    assert both.status_code == 400 and "/points" in both.json()["errors"]
    assert points.balance(patroller) == 24


@pytest.mark.parametrize("body, pointer", [
    ({"points": 2 ** 70}, "/points"),
    ({"points": 2 ** 62}, "/points"),
    ({"points": 10_001}, "/points"),
    ({"points": -10_001}, "/points"),
    ({"points": 5, "reason": "理" * 501}, "/reason"),
    ({"points": True}, "/points"),
])
def test_hand_awards_are_bounded_and_nothing_is_written(zanan_setup, body, pointer):
    zanan, admin, patroller = zanan_setup
    category = points._community_data(zanan)["points"]["categories"][0]["key"]
    sent = {"person": patroller.pk, "category": category, "reason": "表彰", **body}
    answer = client_for(admin).post("/api/v1/communities/zanan/points/awards/", sent, format="json")
    assert answer.status_code == 400 and pointer in answer.json()["errors"]
    assert points.balance(patroller) == 0
