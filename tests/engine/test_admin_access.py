"""Entering Wagtail's admin area follows the policy: an admin appointed by role may, on the next request;
one whose role is taken away, or a staff member who is not an admin, may not."""

import io

import pytest
from django.core.management import call_command
from django.test import Client

from engine.models import Community, OrgUnit, Person
from engine.services import people


@pytest.fixture
def minyue(db, django_user_model):
    call_command("load_definitions", "workflows_yaml/kaiyuan", "workflows_yaml/minyue", stdout=io.StringIO(),
                 stderr=io.StringIO())
    return Community.objects.get(slug="minyue")


def test_an_appointed_admin_enters_the_admin_area_until_the_role_is_taken(minyue, django_user_model):
    street = django_user_model.objects.create_superuser("street", "s@example.cn", "x" * 12)
    user = django_user_model.objects.create_user("new-secretary", password="x" * 12)
    person = people.add_person(minyue, actor=street, name="新书记")
    people.link_account(person, actor=street, username="new-secretary")
    client = Client()
    client.force_login(user)
    assert client.get("/admin/").status_code == 302  # nobody yet
    leader = people.give_role(person, actor=street, role="grid_leader", unit="grid_1")
    assert client.get("/admin/").status_code == 302  # staff, not an admin: the inbox is theirs, not the admin
    secretary = people.give_role(person, actor=street, role="community_secretary",
                                 unit=OrgUnit.objects.get(community=minyue, depth=1))
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/linli/").status_code == 200
    people.take_role(secretary, actor=street)
    assert client.get("/admin/").status_code == 302
    people.take_role(leader, actor=street)
    assert not Person.objects.get(pk=person.pk).roles.exists()


def test_a_guardian_appointed_admin_enters_and_a_deactivated_one_does_not(minyue, django_user_model):
    street = django_user_model.objects.create_superuser("street", "s@example.cn", "x" * 12)
    user = django_user_model.objects.create_user("appointed", password="x" * 12)
    client = Client()
    client.force_login(user)
    people.grant_manage(minyue, actor=street, user=user)
    assert client.get("/admin/").status_code == 200
    people.revoke_manage(minyue, actor=street, user=user)
    assert client.get("/admin/").status_code == 302
    person = people.add_person(minyue, actor=street, name="书记乙")
    people.link_account(person, actor=street, username="appointed")
    people.give_role(person, actor=street, role="community_secretary", unit=OrgUnit.objects.get(community=minyue,
                                                                                                  depth=1))
    assert client.get("/admin/").status_code == 200
    people.set_active(person, actor=street, active=False, reason="离任")
    assert client.get("/admin/").status_code == 302
