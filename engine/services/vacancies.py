"""Vacancies: the roles a community's flows need that nobody holds where they are needed.

One module answers "which roles are vacant where" for everyone who shows it: the community
dashboard, the warnings of `check_definitions` and `load_definitions`, the people-and-roles
screens. The matching rule is the workflow core's (`core.held_at`: a holder at the unit, below
it, above it or at a unit covering it), and the holders are `policy.current_assignments()` —
so a vacancy listed here is exactly a place where the engine hands the step to a stand-in (the
flow's fallback role, else the community's admin roles; see engine.workflow.core.StandIn).

It also words why an item came to a stand-in ("第一网格暂无网格长"), for the inbox, the item
page and the API.

Reads only; never writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext as _

from engine import policy
from engine.forms.spec import text
from engine.models import Community, Definition, OrgUnit
from engine.workflow import core


@dataclass(frozen=True)
class Vacancy:
    """`role` has no current holder at `unit` (nor above, below or covering it), and the steps
    in `needed_by` need it there. `unit` is None for a step open to the role anywhere in the
    community (scope community): nobody in the community holds it; `unit_name` is then the
    community's name. `needed_by_titles` are the (flow title, step title) of `needed_by`."""

    role: str
    role_title: str
    unit: OrgUnit | None
    unit_name: str
    needed_by: list = field(default_factory=list)  # [(flow key, transition name)]
    needed_by_titles: list = field(default_factory=list)  # [(flow title, step title)], in the same order

    @property
    def reason(self) -> str:
        return has_no(self.unit_name, self.role_title)


def has_no(unit_name: str, role_title: str) -> str:
    """"第一网格暂无网格长": the words for a vacancy."""
    return _("%(unit)s has no %(role)s") % {"unit": unit_name, "role": role_title}


def role_title(community, key: str, language: str | None = None, roles: dict | None = None) -> str:
    """The role's title in community.yaml (`roles`: the community's roles, if already read)."""
    language = language or translation.get_language() or "zh-hans"
    entry = (policy.community_roles(community) if roles is None else roles).get(key) or {}
    return text(entry.get("title"), language) or key


def live_flows(community) -> list[tuple[str, dict]]:
    """(key, data) of the community's live flows."""
    records = (Definition.objects.filter(community=community, kind=Definition.Kind.FLOW, live_version__isnull=False)
               .select_related("live_version").order_by("key"))
    return [(record.key, record.live_version.data) for record in records]


def vacancies(community: Community, flows: list[tuple[str, dict]] | None = None,
              language: str | None = None) -> list[Vacancy]:
    """Every (role, unit) where a step of the community's live flows (or of `flows`, (key, data)
    pairs: definitions being checked) needs a role that nobody holds now, with the steps that
    need it; ordered by unit (the tree's order), then role. Only active units are listed. A few
    queries whatever the number of flows, units and holders."""
    language = language or translation.get_language() or "zh-hans"
    flows = live_flows(community) if flows is None else flows
    needs: dict[tuple, list] = {}  # (role, scope, level, unit key) -> [(flow, step, flow title, step title)]
    for key, data in flows:
        flow = core.compile_flow(data)
        for transition in flow.transitions.values():
            for role in core.role_actors(transition.actor):
                entry = (key, transition.name, text(data.get("title"), language) or key,
                         text(transition.title, language) or transition.name)
                found = needs.setdefault((role.role, role.scope, role.level, role.unit), [])
                if entry not in found:
                    found.append(entry)
    if not needs:
        return []
    holders = _holders(community, {role for role, *_ in needs})
    levels = {level for _, scope, level, _ in needs if scope == "submitter_unit"}
    keys = {unit for _, scope, _, unit in needs if scope == "unit"}
    units = list(OrgUnit.objects.filter(community=community, active=True)
                 .filter(Q(level__in=levels) | Q(key__in=keys)).order_by("path"))
    found: dict[tuple, Vacancy] = {}
    roles = policy.community_roles(community)
    for (role, scope, level, unit_key), steps in needs.items():
        if scope == "community":
            places = [None] if not holders[role] else []
        elif scope == "unit":
            places = [u for u in units if u.key == unit_key and not core.held_at(holders[role], u.path)]
        else:
            places = [u for u in units if u.level == level and not core.held_at(holders[role], u.path)]
        for unit in places:
            slot = (role, unit.pk if unit else None)
            if slot not in found:
                found[slot] = Vacancy(role, role_title(community, role, language, roles), unit,
                                      unit.name if unit else text(community.name, language))
            vacancy = found[slot]
            for flow, step, flow_title, step_title in steps:
                if (flow, step) not in vacancy.needed_by:
                    vacancy.needed_by.append((flow, step))
                    vacancy.needed_by_titles.append((flow_title, step_title))
    return sorted(found.values(), key=lambda v: (v.unit.path if v.unit else "", v.role))


def _holders(community, roles) -> dict:
    """role -> paths of its current holders' units (and of the units they cover)."""
    found = {role: set() for role in roles}
    for role, path, covered in (policy.current_assignments(acting=True).filter(community=community, role__in=roles)
                                .values_list("role", "unit__path", "unit__covers__path").distinct()):
        found[role].add(path)
        if covered:
            found[role].add(covered)
    return found


# ---------------------------------------------------------------- warnings for the commands


def warning_lines(vacancies_found: list[Vacancy]) -> list[str]:
    """One line per vacancy: "警告: 第一网格暂无网格长 — 流程 … 的步骤 … 需要这一角色"."""
    lines = []
    for vacancy in vacancies_found:
        by_flow: dict[str, list] = {}
        titles: dict[str, str] = {}
        for (flow, step), (flow_title, step_title) in zip(vacancy.needed_by, vacancy.needed_by_titles):
            by_flow.setdefault(flow, []).append(_named(step, step_title))
            titles[flow] = flow_title
        needs = _("; ").join(_("flow %(flow)s, step %(steps)s") % {"flow": _named(flow, titles[flow]),
                                                                    "steps": _(", ").join(steps)}
                             for flow, steps in by_flow.items())
        lines.append(_("Warning: %(reason)s — needed by %(needs)s") % {"reason": vacancy.reason, "needs": needs})
    return lines


def _named(key, title):
    return _("%(key)s (%(title)s)") % {"key": key, "title": title} if title and title != key else key


def database_ready() -> bool:
    """Is there a database with Linli's tables? check_definitions also runs on plain files."""
    from django.db import DatabaseError, connection

    try:
        return Community._meta.db_table in connection.introspection.table_names()
    except (DatabaseError, RuntimeError):  # no server, or a test that may not touch the database
        return False


def warnings_for(slugs, flows_by_slug: dict | None = None, language: str | None = None) -> list[str]:
    """Warning lines for the communities `slugs` that exist in the database: their live flows'
    vacancies, or those of the flows given per slug ((key, data) pairs). No database: none."""
    if not database_ready():
        return []
    lines = []
    with translation.override(language or translation.get_language()):
        for community in Community.objects.filter(slug__in=set(slugs)).order_by("slug"):
            flows = None if flows_by_slug is None else flows_by_slug.get(community.slug, [])
            lines.extend(warning_lines(vacancies(community, flows, language)))
    return lines


# ---------------------------------------------------------------- why an item came to a stand-in


class StandInWords:
    """Words for why items came to someone standing in for a vacant role, for one request: the
    names of the units are read in one query for all the items (`load`), the role titles once per
    community."""

    def __init__(self, language: str | None = None):
        self.language = language or translation.get_language() or "zh-hans"
        self._units: dict[tuple, tuple] = {}  # (community id, path) -> (key, name)
        self._titles: dict[tuple, str] = {}  # (community id, role) -> title

    def role_title(self, community, role: str) -> str:
        if (community.pk, role) not in self._titles:
            self._titles[community.pk, role] = role_title(community, role, self.language)
        return self._titles[community.pk, role]

    def load(self, pairs):
        """Read the units of many (community, StandIn) pairs at once."""
        wanted = {(community.pk, stand_in.unit) for community, stand_in in pairs
                  if stand_in is not None and stand_in.unit} - self._units.keys()
        if not wanted:
            return
        rows = OrgUnit.objects.filter(community_id__in={c for c, _ in wanted},
                                      path__in={p for _, p in wanted}).values_list("community_id", "path", "key", "name")
        for community_id, path, key, name in rows:
            self._units[community_id, path] = (key, name)

    def unit_key(self, community, stand_in: core.StandIn) -> str:
        self.load([(community, stand_in)])
        return self._units.get((community.pk, stand_in.unit), ("", ""))[0]

    def reason(self, community, stand_in: core.StandIn) -> str:
        """"第一网格暂无网格长"; for a step open to the role anywhere, "民悦社区暂无…"; for an item
        with no unit at the step's level, words saying so."""
        title = self.role_title(community, stand_in.role)
        if stand_in.scope == "community":
            return has_no(text(community.name, self.language), title)
        if not stand_in.unit:
            return _("the item names no unit where a %(role)s could be found") % {"role": title}
        self.load([(community, stand_in)])
        name = self._units.get((community.pk, stand_in.unit), ("", stand_in.unit_key or stand_in.unit))[1]
        return has_no(name, title)

    def entry(self, community, transition: str, stand_in: core.StandIn) -> dict:
        """The API's account of one step taken standing in."""
        return {"transition": transition, "role": stand_in.role,
                "unit": stand_in.unit_key or (self.unit_key(community, stand_in) if stand_in.unit else ""),
                "to": stand_in.to or "admin", "reason": self.reason(community, stand_in)}
