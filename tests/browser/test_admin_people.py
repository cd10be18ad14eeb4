"""The people and roles screens in a real browser, on a phone: a secretary adds a person, gives them a
role at a grid (the unit picker lists only grids once the role is chosen), sees it on the overview and
takes it away again."""

import pytest

from engine.models import Community, OrgUnit, PeopleChange, Person, RoleAssignment

from .conftest import PASSWORD, log_in

pytestmark = pytest.mark.browser

PEOPLE = "/admin/linli/people/minyue/"


def secretary(django_user_model):
    """An account of minyue's community_secretary (an admin role), made here, not one of the demo's."""
    minyue = Community.objects.get(slug="minyue")
    user = django_user_model.objects.create_user("people-secretary", password=PASSWORD, first_name="书记")
    person = Person.objects.create(community=minyue, user=user, name="书记")
    RoleAssignment.objects.create(community=minyue, person=person, role="community_secretary",
                                  unit=OrgUnit.objects.get(community=minyue, depth=1))
    return user


def test_the_secretary_adds_a_person_gives_and_takes_a_role(new_page, django_user_model):
    user = secretary(django_user_model)
    page, problems = new_page()
    log_in(page, user.username, PEOPLE + "add/")
    page.fill("input[name=name]", "林小满")
    page.fill("input[name=phone]", "139 0000 9001")
    page.select_option("select[name=unit]", "grid_1")
    page.fill("textarea[name=reason]", "新任网格长")
    page.locator("form.linli-inline-form button[type=submit]").click()
    page.wait_for_url("**/people/minyue/*/")
    person = Person.objects.get(community__slug="minyue", name="林小满")
    assert person.phone == "13900009001" and "林小满已添加。" in page.content()

    give = page.locator("form[data-linli-give-role]")
    give.locator("select[name=role]").select_option("grid_leader")
    # the unit picker now offers grids only (the server checks again)
    assert give.locator("select[name=unit] option[value=tongxingyuan]").is_disabled()
    assert not give.locator("select[name=unit] option[value=grid_1]").is_disabled()
    give.locator("select[name=unit]").select_option("grid_1")
    give.locator("button[type=submit]").click()
    page.wait_for_url(f"**{PEOPLE}{person.pk}/")
    assert "林小满现在是第一网格（同兴苑）的“网格长”。" in page.content()

    page.goto(PEOPLE + "roles/")
    holders = page.locator("[data-linli-unit=grid_1] [data-linli-role=grid_leader]")
    assert "林小满" in holders.inner_text()

    holders.get_by_role("link", name="林小满").click()
    page.wait_for_url(f"**{PEOPLE}{person.pk}/")
    page.locator("[data-linli-person-roles]").get_by_role("link", name="撤销…").click()
    page.wait_for_url("**/take/")
    page.fill("textarea[name=reason]", "试用结束")
    page.locator("form[data-linli-confirm] button[type=submit]").click()
    page.wait_for_url(f"**{PEOPLE}{person.pk}/")
    assert "已撤销林小满的“网格长”。" in page.content()
    assert not RoleAssignment.objects.filter(person=person).exists()
    assert PeopleChange.objects.filter(person=person, actor=user).count() == 3  # added, given, taken
    assert problems.items == []
