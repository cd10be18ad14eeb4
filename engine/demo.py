"""The demo accounts (contract): `admin`, four people per example community, and one account per
role that a shipped flow of the community names.

This module owns the names and numbers of the demo accounts and the question "which roles does a
flow name"; it reads compiled flows (engine.workflow.core) and plain community data, and never the
database — `manage.py seed_demo` writes the accounts, people and roles it describes.

Numbers are stable: the community's place among the example communities (by slug) and the
account's place in its community (the four people first, then the roles in alphabetical order)
make the last four digits, so a second run gives every account the number it had.
"""

from __future__ import annotations

from collections.abc import Iterable

from engine.workflow.core import RoleActor

DEMO_PASSWORD = "linli-demo"
PERSONAS = (
    # (username suffix, Chinese title, English title, staff)
    ("secretary", "社区书记", "secretary", True),
    ("grid-leader", "网格长", "grid leader", True),
    ("member", "党员", "member", False),
    ("resident", "居民", "resident", False),
)
PHONE_PREFIX = "1390000"  # + two digits for the community, two for the account
FIRST_ROLE_ACCOUNT = 10  # persona numbers are 01–04; role accounts start here


def demo_usernames(slug):
    return [f"{slug}-{suffix}" for suffix, *_ in PERSONAS]


def role_username(slug: str, role: str) -> str:
    """`{community}-{role key with _ as -}`, e.g. minyue-branch-secretary."""
    return f"{slug}-{role.replace('_', '-')}"


def demo_phone(community_number: int, account_number: int) -> str:
    """The mobile number of a demo account: 1390000 CC AA."""
    if not (1 <= community_number <= 99 and 1 <= account_number <= 99):
        raise ValueError(f"no demo number for community {community_number}, account {account_number}")
    return f"{PHONE_PREFIX}{community_number:02d}{account_number:02d}"


def persona_phone(community_number: int, suffix: str) -> str:
    return demo_phone(community_number, [s for s, *_ in PERSONAS].index(suffix) + 1)


def role_phones(community_number: int, roles: Iterable[str]) -> dict[str, str]:
    """role key -> number, the roles in alphabetical order from FIRST_ROLE_ACCOUNT on."""
    return {role: demo_phone(community_number, FIRST_ROLE_ACCOUNT + n) for n, role in enumerate(sorted(set(roles)))}


# ---------------------------------------------------------------- the roles a flow names


def roles_named(flow) -> set[str]:
    """Every role key a compiled flow (engine.workflow.core.Flow) names; see role_references."""
    return {reference.role for reference in role_references(flow)}


def role_references(flow) -> list:
    """Every place a compiled flow names a role, as core.RoleActor (role, scope, level, unit):
    actors of transitions (each seat of a countersign, each alternative), vote electorates, role
    recipients of actions (notify, points, assign) and of reminders, and inputs limited to the
    holders of a role."""
    found = []
    for state in flow.states.values():
        if state.vote is not None:
            found.append(state.vote.electorate)
        if state.remind:
            found.extend(_recipients(state.remind.get("to")))
    for transition in flow.transitions.values():
        found.extend(_actor_roles(transition.actor))
        for action in transition.actions:
            for spec in action.values():
                if isinstance(spec, dict):
                    found.extend(_recipients(spec.get("to")))
        for spec in transition.inputs.values():
            if isinstance(spec, dict) and spec.get("role"):
                found.append(RoleActor(spec["role"]))
    return list(dict.fromkeys(found))  # each once, in the order the flow names them


def _actor_roles(actor) -> list:
    if actor.kind == "role":
        return [actor.role]
    return [role for member in actor.members for role in _actor_roles(member)]


def _recipients(recipients) -> list:
    if isinstance(recipients, list):
        return [role for item in recipients for role in _recipients(item)]
    if isinstance(recipients, dict) and recipients.get("role"):
        return [RoleActor(recipients["role"], recipients.get("scope", "community"), recipients.get("level", ""),
                          recipients.get("unit", ""))]
    return []


def role_unit(role: dict, chain: list, root):
    """Where a demo account holds `role` (a role of community.yaml): the unit at the role's level
    among the demo resident's unit and its ancestors (`chain`, nearest first); a role with no
    level at the community's root. None when the resident's units have no unit at that level."""
    level = role.get("level")
    if not level:
        return root
    return next((unit for unit in chain if unit.level == level), None)
