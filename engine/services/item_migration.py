"""Moving in-flight items onto another version of their flow or form — one action, audited.

A published version is immutable and an item keeps its version until someone decides
otherwise; this module is that decision. The pure comparison lives in
`engine.definitions.impact`; here are the counts from the database, the form a person fills in
to say where items go, and the one write path. The admin's migration page and the editor's
publish page both call it, so they behave the same.

Stable API (the publish page relies on these signatures):

``impact_of(definition, new_data, *, to_version=None, new_shared=None) -> Impact``
    What moving the open items of a flow or form `Definition` onto a version whose definition
    data is `new_data` would change: per older version, how many open items it holds and the
    findings of `flow_impact` / `form_impact`; `needs_mapping` (old states holding items that
    the new version lacks) and `needs_transform` (old fields items filled that it lacks).
    Items already on `to_version` are not counted; without `to_version`, the live version is
    left out when its data is `new_data` (the page after publishing) and counted otherwise
    (the page before publishing: its items would be left behind).

``MigrationForm(impact, data=None)``
    A Django form with one required choice per state needing a mapping (the new version's
    states) and per field needing a transform (a field of the new version, or drop). Once
    valid, `state_map()` and `field_map()` give the arguments of `migrate`.

``migrate(definition, to_version, *, state_map=None, field_map=None, user=None) -> MigrationReport``
    In one transaction, moves every open item (an unfinished flow instance) of `definition`'s
    other versions onto `to_version`. A flow item keeps its state, or goes where `state_map`
    ({old state: new state}) says; a form item's data is renamed/dropped by `field_map`
    ({old field: new field, or "" to drop}) and must pass the new schema. One AuditEvent per
    item (transition "migrate:vN"). Raises `MigrationRefused` — and writes nothing — when a
    mapping is missing or names an unknown state or field, or when any item would not be
    valid under the new version (the message names the item's reference and the field).

Concurrency: the definition row is locked (two migrations queue), every instance is read
with SELECT … FOR UPDATE and written with a conditional UPDATE on its `version`, bumping it,
exactly as a transition is. An item that took a transition between our read and our write is
read again and moved from where it now is, never skipped; a transition that read the item
before we moved it fails as "moved on" (409) instead of acting on the old version.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django import forms
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_noop

from engine.definitions.impact import Finding, FlowImpact, FormImpact, flow_impact, form_impact
from engine.definitions.problems import LinliError
from engine.forms.registry import form_spec
from engine.forms.validation import validate
from engine.models import AuditEvent, Definition, DefinitionVersion, FlowInstance, Submission, Timer
from engine.workflow import adapter, core

DROP = "-"  # the form's value for "drop this field": no field key can be spelt so
MAX_RETRIES = 5


class MigrationRefused(LinliError):
    """Nothing was migrated; `problems` says why, each told in the reader's language."""

    def __init__(self, problems: list["_Problem"]):
        self.problems = problems
        super().__init__("; ".join(p.text("en") for p in problems))

    def texts(self, language="zh-hans") -> list[str]:
        return [p.text(language) for p in self.problems]


class _Problem:
    """One reason a migration was refused: an English msgid (its Chinese in the catalogue) and its
    parameters; a parameter with a `text(language)` (a field error) is told in the same language."""

    def __init__(self, message, **params):
        self.message, self.params = message, params

    def text(self, language="zh-hans") -> str:
        with translation.override(language or "zh-hans"):
            return gettext(self.message).format(**{
                key: value.text(language) if hasattr(value, "text") else value for key, value in self.params.items()})


def _problem(message, **params):
    return _Problem(message, **params)


# ---------------------------------------------------------------- impact


@dataclass
class VersionImpact:
    version: DefinitionVersion
    count: int  # open items on it
    impact: FlowImpact | FormImpact


@dataclass
class Impact:
    definition: Definition
    versions: list[VersionImpact]
    choices: tuple[str, ...]  # the new version's states (flow) or the fields one may rename to (form)

    @property
    def open_items(self) -> int:
        return sum(v.count for v in self.versions)

    @property
    def findings(self) -> list[Finding]:
        return [f for v in self.versions for f in v.impact.findings]

    def _needs(self, attribute) -> dict[str, Finding]:
        """Old name -> a finding for it (counts summed over versions, the first suggestion kept)."""
        found: dict[str, Finding] = {}
        for v in self.versions:
            by_name = {f.name: f for f in v.impact.findings}
            for name in getattr(v.impact, attribute):
                f = by_name[name]
                if name in found:
                    first = found[name]
                    f = Finding(first.kind, name, first.count + f.count, first.suggestion or f.suggestion,
                                first.message)
                found[name] = f
        return found

    @property
    def needs_mapping(self) -> dict[str, Finding]:
        return self._needs("needs_mapping")

    @property
    def needs_transform(self) -> dict[str, Finding]:
        return self._needs("needs_transform")


def _open_instances(definition: Definition):
    if definition.kind == Definition.Kind.FLOW:
        return FlowInstance.objects.filter(flow=definition, finished_at__isnull=True)
    return FlowInstance.objects.filter(submission__form=definition, finished_at__isnull=True)


def impact_of(definition: Definition, new_data: dict, *, to_version: DefinitionVersion | None = None,
              new_shared: dict | None = None) -> Impact:
    """See the module docstring. Two or three queries per older version holding items."""
    if definition.kind not in (Definition.Kind.FLOW, Definition.Kind.FORM):
        raise ValueError("only flows and forms have items in flight")
    live = definition.live_version
    if to_version is None and live is not None and live.data == new_data:
        to_version = live
    versions = {v.pk: v for v in definition.versions.all()}
    result = []
    if definition.kind == Definition.Kind.FLOW:
        rows = (_open_instances(definition).exclude(flow_version=to_version).values_list("flow_version", "state")
                .annotate(n=Count("id")).order_by())
        waiting: dict[int, dict[str, int]] = {}
        for version_id, state, count in rows:
            waiting.setdefault(version_id, {})[state] = count
        for version_id, states in sorted(waiting.items(), key=lambda item: versions[item[0]].number):
            version = versions[version_id]
            result.append(VersionImpact(version, sum(states.values()), flow_impact(version.data, new_data, states)))
        choices = tuple(new_data.get("states", {}))
    else:
        open_submissions = Submission.objects.filter(form=definition, flow__finished_at__isnull=True,
                                                     flow__isnull=False)
        version_ids = (open_submissions.exclude(form_version=to_version).values_list("form_version", flat=True)
                       .distinct().order_by())
        old_keys: set[str] = set()
        for version_id in sorted(set(version_ids), key=lambda pk: versions[pk].number):
            version = versions[version_id]
            names = list(version.data.get("properties", {}))
            old_keys.update(names)
            filled_counts = {f"f{i}": Count("id", filter=Q(data__has_key=name)) for i, name in enumerate(names)}
            counts = open_submissions.filter(form_version=version).aggregate(total=Count("id"), **filled_counts)
            filled = {name: counts[f"f{i}"] for i, name in enumerate(names)}
            shared = version.content.get("shared", {})
            result.append(VersionImpact(version, counts["total"], form_impact(
                version.data, new_data, filled, total=counts["total"], old_shared=shared,
                new_shared=shared if new_shared is None else new_shared)))
        choices = tuple(k for k in new_data.get("properties", {}) if k not in old_keys)
    return Impact(definition, result, choices)


# ---------------------------------------------------------------- the form


class MigrationForm(forms.Form):
    """One required choice per state that needs a mapping and per field that needs a transform."""

    def __init__(self, impact: Impact, data=None, **kwargs):
        super().__init__(data, **kwargs)
        self.impact = impact
        placeholder = [("", "---------")]
        for name, finding in impact.needs_mapping.items():
            self.fields[f"state__{name}"] = forms.ChoiceField(
                label=gettext("Items in state “%(state)s” (%(count)s) go to") % {"state": name, "count": finding.count},
                choices=placeholder + [(s, s) for s in impact.choices], initial=finding.suggestion or None,
                help_text=finding.text(_language()))
        for name, finding in impact.needs_transform.items():
            self.fields[f"field__{name}"] = forms.ChoiceField(
                label=gettext("Values of field “%(field)s” (%(count)s)") % {"field": name, "count": finding.count},
                choices=placeholder + [(DROP, gettext("drop them"))]
                + [(k, gettext("move to “%(field)s”") % {"field": k}) for k in impact.choices],
                initial=finding.suggestion or None, help_text=finding.text(_language()))

    def state_map(self) -> dict[str, str]:
        return {name[len("state__"):]: value for name, value in self.cleaned_data.items() if name.startswith("state__")}

    def field_map(self) -> dict[str, str]:
        return {name[len("field__"):]: ("" if value == DROP else value)
                for name, value in self.cleaned_data.items() if name.startswith("field__")}


def _language():
    from django.utils import translation

    return translation.get_language() or "zh-hans"


# ---------------------------------------------------------------- migrating


@dataclass
class MigrationReport:
    to_version: DefinitionVersion
    migrated: int = 0
    references: list[str] = field(default_factory=list)


def migrate(definition: Definition, to_version: DefinitionVersion, *, state_map: dict | None = None,
            field_map: dict | None = None, user=None) -> MigrationReport:
    """See the module docstring: every open item of the other versions onto `to_version`, or none."""
    state_map, field_map = dict(state_map or {}), dict(field_map or {})
    if to_version.definition_id != definition.pk:
        raise MigrationRefused([_problem(gettext_noop("v{number} is not a version of {key}"), number=to_version.number,
                                         key=definition.key)])
    with transaction.atomic():
        Definition.objects.select_for_update().get(pk=definition.pk)  # a second migration waits for this one
        if definition.kind == Definition.Kind.FLOW:
            mover = _FlowMover(to_version, state_map, user)
        elif definition.kind == Definition.Kind.FORM:
            mover = _FormMover(to_version, field_map, user)
        else:
            raise MigrationRefused([_problem(gettext_noop("a community file has no items in flight"))])
        instances = list(_open_instances(definition).exclude(**{mover.version_field: to_version})
                         .select_for_update(of=("self",)).select_related("submission", mover.version_field)
                         .order_by("pk"))
        plans = [mover.plan(instance) for instance in instances]
        mover.refuse_if_any()  # every problem of every item at once, before anything is written
        report = MigrationReport(to_version)
        for plan in plans:
            reference = mover.write(plan)
            if reference:
                report.migrated += 1
                report.references.append(reference)
    return report


class _Mover:
    version_field = ""

    def __init__(self, to_version, user):
        self.to_version, self.user = to_version, user
        self.problems: list[_Problem] = []
        self.missing: dict[str, int] = {}

    def refuse_if_any(self):
        if self.problems:
            raise MigrationRefused(self.problems)

    def write(self, plan) -> str:
        """Apply one item's plan with a conditional UPDATE; when the item moved meanwhile, plan it
        again from where it is now. Returns its reference, or "" when it finished meanwhile."""
        for _attempt in range(MAX_RETRIES):
            if self.apply(plan):
                return plan["instance"].submission.reference
            instance = (FlowInstance.objects.select_for_update(of=("self",))
                        .select_related("submission", self.version_field).get(pk=plan["instance"].pk))
            if instance.finished_at is not None or self.arrived(instance):
                return ""
            plan = self.plan(instance)
            self.refuse_if_any()
        raise MigrationRefused([_problem(gettext_noop("item {reference} keeps changing; try again"),
                                         reference=plan["instance"].submission.reference)])

    def arrived(self, instance) -> bool:
        """Is the item already on the target version? Each mover (flow, form) says how it knows."""
        raise NotImplementedError(f"{type(self).__name__} must say when an item has arrived")

    def audit(self, instance, from_state, to_state, data):
        AuditEvent.objects.create(community_id=instance.community_id, instance=instance, actor=self.user,
                                  actor_kind="person", transition=f"migrate:v{self.to_version.number}",
                                  from_state=from_state, to_state=to_state, data=data)


class _FlowMover(_Mover):
    version_field = "flow_version"

    def __init__(self, to_version, state_map, user):
        super().__init__(to_version, user)
        self.flow = adapter.compiled(to_version)
        self.state_map = state_map
        for old, new in state_map.items():
            if new not in self.flow.states:
                self.problems.append(_problem(gettext_noop("state '{old}' is mapped to '{new}', which v{number} does not have"),
                                              old=old, new=new, number=to_version.number))

    def refuse_if_any(self):
        for state, count in self.missing.items():
            self.problems.append(_problem(gettext_noop("{count} item(s) in state '{state}', which v{number} lacks: map it to a state"),
                                          count=count, state=state, number=self.to_version.number))
        self.missing = {}
        super().refuse_if_any()

    def arrived(self, instance) -> bool:
        return instance.flow_version_id == self.to_version.pk

    def plan(self, instance):
        state = instance.state
        target = self.state_map.get(state) or (state if state in self.flow.states else "")
        if not target:
            self.missing[state] = self.missing.get(state, 0) + 1
        return {"instance": instance, "target": target}

    def apply(self, plan) -> bool:
        instance, target = plan["instance"], plan["target"]
        old_version, from_state = instance.flow_version, instance.state
        old_flow = adapter.compiled(old_version)
        old_state, new_state = old_flow.states.get(instance.state), self.flow.states[target]
        restart = (instance.state != target or old_state is None
                   or core.clocks(old_state) != core.clocks(new_state))
        # a countersign in progress survives only if its transition still leaves the same state
        signatures = {name: seats for name, seats in instance.signatures.items()
                      if name in self.flow.transitions and target in self.flow.transitions[name].sources}
        dropped = sorted(set(instance.signatures) - set(signatures))
        now = timezone.now()
        changes = dict(flow_version=self.to_version, state=target, version=F("version") + 1, signatures=signatures)
        if new_state.final:
            changes.update(finished_at=now, due_at=None)
        elif restart:
            changes.update(due_at=None)
        if not FlowInstance.objects.filter(pk=instance.pk, version=instance.version).update(**changes):
            return False
        instance.refresh_from_db()
        if restart:
            Timer.objects.filter(instance=instance, fired_at__isnull=True).update(cancelled=True)
            if not new_state.final:
                # the new state's clocks count from when the item entered the state, not from now
                for kind, spec in core.clocks(new_state):
                    if kind == "timer":
                        adapter._schedule(instance, spec, instance.entered_at)
        self.audit(instance, from_state, target,
                   {"flow_version": {"from": old_version.number, "to": self.to_version.number},
                    "timers": "restarted" if restart else "kept", "signatures_dropped": dropped})
        return True


class _FormMover(_Mover):
    version_field = "submission__form_version"

    def __init__(self, to_version, field_map, user):
        super().__init__(to_version, user)
        self.spec = form_spec(to_version)
        self.properties = to_version.data.get("properties", {})
        self.field_map = field_map
        for old, new in field_map.items():
            if new and new not in self.properties:
                self.problems.append(_problem(gettext_noop("field '{old}' is renamed to '{new}', which v{number} does not have"),
                                              old=old, new=new, number=to_version.number))

    def refuse_if_any(self):
        for name, count in self.missing.items():
            self.problems.append(_problem(gettext_noop("{count} item(s) have field '{name}', which v{number} lacks: rename or drop it"),
                                          count=count, name=name, number=self.to_version.number))
        self.missing = {}
        super().refuse_if_any()

    def arrived(self, instance) -> bool:
        return instance.submission.form_version_id == self.to_version.pk

    def plan(self, instance):
        submission = instance.submission
        data, renamed, dropped, complete = {}, {}, [], True
        for key, value in submission.data.items():
            if key in self.field_map:
                new = self.field_map[key]
                if not new:
                    dropped.append(key)
                    continue
                renamed[key] = new
                key = new
            elif key not in self.properties:
                self.missing[key] = self.missing.get(key, 0) + 1
                complete = False
                continue
            if key in data and data[key] != value:
                complete = False
                self.problems.append(_problem(
                    gettext_noop("item {reference}: field '{key}' already holds another value; cannot rename onto it"),
                    reference=submission.reference, key=key))
            data[key] = value
        if complete:  # an item whose fields are not all placed would only repeat that problem
            for error in validate(self.spec, data):
                self.problems.append(_problem(gettext_noop("item {reference}: field {pointer} — {error}"),
                                              reference=submission.reference, pointer=error.pointer or "/", error=error))
        return {"instance": instance, "data": data, "renamed": renamed, "dropped": dropped}

    def apply(self, plan) -> bool:
        instance = plan["instance"]
        submission = instance.submission
        # the flow instance's version guards the submission's data too: a transition that
        # changes the data (a "set" action) bumps it in the same transaction
        if not FlowInstance.objects.filter(pk=instance.pk, version=instance.version).update(version=F("version") + 1):
            return False
        old_number = submission.form_version.number
        Submission.objects.filter(pk=submission.pk).update(form_version=self.to_version, data=plan["data"])
        self.audit(instance, instance.state, instance.state,
                   {"form_version": {"from": old_number, "to": self.to_version.number},
                    "renamed": plan["renamed"], "dropped": plan["dropped"]})
        return True
