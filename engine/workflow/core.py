"""The workflow core: a published flow as a state machine, with no Django in it.

`compile_flow` turns a flow's checked data into frozen dataclasses once per version: states,
transitions, actors, guards (parsed), actions. `options` answers, for one item, one person and
the item's data, which transitions they may take and — for the others — why not. `take` applies
one, returning the new state and the effects to carry out (points, notifications, timers…);
the adapter (engine.workflow.adapter) persists them in one transaction.

Deny by default: a transition is open only to the actor it names. A wrong state is never
reported as a missing permission: `Refusal.reason` says which it is.

One exception to "only the actor it names", decided here and nowhere else: a step for a role
nobody holds where the item needs it (a vacancy) is not left waiting for ever. It goes to the
flow's `fallback` role for that actor when someone holds that one there, otherwise to the holders
of the community's admin roles (`StandIn`, `stand_in_at`). The adapter supplies who holds what
(`Facts.holders`, `Facts.admin_roles`); without them (the timer, a vote, a simulation) nobody
stands in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

from engine.definitions import guards
from engine.definitions.durations import Duration, parse_duration

from .inputs import check as inputs_check

DEFAULT_OPTIONS = ("yes", "no", "abstain")

# ---------------------------------------------------------------- the compiled flow


@dataclass(frozen=True)
class RoleActor:
    role: str
    scope: str = "community"  # community | submitter_unit | unit
    level: str = ""
    unit: str = ""
    fallback: str = ""  # the role that stands in when `role` is vacant (before the community's admin roles)


@dataclass(frozen=True)
class Actor:
    kind: str  # submitter | assignee | timer | vote | resident | public | role | all_of | any_of
    role: RoleActor | None = None
    members: tuple["Actor", ...] = ()


@dataclass(frozen=True)
class Vote:
    electorate: RoleActor
    options: tuple[str, ...]
    window: Duration
    quorum: Fraction
    option: str
    threshold: Fraction
    of: str  # cast | electorate
    strict: bool
    outcomes: dict = field(hash=False, compare=False)
    paper_ballots: bool = False
    max_proxies: int = 0


@dataclass(frozen=True)
class State:
    name: str
    title: Any
    final: bool = False
    due: Duration | None = None
    on_timeout: str = ""
    on_refused: str = ""  # the timer's fallback when its transition is refused (a post full…)
    notice: dict | None = field(default=None, hash=False, compare=False)
    vote: Vote | None = None
    remind: dict | None = field(default=None, hash=False, compare=False)


@dataclass(frozen=True)
class Transition:
    name: str
    sources: tuple[str, ...]
    target: str
    actor: Actor
    title: Any = ""
    guard: Any = None  # parsed guard AST
    guard_source: str = ""
    guard_message: Any = ""
    form: str = ""
    inputs: dict = field(default_factory=dict, hash=False, compare=False)
    comment: str = "optional"
    actions: tuple = ()


@dataclass(frozen=True)
class Flow:
    key: str
    form: str
    start: str
    states: dict = field(hash=False, compare=False)
    transitions: dict = field(hash=False, compare=False)

    def leaving(self, state: str) -> list[Transition]:
        return [t for t in self.transitions.values() if state in t.sources]

    @property
    def step_roles(self) -> frozenset:
        """Every role a step of the flow names, with the fallback roles: whose holders the facts
        of a vacancy need."""
        roles = set()
        for transition in self.transitions.values():
            for actor in role_actors(transition.actor):
                roles.add(actor.role)
                if actor.fallback:
                    roles.add(actor.fallback)
        return frozenset(roles)


def role_actors(actor: "Actor"):
    """The role actors inside an actor (the seats of a countersign, the options of any_of)."""
    if actor.kind == "role":
        yield actor.role
    for member in actor.members:
        yield from role_actors(member)


def ratio(value) -> Fraction:
    if isinstance(value, (int, float)):
        return Fraction(str(value))
    if value.endswith("%"):
        return Fraction(int(value[:-1]), 100)
    return Fraction(value)


def _role(spec) -> RoleActor:
    return RoleActor(spec["role"], spec.get("scope", "community"), spec.get("level", ""), spec.get("unit", ""),
                     spec.get("fallback", ""))


def role_actor(spec) -> RoleActor:
    """A role spec of a flow (a step's actor, a message's recipients) as a RoleActor."""
    return _role(spec)


def _actor(spec) -> Actor:
    if isinstance(spec, str):
        return Actor(spec)
    if "all_of" in spec:
        return Actor("all_of", members=tuple(_actor(s) for s in spec["all_of"]))
    if "any_of" in spec:
        return Actor("any_of", members=tuple(_actor(s) for s in spec["any_of"]))
    return Actor("role", role=_role(spec))


def compile_flow(data: dict) -> Flow:
    """A checked flow's data as a Flow; names were resolved by the linter, so nothing here fails."""
    states = {}
    for name, spec in data["states"].items():
        vote = None
        if "vote" in spec:
            v = spec["vote"]
            options = tuple(o["key"] for o in v.get("options", [])) or DEFAULT_OPTIONS
            vote = Vote(electorate=_role(v["electorate"]), options=options, window=parse_duration(v["window"]),
                        quorum=ratio(v["quorum"]), option=v["threshold"]["option"],
                        threshold=ratio(v["threshold"]["ratio"]), of=v["threshold"].get("of", "cast"),
                        strict=bool(v["threshold"].get("strict")), outcomes=dict(v["outcomes"]),
                        paper_ballots=bool(v.get("paper_ballots")),
                        max_proxies=v.get("proxies", {}).get("max_per_holder", 0))
        states[name] = State(name=name, title=spec["title"], final=bool(spec.get("final")),
                             due=parse_duration(spec["due"]) if "due" in spec else None,
                             on_timeout=spec.get("on_timeout", ""), on_refused=spec.get("on_refused", ""),
                             notice=spec.get("notice"), vote=vote,
                             remind=spec.get("remind"))
    transitions = {}
    for spec in data["transitions"]:
        sources = spec["from"] if isinstance(spec["from"], list) else [spec["from"]]
        transitions[spec["name"]] = Transition(
            name=spec["name"], sources=tuple(sources), target=spec["to"], actor=_actor(spec["by"]),
            title=spec.get("title", spec["name"]), guard=guards.parse(spec["guard"]) if "guard" in spec else None,
            guard_source=spec.get("guard", ""), guard_message=spec.get("guard_message", ""), form=spec.get("form", ""),
            inputs=dict(spec.get("input", {})), comment=spec.get("comment", "optional"),
            actions=tuple(spec.get("actions", ())))
    return Flow(key=data["flow"], form=data["form"], start=data["start"], states=states, transitions=transitions)


# ---------------------------------------------------------------- who is acting


@dataclass(frozen=True)
class Facts:
    """What the core needs to know about the person acting and the item.

    roles: (role, unit path) pairs the person holds; paths of covered units are listed too.
    item_units: level -> unit path, for the item's unit and each unit above it.
    holders: role -> paths of its current holders in the community (covered units too), for
      the roles the flow's steps name (Flow.step_roles); None when not known, and then nobody
      stands in for a vacant role. A role missing from it is not known either.
    admin_roles: the community's admin roles (community.yaml `admin: true`): whom a vacant
      step falls to in the end.
    """

    person: Any = None  # an id; None for the timer and for anonymous visitors
    authenticated: bool = False
    is_timer: bool = False
    is_submitter: bool = False
    is_assignee: bool = False
    in_community: bool = False
    roles: frozenset = frozenset()
    item_units: dict = field(default_factory=dict, hash=False, compare=False)
    units_by_key: dict = field(default_factory=dict, hash=False, compare=False)  # unit key -> path
    holders: Mapping | None = field(default=None, hash=False, compare=False)
    admin_roles: Iterable = field(default=frozenset(), hash=False, compare=False)
    # manages the community without holding its admin role (guardian's permission, a superuser)
    # while nobody holds its admin roles: the last to stand in, so a community with no secretary
    # yet still has someone to take a vacant step
    manages: Any = field(default=False, hash=False, compare=False)


def target_of(role: RoleActor, facts: Facts) -> str | None:
    """The path of the unit where a scoped role is sought for this item: the named unit, or the
    item's unit at `level`; None when there is none (an item with no unit, or none at that level).
    (Meaningless for scope community.)"""
    if role.scope == "unit":
        return facts.units_by_key.get(role.unit) or None
    return facts.item_units.get(role.level) or None


def held_at(paths: Iterable[str], target: str | None, scope: str = "submitter_unit") -> bool:
    """Do holders at `paths` hold a role at the unit `target`? The matching rule of every role
    step: a grant at a unit covers its subtree, so a holder whose unit is the target or lies
    under it matches, and so does one above it (a compound secretary acts for its grids). For
    scope community, any holder at all."""
    if scope == "community":
        return any(True for _ in paths)
    if not target:
        return False
    return any(path.startswith(target) or target.startswith(path) for path in paths)


def role_matches(role: RoleActor, facts: Facts) -> bool:
    """Does the person hold the role where the item needs it?"""
    held = [path for name, path in facts.roles if name == role.role]
    if not held:
        return False
    return held_at(held, None if role.scope == "community" else target_of(role, facts), role.scope)


@dataclass(frozen=True)
class StandIn:
    """Why a step came to someone who does not hold its role: `role` is vacant at `unit` (a
    path; "" for scope community, or when the item has no unit at the step's level), so `to`
    takes it — the flow's fallback role, or "" for the community's admin roles."""

    role: str
    scope: str
    level: str = ""
    unit: str = ""
    unit_key: str = ""  # scope unit: the unit the flow names
    to: str = ""


def stand_in_at(role: RoleActor, holders: Mapping | None, target: str | None) -> str | None:
    """Who takes a step for `role` at the unit `target`: None when someone holds the role there
    (or the holders are not known); the fallback role when `role` is vacant and the fallback is
    held there; "" (the community's admin roles) when both are vacant."""
    if holders is None:
        return None
    paths = holders.get(role.role)
    if paths is None:
        return None
    if held_at(paths, target, role.scope):
        return None
    if role.fallback:
        alternates = holders.get(role.fallback)
        if alternates is not None and held_at(alternates, target, role.scope):
            return role.fallback
    return ""


def vacancy(role: RoleActor, facts: Facts) -> StandIn | None:
    """The vacancy of `role` for this item, with who stands in; None when it is held (or unknown)."""
    target = None if role.scope == "community" else target_of(role, facts)
    to = stand_in_at(role, facts.holders, target)
    if to is None:
        return None
    return StandIn(role.role, role.scope, role.level, target or "", role.unit if role.scope == "unit" else "", to)


def stands_in(role: RoleActor, facts: Facts) -> StandIn | None:
    """The vacancy through which this person may take a step for `role` they do not hold there,
    or None. Someone who holds neither the fallback role nor an admin role never reads the
    holders (the adapter loads them only when asked)."""
    if facts.is_timer or not (facts.roles or facts.manages) or role_matches(role, facts):
        return None
    fallback = bool(role.fallback) and role_matches(replace(role, role=role.fallback, fallback=""), facts)
    admin = any(name in facts.admin_roles for name, _ in facts.roles) or bool(facts.manages)
    if not (fallback or admin):
        return None
    found = vacancy(role, facts)
    if found is None:
        return None
    if found.to:
        return found if fallback else None
    return found if admin else None


def stand_in_for(actor: Actor, facts: Facts) -> StandIn | None:
    """When this person may take a step only by standing in for a vacant role, the vacancy; None
    when they may take it in their own right (or not at all)."""
    if actor.kind == "role":
        return stands_in(actor.role, facts)
    if actor.kind == "any_of":
        if any(actor_matches(member, facts) and stand_in_for(member, facts) is None for member in actor.members):
            return None
        return next((found for found in (stand_in_for(member, facts) for member in actor.members) if found), None)
    return None


def actor_matches(actor: Actor, facts: Facts) -> bool:
    kind = actor.kind
    if kind == "timer":
        return facts.is_timer
    if kind == "vote":
        return False  # only a closed vote takes these (see tally)
    if facts.is_timer:
        return False
    if kind == "submitter":
        return facts.is_submitter
    if kind == "assignee":
        return facts.is_assignee
    if kind == "resident":
        return facts.authenticated and facts.in_community
    if kind == "public":
        return True
    if kind == "role":
        return role_matches(actor.role, facts) or stands_in(actor.role, facts) is not None
    if kind == "any_of":
        return any(actor_matches(member, facts) for member in actor.members)
    if kind == "all_of":
        return any(actor_matches(member, facts) for member in actor.members)
    return False


def open_seats(actor: Actor, facts: Facts, signatures: dict) -> list[int]:
    """For a countersign, the seats this person could still sign (each person signs once): the
    seats they hold in their own right first, then those they would sign standing in."""
    if facts.person in signatures.values():
        return []
    seats = [index for index, member in enumerate(actor.members)
             if str(index) not in signatures and actor_matches(member, facts)]
    return sorted(seats, key=lambda index: stand_in_for(actor.members[index], facts) is not None)


def standing_in(actor: Actor, facts: Facts, signatures: dict | None = None) -> StandIn | None:
    """The vacancy through which this person would take a transition with this actor (for a
    countersign, the seat they would sign), or None when in their own right."""
    if actor.kind == "all_of":
        seats = open_seats(actor, facts, signatures or {})
        return stand_in_for(actor.members[seats[0]], facts) if seats else None
    return stand_in_for(actor, facts)


# ---------------------------------------------------------------- options and taking one


@dataclass(frozen=True)
class Option:
    transition: Transition
    allowed: bool
    reason: str = ""  # "" | wrong_state | not_actor | guard | signed | final
    stand_in: StandIn | None = None  # allowed only because the person stands in for a vacant role


def options(flow: Flow, state: str, facts: Facts, data: dict, signatures: dict | None = None,
            inputs: dict | None = None) -> list[Option]:
    """Every transition of the flow, with whether this person may take it now and why not."""
    signatures = signatures or {}
    result = []
    for transition in flow.transitions.values():
        if state not in transition.sources:
            result.append(Option(transition, False, "wrong_state"))
            continue
        if transition.actor.kind == "all_of":
            seats = open_seats(transition.actor, facts, signatures.get(transition.name, {}))
            if not seats:
                signed = facts.person in signatures.get(transition.name, {}).values()
                result.append(Option(transition, False, "signed" if signed else "not_actor"))
                continue
        elif not actor_matches(transition.actor, facts):
            result.append(Option(transition, False, "not_actor"))
            continue
        if transition.guard is not None and not _guard_holds(transition, data, inputs):
            result.append(Option(transition, False, "guard"))
            continue
        result.append(Option(transition, True,
                             stand_in=standing_in(transition.actor, facts, signatures.get(transition.name, {}))))
    return result


def _guard_holds(transition, data, inputs):
    """A guard on what the actor will enter (input.x) cannot be judged before they enter it:
    it is offered, and checked when taken."""
    needs_input = any(name.path[0] == "input" for name in guards.names(transition.guard))
    if needs_input and inputs is None:
        return True
    return guards.truthy(guards.evaluate(transition.guard, data, inputs or {}))


class Refusal(Exception):
    """Why a transition cannot be taken: wrong_state, not_actor, input, guard, signed or unknown.
    For input, `errors` are the FieldErrors of what was entered (engine.workflow.inputs)."""

    def __init__(self, reason: str, transition: str, state: str, errors=()):
        super().__init__(f"{transition} from {state}: {reason}")
        self.reason, self.transition, self.state = reason, transition, state
        self.errors = list(errors)


def checked_inputs(transition: Transition, given: dict | None) -> tuple[dict, list]:
    """The transition's inline inputs checked by their kinds (engine.workflow.inputs): the values
    to keep and the errors. A transition that collects a form leaves its data to that form's
    schema (checked by the adapter), so it is kept as given."""
    if transition.form:
        return dict(given or {}), []
    kept, errors, _lookups = inputs_check(transition.inputs, given)
    return kept, errors


@dataclass(frozen=True)
class Outcome:
    transition: str
    source: str
    target: str | None  # None: a countersign still waits for other seats
    effects: tuple = ()
    signed_seat: int | None = None
    stand_in: StandIn | None = None  # taken by someone standing in for a vacant role


def take(flow: Flow, state: str, name: str, facts: Facts, data: dict, inputs: dict | None = None,
         signatures: dict | None = None) -> Outcome:
    """Take transition `name` from `state`, or raise Refusal saying why not."""
    transition = flow.transitions.get(name)
    if transition is None:
        raise Refusal("unknown", name, state)
    if state not in transition.sources:
        raise Refusal("wrong_state", name, state)
    seat = None
    if transition.actor.kind == "all_of":
        current = dict((signatures or {}).get(name, {}))
        seats = open_seats(transition.actor, facts, current)
        if not seats:
            raise Refusal("signed" if facts.person in current.values() else "not_actor", name, state)
        inputs = _inputs_or_refuse(transition, inputs, state)
        seat = seats[0]
        stand_in = stand_in_for(transition.actor.members[seat], facts)
        current[str(seat)] = facts.person
        if len(current) < len(transition.actor.members):
            return Outcome(name, state, None, (("countersigned", {"seat": seat}),), seat, stand_in)
    elif not actor_matches(transition.actor, facts):
        raise Refusal("not_actor", name, state)
    else:
        inputs = _inputs_or_refuse(transition, inputs, state)
        stand_in = stand_in_for(transition.actor, facts)
    if transition.guard is not None and not guards.truthy(guards.evaluate(transition.guard, data, inputs)):
        raise Refusal("guard", name, state)
    return Outcome(name, state, transition.target, effects_of(flow, transition, state), seat, stand_in)


def _inputs_or_refuse(transition: Transition, given: dict | None, state: str) -> dict:
    """What was entered, checked; None (a replayed or randomly walked path that records no
    inputs) is not judged — as a guard on input.x is not judged before it is entered."""
    if given is None:
        return {}
    kept, errors = checked_inputs(transition, given)
    if errors:
        raise Refusal("input", transition.name, state, errors)
    return kept


def effects_of(flow: Flow, transition: Transition, source: str) -> tuple:
    """What taking the transition sets off: its declared actions, then the target state's clocks."""
    effects = [(next(iter(action)), next(iter(action.values()))) for action in transition.actions]
    effects.append(("cancel_timers", {"state": source}))
    target = flow.states[transition.target]
    effects.extend(clocks(target))
    if target.final:
        effects.append(("finish", {"state": target.name}))
    return tuple(effects)


def clocks(target: State) -> list:
    """The timers a state starts when an item enters it: its deadline, a reminder before it,
    the end of a public notice, the close of a vote."""
    effects = []
    if target.due is not None:
        effects.append(("timer", {"after": target.due, "transition": target.on_timeout, "state": target.name}))
        if target.remind:
            effects.append(("timer", {"after": target.due, "remind_before": parse_duration(target.remind["before"]),
                                      "reminder": {"to": target.remind.get("to", "assignee"),
                                                   "message": target.remind.get("message", "")},
                                      "state": target.name}))
    if target.notice:
        effects.append(("publish_notice", {"state": target.name, "title": target.notice.get("announcement", "")}))
        effects.append(("timer", {"after": parse_duration(target.notice["period"]),
                                  "transition": target.notice["on_silence"], "state": target.name}))
    if target.vote is not None:
        effects.append(("open_vote", {"state": target.name}))
        effects.append(("timer", {"after": target.vote.window, "transition": "", "close_vote": True,
                                  "state": target.name}))
    return effects


# ---------------------------------------------------------------- votes


@dataclass(frozen=True)
class Tally:
    electorate: int
    cast: int
    counts: dict = field(hash=False, compare=False)
    quorum_met: bool = False
    passed: bool = False

    @property
    def outcome(self) -> str:
        if not self.quorum_met:
            return "no_quorum"
        return "passed" if self.passed else "failed"


def tally(vote: Vote, ballots: list[str], electorate: int) -> Tally:
    """Count ballots (one option each) against the quorum and the threshold."""
    counts = {option: 0 for option in vote.options}
    for choice in ballots:
        if choice in counts:
            counts[choice] += 1
    cast = sum(counts.values())
    quorum_met = electorate > 0 and Fraction(cast, electorate) >= vote.quorum
    base = cast if vote.of == "cast" else electorate
    share = Fraction(counts.get(vote.option, 0), base) if base else Fraction(0)
    passed = share > vote.threshold if vote.strict else share >= vote.threshold
    return Tally(electorate, cast, counts, quorum_met, quorum_met and passed)


def vote_outcome_transition(state: State, result: Tally) -> str:
    """The transition a closed vote takes: outcomes[passed|failed|no_quorum] (no_quorum falls back to failed)."""
    outcomes = state.vote.outcomes
    return outcomes.get(result.outcome) or outcomes["failed"]
