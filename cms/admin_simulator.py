"""The Linli admin area: the flow simulator and shadow replay.

A thin adapter over the pure core `engine.workflow.simulate`. It reads (the live version, or a
draft's text posted by the editor, run through the same three gates as publishing; the
community's roles; a sample submission) and renders; it writes nothing — no row, no audit
event, no task. The adapter that carries effects out (`engine.workflow.adapter`) is never
called from here.

The simulation's path (which transitions were taken, as whom) travels in a hidden field as
plain JSON. It is never trusted: every request replays it from the start through the core,
and the first step the flow does not allow ends it. The roles in it must be the community's.

URL (namespace "linli"): "<community>/flow/<key>/simulate/" — GET simulates the live version;
POST with `source` simulates that text.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, field

from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import re_path
from django.utils import timezone
from django.utils.translation import gettext

from engine import clock as community_clock
from engine import policy
from engine.definitions.pipeline import SourceFile, check_files
from engine.definitions.problems import Problem
from engine.models import AuditEvent, Community, Definition, FlowInstance, Submission
from engine.workflow import core
from engine.workflow.simulate import (Persona, Recorded, Simulation, Vocabulary, flow_sample_inputs, replay,
                                      sample_data, text_of)

from .admin_views import DefinitionMixin, LinliAdminView, _language, definition_title, definition_url

MAX_PATH_CHARS = 20_000
MAX_STEPS = 100
MAX_SOURCE_CHARS = 200_000
DEFAULT_MONTHS = 3
MAX_REPLAYED = 500
SUBMISSION_CHOICES = 20
NAME_FORMATS = ("unit", "post", "store-item", "team")
# events in an item's audit trail that are not steps of its flow
NOT_STEPS = ("comment", "reassign")


# ---------------------------------------------------------------- the draft through the gates


@dataclass
class Checked:
    data: dict | None
    problems: list = field(default_factory=list)
    lines: list = field(default_factory=list)  # [(number, text, [messages])] when there are problems


def _live_files(community: Community, skip: Definition):
    """The community's live definitions as source files (the context a draft is linted in)."""
    files, shared = [], {}
    versions = (Definition.objects.filter(community=community, live_version__isnull=False)
                .exclude(pk=skip.pk).select_related("live_version"))
    for record in versions:
        version = record.live_version
        kind = record.kind
        if kind == "community":
            path, folder, key = f"workflows_yaml/{community.slug}/community.yaml", community.slug, community.slug
        elif kind == "form":
            path, folder, key = f"forms_schemas/{community.slug}/{record.key}.schema.json", community.slug, record.key
            shared.update(version.content.get("shared", {}))
        else:
            path, folder, key = f"workflows_yaml/{community.slug}/{record.key}.flow.yaml", community.slug, record.key
        text = version.source or json.dumps(version.data, ensure_ascii=False)
        files.append(SourceFile(path, kind, folder, key, text.encode("utf-8")))
    for name, data in shared.items():
        files.append(SourceFile(f"forms_schemas/_shared/{name}", "shared", "_shared", name,
                                json.dumps(data, ensure_ascii=False).encode("utf-8")))
    return files


def check_draft(record: Definition, text: str) -> Checked:
    """A flow's draft text through parse → meta-validate → lint, with its community's live
    files as context. Returns the checked data, or the problems of the draft with its lines."""
    path = f"workflows_yaml/{record.community.slug}/{record.key}.flow.yaml"
    if len(text) > MAX_SOURCE_CHARS:
        problem = Problem("io.too_large", {"size": len(text.encode("utf-8")), "limit": MAX_SOURCE_CHARS}, path=path)
        return Checked(None, [problem])
    files = _live_files(record.community, record)
    files.append(SourceFile(path, "flow", record.community.slug, record.key, text.encode("utf-8")))
    result = check_files(files, known_communities=frozenset(Community.objects.values_list("slug", flat=True)))
    problems = [p for p in result.problems if p.path == path]
    if problems:
        language = _language()
        by_line = {}
        for problem in problems:
            by_line.setdefault(problem.line, []).append(problem.message(language))
        lines = [(number, line, by_line.get(number, []))
                 for number, line in enumerate(text.splitlines() or [""], start=1)]
        unplaced = [m for n, messages in by_line.items() if n < 1 or n > len(lines) for m in messages]
        if unplaced:
            lines.insert(0, (0, "", unplaced))
        return Checked(None, problems, lines)
    checked = next((d for d in result.definitions if d.path == path), None)
    return Checked(checked.data if checked else None, problems)


# ---------------------------------------------------------------- reading the posted state


def _persona_choices(community_data: dict, language: str):
    roles = [(r["key"], text_of(r.get("title", r["key"]), language)) for r in community_data.get("roles", [])]
    return roles


def _parse_path(raw: str, role_keys) -> tuple[list, str]:
    """The posted path as [(transition, Persona)], or ([], why) when it is not acceptable."""
    if not raw:
        return [], ""
    if len(raw) > MAX_PATH_CHARS:
        return [], gettext("The simulation was too long and has been started again.")
    try:
        steps = json.loads(raw)
        if not isinstance(steps, list) or len(steps) > MAX_STEPS:
            raise ValueError
        path = []
        for step in steps:
            if not isinstance(step, dict) or not isinstance(step.get("t"), str):
                raise ValueError
            persona = Persona.from_dict(step.get("as", {}))
            if not persona.roles <= set(role_keys):
                raise ValueError
            path.append((step["t"], persona))
        return path, ""
    except (ValueError, TypeError):
        return [], gettext("The simulation's state could not be read and has been started again.")


def _dump_path(steps) -> str:
    return json.dumps([{"t": step.transition, "as": step.persona.to_dict()} for step in steps],
                      ensure_ascii=False, separators=(",", ":"))


def _mask(value):
    if isinstance(value, str):
        return (value[:1] + "*" * min(len(value) - 1, 6)) if len(value) > 1 else "*" * len(value)
    if isinstance(value, list):
        return [_mask(v) for v in value]
    if isinstance(value, dict):
        return {k: _mask(v) for k, v in value.items()}
    return value


def _choice_fields(schema: dict, shared: dict) -> set:
    """Top-level fields whose values are fixed choices: not personal, shown unmasked."""
    found = set()
    for name, node in (schema.get("properties") or {}).items():
        if isinstance(node, dict) and "$ref" in node:
            location, _, fragment = node["$ref"].partition("#")
            target = shared.get(location.rsplit("/", 1)[-1], {}) if location else schema
            for part in [p for p in fragment.split("/") if p]:
                target = target.get(part, {}) if isinstance(target, dict) else {}
            node = {**target, **node}
        if isinstance(node, dict) and ("enum" in node or "const" in node or any(
                isinstance(b, dict) and "const" in b for b in node.get("oneOf", []))):
            found.add(name)
        elif isinstance(node, dict) and node.get("type") in ("boolean", "integer", "number"):
            found.add(name)
    return found


def masked_preview(data: dict, schema: dict, shared: dict) -> list[tuple[str, str]]:
    keep = _choice_fields(schema, shared)
    return [(key, json.dumps(value if key in keep else _mask(value), ensure_ascii=False))
            for key, value in data.items()]


# ---------------------------------------------------------------- the view


class SimulateView(DefinitionMixin, LinliAdminView):
    """Step through a flow (live or a posted draft) as a chosen role, with a sample item."""

    template_name = "cms/admin/simulate.html"
    http_method_names = ["get", "post"]

    def get_definition(self):
        if self.kwargs["kind"] != Definition.Kind.FLOW:
            raise Http404
        try:
            record = super().get_definition()
        except Http404:
            record = None
        if record is None or record.live_version is None:
            # a new flow exists only as its draft: simulated from the draft's text (not saved)
            from engine.models import DefinitionDraft

            from .admin_views import community_policy

            managed = community_policy.instances_user_has_permission_for(self.request.user, "manage")
            draft = get_object_or_404(DefinitionDraft.objects.select_related("community"), community__in=managed,
                                      community__slug=self.kwargs["community"], kind="flow", key=self.kwargs["key"])
            record = record or Definition(community=draft.community, kind="flow", key=draft.key)
            record.draft_source = draft.source
        return record

    def get_page_title(self):
        return gettext("Simulate %(flow)s") % {"flow": definition_title(self.definition) or self.definition.key}

    def get_page_subtitle(self):
        return self.definition.key

    def get_breadcrumbs_items(self):
        return super().get_breadcrumbs_items() + [
            {"url": definition_url(self.definition), "label": definition_title(self.definition) or self.definition.key},
            {"url": "", "label": gettext("Simulator")},
        ]

    def post(self, request, *args, **kwargs):
        return self.render_to_response(self.get_context_data(**kwargs))

    # -- what is simulated

    def _community_data(self):
        record = Definition.objects.filter(community=self.definition.community, kind="community",
                                           live_version__isnull=False).select_related("live_version").first()
        return record.live_version.data if record else {}

    def _forms(self):
        forms, shared = {}, {}
        for record in Definition.objects.filter(community=self.definition.community, kind="form",
                                                live_version__isnull=False).select_related("live_version"):
            forms[record.key] = record.live_version.data
            shared.update(record.live_version.content.get("shared", {}))
        return forms, shared

    @staticmethod
    def _names(community_data):
        units = []

        def walk(nodes):
            for node in nodes or []:
                units.append(node["id"])
                walk(node.get("children"))

        walk(community_data.get("units"))
        posts = [p["key"] for c in (community_data.get("posts") or {}).get("categories", []) for p in c["posts"]]
        items = [i["key"] for i in (community_data.get("points") or {}).get("store", {}).get("items", [])]
        teams = [t["key"] for t in community_data.get("teams", [])]
        return {"unit": units, "post": posts, "store-item": items, "team": teams}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        params = self.request.POST if self.request.method == "POST" else self.request.GET
        language = _language()
        source = params.get("source", "") if self.request.method == "POST" else ""
        live = self.definition.live_version
        if live is None and not source:
            source = self.definition.draft_source  # nothing published yet: the saved draft
        context.update(definition=self.definition, live=live, source=source, is_draft=bool(source),
                       action=self.request.path, definition_url=definition_url(self.definition))
        if source:
            checked = check_draft(self.definition, source)
            if checked.data is None:
                context.update(problems=checked.problems, problem_lines=checked.lines,
                               problem_messages=[p.render(language) for p in checked.problems])
                return context
            flow_data = checked.data
        else:
            flow_data = live.data
        flow = core.compile_flow(flow_data)
        community_data = self._community_data()
        vocabulary = Vocabulary.from_community(community_data)
        forms, shared = self._forms()
        names = self._names(community_data)
        roles = _persona_choices(community_data, language)
        role_keys = [key for key, _ in roles]

        # the sample: generated from the flow's form, or one of the community's real submissions
        schema = forms.get(flow.form, {})
        submissions = list(Submission.objects.filter(community=self.definition.community, form__key=flow.form,
                                                     form__kind="form").order_by("-submit_time")[:SUBMISSION_CHOICES])
        sample_key = params.get("sample", "generated")
        chosen = next((s for s in submissions if f"submission:{s.pk}" == sample_key), None)
        data = chosen.data if chosen is not None else sample_data(schema, shared, names)
        if chosen is None:
            sample_key = "generated"

        # who is acting next
        role = params.get("role", "")
        if role not in role_keys:
            role = ""
        persona = Persona(roles=frozenset({role} if role else ()), submitter=bool(params.get("submitter")),
                          assignee=bool(params.get("assignee")))

        # replay the posted path through the core; the first step it refuses ends it
        path, notice = _parse_path(params.get("path", ""), role_keys)
        simulation = Simulation(flow, data, vocabulary=vocabulary, inputs=flow_sample_inputs(flow, forms, shared, names),
                                clock=community_clock.local_now(self.definition.community))
        for name, who in path:
            try:
                simulation.step(name, who)
            except core.Refusal:
                notice = gettext("A step of the posted simulation is not allowed by this version; "
                                 "the simulation stops before it.")
                break
        refused = ""
        take = params.get("take", "")
        if take and self.request.method == "POST" and not params.get("restart"):
            # a timer's or a vote's step is taken by the clock or the result, not by the role chosen
            kind = flow.transitions[take].actor.kind if take in flow.transitions else ""
            who = Persona(system=kind) if kind in ("timer", "vote") else persona
            try:
                simulation.step(take, who)
            except core.Refusal as refusal:
                refused = gettext("“%(transition)s” cannot be taken now (%(reason)s).") % {
                    "transition": take, "reason": refusal.reason}
        if params.get("restart"):
            simulation = Simulation(flow, data, vocabulary=vocabulary,
                                    inputs=flow_sample_inputs(flow, forms, shared, names),
                                    clock=community_clock.local_now(self.definition.community))

        state = flow.states[simulation.state]
        options = simulation.options(persona)
        context.update(
            flow=flow, roles=roles, role=role, persona=persona, sample_key=sample_key,
            submissions=[(f"submission:{s.pk}", s.reference) for s in submissions],
            sample_preview=(masked_preview(data, schema, shared) if chosen is not None else
                            [(k, json.dumps(v, ensure_ascii=False)) for k, v in data.items()]),
            state_name=simulation.state, state_title=text_of(state.title, language), finished=state.final,
            start_words=[w[language] for w in simulation.start_words()],
            steps=[{"transition": s.transition, "title": text_of(flow.transitions[s.transition].title, language),
                    "source": s.source, "target": s.target, "who": _persona_words(s.persona, roles),
                    "words": [w[language] for w in s.words]} for s in simulation.steps],
            open_options=[_option(o, language) for o in options if o.allowed or o.reason in ("timer", "vote")],
            closed_options=[_option(o, language) for o in options
                            if not o.allowed and o.reason not in ("timer", "vote", "wrong_state", "final")],
            other_count=sum(1 for o in options if o.reason in ("wrong_state", "final")),
            path=_dump_path(simulation.steps), notice=notice, refused=refused,
            months=_months(params.get("months")),
        )
        if params.get("replay") and self.request.method == "POST" and self.definition.pk is not None:
            context["replay"] = shadow_replay(self.definition, flow_data, context["months"], language)
        return context


def _months(raw) -> int:
    try:
        return min(max(int(raw), 1), 24)
    except (TypeError, ValueError):
        return DEFAULT_MONTHS


def _persona_words(persona: Persona, roles) -> str:
    if persona.system == "timer":
        return gettext("the clock")
    if persona.system == "vote":
        return gettext("the vote's result")
    titles = dict(roles)
    parts = [titles.get(r, r) for r in sorted(persona.roles)]
    if persona.submitter:
        parts.append(gettext("submitter"))
    if persona.assignee:
        parts.append(gettext("assignee"))
    return "、".join(parts) or gettext("a resident with no role")


def _option(option, language):
    return {"name": option.name, "title": text_of(option.title, language), "target": option.target,
            "allowed": option.allowed, "reason": option.reason, "why": option.why[language],
            "actor": option.actor[language], "system": option.reason in ("timer", "vote")}


# ---------------------------------------------------------------- shadow replay


def _history(instance, events, roles_of, zone=None):
    steps = []
    reassigned = set()
    for event in events:
        if event.transition in NOT_STEPS or ":" in event.transition:
            if event.transition == "reassign" and isinstance(event.data, dict):
                reassigned.add(event.data.get("to"))
            continue
        actor = event.actor_id
        roles = roles_of.get(actor, frozenset())
        stand_in = (event.data or {}).get("stand_in") if isinstance(event.data, dict) else None
        if isinstance(stand_in, dict) and stand_in.get("role"):
            # the step was taken standing in for a vacant role: replayed as that role's holder
            roles = roles | {stand_in["role"]}
        steps.append(Recorded(
            transition=event.transition, roles=roles,
            at=timezone.localtime(event.created_at, zone), kind=event.actor_kind if event.actor_kind in ("timer", "vote") else "person",
            to_state=event.to_state, submitter=actor is not None and actor == instance.submission.submitter_id,
            assignee=actor is not None and (actor == instance.assignee_id or actor in reassigned), actor=actor,
            inputs=(event.data or {}).get("inputs") or {}))
    return steps


def shadow_replay(record: Definition, flow_data: dict, months: int, language: str) -> dict:
    """The last `months` of the flow's real items, run through `flow_data`: the items whose path
    or deadlines would differ. Reads only."""
    since = timezone.now() - datetime.timedelta(days=30 * months)
    instances = list(FlowInstance.objects.filter(flow=record, submission__submit_time__gte=since)
                     .select_related("submission", "flow_version").order_by("-submission__submit_time")[:MAX_REPLAYED])
    events = {}
    for event in AuditEvent.objects.filter(instance__in=instances).order_by("created_at", "id"):
        events.setdefault(event.instance_id, []).append(event)
    roles_of = {}
    for user_id, role in policy.current_assignments().filter(community=record.community, person__user__isnull=False
                                                             ).values_list("person__user_id", "role"):
        roles_of.setdefault(user_id, set()).add(role)
    roles_of = {k: frozenset(v) for k, v in roles_of.items()}
    draft = core.compile_flow(flow_data)
    zone = community_clock.community_tz(record.community_id)  # the engine's deadlines are on this clock
    baselines = {}
    differing = []
    for instance in instances:
        version = instance.flow_version
        if version.pk not in baselines:
            baselines[version.pk] = core.compile_flow(version.data)
        history = _history(instance, events.get(instance.pk, []), roles_of, zone)
        result = replay(draft, history, timezone.localtime(instance.submission.submit_time, zone),
                        data=instance.submission.data, baseline=baselines[version.pk])
        if result.diverged:
            differing.append({"reference": instance.submission.reference, "state": instance.state,
                              "version": version.number, "path": " → ".join(s.transition for s in history) or "—",
                              "divergences": [{"words": d.words[language], "fatal": d.fatal, "kind": d.kind}
                                              for d in result.divergences]})
    return {"months": months, "count": len(instances), "differing": differing, "capped": len(instances) >= MAX_REPLAYED}


urlpatterns = [
    re_path(r"^(?P<community>[-\w]+)/(?P<kind>flow)/(?P<key>[-\w]+)/simulate/$", SimulateView.as_view(), name="simulate"),
]
