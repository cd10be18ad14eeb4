"""The form builder's page and its preview of a draft form as residents will see it: per role,
through the HTTP client; a draft that fails the gates shows its problems; form text is escaped."""

import json

import pytest
from django.test import Client

from engine.models import Definition

from .test_admin_area import client_for, make_people

PREVIEW = "/admin/linli/minyue/form/resident-request/preview/"
BUILDER = "/admin/linli/minyue/form/resident-request/builder/"


@pytest.fixture
def users(db):
    return make_people()


def live_schema(key="resident-request"):
    return json.loads(Definition.objects.get(community__slug="minyue", kind="form", key=key).live_version.source)


def preview(client, schema):
    text = schema if isinstance(schema, str) else json.dumps(schema, ensure_ascii=False)
    return client.post(PREVIEW, {"schema": text})


def test_the_urls_are_named_in_the_linli_namespace():
    from django.urls import reverse

    assert reverse("linli:form_preview", kwargs={"community": "minyue", "key": "resident-request"}) == PREVIEW
    assert reverse("linli:form_builder", kwargs={"community": "minyue", "key": "resident-request"}) == BUILDER


@pytest.mark.parametrize("role", ["superuser", "minyue_admin"])
def test_a_manager_sees_every_step_of_the_form_as_residents_will(users, role):
    response = preview(client_for(users[role]), live_schema())
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>民情直通车</h1>" in html
    for text in ("说说您的诉求", "地点和联系方式", "确认提交", "诉求类别", "环境卫生", "联系电话", "提交诉求"):
        assert text in html
    assert 'name="need-category"' in html  # the resident form's own field names
    assert "The form cannot be shown yet" not in html and "暂时无法显示" not in html
    assert response["X-Frame-Options"] == "SAMEORIGIN"  # for the builder's frame, and no one else's
    assert "frame-ancestors 'self'" in response["Content-Security-Policy"]


def test_the_preview_has_no_way_to_submit(users):
    html = preview(client_for(users["minyue_admin"]), live_schema()).content.decode()
    assert 'type="submit" disabled' in html
    assert "csrfmiddlewaretoken" not in html and "<form method" not in html


@pytest.mark.parametrize("role", ["zanan_admin", "staff"])
def test_who_does_not_manage_the_community_gets_404(users, role):
    assert preview(client_for(users[role]), live_schema()).status_code == 404
    assert client_for(users[role]).get(BUILDER).status_code == 404


def test_a_resident_never_reaches_it(users):
    response = preview(client_for(users["resident"]), live_schema())  # no admin access: Wagtail sends them to log in
    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=" + PREVIEW
    assert client_for(users["resident"]).get(BUILDER).status_code == 302


def test_someone_not_signed_in_is_sent_to_log_in(users):
    response = preview(Client(), live_schema())
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_the_preview_is_csrf_protected(users):
    client = client_for(users["minyue_admin"], enforce_csrf_checks=True)
    assert preview(client, live_schema()).status_code == 403


def test_get_is_not_allowed(users):
    assert client_for(users["minyue_admin"]).get(PREVIEW).status_code == 405


def test_an_unknown_form_is_404(users):
    client = client_for(users["minyue_admin"])
    assert client.post("/admin/linli/minyue/form/no-such-form/preview/", {"schema": "{}"}).status_code == 404


def test_an_invalid_schema_shows_its_problems_not_the_form(users):
    schema = live_schema()
    schema["properties"]["subject"]["maxLength"] = "40"
    schema["required"].append("subjekt")
    html = preview(client_for(users["minyue_admin"]), schema).content.decode()
    assert "preview-problems" in html
    assert "maxLength" in html and "subjekt" in html
    assert 'name="need-category"' not in html


def test_text_that_is_not_json_shows_where_it_breaks(users):
    html = preview(client_for(users["minyue_admin"]), '{"title": "x",\n  "type": }').content.decode()
    assert "preview-problems" in html and '<span class="where">2:' in html


def test_a_field_a_flow_relies_on_cannot_be_removed_unnoticed(users):
    schema = live_schema("satisfaction")  # the resident-request flow's guards read its "resolved"
    del schema["properties"]["resolved"]
    schema["required"].remove("resolved")
    schema["x-ui"]["order"].remove("resolved")
    del schema["x-ui"]["fields"]["resolved"]
    url = PREVIEW.replace("resident-request", "satisfaction")
    html = client_for(users["minyue_admin"]).post(url, {"schema": json.dumps(schema)}).content.decode()
    assert "preview-problems" in html
    assert "workflows_yaml/minyue/resident-request.flow.yaml" in html and "resolved" in html


def test_hostile_labels_are_escaped(users):
    schema = live_schema()
    hostile = '<script>alert(1)</script><img src=x onerror=alert(2)>'
    schema["title"] = hostile
    schema["properties"]["subject"]["title"] = hostile
    schema["properties"]["category"]["oneOf"][0]["title"] = hostile
    schema["x-ui"]["fields"]["details"]["help"] = {"zh-hans": hostile, "en": hostile}
    schema["x-ui"]["steps"][0]["title"] = hostile
    html = preview(client_for(users["minyue_admin"]), schema).content.decode()
    assert "<script>alert" not in html and "<img src=x" not in html
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 4


def test_hostile_text_in_a_problem_is_escaped(users):
    schema = live_schema()
    schema["properties"]["subject"]["format"] = "<b>bold</b>"
    html = preview(client_for(users["minyue_admin"]), schema).content.decode()
    assert "preview-problems" in html and "<b>bold</b>" not in html and "&lt;b&gt;bold&lt;/b&gt;" in html


@pytest.mark.parametrize("key", ["resident-request", "satisfaction", "unit-registration", "proposal"])
def test_every_example_form_of_minyue_previews_unchanged(users, key):
    text = Definition.objects.get(community__slug="minyue", kind="form", key=key).live_version.source
    response = client_for(users["minyue_admin"]).post(PREVIEW.replace("resident-request", key), {"schema": text})
    assert response.status_code == 200
    assert "preview-problems" not in response.content.decode()


def test_the_builder_page_holds_the_source_and_the_builder(users):
    response = client_for(users["minyue_admin"]).get(BUILDER)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="linli-source"' in html and "data-linli-builder" in html
    assert 'action="/admin/linli/minyue/form/resident-request/preview/"' in html
    assert "linli/admin/form_builder.js" in html and "csrfmiddlewaretoken" in html
    assert "&quot;title&quot;: &quot;民情直通车&quot;" in html  # the source, escaped in the textarea
