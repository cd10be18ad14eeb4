"""NUL and unpaired surrogates are refused at the door, whatever the database (PostgreSQL cannot store
them, SQLite would): a 400 that names the field, and nothing written. A database outage is a 503 with
Retry-After, not a 500."""

import json
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.db import InterfaceError, OperationalError
from django.test import Client

from engine.inbound import first_unsafe
from engine.models import AuditEvent, Definition, OrgUnit, Person, RoleAssignment, Submission
from engine.services.submissions import submit

from tests.engine.api.conftest import client_for

SUBMIT_URL = "/api/v1/forms/minyue/resident-request/submissions/"
REQUEST = {"category": "facilities", "subject": "楼道灯坏了", "details": "3号楼2单元楼道灯坏了一个星期，晚上很黑",
           "urgency": "normal", "address": {"unit": "grid_1"}, "contact_name": "张明", "contact_preference": "visit"}

pytestmark = pytest.mark.usefixtures("definitions", "private_media")


def test_the_pointer_names_the_first_bad_string_or_key():
    assert first_unsafe({"a": ["ok", {"b": "x\x00y"}]}) == "/a/1/b"
    assert first_unsafe({"a/b": "\ud800"}) == "/a~1b"
    assert first_unsafe({"k\x00": 1}) == "/k?"
    assert first_unsafe("\udfff") == "/"
    assert first_unsafe({"emoji": "灯坏了😀", "n": 5, "none": None}) is None  # a proper pair is one code point


@pytest.mark.parametrize("url, name", [
    ("/search/?q=%00", "?q"),
    ("/api/v1/forms/?x=%00", "?x"),
])
def test_anonymous_query_strings_with_nul_are_a_400(url, name):
    answer = Client().get(url)
    assert answer.status_code == 400 and name in answer.content.decode()


@pytest.mark.parametrize("param", ["unit", "community", "state", "flow"])
def test_the_inbox_filters_refuse_nul(resident, param):
    answer = client_for(resident).get(f"/api/v1/tasks/?{param}=%00")
    assert answer.status_code == 400 and list(answer.json()["errors"]) == [f"?{param}"]


def test_the_leaderboard_refuses_nul(resident):
    answer = client_for(resident).get("/api/v1/communities/minyue/points/leaderboard/?category=%00")
    assert answer.status_code == 400 and "?category" in answer.json()["errors"]


@pytest.mark.parametrize("field, value", [("subject", "灯\x00坏了"), ("details", "楼道灯\ud800坏了一个星期，晚上很黑"),
                                          ("contact_name", "\udc00")])
def test_a_submission_with_nul_or_a_lone_surrogate_is_refused_and_nothing_stored(resident, field, value):
    body = json.dumps({**REQUEST, field: value})  # json.dumps writes a lone surrogate as \ud800
    answer = client_for(resident).post(SUBMIT_URL, body, content_type="application/json",
                                       HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert answer.status_code == 400
    assert list(answer.json()["errors"]) == [f"/{field}"]
    assert "无法保存" in answer.json()["errors"][f"/{field}"][0]
    assert not Submission.objects.exists()


def test_an_emoji_is_not_a_broken_character(resident):
    answer = client_for(resident).post(SUBMIT_URL, {**REQUEST, "subject": "路灯坏了😀"}, format="json")
    assert answer.status_code == 201


@pytest.fixture
def item(resident):
    community = Definition.objects.get(community__slug="minyue", kind="form", key="resident-request").community
    leader = get_user_model().objects.create_user("leader", password="x" * 12)
    RoleAssignment.objects.create(community=community, role="grid_leader",
                                  unit=OrgUnit.objects.get(community=community, key="grid_1"),
                                  person=Person.objects.create(community=community, user=leader, name="网格长"))
    form = Definition.objects.get(community=community, kind="form", key="resident-request")
    return leader, submit(form=form, data=REQUEST, user=resident).submission


@pytest.mark.parametrize("body, pointer", [
    ({"transition": "analyse", "comment": "好\x00", "data": {"analysis": "属实", "handling_level": "网格办理"}},
     "/comment"),
    ({"transition": "analyse", "data": {"analysis": "属\ud800实", "handling_level": "网格办理"}}, "/data/analysis"),
])
def test_a_step_with_nul_or_a_lone_surrogate_is_refused_and_nothing_moves(item, body, pointer):
    leader, submission = item
    answer = client_for(leader).post(f"/api/v1/submissions/{submission.pk}/transitions/", json.dumps(body),
                                     content_type="application/json")
    assert answer.status_code == 400 and list(answer.json()["errors"]) == [pointer]
    assert submission.flow.__class__.objects.get(pk=submission.flow.pk).state == "collected"
    assert not AuditEvent.objects.exists()


def test_a_comment_with_nul_from_the_item_page_is_refused(item):
    leader, submission = item
    page = Client()
    page.force_login(leader)
    answer = page.post(f"/items/{submission.pk}/", {"transition": "analyse", "comment": "好\x00",
                                                    "input-analysis": "属实", "input-handling_level": "网格办理"})
    assert answer.status_code == 400 and "/comment" in answer.content.decode()
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("error", [OperationalError("server closed the connection unexpectedly"),
                                   InterfaceError("connection already closed")])
def test_a_database_outage_is_a_503_with_retry_after(resident, error):
    with mock.patch("engine.services.submissions.submit", side_effect=error):
        answer = client_for(resident).post(SUBMIT_URL, REQUEST, format="json", HTTP_IDEMPOTENCY_KEY="retry-me")
    assert answer.status_code == 503 and answer["Retry-After"] == "5"
    assert answer.json()["code"] == "unavailable"
    with mock.patch("engine.web.adapter.inbox", side_effect=error):
        page = Client()
        page.force_login(resident)
        answer = page.get("/inbox/")
    assert answer.status_code == 503 and answer["Retry-After"] == "5"
