"""The people and roles screens of the admin area, through the HTTP client: who reaches which
community's people, each write through engine.services.people (bad input shown next to its field with
nothing written, a second click or a racing admin told what happened), the audit trail, CSRF, escaping,
and Chinese pages with no English on them."""

import re
import sys
from html.parser import HTMLParser

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from engine import policy
from engine.models import Community, OrgUnit, PeopleChange, Person, RoleAssignment
from engine.services import people as people_service
from tests.cms.test_admin_area import client_for, in_english, make_people, permissions_after_a_flush
from tests.concurrency import race

BASE = "/admin/linli/people/minyue/"
HOSTILE = '<script>alert("x")</script>'


def minyue():
    return Community.objects.get(slug="minyue")


def unit(key, community="minyue"):
    return OrgUnit.objects.get(community__slug=community, key=key)


def staff_account(username, community, role, unit_key=None):
    """An account holding `role` at `unit_key` (the community's root by default), allowed in the admin."""
    user = get_user_model().objects.create_user(username, password="x" * 12, first_name=username)
    user.groups.add(Group.objects.get(name="admin area staff"))
    node = unit(unit_key, community.slug) if unit_key else OrgUnit.objects.get(community=community, depth=1)
    person = Person.objects.create(community=community, user=user, name=username)
    RoleAssignment.objects.create(community=community, person=person, role=role, unit=node)
    return user


@pytest.fixture
def users(db):
    """make_people's (superuser, minyue_admin — minyue's secretary —, zanan_admin, staff, resident), and
    minyue's grid leader (staff, not admin) and kaiyuan's street secretary (the street above minyue)."""
    users = make_people()
    users["grid_leader"] = staff_account("grid_leader", minyue(), "grid_leader", "grid_1")
    users["street_admin"] = staff_account("street_admin", Community.objects.get(slug="kaiyuan"), "street_secretary")
    return users


@pytest.fixture
def wang(users):
    """王芳 of 第一网格, with a number and no account."""
    return people_service.add_person(minyue(), actor=users["minyue_admin"], name="王芳", phone="13912341234",
                                     unit="grid_1", reason="名册")


@pytest.fixture
def sms(settings, monkeypatch):
    """Messages sent through engine.sms's locmem backend (or, without engine.sms, the invitations)."""
    try:
        from engine import sms as module
    except ImportError:  # engine.sms not there: record what would be sent instead
        sent = []
        monkeypatch.setattr(people_service, "_send_invitation", lambda phone, name: sent.append((phone, name)))
        yield sent
        return
    settings.SMS_BACKEND = "locmem"
    module.outbox.clear()
    yield module.outbox
    module.outbox.clear()


def person_url(person, tail=""):
    return f"{BASE}{person.pk}/{tail}"


def screens(person, assignment=None, manager=None):
    urls = [BASE, BASE + "add/", BASE + "roles/", BASE + "changes/", person_url(person), person_url(person, "edit/"),
            person_url(person, "active/"), BASE + f"changes/?person={person.pk}"]
    if assignment is not None:
        urls.append(person_url(person, f"roles/{assignment.pk}/take/"))
    if manager is not None:
        urls.append(BASE + f"managers/{manager.pk}/revoke/")
    return urls


def writes(person, assignment, manager):
    return [(BASE + "add/", {"name": "闯入者"}), (person_url(person, "edit/"), {"name": "改名"}),
            (person_url(person, "roles/"), {"role": "grid_leader", "unit": "grid_2"}),
            (person_url(person, f"roles/{assignment.pk}/take/"), {"reason": "x"}),
            (person_url(person, "active/"), {"active": "0"}), (person_url(person, "invite/"), {}),
            (person_url(person, "account/"), {"username": "resident"}),
            (BASE + "managers/grant/", {"username": "staff"}),
            (BASE + f"managers/{manager.pk}/revoke/", {"reason": "x"})]


@pytest.fixture
def scene(users, wang):
    """王芳 holds grid_leader at 第一网格; `appointed` holds guardian's permission on minyue."""
    assignment = people_service.give_role(wang, actor=users["minyue_admin"], role="grid_leader", unit="grid_1")
    appointed = get_user_model().objects.create_user("appointed", password="x" * 12, first_name="任命的管理员")
    people_service.grant_manage(minyue(), actor=users["superuser"], user=appointed, reason="街道指定")
    return wang, assignment, appointed


def snapshot():
    """Everything the people screens may write."""
    return (list(Person.objects.order_by("pk").values()), list(RoleAssignment.objects.order_by("pk").values()),
            PeopleChange.objects.count(), sorted(u.pk for u in people_service.managers_by_permission(minyue())))


def field_errors(html, name):
    """The error messages Wagtail shows inside the field `name` (next to it)."""
    match = re.search(r'data-contentpath="%s">(.*?)data-field-input' % re.escape(name), html, re.S)
    assert match, f"no field {name}"
    return [re.sub(r"\s+", " ", text).strip() for text in re.findall(r'<p class="error-message">(.*?)</p>',
                                                                       match.group(1), re.S)]


def page_errors(html):
    """Errors shown above a form (not next to one field)."""
    inside = html.split("data-linli-people", 1)[1]  # not the messages at the top of the page
    return [text.strip() for text in re.findall(r'<li class="error">(.*?)</li>', inside, re.S)]


def messages_of(response):
    return [str(m).strip() for m in response.context["messages"]] if response.context else []


def followed(client, url, data=None):
    response = client.post(url, data or {}, follow=True)
    assert response.status_code == 200, response.status_code
    return response


# --- who reaches which community ----------------------------------------------------------------


@pytest.mark.parametrize("who", ["minyue_admin", "superuser"])
def test_every_screen_renders_for_the_secretary_and_a_superuser(scene, users, who):
    person, assignment, appointed = scene
    client = client_for(users[who])
    for url in screens(person, assignment, appointed):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "王芳" in response.content.decode() or url.endswith(("add/", "revoke/")), url


@pytest.mark.parametrize("who", ["zanan_admin", "grid_leader", "staff"])
def test_those_who_do_not_manage_the_community_get_a_404_like_a_missing_one(scene, users, who):
    person, assignment, appointed = scene
    client = client_for(users[who])
    before = snapshot()
    for url in screens(person, assignment, appointed):
        response = client.get(url)
        assert response.status_code == 404, url
        missing = client.get(url.replace("/minyue/", "/nowhere/"))
        assert missing.status_code == 404 and missing.content == response.content
    for url, data in writes(person, assignment, appointed):
        assert client.post(url, data).status_code == 404, url
    assert snapshot() == before


def test_a_resident_is_sent_to_the_login_and_changes_nothing(scene, users):
    person, assignment, appointed = scene
    client = client_for(users["resident"])
    before = snapshot()
    for url in screens(person, assignment, appointed):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/"), url
    for url, data in writes(person, assignment, appointed):
        assert client.post(url, data).status_code == 302, url
    assert snapshot() == before


def test_a_person_of_another_community_is_not_found(scene, users):
    zanan_person = Person.objects.create(community=Community.objects.get(slug="zanan"), name="赞南居民")
    client = client_for(users["minyue_admin"])
    assert client.get(f"{BASE}{zanan_person.pk}/").status_code == 404
    assert client.post(f"{BASE}{zanan_person.pk}/active/", {"active": "0"}).status_code == 404
    assert Person.objects.get(pk=zanan_person.pk).active
    # nor a role of another person of the same community, through this person's URL
    person, assignment, appointed = scene
    other = people_service.add_person(minyue(), actor=users["minyue_admin"], name="李四")
    assert client.get(person_url(other, f"roles/{assignment.pk}/take/")).status_code == 404
    client.post(person_url(other, f"roles/{assignment.pk}/take/"), {"reason": "x"})
    assert RoleAssignment.objects.filter(pk=assignment.pk).exists()


def test_a_refusal_is_written_to_the_security_log(users, caplog):
    import logging

    with caplog.at_level(logging.WARNING, logger="engine.security"):
        client_for(users["zanan_admin"]).get(BASE)
    assert "refused community people minyue to user" in caplog.text


def test_the_streets_admin_reaches_each_community_of_the_street_but_appoints_no_admin(scene, users):
    person, assignment, appointed = scene
    client = client_for(users["street_admin"])
    for url in screens(person, assignment):
        assert client.get(url).status_code == 200, url
    assert client.get("/admin/linli/people/zanan/").status_code == 404  # zanan is under no street
    assert "/people/minyue/roster/" not in client.get(BASE).content.decode()  # the import is the community's own
    assert "/people/minyue/roster/" in client_for(users["minyue_admin"]).get(BASE).content.decode()
    street = client.get("/admin/linli/people/kaiyuan/").content.decode()
    assert 'href="/admin/linli/people/minyue/"' in street  # the street's page links its communities
    # they give and take roles like the community's own admin ...
    given = client.post(person_url(person, "roles/"), {"role": "building_head", "unit": "grid_1"})
    assert given.status_code == 302
    assert PeopleChange.objects.filter(action="give_role", actor=users["street_admin"]).count() == 1
    # ... but guardian's permission is for those who manage the community itself
    roles = client.get(BASE + "roles/").content.decode()
    assert "任命的管理员" in roles and 'action="/admin/linli/people/minyue/managers/grant/"' not in roles
    before = snapshot()
    for response in (client.post(BASE + "managers/grant/", {"username": "street_admin"}),
                     client.get(BASE + f"managers/{appointed.pk}/revoke/"),
                     client.post(BASE + f"managers/{appointed.pk}/revoke/", {"reason": "x"})):
        assert response.status_code == 302 and response["Location"] == "/admin/"  # Wagtail's "no permission"
    assert snapshot() == before


def test_the_index_and_the_dashboard_link_to_the_people_screens(users):
    client = client_for(users["minyue_admin"])
    assert f'href="{BASE}"' in client.get("/admin/linli/").content.decode()
    assert f'href="{BASE}"' in client.get("/admin/linli/dashboard/minyue/").content.decode()
    index = client_for(users["superuser"]).get("/admin/linli/").content.decode()
    assert 'href="/admin/linli/people/zanan/"' in index and 'href="/admin/linli/people/kaiyuan/"' in index


# --- the people list ------------------------------------------------------------------------------


def test_the_list_searches_by_name_phone_digits_unit_and_role_and_masks_numbers(scene, users):
    person, assignment, appointed = scene
    other = people_service.add_person(minyue(), actor=users["minyue_admin"], name="赵六", phone="13600001111",
                                      unit="grid_2")
    client = client_for(users["minyue_admin"])

    def found(**query):
        response = client.get(BASE, query)
        assert response.status_code == 200
        return [row["person"].name for row in response.context["rows"]]

    assert found(q="王") == ["王芳"]
    assert found(q="1234") == ["王芳"] and found(q="41234") == ["王芳"] and found(q="13912341234") == ["王芳"]
    assert found(q="1111") == ["赵六"]
    assert found(unit="tongxingyuan") == ["王芳"]  # the unit and below
    assert found(unit="grid_2") == ["赵六"]
    assert found(role="grid_leader") == ["grid_leader", "王芳"]
    assert found(q="王", role="building_head") == []
    html = client.get(BASE, {"q": "王"}).content.decode()
    assert "139****1234" in html and "13912341234" not in html
    assert "第一网格（同兴苑）" in html and "网格长 · 第一网格（同兴苑）" in html
    assert "未关联" in html  # no account yet
    people_service.set_active(other, actor=users["minyue_admin"], active=False)
    assert "赵六" not in found() and "赵六" in found(inactive="on")
    bad = client.get(BASE, {"unit": "nowhere"})
    assert bad.context["rows"] == [] and field_errors(bad.content.decode(), "unit")


def test_the_list_is_paginated(users):
    for number in range(30):
        Person.objects.create(community=minyue(), name=f"居民{number:02d}")
    client = client_for(users["minyue_admin"])
    first = client.get(BASE, {"q": "居民"})
    second = client.get(BASE, {"q": "居民", "p": 2})
    names = [r["person"].name for r in first.context["rows"]] + [r["person"].name for r in second.context["rows"]]
    assert len(first.context["rows"]) == 25 and sorted(names) == [f"居民{n:02d}" for n in range(30)]
    assert "q=%E5%B1%85%E6%B0%91&amp;p=2" in first.content.decode()  # the next page keeps the search


# --- adding and editing a person ------------------------------------------------------------------


def test_the_secretary_adds_a_person(users):
    client = client_for(users["minyue_admin"])
    response = client.post(BASE + "add/", {"name": " 陈明 ", "phone": "139 0000 7001", "unit": "grid_1",
                                           "is_member": "on", "external_id": "A-17", "reason": "新搬来"})
    person = Person.objects.get(name="陈明")
    assert response.status_code == 302 and response["Location"] == person_url(person)
    assert (person.phone, person.unit.key, person.is_member, person.external_id) == ("13900007001", "grid_1", True,
                                                                                     "A-17")
    change = PeopleChange.objects.get(person=person)
    assert (change.action, change.actor, change.reason) == ("add_person", users["minyue_admin"], "新搬来")
    page = client.get(response["Location"])
    assert "陈明已添加。" in messages_of(page)
    assert '<dd data-linli-phone>13900007001</dd>' in page.content.decode()  # in full, on the person's own page


@pytest.mark.parametrize("data, field, message", [
    ({"name": "  ", "unit": "grid_1"}, "name", "请填写姓名。"),
    ({"name": "甲" * 101}, "name", "姓名太长了（最多100个字）。"),
    ({"name": "陈明", "phone": "12345"}, "phone", "“12345”不是11位手机号码。"),
    ({"name": "陈明", "phone": "13912341234"}, "phone", "这个手机号已登记给王芳。"),
    ({"name": "陈明", "unit": "nowhere"}, "unit", None),  # Django's "not one of the choices"
    ({"name": "陈明", "reason": "理" * 501}, "reason", "理由太长了（最多500个字）。"),
])
def test_adding_with_bad_input_shows_the_error_next_to_its_field_and_writes_nothing(users, wang, data, field,
                                                                                   message):
    client = client_for(users["minyue_admin"])
    before = snapshot()
    response = client.post(BASE + "add/", data)
    assert response.status_code == 400
    errors = field_errors(response.content.decode(), field)
    assert errors and (message is None or errors == [message]), errors
    assert snapshot() == before
    assert response.context["form"]["name"].value() == data["name"]  # what was typed is kept


def test_editing_a_person_records_what_changed(users, wang):
    client = client_for(users["minyue_admin"])
    form = client.get(person_url(wang, "edit/"))
    assert form.context["form"]["unit"].value() == "grid_1"
    response = client.post(person_url(wang, "edit/"), {"name": "王芳", "phone": "13912345678", "unit": "grid_2",
                                                       "external_id": "", "reason": "换号"})
    assert response.status_code == 302
    wang.refresh_from_db()
    assert (wang.phone, wang.unit.key) == ("13912345678", "grid_2")
    change = PeopleChange.objects.get(person=wang, action="edit_person")
    assert change.data == {"before": {"phone": "13912341234", "unit": "grid_1"},
                           "after": {"phone": "13912345678", "unit": "grid_2"}}
    assert change.reason == "换号" and change.actor == users["minyue_admin"]
    same = client.post(person_url(wang, "edit/"), {"name": "王芳", "phone": "13912345678", "unit": "grid_2"},
                       follow=True)
    assert "没有任何改动。" in messages_of(same)
    assert PeopleChange.objects.filter(person=wang, action="edit_person").count() == 1
    before = snapshot()
    bad = client.post(person_url(wang, "edit/"), {"name": "王芳芳", "phone": "1391234", "unit": "grid_2"})
    assert bad.status_code == 400 and field_errors(bad.content.decode(), "phone") == ["“1391234”不是11位手机号码。"]
    assert snapshot() == before  # not even the name


def seen_on_the_page(client, url):
    """The form's fields as the edit page fills them in (the hidden seen_* among them)."""
    form = client.get(url).context["form"]
    values = {name: form[name].value() for name in form.fields}
    return {name: str(value) if name.startswith("seen_") else value for name, value in values.items()
            if name.startswith("seen_") or value not in (None, False)}


def test_two_edits_from_stale_pages_keep_each_others_changes(users, wang):
    """Each admin's form changes only what that admin changed: the second, from a page loaded before
    the first saved, does not put back the old unit; after a refusal the page still knows what it showed."""
    first, second = client_for(users["minyue_admin"]), client_for(users["superuser"])
    url = person_url(wang, "edit/")
    page_1, page_2 = seen_on_the_page(first, url), seen_on_the_page(second, url)
    assert page_2["seen_unit"] == "grid_1" and page_2["seen_is_member"] == "False"
    assert first.post(url, {**page_1, "unit": "grid_2"}).status_code == 302
    refused = second.post(url, {**page_2, "name": "王芳华", "is_member": "on", "phone": "123"})
    assert refused.status_code == 400 and refused.context["form"]["seen_unit"].value() == "grid_1"
    assert second.post(url, {**page_2, "name": "王芳华", "is_member": "on"}).status_code == 302
    wang.refresh_from_db()
    assert (wang.name, wang.unit.key, wang.is_member, wang.phone) == ("王芳华", "grid_2", True, "13912341234")
    change = PeopleChange.objects.filter(person=wang, action="edit_person").order_by("pk").last()
    assert change.data == {"before": {"name": "王芳", "is_member": False}, "after": {"name": "王芳华", "is_member": True}}


# --- roles ------------------------------------------------------------------------------------------


def test_giving_a_role_and_seeing_it_on_the_overview(users, wang):
    client = client_for(users["minyue_admin"])
    response = client.post(person_url(wang, "roles/"), {"role": "grid_leader", "unit": "grid_1",
                                                        "until": "2099-06-30", "reason": "选举产生"}, follow=True)
    assignment = RoleAssignment.objects.get(person=wang)
    assert (assignment.role, assignment.unit.key, str(assignment.until)) == ("grid_leader", "grid_1", "2099-06-30")
    assert "王芳现在是第一网格（同兴苑）的“网格长”。" in messages_of(response)
    change = PeopleChange.objects.get(person=wang, action="give_role")
    assert (change.actor, change.reason, change.data["unit"]) == (users["minyue_admin"], "选举产生", "grid_1")
    overview = client.get(BASE + "roles/")
    grid_1 = next(u for u in overview.context["units"] if u["unit"].key == "grid_1")
    leader = next(r for r in grid_1["roles"] if r["key"] == "grid_leader")
    assert [h["name"] for h in leader["holders"]] == ["grid_leader", "王芳"]  # the fixture's, and hers
    grid_3 = next(u for u in overview.context["units"] if u["unit"].key == "grid_3")
    assert next(r for r in grid_3["roles"] if r["key"] == "grid_leader")["holders"] == []
    html = overview.content.decode()
    assert re.search(r'data-linli-unit="grid_3".*?data-linli-role="grid_leader">\s*网格长：\s*'
                     r'<span class="linli-vacant">空缺</span>', html, re.S)


def test_a_role_at_a_unit_of_the_wrong_level_is_refused_next_to_the_unit(users, wang):
    client = client_for(users["minyue_admin"])
    before = snapshot()
    response = client.post(person_url(wang, "roles/"), {"role": "grid_leader", "unit": "tongxingyuan"})
    assert response.status_code == 400
    [message] = field_errors(response.content.decode(), "unit")
    assert "网格长" in message and "同兴苑（第一小区党支部）" in message
    assert snapshot() == before


@pytest.mark.parametrize("data, field", [
    ({"role": "", "unit": "grid_1"}, "role"),
    ({"role": "mayor", "unit": "grid_1"}, "role"),
    ({"role": "grid_leader", "unit": ""}, "unit"),
    ({"role": "grid_leader", "unit": "organisation"}, "unit"),
    ({"role": "grid_leader", "unit": "grid_1", "until": "2001-01-01"}, "until"),
    ({"role": "grid_leader", "unit": "grid_1", "until": "明年"}, "until"),
    ({"role": "branch_secretary", "unit": "tongxingyuan", "organisation": "property_company"}, "organisation"),
])
def test_giving_a_role_with_bad_input_writes_nothing(users, wang, data, field):
    client = client_for(users["minyue_admin"])
    before = snapshot()
    response = client.post(person_url(wang, "roles/"), data)
    assert response.status_code == 400
    assert field_errors(response.content.decode(), field)
    assert snapshot() == before


def test_a_role_held_in_an_organisation(users, wang):
    client = client_for(users["minyue_admin"])
    assert client.post(person_url(wang, "roles/"), {"role": "merchant", "unit": "organisation"}).status_code == 302
    assignment = RoleAssignment.objects.get(person=wang)
    assert (assignment.role, assignment.organisation, assignment.unit.depth) == ("merchant", "zhongxiang_alliance", 1)
    page = client.get(person_url(wang)).content.decode()
    assert "众享联盟（开源街道党群服务矩阵商户）" in page


def test_giving_a_role_twice_says_it_is_held_already(users, wang):
    client = client_for(users["minyue_admin"])
    data = {"role": "grid_leader", "unit": "grid_1"}
    assert client.post(person_url(wang, "roles/"), data).status_code == 302
    again = client.post(person_url(wang, "roles/"), data)
    assert again.status_code == 400
    assert field_errors(again.content.decode(), "role") == ["王芳已经是第一网格（同兴苑）的“网格长”。"]
    assert RoleAssignment.objects.filter(person=wang).count() == 1


def test_taking_a_role_away_after_confirming(scene, users):
    person, assignment, appointed = scene
    client = client_for(users["minyue_admin"])
    url = person_url(person, f"roles/{assignment.pk}/take/")
    confirm = client.get(url)
    assert confirm.status_code == 200 and "撤销王芳的“网格长”？" in confirm.content.decode()
    assert RoleAssignment.objects.filter(pk=assignment.pk).exists()  # asking takes nothing
    response = followed(client, url, {"reason": "任期届满"})
    assert not RoleAssignment.objects.filter(pk=assignment.pk).exists()
    assert "已撤销王芳的“网格长”。" in messages_of(response)
    change = PeopleChange.objects.get(person=person, action="take_role")
    assert (change.actor, change.reason, change.data["role"]) == (users["minyue_admin"], "任期届满", "grid_leader")
    # a second click, or another admin's stale page: told, nothing more written
    again = followed(client, url, {"reason": "任期届满"})
    assert "这个角色已经被撤销了。" in messages_of(again)
    assert PeopleChange.objects.filter(action="take_role").count() == 1
    assert client.get(url).status_code == 404


def test_taking_a_role_needs_a_post(scene, users):
    person, assignment, appointed = scene
    client = client_for(users["minyue_admin"])
    client.get(person_url(person, f"roles/{assignment.pk}/take/"), {"reason": "x"})
    assert RoleAssignment.objects.filter(pk=assignment.pk).exists()
    assert client.get(person_url(person, "roles/")).status_code == 405


def test_the_overview_highlights_the_vacancies_a_live_flow_needs(users, wang, monkeypatch):
    """minyue's resident-request needs a grid leader in every grid: 王芳 takes 第一网格's; 第三网格's
    stays vacant and is highlighted with the steps that need it."""
    people_service.give_role(wang, actor=users["minyue_admin"], role="grid_leader", unit="grid_1")
    response = client_for(users["minyue_admin"]).get(BASE + "roles/")
    html = response.content.decode()
    needed = "民情直通车，“研判”一步；民情直通车，“不予受理”一步"
    assert re.search(r'<li class="linli-needed"><strong>网格长</strong> · 第三网格（三医院与检察院家属院） — '
                     r'流程需要：\s*' + needed, html)
    assert re.search(r'data-linli-unit="grid_3".*?<li class="linli-needed" data-linli-role="grid_leader">\s*网格长：'
                     r'\s*<span class="linli-vacant">空缺</span>', html, re.S)
    grid_1 = next(u for u in response.context["units"] if u["unit"].key == "grid_1")
    assert next(r for r in grid_1["roles"] if r["key"] == "grid_leader")["needed_by"] == []
    assert "第一网格（同兴苑）</strong>" not in html.split("data-linli-vacancies")[1].split("</ul>")[0]
    monkeypatch.setitem(sys.modules, "engine.services.vacancies", None)  # the module missing: no panel, no error
    html = client_for(users["minyue_admin"]).get(BASE + "roles/").content.decode()
    assert 'class="linli-needed"' not in html and "空缺" in html


# --- deactivating, inviting, linking --------------------------------------------------------------


def test_deactivating_and_reactivating_a_person(scene, users):
    person, assignment, appointed = scene
    client = client_for(users["minyue_admin"])
    confirm = client.get(person_url(person, "active/"))
    assert "停用王芳？" in confirm.content.decode()
    response = followed(client, person_url(person, "active/"), {"active": "0", "reason": "搬走了"})
    person.refresh_from_db()
    assert not person.active and "王芳已停用。" in messages_of(response)
    assert not policy.current_assignments().filter(person=person).exists()  # the role no longer counts
    assert PeopleChange.objects.get(person=person, action="deactivate_person").reason == "搬走了"
    again = followed(client, person_url(person, "active/"), {"active": "0"})  # a second click
    assert "王芳已经停用了。" in messages_of(again)
    assert PeopleChange.objects.filter(person=person, action="deactivate_person").count() == 1
    page = client.get(person_url(person)).content.decode()
    assert "data-linli-give-role" not in page and "不在任" in page
    followed(client, person_url(person, "active/"), {"active": "1", "reason": "搬回来了"})
    person.refresh_from_db()
    assert person.active and policy.current_assignments().filter(person=person).exists()
    assert client.post(person_url(person, "active/"), {}).status_code == 404  # a hand-made request
    assert client.post(person_url(person, "active/"), {"active": "0", "reason": "理" * 501}).status_code == 400
    assert Person.objects.get(pk=person.pk).active


def test_inviting_links_the_account_and_sends_a_text(users, wang, sms, django_capture_on_commit_callbacks):
    client = client_for(users["minyue_admin"])
    with django_capture_on_commit_callbacks(execute=True):
        response = followed(client, person_url(wang, "invite/"), {"reason": "上线"})
    wang.refresh_from_db()
    assert wang.user is not None and wang.user.username == "13912341234"
    assert len(sms) == 1
    message = sms[0]
    assert (getattr(message, "phone", None) or message[0]) == "13912341234"
    assert any("王芳已邀请" in m and "13912341234" in m for m in messages_of(response)), messages_of(response)
    change = PeopleChange.objects.get(person=wang, action="invite")
    assert (change.actor, change.reason, change.data["account"]) == (users["minyue_admin"], "上线", "13912341234")
    assert '<dd data-linli-account>13912341234</dd>' in response.content.decode()


def test_inviting_someone_without_a_number_is_refused(users, sms, django_capture_on_commit_callbacks):
    nobody = people_service.add_person(minyue(), actor=users["minyue_admin"], name="无号码")
    before = snapshot()
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(users["minyue_admin"]).post(person_url(nobody, "invite/"), {})
    assert response.status_code == 400
    assert page_errors(response.content.decode()) == ["请先填写无号码的手机号，再发送邀请。"]
    assert snapshot() == before and len(sms) == 0


def test_linking_an_existing_account(users, wang):
    client = client_for(users["minyue_admin"])
    get_user_model().objects.create_user("wangfang2024", password="x" * 12)
    bad = client.post(person_url(wang, "account/"), {"username": "nobody-here"})
    assert bad.status_code == 400 and field_errors(bad.content.decode(), "username") == ["没有账号“nobody-here”。"]
    taken = client.post(person_url(wang, "account/"), {"username": "minyue_admin"})  # the secretary's own
    assert taken.status_code == 400 and "minyue_admin" in field_errors(taken.content.decode(), "username")[0]
    assert Person.objects.get(pk=wang.pk).user is None
    ok = followed(client, person_url(wang, "account/"), {"username": "wangfang2024", "reason": "本人申请"})
    assert Person.objects.get(pk=wang.pk).user.username == "wangfang2024"
    assert "账号“wangfang2024”已关联到王芳。" in messages_of(ok)
    assert PeopleChange.objects.get(person=wang, action="link_account").reason == "本人申请"


# --- guardian's manage permission -----------------------------------------------------------------


def test_granting_and_revoking_the_manage_permission(users):
    client = client_for(users["minyue_admin"])
    newcomer = get_user_model().objects.create_user("newcomer", password="x" * 12, first_name="新来的")
    newcomer.groups.add(Group.objects.get(name="admin area staff"))
    before = snapshot()
    bad = client.post(BASE + "managers/grant/", {"username": "ghost"})
    assert bad.status_code == 400 and field_errors(bad.content.decode(), "username") == ["没有账号“ghost”。"]
    assert snapshot() == before
    response = followed(client, BASE + "managers/grant/", {"username": "newcomer", "reason": "街道派驻"})
    assert [u.username for u in people_service.managers_by_permission(minyue())] == ["newcomer"]
    assert "新来的 (newcomer)现在管理民悦社区。" in messages_of(response)
    assert "新来的 (newcomer)" in response.content.decode()
    assert client_for(newcomer).get(BASE).status_code == 200  # the policy sees it on the next request
    change = PeopleChange.objects.get(action="grant_permission")
    assert (change.actor, change.reason, change.data["account"]) == (users["minyue_admin"], "街道派驻", "newcomer")
    url = BASE + f"managers/{newcomer.pk}/revoke/"
    assert "不再让新来的 (newcomer)管理民悦社区？" in client.get(url).content.decode()
    done = followed(client, url, {"reason": "调走"})
    assert people_service.managers_by_permission(minyue()) == [] and client_for(newcomer).get(BASE).status_code == 404
    assert any("不再通过权限管理民悦社区" in m for m in messages_of(done))
    again = followed(client, url, {"reason": "调走"})  # a second click
    assert any("没有（或已不再有）这项权限" in m for m in messages_of(again))
    assert PeopleChange.objects.filter(action="revoke_permission").count() == 1
    assert client.get(url).status_code == 404  # nothing to revoke


def test_granting_the_permission_twice_writes_it_once(users):
    client = client_for(users["minyue_admin"])
    get_user_model().objects.create_user("newcomer", password="x" * 12)
    followed(client, BASE + "managers/grant/", {"username": "newcomer"})
    again = followed(client, BASE + "managers/grant/", {"username": "newcomer"})  # a second click
    assert "newcomer已经有这项权限。" in messages_of(again)
    assert PeopleChange.objects.filter(action="grant_permission").count() == 1


# --- the change log -------------------------------------------------------------------------------


def test_the_change_log_lists_the_changes_newest_first_with_their_actor(scene, users):
    person, assignment, appointed = scene
    client = client_for(users["minyue_admin"])
    people_service.take_role(assignment, actor=users["superuser"], reason="调整")
    response = client.get(BASE + "changes/")
    rows = response.context["rows"]
    assert [r.change.action for r in rows[:4]] == ["take_role", "grant_permission", "give_role", "add_person"]
    assert [r.actor for r in rows[:4]] == ["superuser", "superuser", "minyue_admin", "minyue_admin"]
    html = response.content.decode()
    assert "撤销角色" in html and "第一网格（同兴苑）的网格长" in html and "调整" in html
    assert "139****1234" in html and "13912341234" not in html  # numbers masked in the community's log
    assert f'href="{person_url(person)}"' in html
    only = client.get(BASE + "changes/", {"person": person.pk})
    assert {r.change.person_id for r in only.context["rows"]} == {person.pk}
    assert client.get(BASE + "changes/", {"person": "x"}).status_code == 404
    page = client.get(person_url(person)).content.decode()
    assert "13912341234" in page  # the person's own page shows the full number


def test_the_change_log_words_imports_and_links_made_by_signing_in(users, wang):
    PeopleChange.objects.create(community=minyue(), action="import", actor=users["minyue_admin"], reason="首次导入",
                                data={"file": "名册.xlsx", "rows": 12, "created": 10, "updated": 2, "roles": 3,
                                      "invited": 4})
    PeopleChange.objects.create(community=minyue(), person=wang, action="link_account", actor=None,
                                data={"user": 1, "username": "13912341234", "phone": "13912341234"})
    html = client_for(users["minyue_admin"]).get(BASE + "changes/").content.decode()
    assert "文件名册.xlsx：12行，新增10人，更新2人，任命3个角色，邀请4人" in html
    assert "账号139****1234" in html and "13912341234" not in html and "未记录" in html


def test_the_change_log_is_paginated(users):
    for number in range(55):
        Person.objects.create(community=minyue(), name=f"名{number}")
        PeopleChange.objects.create(community=minyue(), action="add_person", actor=users["minyue_admin"])
    client = client_for(users["minyue_admin"])
    assert len(client.get(BASE + "changes/").context["rows"]) == 50
    assert len(client.get(BASE + "changes/", {"p": 2}).context["rows"]) == 5


# --- CSRF, escaping, Chinese ----------------------------------------------------------------------


def test_a_post_without_the_csrf_token_is_refused(scene, users):
    person, assignment, appointed = scene
    strict = client_for(users["minyue_admin"], enforce_csrf_checks=True)
    before = snapshot()
    for url, data in writes(person, assignment, appointed):
        assert strict.post(url, data).status_code == 403, url
    assert snapshot() == before


def test_what_people_typed_is_escaped(users):
    client = client_for(users["minyue_admin"])
    person = people_service.add_person(minyue(), actor=users["minyue_admin"], name=HOSTILE, reason=HOSTILE)
    for url in (BASE, person_url(person), BASE + "changes/", person_url(person, "active/")):
        html = client.get(url).content.decode()
        assert HOSTILE not in html and "&lt;script&gt;" in html, url


class _Text(HTMLParser):
    """The text a person reads inside [data-linli-people]: text nodes, labels for screen readers,
    placeholders and option texts (not scripts, styles or attribute values that are data)."""

    def __init__(self):
        super().__init__()
        self.depth, self.skip, self.parts = 0, 0, []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if self.depth:
            self.depth += tag not in ("input", "br", "img", "meta", "link")
        elif "data-linli-people" in attrs:
            self.depth = 1
        if self.depth:
            self.skip += tag in ("script", "style")
            self.parts.extend(attrs.get(name) or "" for name in ("aria-label", "placeholder", "title"))

    def handle_endtag(self, tag):
        if self.depth:
            self.skip -= tag in ("script", "style")
            self.depth -= 1

    def handle_data(self, data):
        if self.depth and not self.skip:
            self.parts.append(data)


def english_words(html, names):
    """ASCII words a person reads on the page, once the `names` (of people and accounts) are left out."""
    parser = _Text()
    parser.feed(html)
    text = " ".join(parser.parts)
    for name in sorted(names, key=len, reverse=True):
        text = text.replace(name, " ")
    return set(re.findall(r"[A-Za-z][A-Za-z']+", text))


def test_the_chinese_pages_show_no_english(scene, users):
    person, assignment, appointed = scene
    client = client_for(users["minyue_admin"])
    names = {*Person.objects.values_list("name", flat=True), *get_user_model().objects.values_list("username", flat=True),
             "community.yaml"}
    pages = [(url, client.get(url)) for url in screens(person, assignment, appointed)]
    pages.append(("bad add", client.post(BASE + "add/", {"name": "", "unit": "grid_1"})))
    pages.append(("bad role", client.post(person_url(person, "roles/"), {"role": "grid_leader", "unit": "grid_2",
                                                                          "until": "x"})))
    found = {url: english_words(response.content.decode(), names) for url, response in pages}
    assert all("data-linli-people" in response.content.decode() for _, response in pages)
    assert {url: words for url, words in found.items() if words} == {}
    in_english({"secretary": users["minyue_admin"]})  # the check sees English where there is some
    assert {"People", "Roles", "Account"} <= english_words(client.get(BASE).content.decode(), names)


# --- racing admins --------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_admins_taking_the_same_role_at_once_take_it_once():
    permissions_after_a_flush()
    users = make_people()
    admin = users["minyue_admin"]
    person = people_service.add_person(minyue(), actor=admin, name="争")
    assignment = people_service.give_role(person, actor=admin, role="grid_leader", unit="grid_1")
    clients = [client_for(admin) for _ in range(3)]
    url = person_url(person, f"roles/{assignment.pk}/take/")
    for client in clients:  # sessions and profiles exist before the race
        assert client.get(url).status_code == 200

    def take(index):  # the page's HTML, not response.context: the test client's context capture is not per thread
        response = clients[index].post(url, {"reason": f"第{index}位"}, follow=True)
        html = response.content.decode()
        return response.status_code, "已撤销争的“网格长”。" in html, "这个角色已经被撤销了。" in html

    results, errors = race(3, take)
    assert errors == [] and sorted(results) == [(200, False, True), (200, False, True), (200, True, False)]
    assert PeopleChange.objects.filter(person=person, action="take_role").count() == 1
    assert not RoleAssignment.objects.filter(person=person).exists()


@pytest.mark.django_db(transaction=True)
def test_two_admins_giving_the_same_role_at_once_give_it_once():
    permissions_after_a_flush()
    users = make_people()
    admin = users["minyue_admin"]
    person = people_service.add_person(minyue(), actor=admin, name="争")
    clients = [client_for(admin) for _ in range(3)]
    for client in clients:
        assert client.get(person_url(person)).status_code == 200

    def give(index):
        return clients[index].post(person_url(person, "roles/"), {"role": "grid_leader", "unit": "grid_1"}).status_code

    results, errors = race(3, give)
    assert errors == [] and sorted(results) == [302, 400, 400]
    assert RoleAssignment.objects.filter(person=person).count() == 1
    assert PeopleChange.objects.filter(person=person, action="give_role").count() == 1
