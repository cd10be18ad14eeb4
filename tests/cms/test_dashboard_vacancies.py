"""The community dashboard lists the roles its flows need that nobody holds where they are needed."""

import datetime
import re

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from engine.models import Community, OrgUnit, Person, RoleAssignment
from engine.services.dashboard import dashboard
from tests.cms.test_admin_area import client_for, make_people

DASHBOARD = "/admin/linli/dashboard/minyue/"
STREET = "/admin/linli/dashboard/street/kaiyuan/"


@pytest.fixture
def users(db):
    return make_people()


def lead(unit_key, **assignment):
    community = Community.objects.get(slug="minyue")
    unit = OrgUnit.objects.get(community=community, key=unit_key)
    # a holder who can sign in: one with no account yet leaves the role vacant (policy.current_assignments)
    account = get_user_model().objects.create_user(f"leader-{unit_key}", password="x" * 12)
    person = Person.objects.create(community=community, name=f"{unit_key}的网格长", unit=unit, user=account)
    RoleAssignment.objects.create(community=community, person=person, role="grid_leader", unit=unit, **assignment)


def rows(html):
    """(unit, role title, role key, needed by) of the vacancies table."""
    table = html[html.index('class="listing linli-vacancies"'):]
    table = table[:table.index("</table>")]
    return re.findall(r'<th scope="row">(.*?)</th>\s*<td>(.*?) <span class="help-text">(\w+)</span></td>\s*<td>(.*?)</td>',
                      table)


def test_the_dashboard_lists_each_vacant_role_with_its_unit_and_the_steps_needing_it(users):
    lead("grid_3")
    html = client_for(users["minyue_admin"]).get(DASHBOARD).content.decode()
    assert "空缺的角色" in html
    found = rows(html)
    assert ("第一网格（同兴苑）", "网格长", "grid_leader", "民情直通车 · 研判；民情直通车 · 不予受理") in found
    assert not [row for row in found if row[0].startswith("第三网格") and row[2] == "grid_leader"]  # it has one
    assert ("民悦社区", "开源街道包联干部", "street_liaison") in {row[:3] for row in found}  # nobody in the community


def test_an_ended_term_shows_as_a_vacancy_again(users):
    lead("grid_3", until=timezone.localdate() - datetime.timedelta(days=1))
    board = dashboard(Community.objects.get(slug="minyue"), timezone.localdate(), timezone.localdate())
    assert ("grid_leader", "grid_3") in {(v.role, v.unit.key) for v in board.vacancies if v.unit}


def test_a_fully_staffed_community_says_so(users):
    community = Community.objects.get(slug="minyue")
    board = dashboard(community, timezone.localdate(), timezone.localdate())
    roles = {v.role for v in board.vacancies}
    for n, vacancy in enumerate(board.vacancies):  # appoint someone to every vacancy: the list empties
        unit = vacancy.unit or OrgUnit.objects.get(community=community, depth=1)
        account = get_user_model().objects.create_user(f"appointed-{n}", password="x" * 12)
        person = Person.objects.create(community=community, name="新任", unit=unit, user=account)
        RoleAssignment.objects.get_or_create(community=community, person=person, role=vacancy.role, unit=unit)
    assert {"grid_leader", "member", "street_liaison"} <= roles
    html = client_for(users["minyue_admin"]).get(DASHBOARD).content.decode()
    assert "流程需要的角色在各相应单位都有人担任。" in html and "linli-vacancies" not in html


def test_hostile_unit_names_are_escaped(users):
    OrgUnit.objects.filter(key="grid_1").update(name='<script>alert("x")</script>')
    html = client_for(users["minyue_admin"]).get(DASHBOARD).content.decode()
    assert '<script>alert("x")' not in html and "&lt;script&gt;alert(" in html


def test_the_street_dashboard_lists_its_communities_vacancies(users):
    html = client_for(users["superuser"]).get(STREET).content.decode()
    assert "第一网格（同兴苑）" in html[html.index("linli-vacancies"):]


def test_other_communities_admins_do_not_see_the_vacancies(users):
    assert client_for(users["zanan_admin"]).get(DASHBOARD).status_code == 404
