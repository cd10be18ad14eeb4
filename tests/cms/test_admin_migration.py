"""The admin's migration page: who may see it, what it shows about items on older versions, and
migrating them (or refusing to, writing nothing) — per role, through the HTTP client."""

import copy
import json

import pytest
from django.contrib.auth import get_user_model
from wagtail.users.models import UserProfile

from engine.definitions.pipeline import Definition as CheckedDefinition
from engine.definitions.publishing import publish_definitions
from engine.models import AuditEvent, Community, FlowInstance, OrgUnit, Person, RoleAssignment
from engine.services.submissions import submit
from engine.workflow import adapter
from tests.cms.test_admin_area import ROLES, client_for, flow, make_people

MIGRATE_URL = "/admin/linli/minyue/flow/resident-request/migrate/"
ANALYSIS = {"analysis": "情况属实", "handling_level": "网格办理"}


def with_items(users, items=3, analysed=2):
    """Open resident requests in minyue (the first `analysed` of them analysed by a grid leader)."""
    community = Community.objects.get(slug="minyue")
    grid = OrgUnit.objects.filter(community=community, level="grid").order_by("path").first()
    leader = get_user_model().objects.create_user("leader", password="x" * 12)
    person = Person.objects.create(community=community, user=leader, name="leader", unit=grid)
    RoleAssignment.objects.create(community=community, person=person, role="grid_leader", unit=grid)
    form = flow().handled_forms.get()
    data = {"category": "facilities", "subject": "楼道灯坏了", "details": "3号楼2单元楼道灯坏了一个星期",
            "urgency": "normal", "address": {"unit": grid.key}, "contact_name": "张明", "contact_preference": "visit"}
    submissions = [submit(form=form, data=data, user=users["resident"]).submission for _ in range(items)]
    for submission in submissions[:analysed]:
        adapter.take(instance_id=submission.flow.pk, name="analyse", user=leader, inputs=ANALYSIS)
    return submissions


def publish_triaged(user):
    """v2 of minyue's resident-request flow: state 'analysed' is now 'triaged', same title."""
    record = flow()
    v1 = record.live_version
    data = copy.deepcopy(v1.data)
    data["states"]["triaged"] = data["states"].pop("analysed")
    for transition in data["transitions"]:
        sources = transition["from"] if isinstance(transition["from"], list) else [transition["from"]]
        transition["from"] = ["triaged" if s == "analysed" else s for s in sources]
        if transition["to"] == "analysed":
            transition["to"] = "triaged"
    checked = CheckedDefinition(kind="flow", community="minyue", key="resident-request", path=v1.source_path,
                                data=data, source=json.dumps(data, ensure_ascii=False))
    publish_definitions([checked], user=user, note="analysed → triaged")
    record.refresh_from_db()
    return record.live_version


@pytest.fixture
def world(db):
    users = make_people()
    for user in users.values():  # the admin speaks English to these tests, whatever is translated
        profile = UserProfile.get_for_user(user)
        profile.preferred_language = "en"
        profile.save()
    submissions = with_items(users)
    v2 = publish_triaged(users["superuser"])
    return users, submissions, v2


def english(user):
    return client_for(user, HTTP_ACCEPT_LANGUAGE="en")


@pytest.mark.parametrize("who", ROLES)
def test_only_the_communitys_admins_see_the_page(world, who):
    users, _, _ = world
    client = english(users[who])
    response = client.get(MIGRATE_URL)
    if who == "resident":
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
        return
    if who in ("superuser", "minyue_admin"):
        assert response.status_code == 200
        return
    missing = client.get("/admin/linli/nowhere/flow/resident-request/migrate/")
    assert response.status_code == missing.status_code == 404
    assert client.post(MIGRATE_URL, {"state__analysed": "triaged"}).status_code == 404
    assert not AuditEvent.objects.filter(transition__startswith="migrate:").exists()


def test_the_page_shows_items_per_older_version_and_the_impact(world):
    users, _, _ = world
    html = english(users["minyue_admin"]).get(MIGRATE_URL).content.decode()
    assert "Migrate items to v2" in html
    assert '<td><a href="/admin/linli/minyue/flow/resident-request/versions/1/">v1</a></td>' in html
    assert "<td>3</td>" in html
    assert "2 items wait in state &#x27;analysed&#x27;, which this version removes; likely &#x27;triaged&#x27;" in html
    assert 'name="state__analysed"' in html and '<option value="triaged" selected>' in html


def test_a_community_file_or_an_unknown_definition_has_no_migration_page(world):
    users, _, _ = world
    client = english(users["minyue_admin"])
    assert client.get("/admin/linli/minyue/community/minyue/migrate/").status_code == 404
    assert client.get("/admin/linli/minyue/flow/no-such-flow/migrate/").status_code == 404


@pytest.mark.parametrize("who", ["superuser", "minyue_admin"])
def test_posting_the_mapping_migrates_every_item_and_says_how_many(world, who):
    users, submissions, v2 = world
    client = english(users[who])
    response = client.post(MIGRATE_URL, {"state__analysed": "triaged"})
    assert response.status_code == 302 and response["Location"] == MIGRATE_URL
    page = client.get(MIGRATE_URL).content.decode()
    assert "3 items migrated to v2." in page
    assert "Every open item is on the live version, v2: there is nothing to migrate." in page
    states = [FlowInstance.objects.get(submission=s) for s in submissions]
    assert [(i.state, i.flow_version_id) for i in states] == [("triaged", v2.pk)] * 2 + [("collected", v2.pk)]
    events = AuditEvent.objects.filter(transition="migrate:v2")
    assert events.count() == 3 and {e.actor for e in events} == {users[who]}


def test_a_missing_or_unknown_mapping_is_refused_and_writes_nothing(world):
    users, submissions, _ = world
    client = english(users["minyue_admin"])
    for body in ({}, {"state__analysed": ""}, {"state__analysed": "nowhere"}, {"state__analysed": "analysed"}):
        response = client.post(MIGRATE_URL, body)
        assert response.status_code == 400
        assert 'name="state__analysed"' in response.content.decode()
    assert not AuditEvent.objects.filter(transition__startswith="migrate:").exists()
    assert set(FlowInstance.objects.values_list("flow_version__number", flat=True)) == {1}


def test_items_the_new_form_would_refuse_stop_the_migration_and_are_named(world):
    users, submissions, _ = world
    record = flow().handled_forms.get()
    v1 = record.live_version
    schema = copy.deepcopy(v1.data)
    schema["required"].append("other_party")  # none of the items has it
    checked = CheckedDefinition(kind="form", community="minyue", key=record.key, path=v1.source_path, data=schema,
                                source=json.dumps(schema, ensure_ascii=False), shared=v1.content["shared"])
    publish_definitions([checked], user=users["superuser"])
    url = "/admin/linli/minyue/form/resident-request/migrate/"
    client = english(users["minyue_admin"])
    html = client.get(url).content.decode()
    assert "field &#x27;other_party&#x27; becomes required; 3 items lack it" in html
    response = client.post(url, {})
    html = response.content.decode()
    assert response.status_code == 409 and "Nothing was migrated:" in html
    for submission in submissions:
        assert f"item {submission.reference}: field /other_party — This field is required" in html
    assert not AuditEvent.objects.filter(transition__startswith="migrate:").exists()
    assert {s.form_version_id for s in record.submissions.all()} == {v1.pk}
