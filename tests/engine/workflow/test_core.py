"""The workflow core without a database: every example flow, taken step by step."""

import random
from fractions import Fraction
from pathlib import Path

import pytest

from engine.definitions.pipeline import check_paths
from engine.workflow.core import Facts, Refusal, compile_flow, options, take, tally
from engine.workflow.simulate import sample_inputs

ROOT = Path(__file__).resolve().parents[3]


def example_flows():
    result = check_paths([], ROOT / "forms_schemas", ROOT / "workflows_yaml", base=ROOT)
    assert result.ok
    return {f"{d.community}/{d.key}": compile_flow(d.data) for d in result.definitions if d.kind == "flow"}


FLOWS = example_flows()


def facts_for(actor, person=1):
    """Facts that satisfy one actor (roles held at the item's own units)."""
    if actor.kind == "timer":
        return Facts(is_timer=True)
    if actor.kind in ("submitter", "assignee", "resident", "public"):
        return Facts(person=person, authenticated=True, in_community=True, is_submitter=actor.kind == "submitter",
                     is_assignee=actor.kind == "assignee")
    roles = set()
    members = actor.members if actor.kind in ("all_of", "any_of") else (actor,)
    for member in members:
        for option in (member.members if member.kind == "any_of" else (member,)):
            if option.role is not None:
                roles.add((option.role.role, "0001"))
    return Facts(person=person, authenticated=True, in_community=True, roles=frozenset(roles),
                 item_units={level: "0001" for level in ("grid", "compound", "general_branch", "community_committee",
                                                          "member_household", "resident_household", "street")},
                 units_by_key={})


@pytest.mark.parametrize("key", sorted(FLOWS))
def test_random_walks_stay_within_the_flow(key):
    flow = FLOWS[key]
    rng = random.Random(key)
    for _ in range(30):
        state, signatures = flow.start, {}
        for _ in range(40):
            assert state in flow.states
            leaving = flow.leaving(state)
            if flow.states[state].final:
                assert leaving == []  # final states have no way out
                break
            assert leaving, f"{state} has no way out"
            transition = rng.choice([t for t in leaving if t.actor.kind != "vote"] or leaving)
            if transition.actor.kind == "vote":
                break  # votes close by tally; tested below
            outcome = None
            for person in range(1, len(transition.actor.members) + 2):
                try:
                    outcome = take(flow, state, transition.name, facts_for(transition.actor, person), data={},
                                   # the canned answers of rating forms, and valid inline inputs (now checked)
                                   inputs={"rating": 5, "resolved": True, "consent": True, "decision": "approve",
                                           **sample_inputs(transition)},
                                   signatures=signatures)
                except Refusal as refusal:
                    assert refusal.reason in ("guard", "signed")
                    break
                if outcome.target is not None:
                    break
                signatures.setdefault(transition.name, {})[str(outcome.signed_seat)] = person
            if outcome is None or outcome.target is None:
                continue
            declared = {next(iter(a)) for a in transition.actions}
            produced = {kind for kind, _ in outcome.effects} - {"cancel_timers", "timer", "publish_notice",
                                                                  "open_vote", "finish"}
            assert produced == declared  # every effect is one the flow declared
            state, signatures = outcome.target, {}


def test_the_resident_request_refuses_the_wrong_person_and_the_wrong_state_differently():
    flow = FLOWS["minyue/resident-request"]
    resident = Facts(person=9, authenticated=True, in_community=True, is_submitter=True)
    first = flow.leaving(flow.start)[0]
    with pytest.raises(Refusal) as info:
        take(flow, flow.start, first.name, resident, {})
    assert info.value.reason == "not_actor"
    rate = next(t for t in flow.transitions.values() if t.actor.kind == "submitter" and t.form)
    with pytest.raises(Refusal) as info:
        take(flow, flow.start, rate.name, resident, {}, inputs={"rating": 5, "resolved": True})
    assert info.value.reason == "wrong_state"


def test_a_bad_rating_reopens_instead_of_closing():
    flow = FLOWS["minyue/resident-request"]
    resident = Facts(person=9, authenticated=True, in_community=True, is_submitter=True)
    state = next(t.sources[0] for t in flow.transitions.values() if t.actor.kind == "submitter" and t.form)
    names = {o.transition.name for o in options(flow, state, resident, {}, inputs={"rating": 1, "resolved": False})
             if o.allowed}
    targets = {flow.transitions[n].target for n in names}
    assert not any(flow.states[t].final for t in targets)
    good = {flow.transitions[o.transition.name].target for o in options(
        flow, state, resident, {}, inputs={"rating": 5, "resolved": True}) if o.allowed}
    assert any(flow.states[t].final for t in good)


def test_a_countersign_waits_for_every_seat_and_each_person_signs_once():
    flow = FLOWS["minyue/deliberation"]
    transition = next(t for t in flow.transitions.values() if t.actor.kind == "all_of")
    state = transition.sources[0]
    signatures = {}
    for seat, member in enumerate(transition.actor.members):
        actor = member.members[0] if member.kind == "any_of" else member
        facts = facts_for(actor, person=100 + seat)
        outcome = take(flow, state, transition.name, facts, {}, signatures=signatures)
        if seat < len(transition.actor.members) - 1:
            assert outcome.target is None
            with pytest.raises(Refusal) as info:
                take(flow, state, transition.name, facts, {},
                     signatures={transition.name: {**signatures.get(transition.name, {}),
                                                   str(outcome.signed_seat): facts.person}})
            assert info.value.reason == "signed"
            signatures.setdefault(transition.name, {})[str(outcome.signed_seat)] = facts.person
        else:
            assert outcome.target == transition.target


def test_a_vote_passes_fails_or_lacks_quorum():
    flow = FLOWS["minyue/deliberation"]
    state = next(s for s in flow.states.values() if s.vote is not None)
    vote = state.vote
    assert (vote.quorum, vote.threshold, vote.strict) == (Fraction(1, 2), Fraction(1, 2), True)
    yes, no = vote.option, next(o for o in vote.options if o != vote.option)
    assert tally(vote, [yes] * 6 + [no] * 4, electorate=12).outcome == "passed"
    assert tally(vote, [yes] * 5 + [no] * 5, electorate=12).outcome == "failed"  # a tie is not more than half
    assert tally(vote, [yes] * 5, electorate=12).outcome == "no_quorum"
