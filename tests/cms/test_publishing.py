"""Public pages: drafted by flows and from the ledger, going public as the community says,
privacy-safe, cached and purged when what they show changes."""

import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client
from wagtail.models import Page

from cms import cache as page_cache
from cms.generate import draw_roll_from_points, go_public
from cms.models import AnnouncementPage, HonourEntry, HonourRollPage, PostBoardPage
from cms.sections import community_section
from engine.models import Community, Notification, OrgUnit, Person, PostAssignment
from engine.services import consent, points
from tests.engine.workflow.test_deliberation import close, to_vote, vote, world  # noqa: F401 (fixture)

PHONE = re.compile(r"1[3-9]\d{9}")


@pytest.fixture
def demo(db):
    call_command("load_definitions", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())
    return Community.objects.get(slug="minyue")


def public_urls():
    return [p.url for p in Page.objects.live().specific() if p.depth > 1 and p.url]


# ---------------------------------------------------------------- privacy


def test_no_public_page_of_the_demo_shows_a_phone_id_number_or_unconsented_name(demo, client):
    people = list(Person.objects.all())
    unconsented = [p.name for p in people if not p.show_name_publicly and not p.honour_roll_consent and len(p.name) > 2]
    assert unconsented and any(p.phone for p in people)  # the check below has something to find
    urls = public_urls() + ["/search/?q=社区"]
    assert len(urls) > 20
    for url in urls:
        response = client.get(url)
        if response.status_code == 302 and "/login/" in response["Location"]:
            continue  # a form for signed-in residents: not public
        assert response.status_code == 200, url
        html = response.content.decode()
        assert not PHONE.search(html), (url, PHONE.search(html).group())
        assert not re.search(r"\d{17}[\dXx]", html), url
        for name in unconsented:
            assert name not in html, (url, name)


def test_the_post_board_masks_names_and_offers_a_call_back_only_with_consent(demo, client):
    board = PostBoardPage.objects.get(community=demo)
    html = client.get(board.url).content.decode()
    assert "王建国" in html  # consented to be named
    assert "张*明" in html or "欧**华" in html
    reachable = PostAssignment.objects.filter(community=demo, person__contact_consent=True,
                                              person__user__isnull=False, until__isnull=True).first()
    unreachable = PostAssignment.objects.filter(community=demo, person__contact_consent=False).first()
    assert f"/posts/{reachable.pk}/contact/" in html
    assert f"/posts/{unreachable.pk}/contact/" not in html
    assert client.get(f"/posts/{unreachable.pk}/contact/").status_code == 404


def test_withdrawing_consent_takes_the_name_off_the_next_render_even_when_cached(demo, client):
    roll = HonourRollPage.objects.filter(community=demo).first()
    person = Person.objects.get(community=demo, name="王建国")
    assert HonourEntry.objects.filter(page=roll, person=person).exists()
    first = client.get(roll.url)
    assert "王建国" in first.content.decode()
    assert client.get(roll.url)["X-Linli-Cache"] == "hit"
    consent.set_consents(person, honour_roll_consent=False, show_name_publicly=False)
    again = client.get(roll.url)
    assert again["X-Linli-Cache"] == "miss"
    assert "王建国" not in again.content.decode() and "热心居民" in again.content.decode()


def test_flow_details_are_masked_and_escaped_before_the_page_is_saved(world, django_capture_on_commit_callbacks):  # noqa: F811
    submission = world["submission"]
    submission.data["subject"] = '<img src=x onerror="alert(1)">加装电梯'
    submission.save(update_fields=["data"])
    instance = to_vote(world)
    vote(world, instance, ["yes"] * 6 + ["no"] * 2)
    with django_capture_on_commit_callbacks(execute=True):
        close(instance)
    page = AnnouncementPage.objects.get(source=instance)
    assert page.kind == "result" and page.tally["counts"] == {"yes": 6, "no": 2, "abstain": 0}
    assert page.tally["labels"]["yes"] == "同意"
    assert [d["label"] for d in page.details] == ["议题", "建议方案", "预计费用（元）", "资金来源"]  # as `include:` lists them
    assert page.details[0]["value"].startswith("<img")  # stored as typed, escaped when shown
    # minyue reviews pages before they go public: the result waits in Wagtail's workflow
    assert not page.live and page.current_workflow_state is not None
    outsider = get_user_model().objects.get(username="worker")  # not the reviewer role
    assert not page.permissions_for_user(outsider).can_publish()
    page.current_workflow_state.current_task_state.approve(user=_superuser())
    page.refresh_from_db()
    assert page.live
    html = Client().get(page.url).content.decode()
    assert '<img src=x onerror="alert(1)">' not in html and "&lt;img src=x" in html
    assert "同意" in html and "6" in html


def _superuser():
    return get_user_model().objects.create_superuser("root", password="x" * 12)


# ---------------------------------------------------------------- honour rolls from points


def test_a_roll_takes_the_top_members_above_the_minimum_once(db, django_user_model):
    call_command("load_definitions", stdout=io.StringIO())
    community = Community.objects.get(slug="zanan")
    grid = OrgUnit.objects.filter(community=community, level="grid").first()
    people = [Person.objects.create(community=community, name=f"居民{n}", unit=grid, is_member=True) for n in range(14)]
    for n, person in enumerate(people):
        points.award(person=person, reason="巡逻", points=5 + 3 * n, category="public_welfare")
    page, created = draw_roll_from_points(community, "civilised_households", current=True)
    page.refresh_from_db()
    assert created and page.live  # zanan publishes at once
    ranked = [e.person for e in page.entries.order_by("sort_order")]
    minimum = 30
    expected = [p for p in reversed(people) if 5 + 3 * people.index(p) >= minimum][:10]
    assert ranked == expected
    assert draw_roll_from_points(community, "civilised_households", current=True) == (page, False)
    assert HonourEntry.objects.filter(page=page).count() == len(expected)


# ---------------------------------------------------------------- caching


def test_publishing_purges_the_cached_list_of_announcements(demo, client):
    index = community_section(demo)["announcements"]
    assert client.get(index.url)["X-Linli-Cache"] == "miss"
    assert client.get(index.url)["X-Linli-Cache"] == "hit"
    page = AnnouncementPage(title="停水通知", slug="water", community=demo, body="<p>周三停水</p>")
    index.add_child(instance=page)
    page.save_revision().publish()
    fresh = client.get(index.url)
    assert fresh["X-Linli-Cache"] == "miss" and "停水通知" in fresh.content.decode()


@pytest.mark.parametrize("restriction", ["password", "login"])
def test_a_page_made_private_leaves_the_cache_at_once(demo, client, restriction):
    from wagtail.models import PageViewRestriction

    index = community_section(demo)["announcements"]
    client.get(index.url)
    assert client.get(index.url)["X-Linli-Cache"] == "hit"
    section = index.get_parent()  # a restriction covers the pages below it too
    PageViewRestriction.objects.create(page=section, restriction_type=restriction, password="x" * 8)
    response = client.get(index.url)
    assert response.get("X-Linli-Cache") != "hit"
    assert response.status_code == 302 if restriction == "login" else b'name="password"' in response.content


def test_signed_in_people_are_never_served_from_the_cache(demo, client):
    index = community_section(demo)["announcements"]
    client.get(index.url)
    client.force_login(get_user_model().objects.get(username="minyue-resident"))
    response = client.get(index.url)
    assert "X-Linli-Cache" not in response


def test_a_post_changing_hands_purges_the_board(demo, client):
    board = PostBoardPage.objects.get(community=demo)
    client.get(board.url)
    holding = PostAssignment.objects.filter(community=demo, until__isnull=True).first()
    holding.until = holding.since
    holding.save()
    assert client.get(board.url)["X-Linli-Cache"] == "miss"


def test_an_editor_draft_goes_through_review_where_the_community_asks_for_it(demo):
    index = community_section(demo)["announcements"]
    page = AnnouncementPage(title="议事会通知", slug="meeting", community=demo, live=False)
    index.add_child(instance=page)
    assert go_public(page, demo) == "in moderation"
    zanan = Community.objects.get(slug="zanan")
    other = AnnouncementPage(title="通知", slug="notice", community=zanan, live=False)
    community_section(zanan)["announcements"].add_child(instance=other)
    assert go_public(other, zanan) == "published"


# ---------------------------------------------------------------- consents and call-backs


def test_a_caller_leaves_a_number_for_the_holder_and_bad_input_writes_nothing(demo, client):
    holding = PostAssignment.objects.filter(community=demo, person__contact_consent=True,
                                            person__user__isnull=False, until__isnull=True).first()
    url = f"/posts/{holding.pk}/contact/"
    bad = client.post(url, {"name": "李四", "phone": "12345", "message": ""})
    assert bad.status_code == 400 and "请输入11位手机号码" in bad.content.decode()
    assert Notification.objects.count() == 0
    assert client.post(url, {"name": "李四", "phone": "139 1234 5678", "message": "楼道灯坏了"}).status_code == 200
    note = Notification.objects.get()
    assert note.user == holding.person.user and "13912345678" in note.message
    assert holding.post not in note.message and "岗" in note.message  # the post's title, not its key
    holder = Client()
    holder.force_login(holding.person.user)
    assert "楼道灯坏了" in holder.get("/inbox/").content.decode()
    holder.post("/inbox/read/")
    note.refresh_from_db()
    assert note.read_at is not None and "楼道灯坏了" not in holder.get("/inbox/").content.decode()
    for _ in range(consent.CONTACT_LIMIT):
        client.post(url, {"name": "李四", "phone": "13912345678"})
    assert Notification.objects.count() == consent.CONTACT_LIMIT  # the sixth within the hour is refused


def test_a_resident_withdraws_a_consent_on_their_page(demo, client):
    user = get_user_model().objects.get(username="minyue-member")
    client.force_login(user)
    person = Person.objects.get(user=user, community=demo)
    assert person.contact_consent
    response = client.post("/my/consents/", {f"{person.pk}-show_name_publicly": "on"})
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.show_name_publicly and not person.contact_consent and not person.honour_roll_consent


def test_search_finds_announcements_by_chinese_words_and_escapes_the_query(demo, client):
    html = client.get("/search/", {"q": "欢迎"}).content.decode()
    assert "民悦社区欢迎使用邻里" in html and "酂南社区欢迎使用邻里" in html
    assert "民悦社区欢迎" not in client.get("/search/", {"q": "停电"}).content.decode()
    index = community_section(demo)["announcements"]
    drafted = AnnouncementPage(title="居民大会决议公示", slug="resolution", community=demo,
                               details=[{"label": "议题", "value": "3号楼加装电梯"}])
    index.add_child(instance=drafted)
    drafted.save_revision().publish()
    assert "居民大会决议公示" in client.get("/search/", {"q": "加装电梯"}).content.decode()  # found by its details
    html = client.get("/search/", {"q": "<script>x</script>"}).content.decode()
    assert "<script>x</script>" not in html and "&lt;script&gt;x&lt;/script&gt;" in html


def test_the_daily_command_draws_each_points_roll_for_the_last_period_once(db):
    call_command("load_definitions", stdout=io.StringIO())
    out = io.StringIO()
    call_command("draw_honour_rolls", "--day", "2026-10-01", stdout=out)
    assert out.getvalue().splitlines() == [
        "minyue/service_star 2026Q3: drafted (0 people, in moderation)",
        "zanan/civilised_households 2026H1: drafted (0 people, live)",
    ]
    again = io.StringIO()
    call_command("draw_honour_rolls", "--day", "2026-10-02", stdout=again)
    assert "already drawn" in again.getvalue() and HonourRollPage.objects.count() == 2
    with pytest.raises(CommandError, match="--day"):
        call_command("draw_honour_rolls", "--day", "yesterday")


def test_an_editors_rich_text_is_sanitised_and_titles_escaped(demo, client):
    import json

    client.force_login(get_user_model().objects.get(username="admin"))
    index = community_section(Community.objects.get(slug="zanan"))["announcements"]
    body = {"blocks": [{"key": "a", "text": "<script>alert(1)</script> 详情", "type": "unstyled", "depth": 0,
                        "inlineStyleRanges": [], "entityRanges": [{"offset": 26, "length": 2, "key": 0}]}],
            "entityMap": {"0": {"type": "LINK", "mutability": "MUTABLE", "data": {"url": "javascript:alert(1)"}}}}
    response = client.post(f"/admin/pages/add/cms/announcementpage/{index.pk}/", {
        "title": '<img src=x onerror="alert(2)">通知', "slug": "xss", "kind": "announcement", "date": "2026-11-22",
        "body": json.dumps(body), "comments-TOTAL_FORMS": "0", "comments-INITIAL_FORMS": "0",
        "comments-MIN_NUM_FORMS": "0", "comments-MAX_NUM_FORMS": "1000", "action-publish": "publish"})
    assert response.status_code == 302, response.content.decode()[:2000]
    page = AnnouncementPage.objects.get(slug="xss")
    assert "<script>" not in page.body and "javascript:" not in page.body
    client.logout()
    html = client.get(page.url).content.decode()
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
    assert '<img src=x onerror="alert(2)">' not in html and "&lt;img src=x" in html


@pytest.mark.django_db(transaction=True)
def test_racing_draws_of_one_roll_make_one_page_with_one_entry_each():
    from tests.concurrency import race
    from tests.test_production import wagtail_home

    wagtail_home()  # an earlier transactional test may have emptied Wagtail's tree
    call_command("load_definitions", stdout=io.StringIO())
    community = Community.objects.get(slug="zanan")
    grid = OrgUnit.objects.filter(community=community, level="grid").first()
    for n in range(3):
        person = Person.objects.create(community=community, name=f"居民{n}", unit=grid, is_member=True)
        points.award(person=person, reason="巡逻", points=40 + n, category="public_welfare")
    results, errors = race(4, lambda _: draw_roll_from_points(community, "civilised_households", current=True))
    assert errors == []
    assert sum(created for _, created in results) == 1
    assert HonourRollPage.objects.count() == 1 and HonourEntry.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_racing_consents_given_at_once_are_all_kept():
    from tests.concurrency import race

    call_command("load_definitions", stdout=io.StringIO())
    person = Person.objects.create(community=Community.objects.get(slug="zanan"), name="张晓明")
    given = consent.CONSENTS * 2  # each consent given twice, all at the same moment
    results, errors = race(len(given), lambda n: consent.set_consents(person, **{given[n]: True}))
    assert errors == [] and len(results) == len(given)
    person.refresh_from_db()
    assert all(getattr(person, key) for key in consent.CONSENTS)  # no change overwrote another
    with pytest.raises(ValueError, match="unknown consent"):
        consent.set_consents(person, sell_my_data=True)


def test_a_selection_flow_puts_a_public_notice_up_then_the_nominee_on_the_roll(db, django_capture_on_commit_callbacks):
    import datetime

    from engine.models import Definition, FlowInstance, RoleAssignment
    from engine.services.submissions import submit
    from engine.workflow import adapter

    call_command("load_definitions", stdout=io.StringIO())
    zanan = Community.objects.get(slug="zanan")
    compound = OrgUnit.objects.filter(community=zanan, level="compound").order_by("path").first()
    grid = OrgUnit.objects.filter(community=zanan, level="grid", path__startswith=compound.path).first()
    users = {}
    for key, role, unit in [("nominator", None, grid), ("branch", "branch_secretary", compound),
                            ("secretary", "community_secretary", compound), ("sgm", "self_governance_member", compound),
                            ("nominee", None, grid)]:
        users[key] = get_user_model().objects.create_user(key, password="x" * 12)
        person = Person.objects.create(community=zanan, user=users[key], name={"nominee": "张桂兰"}.get(key, key),
                                       unit=unit, honour_roll_consent=key == "nominee")
        if role:
            RoleAssignment.objects.create(community=zanan, person=person, role=role, unit=unit)
    nominee = Person.objects.get(user=users["nominee"])
    form = Definition.objects.get(community=zanan, kind="form", key="model-resident")
    data = {"nomination_type": "self", "nominee_name": "张桂兰", "nominee_unit": grid.key, "category": "helping",
            "deeds": "十年如一日照顾楼里的孤寡老人，" * 5, "citation": "十年如一日的热心邻居，电话13812345678",
            "recommender_mobile": "13812345678", "nominee_consent": True}
    instance = FlowInstance.objects.get(submission=submit(form=form, data=data, user=users["nominator"]).submission)
    with django_capture_on_commit_callbacks(execute=True):
        adapter.take(instance_id=instance.pk, name="preliminary_check", user=users["branch"],
                     inputs={"nominee": nominee.pk, "consent_confirmed": True})
        adapter.take(instance_id=instance.pk, name="approve_for_notice", user=users["secretary"])
        instance = adapter.take(instance_id=instance.pk, name="approve_for_notice", user=users["sgm"])
    assert instance.state == "public_notice"
    notice = AnnouncementPage.objects.get(source=instance)
    assert notice.live and notice.kind == "notice" and notice.title.startswith("“最美酂南人”拟当选人选公示")
    assert notice.notice_until == timezone_local_date(instance.due_at)
    with django_capture_on_commit_callbacks(execute=True):
        adapter.fire_due_timers(now=instance.due_at + datetime.timedelta(minutes=1))
    roll = HonourRollPage.objects.get(community=zanan, roll_key="model_residents")
    roll.refresh_from_db()
    entry = roll.entries.get()
    assert roll.live and entry.person == nominee
    assert entry.citation == "十年如一日的热心邻居，电话138****5678"  # a number typed into free text is masked too
    html = Client().get(roll.url).content.decode()
    assert "张桂兰" in html and "13812345678" not in html


def timezone_local_date(moment):
    from django.utils import timezone

    return timezone.localtime(moment).date()


def test_public_details_leave_out_rooms_id_numbers_and_private_fields(world):  # noqa: F811
    from cms.generate import public_details
    from engine.privacy import PrivacyRules

    submission = world["submission"]
    submission.data["content"] = "联系人身份证110101199003074514，电话13912345678，住2单元301"
    details = public_details(submission, ["subject", "content", "background"], PrivacyRules())
    shown = " ".join(d["value"] for d in details)
    assert "110101199003074514" not in shown and "[身份证号已隐去]" in shown
    assert "13912345678" not in shown and "139****5678" in shown
    assert [d["label"] for d in details] == ["议题", "建议方案", "现状和问题"]
