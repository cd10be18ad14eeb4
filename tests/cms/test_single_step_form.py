"""A one-step form for visitors who are not signed in: no session on GET, one submission per
signed token however often it is posted."""

import io
import re
import shutil

import pytest
from django.contrib.sessions.models import Session
from django.core.management import call_command

from cms.models import HomePage, LinliFormPage
from engine.models import Definition, Submission

FORM = """{
  "title": "意见箱",
  "type": "object",
  "required": ["topic", "message"],
  "properties": {
    "topic": {"title": "主题", "type": "string", "minLength": 2, "maxLength": 30},
    "message": {"title": "内容", "type": "string", "minLength": 5, "maxLength": 500}
  },
  "additionalProperties": false,
  "x-ui": {"anonymous": true, "reference_prefix": "YJ"}
}
"""


@pytest.fixture
def page(db, tmp_path, settings):
    root = tmp_path / "defs"
    shutil.copytree("workflows_yaml/_template", root / "workflows_yaml" / "demo")
    community = root / "workflows_yaml" / "demo" / "community.yaml"
    community.write_text(re.sub(r"^community: \S+", "community: demo", community.read_text(encoding="utf-8"),
                                flags=re.M), encoding="utf-8")
    for flow in (root / "workflows_yaml" / "demo").glob("*.flow.yaml"):
        flow.unlink()
    (root / "forms_schemas" / "demo").mkdir(parents=True)
    shutil.copytree("forms_schemas/_shared", root / "forms_schemas" / "_shared")
    (root / "forms_schemas" / "demo" / "box.schema.json").write_text(FORM, encoding="utf-8")
    settings.LINLI_FORMS_DIR, settings.LINLI_WORKFLOWS_DIR = root / "forms_schemas", root / "workflows_yaml"
    call_command("load_definitions", stdout=io.StringIO())
    form = Definition.objects.get(community__slug="demo", kind="form", key="box")
    return HomePage.objects.get().add_child(instance=LinliFormPage(title="意见箱", slug="box", form=form))


def token_of(html):
    return re.search(r'name="linli_token" value="([^"]+)"', html).group(1)


def test_get_writes_no_session_and_a_post_stores_once_per_token(client, page):
    sessions = Session.objects.count()
    html = client.get("/box/").content.decode()
    assert Session.objects.count() == sessions and "sessionid" not in client.cookies
    token = token_of(html)
    body = {"linli_token": token, "form-topic": "路灯", "form-message": "三号楼前的路灯不亮了"}
    first = client.post("/box/", body).content.decode()
    again = client.post("/box/", body).content.decode()  # a double click
    submission = Submission.objects.get()
    assert submission.reference.startswith("YJ") and submission.reference in first and submission.reference in again
    assert submission.submitter is None and submission.data == {"topic": "路灯", "message": "三号楼前的路灯不亮了"}


def test_a_mistake_is_shown_and_nothing_is_stored(client, page):
    token = token_of(client.get("/box/").content.decode())
    html = client.post("/box/", {"linli_token": token, "form-topic": "路", "form-message": "短"}).content.decode()
    assert "至少输入2个字" in html and "至少输入5个字" in html and token_of(html)
    assert not Submission.objects.exists()


def test_a_forged_token_stores_nothing(client, page):
    html = client.post("/box/", {"linli_token": "forged", "form-topic": "路灯",
                                 "form-message": "三号楼前的路灯不亮了"}).content.decode()
    assert not Submission.objects.exists() and token_of(html)
