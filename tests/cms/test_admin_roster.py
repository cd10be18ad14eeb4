"""Importing a roster in the admin area: a dry run first, then the import, for those who manage the community."""

import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client

from engine.models import Community, OrgUnit, PeopleChange, Person, RoleAssignment

URL = "/admin/linli/people/minyue/roster/"
GOOD = "姓名,手机,单位,角色\n新网格长,13900008001,grid_1,grid_leader\n新两委,13900008002,minyue,community_worker\n"
BAD = "姓名,手机,单位,角色\n,123,nowhere,grid_leader\n"


@pytest.fixture
def minyue(db, django_user_model):
    call_command("load_definitions", "workflows_yaml/kaiyuan", "workflows_yaml/minyue", "workflows_yaml/zanan",
                 stdout=io.StringIO(), stderr=io.StringIO())
    community = Community.objects.get(slug="minyue")
    secretary = django_user_model.objects.create_user("sec", password="x" * 12)
    root = OrgUnit.objects.get(community=community, depth=1)
    RoleAssignment.objects.create(community=community, role="community_secretary", unit=root,
                                  person=Person.objects.create(community=community, user=secretary, name="书记"))
    return community, secretary


def _client(user):
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(user)
    return client


def test_a_bad_roster_lists_its_rows_in_chinese_and_writes_nothing(minyue):
    community, secretary = minyue
    before = (Person.objects.count(), PeopleChange.objects.count())
    page = _client(secretary).post(URL, {"file": SimpleUploadedFile("名单.csv", BAD.encode())})
    body = page.content.decode()
    assert page.status_code == 200
    assert "第2行 姓名: 姓名不能为空" in body and "第2行 单位: 单位“nowhere”不存在" in body
    assert 'name="token"' not in body
    assert (Person.objects.count(), PeopleChange.objects.count()) == before


def test_a_clean_roster_is_previewed_then_imported_once(minyue):
    community, secretary = minyue
    client = _client(secretary)
    page = client.post(URL, {"file": SimpleUploadedFile("名单.csv", GOOD.encode())})
    body = page.content.decode()
    assert "新网格长" in body and not Person.objects.filter(name="新网格长").exists()  # a dry run
    token = re.search(r'name="token" value="([^"]+)"', body).group(1)
    done = client.post(URL, {"token": token}, follow=True)
    assert "添加2人" in done.content.decode() or "2" in done.content.decode()
    leader = Person.objects.get(name="新网格长")
    assert leader.roles.get().role == "grid_leader"
    assert PeopleChange.objects.get(action="import").actor == secretary
    # the token is spent; the same file again changes nothing
    assert "已过期" in client.post(URL, {"token": token}, follow=True).content.decode()
    token = re.search(r'name="token" value="([^"]+)"', client.post(
        URL, {"file": SimpleUploadedFile("名单.csv", GOOD.encode())}).content.decode()).group(1)
    changes = PeopleChange.objects.count()
    client.post(URL, {"token": token})
    assert PeopleChange.objects.count() == changes and Person.objects.filter(name="新网格长").count() == 1


def test_only_those_who_manage_the_community_may_import(minyue, django_user_model):
    community, secretary = minyue
    zanan = Community.objects.get(slug="zanan")
    other = django_user_model.objects.create_user("zanan-admin", password="x" * 12)
    admin_role = next(r["key"] for r in zanan.definitions.get(kind="community").live_version.data["roles"]
                      if r.get("admin"))
    RoleAssignment.objects.create(community=zanan, role=admin_role, unit=OrgUnit.objects.get(community=zanan, depth=1),
                                  person=Person.objects.create(community=zanan, user=other, name="酂南书记"))
    leader = django_user_model.objects.create_user("leader", password="x" * 12)
    RoleAssignment.objects.create(community=community, role="grid_leader",
                                  unit=OrgUnit.objects.get(community=community, key="grid_1"),
                                  person=Person.objects.create(community=community, user=leader, name="网格长"))
    for user in (other, leader):
        client = _client(user)
        assert client.get(URL).status_code in (302, 404)
        assert client.post(URL, {"file": SimpleUploadedFile("名单.csv", GOOD.encode())}).status_code in (302, 404)
    # a token made by the secretary is no use to anyone else
    client = _client(secretary)
    token = re.search(r'name="token" value="([^"]+)"', client.post(
        URL, {"file": SimpleUploadedFile("名单.csv", GOOD.encode())}).content.decode()).group(1)
    assert _client(other).post(URL, {"token": token}).status_code in (302, 404)
    assert not Person.objects.filter(name="新网格长").exists()


def test_only_csv_and_excel_are_taken(minyue):
    community, secretary = minyue
    page = _client(secretary).post(URL, {"file": SimpleUploadedFile("名单.txt", GOOD.encode())})
    assert "请选择.csv或.xlsx文件" in page.content.decode()
    assert not Person.objects.filter(name="新网格长").exists()
