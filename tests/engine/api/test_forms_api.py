"""The REST API contract for forms and submissions (DESIGN.md, Interfaces)."""

import json
import re
from pathlib import Path

import pytest
import yaml
from django.utils import timezone

from engine.models import Definition, Submission
from engine.services import submissions as submission_service
from tests.concurrency import race

from .conftest import client_for

ROOT = Path(__file__).resolve().parents[3]
FORMS_URL = "/api/v1/forms/"
REQUEST_URL = "/api/v1/forms/minyue/resident-request/"
SUBMIT_URL = REQUEST_URL + "submissions/"

REQUEST = {
    "category": "facilities",
    "subject": "3号楼楼道灯坏了",
    "details": "3号楼2单元楼道灯坏了一个星期，晚上上下楼看不见。",
    "urgency": "pressing",
    "photos": [],
    "address": {"unit": "grid_1", "room": "2单元301"},
    "contact_name": "王芳",
    "mobile": "13812345678",
    "contact_preference": "phone",
    "publicity_consent": False,
}
CLAIM = {"post": "mediation", "unit": "grid_3", "pledge": "每周巡查两次楼道卫生，发现问题当天报告网格长。",
         "service_times": ["周末", "节假日"], "in_service": True, "workplace": "平城区税务局"}

pytestmark = pytest.mark.usefixtures("definitions")

AUDIENCE_FORMS = {("minyue", "member-registration"), ("minyue", "post-claim"), ("zanan", "property-evaluation")}
ALL_FORMS = {("minyue", key) for key in ["member-registration", "post-claim", "proposal", "redemption",
                                         "resident-request", "satisfaction", "unit-registration"]} | {
    ("zanan", key) for key in ["model-resident", "property-evaluation", "redemption"]}


def post(client, url, data, **headers):
    return client.post(url, data, format="json", **headers)


# Listing and reading forms.

def test_anonymous_callers_see_only_forms_open_to_anyone(anonymous_client):
    response = anonymous_client.get(FORMS_URL)
    assert response.status_code == 200
    assert response.json() == []  # no example form is anonymous


def test_a_resident_sees_the_live_forms_and_which_they_may_submit(resident_client):
    response = resident_client.get(FORMS_URL)
    assert response.status_code == 200
    forms = response.json()
    assert {(f["community"], f["form"]) for f in forms} == ALL_FORMS
    request = next(f for f in forms if f["form"] == "resident-request")
    assert request == {"community": "minyue", "form": "resident-request", "title": "民情直通车", "version": 1,
                       "anonymous": False, "can_submit": True}
    for f in forms:
        assert f["can_submit"] is ((f["community"], f["form"]) not in AUDIENCE_FORMS), f


def test_a_superuser_may_submit_every_form(admin_client_api):
    forms = admin_client_api.get(FORMS_URL).json()
    assert len(forms) == len(ALL_FORMS)
    assert all(f["can_submit"] for f in forms)


def test_english_titles_follow_the_language_asked_for(resident_client):
    forms = resident_client.get(FORMS_URL, HTTP_ACCEPT_LANGUAGE="en").json()
    # the example titles are Chinese only: English callers get them rather than nothing
    assert next(f for f in forms if f["form"] == "resident-request")["title"] == "民情直通车"


def test_one_form_with_its_schema_ui_shared_definitions_and_version(resident_client):
    response = resident_client.get(REQUEST_URL)
    assert response.status_code == 200
    body = response.json()
    source = json.loads((ROOT / "forms_schemas/minyue/resident-request.schema.json").read_text("utf-8"))
    shared = json.loads((ROOT / "forms_schemas/_shared/defs.json").read_text("utf-8"))
    assert body["community"] == "minyue" and body["form"] == "resident-request"
    assert body["version"] == 1 and body["can_submit"] is True and body["anonymous"] is False
    assert body["schema"] == source
    assert body["ui"] == source["x-ui"]
    assert body["shared"] == {"defs.json": shared}


@pytest.mark.parametrize("url", ["/api/v1/forms/minyue/no-such-form/", "/api/v1/forms/nowhere/resident-request/",
                                 "/api/v1/forms/zanan/resident-request/",
                                 "/api/v1/forms/minyue/no-such-form/submissions/"])
def test_unknown_forms_are_404(resident_client, url):
    response = resident_client.get(url) if not url.endswith("submissions/") else post(resident_client, url, REQUEST)
    assert response.status_code == 404


def test_a_form_that_is_not_live_is_404(resident_client):
    Definition.objects.filter(community__slug="minyue", key="resident-request", kind="form").update(live_version=None)
    assert resident_client.get(REQUEST_URL).status_code == 404
    assert post(resident_client, SUBMIT_URL, REQUEST).status_code == 404
    assert Submission.objects.count() == 0


# Submitting.

def test_a_valid_submission_is_stored_exactly_as_sent(resident_client, resident):
    response = post(resident_client, SUBMIT_URL, REQUEST)
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"id", "reference", "state", "form_version"}
    assert body["state"] == "collected" and body["form_version"] == 1
    assert re.fullmatch(rf"MQ{timezone.localdate():%Y%m%d}\d{{6}}", body["reference"])
    stored = Submission.objects.get()
    assert stored.pk == body["id"] and stored.reference == body["reference"]
    assert body["reference"].endswith(f"{stored.pk:06d}")
    assert stored.data == REQUEST
    assert stored.submitter == resident
    assert stored.community.slug == "minyue" and stored.form.key == "resident-request"
    assert stored.form_version.number == 1 and stored.form_version == stored.form.live_version
    assert stored.language == "zh-hans"


def test_references_are_unique(resident_client):
    references = {post(resident_client, SUBMIT_URL, REQUEST).json()["reference"] for _ in range(3)}
    assert len(references) == 3
    assert Submission.objects.count() == 3


def test_the_reference_number_grows_past_six_digits_without_losing_any(resident_client):
    first = Submission.objects.get(pk=post(resident_client, SUBMIT_URL, REQUEST).json()["id"])
    # the row a community makes as it reaches its millionth submission
    millionth = Submission.objects.create(
        id=1234567, community=first.community, form=first.form, form_version=first.form_version,
        data=first.data, reference_stem=first.reference_stem)
    assert millionth.reference == f"{first.reference_stem}1234567"
    assert Submission.objects.get(pk=1234567).reference == millionth.reference


def test_an_invalid_submission_gets_errors_by_pointer_and_nothing_is_stored(resident_client):
    data = {**REQUEST, "mobile": "12345", "extra": 1, "address": {"room": "301"}}
    del data["subject"]
    response = post(resident_client, SUBMIT_URL, data)
    assert response.status_code == 400
    assert response.json() == {"errors": {
        "/subject": ["此项必填"],
        "/address/unit": ["此项必填"],
        "/mobile": ["请输入11位手机号码"],
        "/extra": ["表单中没有这一项"],
    }}
    assert Submission.objects.count() == 0


def test_errors_in_english(resident_client):
    data = {**REQUEST, "mobile": "12345", "urgency": "urgent", "details": 10}
    response = post(resident_client, SUBMIT_URL, data, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert response.json() == {"errors": {"/details": ["Enter text"], "/mobile": ["Enter an 11-digit mobile number"]}}
    no_phone = {k: v for k, v in REQUEST.items() if k != "mobile"}
    response = post(resident_client, SUBMIT_URL, {**no_phone, "urgency": "urgent"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.json() == {"errors": {"/mobile": ["This field is required"]}}
    assert Submission.objects.count() == 0


@pytest.mark.parametrize("body", ['["a", "list"]', '"text"', "null", "17"])
def test_a_body_that_is_not_an_object_is_refused(resident_client, body):
    response = resident_client.post(SUBMIT_URL, body, content_type="application/json")
    assert response.status_code == 400
    assert "errors" in response.json()
    assert Submission.objects.count() == 0


def test_a_body_that_is_not_json_is_refused(resident_client):
    response = resident_client.post(SUBMIT_URL, "category=facilities", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    response = resident_client.post(SUBMIT_URL, "{not json", content_type="application/json")
    assert response.status_code == 400
    assert Submission.objects.count() == 0


def test_anonymous_callers_may_not_submit_a_form_for_residents(anonymous_client):
    response = post(anonymous_client, SUBMIT_URL, REQUEST)
    assert response.status_code in (401, 403)
    assert Submission.objects.count() == 0


def test_a_form_for_an_audience_is_refused_to_a_plain_resident(resident_client, admin_client_api):
    url = "/api/v1/forms/minyue/post-claim/submissions/"
    response = post(resident_client, url, CLAIM)
    assert response.status_code == 403
    assert Submission.objects.count() == 0
    # even invalid data gets the refusal, not a list of mistakes
    assert post(resident_client, url, {}).status_code == 403
    response = post(admin_client_api, url, CLAIM)
    assert response.status_code == 201, response.content
    assert response.json()["reference"].startswith("RG")
    assert Submission.objects.get().data == CLAIM


def test_names_must_be_the_communitys_own(resident_client, admin_client_api):
    # grid_9 is a well-formed name; huafeichang is a unit of zanan, not of minyue
    for unit in ["grid_9", "huafeichang"]:
        response = post(resident_client, SUBMIT_URL, {**REQUEST, "address": {"unit": unit}})
        assert response.status_code == 400
        assert response.json() == {"errors": {"/address/unit": ["请选择本社区的单位"]}}
    response = post(resident_client, SUBMIT_URL, {**REQUEST, "address": {"unit": "grid_9"}}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.json() == {"errors": {"/address/unit": ["Choose a unit of this community"]}}
    response = post(admin_client_api, "/api/v1/forms/minyue/post-claim/submissions/", {**CLAIM, "post": "night_watch"})
    assert response.json() == {"errors": {"/post": ["请选择本社区的岗位"]}}
    member = {"name": "刘洋", "mobile": "13812345678", "address": {"unit": "grid_2"}, "workplace": "平城区税务局",
              "party_organisation": "税务局机关党支部", "service_times": ["周末"],
              "teams": ["red_volunteers", "chess_club"]}
    response = post(admin_client_api, "/api/v1/forms/minyue/member-registration/submissions/", member)
    assert response.json() == {"errors": {"/teams/1": ["请选择本社区的服务队"]}}
    redemption = {"item": "towel", "quantity": 1, "collection": "centre"}  # towels are zanan's
    response = post(resident_client, "/api/v1/forms/minyue/redemption/submissions/", redemption)
    assert response.json() == {"errors": {"/item": ["请选择积分超市中的物品"]}}
    assert Submission.objects.count() == 0
    # the real names go through
    assert post(resident_client, SUBMIT_URL, {**REQUEST, "address": {"unit": "furongyuan"}}).status_code == 201
    member["teams"] = ["red_volunteers", "elder_haircut"]
    assert post(admin_client_api, "/api/v1/forms/minyue/member-registration/submissions/", member).status_code == 201
    redemption["item"] = "rice_5kg"
    assert post(resident_client, "/api/v1/forms/minyue/redemption/submissions/", redemption).status_code == 201


# Idempotency.

def test_the_same_idempotency_key_twice_makes_one_submission(resident_client, resident):
    first = post(resident_client, SUBMIT_URL, REQUEST, HTTP_IDEMPOTENCY_KEY="req-2024-0001")
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first
    again = post(resident_client, SUBMIT_URL, REQUEST, HTTP_IDEMPOTENCY_KEY="req-2024-0001")
    assert again.status_code in (200, 201)
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Submission.objects.count() == 1
    assert Submission.objects.get().idempotency_key == f"u:{resident.pk}:req-2024-0001"  # the key is the person's
    # without a key, or with another key, a submission is a new one
    assert post(resident_client, SUBMIT_URL, REQUEST).json()["id"] != first.json()["id"]
    assert post(resident_client, SUBMIT_URL, REQUEST, HTTP_IDEMPOTENCY_KEY="req-2024-0002").status_code == 201
    assert Submission.objects.count() == 3


def test_someone_elses_idempotency_key_is_not_theirs_to_replay_or_block(resident_client, neighbour_client):
    """Keys are per person (issue #17): the neighbour's "shared-key" is their own key, so it makes
    their own submission — never the resident's answer, never a 409 that tells them it was used."""
    mine = post(resident_client, SUBMIT_URL, REQUEST, HTTP_IDEMPOTENCY_KEY="shared-key")
    assert mine.status_code == 201
    response = post(neighbour_client, SUBMIT_URL, REQUEST, HTTP_IDEMPOTENCY_KEY="shared-key")
    assert response.status_code == 201 and "Idempotent-Replayed" not in response
    assert response.json()["id"] != mine.json()["id"] and mine.json()["reference"] not in response.content.decode()
    assert Submission.objects.count() == 2


def test_an_idempotency_key_reused_for_another_request_is_refused(resident_client):
    """A replay answers the same request again; anything else sent under the key is not it: 422
    (Stripe's answer to a key reused with another body), with words saying so."""
    first = post(resident_client, SUBMIT_URL, REQUEST, HTTP_IDEMPOTENCY_KEY="my-key").json()
    response = post(resident_client, SUBMIT_URL, {**REQUEST, "subject": "4号楼楼道灯也坏了"}, HTTP_IDEMPOTENCY_KEY="my-key")
    assert response.status_code == 422
    assert response.json() == {"errors": {"Idempotency-Key": [
        "这个 Idempotency-Key 已用于内容不同的请求；新的请求请使用新的 Idempotency-Key"]}}
    proposal = {"topic_type": "parking", "subject": "增设电动车充电桩", "background": "小区电动车越来越多，楼道充电有火灾隐患。",
                "content": "在北门空地建设集中充电棚，按次收费。", "funding": "none"}
    response = post(resident_client, "/api/v1/forms/minyue/proposal/submissions/", proposal,
                    HTTP_IDEMPOTENCY_KEY="my-key")
    assert response.status_code == 422
    assert Submission.objects.count() == 1
    # the first request itself still replays
    again = post(resident_client, SUBMIT_URL, REQUEST, HTTP_IDEMPOTENCY_KEY="my-key")
    assert again.json() == first and again["Idempotent-Replayed"] == "true"


def test_a_form_pages_verdict_is_reused_only_for_the_very_data_it_passed(resident_client, resident):
    from engine.forms.registry import form_spec

    form = Definition.objects.get(community__slug="minyue", kind="form", key="resident-request")
    spec = form_spec(form.live_version)
    bad = {**REQUEST, "mobile": "12345"}
    with pytest.raises(submission_service.SubmissionInvalid) as refused:
        submission_service.submit(form=form, data=bad, user=resident, validated=(spec, REQUEST))
    assert [e.pointer for e in refused.value.errors] == ["/mobile"]
    assert Submission.objects.count() == 0
    stored = submission_service.submit(form=form, data=dict(REQUEST), user=resident, validated=(spec, REQUEST))
    assert stored.created and stored.submission.data == REQUEST


@pytest.mark.django_db(transaction=True)
def test_racing_requests_with_one_idempotency_key_make_one_submission(resident):
    form = Definition.objects.get(community__slug="minyue", kind="form", key="resident-request")
    results, failures = race(8, lambda _: submission_service.submit(form=form, data=REQUEST, user=resident,
                                                                    idempotency_key="race-key"))
    assert failures == []
    assert len(results) == 8
    assert Submission.objects.filter(idempotency_key=f"u:{resident.pk}:race-key").count() == 1
    assert Submission.objects.count() == 1
    assert {r.submission.pk for r in results} == {Submission.objects.get().pk}
    assert sum(r.created for r in results) == 1


@pytest.mark.django_db(transaction=True)
def test_racing_api_requests_with_one_idempotency_key_make_one_submission(resident):
    responses, failures = race(8, lambda _: post(client_for(resident), SUBMIT_URL, REQUEST,
                                                 HTTP_IDEMPOTENCY_KEY="api-race-key"))
    assert failures == []
    assert sorted(r.status_code for r in responses) == [201] * 8
    assert len({r.json()["id"] for r in responses}) == 1
    assert sum("Idempotent-Replayed" in r for r in responses) == 7
    assert Submission.objects.count() == 1


# Token authentication.

def test_a_token_for_username_and_password(resident, anonymous_client):
    response = anonymous_client.post("/api/v1/auth/token/", {"username": "wangfang", "password": "linli-test"},
                                     format="json")
    assert response.status_code == 200
    token = response.json()["token"]
    assert set(response.json()) == {"token"}
    client = client_for()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = post(client, SUBMIT_URL, REQUEST)
    assert response.status_code == 201
    assert Submission.objects.get().submitter == resident
    assert client.get(f"/api/v1/submissions/{response.json()['id']}/").status_code == 200
    # the same token again, not a new one
    again = anonymous_client.post("/api/v1/auth/token/", {"username": "wangfang", "password": "linli-test"},
                                  format="json")
    assert again.json()["token"] == token


def test_wrong_passwords_and_tokens_get_nothing(resident, anonymous_client):
    response = anonymous_client.post("/api/v1/auth/token/", {"username": "wangfang", "password": "guess"},
                                     format="json")
    assert response.status_code == 400
    assert "token" not in response.json()
    client = client_for()
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    assert post(client, SUBMIT_URL, REQUEST).status_code in (401, 403)
    assert Submission.objects.count() == 0


# Reading a submission.

def test_a_resident_reads_their_own_submission(resident_client):
    created = post(resident_client, SUBMIT_URL, REQUEST).json()
    response = resident_client.get(f"/api/v1/submissions/{created['id']}/")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == created["id"] and body["reference"] == created["reference"]
    assert body["community"] == "minyue" and body["form"] == "resident-request" and body["form_version"] == 1
    assert body["data"] == REQUEST
    assert body["state"] == "collected"  # resident-request starts its flow there
    assert isinstance(body["history"], list) and isinstance(body["transitions"], list)


def test_another_residents_submission_is_exactly_like_a_missing_one(resident_client, neighbour_client,
                                                                     admin_client_api, anonymous_client):
    created = post(resident_client, SUBMIT_URL, REQUEST).json()
    theirs = neighbour_client.get(f"/api/v1/submissions/{created['id']}/")
    missing = neighbour_client.get(f"/api/v1/submissions/{created['id'] + 1000}/")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json()
    assert "王芳" not in theirs.content.decode()
    assert anonymous_client.get(f"/api/v1/submissions/{created['id']}/").status_code in (401, 403)
    response = admin_client_api.get(f"/api/v1/submissions/{created['id']}/")
    assert response.status_code == 200
    assert response.json()["data"] == REQUEST


# The OpenAPI document.

def test_the_openapi_schema_lists_the_contract_paths(anonymous_client):
    response = anonymous_client.get("/api/v1/schema/")
    assert response.status_code == 200
    document = yaml.safe_load(response.content)
    assert document["openapi"].startswith("3.")
    paths = document["paths"]
    for path in ["/api/v1/auth/token/", "/api/v1/forms/", "/api/v1/forms/{community}/{form}/",
                 "/api/v1/forms/{community}/{form}/submissions/", "/api/v1/forms/{community}/{form}/files/"]:
        assert path in paths, path
    assert any(re.fullmatch(r"/api/v1/submissions/\{\w+\}/", path) for path in paths)
    submit = paths["/api/v1/forms/{community}/{form}/submissions/"]["post"]
    assert {"201", "400"} <= set(submit["responses"])
    assert "Idempotency-Key" in {p["name"] for p in submit.get("parameters", [])}
    assert "post" in paths["/api/v1/auth/token/"]


def test_text_with_a_nul_character_is_refused_on_every_database(resident_client):
    response = resident_client.post(SUBMIT_URL, json.dumps({**REQUEST, "contact_name": "王\u0000芳"}),
                                    content_type="application/json")
    assert response.status_code == 400
    # refused at the door for every body and query (engine.inbound), before the form's own check
    assert response.json() == {"errors": {"/contact_name": ["这一项含有无法保存的字符（空字符或损坏的字符），请删除后重新提交。"]}}
    assert Submission.objects.count() == 0
