"""A public notice (公示) anyone it is published to can object to: from its public page or the API while
the window is open, with a reason; the objection is audited, the flow decides what follows, and the page
says where the notice stands (not "公示至 <old date>" for ever)."""

import datetime
import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from cms.models import AnnouncementPage
from engine.models import AuditEvent, Community, Definition, FlowInstance, Notification, OrgUnit, Person, RoleAssignment
from engine.services import notices
from engine.services.submissions import submit
from engine.workflow import adapter
from tests.concurrency import race

REASON = "据我所知，被推荐人去年曾因占用消防通道被物业多次劝导，请核实。"


def _notice_up():
    call_command("load_definitions", stdout=io.StringIO(), stderr=io.StringIO())
    zanan = Community.objects.get(slug="zanan")
    compound = OrgUnit.objects.filter(community=zanan, level="compound").order_by("path").first()
    grid = OrgUnit.objects.filter(community=zanan, level="grid", path__startswith=compound.path).first()
    users = {}
    for key, role, unit in [("nominator", None, grid), ("branch", "branch_secretary", compound),
                            ("secretary", "community_secretary", compound), ("sgm", "self_governance_member", compound),
                            ("nominee", None, grid), ("neighbour", None, grid), ("neighbour2", None, grid)]:
        users[key] = get_user_model().objects.create_user(key, password="x" * 12)
        person = Person.objects.create(community=zanan, user=users[key], name=key, unit=unit)
        if role:
            RoleAssignment.objects.create(community=zanan, person=person, role=role, unit=unit)
    minyue = Community.objects.get(slug="minyue")
    users["outsider"] = get_user_model().objects.create_user("outsider", password="x" * 12)
    Person.objects.create(community=minyue, user=users["outsider"], name="外社区居民")
    nominee = Person.objects.get(user=users["nominee"])
    form = Definition.objects.get(community=zanan, kind="form", key="model-resident")
    data = {"nomination_type": "self", "nominee_name": "张桂兰", "nominee_unit": grid.key, "category": "helping",
            "deeds": "十年如一日照顾楼里的孤寡老人，" * 5, "citation": "十年如一日的热心邻居",
            "recommender_mobile": "13812345678", "nominee_consent": True}
    instance = FlowInstance.objects.get(submission=submit(form=form, data=data, user=users["nominator"]).submission)
    adapter.take(instance_id=instance.pk, name="preliminary_check", user=users["branch"],
                 inputs={"nominee": nominee.pk, "consent_confirmed": True})
    adapter.take(instance_id=instance.pk, name="approve_for_notice", user=users["secretary"])
    instance = adapter.take(instance_id=instance.pk, name="approve_for_notice", user=users["sgm"])
    return users, instance


@pytest.fixture
def notice(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):  # the notice's page is drafted once the step commits
        users, instance = _notice_up()
    return users, instance, AnnouncementPage.objects.get(source=instance)


def _client(user=None):
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    if user is not None:
        client.force_login(user)
    return client


def test_the_public_sees_the_window_and_a_way_to_sign_in_to_object(notice):
    users, instance, page = notice
    html = _client().get(page.url).content.decode()
    assert 'data-notice="open"' in html and page.notice_until.isoformat() in html
    assert "登录后提出异议" in html and 'name="reason"' not in html


def test_a_neighbour_objects_from_the_page_and_the_page_then_says_so(notice, django_capture_on_commit_callbacks):
    users, instance, page = notice
    before = _client().get(page.url).content.decode()  # the public's copy, cached
    neighbour = _client(users["neighbour"])
    assert 'name="reason"' in neighbour.get(page.url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        answer = neighbour.post(page.url, {"reason": REASON})
    assert answer.status_code == 302 and "objection=received" in answer["Location"]
    instance.refresh_from_db()
    assert instance.state == "objection_check"
    event = AuditEvent.objects.get(instance=instance, transition="object")
    assert (event.actor, event.comment) == (users["neighbour"], REASON)
    assert Notification.objects.filter(user=users["secretary"], instance=instance).exists()
    after = _client().get(page.url).content.decode()
    assert 'data-notice="open"' in before and 'data-notice="objected"' in after  # the cached copy was purged
    assert "公示期间收到异议" in after and "异议核实中" in after and 'name="reason"' not in after
    assert "您的异议已收到" in neighbour.get(answer["Location"]).content.decode()


def test_an_objection_needs_a_reason_and_nothing_moves_without_one(notice):
    users, instance, page = notice
    for reason in ("", "   ", "x" * 1001):
        answer = _client(users["neighbour"]).post(page.url, {"reason": reason})
        assert answer.status_code == 400
        html = answer.content.decode()
        assert ("请写明异议的理由" in html) if len(reason) < 1000 else ("理由太长" in html)
    instance.refresh_from_db()
    assert instance.state == "public_notice" and not AuditEvent.objects.filter(transition="object").exists()


def test_only_those_the_notice_is_published_to_may_object(notice):
    users, instance, page = notice
    outsider = _client(users["outsider"])
    assert 'name="reason"' not in outsider.get(page.url).content.decode()
    answer = outsider.post(page.url, {"reason": REASON})
    assert answer.status_code == 400 and "只有本社区的居民" in answer.content.decode()
    anonymous = _client().post(page.url, {"reason": REASON})
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    instance.refresh_from_db()
    assert instance.state == "public_notice"


def test_a_neighbour_objects_through_the_api(notice):
    users, instance, page = notice
    api = APIClient()
    api.force_authenticate(users["neighbour"])
    assert "object" in [t["name"] for t in api.get(f"/api/v1/submissions/{instance.submission_id}/").json()["transitions"]]
    answer = api.post(f"/api/v1/submissions/{instance.submission_id}/transitions/",
                      {"transition": "object", "comment": REASON}, format="json")
    assert answer.status_code == 200 and answer.json()["state"] == "objection_check"


def test_after_the_window_the_page_says_how_it_ended(notice, django_capture_on_commit_callbacks):
    users, instance, page = notice
    with django_capture_on_commit_callbacks(execute=True):
        adapter.fire_due_timers(now=instance.due_at + datetime.timedelta(minutes=1))
    html = _client().get(page.url).content.decode()
    assert 'data-notice="ended"' in html and "公示已结束" in html
    refused = _client(users["neighbour"]).post(page.url, {"reason": REASON})
    assert refused.status_code == 400 and "公示已经结束" in refused.content.decode()


@pytest.mark.django_db(transaction=True)
def test_two_neighbours_objecting_at_once_make_one_objection():
    from tests.test_production import wagtail_home

    wagtail_home()  # the notice's page needs Wagtail's tree, which an earlier transactional test may have emptied
    users, instance = _notice_up()
    page = AnnouncementPage.objects.get(source=instance)

    def object_(index):
        return notices.object_to(instance=FlowInstance.objects.get(pk=instance.pk),
                                 user=users["neighbour" if index == 0 else "neighbour2"], reason=REASON,
                                 until=page.notice_until)

    results, errors = race(2, object_)
    assert len(results) == 1 and len(errors) == 1 and isinstance(errors[0], notices.ObjectionRefused)
    assert AuditEvent.objects.filter(instance=instance, transition="object").count() == 1
