"""Everyone finds their work (issue #16): where each person lands after signing in, the one
navigation on every signed-in page with its counts, the notification centre and its API, votes
as to-dos (and a submitter's withdrawing not), the success page's links, and Chinese 403/404."""

import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management import call_command
from django.test import RequestFactory
from rest_framework.test import APIClient

from cms.models import HomePage, LinliFormPage
from engine.models import Community, Definition, FlowInstance, Notification, OrgUnit, Person, RoleAssignment
from engine.services.submissions import submit
from engine.workflow import adapter

PASSWORD = "linli-nav-test-1"


@pytest.fixture
def world(db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()
    call_command("load_definitions", "workflows_yaml/kaiyuan", "workflows_yaml/minyue", "forms_schemas/minyue",
                 stdout=io.StringIO())
    community = Community.objects.get(slug="minyue")
    compound = OrgUnit.objects.filter(community=community, level="compound").order_by("path").first()
    root = OrgUnit.objects.get(community=community, depth=1)
    grid = OrgUnit.objects.filter(community=community, level="grid", path__startswith=compound.path).first()
    User = get_user_model()
    users, reps = {}, []

    def make(key, role, unit):
        user = User.objects.create_user(key, password=PASSWORD, first_name=key)
        person = Person.objects.create(community=community, user=user, name=key, unit=compound)
        RoleAssignment.objects.create(community=community, person=person, role=role, unit=unit)
        users[key] = user
        return person

    make("proposer", "resident", grid)
    make("branch", "branch_secretary", compound)
    make("owners", "owners_committee_member", compound)
    make("worker", "community_worker", root)
    make("secretary", "community_secretary", root)
    for n in range(3):
        reps.append(make(f"rep{n}", "household_representative", compound))
    make("outsider", "resident", grid)
    site_root = HomePage.objects.get()
    home = site_root.add_child(instance=HomePage(title="民悦社区", slug="minyue-home", community=community))
    form = Definition.objects.get(community=community, kind="form", key="proposal")
    form_page = home.add_child(instance=LinliFormPage(title="居民提议", slug="minyue-proposal", form=form))
    data = {"topic_type": "facilities", "subject": "加装电梯", "background": "老人多，上下楼困难，希望加装电梯。",
            "content": "在3号楼加装电梯一部，由住户按楼层分摊费用。", "funding": "owners_share", "estimated_cost": 480000}
    submission = submit(form=form, data=data, user=users["proposer"]).submission
    return {"users": users, "reps": reps, "submission": submission, "home": home, "form_page": form_page,
            "community": community}


def to_vote(world):
    instance = FlowInstance.objects.get(submission=world["submission"])
    adapter.take(instance_id=instance.pk, name="accept", user=world["users"]["branch"])
    for who in ("branch", "owners", "worker"):
        instance = adapter.take(instance_id=instance.pk, name="approve_for_assembly", user=world["users"][who])
    assert instance.state == "assembly_vote"
    return instance


def signed_in(client, world, who):
    client.force_login(world["users"][who])
    return client


def api(world, who):
    client = APIClient()
    client.force_authenticate(world["users"][who])
    return client


def nav_count(html, which):
    """The count shown next to 待办 or 消息 in the navigation (0 when none is shown)."""
    match = re.search(rf'data-nav="{which}">[^<]*(?:<span class="count"[^>]*>(\d+)</span>)?', html)
    assert match, f"no {which} link in the navigation"
    return int(match.group(1) or 0)


# ---------------------------------------------------------------- landing


@pytest.mark.parametrize("who, where", [
    ("proposer", "/my/"),
    ("branch", "/inbox/"),
    ("secretary", "/admin/linli/dashboard/minyue/"),
])
def test_each_person_lands_on_their_home(client, world, who, where):
    response = client.post("/login/", {"action": "password", "username": who, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == where


def test_an_admin_of_two_communities_lands_in_the_inbox(client, world):
    kaiyuan = Community.objects.get(slug="kaiyuan")
    person = Person.objects.create(community=kaiyuan, user=world["users"]["secretary"], name="secretary")
    admin_role = next(key for key, role in __import__("engine.policy", fromlist=["x"]).community_roles(kaiyuan).items()
                      if role.get("admin"))
    RoleAssignment.objects.create(community=kaiyuan, person=person, role=admin_role,
                                  unit=OrgUnit.objects.get(community=kaiyuan, depth=1))
    response = client.post("/login/", {"action": "password", "username": "secretary", "password": PASSWORD})
    assert response["Location"] == "/inbox/"


def test_a_safe_next_still_wins(client, world):
    response = client.post("/login/?next=/inbox/messages/", {"action": "password", "username": "proposer",
                                                             "password": PASSWORD})
    assert response["Location"] == "/inbox/messages/"


# ---------------------------------------------------------------- the navigation


def test_the_nav_is_on_every_signed_in_page_with_counts(client, world):
    instance = to_vote(world)
    signed_in(client, world, "rep0")
    unread = Notification.objects.filter(user=world["users"]["rep0"], read_at__isnull=True).count()
    assert unread >= 1  # the vote's opening was announced to the household representatives
    for path in ("/my/", "/inbox/", "/inbox/messages/", f"/items/{instance.submission_id}/", "/my/consents/",
                 world["home"].url):
        response = client.get(path)
        html = response.content.decode()
        assert response.status_code == 200, path
        assert 'class="linli-nav"' in html and "退出" in html and "待办" in html and "消息" in html, path
        assert nav_count(html, "todo") == 1, path
        assert nav_count(html, "messages") == unread, path
        assert html.count('class="linli-nav"') == 1 and html.count('action="/logout/"') == 1, path


def test_the_nav_lists_the_forms_a_person_may_fill(client, world):
    html = signed_in(client, world, "proposer").get("/my/").content.decode()
    nav = html[html.index('class="linli-nav"'):html.index("</nav>", html.index('class="linli-nav"'))]
    assert world["form_page"].url in nav and "办事" in nav and "我的" in nav and "首页" in nav
    assert f'href="{world["home"].url}"' in nav  # 首页 is the person's community's home


def test_the_site_name_goes_to_the_community_home_on_its_pages(client, world):
    html = client.get(world["home"].url).content.decode()
    assert re.search(rf'<header class="site-header"><a href="{re.escape(world["home"].url)}">', html)


def test_a_cached_public_page_never_shows_a_signed_in_nav(client, world, settings):
    url = world["home"].url
    signed = signed_in(client, world, "proposer").get(url).content.decode()
    assert "退出" in signed and 'class="linli-nav"' in signed
    anonymous = type(client)()
    for _ in range(2):  # the first anonymous request stores the page, the second is served from the cache
        html = anonymous.get(url).content.decode()
        assert "退出" not in html and 'class="linli-nav"' not in html and "proposer" not in html


def test_the_nav_escapes_what_it_shows(client, world):
    world["form_page"].title = "<script>x</script>"
    world["form_page"].save()
    html = signed_in(client, world, "proposer").get("/my/").content.decode()
    assert "<script>x</script>" not in html


# ---------------------------------------------------------------- to-dos: votes and withdrawing


def test_a_voter_finds_the_ballot_in_the_page_and_the_api(client, world):
    instance = to_vote(world)
    html = signed_in(client, world, "rep0").get("/inbox/").content.decode()
    assert world["submission"].reference in html and "投票" in html
    tasks = api(world, "rep0").get("/api/v1/tasks/").json()
    assert [(t["id"], t["vote"], t["transitions"]) for t in tasks] == [(instance.submission_id, True, [])]


def test_a_non_voter_has_no_ballot_to_do(client, world):
    to_vote(world)
    for who in ("proposer", "outsider"):
        assert api(world, who).get("/api/v1/tasks/").json() == []
        assert world["submission"].reference not in signed_in(client, world, who).get("/inbox/").content.decode()


def test_after_voting_the_ballot_is_no_longer_a_to_do(client, world):
    instance = to_vote(world)
    adapter.cast_ballot(instance, voter=world["reps"][0], option="yes", entered_by=world["users"]["rep0"])
    assert api(world, "rep0").get("/api/v1/tasks/").json() == []
    html = signed_in(client, world, "rep0").get("/inbox/").content.decode()
    assert world["submission"].reference not in html and nav_count(html, "todo") == 0
    assert [t["id"] for t in api(world, "rep1").get("/api/v1/tasks/").json()] == [instance.submission_id]


def test_a_submission_whose_only_step_is_withdrawing_is_not_a_to_do(client, world):
    assert FlowInstance.objects.get(submission=world["submission"]).state == "proposed"
    assert api(world, "proposer").get("/api/v1/tasks/").json() == []
    html = signed_in(client, world, "proposer").get("/inbox/").content.decode()
    assert world["submission"].reference not in html and nav_count(html, "todo") == 0
    assert world["submission"].reference in client.get("/my/").content.decode()  # it is on /my/
    # the branch secretary, who must decide on it, has it
    assert [t["id"] for t in api(world, "branch").get("/api/v1/tasks/").json()] == [world["submission"].pk]


def test_a_step_the_submitter_must_take_is_a_to_do(client, world):
    instance = FlowInstance.objects.get(submission=world["submission"])
    adapter.take(instance_id=instance.pk, name="accept", user=world["users"]["branch"])
    adapter.take(instance_id=instance.pk, name="return_for_revision", user=world["users"]["branch"], comment="请补充费用")
    tasks = api(world, "proposer").get("/api/v1/tasks/").json()
    assert [t["id"] for t in tasks] == [world["submission"].pk]
    assert set(tasks[0]["transitions"]) == {"resubmit", "withdraw"} and tasks[0]["vote"] is False


# ---------------------------------------------------------------- notifications


def note(world, who, message="有新消息", instance=None):
    return Notification.objects.create(user=world["users"][who], community=world["community"], message=message,
                                       instance=instance)


def test_the_message_centre_links_each_message_to_its_item(client, world):
    instance = FlowInstance.objects.get(submission=world["submission"])
    mine = note(world, "proposer", "<b>请查看</b>", instance)
    read = note(world, "proposer", "旧消息")
    Notification.objects.filter(pk=read.pk).update(read_at=mine.created_at)
    note(world, "outsider", "别人的消息")
    html = signed_in(client, world, "proposer").get("/inbox/messages/").content.decode()
    assert f'href="/items/{instance.submission_id}/"' in html
    assert "&lt;b&gt;请查看&lt;/b&gt;" in html and "<b>请查看" not in html
    assert "旧消息" in html and "别人的消息" not in html
    assert "全部标为已读" in html and "标为已读" in html and "消息" in html
    assert html.index("请查看") < html.index("旧消息")  # unread first


def test_one_marks_only_their_own_messages(client, world):
    mine, theirs = note(world, "proposer"), note(world, "outsider")
    signed_in(client, world, "proposer")
    assert client.post(f"/inbox/messages/{theirs.pk}/read/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None
    response = client.post(f"/inbox/messages/{mine.pk}/read/")
    assert response.status_code == 302 and response["Location"] == "/inbox/messages/"
    mine.refresh_from_db()
    assert mine.read_at is not None
    assert client.get(f"/inbox/messages/{mine.pk}/read/").status_code == 405


def test_racing_mark_all_is_harmless(client, world):
    first, second, theirs = note(world, "proposer"), note(world, "proposer"), note(world, "outsider")
    signed_in(client, world, "proposer")
    assert client.post("/inbox/read/").status_code == 302
    first.refresh_from_db()
    stamped = first.read_at
    assert client.post("/inbox/read/").status_code == 302  # the second of two racing requests
    first.refresh_from_db(), second.refresh_from_db(), theirs.refresh_from_db()
    assert first.read_at == stamped and second.read_at is not None and theirs.read_at is None
    assert nav_count(client.get("/my/").content.decode(), "messages") == 0


def test_the_notifications_api_lists_and_marks_only_the_callers(world):
    instance = FlowInstance.objects.get(submission=world["submission"])
    mine, other = note(world, "proposer", "消息一", instance), note(world, "proposer", "消息二")
    theirs = note(world, "outsider")
    client = api(world, "proposer")
    listed = client.get("/api/v1/notifications/").json()
    assert {n["id"] for n in listed} == {mine.pk, other.pk}
    assert next(n for n in listed if n["id"] == mine.pk)["url"] == f"/items/{instance.submission_id}/"
    bad = client.post("/api/v1/notifications/", {"ids": [mine.pk, theirs.pk]}, format="json")
    assert bad.status_code == 404 and "没有这条消息" in bad.json()["errors"]["/ids"][0]
    assert not Notification.objects.filter(read_at__isnull=False).exists()  # nothing written
    wrong = client.post("/api/v1/notifications/", {"ids": "all"}, format="json")
    assert wrong.status_code == 400 and "ids" in wrong.json()["errors"]["/ids"][0]
    done = client.post("/api/v1/notifications/", {"ids": [mine.pk]}, format="json").json()
    assert done == {"marked": 1, "unread": 1}
    assert [n["id"] for n in client.get("/api/v1/notifications/?unread=true").json()] == [other.pk]
    assert client.post("/api/v1/notifications/", {"all": True}, format="json").json() == {"marked": 1, "unread": 0}
    assert client.post("/api/v1/notifications/", {"all": True}, format="json").json() == {"marked": 0, "unread": 0}
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert APIClient().get("/api/v1/notifications/").status_code in (401, 403)


def test_the_notifications_api_is_in_the_schema(world):
    schema = api(world, "proposer").get("/api/v1/schema/", HTTP_ACCEPT="application/json").content.decode()
    assert "/api/v1/notifications/" in schema


# ---------------------------------------------------------------- success page and error pages


def test_the_success_page_links_to_the_item_and_my_items(world):
    request = RequestFactory().get(world["form_page"].url)
    request.user = world["users"]["proposer"]
    response = world["form_page"].specific.render_landing_page(request, form_submission=world["submission"])
    html = response.render().content.decode()
    assert f'href="/items/{world["submission"].pk}/"' in html and 'href="/my/"' in html
    assert "查看我提交的事项" in html and "再填一份" in html and f'href="{world["home"].url}"' in html


def test_the_announcements_list_links_back_to_the_community(client, world):
    from cms.models import AnnouncementIndexPage

    index = world["home"].add_child(instance=AnnouncementIndexPage(title="通知公告", slug="minyue-notices",
                                                                   community=world["community"]))
    html = client.get(index.url).content.decode()
    assert f'href="{world["home"].url}"' in html and "返回社区首页" in html


def test_404_is_in_chinese_with_a_way_back(client, world):
    response = signed_in(client, world, "outsider").get(f"/items/{world['submission'].pk}/")
    html = response.content.decode()
    assert response.status_code == 404 and "页面不存在" in html and 'href="/my/"' in html
    assert "Not Found" not in html


def test_403_is_in_chinese_with_a_way_back(world):
    from django.core.exceptions import PermissionDenied
    from django.views.defaults import permission_denied

    request = RequestFactory().get("/somewhere/")
    request.user = world["users"]["proposer"]
    html = permission_denied(request, PermissionDenied()).content.decode()
    assert "无权访问" in html and 'href="/my/"' in html and "Forbidden" not in html
