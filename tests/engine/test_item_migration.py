"""Migrating in-flight items to a new flow or form version: counts, refusals that write nothing,
one audit entry per item, and an item that moves while the migration runs."""

import copy
import datetime
import io
import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from engine.definitions.pipeline import Definition as CheckedDefinition
from engine.definitions.publishing import publish_definitions
from engine.models import (AuditEvent, Community, Definition, FlowInstance, OrgUnit, Person, RoleAssignment, Submission,
                           Timer)
from engine.services import item_migration
from engine.services.item_migration import MigrationForm, MigrationRefused, impact_of, migrate
from engine.services.submissions import submit
from engine.workflow import adapter
from tests.concurrency import race

ANALYSIS = {"analysis": "情况属实", "handling_level": "网格办理"}


def data(**extra):
    return {"category": "facilities", "subject": "楼道灯坏了", "details": "3号楼2单元楼道灯坏了一个星期",
            "urgency": "normal", "address": {"unit": extra.pop("unit")}, "contact_name": "张明",
            "contact_preference": "visit", **extra}


def build(items=4, analysed=2):
    """minyue with a resident and their grid leader; `items` requests, the first `analysed` of them
    analysed, and one more withdrawn (finished: never migrated)."""
    call_command("load_definitions", "workflows_yaml/kaiyuan", "workflows_yaml/minyue", "forms_schemas/minyue",
                 stdout=io.StringIO())
    community = Community.objects.get(slug="minyue")
    grid = OrgUnit.objects.filter(community=community, level="grid").order_by("path").first()
    User = get_user_model()
    people = {}
    for key, role in (("resident", "resident"), ("leader", "grid_leader"), ("admin", "community_secretary")):
        people[key] = User.objects.create_user(key, password="x" * 12, first_name=key)
        person = Person.objects.create(community=community, user=people[key], name=key, unit=grid)
        RoleAssignment.objects.create(community=community, person=person, role=role, unit=grid)
    form = Definition.objects.get(community=community, kind="form", key="resident-request")
    submissions = [submit(form=form, data=data(unit=grid.key, mobile="13812345678"), user=people["resident"]).submission
                   for _ in range(items + 1)]
    for submission in submissions[:analysed]:
        adapter.take(instance_id=submission.flow.pk, name="analyse", user=people["leader"], inputs=ANALYSIS)
    adapter.take(instance_id=submissions[-1].flow.pk, name="withdraw", user=people["resident"])
    return people, submissions[:items], submissions[-1], grid


@pytest.fixture
def world(db):
    return build()


def flow_record():
    return Definition.objects.get(community__slug="minyue", kind="flow", key="resident-request")


def form_record():
    return Definition.objects.get(community__slug="minyue", kind="form", key="resident-request")


def rename_state(flow, old, new, **changes):
    flow = copy.deepcopy(flow)
    spec = {**flow["states"].pop(old), **changes}
    flow["states"][new] = spec
    for transition in flow["transitions"]:
        sources = transition["from"] if isinstance(transition["from"], list) else [transition["from"]]
        transition["from"] = [new if s == old else s for s in sources]
        if transition["to"] == old:
            transition["to"] = new
    return flow


def publish(record, data, user=None):
    """Publish `data` as the next version of `record` through the publishing action."""
    live = record.live_version
    checked = CheckedDefinition(kind=record.kind, community="minyue", key=record.key, path=live.source_path,
                                data=data, source=json.dumps(data, ensure_ascii=False, indent=2),
                                shared=live.content.get("shared", {}))
    publish_definitions([checked], user=user, note="changed")
    record.refresh_from_db()
    return record.live_version


def publish_triaged(**changes):
    """v2 of the flow: 'analysed' is now 'triaged' (same title)."""
    record = flow_record()
    return record, publish(record, rename_state(record.live_version.data, "analysed", "triaged", **changes))


def migrations():
    return AuditEvent.objects.filter(transition__startswith="migrate:")


# ---------------------------------------------------------------- impact


def test_impact_counts_open_items_per_state_on_older_versions(world):
    record, v2 = publish_triaged()
    impact = impact_of(record, v2.data)
    (older,) = impact.versions
    assert older.version.number == 1 and older.count == 4 and impact.open_items == 4  # the withdrawn one is done
    assert list(impact.needs_mapping) == ["analysed"]
    finding = impact.needs_mapping["analysed"]
    assert (finding.count, finding.suggestion) == (2, "triaged")
    assert finding.text("en") == "2 items wait in state 'analysed', which this version removes; likely 'triaged'"
    assert "triaged" in impact.choices and "analysed" not in impact.choices


def test_impact_before_publishing_counts_the_live_versions_items(world):
    record = flow_record()
    new = rename_state(record.live_version.data, "analysed", "triaged")
    impact = impact_of(record, new)
    assert [v.version.number for v in impact.versions] == [1] and impact.open_items == 4
    assert impact_of(record, record.live_version.data).open_items == 0  # the same data: nothing to move


def test_form_impact_counts_filled_fields(world):
    record = form_record()
    schema = copy.deepcopy(record.live_version.data)
    schema["properties"] = {("phone" if k == "mobile" else k): v for k, v in schema["properties"].items()}
    schema["x-ui"]["fields"]["phone"] = schema["x-ui"]["fields"].pop("mobile")
    schema["x-ui"]["steps"][1]["fields"] = ["address", "contact_name", "phone", "contact_preference"]
    v2 = publish(record, schema)
    impact = impact_of(record, v2.data)
    assert impact.open_items == 4 and list(impact.needs_transform) == ["mobile"]
    assert impact.needs_transform["mobile"].suggestion == "phone"
    assert impact.needs_transform["mobile"].text("zh-hans") == "字段 'mobile' 改名为 'phone'？4 件事项已填写"
    assert impact.choices == ("phone",)


# ---------------------------------------------------------------- flows


def test_a_missing_or_unknown_mapping_writes_nothing(world):
    people, submissions, withdrawn, _ = world
    record, v2 = publish_triaged()
    with pytest.raises(MigrationRefused) as missing:
        migrate(record, v2, state_map={}, user=people["admin"])
    assert missing.value.texts("en") == ["2 item(s) in state 'analysed', which v2 lacks: map it to a state"]
    with pytest.raises(MigrationRefused) as unknown:
        migrate(record, v2, state_map={"analysed": "nowhere"}, user=people["admin"])
    assert unknown.value.texts("zh-hans")[0] == "状态 'analysed' 映射到的 'nowhere' 在 v2 中不存在"
    assert not FlowInstance.objects.filter(flow_version=v2).exists() and not migrations().exists()
    assert sorted(FlowInstance.objects.values_list("state", "version")) == [
        ("analysed", 2), ("analysed", 2), ("collected", 1), ("collected", 1), ("withdrawn", 2)]


def test_a_flow_migration_moves_every_open_item_and_audits_each(world):
    people, submissions, withdrawn, _ = world
    record, v2 = publish_triaged(due="3d", on_timeout="withdraw")
    report = migrate(record, v2, state_map={"analysed": "triaged"}, user=people["admin"])
    assert report.migrated == 4 and sorted(report.references) == sorted(s.reference for s in submissions)
    rows = {i.submission_id: i for i in FlowInstance.objects.all()}
    assert [rows[s.pk].state for s in submissions] == ["triaged", "triaged", "collected", "collected"]
    assert all(rows[s.pk].flow_version == v2 for s in submissions)
    assert [rows[s.pk].version for s in submissions] == [3, 3, 2, 2]
    assert rows[withdrawn.pk].flow_version.number == 1 and rows[withdrawn.pk].version == 2  # finished: untouched
    events = list(migrations().order_by("instance_id"))
    assert len(events) == 4 and {e.transition for e in events} == {"migrate:v2"}
    first = next(e for e in events if e.instance.submission_id == submissions[0].pk)
    assert (first.from_state, first.to_state, first.actor) == ("analysed", "triaged", people["admin"])
    assert first.data == {"flow_version": {"from": 1, "to": 2}, "timers": "restarted", "signatures_dropped": []}
    # the renamed state's new time limit counts from when the item entered it
    timer = Timer.objects.get(instance=rows[submissions[0].pk], cancelled=False, fired_at__isnull=True)
    assert timer.state == "triaged" and timer.transition == "withdraw"
    assert timer.due_at == rows[submissions[0].pk].entered_at + datetime.timedelta(days=3)
    # and the items go on in v2
    moved = adapter.take(instance_id=rows[submissions[2].pk].pk, name="analyse", user=people["leader"], inputs=ANALYSIS)
    assert moved.state == "triaged"
    assert migrate(record, v2, user=people["admin"]).migrated == 0  # nothing left behind


def test_an_item_that_moves_between_reading_and_writing_is_migrated_from_where_it_is(world, monkeypatch):
    """What PostgreSQL's row locks make rare and SQLite's write lock impossible, forced: a
    transition commits after the migration planned an item and before it wrote it."""
    people, submissions, _, _ = world
    record, v2 = publish_triaged()
    plan = item_migration._FlowMover.plan
    moved = []

    def plan_then_move(self, instance):
        result = plan(self, instance)
        if instance.submission_id == submissions[2].pk and not moved:
            moved.append(adapter.take(instance_id=instance.pk, name="analyse", user=people["leader"], inputs=ANALYSIS))
        return result

    monkeypatch.setattr(item_migration._FlowMover, "plan", plan_then_move)
    assert migrate(record, v2, state_map={"analysed": "triaged"}, user=people["admin"]).migrated == 4
    instance = FlowInstance.objects.get(submission=submissions[2])
    assert (instance.state, instance.flow_version, instance.version) == ("triaged", v2, 3)
    assert list(instance.events.values_list("transition", "from_state", "to_state")) == [
        ("analyse", "collected", "analysed"), ("migrate:v2", "analysed", "triaged")]


@pytest.mark.django_db(transaction=True)
def test_transitions_racing_a_migration_are_neither_lost_nor_left_on_the_old_version():
    people, submissions, _, _ = build(items=6, analysed=0)
    record, v2 = publish_triaged()

    def action(index):
        if index == 0:
            return migrate(record, v2, state_map={"analysed": "triaged"}, user=people["admin"]).migrated
        instance = FlowInstance.objects.get(submission=submissions[index - 1])
        return adapter.take(instance_id=instance.pk, name="analyse", user=people["leader"], inputs=ANALYSIS).state

    results, errors = race(7, action)
    # A step read before the migration and written after it is refused whole ("the item moved
    # on", 409: the person reloads and takes it again); on SQLite transactions queue instead.
    assert all(isinstance(e, adapter.TransitionConflict) for e in errors), errors
    assert [r for r in results if isinstance(r, int)] == [6]  # the migration moved all six, whenever it ran
    taken = [r for r in results if isinstance(r, str)]
    assert set(taken) <= {"analysed", "triaged"} and len(taken) + len(errors) == 6  # before it, or after it
    analysed = 0
    for submission in submissions:
        instance = FlowInstance.objects.get(submission=submission)
        assert instance.flow_version == v2
        assert list(instance.events.values_list("transition", flat=True)).count("migrate:v2") == 1
        steps = instance.events.filter(transition="analyse").count()
        assert (instance.state, steps) in {("triaged", 1), ("collected", 0)}  # taken, or refused whole
        analysed += steps
    assert analysed == len(taken)


# ---------------------------------------------------------------- forms


def publish_phone(required_extra=()):
    """v2 of the form: 'mobile' is now 'phone'; optionally more fields required."""
    record = form_record()
    schema = copy.deepcopy(record.live_version.data)
    schema["properties"] = {("phone" if k == "mobile" else k): v for k, v in schema["properties"].items()}
    schema["x-ui"]["fields"]["phone"] = schema["x-ui"]["fields"].pop("mobile")
    schema["x-ui"]["steps"][1]["fields"] = ["address", "contact_name", "phone", "contact_preference"]
    for block in schema["allOf"]:
        block["then"]["required"] = ["phone" if r == "mobile" else r for r in block["then"]["required"]]
    schema["required"] = [*schema["required"], *required_extra]
    return record, publish(record, schema)


def test_a_form_migration_renames_fields_and_audits_each_item(world):
    people, submissions, withdrawn, _ = world
    record, v2 = publish_phone()
    with pytest.raises(MigrationRefused) as missing:
        migrate(record, v2, field_map={}, user=people["admin"])
    assert missing.value.texts("en") == ["4 item(s) have field 'mobile', which v2 lacks: rename or drop it"]
    with pytest.raises(MigrationRefused) as unknown:
        migrate(record, v2, field_map={"mobile": "fax"}, user=people["admin"])
    assert unknown.value.texts("en")[0] == "field 'mobile' is renamed to 'fax', which v2 does not have"
    assert not Submission.objects.filter(form_version=v2).exists() and not migrations().exists()

    report = migrate(record, v2, field_map={"mobile": "phone"}, user=people["admin"])
    assert report.migrated == 4
    for submission in submissions:
        submission.refresh_from_db()
        assert submission.form_version == v2 and submission.data["phone"] == "13812345678"
        assert "mobile" not in submission.data
    withdrawn.refresh_from_db()
    assert withdrawn.form_version.number == 1 and "mobile" in withdrawn.data
    event = migrations().get(instance__submission=submissions[0])
    assert event.transition == "migrate:v2" and event.from_state == event.to_state == "analysed"
    assert event.data == {"form_version": {"from": 1, "to": 2}, "renamed": {"mobile": "phone"}, "dropped": []}


def test_an_item_the_new_schema_refuses_stops_the_whole_form_migration(world):
    people, submissions, _, _ = world
    record, v2 = publish_phone(required_extra=["other_party"])
    with pytest.raises(MigrationRefused) as refused:
        migrate(record, v2, field_map={"mobile": "phone"}, user=people["admin"])
    texts = refused.value.texts("zh-hans")
    assert len(texts) == 4
    assert texts[0] == f"事项 {submissions[0].reference}: 字段 /other_party — 此项必填"
    assert refused.value.texts("en")[0] == (
        f"item {submissions[0].reference}: field /other_party — This field is required")
    assert not Submission.objects.filter(form_version=v2).exists() and not migrations().exists()
    # dropping a value the new version requires is refused the same way
    with pytest.raises(MigrationRefused):
        migrate(record, v2, field_map={"mobile": ""}, user=people["admin"])
    assert not migrations().exists()


# ---------------------------------------------------------------- the form a person fills in


def test_the_migration_form_asks_one_choice_per_state_and_field(world):
    record, v2 = publish_triaged()
    impact = impact_of(record, v2.data)
    form = MigrationForm(impact)
    assert list(form.fields) == ["state__analysed"]
    assert form.fields["state__analysed"].initial == "triaged"
    assert not MigrationForm(impact, data={}).is_valid()
    assert not MigrationForm(impact, data={"state__analysed": "nowhere"}).is_valid()
    bound = MigrationForm(impact, data={"state__analysed": "triaged"})
    assert bound.is_valid() and bound.state_map() == {"analysed": "triaged"} and bound.field_map() == {}

    form_def, form_v2 = publish_phone()
    impact = impact_of(form_def, form_v2.data)
    bound = MigrationForm(impact, data={"field__mobile": "-"})
    assert list(bound.fields) == ["field__mobile"] and bound.is_valid() and bound.field_map() == {"mobile": ""}
    assert MigrationForm(impact, data={"field__mobile": "phone"}).is_valid()
