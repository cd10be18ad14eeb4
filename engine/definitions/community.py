"""Lint of community.yaml, and the index of names that flows are checked against.

`CommunityIndex` is what the rest of the engine needs to resolve a name from a flow: the
levels of the tree in order, units, roles, posts, points categories and rules, store items,
honour rolls. Building it also finds the community file's own mistakes (duplicates, a unit
above its parent's level, references to unknown levels, roles, flows).
"""

from __future__ import annotations

import functools
import zoneinfo
from dataclasses import dataclass, field

from .problems import suggest
from .sources import Document


@dataclass
class CommunityIndex:
    slug: str
    kind: str = "community"
    parent: str = ""
    levels: list[str] = field(default_factory=list)
    units: dict[str, dict] = field(default_factory=dict)  # id -> {"level", "parent", "covers"}
    roles: dict[str, str] = field(default_factory=dict)  # key -> level ('' = community-wide)
    organisations: set[str] = field(default_factory=set)
    posts: dict[str, str] = field(default_factory=dict)  # key -> level
    teams: set[str] = field(default_factory=set)
    categories: set[str] = field(default_factory=set)
    rules: dict[str, str] = field(default_factory=dict)  # key -> category
    items: set[str] = field(default_factory=set)
    honour_rolls: dict[str, str] = field(default_factory=dict)  # key -> source flow ('' for points)
    flow_refs: list[tuple[str, str]] = field(default_factory=list)  # (pointer, flow) to check later

    def level_index(self, level):
        return self.levels.index(level) if level in self.levels else -1


KIND_NAMES = {
    "level": {"zh-hans": "层级", "en": "level"},
    "unit": {"zh-hans": "单位", "en": "unit"},
    "role": {"zh-hans": "角色", "en": "role"},
    "organisation": {"zh-hans": "组织", "en": "organisation"},
    "post": {"zh-hans": "岗位", "en": "post"},
    "post category": {"zh-hans": "岗位类别", "en": "post category"},
    "team": {"zh-hans": "服务队", "en": "team"},
    "points category": {"zh-hans": "积分类别", "en": "points category"},
    "points rule": {"zh-hans": "积分规则", "en": "points rule"},
    "store item": {"zh-hans": "积分超市商品", "en": "store item"},
    "honour roll": {"zh-hans": "荣誉榜", "en": "honour roll"},
    "flow": {"zh-hans": "流程", "en": "flow"},
    "form": {"zh-hans": "表单", "en": "form"},
    "state": {"zh-hans": "状态", "en": "state"},
    "transition": {"zh-hans": "流转", "en": "transition"},
    "community": {"zh-hans": "社区", "en": "community"},
    "option": {"zh-hans": "选项", "en": "option"},
}


@functools.cache
def time_zones() -> frozenset:
    """The IANA zone names this system knows (the `timezone:` key must be one of them)."""
    return frozenset(zoneinfo.available_timezones())


def unknown(doc, pointer, kind, name, candidates, at_key=False):
    return doc.problem("ref.unknown", pointer, at_key=at_key, kind=KIND_NAMES[kind], name=name,
                       suggestion=suggest(name, candidates))


def index_community(doc: Document, folder: str) -> tuple[CommunityIndex, list]:
    """Index a meta-valid community document; return it with the problems found on the way."""
    data = doc.data
    problems = []
    index = CommunityIndex(slug=data["community"], kind=data.get("kind", "community"), parent=data.get("parent", ""))
    if not folder.startswith("_") and data["community"] != folder:
        problems.append(doc.problem("community.folder_mismatch", "/community", slug=data["community"], folder=folder))
    zone = data.get("calendar", {}).get("timezone")
    if zone is not None and zone not in time_zones():
        problems.append(doc.problem("community.timezone", "/calendar/timezone", name=zone,
                                    suggestion=suggest(zone, time_zones())))

    def define(registry, kind, key, pointer, value=None):
        if key in registry:
            problems.append(doc.problem("community.duplicate", pointer, kind=KIND_NAMES[kind], name=key))
            return False
        if isinstance(registry, dict):
            registry[key] = value
        else:
            registry.add(key)
        return True

    levels = {}
    for i, level in enumerate(data["levels"]):
        if define(levels, "level", level["key"], f"/levels/{i}/key"):
            index.levels.append(level["key"])

    def walk_units(units, pointer, parent):
        for i, unit in enumerate(units):
            here = f"{pointer}/{i}"
            if unit["level"] not in levels:
                problems.append(unknown(doc, f"{here}/level", "level", unit["level"], levels))
            elif parent and index.level_index(unit["level"]) <= index.level_index(index.units[parent]["level"]):
                problems.append(doc.problem("community.level_order", f"{here}/level", unit=unit["id"],
                                            level=unit["level"], parent_level=index.units[parent]["level"]))
            define(index.units, "unit", unit["id"], f"{here}/id",
                   {"level": unit["level"], "parent": parent, "covers": unit.get("covers", [])})
            walk_units(unit.get("children", []), f"{here}/children", unit["id"])

    walk_units(data["units"], "/units", "")

    def check_covers(units, pointer):
        for i, unit in enumerate(units):
            for j, other in enumerate(unit.get("covers", [])):
                if other not in index.units:
                    problems.append(unknown(doc, f"{pointer}/{i}/covers/{j}", "unit", other, index.units))
            check_covers(unit.get("children", []), f"{pointer}/{i}/children")

    check_covers(data["units"], "/units")

    for i, org in enumerate(data.get("organisations", [])):
        define(index.organisations, "organisation", org["key"], f"/organisations/{i}/key")
    for i, role in enumerate(data["roles"]):
        level = role.get("level", "")
        if level and level not in levels:
            problems.append(unknown(doc, f"/roles/{i}/level", "level", level, levels))
        if role.get("organisation") and role["organisation"] not in index.organisations:
            problems.append(unknown(doc, f"/roles/{i}/organisation", "organisation", role["organisation"],
                                    index.organisations))
        define(index.roles, "role", role["key"], f"/roles/{i}/key", level)

    posts = data.get("posts", {})
    categories = set()
    for c, category in enumerate(posts.get("categories", [])):
        define(categories, "post category", category["key"], f"/posts/categories/{c}/key")
        for p, post in enumerate(category["posts"]):
            here = f"/posts/categories/{c}/posts/{p}"
            level = post.get("level", "")
            if level and level not in levels:
                problems.append(unknown(doc, f"{here}/level", "level", level, levels))
            for r, role in enumerate(post.get("eligible", [])):
                if role not in index.roles:
                    problems.append(unknown(doc, f"{here}/eligible/{r}", "role", role, index.roles))
            define(index.posts, "post", post["key"], f"{here}/key", level)
    if "claim_flow" in posts:
        index.flow_refs.append(("/posts/claim_flow", posts["claim_flow"]))

    for i, team in enumerate(data.get("teams", [])):
        define(index.teams, "team", team["key"], f"/teams/{i}/key")

    registration = data.get("registration", {})
    for key in ("unit_flow", "member_flow"):
        if key in registration:
            index.flow_refs.append((f"/registration/{key}", registration[key]))
    if registration.get("member_level") and registration["member_level"] not in levels:
        problems.append(unknown(doc, "/registration/member_level", "level", registration["member_level"], levels))

    points = data.get("points", {})
    for i, category in enumerate(points.get("categories", [])):
        define(index.categories, "points category", category["key"], f"/points/categories/{i}/key")
        for r, role in enumerate(category.get("audience", [])):
            if role not in index.roles:
                problems.append(unknown(doc, f"/points/categories/{i}/audience/{r}", "role", role, index.roles))
    for i, rule in enumerate(points.get("rules", [])):
        if rule["category"] not in index.categories:
            problems.append(unknown(doc, f"/points/rules/{i}/category", "points category", rule["category"],
                                    index.categories))
        define(index.rules, "points rule", rule["key"], f"/points/rules/{i}/key", rule["category"])
    store = points.get("store", {})
    for i, item in enumerate(store.get("items", [])):
        define(index.items, "store item", item["key"], f"/points/store/items/{i}/key")
    if "redeem_flow" in store:
        index.flow_refs.append(("/points/store/redeem_flow", store["redeem_flow"]))

    for i, roll in enumerate(data.get("honour_rolls", [])):
        here = f"/honour_rolls/{i}"
        source = roll["source"]
        if roll.get("level") and roll["level"] not in levels:
            problems.append(unknown(doc, f"{here}/level", "level", roll["level"], levels))
        for r, role in enumerate(roll.get("audience", [])):
            if role not in index.roles:
                problems.append(unknown(doc, f"{here}/audience/{r}", "role", role, index.roles))
        for c, category in enumerate(source.get("points", {}).get("categories", [])):
            if category not in index.categories:
                problems.append(unknown(doc, f"{here}/source/points/categories/{c}", "points category", category,
                                        index.categories))
        if "flow" in source:
            index.flow_refs.append((f"{here}/source/flow", source["flow"]))
        define(index.honour_rolls, "honour roll", roll["key"], f"{here}/key", source.get("flow", ""))
    reviewer = data.get("publishing", {}).get("reviewer_role")
    if reviewer and reviewer not in index.roles:
        problems.append(unknown(doc, "/publishing/reviewer_role", "role", reviewer, index.roles))
    return index, problems


def check_flow_refs(doc: Document, index: CommunityIndex, flows) -> list:
    """community.yaml names flows (post claiming, registration, redemption, honour rolls)."""
    return [unknown(doc, pointer, "flow", name, flows) for pointer, name in index.flow_refs if name not in flows]
