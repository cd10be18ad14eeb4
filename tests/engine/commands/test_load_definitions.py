"""load_definitions and check_definitions against the real database."""

import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from engine.definitions.pipeline import check_paths
from engine.definitions.publishing import publish_definitions, rollback_definition
from engine.models import Community, Definition, DefinitionVersion
from tests.concurrency import race

MINI = Path(__file__).resolve().parents[2] / "fixtures" / "definitions" / "valid" / "mini"


@pytest.fixture
def tree(tmp_path, settings, monkeypatch):
    root = tmp_path / "defs"
    shutil.copytree(MINI, root)
    monkeypatch.chdir(root)  # problems name files relative to where the command runs
    settings.LINLI_FORMS_DIR = root / "forms_schemas"
    settings.LINLI_WORKFLOWS_DIR = root / "workflows_yaml"
    return root


def run(command, *args):
    out, err = StringIO(), StringIO()
    try:
        call_command(command, *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exit:
        code = exit.code
    return code, out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_load_publishes_every_definition_once(tree):
    code, out, _ = run("load_definitions")
    assert code == 0
    assert sorted(out.splitlines()) == [
        "published mini/mini (community) v1",
        "published mini/rating (form) v1",
        "published mini/request (flow) v1",
        "published mini/request (form) v1",
    ]
    community = Community.objects.get(slug="mini")
    assert community.name == "小小社区"
    assert Definition.objects.filter(community=community).count() == 4
    flow = Definition.objects.get(kind="flow", key="request")
    assert flow.live_version.number == 1
    assert flow.live_version.data["start"] == "open"
    assert flow.live_version.source_path.endswith("workflows_yaml/mini/request.flow.yaml")
    form = Definition.objects.get(kind="form", key="request")
    # the shared definitions a form uses are frozen into its version
    assert "cn_mobile" in form.live_version.content["shared"]["defs.json"]["$defs"]


@pytest.mark.django_db
def test_loading_twice_publishes_nothing_new(tree):
    assert run("load_definitions")[0] == 0
    code, out, _ = run("load_definitions")
    assert (code, out.strip()) == (0, "nothing changed (4 definitions up to date)")
    assert DefinitionVersion.objects.count() == 4


@pytest.mark.django_db
def test_a_changed_file_gets_a_new_version_and_the_old_one_stays(tree):
    run("load_definitions")
    flow_file = tree / "workflows_yaml" / "mini" / "request.flow.yaml"
    flow_file.write_text(flow_file.read_text(encoding="utf-8").replace("title: 诉求", "title: 民情诉求"), encoding="utf-8")
    code, out, _ = run("load_definitions")
    assert (code, out.strip()) == (0, "published mini/request (flow) v2")
    flow = Definition.objects.get(kind="flow", key="request")
    assert [v.number for v in flow.versions.all()] == [2, 1]
    assert flow.live_version.data["title"] == "民情诉求"
    assert flow.versions.get(number=1).data["title"] == "诉求"


@pytest.mark.django_db
def test_a_change_in_shared_definitions_republishes_the_forms_using_them(tree):
    run("load_definitions")
    shared = tree / "forms_schemas" / "_shared" / "defs.json"
    shared.write_text(shared.read_text(encoding="utf-8").replace("请输入11位手机号码", "请输入手机号"), encoding="utf-8")
    code, out, _ = run("load_definitions")
    # both forms use defs.json (phone, rating); each freezes the shared file it was published with
    assert (code, sorted(out.splitlines())) == (0, ["published mini/rating (form) v2", "published mini/request (form) v2"])


@pytest.mark.django_db
def test_one_bad_file_publishes_nothing(tree):
    flow_file = tree / "workflows_yaml" / "mini" / "request.flow.yaml"
    flow_file.write_text(flow_file.read_text(encoding="utf-8").replace("to: escalated", "to: escalatd"), encoding="utf-8")
    code, out, err = run("load_definitions", "--language", "en")
    assert code == 1
    assert out.splitlines() == [
        "workflows_yaml/mini/request.flow.yaml:18:38: unknown state 'escalatd' — did you mean 'escalated'?"
    ]
    assert err.strip() == "nothing published"
    assert Community.objects.count() == 0 and DefinitionVersion.objects.count() == 0


@pytest.mark.django_db
def test_a_bad_file_after_a_good_load_changes_nothing(tree):
    run("load_definitions")
    form = tree / "forms_schemas" / "mini" / "rating.schema.json"
    form.write_text(form.read_text(encoding="utf-8").replace('"title": "评价"', '"title": "评价 v2"'), encoding="utf-8")
    (tree / "workflows_yaml" / "mini" / "broken.flow.yaml").write_text("flow: broken\n", encoding="utf-8")
    assert run("load_definitions")[0] == 1
    assert DefinitionVersion.objects.count() == 4  # the valid change to rating was not published either


def test_check_definitions_prints_one_line_per_problem_and_exits_1(tree):
    (tree / "workflows_yaml" / "mini" / "broken.flow.yaml").write_text(
        "flow: broken\ntitle: x\nform: request\nstart: a\nstates:\n  a: {title: A, requried: true}\n", encoding="utf-8")
    code, out, err = run("check_definitions", "--language", "en")
    assert code == 1
    assert out.splitlines() == [
        "workflows_yaml/mini/broken.flow.yaml:1:1: missing required key 'transitions'",
        "workflows_yaml/mini/broken.flow.yaml:6:17: unknown key 'requried' (allowed: description, due, final, notice,"
        " on_refused, on_timeout, remind, title, vote)",
    ]
    assert err == ""


def test_check_definitions_speaks_chinese_by_default(tree):
    (tree / "workflows_yaml" / "mini" / "x.flow.yaml").write_text("flow: x\n", encoding="utf-8")
    code, out, _ = run("check_definitions")
    assert code == 1
    assert "缺少必填项" in out


def test_check_definitions_on_valid_files_prints_nothing(tree):
    assert run("check_definitions") == (0, "", "")


def test_check_definitions_of_one_file_uses_its_siblings_for_references(tree):
    path = tree / "workflows_yaml" / "mini" / "request.flow.yaml"
    assert run("check_definitions", str(path)) == (0, "", "")


@pytest.mark.django_db
def test_rollback_republishes_old_content_as_a_new_version(tree):
    run("load_definitions")
    flow_file = tree / "workflows_yaml" / "mini" / "request.flow.yaml"
    flow_file.write_text(flow_file.read_text(encoding="utf-8").replace("title: 诉求", "title: 新"), encoding="utf-8")
    run("load_definitions")
    flow = Definition.objects.get(kind="flow", key="request")
    version = rollback_definition(flow, 1)
    assert version.number == 3 and version.data["title"] == "诉求" and version.note == "rollback to v1"
    flow.refresh_from_db()
    assert flow.live_version == version


@pytest.mark.django_db
def test_each_form_points_at_the_live_flow_that_handles_it(tree):
    run("load_definitions")
    request_form = Definition.objects.get(kind="form", key="request")
    rating = Definition.objects.get(kind="form", key="rating")
    flow = Definition.objects.get(kind="flow", key="request")
    assert request_form.flow == flow and rating.flow is None
    # the flow now handles the rating form instead: both pointers follow at once
    flow_file = tree / "workflows_yaml" / "mini" / "request.flow.yaml"
    text = flow_file.read_text(encoding="utf-8").replace("form: request\n", "form: rating\n", 1)
    flow_file.write_text(text.replace("    guard: \"urgency == '紧急' or len(topic) > 0\"\n", ""), encoding="utf-8")
    assert run("load_definitions")[0] == 0
    request_form.refresh_from_db(), rating.refresh_from_db()
    assert request_form.flow is None and rating.flow == flow
    # and back, by a rollback
    rollback_definition(flow, 1)
    request_form.refresh_from_db(), rating.refresh_from_db()
    assert request_form.flow == flow and rating.flow is None


@pytest.mark.django_db
def test_published_versions_are_immutable(tree):
    run("load_definitions")
    version = DefinitionVersion.objects.first()
    version.note = "edited"
    with pytest.raises(ValueError):
        version.save()
    with pytest.raises(ValueError):
        version.delete()


@pytest.mark.django_db(transaction=True)
def test_racing_publishers_number_each_version_once(tree):
    result = check_paths([], tree / "forms_schemas", tree / "workflows_yaml", base=tree)
    assert result.ok
    _, errors = race(4, lambda _: publish_definitions(result.definitions))
    assert errors == []
    assert Community.objects.count() == 1
    assert DefinitionVersion.objects.count() == 4
    assert sorted(DefinitionVersion.objects.values_list("number", flat=True)) == [1, 1, 1, 1]


def test_check_definitions_checks_only_the_paths_given(tree):
    (tree / "workflows_yaml" / "mini" / "x.flow.yaml").write_text("flow: x\n", encoding="utf-8")
    community = tree / "workflows_yaml" / "mini" / "community.yaml"
    # the broken flow is a sibling: checking the community file alone does not report it...
    code, out, _ = run("check_definitions", "--language", "en", str(community))
    assert (code, out) == (0, "")
    # ...and a path that does not exist is a problem, not a silent success
    code, out, _ = run("check_definitions", "--language", "en", "workflows_yaml/nowhere.flow.yaml")
    assert code == 1 and out.strip() == "workflows_yaml/nowhere.flow.yaml:0:0: cannot read the file: no such file or folder"


@pytest.mark.django_db
def test_load_definitions_publishes_only_the_paths_given(tree):
    code, out, _ = run("load_definitions", "workflows_yaml/mini/community.yaml")
    assert (code, out.strip()) == (0, "published mini/mini (community) v1")


@pytest.mark.django_db
def test_exported_definitions_load_back_without_a_new_version(tree, tmp_path, settings):
    run("load_definitions")
    flow_file = tree / "workflows_yaml" / "mini" / "request.flow.yaml"
    flow_file.write_text(flow_file.read_text(encoding="utf-8").replace("title: 诉求", "title: 新诉求"), encoding="utf-8")
    run("load_definitions")
    out = tmp_path / "exported"
    code, printed, _ = run("export_definitions", str(out))
    assert code == 0 and printed.startswith("exported 4 definitions of 1 communities")
    exported = (out / "workflows_yaml" / "mini" / "request.flow.yaml").read_text(encoding="utf-8")
    assert exported == flow_file.read_text(encoding="utf-8")  # the text as published, comments included
    assert (out / "forms_schemas" / "_shared" / "defs.json").exists()
    versions = DefinitionVersion.objects.count()
    settings.LINLI_FORMS_DIR, settings.LINLI_WORKFLOWS_DIR = out / "forms_schemas", out / "workflows_yaml"
    code, printed, errors = run("load_definitions")
    assert code == 0, errors and DefinitionVersion.objects.count() == versions  # nothing changed, nothing published
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="no community nowhere"):
        run("export_definitions", str(out), "--community", "nowhere")
