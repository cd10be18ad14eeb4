"""The org tree, member posts and 双报到 registration — built from community.yaml, written by one action each.

Called inside the transaction that publishes the community definition, so the tree always
matches the live version. Units are matched by their id; a unit that left the file is
deactivated (roles, people and submissions still point at it), a unit that moved is moved.
Store items are created with their initial stock; later the stock is the store's to manage.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from engine.definitions.problems import PersonError
from engine.forms.spec import text
from engine.models import Definition, OrgUnit, PostAssignment, Registration, StoreItem


def _flatten(units, parent=None):
    for unit in units:
        yield unit, parent
        yield from _flatten(unit.get("children", []), unit["id"])


def sync_org_tree(community, data) -> dict[str, OrgUnit]:
    existing = {u.key: u for u in OrgUnit.objects.filter(community=community)}
    seen = {}
    for unit, parent_key in _flatten(data.get("units", [])):
        fields = {"name": text(unit["name"]), "level": unit["level"], "active": True}
        node = existing.get(unit["id"])
        parent = seen.get(parent_key) if parent_key else None
        if node is None:
            values = {"community": community, "key": unit["id"], **fields}
            node = parent.add_child(**values) if parent else OrgUnit.add_root(**values)
        else:
            if any(getattr(node, k) != v for k, v in fields.items()):
                OrgUnit.objects.filter(pk=node.pk).update(**fields)
            current_parent = node.get_parent()
            if (current_parent.pk if current_parent else None) != (parent.pk if parent else None):
                if parent is None:
                    last_root = OrgUnit.get_last_root_node()
                    node.move(last_root, pos="last-sibling")
                else:
                    node.move(parent, pos="last-child")
            node = OrgUnit.objects.get(pk=node.pk)
            for key, value in fields.items():
                setattr(node, key, value)
        seen[unit["id"]] = node
    OrgUnit.objects.filter(community=community).exclude(key__in=seen).update(active=False)
    for unit, _ in _flatten(data.get("units", [])):
        node = seen[unit["id"]]
        node.covers.set([seen[k] for k in unit.get("covers", []) if k in seen])
    _sync_store(community, data)
    return seen


def _sync_store(community, data):
    items = data.get("points", {}).get("store", {}).get("items", [])
    keys = []
    for item in items:
        keys.append(item["key"])
        values = {"title": text(item["title"]), "kind": item["kind"], "cost": item["cost"],
                  "per_person": item.get("per_person"), "active": True}
        record, created = StoreItem.objects.get_or_create(community=community, key=item["key"],
                                                          defaults={**values, "stock": item["stock"]})
        if not created and any(getattr(record, k) != v for k, v in values.items()):
            StoreItem.objects.filter(pk=record.pk).update(**values)
    StoreItem.objects.filter(community=community).exclude(key__in=keys).update(active=False)


def units_within(unit: OrgUnit):
    """The unit, its subtree, and the subtrees of the units it covers (a grant there reaches them all)."""

    query = Q(path__startswith=unit.path)
    for other in unit.covers.all():
        query |= Q(path__startswith=other.path)
    return OrgUnit.objects.filter(query, community_id=unit.community_id)


# ---------------------------------------------------------------- posts and registration

class OrgError(PersonError):
    """Org refusals (posts, registration), in words a member acts on."""



class UnknownPost(OrgError):
    code = "unknown_post"
    message = gettext_noop("unknown post '{post}'")


class PostFull(OrgError):
    code = "post_full"
    message = gettext_noop("“{post}” at {unit} is full ({capacity})")


class WrongLevel(OrgError):
    code = "wrong_level"
    message = gettext_noop("“{post}” is held at {level} level, not at {unit}")


class NotEligible(OrgError):
    code = "not_eligible"
    message = gettext_noop("Claiming “{post}” needs one of these roles: {roles}")


class AlreadyHolds(OrgError):
    code = "already_holds"
    message = gettext_noop("You already hold “{post}” at {unit}")


def _community_data(community) -> dict:
    """The live community.yaml's data ({} before one is published)."""
    record = Definition.objects.filter(community=community, kind="community").select_related("live_version").first()
    return record.live_version.data if record and record.live_version else {}


def post_spec(community, key):
    """A post's entry in the live community.yaml, or UnknownPost."""
    data = _community_data(community)
    for category in data.get("posts", {}).get("categories", []):
        for post in category["posts"]:
            if post["key"] == key:
                return post
    raise UnknownPost(post=key)


class UnknownUnit(OrgError):
    code = "unknown_unit"
    message = gettext_noop("unknown unit “{unit}”")


def unit_by_key(community, key) -> OrgUnit:
    """The community's active unit with this key, or UnknownUnit naming it."""
    unit = OrgUnit.objects.filter(community=community, key=str(key or ""), active=True).first()
    if unit is None:
        raise UnknownUnit(unit=key or "—")
    return unit


def check_claim(*, person, post, unit, pending=None) -> dict:
    """May `person` have `post` at `unit` now? Its level, who is eligible (roles in force), whether
    they hold it already and its capacity, counting the current holders and — `pending`, a callable
    read after the lock — the claims already approved for it that have not taken effect yet (a
    claim waiting out its public notice). Locks the unit's row, so racing claims and approvals
    queue there; call it inside the transaction that writes. Raises the refusal, naming the post."""
    from engine import policy

    spec = post_spec(person.community, post)
    title = text(spec["title"])
    if spec.get("level") and unit.level != spec["level"]:
        raise WrongLevel(post=title, level=spec["level"], unit=unit.name)
    eligible = spec.get("eligible") or []
    held = set(policy.current_assignments().filter(person=person).values_list("role", flat=True))
    if eligible and not held & set(eligible):
        raise NotEligible(post=title, roles="、".join(eligible))
    OrgUnit.objects.select_for_update().get(pk=unit.pk)
    holders = PostAssignment.objects.filter(post=post, unit=unit, until__isnull=True)
    if holders.filter(person=person).exists():
        raise AlreadyHolds(post=title, unit=unit.name)
    if holders.count() + (pending() if pending else 0) >= spec["capacity"]:
        raise PostFull(post=title, unit=unit.name, capacity=spec["capacity"])
    return spec


def claim_post(*, person, post, unit, submission=None, day=None) -> PostAssignment:
    """Give `person` the post at `unit`, within its capacity; racing claims queue on the unit's row."""
    with transaction.atomic():
        check_claim(person=person, post=post, unit=unit)
        return PostAssignment.objects.create(community=person.community, post=post, unit=unit, person=person,
                                             since=day or timezone.localdate(), submission=submission)


def release_post(*, person, post, unit, day=None) -> int:
    released = 0
    # saved one by one (a person holds a post at a unit once): post_save purges the public board
    for holding in PostAssignment.objects.filter(person=person, post=post, unit=unit, until__isnull=True):
        holding.until = day or timezone.localdate()
        holding.save(update_fields=["until"])
        released += 1
    return released


def post_board(unit: OrgUnit):
    """Who holds which post in the unit's subtree: [(unit, post key, [people])], for the post board."""
    board = {}
    for holding in (PostAssignment.objects.filter(unit__in=units_within(unit), until__isnull=True)
                    .select_related("unit", "person").order_by("unit__path", "post", "since")):
        board.setdefault((holding.unit, holding.post), []).append(holding.person)
    return [(u, p, people) for (u, p), people in board.items()]


class AboveMemberLevel(OrgError):
    code = "above_member_level"
    message = gettext_noop("Members register at a {level}: choose a {level} or a unit within one, not {unit}")


def member_unit(community, unit: OrgUnit) -> OrgUnit:
    """Where a member living at `unit` registers: the unit above it (or itself) at the community's
    `registration.member_level` (their compound, not their grid or building); `unit` itself when
    the community sets no level. A unit above that level is refused."""
    data = _community_data(community)
    level = (data.get("registration") or {}).get("member_level")
    if not level or unit.level == level:
        return unit
    found = unit.get_ancestors().filter(level=level).order_by("-depth").first()
    if found is None:
        titles = {entry.get("key"): entry for entry in data.get("levels", [])}
        entry = titles.get(level) or {}
        raise AboveMemberLevel(level=text(entry.get("unit_title") or entry.get("title")) or level, unit=unit.name)
    return found


def register_member(*, person, unit, teams=(), submission=None) -> Registration:
    """双报到: an in-service member registers with the compound where they live (once): at the
    unit of `registration.member_level` above the one they chose (see member_unit); the person's
    own unit (where they live) is the one they chose, if they had none."""
    lives_at, unit = unit, member_unit(person.community, unit)
    with transaction.atomic():
        registration, _ = Registration.objects.update_or_create(
            community=person.community, kind=Registration.Kind.MEMBER, person=person,
            defaults={"unit": unit, "teams": list(teams), "submission": submission})
        if person.unit_id is None:
            type(person).objects.filter(pk=person.pk).update(unit=lives_at)
    return registration


def register_unit(*, community, organisation, unit, submission=None) -> Registration:
    return Registration.objects.create(community=community, kind=Registration.Kind.UNIT, organisation=organisation,
                                       unit=unit, submission=submission)


def roster(unit: OrgUnit):
    """Registered members of the unit's subtree with their posts and teams."""
    members = (Registration.objects.filter(kind=Registration.Kind.MEMBER, unit__in=units_within(unit))
               .select_related("person", "unit"))
    posts = {}
    for holding in PostAssignment.objects.filter(person__in=[m.person_id for m in members], until__isnull=True):
        posts.setdefault(holding.person_id, []).append(holding.post)
    return [{"person": m.person, "unit": m.unit, "teams": m.teams, "posts": posts.get(m.person_id, [])}
            for m in members]

