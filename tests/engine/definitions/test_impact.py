"""The impact of a new flow or form version on items in flight — the pure core, no database:
the example definitions, changed in code the way an author would change them."""

import copy
import json
from pathlib import Path

import yaml

from engine.definitions.impact import field_type, flow_impact, form_impact

ROOT = Path(__file__).resolve().parents[3]


def example_flow(key="resident-request", community="minyue"):
    return yaml.safe_load((ROOT / "workflows_yaml" / community / f"{key}.flow.yaml").read_text("utf-8"))


def example_form(key="resident-request", community="minyue"):
    return json.loads((ROOT / "forms_schemas" / community / f"{key}.schema.json").read_text("utf-8"))


def shared():
    return {"defs.json": json.loads((ROOT / "forms_schemas" / "_shared" / "defs.json").read_text("utf-8"))}


def renamed_state(flow, old, new, title=None):
    """The flow with state `old` renamed to `new` (and every transition following it)."""
    flow = copy.deepcopy(flow)
    spec = flow["states"].pop(old)
    if title is not None:
        spec["title"] = title
    flow["states"][new] = spec
    for transition in flow["transitions"]:
        sources = transition["from"] if isinstance(transition["from"], list) else [transition["from"]]
        transition["from"] = [new if s == old else s for s in sources]
        if transition["to"] == old:
            transition["to"] = new
    return flow


# ---------------------------------------------------------------- flows


def test_an_unchanged_flow_needs_nothing():
    flow = example_flow()
    impact = flow_impact(flow, copy.deepcopy(flow), {"collected": 3, "analysed": 2, "in_progress": 1})
    assert impact.findings == () and impact.needs_mapping == [] and impact.needs_transform == []


def test_a_removed_state_holding_items_needs_a_mapping_and_suggests_the_same_title():
    old = example_flow()
    new = renamed_state(old, "analysed", "triaged")  # same title 已研判 under another key
    impact = flow_impact(old, new, {"collected": 4, "analysed": 37})
    assert impact.needs_mapping == ["analysed"]
    (finding,) = impact.states_removed
    assert (finding.name, finding.count, finding.suggestion) == ("analysed", 37, "triaged")
    assert finding.text("en") == "37 items wait in state 'analysed', which this version removes; likely 'triaged'"
    assert finding.text("zh-hans") == "37 件事项停留在状态 'analysed'，新版本删除了该状态；可能对应 'triaged'"
    assert "triaged" in impact.new_states and "analysed" not in impact.new_states


def test_a_removed_state_suggests_a_close_name_else_nothing():
    old = example_flow()
    close = renamed_state(old, "analysed", "analysed_ok", title="另一个标题")
    assert flow_impact(old, close, {"analysed": 1}).states_removed[0].suggestion == "analysed_ok"
    far = renamed_state(old, "analysed", "zzz", title="另一个标题")
    finding = flow_impact(old, far, {"analysed": 1}).states_removed[0]
    assert finding.suggestion == ""
    assert finding.text("en") == "1 item waits in state 'analysed', which this version removes"


def test_a_removed_state_without_items_is_no_concern():
    old = example_flow()
    new = renamed_state(old, "analysed", "triaged")
    impact = flow_impact(old, new, {"collected": 5, "analysed": 0})
    assert impact.findings == () and impact.needs_mapping == []


def test_changed_timers_are_reported_for_states_holding_items():
    old = example_flow()
    new = copy.deepcopy(old)
    new["states"]["in_progress"]["due"] = "3wd"
    new["states"]["feedback"]["on_timeout"] = "close_unrated"  # the same: no finding
    new["states"]["feedback"]["remind"] = {"before": "1d", "to": "submitter", "message": "请评议"}
    impact = flow_impact(old, new, {"in_progress": 2, "feedback": 1, "collected": 9})
    assert [(f.name, f.count) for f in impact.timers_changed] == [("in_progress", 2), ("feedback", 1)]
    assert impact.timers_changed[0].text("en") == (
        "2 items wait in state 'in_progress', whose time limit changes from 5wd to 3wd")
    assert impact.timers_changed[0].text("zh-hans") == (
        "2 件事项停留在状态 'in_progress'，该状态的期限从 5wd 改为 3wd")
    assert impact.timers_changed[1].text("en") == "1 item waits in state 'feedback', whose timers change"
    assert impact.needs_mapping == []  # a changed clock restarts; it needs no decision


def test_a_vote_windows_change_counts_as_a_timer_change():
    old = example_flow("deliberation")
    voting = next(name for name, spec in old["states"].items() if "vote" in spec)
    new = copy.deepcopy(old)
    new["states"][voting]["vote"]["window"] = "30d"
    assert [f.name for f in flow_impact(old, new, {voting: 1}).timers_changed] == [voting]


# ---------------------------------------------------------------- forms


def test_an_unchanged_form_needs_nothing():
    form = example_form()
    impact = form_impact(form, copy.deepcopy(form), {"subject": 5, "mobile": 3}, total=5)
    assert impact.findings == () and impact.needs_transform == []


def test_a_field_renamed_in_place_is_suggested_by_type_and_position():
    old = example_form()
    new = copy.deepcopy(old)
    props = list(new["properties"].items())
    index = [k for k, _ in props].index("mobile")
    props[index] = ("phone", {**props[index][1], "title": "手机"})  # another title, same type and place
    new["properties"] = dict(props)
    impact = form_impact(old, new, {"mobile": 3, "subject": 5}, total=5, old_shared=shared(), new_shared=shared())
    (finding,) = impact.fields_renamed
    assert (finding.name, finding.suggestion, finding.count) == ("mobile", "phone", 3)
    assert finding.text("zh-hans") == "字段 'mobile' 改名为 'phone'？3 件事项已填写"
    assert finding.text("en") == "field 'mobile' renamed to 'phone'? 3 items have a value"
    assert impact.needs_transform == ["mobile"]


def test_a_field_renamed_elsewhere_is_found_by_its_title():
    old = example_form()
    new = copy.deepcopy(old)
    spec = new["properties"].pop("other_party")
    new["properties"]["counterpart"] = spec  # moved to the end, same title
    impact = form_impact(old, new, {"other_party": 1}, total=4)
    assert [(f.name, f.suggestion) for f in impact.fields_renamed] == [("other_party", "counterpart")]


def test_a_removed_field_with_values_needs_a_decision_and_one_without_does_not():
    old = example_form()
    new = copy.deepcopy(old)
    del new["properties"]["other_party"], new["properties"]["publicity_consent"]
    impact = form_impact(old, new, {"other_party": 2, "publicity_consent": 0}, total=6)
    assert [(f.name, f.count, f.suggestion) for f in impact.fields_removed] == [("other_party", 2, "")]
    assert impact.fields_removed[0].text("en") == "field 'other_party' is removed; 2 items have a value"
    assert impact.fields_removed[0].text("zh-hans") == "字段 'other_party' 已删除，2 件事项已填写"
    assert impact.needs_transform == ["other_party"]


def test_a_type_change_is_reported_when_items_hold_values():
    old = example_form()
    new = copy.deepcopy(old)
    new["properties"]["subject"] = {"title": "诉求标题", "type": "integer"}
    new["properties"]["other_party"] = {"title": "x", "type": "boolean"}
    impact = form_impact(old, new, {"subject": 7, "other_party": 0}, total=7)
    (finding,) = impact.types_changed
    assert finding.name == "subject"
    assert finding.text("en") == "field 'subject' changes type from string to integer; 7 items have a value"
    assert finding.text("zh-hans") == "字段 'subject' 的类型从 string 改为 integer，7 件事项已填写"
    assert impact.needs_transform == []


def test_a_newly_required_field_counts_the_items_that_lack_it():
    old = example_form()
    new = copy.deepcopy(old)
    new["required"] = [*old["required"], "other_party", "photos"]
    new["properties"]["household_size"] = {"title": "家庭人口", "type": "integer"}
    new["required"].append("household_size")
    impact = form_impact(old, new, {"other_party": 6, "photos": 2}, total=6)
    assert [(f.name, f.count) for f in impact.newly_required] == [("photos", 4), ("household_size", 6)]
    assert impact.newly_required[0].text("en") == "field 'photos' becomes required; 4 items lack it"
    assert impact.newly_required[0].text("zh-hans") == "字段 'photos' 改为必填，4 件事项未填写"
    assert impact.newly_required[1].text("en") == "field 'household_size' becomes required; 6 items lack it"


def test_shared_references_are_compared_by_what_they_resolve_to():
    form = example_form()
    assert field_type(form["properties"]["mobile"], shared()) == "string"
    assert field_type(form["properties"]["mobile"]).startswith("ref:")
    assert field_type({"type": "string", "format": "date"}) == "string/date"
    assert field_type({"enum": [1, 2]}) == "integer"
