"""Lint of flow definitions: every name resolves, every state is reachable and has a way out,
every timer, notice and vote hands over to a transition that exists and is taken by the right
actor, every guard parses and reads real fields.

Input is a meta-valid flow document plus what it may refer to: its community's index and the
fields of the community's forms. Output is a list of problems; an empty list means the flow
can be published.
"""

from __future__ import annotations

from collections import deque

from . import guards
from .community import CommunityIndex, unknown
from .forms import FieldInfo
from .problems import suggest
from .sources import Document

DEFAULT_VOTE_OPTIONS = ("yes", "no", "abstain")
OBJECTORS = ("resident", "public")


def _sources(transition):
    source = transition["from"]
    return source if isinstance(source, list) else [source]


class FlowLinter:
    def __init__(self, doc: Document, community: CommunityIndex, forms: dict[str, dict[str, FieldInfo]], file_stem: str):
        self.doc = doc
        self.data = doc.data
        self.community = community
        self.forms = forms
        self.file_stem = file_stem
        self.problems = []
        self.states = self.data["states"]
        self.transitions = {}  # name -> (index, transition)
        self.form_fields = forms.get(self.data["form"]) or {}
        # a form that exists but is broken (reported in its own file): checks against it are skipped
        self.form_usable = forms.get(self.data["form"]) is not None
        self.unknown_states = False

    def problem(self, code, pointer, at_key=False, **params):
        self.problems.append(self.doc.problem(code, pointer, at_key=at_key, **params))

    def unknown(self, pointer, kind, name, candidates, at_key=False):
        if kind == "state":
            self.unknown_states = True
        self.problems.append(unknown(self.doc, pointer, kind, name, candidates, at_key=at_key))

    def run(self):
        data = self.data
        if data["flow"] != self.file_stem:
            self.problem("flow.name_mismatch", "/flow", name=data["flow"], file=self.file_stem)
        if data["form"] not in self.forms:
            self.unknown("/form", "form", data["form"], self.forms)
        if data["start"] not in self.states:
            self.unknown("/start", "state", data["start"], self.states)
        elif self.states[data["start"]].get("final"):
            self.problem("flow.start_final", "/start", state=data["start"])
        for i, transition in enumerate(data["transitions"]):
            name = transition["name"]
            if name in self.transitions:
                first = self.doc.locate(f"/transitions/{self.transitions[name][0]}/name")[0]
                self.problem("flow.duplicate_transition", f"/transitions/{i}/name", name=name, first_line=first)
                continue
            self.transitions[name] = (i, transition)
        for i, transition in enumerate(data["transitions"]):
            self.check_transition(i, transition)
        for name, state in self.states.items():
            self.check_state(name, state)
        if not self.unknown_states:
            self.check_graph()  # with a misspelt state the graph is wrong; the misspelling is the news
        return self.problems

    # -- transitions

    def check_transition(self, i, transition):
        here = f"/transitions/{i}"
        sources = _sources(transition)
        for j, source in enumerate(sources):
            if source not in self.states:
                pointer = f"{here}/from/{j}" if isinstance(transition["from"], list) else f"{here}/from"
                self.unknown(pointer, "state", source, self.states)
        if transition["to"] not in self.states:
            self.unknown(f"{here}/to", "state", transition["to"], self.states)
        self.check_actor(transition["by"], f"{here}/by", top=True)
        if transition["by"] == "assignee" and not self._assigns():
            self.problem("flow.assignee_never_set", f"{here}/by", transition=transition["name"])
        if "form" in transition and "input" in transition:
            self.problem("flow.input_and_form", f"{here}/form", transition=transition["name"])
        if "form" in transition and transition["form"] not in self.forms:
            self.unknown(f"{here}/form", "form", transition["form"], self.forms)
        for name, spec in transition.get("input", {}).items():
            if spec.get("role") and spec["role"] not in self.community.roles:
                self.unknown(f"{here}/input/{name}/role", "role", spec["role"], self.community.roles)
            # a setting that its kind would ignore is refused, not silently dropped
            if "role" in spec and spec["type"] != "person":
                self.problem("flow.input_setting", f"{here}/input/{name}/role", input=name, setting="role",
                             kind=spec["type"], expected="person")
            if "choices" in spec and spec["type"] != "choice":
                self.problem("flow.input_setting", f"{here}/input/{name}/choices", input=name, setting="choices",
                             kind=spec["type"], expected="choice")
            if spec["type"] == "choice" and not spec.get("choices"):
                self.problem("flow.choice_without_choices", f"{here}/input/{name}", input=name)
        if "guard" in transition:
            self.check_guard(transition, f"{here}/guard")
        for a, action in enumerate(transition.get("actions", [])):
            self.check_action(transition, action, f"{here}/actions/{a}")

    def _assigns(self):
        return any("assign" in action for t in self.data["transitions"] for action in t.get("actions", []))

    def check_actor(self, actor, pointer, top=False, in_countersign=False):
        if isinstance(actor, str):
            if in_countersign and actor not in ("submitter", "assignee"):
                self.problem("flow.countersign_nested", pointer)
            return
        if "all_of" in actor or "any_of" in actor:
            # A countersign (all_of) is a list of seats; a seat may be any_of several roles.
            key = "all_of" if "all_of" in actor else "any_of"
            if (key == "all_of" and not top) or (key == "any_of" and in_countersign == "in_seat"):
                self.problem("flow.countersign_nested", pointer)
                return
            if key == "all_of":
                inner = "seat"
            else:
                inner = "in_seat" if in_countersign == "seat" else False
            for k, sub in enumerate(actor[key]):
                self.check_actor(sub, f"{pointer}/{key}/{k}", in_countersign=inner)
            return
        self.check_role_actor(actor, pointer)

    def check_role_actor(self, actor, pointer):
        role = actor["role"]
        fallback = actor.get("fallback")
        if fallback is not None and fallback not in self.community.roles:
            self.unknown(f"{pointer}/fallback", "role", fallback, self.community.roles)
        elif fallback is not None and fallback == role:
            self.problem("flow.fallback_itself", f"{pointer}/fallback", role=role)
        if role not in self.community.roles:
            self.unknown(f"{pointer}/role", "role", role, self.community.roles)
            return
        scope = actor.get("scope", "community")
        level = actor.get("level")
        if level and level not in self.community.levels:
            self.unknown(f"{pointer}/level", "level", level, self.community.levels)
            return
        if scope == "submitter_unit" and not level:
            self.problem("flow.scope_level", pointer)
        if scope == "unit":
            unit = actor.get("unit")
            if not unit:
                self.problem("flow.scope_unit", pointer)
            elif unit not in self.community.units:
                self.unknown(f"{pointer}/unit", "unit", unit, self.community.units)
        role_level = self.community.roles[role]
        if role_level and role_level not in self.community.levels:
            return  # the community file reports the unknown level
        # A grant at a unit covers its subtree: the role must be held at `level` or below it.
        if level and role_level and self.community.level_index(role_level) < self.community.level_index(level):
            self.problem("flow.role_level", f"{pointer}/level", role=role, role_level=role_level, level=level)

    # -- references to the item's data

    def input_fields(self, transition) -> dict[str, FieldInfo] | None:
        """The inputs a transition collects; None when its form is missing or broken (reported elsewhere)."""
        if "form" in transition:
            return self.forms.get(transition["form"])
        kinds = {"text": "string", "number": "number", "date": "string", "boolean": "boolean", "choice": "string",
                 "person": "string", "unit": "string", "post": "string"}
        fmts = {"person": "person", "unit": "unit", "post": "post", "date": "date"}
        return {name: FieldInfo((name,), kinds[spec["type"]], fmts.get(spec["type"], ""), tuple(spec.get("choices", ())))
                for name, spec in transition.get("input", {}).items()}

    def resolve(self, transition, reference, pointer) -> FieldInfo | None:
        if reference.startswith("input."):
            name = reference[len("input."):]
            fields = self.input_fields(transition)
            if fields is None:
                return None
            if name not in fields:
                self.problem("flow.unknown_input", pointer, field=name, transition=transition["name"],
                             suggestion=suggest(name, fields))
                return None
            return fields[name]
        if reference not in self.form_fields:
            if self.form_usable:
                self.problem("flow.unknown_field", pointer, field=reference, form=self.data["form"],
                             suggestion=suggest(reference, self.form_fields))
            return None
        return self.form_fields[reference]

    def check_guard(self, transition, pointer):
        try:
            tree = guards.parse(transition["guard"])
        except guards.GuardSyntaxError as error:
            params = dict(error.params) if error.code == "guard.unknown_function" else {
                "position": error.position, "reason": error.reason}
            if error.code == "guard.unknown_function":
                params["suggestion"] = suggest(params["name"], guards.FUNCTIONS)
            self.problem(error.code, pointer, **params)
            return
        fields = {}
        for name in guards.names(tree):
            info = self.resolve(transition, name.dotted, pointer)
            if info is not None:
                fields[name] = info
        for comparison in guards.comparisons(tree):
            self.check_comparison(comparison, fields, pointer)

    def check_comparison(self, comparison, fields, pointer):
        for side, other in ((comparison.left, comparison.right), (comparison.right, comparison.left)):
            if not isinstance(side, guards.Name) or side not in fields:
                continue
            info = fields[side]
            literals = []
            if isinstance(other, guards.Literal):
                literals = [other.value]
            elif isinstance(other, guards.ListOf):
                literals = [item.value for item in other.items if isinstance(item, guards.Literal)]
            for value in literals:
                if value is None:
                    continue
                if not _comparable(info, value, comparison.op):
                    self.problem("guard.type", pointer, left=side.dotted, right=repr(value))
                elif info.choices and comparison.op in ("==", "!=", "in", "not in") and value not in info.choices:
                    self.problem("flow.choice_value", pointer, value=value, field=side.dotted,
                                 allowed=list(map(str, info.choices)), suggestion=suggest(value, info.choices))

    def check_reference(self, transition, reference, pointer, expected_format=None, expected_type=None):
        info = self.resolve(transition, reference, pointer)
        if info is None:
            return
        fmt = info.item_format if info.type == "array" else info.format
        if expected_format and fmt != expected_format:
            self.problem("flow.reference_kind", pointer, field=reference,
                         expected={"zh-hans": f" format: {expected_format} 的字段", "en": f"a field with format: {expected_format}"})
        if expected_type and info.type not in expected_type:
            self.problem("flow.reference_kind", pointer, field=reference,
                         expected={"zh-hans": "数字字段", "en": "a number field"})

    # -- actions

    def check_recipients(self, recipients, pointer):
        if isinstance(recipients, list):
            for k, item in enumerate(recipients):
                self.check_recipients(item, f"{pointer}/{k}")
        elif isinstance(recipients, dict):
            self.check_role_actor(recipients, pointer)

    def check_action(self, transition, action, pointer):
        (kind, spec), = action.items()
        here = f"{pointer}/{kind}"
        if kind in ("award_points", "deduct_points"):
            self.check_recipients(spec["to"], f"{here}/to")
            if "rule" in spec and spec["rule"] not in self.community.rules:
                self.unknown(f"{here}/rule", "points rule", spec["rule"], self.community.rules)
            if "category" in spec and spec["category"] not in self.community.categories:
                self.unknown(f"{here}/category", "points category", spec["category"], self.community.categories)
        elif kind == "notify":
            self.check_recipients(spec["to"], f"{here}/to")
        elif kind == "assign":
            target = spec["to"]
            if isinstance(target, dict):
                self.check_role_actor(target, f"{here}/to")
            elif target != "actor":
                self.check_reference(transition, target, f"{here}/to", expected_format="person")
        elif kind == "set":
            for name in spec:
                if name not in self.form_fields and self.form_usable:
                    self.problem("flow.unknown_field", f"{here}/{name}", at_key=True, field=name, form=self.data["form"],
                                 suggestion=suggest(name, self.form_fields))
        elif kind == "publish_announcement":
            for k, reference in enumerate(spec.get("include", [])):
                self.check_reference(transition, reference, f"{here}/include/{k}")
        elif kind == "publish_honour":
            roll = spec["roll"]
            if roll not in self.community.honour_rolls:
                self.unknown(f"{here}/roll", "honour roll", roll, self.community.honour_rolls)
            elif self.community.honour_rolls[roll] != self.data["flow"]:
                self.problem("flow.honour_person", f"{here}/roll", roll=roll)
            if "citation" in spec:
                self.check_reference(transition, spec["citation"], f"{here}/citation")
        elif kind in ("claim_post", "release_post"):
            self.check_reference(transition, spec["post"], f"{here}/post", expected_format="post")
            self.check_reference(transition, spec["unit"], f"{here}/unit", expected_format="unit")
        elif kind == "register_member":
            self.check_reference(transition, spec["unit"], f"{here}/unit", expected_format="unit")
            if "teams" in spec:
                self.check_reference(transition, spec["teams"], f"{here}/teams", expected_format="team")
        elif kind == "register_unit":
            self.check_reference(transition, spec["organisation"], f"{here}/organisation")
        elif kind in ("reserve_stock", "hand_out", "release_stock"):
            self.check_reference(transition, spec["item"], f"{here}/item", expected_format="store-item")
            if "quantity" in spec:
                self.check_reference(transition, spec["quantity"], f"{here}/quantity", expected_type=("integer",))

    # -- states

    def leaving(self, state):
        return [t for _, t in self.transitions.values() if state in _sources(t)]

    def check_hook(self, state, hook, name, pointer, actors):
        if name not in self.transitions:
            self.unknown(pointer, "transition", name, self.transitions)
            return
        transition = self.transitions[name][1]
        if state not in _sources(transition):
            self.problem("flow.hook_not_from_state", pointer, hook=hook, transition=name, state=state)
        elif actors and not (isinstance(transition["by"], str) and transition["by"] in actors) and not (
                "resident" in actors and isinstance(transition["by"], dict) and "role" in transition["by"]):
            self.problem("flow.hook_wrong_actor", pointer, hook=hook, transition=name, expected=" / ".join(actors))

    def check_state(self, name, state):
        here = f"/states/{name}"
        if "due" in state and "on_timeout" not in state:
            self.problem("flow.timer_no_target", f"{here}/due", state=name)
        if "on_timeout" in state:
            if "due" not in state:
                self.problem("flow.timeout_without_due", f"{here}/on_timeout", state=name)
            self.check_hook(name, "on_timeout", state["on_timeout"], f"{here}/on_timeout", ("timer",))
        if "remind" in state and "to" in state["remind"]:
            self.check_recipients(state["remind"]["to"], f"{here}/remind/to")
        if "notice" in state and "vote" in state:
            self.problem("flow.vote_and_notice", here, at_key=True, state=name)
        if "notice" in state:
            notice = state["notice"]
            self.check_hook(name, "on_objection", notice["on_objection"], f"{here}/notice/on_objection", OBJECTORS)
            self.check_hook(name, "on_silence", notice["on_silence"], f"{here}/notice/on_silence", ("timer",))
        if "vote" in state:
            self.check_vote(name, state["vote"], f"{here}/vote")
        if "on_refused" in state:
            self.check_on_refused(name, state, f"{here}/on_refused")
        hooks = self._hooked(name, state)
        for transition in self.leaving(name):
            actor = transition["by"]
            if actor in ("timer", "vote") and transition["name"] not in hooks.get(actor, ()):
                index = self.transitions[transition["name"]][0]
                hook = "due/on_timeout" if actor == "timer" else "vote/outcomes"
                self.problem("flow.auto_transition_unused", f"/transitions/{index}/by",
                             transition=transition["name"], actor=actor, state=name, hook=hook)

    def check_on_refused(self, name, state, pointer):
        """The fallback of a timer whose transition is refused: only where a timer takes one,
        taken by the timer from this state, and another transition than the refused one."""
        timed = {state.get("on_timeout"), state.get("notice", {}).get("on_silence")} - {None}
        if not timed:
            self.problem("flow.refused_without_timer", pointer, state=name)
            return
        if state["on_refused"] in timed:
            self.problem("flow.refused_same", pointer, state=name, transition=state["on_refused"])
            return
        self.check_hook(name, "on_refused", state["on_refused"], pointer, ("timer",))

    def _hooked(self, name, state):
        timer = ({state.get("on_timeout")} | {state.get("notice", {}).get("on_silence")}
                 | {state.get("on_refused")})
        vote = set(state.get("vote", {}).get("outcomes", {}).values())
        return {"timer": timer - {None}, "vote": vote}

    def check_vote(self, name, vote, pointer):
        electorate = vote.get("electorate")
        if not electorate:
            self.problem("flow.vote_no_electorate", pointer, state=name)
        else:
            self.check_role_actor(electorate, f"{pointer}/electorate")
        options = [o["key"] for o in vote.get("options", [])] or list(DEFAULT_VOTE_OPTIONS)
        if vote["threshold"]["option"] not in options:
            self.problem("flow.vote_option", f"{pointer}/threshold/option", option=vote["threshold"]["option"],
                         allowed=options, suggestion=suggest(vote["threshold"]["option"], options))
        for outcome, transition in vote["outcomes"].items():
            self.check_hook(name, f"outcomes.{outcome}", transition, f"{pointer}/outcomes/{outcome}", ("vote",))

    # -- the graph

    def check_graph(self):
        start = self.data["start"]
        if start not in self.states:
            return
        edges = {}
        for _, transition in self.transitions.values():
            for source in _sources(transition):
                edges.setdefault(source, set()).add(transition["to"])
        seen, queue = {start}, deque([start])
        while queue:
            for target in edges.get(queue.popleft(), ()):
                if target in self.states and target not in seen:
                    seen.add(target)
                    queue.append(target)
        finals = [name for name, state in self.states.items() if state.get("final")]
        if not finals:
            self.problem("flow.no_final", "/states", at_key=True)
        for name, state in self.states.items():
            here = f"/states/{name}"
            if name not in seen:
                self.problem("flow.unreachable", here, at_key=True, state=name, start=start)
            outgoing = self.leaving(name)
            if state.get("final"):
                for transition in outgoing:
                    index = self.transitions[transition["name"]][0]
                    self.problem("flow.final_has_exit", f"/transitions/{index}/from", state=name,
                                 transition=transition["name"])
            elif not outgoing:
                self.problem("flow.dead_end", here, at_key=True, state=name)


def _comparable(info: FieldInfo, value, op):
    kind = info.type
    if op in ("in", "not in") and kind == "array":
        kind = info.item_type or "string"
    if isinstance(value, bool):
        return kind == "boolean"
    if isinstance(value, (int, float)):
        return kind in ("integer", "number")
    if isinstance(value, str):
        return kind == "string"
    return True


def lint_flow(doc, community, forms, file_stem):
    return FlowLinter(doc, community, forms, file_stem).run()
