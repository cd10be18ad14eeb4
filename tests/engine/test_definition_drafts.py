"""Drafts of definitions: checking against the community's live files, saving with optimistic
concurrency, publishing only what passes, and starting new forms and flows."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from engine.definitions.problems import DefinitionError
from engine.models import Community, Definition, DefinitionDraft, DefinitionVersion
from engine.services import definition_drafts as drafts
from tests.concurrency import race


@pytest.fixture
def loaded(db):
    call_command("load_definitions", stdout=io.StringIO())


@pytest.fixture
def minyue(loaded):
    return Community.objects.get(slug="minyue")


@pytest.fixture
def editor(db):
    return get_user_model().objects.create_user("editor", password="x" * 12)


def live(community, kind, key):
    return Definition.objects.get(community=community, kind=kind, key=key).live_version


def flow_text(community):
    return live(community, "flow", "resident-request").source


def lines_of(problems):
    return [(p.path, p.line, p.code) for p in problems]


# --- checking ------------------------------------------------------------------------------------

def test_the_live_files_as_they_are_have_no_problems(minyue):
    assert drafts.check_draft(minyue, "flow", "resident-request", flow_text(minyue)) == []
    form = live(minyue, "form", "satisfaction")
    assert drafts.check_draft(minyue, "form", "satisfaction", form.source) == []
    assert drafts.check_draft(minyue, "community", "minyue", live(minyue, "community", "minyue").source) == []


def test_a_yaml_error_is_reported_on_its_line(minyue):
    lines = flow_text(minyue).splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("states:"))
    lines.insert(at + 1, "  broken: [unclosed")
    problems = drafts.check_draft(minyue, "flow", "resident-request", "\n".join(lines))
    assert len(problems) == 1
    assert problems[0].path == "workflows_yaml/minyue/resident-request.flow.yaml"
    assert problems[0].code == "yaml.syntax" and problems[0].line >= at + 2


def test_a_misspelled_state_is_reported_on_its_line_with_a_suggestion(minyue):
    text = flow_text(minyue)
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if "to: feedback" in line)
    lines[at] = lines[at].replace("to: feedback", "to: feedbak")
    problems = drafts.check_draft(minyue, "flow", "resident-request", "\n".join(lines) + "\n")
    assert [p.render("zh-hans") for p in problems] == [
        f"workflows_yaml/minyue/resident-request.flow.yaml:{at + 1}:9: 状态 'feedbak' 不存在 — 你是否想写 'feedback'?"]


def test_a_flow_naming_a_form_that_does_not_exist_is_caught(minyue):
    text = flow_text(minyue).replace("form: resident-request", "form: no-such-form", 1)
    assert text != flow_text(minyue)
    problems = drafts.check_draft(minyue, "flow", "resident-request", text)
    assert problems and all(p.path == "workflows_yaml/minyue/resident-request.flow.yaml" for p in problems)
    assert any("no-such-form" in p.message("en") for p in problems)


def test_a_community_file_dropping_a_role_breaks_the_flows_that_use_it(minyue):
    source = live(minyue, "community", "minyue").source
    broken = source.replace("grid_leader", "grid_boss")
    problems = drafts.check_draft(minyue, "community", "minyue", broken)
    assert any(p.path.endswith(".flow.yaml") for p in problems)


def test_a_json_error_in_a_form_is_reported_on_its_line(minyue):
    text = live(minyue, "form", "satisfaction").source
    lines = text.splitlines()
    lines[3] = lines[3].rstrip(",")  # drop a comma at the end of line 4
    problems = drafts.check_draft(minyue, "form", "satisfaction", "\n".join(lines))
    assert [(p.code, p.line) for p in problems] == [("json.syntax", 5)]


# --- saving --------------------------------------------------------------------------------------

def test_saving_starts_a_draft_from_the_live_version_and_counts_revisions(minyue, editor):
    text = flow_text(minyue) + "# a comment\n"
    draft = drafts.save_draft(minyue, "flow", "resident-request", text, user=editor, revision=0)
    assert (draft.revision, draft.source, draft.updated_by) == (1, text, editor)
    assert draft.base_version == live(minyue, "flow", "resident-request")
    draft = drafts.save_draft(minyue, "flow", "resident-request", text + "#2\n", user=editor, revision=1)
    assert draft.revision == 2
    with pytest.raises(drafts.DraftConflict) as error:
        drafts.save_draft(minyue, "flow", "resident-request", "stale", user=editor, revision=1)
    assert "revision 2" in str(error.value) and "editor" in str(error.value)
    assert DefinitionDraft.objects.get().source == text + "#2\n"


def test_saving_a_broken_draft_is_allowed_but_publishing_it_writes_nothing(minyue, editor):
    draft = drafts.save_draft(minyue, "flow", "resident-request", "flow: [", user=editor, revision=0)
    before = DefinitionVersion.objects.count()
    with pytest.raises(DefinitionError) as error:
        drafts.publish_draft(draft, user=editor)
    assert error.value.problems[0].code == "yaml.syntax"
    assert DefinitionVersion.objects.count() == before
    assert DefinitionDraft.objects.filter(pk=draft.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_two_racing_saves_of_the_same_revision_one_wins_one_hears_of_a_conflict():
    call_command("load_definitions", stdout=io.StringIO())
    minyue = Community.objects.get(slug="minyue")
    users = [get_user_model().objects.create_user(f"racer{i}", password="x" * 12) for i in range(2)]
    base = flow_text(minyue)
    drafts.save_draft(minyue, "flow", "resident-request", base, user=users[0], revision=0)

    def save(i):
        return drafts.save_draft(minyue, "flow", "resident-request", base + f"# by {i}\n", user=users[i],
                                 revision=1).revision

    results, errors = race(2, save)
    assert results == [2] and len(errors) == 1 and isinstance(errors[0], drafts.DraftConflict)
    draft = DefinitionDraft.objects.get()
    assert draft.revision == 2 and draft.source.endswith(f"# by {users.index(draft.updated_by)}\n")


@pytest.mark.django_db(transaction=True)
def test_two_racing_first_saves_make_one_draft():
    call_command("load_definitions", stdout=io.StringIO())
    minyue = Community.objects.get(slug="minyue")
    user = get_user_model().objects.create_user("racer", password="x" * 12)
    results, errors = race(2, lambda i: drafts.save_draft(minyue, "flow", "resident-request", f"# {i}\n",
                                                         user=user, revision=0).revision)
    assert results == [1] and len(errors) == 1 and isinstance(errors[0], drafts.DraftConflict)
    assert DefinitionDraft.objects.count() == 1


# --- publishing ----------------------------------------------------------------------------------

def test_publishing_makes_version_n_plus_one_with_the_user_and_deletes_the_draft(minyue, editor):
    text = flow_text(minyue).replace("title: 民情直通车", "title: 民情直通车（新）", 1)
    draft = drafts.save_draft(minyue, "flow", "resident-request", text, user=editor, revision=0)
    version = drafts.publish_draft(draft, user=editor, note="new title", revision=1)
    assert (version.number, version.published_by, version.note) == (2, editor, "new title")
    assert version.source == text and version.data["title"] == "民情直通车（新）"
    assert version.source_path == "workflows_yaml/minyue/resident-request.flow.yaml"
    assert live(minyue, "flow", "resident-request") == version
    assert not DefinitionDraft.objects.exists()


def test_publishing_a_stale_revision_or_unchanged_content_is_refused(minyue, editor):
    draft = drafts.save_draft(minyue, "flow", "resident-request", flow_text(minyue), user=editor, revision=0)
    with pytest.raises(drafts.DraftConflict):
        drafts.publish_draft(draft, user=editor, revision=7)
    with pytest.raises(drafts.NothingToPublish) as error:
        drafts.publish_draft(draft, user=editor, revision=1)
    assert str(error.value) == ("The draft has the same content as the live version, v1: "
                                "there is nothing to publish.")
    assert live(minyue, "flow", "resident-request").number == 1


def test_discarding_leaves_the_live_version(minyue, editor):
    draft = drafts.save_draft(minyue, "flow", "resident-request", "# gone\n", user=editor, revision=0)
    with pytest.raises(drafts.DraftConflict):
        drafts.discard_draft(draft, revision=5)
    drafts.discard_draft(draft, revision=1)
    assert not DefinitionDraft.objects.exists()
    assert live(minyue, "flow", "resident-request").number == 1


# --- new forms and flows -------------------------------------------------------------------------

@pytest.mark.parametrize("key", ["", "Repair", "repair_request", "-repair", "repair--x", "维修", "a" * 65, "../x"])
def test_a_new_key_must_be_a_slug(minyue, editor, key):
    with pytest.raises(drafts.BadKey):
        drafts.start_new(minyue, "form", key, user=editor)
    assert not DefinitionDraft.objects.exists()


def test_a_new_key_must_not_be_taken(minyue, editor):
    with pytest.raises(drafts.KeyTaken) as error:
        drafts.start_new(minyue, "form", "satisfaction", user=editor)
    assert error.value.text("zh-hans") == "本社区已有代号为 'satisfaction' 的表单。"
    drafts.start_new(minyue, "form", "repair", user=editor)
    with pytest.raises(drafts.KeyTaken):
        drafts.start_new(minyue, "form", "repair", user=editor)


def test_a_new_form_and_its_flow_start_valid_and_publish_as_v1(minyue, editor):
    form = drafts.start_new(minyue, "form", "repair", user=editor)
    assert drafts.check_draft(minyue, "form", "repair", form.source) == []
    flow = drafts.start_new(minyue, "flow", "repair", user=editor, form="repair")
    # the flow names a form that is only a draft: not yet there
    assert any("repair" in p.message("en") for p in drafts.check_draft(minyue, "flow", "repair", flow.source))
    version = drafts.publish_draft(form, user=editor)
    assert (version.number, version.published_by, version.definition.key) == (1, editor, "repair")
    assert drafts.check_draft(minyue, "flow", "repair", flow.source) == []
    flow_version = drafts.publish_draft(flow, user=editor)
    assert flow_version.number == 1
    assert Definition.objects.get(community=minyue, kind="form", key="repair").flow == flow_version.definition
