"""Dry runs of a flow: what a person could do at each step, why, and what it would set off.

The simulator owns three things, all pure (no Django, no database, no clock of its own):

* `explain` / `Simulation` — for a compiled flow, a sample item and a `Persona` (which roles the
  simulated person holds, whether they are the submitter or the assignee), every transition
  with whether it is open from the current state and, when closed, why: wrong state, not the
  actor, the guard (with its text), a countersign seat already signed, or a clock/vote that
  takes it. Taking one returns the effects *described in words* (zh-hans and en) and the next
  state. The decision is always `engine.workflow.core`'s; this module only narrates it.
* `sample_data` — a plausible, valid, deterministic submission for a form's JSON Schema.
* `replay` — a real item's recorded path, run against another version of its flow on a
  simulated clock, reporting the first place where the path would diverge (the transition is
  gone or no longer allowed, it leads elsewhere, a countersign would still wait) and where the
  deadlines would differ.

It must never carry an effect out: effects are tuples of data here, and nothing in this
module can write, notify or schedule. Role scopes (grid, compound) are taken as satisfied —
a simulated person holds each role where the item is — because the question asked is "what
does the flow allow", not "who lives where". For the same reason no role is ever vacant here:
a persona stands in for nobody (the engine's vacancy fallback needs the real holders); the
words of a role actor say whom the flow names as its fallback.
"""

from __future__ import annotations

import dataclasses
import datetime
from dataclasses import dataclass, field
from typing import Any, Iterable

from engine.definitions import guards
from engine.definitions.durations import Duration

from . import core
from .calendar import deadline

EN, ZH = "en", "zh-hans"
SIM_UNIT = "/simulated/"
SYSTEM_ACTORS = ("timer", "vote")

# ---------------------------------------------------------------- words


def _w(zh: str, en: str) -> dict:
    return {ZH: zh, EN: en}


def text_of(value, language: str = ZH) -> str:
    if isinstance(value, dict):
        if language.startswith("zh"):
            return str(value.get(ZH) or value.get(EN) or "")
        return str(value.get(EN) or value.get(ZH) or "")
    return "" if value is None else str(value)


@dataclass(frozen=True)
class Vocabulary:
    """Names from community.yaml, so that effects read "网格长" rather than "grid_leader".
    Optional: without it every name is shown by its key."""

    roles: dict = field(default_factory=dict)  # key -> title
    rules: dict = field(default_factory=dict)  # key -> {"points", "category", "title"}
    categories: dict = field(default_factory=dict)  # key -> title

    @classmethod
    def from_community(cls, data: dict | None) -> "Vocabulary":
        data = data or {}
        points = data.get("points") or {}
        return cls(roles={r["key"]: r.get("title", r["key"]) for r in data.get("roles", []) if isinstance(r, dict)},
                   rules={r["key"]: r for r in points.get("rules", []) if isinstance(r, dict)},
                   categories={c["key"]: c.get("title", c["key"]) for c in points.get("categories", [])
                               if isinstance(c, dict)})

    def role(self, key, language):
        title = text_of(self.roles.get(key), language)
        return f"{title} ({key})" if title and title != key else key

    def category(self, key, language):
        title = text_of(self.categories.get(key), language)
        return f"{title} ({key})" if title and title != key else key


def duration_words(duration: Duration) -> dict:
    zh_units = {"minutes": "分钟", "hours": "小时", "days": "天", "working_days": "个工作日", "weeks": "周"}
    en_units = {"minutes": "minute", "hours": "hour", "days": "day", "working_days": "working day", "weeks": "week"}
    en = f"{duration.count} {en_units[duration.unit]}{'' if duration.count == 1 else 's'}"
    return _w(f"{duration.count}{zh_units[duration.unit]}", en)


_PEOPLE = {"submitter": _w("提交人", "the submitter"), "assignee": _w("承办人", "the assignee"),
           "actor": _w("操作人", "the person acting"), "signers": _w("会签人", "the signers"),
           "voters": _w("投票人", "the voters")}


def recipients_words(spec, vocabulary: Vocabulary) -> dict:
    if isinstance(spec, list):
        parts = [recipients_words(item, vocabulary) for item in spec]
        return _w("、".join(p[ZH] for p in parts), ", ".join(p[EN] for p in parts))
    if isinstance(spec, dict) and "role" in spec:
        where = {"submitter_unit": _w(f"（提交人所在{spec.get('level', '')}）", f" (at the submitter's {spec.get('level', '')})"),
                 "unit": _w(f"（{spec.get('unit', '')}）", f" (at {spec.get('unit', '')})")}.get(
            spec.get("scope", "community"), _w("", ""))
        fallback = spec.get("fallback")
        # the engine's rule for a vacant role (engine.workflow.core.stand_in_at), said where the flow names a fallback
        vacant = _w(f"（空缺时由 {vocabulary.role(fallback, ZH)} 代办，再空缺时由社区管理员代办）",
                    f" (when vacant: {vocabulary.role(fallback, EN)}, then the community's admins)") if fallback \
            else _w("", "")
        return _w(f"角色 {vocabulary.role(spec['role'], ZH)}{where[ZH]}{vacant[ZH]}",
                  f"role {vocabulary.role(spec['role'], EN)}{where[EN]}{vacant[EN]}")
    if isinstance(spec, str) and spec in _PEOPLE:
        return _PEOPLE[spec]
    if isinstance(spec, str) and spec.startswith("input."):
        return _w(f"输入项 {spec[6:]} 中的人", f"the person entered as {spec[6:]}")
    return _w(str(spec), str(spec))


def actor_words(actor: core.Actor, vocabulary: Vocabulary) -> dict:
    if actor.kind == "role":
        role = actor.role
        return recipients_words({"role": role.role, "scope": role.scope, "level": role.level, "unit": role.unit,
                                 "fallback": role.fallback}, vocabulary)
    if actor.kind in ("all_of", "any_of"):
        parts = [actor_words(member, vocabulary) for member in actor.members]
        if actor.kind == "all_of":
            return _w("会签：" + " + ".join(p[ZH] for p in parts), "countersign: " + " + ".join(p[EN] for p in parts))
        return _w(" 或 ".join(p[ZH] for p in parts), " or ".join(p[EN] for p in parts))
    return {"timer": _w("到期自动（计时器）", "the clock (timer)"), "vote": _w("表决结果", "the vote's result"),
            "resident": _w("本社区居民", "any resident of the community"), "public": _w("任何人", "anyone"),
            **_PEOPLE}.get(actor.kind, _w(actor.kind, actor.kind))


def _at(moment: datetime.datetime | None) -> dict:
    if moment is None:
        return _w("", "")
    shown = moment.strftime("%Y-%m-%d %H:%M")
    return _w(f"（{shown}）", f" ({shown})")


def describe_effect(flow: core.Flow, kind: str, spec: dict, vocabulary: Vocabulary | None = None,
                    now: datetime.datetime | None = None) -> dict | None:
    """One effect in words, {"zh-hans": …, "en": …}; None for bookkeeping nobody needs to read."""
    vocabulary = vocabulary or Vocabulary()
    describe = _DESCRIBERS.get(kind)
    if describe is None:
        return _w(f"{kind}: {spec}", f"{kind}: {spec}")
    return describe(flow, spec, vocabulary, now)


def _points(sign_zh, sign_en):
    def describe(flow, spec, vocabulary, now):
        to = recipients_words(spec.get("to"), vocabulary)
        points, category = spec.get("points"), spec.get("category")
        rule = vocabulary.rules.get(spec.get("rule")) if spec.get("rule") else None
        if rule is not None:
            points = points if points is not None else rule.get("points")
            category = category or rule.get("category")
        amount = abs(points) if isinstance(points, (int, float)) else "?"
        via_zh = f"，规则 {spec['rule']}" if spec.get("rule") else ""
        via_en = f", rule {spec['rule']}" if spec.get("rule") else ""
        cat_zh = f"（类别 {vocabulary.category(category, ZH)}{via_zh}）" if category else (f"（{via_zh[1:]}）" if via_zh else "")
        cat_en = f" (category {vocabulary.category(category, EN)}{via_en})" if category else (f" ({via_en[2:]})" if via_en else "")
        if sign_en == "+":
            return _w(f"给{to[ZH]} +{amount} 积分{cat_zh}", f"+{amount} points to {to[EN]}{cat_en}")
        return _w(f"扣{to[ZH]} {amount} 积分{cat_zh}", f"−{amount} points from {to[EN]}{cat_en}")
    return describe


def _notify(flow, spec, vocabulary, now):
    to = recipients_words(spec.get("to"), vocabulary)
    message = spec.get("message", "")
    return _w(f"通知{to[ZH]}：{text_of(message, ZH)}", f"notify {to[EN]}: {text_of(message, EN)}")


def _assign(flow, spec, vocabulary, now):
    target = spec.get("to")
    who = _w("操作人本人", "the person acting") if target == "actor" else recipients_words(target, vocabulary)
    return _w(f"指定承办人：{who[ZH]}", f"assign to {who[EN]}")


def _set(flow, spec, vocabulary, now):
    pairs = ", ".join(f"{k} = {v!r}" for k, v in spec.items())
    return _w(f"修改字段：{pairs}", f"set {pairs}")


def _named(zh, en, *keys):
    def describe(flow, spec, vocabulary, now):
        values = [str(spec.get(k, "")) for k in keys]
        return _w(zh.format(*values), en.format(*values))
    return describe


def _announcement(flow, spec, vocabulary, now):
    title = spec.get("title", "")
    fields = ", ".join(spec.get("include", []))
    extra_zh = f"（包含 {fields}）" if fields else ""
    extra_en = f" (with {fields})" if fields else ""
    return _w(f"发布公告「{text_of(title, ZH)}」{extra_zh}", f"publish announcement “{text_of(title, EN)}”{extra_en}")


def _notice(flow, spec, vocabulary, now):
    title = spec.get("title", "")
    return _w(f"发布公示「{text_of(title, ZH)}」", f"publish public notice “{text_of(title, EN)}”")


def _timer(flow, spec, vocabulary, now):
    after: Duration = spec["after"]
    words = duration_words(after)
    due = deadline(now, after) if now is not None else None
    if spec.get("reminder"):
        before = duration_words(spec["remind_before"])
        to = recipients_words(spec["reminder"].get("to", "assignee"), vocabulary)
        return _w(f"到期前{before[ZH]}提醒{to[ZH]}", f"remind {to[EN]} {before[EN]} before the deadline")
    if spec.get("close_vote"):
        return _w(f"表决期限 {words[ZH]}{_at(due)[ZH]} → 计票", f"vote closes after {words[EN]}{_at(due)[EN]} → count")
    transition = flow.transitions.get(spec.get("transition", ""))
    name = spec.get("transition", "")
    title_zh = f"{text_of(transition.title, ZH)} ({name})" if transition else name
    title_en = f"{text_of(transition.title, EN)} ({name})" if transition else name
    return _w(f"期限 {words[ZH]}{_at(due)[ZH]} → {title_zh}", f"deadline {words[EN]}{_at(due)[EN]} → {title_en}")


def _open_vote(flow, spec, vocabulary, now):
    vote = flow.states[spec["state"]].vote
    role = vocabulary.role(vote.electorate.role, ZH), vocabulary.role(vote.electorate.role, EN)
    quorum, threshold = f"{float(vote.quorum):.0%}", f"{float(vote.threshold):.0%}"
    return _w(f"开始表决：选民为{role[0]}，法定人数 {quorum}，“{vote.option}” 达 {threshold} 通过",
              f"open the vote: electorate {role[1]}, quorum {quorum}, passes at {threshold} “{vote.option}”")


def _finish(flow, spec, vocabulary, now):
    title = flow.states[spec["state"]].title
    return _w(f"事项办结（{text_of(title, ZH)}）", f"the item is finished ({text_of(title, EN)})")


def _countersigned(flow, spec, vocabulary, now):
    seat = spec.get("seat", 0) + 1
    return _w(f"会签第 {seat} 席已签，等待其他会签人", f"seat {seat} of the countersign signed; waiting for the others")


_DESCRIBERS = {
    "award_points": _points("+", "+"),
    "deduct_points": _points("-", "-"),
    "notify": _notify,
    "assign": _assign,
    "set": _set,
    "publish_announcement": _announcement,
    "publish_notice": _notice,
    "publish_honour": _named("发布光荣榜条目（榜单 {0}）", "publish an honour-roll entry (roll {0})", "roll"),
    "claim_post": _named("认领岗位 {0}（{1}）", "claim the post {0} at {1}", "post", "unit"),
    "release_post": _named("释放岗位 {0}（{1}）", "release the post {0} at {1}", "post", "unit"),
    "register_member": _named("登记报到党员（{0}）", "register the member at {0}", "unit"),
    "register_unit": _named("登记共建单位 {0}", "register the partner organisation {0}", "organisation"),
    "reserve_stock": _named("预留积分超市物品 {0}", "reserve store item {0}", "item"),
    "hand_out": _named("发放已预留的物品", "hand out the reserved item"),
    "release_stock": _named("退回预留的物品", "release the reserved item"),
    "timer": _timer,
    "cancel_timers": lambda flow, spec, vocabulary, now: None,
    "open_vote": _open_vote,
    "finish": _finish,
    "countersigned": _countersigned,
}


# ---------------------------------------------------------------- who is simulated


@dataclass(frozen=True)
class Persona:
    """The simulated person: the roles they hold (scopes taken as satisfied) and their relation
    to the item. `system` is "timer" or "vote" for the clock or a closed vote."""

    roles: frozenset = frozenset()
    submitter: bool = False
    assignee: bool = False
    resident: bool = True
    system: str = ""

    @classmethod
    def of(cls, roles: Iterable[str] = (), **flags) -> "Persona":
        return cls(roles=frozenset(roles), **flags)

    @property
    def person(self) -> str:
        """A stable id per kind of person, so a countersign tells two personas apart."""
        parts = sorted(self.roles) + [k for k in ("submitter", "assignee") if getattr(self, k)]
        return "sim:" + ",".join(parts)

    def facts(self, flow: core.Flow) -> core.Facts:
        if self.system:
            return core.Facts(is_timer=True)
        levels, units = _places(flow)
        return core.Facts(person=self.person, authenticated=True, is_submitter=self.submitter,
                          is_assignee=self.assignee, in_community=self.resident,
                          roles=frozenset((role, SIM_UNIT) for role in self.roles),
                          item_units={level: SIM_UNIT for level in levels},
                          units_by_key={unit: SIM_UNIT for unit in units})

    def to_dict(self) -> dict:
        return {"roles": sorted(self.roles), "submitter": self.submitter, "assignee": self.assignee,
                "system": self.system}

    @classmethod
    def from_dict(cls, data: dict) -> "Persona":
        if not isinstance(data, dict):
            raise ValueError("a persona is an object")
        roles = data.get("roles", [])
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise ValueError("roles must be a list of names")
        system = data.get("system", "")
        if system not in ("", *SYSTEM_ACTORS):
            raise ValueError("system must be '', 'timer' or 'vote'")
        return cls(roles=frozenset(roles), submitter=bool(data.get("submitter")),
                   assignee=bool(data.get("assignee")), system=system)


def _places(flow: core.Flow):
    """Every level and unit key the flow's role actors name (each maps to the simulated unit)."""
    levels, units = set(), set()

    def visit(actor):
        if actor.role is not None:
            levels.add(actor.role.level)
            units.add(actor.role.unit)
        for member in actor.members:
            visit(member)

    for transition in flow.transitions.values():
        visit(transition.actor)
    return levels - {""}, units - {""}


# ---------------------------------------------------------------- explaining the options


@dataclass(frozen=True)
class Explained:
    """One transition seen from the current state by the simulated person."""

    name: str
    title: Any
    sources: tuple
    target: str
    allowed: bool
    reason: str  # "" | wrong_state | not_actor | guard | signed | final | timer | vote | needs_input
    why: dict  # {"zh-hans", "en"}
    actor: dict  # who may take it, in words
    guard: str = ""


def _reason_words(option: core.Option, flow: core.Flow, state: str, vocabulary: Vocabulary) -> dict:
    t = option.transition
    if option.reason == "wrong_state":
        sources = ", ".join(t.sources)
        return _w(f"当前状态是 {state}，此步骤只能从 {sources} 发起", f"the item is in {state}; this step leaves {sources} only")
    if option.reason == "not_actor":
        who = actor_words(t.actor, vocabulary)
        return _w(f"只有{who[ZH]}可以办理", f"only {who[EN]} may take it")
    if option.reason == "signed":
        return _w("您已签过这次会签", "you have already signed this countersign")
    if option.reason == "guard":
        message = t.guard_message
        extra_zh = f"：{text_of(message, ZH)}" if message else ""
        extra_en = f": {text_of(message, EN)}" if message else ""
        return _w(f"条件不满足 “{t.guard_source}”{extra_zh}", f"the guard “{t.guard_source}” is false{extra_en}")
    return _w("", "")


def explain(flow: core.Flow, state: str, persona: Persona, data: dict, signatures: dict | None = None,
            inputs: dict | None = None, vocabulary: Vocabulary | None = None) -> list[Explained]:
    """Every transition with whether `persona` may take it from `state`, and why (not).

    `inputs` maps a transition name to what the person would enter (sample inputs), so that a
    guard on `input.x` is judged on them; without an entry such a guard is judged when taken."""
    vocabulary = vocabulary or Vocabulary()
    inputs = inputs or {}
    facts = persona.facts(flow)
    result = []
    for option in core.options(flow, state, facts, data, signatures or {}):
        t = option.transition
        allowed, reason = option.allowed, option.reason
        if allowed and t.guard is not None and t.name in inputs:
            if not guards.truthy(guards.evaluate(t.guard, data, inputs[t.name])):
                allowed, reason = False, "guard"
        elif allowed and t.guard is not None and t.name not in inputs and _reads_input(t):
            reason = "needs_input"
        if not allowed and reason == "not_actor" and t.actor.kind in SYSTEM_ACTORS and not persona.system:
            reason = t.actor.kind
        why = _reason_words(core.Option(t, allowed, reason), flow, state, vocabulary)
        if reason == "timer":
            why = _w("到期时由计时器自动办理", "taken by the clock when the deadline passes")
        elif reason == "vote":
            why = _w("表决结束时按结果自动办理", "taken by the result when the vote closes")
        elif reason == "needs_input":
            why = _w(f"条件 “{t.guard_source}” 在填写后判断", f"the guard “{t.guard_source}” is judged on what is entered")
        if state in flow.states and flow.states[state].final and reason == "wrong_state":
            reason, why = "final", _w("事项已办结", "the item is finished")
        result.append(Explained(t.name, t.title, t.sources, t.target, allowed, reason, why,
                                actor_words(t.actor, vocabulary), t.guard_source))
    return result


def _reads_input(transition: core.Transition) -> bool:
    return any(name.path[0] == "input" for name in guards.names(transition.guard))


# ---------------------------------------------------------------- stepping through


@dataclass(frozen=True)
class Step:
    transition: str
    persona: Persona
    source: str
    target: str | None  # None: a countersign seat was signed, the item stays
    effects: tuple  # (kind, spec) as the core returns them
    words: tuple  # described effects, {"zh-hans", "en"} each
    at: datetime.datetime | None = None


class Simulation:
    """An item's walk through a flow, one step at a time, with nothing carried out.

    `clock` (optional) is the simulated "now" of the first step; each step may give its own
    moment (`at`), otherwise the clock stands still. Deadlines in the words are computed on it.
    """

    def __init__(self, flow: core.Flow, data: dict, *, vocabulary: Vocabulary | None = None,
                 inputs: dict | None = None, clock: datetime.datetime | None = None, state: str | None = None):
        self.flow = flow
        self.data = dict(data or {})
        self.vocabulary = vocabulary or Vocabulary()
        self.inputs = dict(inputs or {})
        self.clock = clock
        self.state = state or flow.start
        self.signatures: dict = {}
        self.steps: list[Step] = []
        self.entered_at = clock

    @property
    def finished(self) -> bool:
        return self.flow.states[self.state].final

    def options(self, persona: Persona) -> list[Explained]:
        return explain(self.flow, self.state, persona, self.data, self.signatures, self.inputs, self.vocabulary)

    def start_words(self) -> list[dict]:
        """What entering the start state sets off (its clocks)."""
        return [w for w in (describe_effect(self.flow, k, s, self.vocabulary, self.clock)
                            for k, s in core.clocks(self.flow.states[self.flow.start])) if w]

    def step(self, name: str, persona: Persona, inputs: dict | None = None,
             at: datetime.datetime | None = None) -> Step:
        """Take `name` as `persona`, or raise core.Refusal saying why not. A timer or vote
        transition is taken with `Persona(system=...)`."""
        transition = self.flow.transitions.get(name)
        if transition is None:
            raise core.Refusal("unknown", name, self.state)
        if at is not None:
            self.clock = at
        given = inputs if inputs is not None else self.inputs.get(name, {})
        if transition.actor.kind == "vote":
            if persona.system != "vote":
                raise core.Refusal("not_actor", name, self.state)
            if self.state not in transition.sources:
                raise core.Refusal("wrong_state", name, self.state)
            outcome = core.Outcome(name, self.state, transition.target,
                                   core.effects_of(self.flow, transition, self.state))
        else:
            outcome = core.take(self.flow, self.state, name, persona.facts(self.flow), self.data, given,
                                self.signatures)
        if outcome.target is None:
            self.signatures.setdefault(name, {})[str(outcome.signed_seat)] = persona.person
        else:
            self.signatures.pop(name, None)
            self.state = outcome.target
            self.entered_at = self.clock
            for kind, spec in outcome.effects:
                if kind == "set":
                    self.data.update(spec)
        words = tuple(w for w in (describe_effect(self.flow, k, s, self.vocabulary, self.clock)
                                  for k, s in outcome.effects) if w)
        step = Step(name, persona, outcome.source, outcome.target, outcome.effects, words, self.clock)
        self.steps.append(step)
        return step

    def walk(self, path: Iterable[tuple[str, Persona]]) -> "Simulation":
        for name, persona in path:
            self.step(name, persona)
        return self


# ---------------------------------------------------------------- sample data


def sample_inputs(transition: core.Transition, forms: dict | None = None, shared: dict | None = None,
                  names: dict | None = None) -> dict:
    """What a person would plausibly enter for a transition: its form's sample, or one value per
    inline input (the first choice; a person is a placeholder id)."""
    if transition.form:
        schema = (forms or {}).get(transition.form)
        return sample_data(schema, shared, names) if schema else {}
    values = {"text": "示例", "number": 1, "date": "2025-01-06", "boolean": True, "person": "1",
              "unit": "", "post": ""}
    result = {}
    for key, spec in transition.inputs.items():
        kind = spec.get("type", "text")
        if kind == "choice" and spec.get("choices"):
            result[key] = spec["choices"][0]
        elif kind in ("unit", "post"):
            result[key] = ((names or {}).get(kind) or ["?"])[0]
        else:
            result[key] = values.get(kind, "示例")
    return result


_PATTERN_SAMPLES = {
    "^1[3-9][0-9]{9}$": "13800138000",
    r"^1[3-9]\d{9}$": "13800138000",
}
_FORMAT_SAMPLES = {
    "date": "2025-01-06", "date-time": "2025-01-06T09:00:00+08:00", "time": "09:00:00",
    "email": "resident@example.com", "uri": "https://example.com/", "cn-id-card": "11010519491231002X",
    "file": "00000000000000000000000000000000",  # shaped like an upload's token; no file behind it
    # names from community.yaml, when the caller gives none
    "unit": "sample_unit", "post": "sample_post", "store-item": "sample_item", "team": "sample_team",
}


def sample_data(form_schema: dict, shared: dict | None = None, names: dict | None = None) -> dict:
    """A plausible submission that the form's schema accepts, always the same for the same schema.

    `shared` maps a shared file's name (e.g. "defs.json") to its content, for `../_shared/`
    references; `names` maps a name format (unit, post, store-item, team) to the community's
    keys, for fields whose values are names from community.yaml."""
    generator = _Sampler(form_schema or {}, shared or {}, names or {})
    value = generator.value(form_schema or {}, form_schema or {}, "")
    return value if isinstance(value, dict) else {}


class _Sampler:
    """Deterministic values: a default, example or const where the author gave one; else the
    first choice; else the smallest value the keywords allow. Every property is filled (optional
    ones too), so conditional `required`s are met; `if/then` branches that match are applied."""

    MAX_DEPTH = 12

    def __init__(self, root, shared, names):
        self.root, self.shared, self.names = root, shared, names

    def resolve(self, node, document, depth=0):
        while isinstance(node, dict) and "$ref" in node and depth < self.MAX_DEPTH:
            ref = node["$ref"]
            target_doc = document
            location, _, fragment = ref.partition("#")
            if location:
                name = location.rsplit("/", 1)[-1]
                target_doc = self.shared.get(name, {})
            target = target_doc
            for part in [p for p in fragment.split("/") if p]:
                target = target.get(part.replace("~1", "/").replace("~0", "~"), {}) if isinstance(target, dict) else {}
            merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
            node, document, depth = merged, target_doc, depth + 1
        return node, document

    def value(self, node, document, name, depth=0):
        node, document = self.resolve(node, document)
        if not isinstance(node, dict) or depth > self.MAX_DEPTH:
            return None
        for key in ("const", "default"):
            if key in node:
                return node[key]
        if node.get("examples"):
            return node["examples"][0]
        if node.get("enum"):
            return node["enum"][0]
        for key in ("oneOf", "anyOf"):
            for branch in node.get(key, []):
                branch, _ = self.resolve(branch, document)
                if isinstance(branch, dict) and "const" in branch:
                    return branch["const"]
        kind = node.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind is None:
            kind = "object" if "properties" in node else "array" if "items" in node else "string"
        return getattr(self, f"sample_{kind}", self.sample_string)(node, document, name, depth)

    def sample_object(self, node, document, name, depth):
        result = {}
        for key, sub in (node.get("properties") or {}).items():
            value = self.value(sub, document, key, depth + 1)
            if value is not None:
                result[key] = value
        for condition in node.get("allOf", []):
            condition, _ = self.resolve(condition, document)
            if isinstance(condition, dict) and "if" in condition and "then" in condition:
                if self.matches(condition["if"], result):
                    then, _ = self.resolve(condition["then"], document)
                    for key, sub in (then.get("properties") or {}).items():
                        base = (node.get("properties") or {}).get(key, {})
                        base, _ = self.resolve(base, document)
                        value = self.value({**base, **sub}, document, key, depth + 1)
                        if value is not None:
                            result[key] = value
        return result

    def matches(self, condition, data):
        """A simple `if`: property const/enum tests (what the form linter accepts as a condition)."""
        if not isinstance(condition, dict):
            return False
        for key in condition.get("required", []):
            if key not in data:
                return False
        for key, test in (condition.get("properties") or {}).items():
            if key not in data or not isinstance(test, dict):
                continue
            if "const" in test and data[key] != test["const"]:
                return False
            if "enum" in test and data[key] not in test["enum"]:
                return False
        return True

    def sample_array(self, node, document, name, depth):
        count = node.get("minItems", 0)
        items = node.get("items", {})
        resolved, _ = self.resolve(items, document)
        if count == 0:
            return []
        choices = []
        if isinstance(resolved, dict):
            choices = list(resolved.get("enum", [])) or [b.get("const") for b in resolved.get("oneOf", [])
                                                         if isinstance(b, dict) and "const" in b]
            if not choices and resolved.get("format") in self.names:
                choices = list(self.names[resolved["format"]])
        if choices:
            return choices[:count] if len(choices) >= count else choices + choices[: count - len(choices)]
        return [self.value(items, document, name, depth + 1) for _ in range(count)]

    def sample_string(self, node, document, name, depth):
        fmt = node.get("format", "")
        if fmt in self.names and self.names[fmt]:
            return list(self.names[fmt])[0]
        if fmt in _FORMAT_SAMPLES:
            return _FORMAT_SAMPLES[fmt]
        if node.get("pattern") in _PATTERN_SAMPLES:
            return _PATTERN_SAMPLES[node["pattern"]]
        minimum, maximum = node.get("minLength", 0), node.get("maxLength", 40)
        title = text_of(node.get("title"), ZH) or name or "示例"
        value = f"示例{title}"
        while len(value) < minimum:
            value += "。这是模拟填写的内容"
        return value[:max(maximum, minimum)] if maximum else value

    def sample_integer(self, node, document, name, depth):
        return int(self._number(node, 1))

    def sample_number(self, node, document, name, depth):
        return self._number(node, 1)

    def _number(self, node, fallback):
        if "minimum" in node:
            return node["minimum"]
        if "exclusiveMinimum" in node:
            return node["exclusiveMinimum"] + 1
        if "maximum" in node:
            return min(node["maximum"], fallback)
        return fallback

    def sample_boolean(self, node, document, name, depth):
        return True

    def sample_null(self, node, document, name, depth):
        return None


# ---------------------------------------------------------------- shadow replay


@dataclass(frozen=True)
class Recorded:
    """One step an item really took: which transition, who (their roles, whether submitter or
    assignee; kind "timer" or "vote" for the system), when, and where it led."""

    transition: str
    roles: frozenset = frozenset()
    at: datetime.datetime | None = None
    kind: str = "person"  # person | timer | vote
    to_state: str | None = None  # "" for a countersign seat; None when not recorded
    submitter: bool = False
    assignee: bool = False
    actor: Any = None  # an id, to tell countersigners apart
    inputs: dict = field(default_factory=dict, hash=False, compare=False)

    @classmethod
    def of(cls, step) -> "Recorded":
        if isinstance(step, Recorded):
            return step
        transition, roles, at = step[:3]
        return cls(transition, frozenset(roles or ()), at)

    def persona(self) -> Persona:
        if self.kind in SYSTEM_ACTORS:
            return Persona(system=self.kind)
        return Persona(roles=frozenset(self.roles), submitter=self.submitter, assignee=self.assignee)


@dataclass(frozen=True)
class Divergence:
    index: int  # which recorded step (0-based); -1 for the start
    kind: str  # missing | not_allowed | wrong_state | target | countersign | deadline | overtaken | state
    transition: str
    words: dict  # {"zh-hans", "en"}
    fatal: bool = True


@dataclass
class ReplayResult:
    path: list = field(default_factory=list)  # (transition, source, target) the draft would take
    divergences: list = field(default_factory=list)

    @property
    def diverged(self) -> bool:
        return bool(self.divergences)


def _deadline_of(state: core.State | None, entered: datetime.datetime | None):
    """(transition the clock takes, moment) for a state's deadline, or None."""
    if state is None or entered is None:
        return None
    for kind, spec in core.clocks(state):
        if kind == "timer" and not spec.get("reminder") and (spec.get("transition") or spec.get("close_vote")):
            return spec.get("transition") or "(vote)", deadline(entered, spec["after"])
    return None


def _moment(value: datetime.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "—"


def replay(flow_data: dict, history: Iterable, clock: datetime.datetime, *, data: dict | None = None,
           baseline: dict | None = None) -> ReplayResult:
    """Run a real item's recorded path against `flow_data` (a draft or another version).

    `clock` is when the item started (entered the start state); each recorded step carries its
    own moment, and the simulated clock follows them. `baseline` is the flow data the item really
    ran under: with it, each state's deadline under the draft is compared with the real one.
    The first divergence of the path ends the replay (what follows would no longer mean
    anything); differing deadlines along the way are reported without ending it."""
    flow = flow_data if isinstance(flow_data, core.Flow) else core.compile_flow(flow_data)
    base = None
    if baseline is not None:
        base = baseline if isinstance(baseline, core.Flow) else core.compile_flow(baseline)
    data = data or {}
    result = ReplayResult()
    state, entered, signatures = flow.start, clock, {}
    base_state = base.start if base else None
    if base is not None and base.start != flow.start:
        result.divergences.append(Divergence(-1, "state", "", _w(
            f"起始状态由 {base.start} 改为 {flow.start}", f"the start state changes from {base.start} to {flow.start}")))
        return result

    def compare_deadlines(index, name):
        """On entering a state: the draft's deadline against the one the item really had."""
        if base is None:
            return
        draft_due = _deadline_of(flow.states.get(state), entered)
        base_due = _deadline_of(base.states.get(base_state), entered)
        if draft_due != base_due:
            before, after = _moment(base_due and base_due[1]), _moment(draft_due and draft_due[1])
            then_base, then_draft = (base_due or ("—",))[0], (draft_due or ("—",))[0]
            result.divergences.append(Divergence(index, "deadline", name, _w(
                f"状态 {state} 的期限：{before} → {then_base} 改为 {after} → {then_draft}",
                f"deadline of {state}: {before} → {then_base} becomes {after} → {then_draft}"), fatal=False))

    compare_deadlines(-1, "")
    for index, raw in enumerate(history):
        step = Recorded.of(raw)
        name, at = step.transition, step.at or entered
        # under the draft, would the clock have moved the item before this step was taken?
        draft_due = _deadline_of(flow.states.get(state), entered)
        base_due = _deadline_of(base.states.get(base_state), entered) if base is not None else None
        if draft_due and step.kind != "timer" and at > draft_due[1] and not (base_due and at > base_due[1]):
            result.divergences.append(Divergence(index, "overtaken", name, _w(
                f"按草稿，{_moment(draft_due[1])} 到期时计时器会先办理 {draft_due[0]}，而不是 {_moment(at)} 的 {name}",
                f"under the draft the deadline ({_moment(draft_due[1])}) passes first and the clock takes "
                f"{draft_due[0]}, not {name} at {_moment(at)}")))
            return result
        if step.kind == "timer" and (draft_due is None or draft_due[0] != name):
            result.divergences.append(Divergence(index, "no_timer", name, _w(
                f"按草稿，状态 {state} 没有到期后办理 {name} 的期限", f"under the draft no deadline in {state} takes {name}")))
            return result
        transition = flow.transitions.get(name)
        if transition is None:
            result.divergences.append(Divergence(index, "missing", name, _w(
                f"草稿中没有步骤 {name}", f"the draft has no transition {name}")))
            return result
        if state not in transition.sources:
            result.divergences.append(Divergence(index, "wrong_state", name, _w(
                f"草稿中 {name} 不能从状态 {state} 发起（只能从 {', '.join(transition.sources)}）",
                f"in the draft {name} does not leave {state} (only {', '.join(transition.sources)})")))
            return result
        persona = step.persona()
        try:
            if step.kind == "vote":
                if transition.actor.kind != "vote":
                    raise core.Refusal("not_actor", name, state)
                outcome = core.Outcome(name, state, transition.target, core.effects_of(flow, transition, state))
            else:
                facts = persona.facts(flow)
                if step.actor is not None and not persona.system:
                    facts = dataclasses.replace(facts, person=step.actor)
                outcome = core.take(flow, state, name, facts, data, step.inputs or None, signatures)
        except core.Refusal as refusal:
            words = {
                "not_actor": _w(f"草稿中 {name} 只能由{actor_words(transition.actor, Vocabulary())[ZH]}办理，原办理人不在其中",
                                f"in the draft {name} is for {actor_words(transition.actor, Vocabulary())[EN]}; "
                                f"the person who took it is no longer allowed"),
                "guard": _w(f"草稿中 {name} 的条件 “{transition.guard_source}” 不成立",
                            f"in the draft the guard of {name} (“{transition.guard_source}”) is false"),
                "signed": _w(f"{name}：同一人已签过", f"{name}: the same person already signed"),
            }.get(refusal.reason, _w(refusal.reason, refusal.reason))
            result.divergences.append(Divergence(index, "not_allowed", name, words))
            return result
        if outcome.target is None:
            signatures.setdefault(name, {})[str(outcome.signed_seat)] = step.actor
            if step.to_state:  # really the last seat: the draft still waits
                waiting = len(transition.actor.members) - len(signatures[name])
                result.divergences.append(Divergence(index, "countersign", name, _w(
                    f"草稿中 {name} 还需要 {waiting} 人会签", f"in the draft {name} still waits for {waiting} more signature(s)")))
                return result
            result.path.append((name, state, None))
            continue
        signatures.pop(name, None)
        if step.to_state and outcome.target != step.to_state:
            result.divergences.append(Divergence(index, "target", name, _w(
                f"{name} 原来进入 {step.to_state}，按草稿进入 {outcome.target}",
                f"{name} led to {step.to_state}; under the draft it leads to {outcome.target}")))
            return result
        result.path.append((name, state, outcome.target))
        state, entered = outcome.target, at
        if base is not None:
            base_t = base.transitions.get(name)
            base_state = base_t.target if base_t else outcome.target
        compare_deadlines(index, name)
    return result


def flow_sample_inputs(flow: core.Flow, forms: dict | None = None, shared: dict | None = None,
                       names: dict | None = None) -> dict:
    """Sample inputs for every transition that collects some, keyed by transition name."""
    result = {}
    for transition in flow.transitions.values():
        if transition.form or transition.inputs:
            result[transition.name] = sample_inputs(transition, forms, shared, names)
    return result
