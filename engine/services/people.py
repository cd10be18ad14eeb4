"""People and the roles they hold: one action per write path, for the admin screens, the API and the
roster import alike.

Each action checks its input against the live community.yaml (roles, their level and organisation,
units of the tree), then writes the change and its `PeopleChange` audit row in one transaction,
with the community's row locked so that two admins racing on one person or one role get one success
and one clear refusal. Who may call these is the policy's question (`engine.policy.is_admin`), asked
by the callers; these functions trust their `actor` to have been checked.

Nothing here caches who holds what: `engine.policy.current_assignments` reads the table on every
request, so a role taken away here is refused on the very next request.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from engine import clock
from engine.definitions.problems import LinliError
from engine.forms.spec import text
from engine.models import Community, Definition, OrgUnit, PeopleChange, Person, RoleAssignment

NAME_MAX = 100
REASON_MAX = 500
ORGANISATION_UNIT = "organisation"  # the API's word for "held in an organisation, at the community's root"


class PeopleInvalid(LinliError):
    """The admin's input was refused: messages keyed by the field's JSON pointer; nothing was written."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__("; ".join(f"{pointer}: {' '.join(messages)}" for pointer, messages in errors.items()))


def _refuse(pointer, message):
    raise PeopleInvalid({pointer: [message]})


@dataclass(frozen=True)
class RoleSpec:
    key: str
    title: str
    level: str
    organisation: str
    staff: bool
    admin: bool


def _live_data(community) -> dict:
    record = Definition.objects.filter(community=community, kind="community").select_related("live_version").first()
    return record.live_version.data if record and record.live_version else {}


def _language(language):
    from django.utils import translation

    return language or translation.get_language() or "zh-hans"


def community_roles(community, language=None) -> dict[str, RoleSpec]:
    """The roles of the live community.yaml, in its order, titled in `language` (the active one by default)."""
    language = _language(language)
    record = Definition.objects.filter(community=community, kind="community").select_related("live_version").first()
    data = record.live_version.data if record and record.live_version else {}
    return {r["key"]: RoleSpec(r["key"], text(r.get("title", r["key"]), language), r.get("level", ""),
                               r.get("organisation", ""), bool(r.get("staff")), bool(r.get("admin")))
            for r in data.get("roles", [])}


def community_levels(community, language=None) -> dict[str, str]:
    return {level["key"]: text(level.get("title", level["key"]), _language(language))
            for level in _live_data(community).get("levels", [])}


def community_organisations(community, language=None) -> dict[str, str]:
    language = _language(language)
    record = Definition.objects.filter(community=community, kind="community").select_related("live_version").first()
    data = record.live_version.data if record and record.live_version else {}
    return {o["key"]: text(o.get("title", o["key"]), language) for o in data.get("organisations", [])}


def _lock(community):
    """Serialise writes to one community's people (PostgreSQL; SQLite's IMMEDIATE transactions already do)."""
    Community.objects.select_for_update().filter(pk=community.pk).first()


def _audit(community, action, *, actor, person=None, reason="", **data):
    return PeopleChange.objects.create(community=community, person=person,
                                       actor=actor if actor is not None and actor.is_authenticated else None,
                                       action=action, reason=_reason(reason), data=data)


def _reason(reason) -> str:
    reason = (reason or "").strip()
    if len(reason) > REASON_MAX:
        _refuse("/reason", _("The reason is too long (at most %(max)d characters).") % {"max": REASON_MAX})
    return reason


def _name(value) -> str:
    name = (value or "").strip() if isinstance(value, str) else None
    if not name:
        _refuse("/name", _("Enter the person's name."))
    if len(name) > NAME_MAX:
        _refuse("/name", _("The name is too long (at most %(max)d characters).") % {"max": NAME_MAX})
    return name


def _phone(value) -> str:
    if value in (None, ""):
        return ""
    if not isinstance(value, str):
        _refuse("/phone", _("Enter an 11-digit mobile number."))
    from engine.services.accounts import normalise_phone

    try:
        return normalise_phone(value)
    except ValueError:
        _refuse("/phone", _("“%(value)s” is not an 11-digit mobile number.") % {"value": value[:30]})


def _unit(community, value, pointer="/unit") -> OrgUnit | None:
    if value in (None, ""):
        return None
    if isinstance(value, OrgUnit):
        if value.community_id != community.pk or not value.active:
            _refuse(pointer, _("Unit “%(unit)s” does not exist.") % {"unit": value.name})
        return value
    if not isinstance(value, str):
        _refuse(pointer, _("Give the unit's identifier from community.yaml."))
    unit = OrgUnit.objects.filter(community=community, key=value, active=True).first()
    if unit is None:
        _refuse(pointer, _("Unit “%(unit)s” does not exist.") % {"unit": value[:64]})
    return unit


def _unique_phone(community, phone, person=None):
    if not phone:
        return
    others = Person.objects.filter(community=community, phone=phone, active=True)
    if person is not None:
        others = others.exclude(pk=person.pk)
    other = others.first()
    if other is not None:
        _refuse("/phone", _("This number is already registered to %(name)s.") % {"name": other.name})


# ---------------------------------------------------------------- people


def add_person(community, *, actor, name, phone="", unit=None, is_member=False, external_id="", reason="") -> Person:
    """A person of the community's roster (without an account until invited or signed in)."""
    name, phone, unit = _name(name), _phone(phone), _unit(community, unit)
    external_id = (external_id or "").strip()[:64]
    with transaction.atomic():
        _lock(community)
        _unique_phone(community, phone)
        if external_id and Person.objects.filter(community=community, external_id=external_id).exists():
            _refuse("/external_id", _("Roster number “%(number)s” is already used.") % {"number": external_id})
        person = Person.objects.create(community=community, name=name, phone=phone, unit=unit,
                                       is_member=bool(is_member), external_id=external_id)
        _audit(community, PeopleChange.Action.ADD_PERSON, actor=actor, person=person, reason=reason,
               after=_snapshot(person))
    return person


EDITABLE = ("name", "phone", "unit", "is_member", "external_id")


def edit_person(person, *, actor, changes: dict, reason="") -> Person:
    """Change some of name, phone, unit, is_member and external_id; unknown fields are refused."""
    unknown = sorted(set(changes) - set(EDITABLE) - {"active", "reason"})
    if unknown:
        _refuse(f"/{unknown[0]}", _("This field cannot be changed here."))
    community = person.community
    values = {}
    if "name" in changes:
        values["name"] = _name(changes["name"])
    if "phone" in changes:
        values["phone"] = _phone(changes["phone"])
    if "unit" in changes:
        values["unit"] = _unit(community, changes["unit"])
    if "is_member" in changes:
        if not isinstance(changes["is_member"], bool):
            _refuse("/is_member", _("Answer yes or no."))
        values["is_member"] = changes["is_member"]
    if "external_id" in changes:
        values["external_id"] = str(changes["external_id"] or "").strip()[:64]
    with transaction.atomic():
        _lock(community)
        person = Person.objects.get(pk=person.pk)
        if values.get("phone"):
            _unique_phone(community, values["phone"], person)
        if values.get("external_id") and (Person.objects.filter(community=community, external_id=values["external_id"])
                                          .exclude(pk=person.pk).exists()):
            _refuse("/external_id", _("Roster number “%(number)s” is already used.") % {"number": values["external_id"]})
        before = _snapshot(person)
        for key, value in values.items():
            setattr(person, key, value)
        after = _snapshot(person)
        if before != after:
            person.save(update_fields=list(values))
            _audit(community, PeopleChange.Action.EDIT_PERSON, actor=actor, person=person, reason=reason,
                   before={k: v for k, v in before.items() if after[k] != v},
                   after={k: v for k, v in after.items() if before[k] != v})
    return person


def set_active(person, *, actor, active: bool, reason="") -> Person:
    """Deactivate (moved away, left) or reactivate. An inactive person holds no role: the policy's one
    query of roles in force leaves them out, so their steps stop on the next request."""
    with transaction.atomic():
        _lock(person.community)
        person = Person.objects.get(pk=person.pk)
        if person.active == active:
            return person
        if active:
            _unique_phone(person.community, person.phone, person)
        person.active = active
        person.save(update_fields=["active"])
        _audit(person.community, PeopleChange.Action.REACTIVATE_PERSON if active else PeopleChange.Action.DEACTIVATE_PERSON,
               actor=actor, person=person, reason=reason)
    return person


def _snapshot(person) -> dict:
    return {"name": person.name, "phone": person.phone, "unit": person.unit.key if person.unit_id else "",
            "is_member": person.is_member, "external_id": person.external_id}


# ---------------------------------------------------------------- roles


def _until(value, community, pointer="/until") -> datetime.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime.date):
        day = value
    else:
        try:
            day = datetime.date.fromisoformat(str(value))
        except ValueError:
            _refuse(pointer, _("Give a date as YYYY-MM-DD."))
    if day < clock.today(community):
        _refuse(pointer, _("The end date is already past."))
    return day


def resolve_role(community, *, role, unit=None, organisation="") -> tuple[RoleSpec, OrgUnit, str]:
    """The role, the unit and the organisation of an assignment, checked against community.yaml.

    `unit` is a unit key (or OrgUnit), or "organisation" (the API's word) for a role held in an
    organisation at no particular unit. A role with a level must be held at a unit of that level; a
    role of an organisation is held in it; a role with neither at no unit is held at the root."""
    roles = community_roles(community)
    if not isinstance(role, str) or role not in roles:
        _refuse("/role", _("Role “%(role)s” does not exist in this community.") % {"role": str(role)[:64]})
    spec = roles[role]
    organisations = community_organisations(community)
    if unit == ORGANISATION_UNIT:
        unit = None
        organisation = organisation or spec.organisation
        if not organisation:
            _refuse("/unit", _("“%(role)s” is not a role of an organisation: choose a unit.") % {"role": spec.title})
    organisation = organisation or spec.organisation
    if organisation and organisation not in organisations:
        _refuse("/organisation", _("Organisation “%(name)s” does not exist.") % {"name": str(organisation)[:64]})
    if spec.organisation and organisation != spec.organisation:
        _refuse("/organisation", _("“%(role)s” is held in %(organisation)s.")
                % {"role": spec.title, "organisation": organisations.get(spec.organisation, spec.organisation)})
    node = _unit(community, unit)
    if node is None:
        if spec.level:
            _refuse("/unit", _("“%(role)s” is held at a unit: choose one.") % {"role": spec.title})
        node = OrgUnit.objects.filter(community=community, active=True, depth=1).order_by("path").first()
        if node is None:
            _refuse("/unit", _("The community has no units yet."))
    if spec.level and node.level != spec.level:
        level = community_levels(community).get(spec.level, spec.level)
        _refuse("/unit", _("“%(role)s” is held at %(level)s level; “%(unit)s” is not.")
                % {"role": spec.title, "level": level, "unit": node.name})
    return spec, node, organisation


def give_role(person, *, actor, role, unit=None, organisation="", until=None, reason="") -> RoleAssignment:
    """Put the person in a role at a unit (optionally until a date). Giving a role the person holds
    there already is refused, so a second admin racing the first learns it was done."""
    community = person.community
    spec, node, organisation = resolve_role(community, role=role, unit=unit, organisation=organisation)
    until = _until(until, community)
    try:
        with transaction.atomic():
            _lock(community)
            person = Person.objects.get(pk=person.pk)
            if not person.active:
                _refuse("/person", _("%(name)s is deactivated: reactivate them first.") % {"name": person.name})
            if RoleAssignment.objects.filter(person=person, role=spec.key, unit=node, organisation=organisation).exists():
                _refuse("/role", _("%(name)s already holds “%(role)s” at %(unit)s.")
                        % {"name": person.name, "role": spec.title, "unit": node.name})
            assignment = RoleAssignment.objects.create(community=community, person=person, role=spec.key, unit=node,
                                                       organisation=organisation, since=clock.today(community),
                                                       until=until)
            _audit(community, PeopleChange.Action.GIVE_ROLE, actor=actor, person=person, reason=reason,
                   role=spec.key, unit=node.key, organisation=organisation,
                   until=until.isoformat() if until else None, assignment=assignment.pk)
    except IntegrityError:  # the unique constraint caught a racing twin
        _refuse("/role", _("%(name)s already holds “%(role)s” at %(unit)s.")
                % {"name": person.name, "role": spec.title, "unit": node.name})
    return assignment


def take_role(assignment, *, actor, reason="") -> None:
    """Take a role away. The row goes (the audit trail keeps what it was); the next request is refused."""
    community = assignment.community
    with transaction.atomic():
        _lock(community)
        current = RoleAssignment.objects.select_related("unit").filter(pk=assignment.pk).first()
        if current is None:
            _refuse("/role", _("This role was already taken away."))
        _audit(community, PeopleChange.Action.TAKE_ROLE, actor=actor, person=current.person, reason=reason,
               role=current.role, unit=current.unit.key, organisation=current.organisation,
               since=current.since.isoformat() if current.since else None,
               until=current.until.isoformat() if current.until else None)
        current.delete()


# ---------------------------------------------------------------- accounts


def invite(person, *, actor, reason="", send=True):
    """Create or link the person's account (by their mobile number) and tell them by SMS how to sign in.

    Returns the account. A person with no number cannot be invited: sign-in is by number."""
    from engine.services.accounts import account_for_phone

    if not person.phone:
        _refuse("/phone", _("Add %(name)s's mobile number before inviting them.") % {"name": person.name})
    with transaction.atomic():
        _lock(person.community)
        person = Person.objects.select_related("community").get(pk=person.pk)
        if not person.active:
            _refuse("/person", _("%(name)s is deactivated: reactivate them first.") % {"name": person.name})
        user = person.user or account_for_phone(person.phone)
        if person.user_id is None:
            _link(person, user)
        _audit(person.community, PeopleChange.Action.INVITE, actor=actor, person=person, reason=reason,
               account=user.get_username())
        if send:
            community_name = person.community.name
            transaction.on_commit(lambda: _send_invitation(person.phone, community_name))
    return user


def _send_invitation(phone, community_name):
    from engine.sms import send_sms

    send_sms(phone, _("【邻里】%(community)s invites you to Linli. Sign in at /login/ with this mobile number "
                      "and the code we send you.") % {"community": community_name})


def _link(person, user):
    if Person.objects.filter(community=person.community, user=user).exclude(pk=person.pk).exists():
        other = Person.objects.filter(community=person.community, user=user).first()
        _refuse("/account", _("This account already belongs to %(name)s in this community.") % {"name": other.name})
    person.user = user
    person.save(update_fields=["user"])


def link_account(person, *, actor, username, reason="") -> None:
    """Link an existing account (e.g. a resident who signed in with an unknown number) to this person."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(username=username, is_active=True).first() if isinstance(username, str) else None
    if user is None:
        _refuse("/account", _("No account “%(name)s”.") % {"name": str(username)[:150]})
    with transaction.atomic():
        _lock(person.community)
        person = Person.objects.get(pk=person.pk)
        if person.user_id == user.pk:
            return
        if person.user_id is not None:
            _refuse("/account", _("%(name)s already has an account.") % {"name": person.name})
        _link(person, user)
        _audit(person.community, PeopleChange.Action.LINK_ACCOUNT, actor=actor, person=person, reason=reason,
               account=user.get_username())


# ---------------------------------------------------------------- guardian's object permission


MANAGE = "engine.manage_community"


def grant_manage(community, *, actor, user, reason="") -> None:
    """django-guardian's per-community admin permission, for an admin appointed without a role."""
    from guardian.shortcuts import assign_perm

    with transaction.atomic():
        _lock(community)
        assign_perm(MANAGE, user, community)
        _audit(community, PeopleChange.Action.GRANT_PERMISSION, actor=actor, reason=reason,
               account=user.get_username(), permission=MANAGE)


def revoke_manage(community, *, actor, user, reason="") -> None:
    from guardian.shortcuts import remove_perm

    with transaction.atomic():
        _lock(community)
        remove_perm(MANAGE, user, community)
        _audit(community, PeopleChange.Action.REVOKE_PERMISSION, actor=actor, reason=reason,
               account=user.get_username(), permission=MANAGE)


def managers_by_permission(community):
    """Accounts holding guardian's manage permission on the community directly (not through a role)."""
    from guardian.shortcuts import get_users_with_perms

    return sorted(get_users_with_perms(community, only_with_perms_in=["manage_community"], with_group_users=False),
                  key=lambda u: u.get_username())


# ---------------------------------------------------------------- reading


def search_people(community, *, query="", unit=None, role="", include_inactive=False):
    """People of the community by name, the last digits of their number, their unit (and below) or a role."""
    from django.db.models import Q

    from engine.policy import current_assignments

    people = Person.objects.filter(community=community).select_related("unit", "user")
    if not include_inactive:
        people = people.filter(active=True)
    query = (query or "").strip()
    if query:
        match = Q(name__contains=query) | Q(external_id=query)
        if query.isdigit() and 3 <= len(query) <= 11:
            match |= Q(phone__endswith=query)
        people = people.filter(match)
    if unit:
        node = OrgUnit.objects.filter(community=community, key=unit).first()
        people = people.filter(unit__path__startswith=node.path) if node else people.none()
    if role:
        people = people.filter(pk__in=current_assignments().filter(community=community, role=role).values("person"))
    return people.order_by("name", "pk")


def holders_by_unit(community):
    """(unit, role spec, [assignments]) for every role held, and the roles vacant at each unit of their level."""
    from engine.policy import current_assignments

    roles = community_roles(community)
    held = {}
    for assignment in (current_assignments().filter(community=community).select_related("person", "unit")
                       .order_by("unit__path", "role", "person__name")):
        held.setdefault((assignment.unit_id, assignment.role), []).append(assignment)
    rows = []
    for unit in OrgUnit.objects.filter(community=community, active=True).order_by("path"):
        for spec in roles.values():
            holders = held.get((unit.pk, spec.key), [])
            if holders or spec.level == unit.level:
                rows.append((unit, spec, holders))
    return rows
