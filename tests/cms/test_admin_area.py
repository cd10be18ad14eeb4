"""The "Linli" area of the Wagtail admin: who sees which community's definitions, the version
pages (source, diff, diagram) and rollback — per role, through the HTTP client."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.test import Client
from guardian.shortcuts import assign_perm

from engine.definitions.pipeline import Definition as CheckedDefinition
from engine.definitions.publishing import publish_definitions
from engine.models import Community, Definition, DefinitionVersion, OrgUnit, Person, RoleAssignment
from tests.concurrency import race

ROLES = ["superuser", "minyue_admin", "zanan_admin", "staff", "resident"]
FLOW_URL = "/admin/linli/minyue/flow/resident-request/"


def make_people():
    """A superuser; minyue's secretary (an admin role); zanan's admin appointed with
    django-guardian; a staff user who manages nothing; a resident. All but the resident may enter
    the Wagtail admin."""
    call_command("load_definitions", stdout=io.StringIO())
    User = get_user_model()
    minyue, zanan = Community.objects.get(slug="minyue"), Community.objects.get(slug="zanan")
    staff = Group.objects.create(name="admin area staff")
    staff.permissions.add(Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin"))
    users = {}

    def user(key, community=minyue, role=None, admin_access=True, **extra):
        users[key] = User.objects.create_user(key, password="x" * 12, is_staff=admin_access, first_name=key, **extra)
        if admin_access:
            users[key].groups.add(staff)
        person = Person.objects.create(community=community, user=users[key], name=key)
        if role:
            unit = OrgUnit.objects.filter(community=community).order_by("depth", "path").first()
            RoleAssignment.objects.create(community=community, person=person, role=role, unit=unit)

    user("superuser", is_superuser=True)
    user("minyue_admin", role="community_secretary")
    user("zanan_admin", community=zanan)
    assign_perm("engine.manage_community", users["zanan_admin"], zanan)
    user("staff")
    user("resident", role="resident", admin_access=False)
    return users


def in_english(users):
    """The admin speaks English to these people (their Wagtail profile), whatever is translated."""
    from wagtail.users.models import UserProfile

    for user in users.values():
        profile = UserProfile.get_for_user(user)
        profile.preferred_language = "en"
        profile.save()
    return users


@pytest.fixture
def users(db):
    return make_people()


def client_for(user, **kwargs):
    client = Client(**kwargs)
    client.force_login(user)
    return client


def flow():
    return Definition.objects.get(community__slug="minyue", kind="flow", key="resident-request")


def publish_changed_flow(user, title):
    """Publish a v2 of minyue's resident-request flow with another title, through the action."""
    record = flow()
    v1 = record.live_version
    source = v1.source.replace("title: 民情直通车", f"title: {title}", 1)
    assert source != v1.source
    data = dict(v1.data, title=title)
    checked = CheckedDefinition(kind="flow", community="minyue", key="resident-request", path=v1.source_path,
                                data=data, source=source)
    publish_definitions([checked], user=user, note="title changed")
    record.refresh_from_db()
    assert record.live_version.number == 2
    return record


# --- who sees what ---------------------------------------------------------------------------------

SEES = {
    "superuser": {"minyue", "zanan", "kaiyuan"},
    "minyue_admin": {"minyue"},
    "zanan_admin": {"zanan"},
}


@pytest.mark.parametrize("who", ROLES)
def test_the_index_lists_exactly_the_communities_one_manages(users, who):
    response = client_for(users[who]).get("/admin/linli/")
    if who == "resident":  # not allowed in the Wagtail admin at all
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
        return
    if who == "staff":  # in the admin, but manages no community: Wagtail's "no permission"
        assert response.status_code == 302 and response["Location"] == "/admin/"
        return
    assert response.status_code == 200
    html = response.content.decode()
    for slug in ("minyue", "zanan", "kaiyuan"):
        assert (f'href="/admin/linli/{slug}/community/{slug}/"' in html) == (slug in SEES[who])
    assert ("resident-request" in html) == ("minyue" in SEES[who])
    assert ("model-resident" in html) == ("zanan" in SEES[who])


@pytest.mark.parametrize("who", ["superuser", "minyue_admin", "zanan_admin", "staff"])
def test_the_menu_shows_linli_to_those_who_manage_a_community(users, who):
    response = client_for(users[who]).get("/admin/")
    assert response.status_code == 200
    assert ('"/admin/linli/"' in response.content.decode()) == (who in SEES)


def test_the_index_shows_each_definitions_key_title_and_live_version(users):
    publish_changed_flow(users["minyue_admin"], "民情直通车（新）")
    html = client_for(users["minyue_admin"]).get("/admin/linli/").content.decode()
    row = html[html.index(f'href="{FLOW_URL}"'):]
    row = row[:row.index("</tr>")]
    assert "民情直通车（新）" in row and "resident-request" in row and "v2" in row and "minyue_admin" in row
    # community file, forms and flows are all there
    assert 'href="/admin/linli/minyue/community/minyue/"' in html
    assert 'href="/admin/linli/minyue/form/resident-request/"' in html
    assert "民悦社区" in html


@pytest.mark.parametrize("who", ROLES)
@pytest.mark.parametrize("page", ["", "versions/1/"])
def test_another_communitys_definition_answers_like_a_missing_one(users, who, page):
    client = client_for(users[who])
    response = client.get(FLOW_URL + page)
    if who == "resident":
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
        return
    if who in ("superuser", "minyue_admin"):
        assert response.status_code == 200
        return
    missing = client.get(f"/admin/linli/nowhere/flow/resident-request/{page}")
    assert response.status_code == missing.status_code == 404
    assert response.content == missing.content


def test_a_missing_version_or_kind_is_404(users):
    client = client_for(users["minyue_admin"])
    assert client.get(FLOW_URL + "versions/9/").status_code == 404
    assert client.get("/admin/linli/minyue/flow/no-such-flow/").status_code == 404
    assert client.get("/admin/linli/minyue/page/resident-request/").status_code == 404


# --- the definition and version pages --------------------------------------------------------------

def test_the_definition_page_lists_the_versions_and_marks_the_live_one(users):
    record = publish_changed_flow(users["minyue_admin"], "民情直通车（新）")
    response = client_for(users["minyue_admin"]).get(FLOW_URL)
    assert response.status_code == 200
    html = response.content.decode()
    v1, v2 = record.versions.get(number=1), record.versions.get(number=2)
    assert f'href="{FLOW_URL}versions/2/"' in html and f'href="{FLOW_URL}versions/1/"' in html
    assert html.index("versions/2/") < html.index("versions/1/")  # newest first
    assert "title changed" in html  # the note
    assert f'title="{v1.content_hash}"' in html and f'title="{v2.content_hash}"' in html
    live_row = html[html.index(f'href="{FLOW_URL}versions/2/"'):]
    assert "w-status--primary" in live_row[:live_row.index("</tr>")]
    old_row = html[html.index(f'href="{FLOW_URL}versions/1/"'):]
    assert "w-status--primary" not in old_row[:old_row.index("</tr>")]


def test_a_flow_page_shows_its_diagram_inline(users):
    html = client_for(users["minyue_admin"]).get(FLOW_URL).content.decode()
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="linli-flow-diagram"' in html
    assert 'data-state="in_progress"' in html and ">办理中</text>" in html
    # a form has no diagram
    form = client_for(users["minyue_admin"]).get("/admin/linli/minyue/form/resident-request/").content.decode()
    assert "linli-flow-diagram" not in form


def test_a_version_page_shows_its_source_escaped_and_its_diff_with_the_live_version(users):
    publish_changed_flow(users["minyue_admin"], "<script>alert('x')</script>")
    client = client_for(users["minyue_admin"])
    old = client.get(FLOW_URL + "versions/1/").content.decode()
    assert "<script>alert" not in old
    assert '<pre class="linli-source" tabindex="0">' in old
    assert "title: 民情直通车" in old
    # v1 → live v2: the title line removed and added, coloured by the row's kind
    assert '<tr class="removed">' in old and '<tr class="added">' in old
    removed = old[old.index('<tr class="removed">'):]
    assert "title: 民情直通车" in removed[:removed.index("</tr>")]
    added = old[old.index('<tr class="added">'):]
    assert "title: &lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in added[:added.index("</tr>")]
    assert "回滚到 v1" in old and 'name="csrfmiddlewaretoken"' in old
    # the live version: its source (escaped), no diff, no rollback
    live = client.get(FLOW_URL + "versions/2/").content.decode()
    assert "<script>alert" not in live and "&lt;script&gt;" in live
    assert "linli-diff" not in live.split("</style>")[-1] and "Roll back" not in live


# --- rollback --------------------------------------------------------------------------------------

def test_rollback_publishes_a_new_version_and_records_who(users):
    admin = users["minyue_admin"]
    record = publish_changed_flow(admin, "民情直通车（新）")
    v1 = record.versions.get(number=1)
    client = client_for(admin)
    response = client.post(FLOW_URL + "versions/1/rollback/")
    assert response.status_code == 302 and response["Location"] == FLOW_URL
    record.refresh_from_db()
    new = record.live_version
    assert (new.number, new.note, new.published_by) == (3, "rollback to v1", admin)
    assert new.content_hash == v1.content_hash and new.source == v1.source
    assert list(record.versions.values_list("number", flat=True)) == [3, 2, 1]
    page = client.get(response["Location"]).content.decode()
    assert "resident-request 已回滚到 v1：其内容作为 v3 重新上线。" in page
    assert 'class="success"' in page


def test_rolling_back_to_the_live_version_publishes_nothing(users):
    client = client_for(users["minyue_admin"])
    response = client.post(FLOW_URL + "versions/1/rollback/", follow=True)
    assert "v1 已是线上版本。" in response.content.decode()
    assert flow().versions.count() == 1


def test_rolling_back_to_content_that_is_live_already_publishes_nothing(users):
    publish_changed_flow(users["minyue_admin"], "民情直通车（新）")
    client = client_for(users["minyue_admin"])
    client.post(FLOW_URL + "versions/1/rollback/")  # v3 = v1's content
    assert 'versions/1/rollback/"' not in client.get(FLOW_URL + "versions/1/").content.decode()  # no rollback form
    response = client.post(FLOW_URL + "versions/1/rollback/", follow=True)  # a second click, a stale page
    assert "线上版本 v3 的内容已与 v1 相同。" in response.content.decode()
    assert flow().versions.count() == 3


@pytest.mark.parametrize("who", ROLES)
def test_only_the_communitys_admins_may_roll_back(users, who):
    publish_changed_flow(users["superuser"], "民情直通车（新）")
    response = client_for(users[who]).post(FLOW_URL + "versions/1/rollback/")
    if who in ("superuser", "minyue_admin"):
        assert response.status_code == 302 and flow().live_version.number == 3
        return
    if who == "resident":
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    else:
        assert response.status_code == 404
    assert flow().versions.count() == 2


def test_rollback_takes_a_post_with_a_csrf_token(users):
    publish_changed_flow(users["minyue_admin"], "民情直通车（新）")
    assert client_for(users["minyue_admin"]).get(FLOW_URL + "versions/1/rollback/").status_code == 405
    strict = client_for(users["minyue_admin"], enforce_csrf_checks=True)
    assert strict.post(FLOW_URL + "versions/1/rollback/").status_code == 403
    assert flow().versions.count() == 2


def permissions_after_a_flush():
    """A transactional test with serialized rollback empties the database without re-creating
    content types and permissions: put them back (the admin's "access_admin" among them)."""
    from django.apps import apps
    from django.contrib.auth.management import create_permissions
    from django.contrib.contenttypes.management import create_contenttypes
    from django.contrib.contenttypes.models import ContentType

    ContentType.objects.clear_cache()
    for config in apps.get_app_configs():
        create_contenttypes(config, verbosity=0)
        create_permissions(config, verbosity=0)


@pytest.mark.django_db(transaction=True)
def test_a_racing_double_rollback_never_numbers_a_version_twice():
    permissions_after_a_flush()
    users = make_people()
    admin = users["minyue_admin"]
    publish_changed_flow(admin, "民情直通车（新）")
    clients = [client_for(admin) for _ in range(2)]
    for client in clients:  # the admin's profile and session exist before the race
        assert client.get(FLOW_URL).status_code == 200
    results, errors = race(2, lambda i: clients[i].post(FLOW_URL + "versions/1/rollback/").status_code)
    assert errors == [] and results == [302, 302]
    numbers = list(flow().versions.values_list("number", flat=True))
    assert len(numbers) == len(set(numbers))  # never a duplicate number
    new = DefinitionVersion.objects.filter(definition=flow(), number__gt=2)
    assert 1 <= new.count() <= 2
    assert all(v.note == "rollback to v1" and v.published_by == admin for v in new)
    assert flow().live_version.number == max(numbers)


def test_the_policy_lists_exactly_the_users_who_manage_each_community(users):
    """users_with_permission agrees with the per-user answer, community by community (an expired
    admin role and a deactivated admin drop out)."""
    import datetime

    from cms.admin_views import community_policy
    from engine import policy

    expired = get_user_model().objects.create_user("expired_admin", password="x" * 12)
    minyue = Community.objects.get(slug="minyue")
    person = Person.objects.create(community=minyue, user=expired, name="expired_admin")
    RoleAssignment.objects.create(community=minyue, person=person, role="community_secretary",
                                  unit=OrgUnit.objects.filter(community=minyue).order_by("depth", "path").first(),
                                  until=datetime.date.today() - datetime.timedelta(days=1))
    gone = users["zanan_admin"]
    gone.is_active = False
    gone.save()
    for community in Community.objects.all():
        listed = set(community_policy.users_with_permission_for_instance("manage", community)
                     .values_list("username", flat=True))
        assert listed == {u.username for u in get_user_model().objects.filter(is_active=True)
                          if policy.is_admin(u, community)}, community.slug
    assert set(community_policy.users_with_permission("manage").values_list("username", flat=True)) == {
        "superuser", "minyue_admin"}
    assert not community_policy.users_with_permission("delete").exists()
