"""The Django side of the workflow: start an item's flow, take a transition, fire timers, count
votes — each one transaction in which state, audit, points, posts, stock and timers commit
together or not at all.

The decision is the core's (engine.workflow.core.take); this module gathers the facts it needs
(roles at units, submitter, assignee), guards the row against a concurrent change (a
conditional UPDATE on the instance's version) and carries out the effects the core returns.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Set
from dataclasses import dataclass

from django.core.exceptions import ObjectDoesNotExist
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.functions import Left
from django.dispatch import Signal
from django.utils import timezone, translation
from django.utils.translation import gettext

from engine import clock, policy
from engine.definitions.problems import LinliError, PersonError
from engine.forms.registry import form_spec
from engine.forms.validation import FieldError, validate
from engine.models import (AuditEvent, Ballot, Definition, FlowInstance, Notification, OrgUnit, Person,
                           RoleAssignment, Submission, Timer)

from . import core
from . import inputs as input_checks
from .calendar import before, deadline

# Sent on commit when a flow asks for something to be published (an announcement, a public
# notice, an honour-roll entry): (sender=FlowInstance, instance, kind, spec). The publishing
# side (cms) renders it.
publication_requested = Signal()

_FLOWS: dict[tuple, core.Flow] = {}


class TransitionError(LinliError):
    status = 400

    def __init__(self, message, *, reason="", state="", errors=None):
        super().__init__(message)
        self.reason, self.state, self.errors = reason, state, errors or []


class TransitionNotAllowed(TransitionError):
    status = 403


class TransitionConflict(TransitionError):
    """The item is not in a state this transition leaves (it moved on meanwhile)."""

    status = 409


class TransitionRefused(TransitionError):
    """An effect of the step was refused (sold out, post full, not enough points): nothing of the
    step is kept, and the person is told why in their language."""

    status = 409


def compiled(instance_or_version) -> core.Flow:
    version = getattr(instance_or_version, "flow_version", instance_or_version)
    key = (version.pk, version.content_hash)
    if key not in _FLOWS:
        _FLOWS[key] = core.compile_flow(version.data)
    return _FLOWS[key]


def flow_for_form(form: Definition) -> Definition | None:
    """The live flow that handles this form: publishing keeps `form.flow` pointing at it, so
    a caller that loaded the form with `flow__live_version` reads it without a query."""
    if form.flow_id is None:
        return None
    flow = form.flow
    return flow if flow.live_version_id is not None else None


# ---------------------------------------------------------------- facts


def person_of(user, community, create=False):
    if user is None or not user.is_authenticated:
        return None
    person = Person.objects.filter(community=community, user=user).first()
    if person is None and create:
        person = Person.objects.create(community=community, user=user,
                                       name=user.get_full_name() or user.first_name or user.username)
    return person


class _UnitKeys(Mapping):
    """unit key -> path in one community, read on first use: only a step scoped to a named unit
    (`unit:` in a role actor) looks a key up, so the other steps need not read every unit of the
    community (hundreds of rows in a large one)."""

    def __init__(self, community_id):
        self.community_id = community_id
        self._paths = None

    def _loaded(self):
        if self._paths is None:
            self._paths = dict(OrgUnit.objects.filter(community_id=self.community_id).values_list("key", "path"))
        return self._paths

    def __getitem__(self, key):
        return self._loaded()[key]

    def __iter__(self):
        return iter(self._loaded())

    def __len__(self):
        return len(self._loaded())


class FactsCache:
    """What does not change between items within one request: the person's roles, covered units
    and membership per community, each unit's ancestors, and — for someone who may stand in for
    a vacant role — the community's admin roles and who holds the roles its flows need. An inbox
    of 50 items then costs a handful of queries, not five per item."""

    def __init__(self, user):
        self.user = user
        self._people: dict[int, tuple] = {}
        self._units: dict[int, dict] = {}
        self._held: dict | None = None
        self._admin_roles: dict[int, frozenset] = {}
        self._managed: frozenset | None = None
        self._holders: dict[int, dict] = {}
        self._unit_keys: dict[int, _UnitKeys] = {}
        self._levels: dict[tuple, list] = {}

    def person(self, community_id):
        if community_id not in self._people:
            roles = set()
            for assignment in (policy.current_assignments().filter(person__user=self.user, community_id=community_id)
                               .select_related("unit").prefetch_related("unit__covers")):
                roles.add((assignment.role, assignment.unit.path))
                roles.update((assignment.role, covered.path) for covered in assignment.unit.covers.all())
            member = bool(roles) or Person.objects.filter(community_id=community_id, user=self.user).exists()
            self._people[community_id] = (frozenset(roles), self.unit_keys(community_id), member)
        return self._people[community_id]

    def unit_keys(self, community_id) -> Mapping:
        """unit key -> path in the community (read on first use)."""
        if community_id not in self._unit_keys:
            self._unit_keys[community_id] = _UnitKeys(community_id)
        return self._unit_keys[community_id]

    def held_roles(self) -> dict:
        """community id -> the role keys the user holds there now (one query for all communities)."""
        if self._held is None:
            self._held = {}
            if self.user is not None and self.user.is_authenticated:
                for community_id, role in (policy.current_assignments().filter(person__user=self.user)
                                           .values_list("community_id", "role").distinct()):
                    self._held.setdefault(community_id, set()).add(role)
        return self._held

    def manages(self, community_id) -> bool:
        """Does the user manage the community without an admin role (a superuser, or guardian's
        permission)? One query per request, on first use."""
        if self.user is None or not self.user.is_authenticated or not self.user.is_active:
            return False
        if self.user.is_superuser:
            return True
        if self._managed is None:
            self._managed = frozenset(policy.communities_managed_by_permission(self.user).values_list("pk", flat=True))
        return community_id in self._managed

    def last_resort(self, community_id) -> bool:
        """Does a vacant step fall to this person because they manage the community (superuser,
        guardian's permission) and nobody holds its admin roles either? A community with no
        secretary yet still has someone; one with a secretary does not bother the street."""
        if not self.manages(community_id):
            return False
        admins = self.admin_roles(community_id)
        return not any(self.holders(community_id, admins).values())

    def admin_roles(self, community_id) -> frozenset:
        if community_id not in self._admin_roles:
            self._admin_roles[community_id] = policy.admin_roles(community_id)
        return self._admin_roles[community_id]

    def holders(self, community_id, roles) -> dict:
        """role -> paths of the units its current holders sit at in the community (and of the units
        those cover), for each of `roles`; an empty set for a vacant role. The roles not read yet
        in this request are read in one query (distinct paths: a role held by thousands of
        residents is as many rows as it has units)."""
        known = self._holders.setdefault(community_id, {})
        missing = set(roles) - known.keys()
        if missing:
            found = {role: set() for role in missing}
            for role, path, covered in (policy.current_assignments(acting=True).filter(community_id=community_id, role__in=missing)
                                        .values_list("role", "unit__path", "unit__covers__path").distinct()):
                found[role].add(path)
                if covered:
                    found[role].add(covered)
            known.update((role, frozenset(paths)) for role, paths in found.items())
        return {role: known[role] for role in roles}

    def units_at(self, community_id, level) -> list:
        """Paths of the community's units at `level`."""
        if (community_id, level) not in self._levels:
            self._read_levels(community_id, {level})
        return self._levels[community_id, level]

    def _read_levels(self, community_id, levels):
        for level in levels:
            self._levels[community_id, level] = []
        for level, path in OrgUnit.objects.filter(community_id=community_id, level__in=levels).values_list("level",
                                                                                                          "path"):
            self._levels[community_id, level].append(path)

    def prepare_stand_ins(self, flows):
        """Before the inbox asks about vacancies: in each community of `flows` ((version id,
        community id, compiled flow)) where the user holds an admin role or a step's fallback role,
        read the holders of every role the flows' steps name and the units at the levels they
        are sought at — one query each per community, however many flows and steps."""
        held, wanted = self.held_roles(), {}
        for _version, community_id, flow in flows:
            here = held.get(community_id, set())
            fallbacks = {a.fallback for t in flow.transitions.values() for a in core.role_actors(t.actor)}
            if (here and (here & fallbacks or here & self.admin_roles(community_id))) or self.last_resort(community_id):
                roles, levels = wanted.setdefault(community_id, (set(), set()))
                roles.update(flow.step_roles)
                levels.update(a.level for t in flow.transitions.values() for a in core.role_actors(t.actor)
                              if a.scope == "submitter_unit")
        for community_id, (roles, levels) in wanted.items():
            self.holders(community_id, roles)
            missing = {level for level in levels if (community_id, level) not in self._levels}
            if missing:
                self._read_levels(community_id, missing)

    def item_units(self, unit):
        if unit is None:
            return {}
        if unit.pk not in self._units:
            self._units[unit.pk] = _levels(unit, unit.get_ancestors())
        return self._units[unit.pk]

    def preload_units(self, units):
        """The ancestors of many units in one query, not one per unit: an inbox of 50 items may
        come from as many buildings. (A unit's ancestors are the prefixes of its path.)"""
        wanted = {unit.pk: unit for unit in units if unit is not None and unit.pk not in self._units}
        prefixes = {unit.pk: _ancestor_paths(unit) for unit in wanted.values()}
        found = {node.path: node for node in
                 OrgUnit.objects.filter(path__in={p for paths in prefixes.values() for p in paths})}
        for pk, unit in wanted.items():
            self._units[pk] = _levels(unit, [found[p] for p in prefixes[pk] if p in found])


def _ancestor_paths(unit):
    """Paths of the unit's ancestors, the root first (as treebeard's get_ancestors orders them)."""
    return [unit.path[:end] for end in range(unit.steplen, len(unit.path), unit.steplen)]


def _levels(unit, ancestors):
    """level -> path for the unit and the units above it; the unit's own level first, then the
    one nearest the root where two share a level."""
    levels = {}
    for node in [unit, *ancestors]:
        levels.setdefault(node.level, node.path)
    return levels


class _Holders(Mapping):
    """Facts.holders for one item: who holds the roles its flow's steps name, read from the
    request's FactsCache only when the core asks (only someone who may stand in asks)."""

    def __init__(self, cache, community_id, instance):
        self.cache, self.community_id, self.instance = cache, community_id, instance

    def _loaded(self):
        return self.cache.holders(self.community_id, compiled(self.instance).step_roles)

    def __getitem__(self, role):
        return self._loaded()[role]

    def __iter__(self):
        return iter(self._loaded())

    def __len__(self):
        return len(self._loaded())


class _AdminRoles(Set):
    """Facts.admin_roles, read from the request's FactsCache on first use."""

    def __init__(self, cache, community_id):
        self.cache, self.community_id = cache, community_id

    def __contains__(self, role):
        return role in self.cache.admin_roles(self.community_id)

    def __iter__(self):
        return iter(self.cache.admin_roles(self.community_id))

    def __len__(self):
        return len(self.cache.admin_roles(self.community_id))


def facts_for(user, instance: FlowInstance, *, timer=False, cache: FactsCache | None = None) -> core.Facts:
    if timer:
        return core.Facts(is_timer=True)
    cache = cache or FactsCache(user)
    submission = instance.submission
    item_units = cache.item_units(submission.unit if submission.unit_id else None)
    if user is None or not user.is_authenticated:
        return core.Facts(item_units=item_units)
    roles, units_by_key, member = cache.person(instance.community_id)
    return core.Facts(
        person=user.pk, authenticated=True, is_submitter=submission.submitter_id == user.pk,
        is_assignee=instance.assignee_id == user.pk, in_community=member, roles=roles, item_units=item_units,
        units_by_key=units_by_key, holders=_Holders(cache, instance.community_id, instance),
        admin_roles=_AdminRoles(cache, instance.community_id), manages=_Manages(cache, instance.community_id))


class _Manages:
    """Facts.manages (the last resort: manages the community, whose admin roles are vacant too),
    asked of the request's FactsCache only when a vacancy needs it."""

    def __init__(self, cache, community_id):
        self.cache, self.community_id = cache, community_id

    def __bool__(self):
        return self.cache.last_resort(self.community_id)


def open_transitions(user, instance, cache: FactsCache | None = None) -> list[core.Option]:
    flow = compiled(instance)
    return [o for o in core.options(flow, instance.state, facts_for(user, instance, cache=cache),
                                    instance.submission.data, instance.signatures) if o.allowed]


def actionable(user, instances, cache: FactsCache | None = None, anyone: Q | None = None):
    """Narrow open flow instances, in SQL, to states where the user could have a step: a step
    for a role they hold, or for the submitter or assignee on their own items — and, for someone
    who may stand in for a vacant role (a holder of an admin role or of a step's fallback role),
    that step on the items whose unit really lacks the role. The vacant units are worked out here
    from the current holders, per (community, role, level), and matched by unit path in SQL: a
    secretary's inbox is not flooded with every grid leader's items. (Scopes and guards are then
    checked per item by the core.)

    A held role's step is narrowed to the units where it can fall to the person (`_held_items`),
    whether the role is staff or not: a member who may take orders in their compound finds them
    without seeing the whole community. Steps open to any resident or the public (objecting to a
    notice) count only on the items `anyone` admits (all of them when it is None)."""
    from engine.models import DefinitionVersion

    cache = cache or FactsCache(user)
    held = cache.held_roles()
    versions = (DefinitionVersion.objects.filter(definition__kind="flow").only("id", "community_id", "content_hash")
                .order_by())
    if not user.is_superuser:  # the flows of the communities the person belongs to (a small set)
        # two subqueries, not joins: joining people and role holders multiplies every version by
        # the community's size (300 000 residents made the inbox take seconds)
        versions = versions.filter(
            Q(community__in=Person.objects.filter(user=user).values("community"))
            | Q(community__in=RoleAssignment.objects.filter(person__user=user).values("community"))
            | Q(community__in=policy.communities_managed_by_permission(user).values("pk")))
    # the content is read only when the compiled flow is not cached
    flows = [(version.pk, version.community_id, compiled(version)) for version in versions]
    cache.prepare_stand_ins(flows)
    condition, prefixes = Q(pk__in=[]), set()
    for version_id, community_id, flow in flows:
        here_held = held.get(community_id, set())
        admin = (bool(here_held) and bool(here_held & cache.admin_roles(community_id))) or cache.last_resort(community_id)
        by_submitter, by_assignee, by_anyone = set(), set(), set()
        by_role: dict[core.RoleActor, set] = {}  # a held role's step -> states
        standing: dict[tuple, set] = {}  # (role actor, who may stand in) -> states
        for transition in flow.transitions.values():
            for actor in _actors(transition.actor):
                if actor.kind == "role" and actor.role.role not in here_held:
                    stand_ins = ({""} if admin else set()) | ({actor.role.fallback} & here_held)
                    if stand_ins:
                        standing.setdefault((actor.role, frozenset(stand_ins)), set()).update(transition.sources)
                    continue
                target = (by_role.setdefault(actor.role, set()) if actor.kind == "role" else
                          by_submitter if actor.kind == "submitter" else
                          by_assignee if actor.kind == "assignee" else
                          by_anyone if actor.kind in ("resident", "public") else None)
                if target is not None:
                    target.update(transition.sources)
        here = Q(flow_version_id=version_id)
        steps = (Q(state__in=by_submitter, submission__submitter=user)
                 | Q(state__in=by_assignee, assignee=user))
        if by_anyone:
            steps |= Q(state__in=by_anyone) & (anyone if anyone is not None else Q())
        for role, states in by_role.items():
            where = _held_items(cache, community_id, role)
            if where is not None:
                steps |= Q(state__in=states) & where
        for (role, stand_ins), states in standing.items():
            vacant = _vacant_items(cache, community_id, role, stand_ins, prefixes)
            if vacant is not None:
                steps |= Q(state__in=states) & vacant
        condition |= here & steps
    if prefixes:  # the item's unit path cut at a level's depth: its unit at that level
        instances = instances.alias(**{f"_unit_prefix_{length}": Left("submission__unit__path", length)
                                       for length in prefixes})
    return instances.filter(condition)


def _held_items(cache, community_id, role: core.RoleActor) -> Q | None:
    """The items on which a step for `role`, which the person holds, may be theirs: a Q on the
    items' units, Q() for all, None for none. A superset of what `core.role_matches` admits (the
    core still decides per item), narrow enough that an inbox is not other units' items."""
    held = [path for name, path in cache.person(community_id)[0] if name == role.role]
    if not held:
        return None
    if role.scope == "community":
        return Q()
    if role.scope == "unit":
        target = cache.unit_keys(community_id).get(role.unit)
        return Q() if target and any(p.startswith(target) or target.startswith(p) for p in held) else None
    targets = cache.units_at(community_id, role.level)
    where = Q(pk__in=[])
    for path in held:
        # the holder's unit at the step's level when they sit at or below it (a building head acts
        # for the grid above), else their own subtree (a compound's holder acts for its grids)
        above = [t for t in targets if path.startswith(t)]
        where |= Q(submission__unit__path__startswith=max(above, key=len) if above else path)
    return where


def inbox(user, instances=None, cache: FactsCache | None = None):
    """The person's inbox, unpaged: the open items where a step may be theirs, most urgent first.
    The one query behind the inbox page and GET /api/v1/tasks/; the caller asks the core, per
    item, which steps are really open (scopes and guards)."""
    from django.db.models import F

    instances = FlowInstance.objects.filter(finished_at__isnull=True) if instances is None else instances
    # steps open to any resident (objecting to a notice) are offered on the public page, not as
    # tasks: they count here only on items the person sees anyway (staff recording an objection)
    anyone = Q(submission__in=policy.visible_submissions(user, Submission.objects.all()))
    cache = cache or FactsCache(user)
    steps = actionable(user, instances, cache=cache, anyone=anyone)
    ballots = _open_ballots(cache, instances)
    if ballots is not None:  # or a vote the person may still cast (todo() asks the electorate per item)
        steps = instances.filter(Q(pk__in=steps.values("pk")) | ballots)
    return (steps
            .select_related("submission", "submission__unit", "flow", "community", "flow_version")
            .defer("flow_version__content", "flow_version__source")
            .order_by(F("due_at").asc(nulls_last=True), "entered_at"))


def _open_ballots(cache, instances) -> Q | None:
    """Items at a vote whose electorate role the person holds in the item's community and on which
    they have not voted yet: a superset of where a ballot is theirs (the scope of the electorate is
    checked per item by electorate()). None when they hold no such role."""
    from engine.models import DefinitionVersion

    held = cache.held_roles()
    if not held:
        return None
    condition = Q(pk__in=[])
    for version in (DefinitionVersion.objects.filter(definition__kind="flow", community__in=held.keys())
                    .only("id", "community_id", "content_hash").order_by()):
        states = [s.name for s in compiled(version).states.values()
                  if s.vote is not None and s.vote.electorate.role in held[version.community_id]]
        if states:
            condition |= Q(flow_version_id=version.pk, state__in=states)
    voted = Ballot.objects.filter(instance=OuterRef("pk"), state=OuterRef("state"), voter__user=cache.user)
    return condition & ~Exists(voted)


@dataclass(frozen=True)
class ToDo:
    """What an item asks of a person now: the steps open to them that are theirs to do, and
    whether a ballot of theirs is awaited."""

    steps: list
    vote: bool

    def __bool__(self):
        return bool(self.steps) or self.vote


def waits_on_submitter(flow: core.Flow, state: str) -> bool:
    """Is the item waiting for its submitter (to rate, confirm, revise)? Not when someone else —
    a role, the assignee, a resident, a vote — may move it on from here: then a step the submitter
    may also take (withdrawing while the item is reviewed) is a choice, not a to-do."""
    return all(actor.kind in ("submitter", "timer")
               for transition in flow.leaving(state) for actor in _actors(transition.actor)) \
        and getattr(flow.states.get(state), "vote", None) is None


def todo(user, instance, cache: FactsCache | None = None) -> ToDo:
    """The one answer, per item of inbox(), to "what is there for me to do here?": the open steps
    (a submitter's own step only when the item waits on them) and whether a ballot is theirs. The
    inbox page and GET /api/v1/tasks/ both list an item when this is true."""
    flow = compiled(instance)
    steps = open_transitions(user, instance, cache=cache)
    if not waits_on_submitter(flow, instance.state):
        steps = [o for o in steps if not _only_submitter(o.transition.actor)]
    return ToDo(steps=steps, vote=_ballot_awaited(user, instance, flow))


def _only_submitter(actor) -> bool:
    return all(a.kind == "submitter" for a in _actors(actor))


def _ballot_awaited(user, instance, flow) -> bool:
    state = flow.states.get(instance.state)
    if state is None or state.vote is None or instance.finished_at is not None:
        return False
    person = Person.objects.filter(community_id=instance.community_id, user=user).first()
    if person is None or Ballot.objects.filter(instance=instance, state=instance.state, voter=person).exists():
        return False
    return person in electorate(instance, instance.state)


def _vacant_items(cache, community_id, role: core.RoleActor, stand_ins, prefixes) -> Q | None:
    """Which items a step for `role` falls to someone who may stand in as one of `stand_ins` (""
    for the admin roles, or the fallback role): a Q on the items' units, Q() for all of them,
    None for none. The decision per unit is the core's (stand_in_at)."""
    holders = cache.holders(community_id, {role.role, role.fallback} - {""})
    if role.scope != "submitter_unit":  # one target for every item: the community, or the named unit
        target = cache.unit_keys(community_id).get(role.unit) if role.scope == "unit" else None
        return Q() if core.stand_in_at(role, holders, target) in stand_ins else None
    targets = cache.units_at(community_id, role.level)
    if any(a != b and a.startswith(b) for a in targets for b in targets):
        return Q()  # a level nested in itself: the unit at that level is not a fixed-length prefix
    falls_to = {target: core.stand_in_at(role, holders, target) for target in targets}
    by_length: dict[int, list] = {}
    if "" in stand_ins:
        # vacant for the admins: every item but those whose unit at the level is held (or goes to
        # a fallback the person does not hold); an item with no unit there is vacant too
        for target, to in falls_to.items():
            if to not in stand_ins:
                by_length.setdefault(len(target), []).append(target)
        if not by_length:
            return Q()  # (an empty Q would vanish from the OR below, leaving only the unitless items)
        prefixes.update(by_length)
        kept = Q()
        for length, paths in by_length.items():
            kept &= ~Q(**{f"_unit_prefix_{length}__in": paths})
        return Q(submission__unit__isnull=True) | kept
    for target, to in falls_to.items():
        if to in stand_ins:
            by_length.setdefault(len(target), []).append(target)
    if not by_length:
        return None
    prefixes.update(by_length)
    found = Q(pk__in=[])
    for length, paths in by_length.items():
        found |= Q(**{f"_unit_prefix_{length}__in": paths})
    return found


def _actors(actor):
    if actor.kind in ("all_of", "any_of"):
        for member in actor.members:
            yield from _actors(member)
    else:
        yield actor


# ---------------------------------------------------------------- starting


def start(submission: Submission):
    """SUBMISSION_HANDLERS hook: a form with a flow starts it in the submission's transaction."""
    record = flow_for_form(submission.form)
    if record is None:
        return None
    flow = compiled(record.live_version)
    now = clock.now()
    timers = [spec for kind, spec in core.clocks(flow.states[flow.start]) if kind == "timer"]
    zone = clock.community_tz(submission.community_id) if timers else None
    deadlines = [deadline(now, spec["after"], zone) for spec in timers]  # working days: computed once
    due = min((d for d, spec in zip(deadlines, timers) if not spec.get("reminder")), default=None)
    instance = FlowInstance.objects.create(community=submission.community, submission=submission, flow=record,
                                           flow_version=record.live_version, state=flow.start, entered_at=now,
                                           due_at=due)
    # (the submission row itself records who submitted and when: the history shows it as the first event)
    for spec, due in zip(timers, deadlines):
        _schedule(instance, spec, now, update_due=False, due=due)
    return instance


# ---------------------------------------------------------------- taking a transition


def take(*, instance_id, name, user=None, comment="", inputs=None, expected_version=None, timer=False,
         vote=False) -> FlowInstance:
    """Take transition `name` on an item, as `user` (or the timer, or a closed vote)."""
    inputs = inputs or {}
    with transaction.atomic():
        instance = (FlowInstance.objects.select_related("submission", "submission__unit", "flow_version", "community")
                    .get(pk=instance_id))
        if expected_version is not None and instance.version != expected_version:
            raise TransitionConflict("the item moved on", reason="moved", state=instance.state)
        flow = compiled(instance)
        transition = flow.transitions.get(name)
        if transition is None:
            raise TransitionNotAllowed(f"no transition {name!r}", reason="unknown", state=instance.state)
        facts = core.Facts(is_timer=True) if (timer or vote) else facts_for(user, instance)
        if vote:
            outcome = core.Outcome(name, instance.state, transition.target,
                                   core.effects_of(flow, transition, instance.state))
            if instance.state not in transition.sources:
                raise TransitionConflict("wrong state", reason="wrong_state", state=instance.state)
        else:
            # who and when first (403/409), then what was entered (400), then the guard
            option = next(o for o in core.options(flow, instance.state, facts, instance.submission.data,
                                                  instance.signatures) if o.transition.name == name)
            if not option.allowed and option.reason in ("wrong_state", "not_actor", "signed"):
                error = TransitionNotAllowed if option.reason == "not_actor" else TransitionConflict
                raise error(option.reason, reason=option.reason, state=instance.state)
            inputs = _checked_inputs(instance, transition, inputs)
            try:
                outcome = core.take(flow, instance.state, name, facts, instance.submission.data, inputs,
                                    instance.signatures)
            except core.Refusal as refusal:
                error = {"wrong_state": TransitionConflict, "not_actor": TransitionNotAllowed,
                         "signed": TransitionConflict, "unknown": TransitionNotAllowed}.get(refusal.reason, TransitionError)
                message = {"guard": "the conditions for this step are not met",
                           "input": "the input is not valid"}.get(refusal.reason, refusal.reason)
                raise error(message, reason=refusal.reason, state=instance.state, errors=refusal.errors) from None
        if transition.comment == "required" and not comment.strip():
            raise TransitionError("a comment is required", reason="comment", state=instance.state,
                                  errors=[FieldError("/comment", "required", {"zh-hans": "请填写意见", "en": "A comment is required"})])
        if outcome.target is not None and not vote:
            _check_claims_ahead(instance, flow, outcome.target, user, inputs)
        now = clock.now()  # the frozen moment when fire_timers --at runs the step
        new_state = outcome.target or instance.state
        signatures = dict(instance.signatures)
        if outcome.target is None:  # a countersign seat, the transition still waits
            signatures.setdefault(name, {})[str(outcome.signed_seat)] = user.pk
        else:
            signatures.pop(name, None)
        written = {"state": new_state, "signatures": signatures,
                   "entered_at": now if outcome.target else instance.entered_at,
                   "due_at": None if outcome.target else instance.due_at}
        if outcome.target is not None:  # a stalled item that moves on is no longer stalled
            written.update(stalled_at=None, stalled_reason={})
        updated = FlowInstance.objects.filter(pk=instance.pk, version=instance.version).update(
            version=F("version") + 1, **written)
        if not updated:  # someone else took a transition between our read and our write
            current = FlowInstance.objects.get(pk=instance.pk)
            raise TransitionConflict("the item moved on", reason="moved", state=current.state)
        # the row now holds exactly this (the UPDATE matched the version we read)
        for field, value in written.items():
            setattr(instance, field, value)
        instance.version += 1
        event = AuditEvent.objects.create(
            community=instance.community, instance=instance, actor=None if (timer or vote) else user,
            actor_kind="timer" if timer else "vote" if vote else "person", transition=name,
            from_state=outcome.source, to_state=outcome.target or "", comment=comment,
            data={"inputs": inputs, **_stand_in_record(outcome.stand_in)})
        try:
            for index, (kind, spec) in enumerate(outcome.effects):
                _carry_out(instance, flow, kind, spec, user=user, inputs=inputs, now=now, event=event, index=index)
        except PersonError as refusal:  # leaving the atomic block undoes the step and its earlier effects
            raise TransitionRefused(refusal.text(translation.get_language() or "zh-hans"),
                                    reason=refusal.code or "refused", state=outcome.source) from refusal
        instance.refresh_from_db()  # effects (assignee, deadline, finish) were written with UPDATEs
    return instance


def _check_claims_ahead(instance, flow, target, user, inputs):
    """Entering `target`, whose timer will claim a post (a claim waiting out its public notice):
    refuse now, before the state moves, when the post is already full at the unit — counting the
    holders and the other items already waiting in that state for the same post and unit — so
    that six approvals of one last place are not all granted and then refused at the window's
    end. The unit's row is locked (org.check_claim): racing approvals queue, and the second is
    refused with the post's name."""
    from engine.services import org

    state = flow.states[target]
    timed = {state.on_timeout, (state.notice or {}).get("on_silence")} - {"", None}
    claims = [action["claim_post"] for name in sorted(timed) for action in flow.transitions[name].actions
              if "claim_post" in action]
    if not claims:
        return
    submission, community = instance.submission, instance.community
    try:
        for spec in claims:
            post, key = _value(spec["post"], submission.data, inputs), _value(spec["unit"], submission.data, inputs)
            unit = org.unit_by_key(community, key)
            person = person_of(submission.submitter, community, create=True)
            waiting = FlowInstance.objects.filter(flow_id=instance.flow_id, state=target, finished_at__isnull=True
                                                  ).exclude(pk=instance.pk)
            for reference, value in ((spec["post"], post), (spec["unit"], key)):
                if reference.startswith("input."):
                    waiting = waiting.none()  # entered on another item's step: not known here
                else:
                    waiting = waiting.filter(**{"submission__data__" + "__".join(reference.split(".")): value})
            org.check_claim(person=person, post=post, unit=unit, pending=waiting.count)
    except PersonError as refusal:
        raise TransitionRefused(refusal.text(translation.get_language() or "zh-hans"),
                                reason=refusal.code or "refused", state=instance.state) from refusal


def _stand_in_record(stand_in: core.StandIn | None) -> dict:
    """What the audit keeps of a step taken standing in for a vacant role (nothing otherwise):
    the role, where it was vacant and who stood in ("" for the community's admin roles)."""
    if stand_in is None:
        return {}
    return {"stand_in": {"role": stand_in.role, "unit": stand_in.unit, "unit_key": stand_in.unit_key,
                         "to": stand_in.to}}


def _checked_inputs(instance, transition, inputs):
    """What the actor entered, checked in one place: a transition form's data by that form's
    schema; inline inputs by their kinds in the core (engine.workflow.inputs), then — here, where
    the database is — a person, unit or post looked up in the item's community (a person active,
    with an account, holding the input's `role:` now by policy.current_assignments). Errors point
    at `/data/<input>`; nothing is written when there is one."""
    if not isinstance(inputs, dict):
        raise TransitionError("the input is not valid", reason="input", state=instance.state,
                              errors=[FieldError("/data", "type", {"zh-hans": "格式不对: 应为一组字段",
                                                                   "en": "Should be a group of fields"})])
    if transition.form:
        form = Definition.objects.filter(community=instance.community, kind="form", key=transition.form).first()
        errors = validate(form_spec(form.live_version), inputs) if form else []
        if errors:
            errors = [FieldError(f"/data{e.pointer}", e.code, e.message) for e in errors]
            raise TransitionError("the input is not valid", reason="input", state=instance.state, errors=errors)
        return inputs
    kept, errors, lookups = input_checks.check(transition.inputs, inputs)
    errors += _looked_up(instance.community, lookups)
    if errors:
        raise TransitionError("the input is not valid", reason="input", state=instance.state, errors=errors)
    return kept


def _looked_up(community, lookups) -> list:
    """The errors of the people, units and posts entered that the community does not have."""
    from engine.services import org

    errors = []
    for lookup in lookups:
        if lookup.kind == "person":
            person = Person.objects.filter(pk=lookup.value, community=community, active=True).first()
            if person is None:
                errors.append(input_checks.not_found(lookup))
            elif person.user_id is None or not person.user.is_active:
                errors.append(input_checks.not_found(lookup, "account"))
            elif lookup.role and not policy.current_assignments().filter(
                    community=community, person=person, role=lookup.role).exists():
                errors.append(input_checks.role_error(lookup, _role_title(community, lookup.role)))
        elif lookup.kind == "unit":
            if not OrgUnit.objects.filter(community=community, key=lookup.value, active=True).exists():
                errors.append(input_checks.not_found(lookup))
        else:
            try:
                org.post_spec(community, lookup.value)
            except org.UnknownPost:
                errors.append(input_checks.not_found(lookup))
    return errors


def _role_title(community, role) -> dict | str:
    """A role's title in community.yaml ({zh-hans, en} or a string), its key when it has none."""
    return (policy.community_roles(community).get(role) or {}).get("title") or role


# ---------------------------------------------------------------- effects


def _value(reference, data, inputs):
    from engine.definitions.guards import lookup

    return lookup(tuple(reference.split(".")), data, inputs)


def _recipients(instance, spec, user):
    """Users named by a recipients spec: submitter, assignee, actor, signers, voters or a role."""
    if isinstance(spec, list):
        return [u for item in spec for u in _recipients(instance, item, user)]
    from django.contrib.auth import get_user_model

    User = get_user_model()
    if spec == "submitter":
        return [instance.submission.submitter] if instance.submission.submitter_id else []
    if spec == "assignee":
        return [instance.assignee] if instance.assignee_id else []
    if spec == "actor":
        return [user] if user is not None and user.is_authenticated else []
    if spec == "signers":
        ids = [uid for seats in instance.signatures.values() for uid in seats.values()]
        return list(User.objects.filter(pk__in=ids))
    if spec == "voters":
        return list(User.objects.filter(people__ballots__instance=instance).distinct())
    if isinstance(spec, dict):
        return _role_recipients(instance, core.role_actor(spec))
    return []


def _role_recipients(instance, role: core.RoleActor):
    """The users holding `role` where the item needs it. When it is vacant there, those who stand
    in for it (the core decides who: the fallback role's holders there, else the holders of the
    community's admin roles), so a message to a vacant role reaches someone, never nobody."""
    community_id = instance.community_id
    places = core.Facts(item_units=facts_for(None, instance).item_units, units_by_key=_UnitKeys(community_id))
    target = None if role.scope == "community" else core.target_of(role, places)
    admin = policy.admin_roles(community_id)
    wanted = {role.role, role.fallback} - {""}
    assignments = list(policy.current_assignments().filter(community_id=community_id, role__in=wanted | admin)
                       .select_related("unit", "person__user").prefetch_related("unit__covers").order_by("pk"))
    paths = {a.pk: {a.unit.path, *(covered.path for covered in a.unit.covers.all())} for a in assignments}
    holders = {key: set() for key in wanted}
    for assignment in assignments:
        if assignment.role in holders:
            holders[assignment.role] |= paths[assignment.pk]
    to = core.stand_in_at(role, holders, target)
    if to == "":
        return [a.person.user for a in assignments if a.role in admin and a.person.user_id]
    key = role.role if to is None else to
    return [a.person.user for a in assignments
            if a.role == key and a.person.user_id and core.held_at(paths[a.pk], target, role.scope)]


def _carry_out(instance, flow, kind, spec, *, user, inputs, now, event, index):
    from engine.services import org, points

    submission = instance.submission
    data = submission.data
    community = instance.community
    if kind in ("award_points", "deduct_points"):
        change = points.award if kind == "award_points" else points.deduct
        for number, recipient in enumerate(_recipients(instance, spec["to"], user)):
            person = person_of(recipient, community, create=True)
            change(person=person, rule=spec.get("rule"), category=spec.get("category"), points=spec.get("points"),
                   reason=str(spec.get("reason") or f"{flow.key}: {event.transition}"), submission=submission,
                   idempotency_key=f"flow:{instance.pk}:{event.pk}:{index}:{number}", user=user)
    elif kind == "notify":
        message = spec["message"] if isinstance(spec["message"], str) else spec["message"].get("zh-hans", "")
        users = {u.pk: u for u in _recipients(instance, spec["to"], user)}.values()
        Notification.objects.bulk_create([Notification(user=u, community=community, instance=instance,
                                                       message=message[:500]) for u in users])
        if "email" in spec.get("channels", []):
            emails = [u.email for u in users if u.email]
            if emails:
                from django.core.mail import send_mail

                transaction.on_commit(lambda: send_mail(f"[{community.name}] {submission.reference}", message,
                                                        None, emails, fail_silently=True))
    elif kind == "assign":
        target = spec["to"]
        if target == "actor":
            assignee = user
        elif isinstance(target, dict):
            found = _recipients(instance, target, user)
            assignee = found[0] if found else None
        else:
            value = _value(target, data, inputs)
            person = (Person.objects.filter(community=community, pk=value, active=True).select_related("user").first()
                      if isinstance(value, int) or (isinstance(value, str) and value.isdigit()) else None)
            assignee = person.user if person else None
            if assignee is None:  # (an input was looked up before; a form's field may name anyone)
                pointer = ("/data/" + target.split(".", 1)[1] if target.startswith("input.")
                           else "/" + target.replace(".", "/"))
                raise TransitionError("nobody to assign", reason="assign", state=instance.state, errors=[
                    FieldError(pointer, "unknown_person", {
                        "zh-hans": "所选人员不是本社区可登录的在册人员",
                        "en": "The person chosen is not an active person of this community with an account"})])
        if assignee is None:
            raise TransitionError("nobody to assign", reason="assign", state=instance.state)
        FlowInstance.objects.filter(pk=instance.pk).update(assignee=assignee)
        instance.assignee = assignee
    elif kind == "set":
        changed = {**data, **spec}
        Submission.objects.filter(pk=submission.pk).update(data=changed)
        AuditEvent.objects.create(community=community, instance=instance, actor=user, transition=f"set:{event.transition}",
                                  from_state=instance.state, to_state=instance.state,
                                  data={"changed": {k: {"from": data.get(k), "to": v} for k, v in spec.items()}})
        submission.data = changed
    elif kind in ("claim_post", "release_post"):
        person = person_of(submission.submitter, community, create=True)
        unit = org.unit_by_key(community, _value(spec["unit"], data, inputs))
        post = _value(spec["post"], data, inputs)
        if kind == "claim_post":
            org.claim_post(person=person, post=post, unit=unit, submission=submission)
        else:
            org.release_post(person=person, post=post, unit=unit)
    elif kind == "register_member":
        person = person_of(submission.submitter, community, create=True)
        unit = org.unit_by_key(community, _value(spec["unit"], data, inputs))
        teams = _value(spec["teams"], data, inputs) if spec.get("teams") else []
        org.register_member(person=person, unit=unit, teams=teams or [], submission=submission)
    elif kind == "register_unit":
        unit = submission.unit or OrgUnit.objects.filter(community=community, depth=1).first()
        org.register_unit(community=community, organisation=str(_value(spec["organisation"], data, inputs)),
                          unit=unit, submission=submission)
    elif kind == "reserve_stock":
        person = person_of(submission.submitter, community, create=True)
        quantity = _value(spec["quantity"], data, inputs) if spec.get("quantity") else 1
        points.redeem(person=person, item_key=_value(spec["item"], data, inputs), quantity=quantity or 1,
                      user=user, submission=submission)
    elif kind in ("hand_out", "release_stock"):
        from engine.models import Redemption

        redemption = Redemption.objects.filter(submission=submission, status=Redemption.Status.RESERVED).first()
        if redemption is not None:
            (points.hand_out if kind == "hand_out" else points.cancel)(redemption, user=user)
    elif kind in ("publish_announcement", "publish_honour", "publish_notice"):
        transaction.on_commit(lambda: publication_requested.send(sender=FlowInstance, instance=instance, kind=kind,
                                                                 spec=spec))
    elif kind == "timer":
        _schedule(instance, spec, now)
    elif kind == "cancel_timers":
        Timer.objects.filter(instance=instance, state=spec["state"], fired_at__isnull=True).update(cancelled=True)
    elif kind == "finish":
        FlowInstance.objects.filter(pk=instance.pk).update(finished_at=now, due_at=None)
    # "open_vote" and "countersigned" need nothing beyond the audit event already written


def _schedule(instance, spec, now, update_due=True, due=None):
    zone = clock.community_tz(instance.community_id)  # working days on the community's dates
    due = due or deadline(now, spec["after"], zone)
    if spec.get("reminder"):
        Timer.objects.create(instance=instance, state=spec["state"], reminder=spec["reminder"],
                             due_at=max(now, before(due, spec["remind_before"], zone)))
    else:
        Timer.objects.create(instance=instance, state=spec["state"], transition=spec.get("transition", ""),
                             close_vote=bool(spec.get("close_vote")), due_at=due)
        if update_due and (spec.get("transition") or spec.get("close_vote")):
            FlowInstance.objects.filter(pk=instance.pk).update(due_at=due)
    from .tasks import fire_timers

    # enqueued in this transaction: the task exists exactly when the timer does
    _enqueue(fire_timers, due)


def _enqueue(task, due):
    from django.tasks import task_backends

    backend = task_backends["default"]
    if getattr(backend, "supports_defer", False):
        task.using(run_after=due).enqueue()
    # Backends that cannot defer (tests, immediate) rely on `manage.py fire_timers`, which the
    # worker host runs every minute; firing twice is harmless (see fire_due_timers).


# ---------------------------------------------------------------- timers and votes


def fire_due_timers(now=None) -> int:
    """Take every timer transition (and close every vote) that is due. Each fires once: the
    timer row is claimed with a conditional update in the transition's own transaction."""
    now = now or clock.now()
    fired = 0
    for timer in Timer.objects.filter(fired_at__isnull=True, cancelled=False, due_at__lte=now).order_by("due_at"):
        try:
            with clock.frozen(now), transaction.atomic():  # what the timer sets off starts from `now`
                if not Timer.objects.filter(pk=timer.pk, fired_at__isnull=True).update(fired_at=now):
                    continue
                instance = FlowInstance.objects.get(pk=timer.instance_id)
                if instance.state != timer.state:
                    continue  # the item left the state before the deadline
                if timer.reminder:
                    _remind(instance, timer.reminder)
                elif timer.close_vote:
                    close_vote(instance)
                else:
                    take(instance_id=instance.pk, name=timer.transition, timer=True)
                fired += 1
        except (TransitionError, ObjectDoesNotExist) as error:
            fired += _refused(timer, error, now)
    return fired


def _refusal_message(error) -> dict:
    """Why a timer's step was refused, in both languages: the effect's own words (the post and
    the unit named) when a person's refusal caused it, else the step's reason."""
    cause = error.__cause__ if isinstance(error.__cause__, PersonError) else error
    if isinstance(cause, PersonError):
        return {"zh-hans": cause.text("zh-hans"), "en": cause.text("en")}
    why = getattr(error, "reason", "") or type(error).__name__
    return {"zh-hans": f"无法执行（{why}）", "en": f"it could not be carried out ({why})"}


def _refused(timer, error, now) -> int:
    """A timer whose step (or vote outcome) was refused — the post filled up meanwhile — leaves
    the item where a person sees it, in a transaction of its own (the refused step's was undone):
    the state's `on_refused` transition when the flow names one and it can be taken; otherwise
    the item is flagged stalled with the reason (FlowInstance.stalled_at, stalled_reason), the
    refusal goes in its history and the community's admins are told. The timer is marked fired
    either way: never dropped in silence, never retried for ever. 1 when it fired, else 0."""
    with clock.frozen(now), transaction.atomic():
        if not Timer.objects.filter(pk=timer.pk, fired_at__isnull=True).update(fired_at=now):
            return 0
        instance = FlowInstance.objects.select_related("community", "submission").get(pk=timer.instance_id)
        if instance.state != timer.state or instance.finished_at is not None:
            return 0
        flow = compiled(instance)
        state = flow.states.get(instance.state)
        refused = timer.transition or ""
        message = _refusal_message(error)
        title = flow.transitions[refused].title if refused in flow.transitions else refused
        fallback = state.on_refused if state is not None else ""
        if fallback and fallback != refused:
            try:
                with transaction.atomic():
                    take(instance_id=instance.pk, name=fallback, timer=True,
                         comment=_refusal_comment(title, message, "zh-hans"))
                return 1
            except (TransitionError, ObjectDoesNotExist) as second:  # the fallback refused too: flag the item
                error, message = second, _refusal_message(second)
                refused, title = fallback, flow.transitions[fallback].title
        _stall(instance, refused, title, error, message, now)
    return 1


def _refusal_comment(title, message, language) -> str:
    """"“公示期满上岗”未能执行: …": the words of a refused timer step, as its history shows them."""
    from engine.forms.spec import text

    with translation.override(language):
        return gettext("“%(step)s” was refused: %(reason)s") % {
            "step": text(title, language) or gettext("Closing the vote"),
            "reason": message.get(language) or message["zh-hans"]}


def _stall(instance, refused, title, error, message, now):
    """Flag the item for the community's staff: the reason on the item, an event in its history,
    a notification to the holders of the community's admin roles (in the site's language)."""
    from django.conf import settings

    reason = {"transition": refused, "code": getattr(error, "reason", "") or type(error).__name__,
              "message": message}
    FlowInstance.objects.filter(pk=instance.pk).update(stalled_at=now, stalled_reason=reason)
    AuditEvent.objects.create(community=instance.community, instance=instance, actor_kind="timer",
                              transition=f"stalled:{refused}"[:64], from_state=instance.state, to_state=instance.state,
                              comment=_refusal_comment(title, message, "zh-hans"), data={"stalled": reason})
    language = settings.LANGUAGE_CODE
    with translation.override(language):
        words = gettext("%(reference)s is held up and needs you: %(reason)s") % {
            "reference": instance.submission.reference, "reason": _refusal_comment(title, message, language)}
    Notification.objects.bulk_create([Notification(user_id=user, community=instance.community, instance=instance,
                                                   message=words[:500])
                                      for user in sorted(policy.admins_of(instance.community))])


def stalled_items(user):
    """The open items held up by a refused timer step in the communities the user administers
    (policy.is_admin), longest held up first: for their inbox."""
    if not user.is_authenticated:
        return FlowInstance.objects.none()
    stalled = FlowInstance.objects.filter(stalled_at__isnull=False, finished_at__isnull=True)
    from engine.models import Community

    ids = [community.pk for community in Community.objects.filter(pk__in=stalled.values("community"))
           if policy.is_admin(user, community)]
    return (stalled.filter(community_id__in=ids).select_related("submission", "community", "flow_version")
            .defer("flow_version__content", "flow_version__source").order_by("stalled_at"))


def _remind(instance, reminder):
    message = reminder["message"] if isinstance(reminder["message"], str) else reminder["message"].get("zh-hans", "")
    users = {u.pk: u for u in _recipients(instance, reminder["to"], None)}.values()
    Notification.objects.bulk_create([Notification(user=u, community=instance.community, instance=instance,
                                                   message=message[:500]) for u in users])


# ---------------------------------------------------------------- reassigning and commenting


def may_assign(user, instance) -> bool:
    """Who may hand an item to someone else: the community's admins, whoever could take a step
    from here that assigns, and the assignee themself (delegation)."""
    from engine import policy

    if not user.is_authenticated:
        return False
    if instance.assignee_id == user.pk or policy.is_admin(user, instance.community):
        return True
    flow = compiled(instance)
    facts = facts_for(user, instance)
    return any(any("assign" in action for action in t.actions) and core.actor_matches(t.actor, facts)
               for t in flow.transitions.values() if instance.state in t.sources)


def reassign(*, instance, person: Person, user, comment="") -> FlowInstance:
    if person.user_id is None or person.community_id != instance.community_id:
        raise TransitionError("this person has no account in the community", reason="assignee", state=instance.state)
    with transaction.atomic():
        locked = FlowInstance.objects.select_for_update().get(pk=instance.pk)
        if locked.finished_at is not None:
            raise TransitionConflict("the item is finished", reason="finished", state=locked.state)
        if not may_assign(user, locked):
            raise TransitionNotAllowed("may not reassign", reason="not_actor", state=locked.state)
        previous = locked.assignee_id
        FlowInstance.objects.filter(pk=locked.pk).update(assignee=person.user, version=F("version") + 1)
        AuditEvent.objects.create(community=locked.community, instance=locked, actor=user, transition="reassign",
                                  from_state=locked.state, to_state=locked.state, comment=comment,
                                  data={"from": previous, "to": person.user_id})
        Notification.objects.create(user=person.user, community=locked.community, instance=locked,
                                    message=f"{locked.submission.reference} 已转交给您办理")
        locked.refresh_from_db()
    return locked


def add_comment(*, instance, user, text) -> AuditEvent:
    text = (text or "").strip()
    if not text:
        raise TransitionError("empty comment", reason="comment", state=instance.state,
                              errors=[FieldError("/comment", "required", {"zh-hans": "请填写意见", "en": "Write a comment"})])
    return AuditEvent.objects.create(community=instance.community, instance=instance, actor=user, transition="comment",
                                     from_state=instance.state, to_state=instance.state, comment=text[:2000])


def electorate(instance, state) -> list[Person]:
    vote = compiled(instance).states[state].vote
    facts_units = facts_for(None, instance).item_units
    units_by_key = dict(OrgUnit.objects.filter(community=instance.community).values_list("key", "path"))
    voters = []
    for holder in policy.current_assignments().filter(community=instance.community, role=vote.electorate.role
                                                      ).select_related("unit", "person").order_by("pk"):
        facts = core.Facts(roles=frozenset({(holder.role, holder.unit.path)}), item_units=facts_units,
                           units_by_key=units_by_key)
        if core.role_matches(vote.electorate, facts) and holder.person not in voters:
            voters.append(holder.person)
    return voters


def cast_ballot(instance, *, voter: Person, option: str, paper=False, proxy: Person | None = None, entered_by=None,
                now=None) -> Ballot:
    """One ballot per voter while the vote is open. Who may enter a ballot for another (paper
    ballots, proxies) is the caller's question to policy.may_enter_ballots; `entered_by` is kept
    on the ballot, and the item's history lists such ballots (entered_ballots)."""
    now = now or timezone.now()
    with transaction.atomic():
        instance = FlowInstance.objects.select_for_update().get(pk=instance.pk)
        state = compiled(instance).states.get(instance.state)
        if state is None or state.vote is None:
            raise TransitionConflict("no vote is open on this item", reason="no_vote", state=instance.state)
        window_end = deadline(instance.entered_at, state.vote.window, clock.community_tz(instance.community_id))
        if now >= window_end:
            raise TransitionConflict("the vote has closed", reason="vote_closed", state=instance.state)
        if option not in state.vote.options:
            raise TransitionError(f"unknown option {option!r}", reason="option", state=instance.state)
        if voter not in electorate(instance, instance.state):
            raise TransitionNotAllowed("not in the electorate", reason="not_actor", state=instance.state)
        if (paper or proxy) and not state.vote.paper_ballots and paper:
            raise TransitionNotAllowed("paper ballots are not taken", reason="paper", state=instance.state)
        if proxy is not None:
            held = Ballot.objects.filter(instance=instance, state=instance.state, proxy=proxy).count()
            if held >= state.vote.max_proxies:
                raise TransitionNotAllowed("too many proxies", reason="proxy", state=instance.state)
        if Ballot.objects.filter(instance=instance, state=instance.state, voter=voter).exists():
            raise TransitionConflict("already voted", reason="voted", state=instance.state)
        try:
            with transaction.atomic():  # the database keeps one ballot per voter when two race past the check
                return Ballot.objects.create(instance=instance, state=instance.state, voter=voter, option=option,
                                             paper=paper, proxy=proxy, entered_by=entered_by)
        except IntegrityError:
            raise TransitionConflict("already voted", reason="voted", state=instance.state) from None


def entered_ballots(instance) -> list[Ballot]:
    """The ballots someone entered for another voter (a paper ballot, a proxy's, or any ballot not
    entered by the voter's own account), oldest first, with the voter, the proxy and who entered
    it: what the item's history shows so that ballots entered by staff can be checked. A ballot
    the voter cast themself is not listed (nor is any ballot's option)."""
    ballots = (Ballot.objects.filter(instance=instance).select_related("voter", "proxy", "entered_by")
               .order_by("created_at", "pk"))
    return [b for b in ballots if b.paper or b.proxy_id is not None
            or (b.entered_by_id is not None and b.entered_by_id != b.voter.user_id)]


def close_vote(instance) -> core.Tally:
    flow = compiled(instance)
    state = flow.states[instance.state]
    ballots = list(Ballot.objects.filter(instance=instance, state=instance.state).values_list("option", flat=True))
    result = core.tally(state.vote, ballots, len(electorate(instance, instance.state)))
    name = core.vote_outcome_transition(state, result)
    take(instance_id=instance.pk, name=name, vote=True)
    AuditEvent.objects.create(community=instance.community, instance=instance, actor_kind="vote",
                              transition=f"tally:{name}", from_state=state.name, data={
                                  "electorate": result.electorate, "cast": result.cast, "counts": result.counts,
                                  "outcome": result.outcome,
                                  "paper": Ballot.objects.filter(instance=instance, state=state.name, paper=True).count(),
                                  "proxy": Ballot.objects.filter(instance=instance, state=state.name,
                                                                 proxy__isnull=False).count()})
    return result


def overdue(queryset, now=None):
    return queryset.filter(clock.overdue_q(now))


_ = datetime
