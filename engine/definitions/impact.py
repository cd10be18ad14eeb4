"""What publishing a new version of a flow or form does to the items still in flight.

Pure: plain definition data and counts in, frozen dataclasses out; no Django, no database.
`flow_impact` compares two flows given how many open items wait in each state of the old one;
`form_impact` compares two form schemas given how many open items have a value for each field.
Each finding carries a one-line message, told in the language asked for (`.text(language)`), and each result
lists what a person must decide before the items can move (`needs_mapping`: states to map onto
the new version; `needs_transform`: fields to rename or drop).

Suggestions ("renamed?", "likely target") are heuristics for a person to confirm, never applied
on their own: the migration action (engine.services.item_migration) takes explicit maps only.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from .forms import infer_type

SHARED_PREFIX = "../_shared/"


def _msg(singular: str, plural: str, **params) -> tuple:
    """A finding's words: English msgids (singular, plural by the finding's count; the Chinese is in
    the catalogue, locale/zh_Hans) and their parameters. Told only when shown, in the reader's language."""
    return (singular, plural, params)


def _titles(value) -> set[str]:
    """A definition's title (a string, or one per language) as comparable strings."""
    if isinstance(value, dict):
        return {str(v).strip() for v in value.values() if str(v).strip()}
    return {str(value).strip()} if value and str(value).strip() else set()


def _closest(word: str, candidates) -> str:
    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else ""


@dataclass(frozen=True)
class Finding:
    """One thing the new version changes for items in flight, said in both languages."""

    kind: str  # state_removed | timer_changed | field_removed | field_renamed | type_changed | newly_required
    name: str  # the state or field of the old version
    count: int  # the items concerned
    suggestion: str = ""  # a likely target state / new field key; "" when none
    message: tuple = field(default=(), compare=False, hash=False)  # _msg(...)

    def text(self, language: str = "zh-hans") -> str:
        from django.utils import translation  # only the words need Django; the comparison does not

        singular, plural, params = self.message
        with translation.override(language or "zh-hans"):
            return translation.ngettext(singular, plural, self.count).format(count=self.count, **params)


# ---------------------------------------------------------------- flows

TIMER_KEYS = ("due", "on_timeout", "remind", "notice")


def _clock(spec: dict) -> tuple:
    """What of a state starts a clock: its deadline, reminder, public notice and vote window."""
    vote = spec.get("vote") or {}
    return tuple(repr(spec.get(key)) for key in TIMER_KEYS) + (repr(vote.get("window")),)


@dataclass(frozen=True)
class FlowImpact:
    states_removed: tuple[Finding, ...] = ()
    timers_changed: tuple[Finding, ...] = ()
    new_states: tuple[str, ...] = ()  # every state of the new version, in its order: the mapping's choices

    @property
    def findings(self) -> tuple[Finding, ...]:
        return self.states_removed + self.timers_changed

    @property
    def needs_mapping(self) -> list[str]:
        """Old states holding items that must be mapped to a state of the new version."""
        return [f.name for f in self.states_removed]

    @property
    def needs_transform(self) -> list[str]:
        return []

    @property
    def waiting(self) -> int:
        return sum(f.count for f in self.states_removed)


def likely_state(name: str, old_spec: dict, new_states: dict, old_states: dict) -> str:
    """The new state an item in removed state `name` most likely belongs in: one with the same
    title (a renamed key), else the closest name; '' when nothing is close."""
    titles = _titles(old_spec.get("title"))
    fresh = [s for s in new_states if s not in old_states]
    for pool in (fresh, list(new_states)):
        for candidate in pool:
            if titles & _titles(new_states[candidate].get("title")):
                return candidate
    return _closest(name, fresh) or _closest(name, new_states)


def flow_impact(old_flow: dict, new_flow: dict, waiting: dict[str, int]) -> FlowImpact:
    """How moving items waiting in `old_flow`'s states (state -> open items) to `new_flow` goes."""
    old_states, new_states = old_flow.get("states", {}), new_flow.get("states", {})
    removed, timers = [], []
    for name, count in waiting.items():
        if count <= 0:
            continue
        old_spec = old_states.get(name, {})
        if name not in new_states:
            target = likely_state(name, old_spec, new_states, old_states)
            message = (_msg("{count} item waits in state '{name}', which this version removes; likely '{target}'",
                            "{count} items wait in state '{name}', which this version removes; likely '{target}'",
                            name=name, target=target) if target else
                       _msg("{count} item waits in state '{name}', which this version removes",
                            "{count} items wait in state '{name}', which this version removes", name=name))
            removed.append(Finding("state_removed", name, count, target, message))
        elif _clock(old_spec) != _clock(new_states[name]):
            old_due, new_due = old_spec.get("due") or "—", new_states[name].get("due") or "—"
            if old_due != new_due:
                message = _msg("{count} item waits in state '{name}', whose time limit changes from {old} to {new}",
                               "{count} items wait in state '{name}', whose time limit changes from {old} to {new}",
                               name=name, old=old_due, new=new_due)
            else:
                message = _msg("{count} item waits in state '{name}', whose timers change",
                               "{count} items wait in state '{name}', whose timers change", name=name)
            timers.append(Finding("timer_changed", name, count, name, message))
    return FlowImpact(tuple(removed), tuple(timers), tuple(new_states))


# ---------------------------------------------------------------- forms


def _resolve(node: dict, shared: dict | None) -> dict:
    ref = node.get("$ref", "")
    if ref.startswith(SHARED_PREFIX) and shared and "#" in ref:
        name, fragment = ref[len(SHARED_PREFIX):].split("#", 1)
        target = shared.get(name, {})
        for token in fragment.strip("/").split("/"):
            target = target.get(token, {}) if isinstance(target, dict) else {}
        return {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def field_type(node: dict, shared: dict | None = None) -> str:
    """A field's type as compared between versions: its JSON type and format (e.g. "string/date");
    a `$ref` that cannot be resolved is compared by what it refers to."""
    node = _resolve(node, shared)
    kind = node.get("type") or infer_type(node) or (f"ref:{node['$ref']}" if "$ref" in node else "string")
    if isinstance(kind, list):
        kind = "|".join(kind)
    return f"{kind}/{node['format']}" if node.get("format") else kind


@dataclass(frozen=True)
class FormImpact:
    fields_removed: tuple[Finding, ...] = ()  # gone, no likely successor
    fields_renamed: tuple[Finding, ...] = ()  # gone, with a likely successor (suggestion)
    types_changed: tuple[Finding, ...] = ()
    newly_required: tuple[Finding, ...] = ()
    new_fields: tuple[str, ...] = ()  # every field of the new version, in its order: the rename choices

    @property
    def findings(self) -> tuple[Finding, ...]:
        return self.fields_removed + self.fields_renamed + self.types_changed + self.newly_required

    @property
    def needs_mapping(self) -> list[str]:
        return []

    @property
    def needs_transform(self) -> list[str]:
        """Old fields items have a value for and the new version lacks: rename each, or drop it."""
        return [f.name for f in self.fields_removed + self.fields_renamed]


def form_impact(old_schema: dict, new_schema: dict, filled: dict[str, int], *, total: int | None = None,
                old_shared: dict | None = None, new_shared: dict | None = None) -> FormImpact:
    """How moving items made under `old_schema` (field -> items with a value) to `new_schema` goes.

    `total` is the number of items (default: the largest count in `filled`); it tells how many
    lack a field that becomes required. `*_shared` resolve `$ref`s into forms_schemas/_shared/."""
    old_props, new_props = old_schema.get("properties", {}), new_schema.get("properties", {})
    total = max(filled.values(), default=0) if total is None else total
    old_order, new_order = list(old_props), list(new_props)
    added = [k for k in new_order if k not in old_props]
    old_types = {k: field_type(v, old_shared) for k, v in old_props.items()}
    new_types = {k: field_type(v, new_shared) for k, v in new_props.items()}
    removed, renamed, changed, required = [], [], [], []
    taken: set[str] = set()
    for name in old_order:
        count = filled.get(name, 0)
        if name in new_props:
            if count and old_types[name] != new_types[name]:
                changed.append(Finding("type_changed", name, count, "", _msg(
                    "field '{name}' changes type from {old} to {new}; {count} item has a value",
                    "field '{name}' changes type from {old} to {new}; {count} items have a value",
                    name=name, old=old_types[name], new=new_types[name])))
            continue
        if not count:
            continue
        successor = _successor(name, old_props[name], old_order.index(name), old_types[name], added, new_props,
                               new_order, new_types, taken)
        if successor:
            taken.add(successor)
            renamed.append(Finding("field_renamed", name, count, successor, _msg(
                "field '{name}' renamed to '{successor}'? {count} item has a value",
                "field '{name}' renamed to '{successor}'? {count} items have a value", name=name, successor=successor)))
        else:
            removed.append(Finding("field_removed", name, count, "", _msg(
                "field '{name}' is removed; {count} item has a value",
                "field '{name}' is removed; {count} items have a value", name=name)))
    old_required, new_required = set(old_schema.get("required", [])), new_schema.get("required", [])
    for name in new_required:
        if name in old_required:
            continue
        # a renamed field's values move along, so items lack the new key only if they lacked the old
        source = next((f.name for f in renamed if f.suggestion == name), name)
        lacking = total - filled.get(source, 0)
        if lacking > 0:
            required.append(Finding("newly_required", name, lacking, "", _msg(
                "field '{name}' becomes required; {count} item lacks it",
                "field '{name}' becomes required; {count} items lack it", name=name)))
    return FormImpact(tuple(removed), tuple(renamed), tuple(changed), tuple(required), tuple(new_order))


def _successor(name, node, position, kind, added, new_props, new_order, new_types, taken) -> str:
    """The new field that a removed one was probably renamed to: the same title; else the same type
    in the same position; else a close name of the same type."""
    candidates = [k for k in added if k not in taken]
    titles = _titles(node.get("title"))
    for candidate in candidates:
        if titles & _titles(new_props[candidate].get("title")):
            return candidate
    if position < len(new_order):
        candidate = new_order[position]
        if candidate in candidates and new_types[candidate] == kind:
            return candidate
    return _closest(name, [k for k in candidates if new_types[k] == kind])
