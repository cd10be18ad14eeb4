"""Transition inputs are checked like form fields, in one place (engine.workflow.inputs, with the
adapter's lookups of people, units and posts): each kind refused with its pointer and Chinese
words and nothing written — through the API, the item page and the simulator alike."""

import dataclasses
import datetime
import re

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.test import APIClient

from engine.models import AuditEvent, Community, FlowInstance, Notification, Person, RoleAssignment
from engine.workflow import adapter, core, inputs, simulate
from tests.engine.workflow.test_resident_request import build

CHINESE = re.compile(r"[\u4e00-\u9fff]")

SPECS = {
    "note": {"type": "text"},
    "count": {"type": "number"},
    "day": {"type": "date"},
    "ok": {"type": "boolean"},
    "level": {"type": "choice", "choices": ["网格办理", "社区办理"]},
    "who": {"type": "person", "role": "member"},
    "where": {"type": "unit"},
    "post": {"type": "post"},
    "must": {"type": "text", "required": True},
}


# ---------------------------------------------------------------- the pure checks


@pytest.mark.parametrize("name, value, code", [
    ("note", 123, "type"),
    ("note", "字" * (inputs.MAX_TEXT + 1), "max_length"),
    ("count", "abc", "type"),
    ("count", True, "type"),
    ("count", "nan", "type"),
    ("day", "2025-02-30", "format"),
    ("day", "6/1/2025", "format"),
    ("ok", "yes", "type"),
    ("level", "不存在", "enum"),
    ("level", ["网格办理"], "enum"),
    ("who", "abc", "type"),
    ("who", -3, "type"),
    ("who", True, "type"),
    ("where", 7, "type"),
    ("post", {"key": "x"}, "type"),
    ("must", "   ", "required"),
])
def test_each_kind_refuses_a_wrong_value_with_its_pointer_and_chinese_words(name, value, code):
    given = {"must": "有", name: value}
    kept, errors, lookups = inputs.check(SPECS, given)
    assert [(e.pointer, e.code) for e in errors] == [(f"/data/{name}", code)]
    assert CHINESE.search(errors[0].text("zh-hans")) and errors[0].text("en")[:6].isascii()
    assert name not in kept


def test_good_values_are_kept_typed_and_undeclared_ones_dropped():
    kept, errors, lookups = inputs.check(SPECS, {
        "note": "好", "count": "3", "day": "2025-06-01", "ok": False, "level": "社区办理", "who": "12",
        "where": "grid_1", "post": "mediation", "must": "有", "sneaky": "<script>"})
    assert errors == []
    assert kept == {"note": "好", "count": 3, "day": "2025-06-01", "ok": False, "level": "社区办理", "who": 12,
                    "where": "grid_1", "post": "mediation", "must": "有"}
    assert [(lk.name, lk.kind, lk.value, lk.role) for lk in lookups] == [
        ("who", "person", 12, "member"), ("where", "unit", "grid_1", ""), ("post", "post", "mediation", "")]


def test_a_missing_required_input_and_an_empty_optional_one():
    kept, errors, _ = inputs.check(SPECS, {"note": ""})
    assert [(e.pointer, e.code, e.text()) for e in errors] == [("/data/must", "required", "此项必填")]
    assert kept == {}


def test_the_choice_error_lists_the_choices():
    _, [error], _ = inputs.check(SPECS, {"must": "x", "level": "不存在"})
    assert error.text("zh-hans") == "请从以下选项中选择: 网格办理、社区办理"


FLOW = {
    "flow": "f", "title": "t", "form": "f", "start": "new",
    "states": {"new": {"title": "新"}, "done": {"title": "完", "final": True}},
    "transitions": [{"name": "close", "from": "new", "to": "done", "by": {"role": "staff"},
                     "input": {"level": {"type": "choice", "choices": ["甲", "乙"], "required": True}},
                     "guard": "input.level == '甲'"}],
}


def test_the_core_refuses_a_bad_input_before_the_guard_and_after_the_actor():
    flow = core.compile_flow(FLOW)
    staff = core.Facts(person=1, authenticated=True, roles=frozenset({("staff", "0001")}))
    with pytest.raises(core.Refusal) as refused:
        core.take(flow, "new", "close", staff, {}, {"level": "不存在"})
    assert refused.value.reason == "input" and [e.pointer for e in refused.value.errors] == ["/data/level"]
    with pytest.raises(core.Refusal) as not_actor:  # who first: a stranger is not told about the input
        core.take(flow, "new", "close", core.Facts(person=2, authenticated=True), {}, {"level": "不存在"})
    assert not_actor.value.reason == "not_actor"
    assert core.take(flow, "new", "close", staff, {}, {"level": "甲"}).target == "done"


def test_the_simulator_refuses_the_same_input():
    simulation = simulate.Simulation(core.compile_flow(FLOW), {})
    with pytest.raises(core.Refusal) as refused:
        simulation.step("close", simulate.Persona.of(["staff"]), {"level": "丙"})
    assert refused.value.reason == "input" and simulation.state == "new"


# ---------------------------------------------------------------- through the API and the page


@pytest.fixture
def world(db):
    return build()


def act(user, submission, transition, data=None, comment=""):
    client = APIClient()
    client.force_authenticate(user)
    return client.post(f"/api/v1/submissions/{submission.pk}/transitions/",
                       {"transition": transition, "comment": comment, "data": data}, format="json")


def nothing_written(submission, state):
    instance = FlowInstance.objects.get(submission=submission)
    assert instance.state == state and instance.version == 1 and instance.assignee_id is None
    assert not AuditEvent.objects.filter(instance=instance).exists()


def analysed(world):
    community, people, handler, submission = world
    assert act(people["leader"], submission, "analyse", {"analysis": "属实", "handling_level": "社区办理"}).status_code == 200
    return submission


def test_a_choice_outside_its_list_is_400_with_its_pointer_and_nothing_written(world):
    community, people, handler, submission = world
    response = act(people["leader"], submission, "analyse", {"analysis": "属实", "handling_level": "不存在"})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["/data/handling_level"]
    assert response.json()["errors"]["/data/handling_level"][0].startswith("请从以下选项中选择")
    nothing_written(submission, "collected")


def test_an_assignee_that_is_not_a_person_id_is_400_not_500(world):
    community, people, handler, submission = world
    submission = analysed(world)
    for value in ("abc", -1, 1.5, {"id": 1}):
        response = act(people["secretary"], submission, "dispatch", {"assignee": value})
        assert response.status_code == 400, value
        assert set(response.json()["errors"]) == {"/data/assignee"}
    instance = FlowInstance.objects.get(submission=submission)
    assert instance.state == "analysed" and instance.assignee_id is None


def test_an_assignee_of_another_community_inactive_or_without_account_is_refused(world):
    community, people, handler, submission = world
    submission = analysed(world)
    other = Community.objects.exclude(pk=community.pk).first()
    outsider = Person.objects.create(community=other, name="外人",
                                     user=get_user_model().objects.create_user("outsider", password="x" * 12))
    gone = Person.objects.create(community=community, name="已离开", active=False,
                                 user=get_user_model().objects.create_user("gone", password="x" * 12))
    no_account = Person.objects.create(community=community, name="无账户")
    words = {}
    for person in (outsider, gone, no_account):
        response = act(people["secretary"], submission, "dispatch", {"assignee": person.pk})
        assert response.status_code == 400
        [words[person.name]] = response.json()["errors"]["/data/assignee"]
    assert words["外人"] == words["已离开"] == "所选人员不是本社区的在册人员"
    assert words["无账户"] == "所选人员还没有可登录的账户"
    assert FlowInstance.objects.get(submission=submission).state == "analysed"
    assert not Notification.objects.exists()


@pytest.fixture
def role_input(monkeypatch):
    """resident-request's dispatch with `role: member` on its assignee input."""
    real = adapter.compiled

    def compiled(instance_or_version):
        flow = real(instance_or_version)
        if flow.key != "resident-request":
            return flow
        dispatch = flow.transitions["dispatch"]
        changed = dataclasses.replace(dispatch, inputs={"assignee": {**dispatch.inputs["assignee"], "role": "member"}})
        return dataclasses.replace(flow, transitions={**flow.transitions, "dispatch": changed})

    monkeypatch.setattr(adapter, "compiled", compiled)


def test_a_person_input_takes_only_a_current_holder_of_its_role(world, role_input):
    community, people, handler, submission = world
    submission = analysed(world)
    resident = Person.objects.get(user=people["resident"])
    response = act(people["secretary"], submission, "dispatch", {"assignee": resident.pk})
    assert response.status_code == 400
    assert response.json()["errors"] == {"/data/assignee": ["所选人员目前不担任“党员”"]}
    # an expired role does not count, nor one that starts tomorrow
    today = timezone.localdate()
    for name, dates in (("lapsed", {"until": today - datetime.timedelta(days=1)}),
                        ("future", {"since": today + datetime.timedelta(days=1)})):
        person = Person.objects.create(community=community, name=name,
                                       user=get_user_model().objects.create_user(name, password="x" * 12))
        RoleAssignment.objects.create(community=community, person=person, role="member", unit=handler.unit, **dates)
        refused = act(people["secretary"], submission, "dispatch", {"assignee": person.pk})
        assert refused.status_code == 400 and set(refused.json()["errors"]) == {"/data/assignee"}
    assert FlowInstance.objects.get(submission=submission).state == "analysed"
    ok = act(people["secretary"], submission, "dispatch", {"assignee": handler.pk})
    assert ok.status_code == 200 and FlowInstance.objects.get(submission=submission).assignee == people["handler"]


def test_in_english_the_words_are_english(world, role_input):
    community, people, handler, submission = world
    submission = analysed(world)
    client = APIClient()
    client.force_authenticate(people["secretary"])
    response = client.post(f"/api/v1/submissions/{submission.pk}/transitions/",
                           {"transition": "dispatch", "data": {"assignee": Person.objects.get(user=people["resident"]).pk}},
                           format="json", HTTP_ACCEPT_LANGUAGE="en")
    # (minyue titles its roles in Chinese only: the title is the community's word)
    assert response.json()["errors"] == {"/data/assignee": ["The person chosen does not hold “党员” now"]}


@pytest.fixture
def place_inputs(monkeypatch):
    """resident-request's analyse also asks for a unit and a post."""
    real = adapter.compiled

    def compiled(instance_or_version):
        flow = real(instance_or_version)
        if flow.key != "resident-request":
            return flow
        analyse = flow.transitions["analyse"]
        changed = dataclasses.replace(analyse, inputs={**analyse.inputs, "where": {"type": "unit", "required": True},
                                                       "post": {"type": "post"}})
        return dataclasses.replace(flow, transitions={**flow.transitions, "analyse": changed})

    monkeypatch.setattr(adapter, "compiled", compiled)


def test_a_unit_and_a_post_must_exist_in_the_community(world, place_inputs):
    community, people, handler, submission = world
    base = {"analysis": "属实", "handling_level": "社区办理"}
    response = act(people["leader"], submission, "analyse", {**base, "where": "nowhere", "post": "astronaut"})
    assert response.status_code == 400
    assert response.json()["errors"] == {"/data/where": ["本社区没有单位“nowhere”"],
                                         "/data/post": ["本社区没有岗位“astronaut”"]}
    nothing_written(submission, "collected")
    grid = handler.unit.get_children().first() or handler.unit
    ok = act(people["leader"], submission, "analyse", {**base, "where": grid.key, "post": "mediation"})
    assert ok.status_code == 200
    event = AuditEvent.objects.get(instance__submission=submission, transition="analyse")
    assert event.data["inputs"] == {**base, "where": grid.key, "post": "mediation"}


def test_data_that_is_not_an_object_is_400(world):
    community, people, handler, submission = world
    response = act(people["leader"], submission, "analyse", ["属实"])
    assert response.status_code == 400
    nothing_written(submission, "collected")


def test_the_item_page_shows_the_error_next_to_the_input_in_chinese_and_keeps_what_was_entered(world, client):
    community, people, handler, submission = world
    client.force_login(people["leader"])
    page = client.post(_item_url(submission), {
        "transition": "analyse", "version": 1, "input-analysis": "属实<b>", "input-handling_level": "不存在"},
        follow=True, HTTP_ACCEPT_LANGUAGE="zh-hans")
    html = page.content.decode()
    # a choice of three is drawn as radios in a fieldset (issue #16), its error inside it
    field = re.search(r'<div class="field has-error">\s*<fieldset[^>]*>.*?</fieldset>', html, re.S)
    assert field, html
    assert "请从以下选项中选择: 网格办理、小区党支部办理、社区办理" in field.group(0)
    assert 'aria-describedby="analyse-handling_level-error"' in field.group(0)
    assert 'name="input-handling_level"' in field.group(0)
    assert '属实&lt;b&gt;</textarea>' in html  # kept, escaped (text is drawn as a textarea)
    nothing_written(submission, "collected")
    again = client.get(_item_url(submission)).content.decode()  # shown once
    assert "请从以下选项中选择" not in again


def _item_url(submission):
    from django.urls import reverse

    return reverse("linli_item", kwargs={"pk": submission.pk})
