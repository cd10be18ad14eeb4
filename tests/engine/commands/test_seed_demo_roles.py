"""The demo's accounts are enough to run every shipped flow: after `load_definitions` and
`seed_demo`, every flow of every example community is driven from submission to a final state
using only demo accounts (and the clock and the ballot box), every role a flow names has a holder
at the demo resident's units, every account signs in with the demo password and has a number of
its own, and a second `seed_demo` changes nothing.

The drive picks its path generically: at each state it gathers the steps open to each demo
account (engine.workflow.adapter.open_transitions), the timers due in the state and, in a vote,
its outcomes; it prefers a step not taken yet, then one from which the most steps not yet taken
can be reached. It fills a step's input from its spec (a person is a demo person, a choice its
first choice, text 测试, a form a valid instance of that form; values a guard reads are tried
until the guard holds), casts each demo voter's ballot for the outcome it wants and closes the
vote by firing its timer, and fires timers far in the future. It drives each flow again until a
drive takes no step it had not taken before, so every step of every flow is taken at least once.
"""

from __future__ import annotations

import datetime
import io
import itertools
import re
from dataclasses import dataclass, field

import pytest
from django.core.exceptions import ValidationError
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import IntegrityError, OperationalError
from django.utils import timezone

from engine import demo, policy
from engine.definitions import guards
from engine.forms.registry import form_spec
from engine.forms.validation import validate
from engine.models import (AuditEvent, Community, Definition, FlowInstance, LedgerEntry, Notification, Person,
                           PostAssignment, RoleAssignment, Submission, Timer)
from engine.points.core import window_open
from engine.services import points
from engine.services.submissions import check_names_and_files, submit
from engine.workflow import adapter, core
from engine.workflow.simulate import sample_data
from tests.concurrency import race

PHONE = re.compile(r"^1[3-9]\d{9}$")
FAR_FUTURE = datetime.timedelta(days=3650)
MAX_STEPS = 40  # per drive; after half of them a drive heads for the nearest final state


def load():
    call_command("load_definitions", stdout=io.StringIO(), stderr=io.StringIO())


def seed():
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def communities():
    return list(Community.objects.filter(kind=Community.Kind.COMMUNITY).order_by("slug"))


def community_data(community):
    return Definition.objects.get(community=community, kind="community").live_version.data


def live_flows(community):
    return list(Definition.objects.filter(community=community, kind="flow", live_version__isnull=False)
                .select_related("live_version").order_by("key"))


def demo_users(community):
    """The community's demo accounts (the four people, then one per role), never the superuser."""
    User = get_user_model()
    personas = [User.objects.get(username=name) for name in demo.demo_usernames(community.slug)]
    named = set().union(*(demo.roles_named(adapter.compiled(f.live_version)) for f in live_flows(community)))
    roles = sorted({demo.role_username(community.slug, key) for key in named} - {u.username for u in personas})
    return personas + [User.objects.get(username=name) for name in roles]


def resident_units(community):
    """The demo resident's unit and the units above it, nearest first."""
    person = Person.objects.select_related("unit").get(community=community, user__username=f"{community.slug}-resident")
    return [person.unit, *list(person.unit.get_ancestors())[::-1]]


def open_store_day(today):
    """The first day from `today` on when every example community's points store is open."""
    windows = [community_data(c).get("points", {}).get("store", {}).get("window") for c in communities()]
    for offset in range(0, 800):
        day = today + datetime.timedelta(days=offset)
        if all(window_open(w, day) for w in windows):
            return day
    raise AssertionError("no day in the next two years opens every example store")


# ---------------------------------------------------------------- names and numbers (no database)


def test_roles_named_finds_every_place_a_flow_names_a_role():
    flow = core.compile_flow({
        "flow": "f", "form": "f", "start": "new",
        "states": {
            "new": {"title": "新", "due": "3d", "on_timeout": "late",
                    "remind": {"before": "1d", "to": [{"role": "reminded"}, "assignee"], "message": "快"}},
            "vote": {"title": "表决", "vote": {"electorate": {"role": "voter", "scope": "submitter_unit", "level": "grid"},
                                              "window": "7d", "quorum": "1/2",
                                              "threshold": {"option": "yes", "ratio": "1/2"},
                                              "outcomes": {"passed": "done", "failed": "done"}}},
            "end": {"title": "完", "final": True},
        },
        "transitions": [
            {"name": "go", "from": "new", "to": "vote", "by": {"all_of": [
                {"role": "signer", "scope": "submitter_unit", "level": "compound"},
                {"any_of": [{"role": "either"}, {"role": "or_this"}]}]},
             "input": {"who": {"type": "person", "role": "picked"}},
             "actions": [{"notify": {"to": ["submitter", {"role": "told"}], "message": "好"}},
                         {"assign": {"to": {"role": "assigned"}}},
                         {"award_points": {"to": {"role": "paid"}, "rule": "r"}}]},
            {"name": "late", "from": "new", "to": "end", "by": "timer"},
            {"name": "done", "from": "vote", "to": "end", "by": "vote"},
            {"name": "mine", "from": "new", "to": "end", "by": "submitter"},
        ],
    })
    assert demo.roles_named(flow) == {"reminded", "voter", "signer", "either", "or_this", "picked", "told",
                                      "assigned", "paid"}
    references = demo.role_references(flow)
    assert core.RoleActor("voter", "submitter_unit", "grid") in references
    assert core.RoleActor("signer", "submitter_unit", "compound") in references
    assert len(references) == len(set(references))


def test_demo_names_and_numbers():
    assert demo.role_username("minyue", "branch_secretary") == "minyue-branch-secretary"
    assert demo.demo_phone(1, 4) == "13900000104" and PHONE.match(demo.demo_phone(99, 99))
    assert demo.persona_phone(2, "secretary") == "13900000201"
    assert demo.role_phones(1, ["b_role", "a_role", "a_role"]) == {"a_role": "13900000110", "b_role": "13900000111"}
    for community, account in ((0, 1), (1, 0), (100, 1), (1, 100)):
        with pytest.raises(ValueError):
            demo.demo_phone(community, account)


# ---------------------------------------------------------------- the accounts


@pytest.mark.django_db
def test_every_role_a_shipped_flow_names_has_a_demo_holder_at_the_demo_residents_units():
    load()
    seed()
    checked = 0
    for community in communities():
        roles = {r["key"]: r for r in community_data(community)["roles"]}
        chain = resident_units(community)
        item_units = {}
        for unit in chain:
            item_units.setdefault(unit.level, unit.path)
        usernames = {u.username for u in demo_users(community)}
        for record in live_flows(community):
            for reference in demo.role_references(adapter.compiled(record.live_version)):
                holders = (policy.current_assignments().filter(community=community, role=reference.role,
                                                               person__user__username__in=usernames)
                           .select_related("unit", "person__user"))
                matching = [h for h in holders if h.unit in chain and core.role_matches(
                    reference, core.Facts(roles=frozenset({(h.role, h.unit.path)}), item_units=item_units,
                                          units_by_key={u.key: u.path for u in chain}))]
                assert matching, f"{community.slug}/{record.key}: nobody holds {reference} at the resident's units"
                # the account named after the role holds it (or the contract's account of that name)
                assert demo.role_username(community.slug, reference.role) in {h.person.user.username for h in holders}
                spec = roles[reference.role]
                for holder in holders:
                    assert holder.organisation == spec.get("organisation", "")
                    if not spec.get("level"):
                        assert holder.unit.depth == 1  # a role with no level: the community's root
                checked += 1
    assert checked >= 20  # the example flows name roles in some twenty distinct ways


@pytest.mark.django_db
def test_the_role_accounts_are_named_after_their_roles_and_held_where_the_resident_lives():
    load()
    seed()
    minyue = Community.objects.get(slug="minyue")
    branch = Person.objects.get(community=minyue, user__username="minyue-branch-secretary")
    liaison = Person.objects.get(community=minyue, user__username="minyue-street-liaison")
    chain = resident_units(minyue)
    compound = next(u for u in chain if u.level == "compound")
    assert list(branch.roles.values_list("role", "unit", "organisation")) == [
        ("branch_secretary", compound.pk, "party_branch")]
    assert list(liaison.roles.values_list("role", "unit__depth", "organisation")) == [("street_liaison", 1, "")]
    assert branch.user.is_staff and branch.user.groups.filter(name="Linli staff").exists()
    household = get_user_model().objects.get(username="minyue-household-representative")
    assert not household.is_staff  # community.yaml does not make household representatives staff
    # a role key that is also one of the contract's four accounts: that account holds it, no second account
    assert not get_user_model().objects.filter(username__in=["minyue-grid-leader-2", "minyue-member-2"]).exists()
    grid_leader = Person.objects.get(community=minyue, user__username="minyue-grid-leader")
    assert grid_leader.roles.filter(role="grid_leader", unit=chain[0]).exists()
    # zanan's community worker is a role of the residents' committee
    worker = Person.objects.get(community__slug="zanan", user__username="zanan-community-worker")
    assert list(worker.roles.values_list("role", "organisation")) == [("community_worker", "residents_committee")]


@pytest.mark.django_db
def test_every_demo_account_signs_in_with_the_demo_password_and_has_a_number_of_its_own(client):
    load()
    output = seed()
    phones = {}
    for community in communities():
        users = demo_users(community)
        assert len(users) > 4  # the four people and the role accounts
        for user in users:
            assert user.check_password(demo.DEMO_PASSWORD), user.username
            assert client.login(username=user.username, password=demo.DEMO_PASSWORD), user.username
            client.logout()
            person = Person.objects.get(community=community, user=user)
            assert person.active and PHONE.match(person.phone), (user.username, person.phone)
            assert person.phone not in phones, (user.username, phones.get(person.phone))
            phones[person.phone] = user.username
            assert person.phone in output and user.username in output  # the command lists both
    # the number of a demo account belongs to no other active person: phone sign-in finds that account
    from engine.services.accounts import account_for_phone

    for phone, username in phones.items():
        assert Person.objects.filter(phone=phone, active=True).count() == 1
        assert account_for_phone(phone, create=False).username == username
    assert phones[demo.persona_phone(1, "resident")] == "minyue-resident"
    response = client.post("/api/v1/auth/token/", {"username": "minyue-street-liaison", "password": "linli-demo"},
                           content_type="application/json")
    assert response.status_code == 200 and len(response.json()["token"]) == 40


@pytest.mark.django_db
def test_the_demo_banner_names_the_sign_in_page_and_every_demo_account():
    load()
    seed()
    out = io.StringIO()
    call_command("demo_banner", "--port", "8123", stdout=out)
    banner = out.getvalue()
    assert "http://127.0.0.1:8123/login/" in banner
    for line in ("http://127.0.0.1:8123/admin/", "/inbox/", "/my/", "/api/v1/schema/", demo.DEMO_PASSWORD):
        assert line in banner  # what it printed before is still there
    for community in communities():
        for user in demo_users(community):
            assert re.search(rf"\b{re.escape(user.username)}\b", banner), user.username
    assert "minyue-street-liaison" in banner and "zanan-self-governance-member" in banner


@pytest.mark.django_db
def test_the_readme_lists_every_demo_account_with_its_role_and_number():
    from pathlib import Path

    load()
    seed()
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    rows = {m[1]: (m[2], m[3]) for m in re.finditer(r"^\| `([a-z-]+)` \| [^|]*\((\w+)\) \| `(\d{11})` \|$",
                                                       readme, flags=re.M)}
    listed = set()
    for community in communities():
        for user in demo_users(community):
            person = Person.objects.get(community=community, user=user)
            assert user.username in rows, f"README.md does not list {user.username}"
            role, phone = rows[user.username]
            assert phone == person.phone, user.username
            assert person.roles.filter(role=role).exists(), (user.username, role)
            listed.add(user.username)
    assert set(rows) == listed  # and nobody who is not a demo account


def snapshot():
    User = get_user_model()
    return {
        "users": sorted(User.objects.values_list("pk", "username", "password", "first_name", "email", "is_staff",
                                                 "is_superuser", "is_active", "last_login")),
        "groups": sorted(User.groups.through.objects.values_list("user_id", "group_id")),
        "people": sorted(Person.objects.values_list("pk", "community_id", "user_id", "name", "phone", "unit_id",
                                                    "is_member", "active", "contact_consent", "show_name_publicly")),
        "roles": sorted(RoleAssignment.objects.values_list("pk", "person_id", "role", "unit_id", "organisation",
                                                           "since", "until")),
        "counts": {model.__name__: model.objects.count() for model in (Submission, FlowInstance, LedgerEntry,
                                                                       PostAssignment, Notification, AuditEvent)},
    }


@pytest.mark.django_db
def test_a_second_seed_demo_changes_nothing():
    load()
    seed()
    first = snapshot()
    seed()
    assert snapshot() == first
    assert len(first["users"]) > 20


@pytest.mark.django_db
def test_seed_demo_puts_back_what_someone_changed_on_a_demo_account():
    load()
    seed()
    user = get_user_model().objects.get(username="minyue-property-manager")
    person = Person.objects.get(user=user)
    phone = person.phone
    user.set_password("something-else-1")
    user.save()
    person.phone, person.active = "", False
    person.save()
    person.roles.update(until=timezone.localdate() - datetime.timedelta(days=1))
    seed()
    user.refresh_from_db()
    person.refresh_from_db()
    assert user.check_password(demo.DEMO_PASSWORD)
    assert person.active and person.phone == phone and PHONE.match(phone)
    assert policy.current_assignments().filter(person=person, role="property_manager").exists()
    assert RoleAssignment.objects.filter(person=person).count() == 1  # put back, not doubled


@pytest.mark.django_db
def test_a_number_that_is_someone_elses_stops_seed_demo_and_nothing_is_written():
    load()
    zanan = Community.objects.get(slug="zanan")
    wanted = demo.persona_phone(1, "resident")  # minyue-resident's number
    Person.objects.create(community=zanan, name="王五", phone=wanted)
    with pytest.raises(CommandError) as refused:
        seed()
    assert wanted in str(refused.value) and "王五" in str(refused.value) and "minyue-resident" in str(refused.value)
    assert not get_user_model().objects.filter(username__startswith="minyue-").exists()
    assert not get_user_model().objects.filter(username="admin").exists()
    assert Person.objects.filter(user__isnull=False).count() == 0


@pytest.mark.django_db(transaction=True)
def test_two_seed_demo_runs_racing_leave_one_account_person_and_role_each():
    from tests.test_production import wagtail_home

    wagtail_home()  # an earlier transactional test may have emptied Wagtail's tree
    load()
    results, errors = race(2, lambda n: seed())
    # the loser of the race is refused by a constraint: the database's, or Wagtail's unique page slug
    assert all(isinstance(e, (IntegrityError, OperationalError, ValidationError)) for e in errors), errors
    assert len(results) >= 1
    seed()  # whatever the race left, a further run completes it
    User = get_user_model()
    for community in communities():
        for user in demo_users(community):
            assert Person.objects.filter(community=community, user=user).count() == 1
        people = Person.objects.filter(community=community, user__isnull=False)
        assert len(set(people.values_list("phone", flat=True))) == people.count()
    assert User.objects.filter(username="admin").count() == 1
    holdings = list(RoleAssignment.objects.values_list("person", "role", "unit", "organisation"))
    assert len(holdings) == len(set(holdings))


# ---------------------------------------------------------------- driving every flow


@dataclass
class Move:
    transition: core.Transition
    kind: str  # person | timer | vote
    users: list = field(default_factory=list)
    outcome: str = ""  # a vote's outcome: passed | failed | no_quorum


@dataclass
class Step:
    source: str
    transition: str
    actor: str  # a username, "timer" or "vote"
    target: str
    visible: bool = True  # could the actor open the item (policy.can_view_submission)?


class Driver:
    """Drives one community's flows with its demo accounts only."""

    def __init__(self, community):
        self.community = community
        self.users = demo_users(community)
        self.usernames = {u.username for u in self.users}
        self.people = [Person.objects.get(community=community, user=u) for u in self.users]
        self.chain = resident_units(community)
        self.data = community_data(community)
        self.forms = {d.key: d for d in Definition.objects.filter(community=community, kind="form",
                                                                  live_version__isnull=False)
                      .select_related("live_version")}
        self.acted: dict[str, int] = {u.username: 0 for u in self.users}
        self.voted: set[str] = set()
        self.superuser = get_user_model().objects.get(username="admin")
        self.superuser_only: list = []  # (flow, state, transition) open to the superuser and no demo account

    # -- what to submit and enter

    def names(self, walk, submitter):
        unit = self.chain[0]
        posts = [p for c in self.data.get("posts", {}).get("categories", []) for p in c["posts"]]
        free = [p["key"] for p in posts if p.get("level", unit.level) == unit.level
                and PostAssignment.objects.filter(post=p["key"], unit=unit, until__isnull=True).count() < p["capacity"]
                and not PostAssignment.objects.filter(post=p["key"], unit=unit, until__isnull=True,
                                                      person__user=submitter).exists()]
        items = [i["key"] for i in self.data.get("points", {}).get("store", {}).get("items", [])]
        teams = [t["key"] for t in self.data.get("teams", [])]
        pick = lambda keys: [keys[walk % len(keys)]] if keys else []  # noqa: E731 - a new name each drive
        return {"unit": [unit.key], "post": pick(free), "store-item": pick(items), "team": teams[:1]}

    def sample(self, record, walk, submitter):
        version = record.live_version
        data = sample_data(version.data, version.content.get("shared", {}), self.names(walk, submitter))
        return without_files(form_spec(version).fields, data)

    def submitter(self, record):
        """The demo resident, or (for a form for members only) the first demo account who may submit it."""
        spec = form_spec(self.forms[record.live_version.data["form"]].live_version)
        ordered = sorted(self.users, key=lambda u: u.username != f"{self.community.slug}-resident")
        return next(u for u in ordered if policy.can_submit(u, spec, self.community))

    def inputs(self, transition, instance, walk):
        """Inputs for the step that its form (or inline spec) accepts and its guard allows, or None."""
        data = instance.submission.data
        if transition.form:
            record = self.forms[transition.form]
            spec = form_spec(record.live_version)
            base = self.sample(record, walk, instance.submission.submitter)
            choices = {f.name: candidates(f.type, f) for f in spec.fields}
        else:
            spec = None
            person = self.people[walk % len(self.people)]  # a demo person, another one each drive
            values = {"person": person.pk, "text": "测试", "number": 1, "boolean": True,
                      "date": timezone.localdate().isoformat(), "unit": self.chain[0].key}
            base = {key: s["choices"][0] if s.get("type") == "choice" and s.get("choices")
                    else values.get(s.get("type"), "测试") for key, s in transition.inputs.items()}
            choices = {key: (list(s["choices"]) if s.get("type") == "choice" else [True, False]
                             if s.get("type") == "boolean" else [base[key]]) for key, s in transition.inputs.items()}
        read = [n.path[1] for n in guards.names(transition.guard)
                if n.path[0] == "input" and len(n.path) > 1] if transition.guard is not None else []
        read = [name for name in dict.fromkeys(read) if name in choices]
        for values in itertools.product(*[choices[name] for name in read]):
            attempt = {**base, **dict(zip(read, values))}
            if spec is not None and validate(spec, attempt):
                continue
            if transition.guard is None or guards.truthy(guards.evaluate(transition.guard, data, attempt)):
                return attempt
        return None

    # -- what may happen next

    def moves(self, instance, walk):
        flow = adapter.compiled(instance)
        found: dict[str, Move] = {}
        for user in self.users:
            for option in adapter.open_transitions(user, instance):
                move = found.setdefault(option.transition.name, Move(option.transition, "person"))
                move.users.append(user)
        for option in adapter.open_transitions(self.superuser, instance):  # nothing only the superuser may do
            if option.transition.name not in found:
                self.superuser_only.append((instance.flow.key, instance.state, option.transition.name))
        for name in list(found):  # a step whose guard no input can satisfy is not a move
            if self.inputs(found[name].transition, instance, walk) is None:
                del found[name]
        for timer in Timer.objects.filter(instance=instance, state=instance.state, fired_at__isnull=True,
                                          cancelled=False, close_vote=False).exclude(transition=""):
            found.setdefault(timer.transition, Move(flow.transitions[timer.transition], "timer"))
        state = flow.states[instance.state]
        if state.vote is not None:
            for outcome, name in state.vote.outcomes.items():
                found.setdefault(name, Move(flow.transitions[name], "vote", outcome=outcome))
        return list(found.values())

    # -- taking one

    def take(self, instance, move, walk, steps):
        source = instance.state
        if move.kind == "timer":
            adapter.fire_due_timers(now=timezone.now() + FAR_FUTURE)
            actor = "timer"
        elif move.kind == "vote":
            self.vote(instance, move)
            actor = "vote"
        else:
            inputs = self.inputs(move.transition, instance, walk)
            while True:  # a countersign is signed seat by seat, each by another demo account
                user = min((u for u in move.users), key=lambda u: self.acted[u.username])
                visible = policy.can_view_submission(user, instance.submission)
                adapter.take(instance_id=instance.pk, name=move.transition.name, user=user, comment="测试",
                             inputs=inputs, expected_version=instance.version)
                self.acted[user.username] += 1
                instance.refresh_from_db()
                steps.append(Step(source, move.transition.name, user.username,
                                  instance.state if instance.state != source else "…", visible))
                if move.transition.actor.kind != "all_of" or instance.state != source:
                    return
                move.users = [u for u in self.users if any(o.transition.name == move.transition.name
                                                           for o in adapter.open_transitions(u, instance))]
                assert move.users, f"{move.transition.name}: seats of the countersign left that no demo account holds"
        instance.refresh_from_db()
        taken = instance.events.filter(actor_kind=actor, from_state=source, to_state=instance.state).order_by("-pk")
        steps.append(Step(source, taken.first().transition if taken.exists() else "?", actor, instance.state))

    def vote(self, instance, move):
        vote = adapter.compiled(instance).states[instance.state].vote
        voters = adapter.electorate(instance, instance.state)
        assert voters, f"{instance.state}: an empty electorate"
        assert all(p.user and p.user.username in self.usernames for p in voters), "a voter who is not a demo account"
        choice = {"passed": vote.option, "failed": next(o for o in vote.options if o != vote.option)}.get(move.outcome)
        if choice is not None:  # no_quorum: nobody votes
            for voter in voters:
                adapter.cast_ballot(instance, voter=voter, option=choice)
                self.voted.add(voter.user.username)
        adapter.fire_due_timers(now=timezone.now() + FAR_FUTURE)

    # -- a whole drive

    def drive(self, record, walk, untaken, steps) -> bool:
        """Submit one item and take steps until it is final (True) or MAX_STEPS were taken (False);
        `steps` receives each step as it is taken."""
        flow = adapter.compiled(record.live_version)
        submitter = self.submitter(record)
        form = self.forms[flow.form]
        data = self.sample(form, walk, submitter)
        errors, _ = check_names_and_files(form_spec(form.live_version), data, self.community, submitter, "")
        assert not errors, (record.key, [e.pointer for e in errors])
        submission = submit(form=form, data=data, user=submitter).submission
        instance = FlowInstance.objects.get(submission=submission)
        assert instance.flow_version_id == record.live_version_id
        steps.append(Step("", "submit", submitter.username, instance.state))
        for count in range(MAX_STEPS):
            if flow.states[instance.state].final:
                return True
            moves = self.moves(instance, walk)
            assert moves, (f"{self.community.slug}/{record.key}: no demo account, timer or vote can move the item "
                           f"on from {instance.state!r}; path so far {[s.transition for s in steps]}")
            if count >= MAX_STEPS // 2:  # long enough: head for the nearest final state
                move = min(moves, key=lambda m: distance_to_final(flow, m.transition.target))
            else:
                move = max(moves, key=lambda m: (m.transition.name in untaken,
                                                 len(reachable(flow, m.transition.target) & untaken)))
            before = (instance.state, instance.version)
            self.take(instance, move, walk, steps)
            instance.refresh_from_db()
            assert (instance.state, instance.version) != before, (
                f"{self.community.slug}/{record.key}: {move.kind} {move.transition.name} from {before[0]} "
                f"changed nothing; path {[s.transition for s in steps]}")
            untaken.discard(steps[-1].transition)
        return False


def without_files(fields, data):
    """The data without values of file fields: a drive uploads nothing (its token would be refused)."""
    if not isinstance(data, dict):
        return data
    result = {}
    for spec in fields:
        if spec.name not in data:
            continue
        value = data[spec.name]
        if spec.format == "file" or (spec.item is not None and spec.item.format == "file"):
            if spec.type == "array":
                result[spec.name] = []
            continue
        if spec.type == "object":
            value = without_files(spec.children, value)
        elif spec.type == "array" and spec.item is not None and spec.item.type == "object":
            value = [without_files(spec.item.children, row) for row in value]
        result[spec.name] = value
    return result


def candidates(kind, spec):
    """Values to try for a form field a guard reads."""
    if spec.choices:
        return [c.value for c in spec.choices]
    if kind == "boolean":
        return [True, False]
    low, high = spec.constraints.get("minimum"), spec.constraints.get("maximum")
    if kind == "integer" and low is not None and high is not None and high - low <= 10:
        return list(range(int(low), int(high) + 1))
    return [spec.default if spec.default is not None else low if low is not None else 1]


def reachable(flow, state, seen=None) -> set[str]:
    """Names of the transitions that can be taken from `state` on (the flow's graph, whoever acts)."""
    seen = set() if seen is None else seen
    if state in seen:
        return set()
    seen.add(state)
    names = set()
    for transition in flow.leaving(state):
        names.add(transition.name)
        names |= reachable(flow, transition.target, seen)
    return names


def distance_to_final(flow, state):
    frontier, seen, distance = {state}, set(), 0
    while frontier:
        if any(flow.states[s].final for s in frontier):
            return distance
        seen |= frontier
        frontier = {t.target for s in frontier for t in flow.leaving(s)} - seen
        distance += 1
    return 10**6


@dataclass
class Drives:
    """What driving every flow showed, as plain data (the database is rolled back after the test)."""

    expected: set  # (community, flow) of every live flow of every example community
    results: dict  # (community, flow) -> [(steps, reached a final state)]
    untaken: dict  # (community, flow) -> transitions no drive took
    transitions: dict  # (community, flow) -> every transition's name
    usernames: dict  # community -> its demo accounts' usernames
    acted: dict  # username -> steps taken
    voted: set
    notified: set
    superusers: set
    superuser_only: list  # (community, flow, state, transition) the superuser could take and no demo account


_DRIVES: list = []


def drive_every_flow() -> Drives:
    """Every flow of every example community, driven until a drive takes nothing new."""
    load()
    day = open_store_day(timezone.localdate())
    moment = (timezone.now() if day == timezone.localdate() else
              timezone.make_aware(datetime.datetime.combine(day, datetime.time(10, 0))))
    found = Drives(set(), {}, {}, {}, {}, {}, set(), set(), set(), [])
    with time_machine.travel(moment, tick=True):
        seed()
        for community in communities():
            driver = Driver(community)
            for person in driver.people:  # enough points for the store (the demo gives the resident none)
                category = driver.data["points"]["categories"][0]["key"]
                points.award(person=person, reason="测试积分", points=1000, category=category,
                             idempotency_key=f"drive:{person.pk}")
            for record in live_flows(community):
                key = (community.slug, record.key)
                flow = adapter.compiled(record.live_version)
                untaken = set(flow.transitions)
                found.expected.add(key)
                found.transitions[key] = set(flow.transitions)
                drives = found.results[key] = []
                for walk in range(12):
                    before, steps, problem = set(untaken), [], ""
                    try:
                        final = driver.drive(record, walk, untaken, steps)
                    except Exception as error:  # noqa: BLE001 - the test reports it with the path so far
                        final, problem = False, f"{type(error).__name__}: {error}"
                    drives.append((steps, final, problem))
                    if problem or not untaken or untaken == before:
                        break
                found.untaken[key] = untaken
            found.usernames[community.slug] = driver.usernames
            found.acted.update(driver.acted)
            found.voted |= driver.voted
            found.superuser_only.extend((community.slug, *where) for where in driver.superuser_only)
    found.notified = set(Notification.objects.values_list("user__username", flat=True))
    found.superusers = set(get_user_model().objects.filter(is_superuser=True).values_list("username", flat=True))
    return found


@pytest.fixture
def driven(db):
    """One drive of every flow serves the tests below (it takes half a minute); a test run alone drives."""
    if not _DRIVES:
        _DRIVES.append(drive_every_flow())
    return _DRIVES[0]


def test_every_shipped_flow_reaches_a_final_state_with_demo_accounts_only(driven):
    assert len(driven.expected) >= 8 and set(driven.results) == driven.expected  # every shipped flow
    for (slug, key), walks in driven.results.items():
        for steps, final, problem in walks:
            path = " → ".join(f"{s.transition}[{s.actor}]" for s in steps)
            assert final, f"{slug}/{key} did not reach a final state: {path} {problem}"
            for step in steps[1:]:
                assert step.transition in driven.transitions[(slug, key)], (slug, key, step)
                assert step.actor in ("timer", "vote") or step.actor in driven.usernames[slug], (slug, key, step)
                assert step.actor not in driven.superusers, (slug, key, step)
        # every step of the flow was taken by a demo account, the clock or a vote: none waits for the superuser
        assert [w for w in driven.superuser_only if w[:2] == (slug, key)] == []
        assert not driven.untaken[(slug, key)], f"{slug}/{key}: steps no demo account could take: " \
                                                f"{sorted(driven.untaken[(slug, key)])}"


def test_every_role_account_takes_part_in_the_drive(driven):
    for slug, usernames in driven.usernames.items():
        idle = [u for u in usernames - set(demo.demo_usernames(slug))
                if not driven.acted[u] and u not in driven.voted and u not in driven.notified]
        assert not idle, f"{slug}: role accounts that neither acted, voted nor were notified: {idle}"
    assert driven.voted  # the assembly's vote was cast by demo household representatives


def test_whoever_the_engine_lets_take_a_step_can_open_the_item(driven):
    hidden = sorted({(slug, key, s.transition, s.actor) for (slug, key), walks in driven.results.items()
                     for steps, _, _ in walks for s in steps if not s.visible})
    assert not hidden, hidden
