"""The dry-run simulator and shadow replay, without a database: options and their reasons, effects
in words, stepping through a path, sample submissions, and replaying recorded paths on a draft."""

import copy
import datetime
import json
from pathlib import Path

import pytest

from engine.definitions.pipeline import check_paths
from engine.forms.spec import compile_form
from engine.forms.validation import validate
from engine.workflow.core import Refusal, compile_flow
from engine.workflow.simulate import (Persona, Recorded, Simulation, Vocabulary, describe_effect, explain,
                                      flow_sample_inputs, replay, sample_data)

ROOT = Path(__file__).resolve().parents[3]
CHECKED = check_paths([], ROOT / "forms_schemas", ROOT / "workflows_yaml", base=ROOT)
DEFINITIONS = {(d.kind, d.community, d.key): d for d in CHECKED.definitions}
SHARED = {d.key: d.data for d in CHECKED.definitions if d.kind == "shared"}
NAMES = {"unit": ["grid_1"], "post": ["civility_monitor"], "store-item": ["rice"], "team": ["volunteers"]}
MONDAY = datetime.datetime(2025, 3, 3, 9, 0)  # an ordinary working week


def flow_data(community="minyue", key="resident-request"):
    return copy.deepcopy(DEFINITIONS[("flow", community, key)].data)


def vocabulary(community="minyue"):
    return Vocabulary.from_community(DEFINITIONS[("community", community, community)].data)


def tiny_flow(**overrides):
    """A small flow with one of everything the words describe; override any part."""
    data = {
        "flow": "tiny", "title": "小流程", "form": "tiny", "start": "new",
        "states": {
            "new": {"title": "新提交"},
            "working": {"title": "办理中", "due": "3wd", "on_timeout": "escalate"},
            "escalated": {"title": "已上报"},
            "done": {"title": "已办结", "final": True},
        },
        "transitions": [
            {"name": "accept", "title": "受理", "from": "new", "to": "working", "by": {"role": "grid_leader"},
             "guard": "urgency == 'urgent'", "guard_message": "只受理紧急事项",
             "actions": [{"notify": {"to": {"role": "grid_leader"}, "message": "有新事项"}}]},
            {"name": "escalate", "title": "上报", "from": "working", "to": "escalated", "by": "timer"},
            {"name": "finish", "title": "办结", "from": ["working", "escalated"], "to": "done", "by": "submitter",
             "actions": [{"award_points": {"to": "submitter", "category": "public_welfare", "points": 5}},
                         {"publish_announcement": {"title": "办结公示"}}]},
            {"name": "sign_off", "title": "会签", "from": "escalated", "to": "done",
             "by": {"all_of": [{"role": "community_secretary"}, {"role": "street_liaison"}]}},
        ],
    }
    data.update(overrides)
    return data


GRID_LEADER = Persona.of(["grid_leader"])
SUBMITTER = Persona.of([], submitter=True)


# --- options and why -------------------------------------------------------------------------------

def test_each_option_says_why_it_is_open_or_closed():
    flow = compile_flow(tiny_flow())
    by_name = {o.name: o for o in explain(flow, "new", GRID_LEADER, {"urgency": "urgent"})}
    assert by_name["accept"].allowed and by_name["accept"].reason == ""
    assert by_name["finish"].reason == "wrong_state"
    assert by_name["finish"].why["en"] == "the item is in new; this step leaves working, escalated only"
    closed = {o.name: o for o in explain(flow, "working", GRID_LEADER, {})}
    assert closed["finish"].reason == "not_actor"
    assert closed["finish"].why == {"zh-hans": "只有提交人可以办理", "en": "only the submitter may take it"}
    assert closed["escalate"].reason == "timer"  # not the person's: the clock takes it


def test_a_false_guard_is_reported_with_its_text_and_message():
    flow = compile_flow(tiny_flow())
    accept = next(o for o in explain(flow, "new", GRID_LEADER, {"urgency": "normal"}) if o.name == "accept")
    assert not accept.allowed and accept.reason == "guard"
    assert accept.why["en"] == "the guard “urgency == 'urgent'” is false: 只受理紧急事项"
    assert accept.why["zh-hans"] == "条件不满足 “urgency == 'urgent'”：只受理紧急事项"


def test_a_guard_on_inputs_is_judged_on_the_sample_inputs():
    flow = compile_flow(flow_data())
    forms = {key: d.data for (kind, _, key), d in DEFINITIONS.items() if kind == "form" and _ == "minyue"}
    inputs = flow_sample_inputs(flow, forms, SHARED, NAMES)
    options = {o.name: o for o in explain(flow, "feedback", SUBMITTER, {}, inputs=inputs)}
    assert inputs["rate"]["rating"] >= 3
    assert options["rate"].allowed and not options["reopen"].allowed and options["reopen"].reason == "guard"
    without = {o.name: o for o in explain(flow, "feedback", SUBMITTER, {})}
    assert without["rate"].reason == without["reopen"].reason == "needs_input"


# --- effects in words ------------------------------------------------------------------------------

def test_effects_are_described_in_both_languages():
    flow = compile_flow(tiny_flow())
    simulation = Simulation(flow, {"urgency": "urgent"}, clock=MONDAY)
    accepted = simulation.step("accept", GRID_LEADER)
    assert [w["en"] for w in accepted.words] == [
        "notify role grid_leader: 有新事项",
        "deadline 3 working days (2025-03-06 09:00) → 上报 (escalate)",
    ]
    assert accepted.words[1]["zh-hans"] == "期限 3个工作日（2025-03-06 09:00） → 上报 (escalate)"
    finished = simulation.step("finish", SUBMITTER)
    assert [w["en"] for w in finished.words] == [
        "+5 points to the submitter (category public_welfare)",
        "publish announcement “办结公示”",
        "the item is finished (已办结)",
    ]
    assert finished.words[0]["zh-hans"] == "给提交人 +5 积分（类别 public_welfare）"
    assert simulation.finished and simulation.state == "done"


def test_words_use_the_communitys_titles_and_rules():
    flow = compile_flow(flow_data())
    effect = ("award_points", {"to": "assignee", "rule": "resolve_request"})
    words = describe_effect(flow, *effect, vocabulary())
    assert words["en"] == "+5 points to the assignee (category 红色积分 (red), rule resolve_request)"
    notify = describe_effect(flow, "notify", {"to": [{"role": "street_liaison"}, "submitter"], "message": "M"},
                             vocabulary())
    assert notify["zh-hans"] == "通知角色 开源街道包联干部 (street_liaison)、提交人：M"


def test_a_deadline_over_a_holiday_counts_working_days():
    flow = compile_flow(tiny_flow())
    simulation = Simulation(flow, {"urgency": "urgent"}, clock=datetime.datetime(2025, 9, 30, 10, 0))
    words = simulation.step("accept", GRID_LEADER).words
    # National Day: 1–8 October off; then the 9th, the 10th and Saturday the 11th (a make-up day)
    assert words[-1]["en"] == "deadline 3 working days (2025-10-11 10:00) → 上报 (escalate)"


# --- stepping through a path -----------------------------------------------------------------------

def test_a_simulation_walks_the_resident_request_flow_to_its_end():
    flow = compile_flow(flow_data())
    forms = {key: d.data for (kind, c, key), d in DEFINITIONS.items() if kind == "form" and c == "minyue"}
    simulation = Simulation(flow, sample_data(forms["resident-request"], SHARED, NAMES), vocabulary=vocabulary(),
                            inputs=flow_sample_inputs(flow, forms, SHARED, NAMES), clock=MONDAY)
    simulation.walk([("analyse", GRID_LEADER), ("take_order", Persona.of(["member"])),
                     ("resolve", Persona.of([], assignee=True)), ("rate", SUBMITTER)])
    assert [(s.source, s.target) for s in simulation.steps] == [
        ("collected", "analysed"), ("analysed", "in_progress"), ("in_progress", "feedback"), ("feedback", "closed")]
    assert simulation.finished
    assert "notify the submitter: 您的诉求已有党员接单办理。" in [w["en"] for w in simulation.steps[1].words]


def test_a_step_the_persona_may_not_take_is_refused_with_the_reason():
    flow = compile_flow(tiny_flow())
    simulation = Simulation(flow, {"urgency": "urgent"})
    with pytest.raises(Refusal) as refusal:
        simulation.step("accept", SUBMITTER)
    assert refusal.value.reason == "not_actor"
    with pytest.raises(Refusal) as refusal:
        simulation.step("finish", SUBMITTER)
    assert refusal.value.reason == "wrong_state"
    simulation.step("accept", GRID_LEADER)
    with pytest.raises(Refusal):
        simulation.step("escalate", GRID_LEADER)  # the clock's step
    assert simulation.step("escalate", Persona(system="timer")).target == "escalated"


def test_a_countersign_waits_for_every_seat():
    flow = compile_flow(tiny_flow())
    simulation = Simulation(flow, {"urgency": "urgent"})
    simulation.walk([("accept", GRID_LEADER), ("escalate", Persona(system="timer"))])
    secretary = Persona.of(["community_secretary"])
    first = simulation.step("sign_off", secretary)
    assert first.target is None and simulation.state == "escalated"
    assert first.words[0]["en"] == "seat 1 of the countersign signed; waiting for the others"
    assert next(o for o in simulation.options(secretary) if o.name == "sign_off").reason == "signed"
    assert simulation.step("sign_off", Persona.of(["street_liaison"])).target == "done"


def test_a_persona_from_posted_data_is_checked():
    assert Persona.from_dict({"roles": ["grid_leader"], "submitter": 1}) == Persona.of(["grid_leader"], submitter=True)
    for bad in (None, [], {"roles": "grid_leader"}, {"roles": [1]}, {"system": "root"}):
        with pytest.raises(ValueError):
            Persona.from_dict(bad)


# --- sample data -----------------------------------------------------------------------------------

FORMS = sorted((c, key) for kind, c, key in DEFINITIONS if kind == "form")


@pytest.mark.parametrize("community,key", FORMS)
def test_sample_data_is_valid_and_always_the_same(community, key):
    definition = DEFINITIONS[("form", community, key)]
    data = sample_data(definition.data, SHARED, NAMES)
    assert data == sample_data(copy.deepcopy(definition.data), SHARED, NAMES)
    spec = compile_form(community, key, 1, {"definition": definition.data, "shared": definition.shared})
    assert validate(spec, data) == []
    assert json.dumps(data, ensure_ascii=False)  # plain JSON, storable as a submission


def test_sample_data_meets_conditional_requirements():
    schema = {"type": "object", "properties": {
        "kind": {"type": "string", "enum": ["dispute", "other"]},
        "party": {"type": "string", "maxLength": 5},
        "phone": {"type": "string", "pattern": "^1[3-9][0-9]{9}$"},
        "count": {"type": "integer", "minimum": 2}},
        "required": ["kind"],
        "allOf": [{"if": {"properties": {"kind": {"const": "dispute"}}}, "then": {"properties": {"party": {"const": "B-1"}}}}]}
    assert sample_data(schema) == {"kind": "dispute", "party": "B-1", "phone": "13800138000", "count": 2}


# --- shadow replay ---------------------------------------------------------------------------------

def at(day, hour=10):
    return datetime.datetime(2025, 3, day, hour, 0)


RECORDED = [
    Recorded("analyse", frozenset({"grid_leader"}), at(3), to_state="analysed"),
    Recorded("take_order", frozenset({"member"}), at(4), to_state="in_progress", actor=7),
    Recorded("resolve", frozenset({"member"}), at(6), to_state="feedback", assignee=True, actor=7),
]


def test_replaying_a_path_on_its_own_version_finds_nothing():
    live = flow_data()
    result = replay(live, RECORDED, at(3, 9), baseline=live)
    assert not result.diverged
    assert [step[0] for step in result.path] == ["analyse", "take_order", "resolve"]


def test_replay_finds_a_transition_the_draft_removed():
    draft = flow_data()
    draft["transitions"] = [t for t in draft["transitions"] if t["name"] != "take_order"]
    result = replay(draft, RECORDED, at(3, 9), baseline=flow_data())
    (divergence,) = result.divergences
    assert (divergence.index, divergence.kind, divergence.transition) == (1, "missing", "take_order")
    assert divergence.words["en"] == "the draft has no transition take_order"


def test_replay_finds_a_step_no_longer_allowed_or_leading_elsewhere():
    draft = flow_data()
    for transition in draft["transitions"]:
        if transition["name"] == "analyse":
            transition["by"] = {"role": "community_secretary"}
        if transition["name"] == "resolve":
            transition["to"] = "closed"
    assert replay(draft, RECORDED, at(3, 9)).divergences[0].kind == "not_allowed"
    draft["transitions"][0]["by"] = {"role": "grid_leader", "scope": "submitter_unit", "level": "grid"}
    (divergence,) = replay(draft, RECORDED, at(3, 9)).divergences
    assert divergence.kind == "target"
    assert divergence.words["en"] == "resolve led to feedback; under the draft it leads to closed"


def test_replay_reports_a_changed_deadline_and_a_deadline_that_would_pass_first():
    draft = flow_data()
    draft["states"]["in_progress"]["due"] = "1wd"
    draft["states"]["in_progress"].pop("remind")
    result = replay(draft, RECORDED, at(3, 9), baseline=flow_data())
    deadline, overtaken = result.divergences
    assert deadline.kind == "deadline" and not deadline.fatal
    assert deadline.words["en"] == ("deadline of in_progress: 2025-03-11 10:00 → escalate "
                                    "becomes 2025-03-05 10:00 → escalate")
    assert overtaken.kind == "overtaken" and overtaken.fatal and overtaken.transition == "resolve"


def test_replay_of_a_timer_step_needs_the_drafts_deadline():
    recorded = RECORDED[:2] + [Recorded("escalate", kind="timer", at=at(11), to_state="escalated")]
    assert not replay(flow_data(), recorded, at(3, 9), baseline=flow_data()).diverged
    draft = flow_data()
    draft["states"]["in_progress"]["on_timeout"] = "refer_to_street"
    result = replay(draft, recorded, at(3, 9))
    assert result.divergences[-1].kind == "no_timer"


def test_replay_accepts_plain_tuples():
    result = replay(flow_data(), [("analyse", ["grid_leader"], at(3)), ("withdraw", [], at(4))], at(3, 9))
    (divergence,) = result.divergences
    assert divergence.kind == "not_allowed"  # the tuple does not say the actor was the submitter
