"""engine.services.vacancies: which roles the flows need are vacant where — the one computation
the dashboard, check_definitions and load_definitions show (and the people screens will)."""

import datetime
import io
import shutil
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from engine.models import Community, OrgUnit, Person, RoleAssignment
from engine.services.vacancies import Vacancy, vacancies, warning_lines

ROOT = Path(__file__).resolve().parents[2]
FIRST_GRID = "第一网格（同兴苑）"
NEEDED_BY_ANALYSIS = [("resident-request", "analyse"), ("resident-request", "decline")]


@pytest.fixture
def minyue(db):
    call_command("load_definitions", "workflows_yaml/kaiyuan", "workflows_yaml/minyue", "forms_schemas/minyue",
                 stdout=io.StringIO(), stderr=io.StringIO())
    return Community.objects.get(slug="minyue")


def appoint(community, role, unit_key, **assignment):
    unit = OrgUnit.objects.get(community=community, key=unit_key)
    n = Person.objects.count()
    user = get_user_model().objects.create_user(f"holder{n}", password="x" * 12)
    person = Person.objects.create(community=community, user=user, name=f"担任者{n}", unit=unit)
    return RoleAssignment.objects.create(community=community, person=person, role=role, unit=unit, **assignment)


def found(community, role):
    with translation.override("zh-hans"):
        return {v.unit.key if v.unit else None: v for v in vacancies(community) if v.role == role}


def test_every_grid_without_a_leader_is_a_vacancy_with_the_steps_that_need_it(minyue):
    appoint(minyue, "grid_leader", "grid_3")
    grids = found(minyue, "grid_leader")
    assert sorted(grids) == ["grid_1", "grid_2", "grid_4", "grid_5", "grid_6", "grid_7"]
    first = grids["grid_1"]
    assert first == Vacancy("grid_leader", "网格长", OrgUnit.objects.get(key="grid_1"), FIRST_GRID,
                            NEEDED_BY_ANALYSIS, [("民情直通车", "研判"), ("民情直通车", "不予受理")])
    assert first.reason == f"{FIRST_GRID}暂无网格长"


def test_a_holder_above_or_below_or_covering_the_unit_fills_it(minyue):
    appoint(minyue, "grid_leader", "tongxingyuan")  # above grid_1; its branch covers 上河万家 (grid_2)
    grids = found(minyue, "grid_leader")
    assert "grid_1" not in grids and "grid_2" not in grids and "grid_3" in grids
    appoint(minyue, "grid_leader", "grid_2_mh_01")  # below the grid: a leader in one of its households
    assert "grid_2" not in found(minyue, "grid_leader")


def test_ended_and_future_terms_and_people_who_left_do_not_fill_a_unit(minyue):
    today = timezone.localdate()
    appoint(minyue, "grid_leader", "grid_1", until=today - datetime.timedelta(days=1))
    appoint(minyue, "grid_leader", "grid_2", since=today + datetime.timedelta(days=1))
    gone = appoint(minyue, "grid_leader", "grid_3")
    Person.objects.filter(pk=gone.person_id).update(active=False)
    appoint(minyue, "grid_leader", "grid_4", until=today)  # the last day of a term still counts
    assert {"grid_1", "grid_2", "grid_3"} <= set(found(minyue, "grid_leader"))
    assert "grid_4" not in found(minyue, "grid_leader")


def test_a_role_open_community_wide_is_vacant_when_nobody_in_the_community_holds_it(minyue):
    liaison = found(minyue, "street_liaison")
    assert list(liaison) == [None] and liaison[None].unit_name == "民悦社区"
    assert ("resident-request", "street_resolve") in liaison[None].needed_by
    appoint(minyue, "street_liaison", "grid_7")
    assert found(minyue, "street_liaison") == {}


def test_inactive_units_are_not_listed(minyue):
    OrgUnit.objects.filter(key="grid_7").update(active=False)
    assert "grid_7" not in found(minyue, "grid_leader")


def test_flows_given_replace_the_live_ones(minyue):
    flow = {"flow": "mini", "form": "resident-request", "start": "a", "states": {"a": {"title": "A"},
                                                                               "b": {"title": "B", "final": True}},
            "transitions": [{"name": "go", "title": "前往", "from": "a", "to": "b",
                             "by": {"role": "inspector_only_here", "scope": "unit", "unit": "grid_5"}}]}
    listed = vacancies(minyue, [("mini", {**flow, "title": "小流程"})], "zh-hans")
    assert [(v.role, v.unit.key, v.needed_by, v.needed_by_titles) for v in listed] == [
        ("inspector_only_here", "grid_5", [("mini", "go")], [("小流程", "前往")])]
    assert vacancies(minyue, []) == []


def test_a_few_queries_whatever_the_number_of_units_and_holders(minyue):
    with CaptureQueriesContext(connection) as before:
        vacancies(minyue)
    grid = OrgUnit.objects.get(key="grid_1")
    for n in range(8):
        grid.add_child(community=minyue, key=f"building_{n}", name=f"{n}号楼", level="grid")
        appoint(minyue, "member", "tongxingyuan")
    with CaptureQueriesContext(connection) as after:
        vacancies(minyue)
    assert len(after) <= len(before) <= 6


def test_warning_lines_name_the_unit_the_role_and_the_flows_steps(minyue):
    with translation.override("zh-hans"):
        lines = warning_lines(vacancies(minyue))
    assert (f"警告: {FIRST_GRID}暂无网格长 — 流程 resident-request（民情直通车） 的步骤 analyse（研判）、"
            "decline（不予受理）需要这一角色") in lines
    with translation.override("en"):
        lines = warning_lines(vacancies(minyue, language="en"))
    assert (f"Warning: {FIRST_GRID} has no 网格长 — needed by flow resident-request (民情直通车), "
            "step analyse (研判), decline (不予受理)") in lines


# ---------------------------------------------------------------- the commands


def run(command, *args):
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(command, *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exit:
        code = exit.code
    return code, out.getvalue(), err.getvalue()


FLOW_FILE = "workflows_yaml/minyue/resident-request.flow.yaml"
WARNING = (f"警告: {FIRST_GRID}暂无网格长 — 流程 resident-request（民情直通车） 的步骤 analyse（研判）、"
           "decline（不予受理）需要这一角色")


def test_check_definitions_warns_of_vacancies_and_still_exits_0(minyue):
    code, out, err = run("check_definitions", FLOW_FILE)
    assert (code, out) == (0, "")
    assert WARNING in err.splitlines()
    assert all(line.startswith("警告: ") for line in err.splitlines())
    appoint(minyue, "grid_leader", "grid_1")
    assert WARNING not in run("check_definitions", FLOW_FILE)[2]


def test_check_definitions_warns_about_the_files_checked_not_the_live_flows(minyue, tmp_path, settings):
    workflows = tmp_path / "workflows_yaml"
    shutil.copytree(ROOT / "workflows_yaml", workflows)
    settings.LINLI_WORKFLOWS_DIR = workflows
    flow = workflows / "minyue" / "resident-request.flow.yaml"
    flow.write_text(flow.read_text(encoding="utf-8").replace("title: 研判", "title: 网格研判"), encoding="utf-8")
    code, out, err = run("check_definitions", str(flow))
    assert code == 0 and "analyse（网格研判）" in err
    # a file of another flow only: no warning about resident-request
    code, out, err = run("check_definitions", str(workflows / "minyue" / "post-claim.flow.yaml"))
    assert code == 0 and "resident-request" not in err


def test_check_definitions_of_a_community_not_in_the_database_warns_of_nothing(db):
    assert run("check_definitions", FLOW_FILE) == (0, "", "")


def test_check_definitions_without_a_database_still_works():
    """No django_db mark: any database access would fail the test. The files are checked alone."""
    assert run("check_definitions", FLOW_FILE) == (0, "", "")


def test_check_definitions_with_problems_prints_only_the_problems(minyue, tmp_path, settings):
    workflows = tmp_path / "workflows_yaml"
    shutil.copytree(ROOT / "workflows_yaml", workflows)
    settings.LINLI_WORKFLOWS_DIR = workflows
    flow = workflows / "minyue" / "resident-request.flow.yaml"
    flow.write_text(flow.read_text(encoding="utf-8").replace("role: grid_leader", "role: grid_leeder", 1),
                    encoding="utf-8")
    code, out, err = run("check_definitions", "--language", "en", str(flow))
    assert code == 1 and "unknown role 'grid_leeder'" in out and err == ""


def test_load_definitions_warns_of_vacancies_after_publishing(db):
    code, out, err = run("load_definitions", "workflows_yaml/kaiyuan", "workflows_yaml/minyue", "forms_schemas/minyue")
    assert code == 0 and "published minyue/resident-request (flow) v1" in out
    assert "警告" not in out and WARNING in err.splitlines()
    code, out, err = run("load_definitions", "workflows_yaml/kaiyuan", "workflows_yaml/minyue",
                         "forms_schemas/minyue")
    assert out.startswith("nothing changed") and WARNING in err.splitlines()  # still vacant, still said


def test_load_definitions_of_a_staffed_community_warns_of_nothing_it_has(minyue):
    for grid in OrgUnit.objects.filter(community=minyue, level="grid"):
        appoint(minyue, "grid_leader", grid.key)
    code, out, err = run("load_definitions", "workflows_yaml/minyue")
    assert code == 0 and "网格长" not in err
