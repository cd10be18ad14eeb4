"""The example communities shipped in forms_schemas/ and workflows_yaml/ pass every gate."""

from pathlib import Path

import pytest

from engine.definitions.pipeline import check_paths

ROOT = Path(__file__).resolve().parents[3]
FORMS, FLOWS = ROOT / "forms_schemas", ROOT / "workflows_yaml"
FOLDERS = sorted(p.name for p in FLOWS.iterdir() if p.is_dir())


def test_the_examples_include_the_communities_the_domain_asks_for():
    assert {"minyue", "zanan", "_template"} <= set(FOLDERS)


@pytest.mark.parametrize("folder", FOLDERS)
def test_example_folder_passes_all_gates(folder):
    paths = [FLOWS / folder] + ([FORMS / folder] if (FORMS / folder).exists() else [])
    result = check_paths(paths, FORMS, FLOWS, base=ROOT)
    assert [p.render("en") for p in result.problems] == []


def test_every_example_is_published_except_the_template():
    result = check_paths([], FORMS, FLOWS, base=ROOT)
    assert result.ok
    published = {(d.community, d.kind, d.key) for d in result.definitions if d.publishable}
    assert not any(community.startswith("_") for community, *_ in published)
    flows = {key for community, kind, key in published if community == "minyue" and kind == "flow"}
    assert {"resident-request", "post-claim", "member-registration", "unit-registration", "deliberation",
            "points-redemption"} <= flows
    zanan = {(kind, key) for community, kind, key in published if community == "zanan"}
    assert {("flow", "model-resident"), ("flow", "points-redemption"), ("form", "property-evaluation")} <= zanan


def test_minyue_has_the_five_level_tree_and_seven_posts():
    result = check_paths([FLOWS / "minyue"], FORMS, FLOWS, base=ROOT)
    community = next(d for d in result.definitions if d.kind == "community" and d.community == "minyue")
    assert len(community.data["levels"]) == 5
    posts = [p for c in community.data["posts"]["categories"] for p in c["posts"]]
    assert len(posts) == 7


def test_zanan_has_three_points_categories_and_a_half_year_store():
    result = check_paths([FLOWS / "zanan"], FORMS, FLOWS, base=ROOT)
    community = next(d for d in result.definitions if d.kind == "community" and d.community == "zanan")
    assert len(community.data["points"]["categories"]) == 3
    assert sorted(community.data["points"]["store"]["window"]["months"]) == [6, 12]
    assert any(rule["points"] < 0 for rule in community.data["points"]["rules"])
