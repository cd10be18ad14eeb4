"""Flow diagrams (engine/definitions/diagram.py) and source diffs (engine/definitions/diff.py):
the pure core of the admin's definition pages, tested without a database."""

import copy
import difflib
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest

from engine.definitions.diagram import Labels, flow_svg
from engine.definitions.diff import ADDED, REMOVED, SAME, DiffRow, line_diff
from engine.definitions.sources import parse_yaml

ROOT = Path(__file__).resolve().parents[3]
FLOW_FILES = sorted((ROOT / "workflows_yaml").glob("*/*.flow.yaml"))
SVG = "{http://www.w3.org/2000/svg}"


def load(path):
    return parse_yaml(str(path), path.read_text(encoding="utf-8")).data


def parse(svg):
    return ET.fromstring(svg)


def classes(element):
    return element.get("class", "").split()


def texts(root, cls):
    return [el.text for el in root.iter(f"{SVG}text") if cls in classes(el)]


def groups(root, cls):
    return [el for el in root.iter(f"{SVG}g") if cls in classes(el)]


def sources(transition):
    return [transition["from"]] if isinstance(transition["from"], str) else transition["from"]


def small_flow(**changes):
    flow = {
        "flow": "mini", "title": "小流程", "form": "mini", "start": "open",
        "states": {
            "open": {"title": "已提交"},
            "voting": {"title": "表决中", "vote": {"window": "7d"}},
            "waiting": {"title": "等待", "due": "3d", "on_timeout": "expire"},
            "done": {"title": "已办结", "final": True},
        },
        "transitions": [
            {"name": "start_vote", "title": "开始表决", "from": "open", "to": "voting", "by": "submitter"},
            {"name": "passed", "title": "通过", "from": "voting", "to": "waiting", "by": "vote"},
            {"name": "expire", "title": "逾期", "from": "waiting", "to": "done", "by": "timer"},
            {"name": "reopen", "title": "重新打开", "from": ["waiting", "done"], "to": "open", "by": "submitter"},
        ],
    }
    flow.update(changes)
    return flow


def test_there_are_example_flows_to_draw():
    assert len(FLOW_FILES) >= 9
    assert {p.parent.name for p in FLOW_FILES} >= {"_template", "minyue", "zanan"}


@pytest.mark.parametrize("path", FLOW_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_example_flow_draws_as_svg_with_each_title_once_per_edge(path):
    flow = load(path)
    svg = flow_svg(flow)
    root = parse(svg)  # well-formed XML
    assert root.tag == f"{SVG}svg"
    # every state once, as a box with its title
    assert Counter(texts(root, "state-title")) == Counter(s["title"] for s in flow["states"].values())
    assert sorted(g.get("data-state") for g in groups(root, "state")) == sorted(flow["states"])
    # every transition title once per arrow it labels (one arrow per source state)
    expected = Counter(t.get("title", t["name"]) for t in flow["transitions"] for _ in sources(t))
    assert Counter(texts(root, "transition-title")) == expected
    arrows = {(g.get("data-from"), g.get("data-to")) for g in groups(root, "transition")}
    assert arrows == {(s, t["to"]) for t in flow["transitions"] for s in sources(t)}
    # final states have a double border
    finals = {name for name, s in flow["states"].items() if s.get("final")}
    assert {g.get("data-state") for g in groups(root, "final")} == finals
    for group in groups(root, "final"):
        assert len(group.findall(f"{SVG}rect")) == 2
    # votes, public notices and time limits are marked
    for name, state in flow["states"].items():
        group = next(g for g in groups(root, "state") if g.get("data-state") == name)
        badges = {c for b in group.iter(f"{SVG}g") for c in classes(b) if "badge" in classes(b)} - {"badge"}
        assert badges == {kind for kind in ("vote", "notice", "due") if state.get(kind)}
    # accessible: labelled by its title and description
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    assert title.text == f"Flow diagram: {flow['title']}"
    assert f"{len(flow['states'])} states and {len(flow['transitions'])} transitions" in desc.text


@pytest.mark.parametrize("path", FLOW_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_same_flow_gives_the_same_svg_whatever_the_order_of_its_state_keys(path):
    flow = load(path)
    svg = flow_svg(flow)
    assert flow_svg(copy.deepcopy(flow)) == svg
    # PostgreSQL's jsonb hands object keys back in its own order; the picture must not change
    shuffled = dict(flow, states=dict(sorted(flow["states"].items(), reverse=True)))
    assert flow_svg(shuffled) == svg


def test_titles_are_escaped():
    flow = small_flow(title="<b>流程</b>")
    flow["states"]["open"]["title"] = "<script>alert('状态')</script>"
    flow["transitions"][0]["title"] = "A & B <script>alert(1)</script>"
    svg = flow_svg(flow)
    assert "<script>" not in svg and "<b>" not in svg
    assert "&lt;script&gt;alert('状态')&lt;/script&gt;" in svg
    root = parse(svg)
    assert texts(root, "state-title").count("<script>alert('状态')</script>") == 1
    assert texts(root, "transition-title").count("A & B <script>alert(1)</script>") == 1
    assert root.find(f"{SVG}title").text == "Flow diagram: <b>流程</b>"


def test_state_names_in_attributes_are_quoted():
    flow = small_flow(start='a"b')
    flow["states"] = {'a"b': {"title": "甲"}, "c": {"title": "乙", "final": True}}
    flow["transitions"] = [{"name": "go", "title": "去", "from": 'a"b', "to": "c", "by": "submitter"}]
    root = parse(flow_svg(flow))
    assert {g.get("data-state") for g in groups(root, "state")} == {'a"b', "c"}


def test_layers_follow_the_breadth_first_distance_from_start():
    root = parse(flow_svg(small_flow()))
    top = {}
    for group in groups(root, "state"):
        top[group.get("data-state")] = float(group.find(f"{SVG}rect").get("y"))
    assert top["open"] < top["voting"] < top["waiting"] < top["done"]
    start = groups(root, "start")
    assert [g.get("data-state") for g in start] == ["open"]


def test_timer_and_vote_transitions_are_dashed_and_badges_use_the_labels_given():
    labels = Labels(vote="投票", due="限时", notice="公示")
    root = parse(flow_svg(small_flow(), labels=labels))
    automatic = {(g.get("data-from"), g.get("data-to")) for g in groups(root, "automatic")}
    assert automatic == {("voting", "waiting"), ("waiting", "done")}
    badge_texts = [t.text for g in groups(root, "badge") for t in g.iter(f"{SVG}text")]
    assert badge_texts == ["投票 7d", "限时 3d"]


def test_multilingual_titles_follow_the_language():
    flow = small_flow(title={"zh-hans": "小流程", "en": "Small flow"})
    flow["states"]["open"]["title"] = {"zh-hans": "已提交", "en": "Submitted"}
    assert "Submitted" in texts(parse(flow_svg(flow, language="en")), "state-title")
    assert "已提交" in texts(parse(flow_svg(flow)), "state-title")
    assert "表决中" in texts(parse(flow_svg(flow, language="en")), "state-title")  # no English: Chinese


def test_parallel_transitions_share_one_arrow_with_both_titles():
    flow = small_flow()
    flow["transitions"].append({"name": "skip", "title": "跳过表决", "from": "open", "to": "voting", "by": "submitter"})
    root = parse(flow_svg(flow))
    arrows = [g for g in groups(root, "transition") if (g.get("data-from"), g.get("data-to")) == ("open", "voting")]
    assert len(arrows) == 1
    label = next(g for g in groups(root, "transition-label") if g.get("data-from") == "open")
    assert [t.text for t in label.iter(f"{SVG}text")] == ["开始表决", "跳过表决"]


def test_ids_are_prefixed_so_two_diagrams_can_share_a_page():
    one, two = parse(flow_svg(small_flow(), id_prefix="flow-1")), parse(flow_svg(small_flow(), id_prefix="flow 2"))
    ids_one = {el.get("id") for el in one.iter() if el.get("id")}
    ids_two = {el.get("id") for el in two.iter() if el.get("id")}
    assert ids_one and not ids_one & ids_two
    assert all(i.startswith("flow-2") for i in ids_two)


# --- engine/definitions/diff.py ------------------------------------------------------------------

OLD = "flow: a\ntitle: 旧标题\nstart: s\nstates:\n  s: {title: 开始}\n  e: {title: 结束, final: true}\n"
NEW = "flow: a\ntitle: 新标题\nstart: s\nstates:\n  s: {title: 开始}\n  m: {title: 中间}\n  e: {title: 结束, final: true}\n"


def test_identical_texts_have_no_differences():
    assert line_diff(OLD, OLD) == []
    assert line_diff(OLD, OLD.replace("\n", "\r\n")) == []


def test_a_diff_is_rows_with_kinds_and_both_line_numbers():
    (hunk,) = line_diff(OLD, NEW)  # three lines of context join the two changes into one hunk
    assert hunk.rows == (
        DiffRow(SAME, 1, 1, "flow: a"),
        DiffRow(REMOVED, 2, None, "title: 旧标题"),
        DiffRow(ADDED, None, 2, "title: 新标题"),
        DiffRow(SAME, 3, 3, "start: s"),
        DiffRow(SAME, 4, 4, "states:"),
        DiffRow(SAME, 5, 5, "  s: {title: 开始}"),
        DiffRow(ADDED, None, 6, "  m: {title: 中间}"),
        DiffRow(SAME, 6, 7, "  e: {title: 结束, final: true}"),
    )
    assert hunk.header == "@@ -1,6 +1,7 @@"


def test_hunks_match_difflib_unified_diff():
    for context in (0, 1, 3):
        ours = []
        for hunk in line_diff(OLD, NEW, context=context):
            ours.append(hunk.header)
            ours += [{SAME: " ", ADDED: "+", REMOVED: "-"}[row.kind] + row.text for row in hunk.rows]
        theirs = list(difflib.unified_diff(OLD.splitlines(), NEW.splitlines(), lineterm="", n=context))[2:]
        assert ours == theirs


def test_separate_changes_make_separate_hunks_with_their_own_line_numbers():
    first, second = line_diff(OLD, NEW, context=1)
    assert [r.kind for r in first.rows] == [SAME, REMOVED, ADDED, SAME]
    assert (first.old_start, first.new_start) == (1, 1)
    assert second.rows == (
        DiffRow(SAME, 5, 5, "  s: {title: 开始}"),
        DiffRow(ADDED, None, 6, "  m: {title: 中间}"),
        DiffRow(SAME, 6, 7, "  e: {title: 结束, final: true}"),
    )


def test_without_context_limit_every_line_is_listed():
    (hunk,) = line_diff(OLD, NEW, context=None)
    assert [r.text for r in hunk.rows if r.kind != REMOVED] == NEW.splitlines()
    assert [r.text for r in hunk.rows if r.kind != ADDED] == OLD.splitlines()


@pytest.mark.parametrize("path", FLOW_FILES[:3], ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_diff_of_real_sources_rebuilds_both_texts(path):
    old = path.read_text(encoding="utf-8")
    new = old.replace("title:", "title: 改", 3) + "# 结尾\n"
    (hunk,) = line_diff(old, new, context=None)
    assert [r.text for r in hunk.rows if r.kind != REMOVED] == new.splitlines()
    assert [r.text for r in hunk.rows if r.kind != ADDED] == old.splitlines()
    assert [r.new_number for r in hunk.rows if r.kind != REMOVED] == list(range(1, len(new.splitlines()) + 1))
