"""Issue #17, defects 7 and 10: a guard's refusal speaks the flow's own words in the reader's
language, and an Idempotency-Key is the sender's own — replayed for them alone, refused (422) when
they send it again with another request, and never a 409 because someone else used it."""

import io
from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import translation
from rest_framework.test import APIClient

from engine.models import Community, Definition, FlowInstance, LedgerEntry, OrgUnit, Person, RoleAssignment, Submission
from engine.services import points
from engine.services import submissions as submission_service
from engine.workflow.words import guard_refusal
from tests.concurrency import race
from tests.engine.api.test_forms_api import REQUEST, SUBMIT_URL


def api(user, language="zh-hans"):
    client = APIClient(HTTP_ACCEPT_LANGUAGE=language)
    client.force_authenticate(user)
    return client


# ---------------------------------------------------------------- defect 7: the flow's own words


def _flow(message):
    return SimpleNamespace(transitions={"rate": SimpleNamespace(guard_message=message)})


@pytest.mark.parametrize("message, language, said", [
    ({"zh-hans": "评价为满意时，请选择“评议”办结。", "en": "When satisfied, choose Close"}, "zh-hans",
     "评价为满意时，请选择“评议”办结。"),
    ({"zh-hans": "评价为满意时，请选择“评议”办结。", "en": "When satisfied, choose Close"}, "en",
     "When satisfied, choose Close"),
    ("须当面确认被推荐人同意公示", "en", "须当面确认被推荐人同意公示"),  # one language only: the author's words
])
def test_a_guard_refusal_is_the_flows_guard_message_in_the_language_asked_for(message, language, said):
    assert guard_refusal(_flow(message), "rate", language) == said


def test_a_guard_without_a_message_falls_back_to_the_generic_words_translated():
    with translation.override("zh-hans"):
        zh = guard_refusal(_flow(""), "rate", "zh-hans")
    with translation.override("en"):
        en = guard_refusal(_flow(""), "unknown", "en")
    assert en == "The conditions for this step are not met"
    assert zh != en and not any("a" <= c.lower() <= "z" for c in zh)


@pytest.fixture
def nomination(db):
    """zanan's 最美酂南人: a nomination waiting for the branch secretary's preliminary check, whose
    guard asks that the nominee's consent was confirmed in person."""
    call_command("load_definitions", "workflows_yaml/zanan", "forms_schemas/zanan", stdout=io.StringIO(),
                 stderr=io.StringIO())
    community = Community.objects.get(slug="zanan")
    grid = OrgUnit.objects.filter(community=community, level="grid").order_by("path").first()
    compound = grid.get_parent()
    while compound is not None and compound.level != "compound":
        compound = compound.get_parent()
    User = get_user_model()
    people = {}
    for key, role, unit in (("nominator", "resident", grid), ("branch", "branch_secretary", compound or grid),
                            ("nominee", "resident", grid)):
        user = User.objects.create_user(key, password="x" * 12)
        person = Person.objects.create(community=community, user=user, name=key, unit=grid)
        RoleAssignment.objects.create(community=community, person=person, role=role, unit=unit)
        people[key] = (user, person)
    form = Definition.objects.get(community=community, kind="form", key="model-resident")
    data = {"nomination_type": "neighbours", "nominee_name": "王大妈", "nominee_unit": grid.key, "category": "helping",
            "deeds": "王大妈十年如一日照顾楼里的独居老人，每天上门送饭、陪老人聊天，还组织邻居轮流值班，"
                     "让独居老人都有人照应，深受邻居们的敬重和爱戴。",
            "citation": "十年照顾独居老人的热心肠", "recommender_mobile": "13800138000", "nominee_consent": True,
            "supporters": [{"name": "李四四", "room": "1号楼101"}, {"name": "赵五五", "room": "1号楼102"},
                           {"name": "钱六六", "room": "1号楼201"}]}
    submission = submission_service.submit(form=form, data=data, user=people["nominator"][0]).submission
    return submission, people


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_api_answers_a_guard_with_the_flows_words(nomination, language):
    submission, people = nomination
    body = {"transition": "preliminary_check",
            "data": {"nominee": people["nominee"][1].pk, "consent_confirmed": False}}
    response = api(people["branch"][0], language).post(f"/api/v1/submissions/{submission.pk}/transitions/", body,
                                                       format="json")
    assert response.status_code == 400, response.content
    assert response.json()["reason"] == "guard"
    assert response.json()["detail"] == "须当面确认被推荐人同意公示姓名和事迹后才能进入评审。"
    instance = FlowInstance.objects.get(submission=submission)
    assert instance.state == "nominated" and instance.version == 1  # nothing written


def test_the_item_page_answers_a_guard_with_the_flows_words(nomination, client):
    submission, people = nomination
    client.force_login(people["branch"][0])
    page = client.post(f"/items/{submission.pk}/", {"transition": "preliminary_check", "version": "1",
                                                    "input-nominee": str(people["nominee"][1].pk),
                                                    "input-consent_confirmed": "false"}, follow=True)
    text = page.content.decode()
    assert "须当面确认被推荐人同意公示姓名和事迹后才能进入评审。" in text
    assert FlowInstance.objects.get(submission=submission).state == "nominated"


# ---------------------------------------------------------------- defect 10: keys per person


@pytest.fixture
def residents(definitions, django_user_model):  # noqa: F811 - `definitions` from tests/security/conftest.py
    return [django_user_model.objects.create_user(name, password="linli-test") for name in ("zhang", "li")]


@pytest.mark.django_db(transaction=True)
def test_one_key_from_two_people_at_once_makes_two_submissions(residents):
    form = Definition.objects.get(community__slug="minyue", kind="form", key="resident-request")
    results, errors = race(2, lambda i: submission_service.submit(form=form, data=REQUEST, user=residents[i],
                                                                  idempotency_key="same-key"))
    assert errors == [] and all(r.created for r in results)
    assert sorted(Submission.objects.values_list("submitter__username", flat=True)) == ["li", "zhang"]


@pytest.mark.django_db(transaction=True)
def test_one_key_sent_twice_at_once_with_two_bodies_makes_one_submission_and_one_422(residents):
    other = {**REQUEST, "subject": "4号楼楼道灯也坏了"}

    def send(i):
        client = APIClient()
        client.force_authenticate(residents[0])
        return client.post(SUBMIT_URL, REQUEST if i == 0 else other, format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    responses, errors = race(2, send)
    assert errors == []
    assert sorted(r.status_code for r in responses) == [201, 422]
    assert Submission.objects.count() == 1


def test_a_key_too_long_is_refused_by_name_and_a_long_key_is_not_cut(residents):
    client = api(residents[0])
    refused = client.post(SUBMIT_URL, REQUEST, format="json", HTTP_IDEMPOTENCY_KEY="k" * 256)
    assert refused.status_code == 400 and list(refused.json()["errors"]) == ["Idempotency-Key"]
    assert Submission.objects.count() == 0
    # two 200-character keys that differ only at the end are two keys
    first = client.post(SUBMIT_URL, REQUEST, format="json", HTTP_IDEMPOTENCY_KEY="k" * 199 + "1")
    second = client.post(SUBMIT_URL, REQUEST, format="json", HTTP_IDEMPOTENCY_KEY="k" * 199 + "2")
    assert first.status_code == second.status_code == 201 and first.json()["id"] != second.json()["id"]
    again = client.post(SUBMIT_URL, REQUEST, format="json", HTTP_IDEMPOTENCY_KEY="k" * 199 + "1")
    assert again.json()["id"] == first.json()["id"] and again["Idempotent-Replayed"] == "true"
    assert all(len(key) <= 64 for key in Submission.objects.values_list("idempotency_key", flat=True))


@pytest.fixture
def awards(definitions):
    community = Community.objects.get(slug="minyue")
    User = get_user_model()
    root = OrgUnit.objects.get(community=community, depth=1)
    admins = []
    for name in ("sec1", "sec2"):
        user = User.objects.create_user(name, password="x" * 12)
        RoleAssignment.objects.create(community=community, role="community_secretary", unit=root,
                                      person=Person.objects.create(community=community, user=user, name=name))
        admins.append(user)
    me = Person.objects.create(community=community, name="张小明")
    you = Person.objects.create(community=community, name="李小华")
    category = points._community_data(community)["points"]["categories"][0]["key"]
    return admins, me, you, category


AWARDS = "/api/v1/communities/minyue/points/awards/"


def test_award_keys_are_per_admin_and_another_award_under_ones_key_is_422(awards):
    admins, me, you, category = awards
    body = {"person": me.pk, "category": category, "points": 5, "reason": "表彰"}
    first = api(admins[0]).post(AWARDS, body, format="json", HTTP_IDEMPOTENCY_KEY="award-1")
    again = api(admins[0]).post(AWARDS, body, format="json", HTTP_IDEMPOTENCY_KEY="award-1")
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    # another admin's "award-1" is their own award
    theirs = api(admins[1]).post(AWARDS, body, format="json", HTTP_IDEMPOTENCY_KEY="award-1")
    assert theirs.status_code == 201 and theirs.json()["sequence"] != first.json()["sequence"]
    assert points.balance(me) == 10
    # the first admin's key with another award: more points, another reason, another person
    for changed in ({**body, "points": 50}, {**body, "reason": "另一件事"}, {**body, "person": you.pk},
                    {**body, "points": -5}):
        refused = api(admins[0]).post(AWARDS, changed, format="json", HTTP_IDEMPOTENCY_KEY="award-1")
        assert refused.status_code == 422, (changed, refused.content)
        assert refused.json() == {"errors": {"Idempotency-Key": [
            "这个 Idempotency-Key 已用于内容不同的请求；新的请求请使用新的 Idempotency-Key"]}}
    assert points.balance(me) == 10 and points.balance(you) == 0 and LedgerEntry.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_one_award_key_from_two_admins_at_once_makes_two_entries_and_from_one_makes_one(awards):
    admins, me, you, category = awards
    body = {"person": me.pk, "category": category, "points": 3, "reason": "巡逻"}

    def send(users):
        def one(i):
            client = APIClient()
            client.force_authenticate(users[i])
            return client.post(AWARDS, body, format="json", HTTP_IDEMPOTENCY_KEY="race")
        return one

    responses, errors = race(2, send(admins))
    assert errors == [] and [r.status_code for r in responses] == [201, 201]
    assert LedgerEntry.objects.filter(person=me).count() == 2
    responses, errors = race(3, send([admins[0]] * 3))
    assert errors == [] and [r.status_code for r in responses] == [201] * 3
    assert LedgerEntry.objects.filter(person=me).count() == 2  # the first admin's "race" was paid already
