"""Vacancy fallback in the pure core, without a database: a step for a role nobody holds where the
item needs it goes to the flow's fallback role, then to the community's admin roles — and to
nobody else, and never when someone holds the role there."""

from engine.workflow.core import (Facts, RoleActor, StandIn, compile_flow, held_at, options, stand_in_at, take,
                                  vacancy)

# A small tree: the community 0001, compounds 0001 0001 / 0001 0002, grids below them.
ROOT, EAST, WEST = "0001", "00010001", "00010002"
GRID_1, GRID_2, GRID_3 = "000100010001", "000100010002", "000100020001"
ITEM_IN_GRID_1 = {"grid": GRID_1, "compound": EAST, "community": ROOT}

FLOW = compile_flow({
    "flow": "request", "form": "request", "start": "collected",
    "states": {"collected": {"title": "已收集"}, "analysed": {"title": "已研判"}, "signed": {"title": "已会签"},
               "closed": {"title": "已办结", "final": True}},
    "transitions": [
        {"name": "analyse", "from": "collected", "to": "analysed",
         "by": {"role": "grid_leader", "scope": "submitter_unit", "level": "grid"}},
        {"name": "triage", "from": "collected", "to": "analysed",
         "by": {"role": "building_head", "scope": "submitter_unit", "level": "grid", "fallback": "community_worker"}},
        {"name": "liaise", "from": "collected", "to": "analysed", "by": {"role": "street_liaison"}},
        {"name": "inspect", "from": "collected", "to": "analysed",
         "by": {"role": "inspector", "scope": "unit", "unit": "east"}},
        {"name": "sign", "from": "analysed", "to": "signed",
         "by": {"all_of": [{"role": "grid_leader", "scope": "submitter_unit", "level": "grid"},
                           {"role": "secretary"}]}},
        {"name": "close", "from": "signed", "to": "closed", "by": "submitter"},
    ],
})
ADMIN_ROLES = frozenset({"secretary"})


def holders(**roles):
    """role -> paths of its holders; every role the flow names is known (vacant unless given)."""
    known = {role: frozenset() for role in FLOW.step_roles}
    known.update({role: frozenset(paths) for role, paths in roles.items()})
    return known


def person(*roles, item_units=ITEM_IN_GRID_1, who=1, **facts):
    """Facts of a person holding (role, path) pairs, for an item in grid 1 by default."""
    facts.setdefault("holders", holders())
    return Facts(person=who, authenticated=True, in_community=True, roles=frozenset(roles), item_units=item_units,
                 units_by_key={"east": EAST}, admin_roles=ADMIN_ROLES, **facts)


def allowed(facts, state="collected"):
    return {o.transition.name: o.stand_in for o in options(FLOW, state, facts, {}) if o.allowed}


SECRETARY = ("secretary", ROOT)


def test_the_flow_knows_the_roles_its_steps_name_with_their_fallbacks():
    assert FLOW.step_roles == {"grid_leader", "building_head", "community_worker", "street_liaison", "inspector",
                               "secretary"}


def test_the_matching_rule_covers_the_unit_the_units_below_and_above_it():
    assert held_at([GRID_1], GRID_1) and held_at([GRID_1 + "0003"], GRID_1) and held_at([EAST], GRID_1)
    assert not held_at([GRID_2], GRID_1) and not held_at([WEST], GRID_1) and not held_at([], GRID_1)
    assert not held_at([ROOT], None)  # no unit where the item needs one: nobody holds it there
    assert held_at([GRID_3], None, scope="community") and not held_at([], None, scope="community")


def test_a_grid_with_its_own_leader_is_not_vacant_and_the_secretary_may_not_act():
    facts = person(SECRETARY, holders=holders(grid_leader={GRID_1}, street_liaison={ROOT}, inspector={EAST},
                                              building_head={GRID_1}))
    assert vacancy(FLOW.transitions["analyse"].actor.role, facts) is None
    assert allowed(facts) == {}


def test_a_leader_at_the_parent_unit_holds_the_grid_so_it_is_not_vacant():
    facts = person(("grid_leader", EAST), holders=holders(grid_leader={EAST}))
    assert allowed(facts)["analyse"] is None  # in their own right
    secretary = person(SECRETARY, holders=holders(grid_leader={EAST}))
    assert "analyse" not in allowed(secretary)


def test_a_leader_at_a_unit_covering_the_grid_holds_it():
    # a branch covering another compound: the covered compound's path is listed with the holder's
    facts = person(SECRETARY, item_units={"grid": GRID_3, "compound": WEST, "community": ROOT},
                   holders=holders(grid_leader={EAST, WEST}))
    assert "analyse" not in allowed(facts)


def test_a_vacant_grid_goes_to_the_secretary_with_the_reason():
    facts = person(SECRETARY, holders=holders(grid_leader={GRID_2}))  # only another grid has a leader
    found = allowed(facts)
    assert found["analyse"] == StandIn("grid_leader", "submitter_unit", "grid", GRID_1, "", "")
    outcome = take(FLOW, "collected", "analyse", facts, {})
    assert outcome.target == "analysed" and outcome.stand_in == found["analyse"]


def test_the_leader_of_another_grid_does_not_inherit_the_vacancy():
    facts = person(("grid_leader", GRID_2), holders=holders(grid_leader={GRID_2}))
    assert "analyse" not in allowed(facts)


def test_someone_without_an_admin_role_never_stands_in_and_never_reads_the_holders():
    class Untouchable(dict):
        def get(self, *args):
            raise AssertionError("the holders were read for someone who cannot stand in")

        __getitem__ = get

    facts = person(("resident", GRID_1), holders=Untouchable())
    assert allowed(facts) == {}


def test_unknown_holders_mean_nobody_stands_in():
    assert allowed(person(SECRETARY, holders=None)) == {}
    partly = {"secretary": frozenset({ROOT})}  # grid_leader not known: not taken as vacant
    assert "analyse" not in allowed(person(SECRETARY, holders=partly))


def test_a_named_fallback_takes_the_step_and_the_secretary_does_not():
    known = holders(community_worker={ROOT})  # no building head anywhere
    worker = person(("community_worker", ROOT), holders=known)
    assert allowed(worker)["triage"] == StandIn("building_head", "submitter_unit", "grid", GRID_1, "",
                                                "community_worker")
    assert "triage" not in allowed(person(SECRETARY, holders=known))
    assert "analyse" not in allowed(worker)  # no fallback named there: the admins', not the worker's


def test_a_vacant_fallback_leaves_the_step_to_the_admin_roles():
    known = holders(community_worker={WEST})  # a worker of the other compound only
    assert allowed(person(SECRETARY, holders=known))["triage"].to == ""
    assert "triage" not in allowed(person(("community_worker", WEST), holders=known))


def test_an_item_without_a_unit_is_vacant_for_unit_scoped_steps():
    known = holders(grid_leader={GRID_1, GRID_2, GRID_3}, community_worker={ROOT})
    facts = person(SECRETARY, item_units={}, holders=known)
    found = allowed(facts)
    assert found["analyse"] == StandIn("grid_leader", "submitter_unit", "grid", "", "", "")
    assert found["triage"].to == ""  # the worker is sought at the item's grid too: there is none
    # a named unit (scope unit) does not depend on the item's: east has no inspector either
    assert "inspect" in found and found["inspect"].unit_key == "east"


def test_scope_community_is_vacant_only_when_nobody_in_the_community_holds_the_role():
    assert allowed(person(SECRETARY))["liaise"] == StandIn("street_liaison", "community", "", "", "", "")
    assert "liaise" not in allowed(person(SECRETARY, holders=holders(street_liaison={GRID_3})))


def test_scope_unit_is_vacant_when_nobody_holds_it_at_that_unit():
    assert "inspect" not in allowed(person(SECRETARY, holders=holders(inspector={EAST + "0009"})))
    assert allowed(person(SECRETARY, holders=holders(inspector={WEST})))["inspect"].unit == EAST


def test_the_timer_never_stands_in():
    facts = Facts(is_timer=True, roles=frozenset({SECRETARY}), holders=holders(), admin_roles=ADMIN_ROLES,
                  item_units=ITEM_IN_GRID_1)
    assert allowed(facts) == {}


def test_a_countersign_seat_of_a_vacant_role_is_signed_by_a_stand_in_after_their_own_seat():
    facts = person(SECRETARY, holders=holders(secretary={ROOT}))
    option = next(o for o in options(FLOW, "analysed", facts, {}) if o.transition.name == "sign")
    assert option.allowed and option.stand_in is None  # their own seat (secretary) comes first
    first = take(FLOW, "analysed", "sign", facts, {})
    assert first.signed_seat == 1 and first.stand_in is None
    other = person(SECRETARY, who=2, holders=holders(secretary={ROOT}))
    signatures = {"sign": {"1": 1}}
    option = next(o for o in options(FLOW, "analysed", other, {}, signatures) if o.transition.name == "sign")
    assert option.allowed and option.stand_in.role == "grid_leader"
    second = take(FLOW, "analysed", "sign", other, {}, signatures=signatures)
    assert second.signed_seat == 0 and second.target == "signed" and second.stand_in.role == "grid_leader"


def test_stand_in_at_says_who_takes_a_target():
    role = RoleActor("building_head", "submitter_unit", "grid", fallback="community_worker")
    known = holders(building_head={GRID_2}, community_worker={EAST})
    assert stand_in_at(role, known, GRID_2) is None
    assert stand_in_at(role, known, GRID_1) == "community_worker"
    assert stand_in_at(role, known, GRID_3) == ""
    assert stand_in_at(role, known, None) == ""
    assert stand_in_at(role, None, GRID_1) is None


def test_the_last_resort_stands_in_where_the_admin_roles_are_vacant_too():
    # someone who manages the community without holding a role (the street, guardian's permission):
    # the adapter says `manages` only when nobody holds the admin roles either
    street = Facts(person=9, authenticated=True, in_community=False, roles=frozenset(), item_units=ITEM_IN_GRID_1,
                   units_by_key={"east": EAST}, admin_roles=ADMIN_ROLES, holders=holders(), manages=True)
    found = allowed(street)
    assert found["analyse"] == StandIn("grid_leader", "submitter_unit", "grid", GRID_1, "", "")
    held = Facts(person=9, authenticated=True, roles=frozenset(), item_units=ITEM_IN_GRID_1, admin_roles=ADMIN_ROLES,
                 holders=holders(grid_leader={GRID_1}), manages=True)
    assert "analyse" not in allowed(held)  # the grid has its leader: nothing to stand in for
    nobody = Facts(person=9, authenticated=True, roles=frozenset(), item_units=ITEM_IN_GRID_1,
                   admin_roles=ADMIN_ROLES, holders=holders(), manages=False)
    assert allowed(nobody) == {}
