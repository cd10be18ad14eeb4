"""What the item page shows, in words: the request's subject, its photos, where it stands and
who acts next, every step taken with its inputs (a person by name, a choice by its title, a unit
by its name — never ids or keys), and the steps open to the reader, each input drawn from the
transition's own `input:` spec, steps that collect the same form drawn as that one form.

Reads only; whether the reader may see the item, its private fields or a step is the policy's
and the workflow adapter's decision (engine.policy, engine.workflow.adapter)."""

from __future__ import annotations

from django.utils.translation import gettext

from engine import clock, policy
from engine.forms.django_forms import LinliForm, build_field
from engine.forms.display import display_value
from engine.forms.registry import community_choices, form_spec
from engine.forms.spec import text
from engine.models import Definition, Person, SubmissionFile
from engine.workflow import adapter

INPUT_PREFIX = "input"
# at most this many choices are shown as radios; more become a select
FEW_CHOICES = 5


def subject(spec, data, language) -> str:
    """The request's subject: its `subject` or `title` field, else the form's title."""
    for name in ("subject", "title"):
        value = data.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return text(spec.title, language)


def _tokens(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def submitted_fields(submission, spec, data, language) -> list[dict]:
    """The fields of what was submitted as label/value pairs; a file field lists its files
    (images shown as thumbnails by the page, served by engine.views.serve_file)."""
    names = community_choices(submission.community, language)
    files = {f.token: f for f in SubmissionFile.objects.filter(submission=submission)}
    rows = []
    for field in spec.fields:
        if field.name not in data:
            continue
        row = {"label": text(field.title, language), "value": "", "images": [], "files": []}
        if field.is_file:
            for token in _tokens(data.get(field.name)):
                stored = files.get(token)
                if stored is None:
                    continue
                (row["images"] if stored.content_type.startswith("image/") else row["files"]).append(
                    {"token": token, "name": stored.original_name})
        else:
            row["value"] = display_value(field, data.get(field.name), language, names)
        rows.append(row)
    return rows


def _state_data(instance, state):
    return (instance.flow_version.data.get("states") or {}).get(state) or {}


def _role_title(community, role, language) -> str:
    return text((policy.community_roles(community).get(role) or {}).get("title") or role, language)


def _actor_words(actor, instance, language) -> list[str]:
    """Who takes a step, in words."""
    if actor.kind == "submitter":
        return [gettext("the person who submitted it")]
    if actor.kind == "assignee":
        assignee = instance.assignee
        return [person_name(instance.community, assignee) if assignee else gettext("the person it is assigned to")]
    if actor.kind == "role" and actor.role is not None:
        return [_role_title(instance.community, actor.role.role, language)]
    if actor.kind in ("any_of", "all_of"):
        return [w for member in actor.members for w in _actor_words(member, instance, language)]
    if actor.kind == "vote":
        return [gettext("the voters")]
    if actor.kind in ("resident", "public"):
        return [gettext("residents")]
    return []


def status(instance, language) -> dict:
    """The state in words: its title and description, the due date on the community's clock, and
    who is expected to act next."""
    flow = adapter.compiled(instance)
    state = flow.states.get(instance.state)
    data = _state_data(instance, instance.state)
    due = None
    if instance.due_at and not instance.finished_at:
        due = instance.due_at.astimezone(clock.community_tz(instance.community))
    who = []
    if not instance.finished_at:
        for transition in flow.leaving(instance.state):
            for words in _actor_words(transition.actor, instance, language):
                if words not in who:
                    who.append(words)
    return {"title": text(state.title, language) if state else instance.state,
            "description": text(data.get("description") or "", language), "due": due,
            "who": gettext(", ").join(who)}


def person_name(community, user) -> str:
    """A person as people know them in the community: the roster's name, else the account's."""
    if user is None:
        return ""
    person = Person.objects.filter(community=community, user=user).only("name").first()
    return person.name if person else (user.get_full_name() or user.username)


def _form_fields(community, key, language):
    record = Definition.objects.filter(community=community, kind="form", key=key).select_related(
        "live_version").first()
    return form_spec(record.live_version) if record and record.live_version else None


def input_words(instance, transition, inputs, language) -> list[tuple[str, str]]:
    """A step's inputs as (title, value) in words."""
    if not isinstance(inputs, dict) or not inputs:
        return []
    community = instance.community
    names = community_choices(community, language)
    if transition is not None and transition.form:
        spec = _form_fields(community, transition.form, language)
        if spec is None:
            return []
        return [(text(f.title, language), display_value(f, inputs.get(f.name), language, names))
                for f in spec.fields if inputs.get(f.name) not in (None, "")]
    declared = transition.inputs if transition is not None else {}
    rows = []
    for name, value in inputs.items():
        spec = declared.get(name, {})
        kind = spec.get("type", "text")
        if value in (None, ""):
            continue
        if kind == "person":
            person = Person.objects.filter(community=community, pk=value).only("name").first()
            shown = person.name if person else gettext("(a person no longer listed)")
        elif kind in ("unit", "post"):
            shown = dict(names.get(kind, [])).get(value, value).strip()
        elif kind == "boolean":
            shown = gettext("Yes") if value else gettext("No")
        else:
            shown = str(value)
        rows.append((text(spec.get("title") or name, language), shown))
    return rows


def history(instance, submission, language) -> list[dict]:
    """Every step taken: when, what, by whom, into which state, its comment and its inputs."""
    flow = adapter.compiled(instance)
    community = submission.community
    tz = clock.community_tz(community)
    start = flow.states.get(flow.start)
    entries = [{"time": submission.submit_time.astimezone(tz), "title": gettext("Submitted"),
                "who": person_name(community, submission.submitter) if submission.submitter_id else "",
                "to": text(start.title, language) if start else "", "comment": "", "inputs": []}]
    names = {}
    for event in instance.events.select_related("actor").order_by("created_at", "pk"):
        transition = flow.transitions.get(event.transition)
        target = flow.states.get(event.to_state)
        label = text(transition.title, language) if transition else event.transition
        if event.transition.startswith("stalled:"):  # a timer's step refused (adapter._stall)
            label = gettext("Held up")
        if event.actor_kind == "timer":
            who = gettext("automatically")
        elif event.actor_kind == "vote":
            who = gettext("by the vote")
        elif event.actor_id:
            if event.actor_id not in names:
                names[event.actor_id] = person_name(community, event.actor)
            who = names[event.actor_id]
        else:
            who = ""
        entries.append({"time": event.created_at.astimezone(tz), "title": label, "who": who,
                        "to": text(target.title, language) if target else "", "comment": event.comment,
                        "inputs": input_words(instance, transition, (event.data or {}).get("inputs"), language)})
    return entries


# ---------------------------------------------------------------- the steps open to the reader


def eligible_people(community, role="") -> list[tuple[int, str]]:
    """Whom a `person` input may name: the holders of its role now (policy.current_assignments),
    else the community's active people with an account; (id, name with where they live)."""
    people = Person.objects.filter(community=community, active=True, user__isnull=False, user__is_active=True)
    if role:
        holders = policy.current_assignments().filter(community=community, role=role).values("person_id")
        people = people.filter(pk__in=holders)
    rows = []
    for person in people.select_related("unit").order_by("name", "pk")[:500]:
        rows.append((person.pk, f"{person.name}（{person.unit.name}）" if person.unit_id else person.name))
    return rows


def _widget(kind, spec, community, language):
    """The widget of an inline input and its choices as (value, label)."""
    if kind == "choice":
        choices = [(c, c) for c in spec.get("choices") or []]
        return ("radio" if len(choices) <= FEW_CHOICES else "select"), choices
    if kind == "boolean":
        return "radio", [("true", gettext("Yes")), ("false", gettext("No"))]
    if kind == "person":
        return "select", [(str(pk), name) for pk, name in eligible_people(community, spec.get("role", ""))]
    if kind in ("unit", "post"):
        return "select", [(key, title.strip()) for key, title in
                          community_choices(community, language).get(kind, [])]
    return {"text": "textarea", "date": "date", "number": "number"}.get(kind, "textarea"), []


def inline_inputs(transition, community, language) -> list[dict]:
    rows = []
    for name, spec in transition.inputs.items():
        kind = spec.get("type", "text")
        widget, choices = _widget(kind, spec, community, language)
        rows.append({"name": name, "title": text(spec.get("title") or name, language), "kind": kind,
                     "widget": widget, "choices": choices, "required": bool(spec.get("required")),
                     "help": text(spec.get("description") or "", language), "value": "", "errors": []})
    return rows


def transition_form(community, form_key, language, data=None):
    """The Django form of a `form:` that steps collect, built from its JSON Schema by the project's
    builder (its own widgets, help and messages); None when the community has no such form."""
    spec = _form_fields(community, form_key, language)
    if spec is None:
        return None
    names = community_choices(community, language)
    fields = {f.name: build_field(f, names, language) for f in spec.fields}
    cls = type(f"StepForm_{spec.key}".replace("-", "_"), (LinliForm,),
               {**fields, "spec": spec, "step_fields": tuple(fields)})
    return cls(data, prefix=INPUT_PREFIX, auto_id=f"{form_key}-%s")


def ends_quietly(flow, transition) -> bool:
    """A step that ends the item and asks for nothing (撤回, 不予受理): drawn as a secondary
    action behind a confirmation."""
    target = flow.states.get(transition.target)
    return bool(target and target.final and not transition.form and not transition.inputs)


def open_steps(instance, options, language) -> tuple[list[dict], list[dict]]:
    """The steps open to the reader: (form groups, single steps). Steps collecting the same form
    are one group — the form drawn once, one submit per step."""
    flow = adapter.compiled(instance)
    groups, singles = {}, []
    for option in options:
        transition = option.transition
        step = {"name": transition.name, "title": text(transition.title, language), "comment": transition.comment,
                "comment_value": "", "comment_errors": [], "secondary": ends_quietly(flow, transition)}
        if transition.form:
            group = groups.setdefault(transition.form, {"form_key": transition.form, "steps": []})
            step["secondary"] = bool(group["steps"])  # the first step is the main one
            group["steps"].append(step)
            continue
        step["inputs"] = inline_inputs(transition, instance.community, language)
        # one comment box: a step whose inputs already ask for words needs no second one
        has_text = any(i["kind"] == "text" for i in step["inputs"])
        step["show_comment"] = transition.comment == "required" or (transition.comment != "none" and not has_text)
        singles.append(step)
    singles.sort(key=lambda s: s["secondary"])
    return list(groups.values()), singles
