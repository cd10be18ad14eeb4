"""Who may do what: the one permission policy that views, the API and the admin all ask.

Deny by default. Grants come from three places:
- a role held at a unit of the org tree (RoleAssignment) covers that unit's subtree and the
  units it also covers; community.yaml says which roles are staff (reviewers) and admins;
- django-guardian's object permission `engine.manage_community` on one Community, for an admin
  appointed by hand (one row per community, not per item);
- superusers.
A person always sees their own submissions and the items assigned to them. Nobody else's item is "forbidden" to them: it is
simply not in what they can see, so it answers like a missing one.
"""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone

from engine.models import Community, Definition, RoleAssignment


_ROLES: dict[tuple, dict] = {}


def _community_roles(community) -> dict:
    """The roles of the live community.yaml, read once per version (a light query otherwise)."""
    row = (Definition.objects.filter(community=community, kind="community")
           .values_list("live_version_id", "live_version__content_hash").first())
    if not row or row[0] is None:
        return {}
    if row not in _ROLES:
        from engine.models import DefinitionVersion

        data = DefinitionVersion.objects.get(pk=row[0]).data
        _ROLES[row] = {role["key"]: role for role in data.get("roles", [])}
    return _ROLES[row]


def community_roles(community) -> dict:
    """role key -> its entry in the live community.yaml (title, level, staff, admin)."""
    return _community_roles(community)


def admin_roles(community) -> frozenset:
    """Keys of the community's admin roles (community.yaml `admin: true`): besides managing the
    community, their holders take the steps whose role is vacant (engine.workflow.core.StandIn)."""
    return frozenset(key for key, role in _community_roles(community).items() if role.get("admin"))


def current_assignments(queryset=None, *, day=None, acting=False):
    """Role assignments in force on `day` (the local date, today by default): begun, not ended, held
    by an active person. The one place that says which roles count: every "who may" (the policy,
    the facts a flow sees, vacancies, recipients, electorates) starts from here.

    `acting=True` keeps only holders who can sign in (an active account): whether a role is vacant
    asks this, so a roster's grid leader who has no account yet does not leave items waiting."""
    day = day or timezone.localdate()
    queryset = RoleAssignment.objects.all() if queryset is None else queryset
    queryset = queryset.filter(Q(until__isnull=True) | Q(until__gte=day), Q(since__isnull=True) | Q(since__lte=day),
                               person__active=True)
    return queryset.filter(person__user__is_active=True) if acting else queryset


def assignments(user, community=None):
    if not user.is_authenticated or not user.is_active:
        return RoleAssignment.objects.none()
    queryset = current_assignments().filter(person__user=user)
    if community is not None:
        queryset = queryset.filter(community=community)
    return queryset.select_related("unit", "community")


def roles_of(user, community) -> set[str]:
    """Role keys the user holds anywhere in the community."""
    return set(assignments(user, community).values_list("role", flat=True))


def is_admin(user, community) -> bool:
    if not user.is_authenticated:
        return False
    if user.is_superuser or user.has_perm("engine.manage_community", community):
        return True
    roles = _community_roles(community)
    return any(roles.get(key, {}).get("admin") for key in roles_of(user, community))


def manages_people(user, community) -> bool:
    """People and roles of a community (the admin screens, the API, the roster import): those who
    manage the community, and those who manage the street it belongs to."""
    if is_admin(user, community):
        return True
    parent = community.parent if community.parent_id else None
    return parent is not None and parent.kind == Community.Kind.STREET and is_admin(user, parent)


def admins_of(community) -> set[int]:
    """Ids of the active users `is_admin` says yes to for `community`: superusers, holders of
    guardian's `engine.manage_community` on it, and current holders of its admin roles."""
    from django.contrib.auth import get_user_model
    from guardian.shortcuts import get_users_with_perms

    users = get_user_model().objects.filter(is_active=True)
    ids = set(users.filter(is_superuser=True).values_list("pk", flat=True))
    ids |= {u.pk for u in get_users_with_perms(community, only_with_perms_in=["manage_community"],
                                               with_group_users=True) if u.is_active}
    admin_roles = [key for key, role in _community_roles(community).items() if role.get("admin")]
    holders = current_assignments().filter(community=community, role__in=admin_roles, person__user__is_active=True)
    return ids | set(holders.values_list("person__user_id", flat=True))


def manages_any(user) -> bool:
    """Does the user manage at least one community (an admin role in force, guardian's permission, or
    superuser)? Answered once per user object, i.e. once per request."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    cached = getattr(user, "_linli_manages_any", None)
    if cached is None:
        communities = Community.objects.filter(pk__in=assignments(user).values("community"))
        cached = any(is_admin(user, c) for c in communities) or _guardian_communities(user).exists()
        user._linli_manages_any = cached
    return cached


class AdminAreaBackend:
    """An authentication backend that authenticates nobody and answers one permission: Wagtail's
    `wagtailadmin.access_admin`, for those who manage a community. So an admin appointed in the
    people screens (or by the roster) may enter the admin area on their next request, and one who
    loses the role may not: the policy decides, with no group to keep in step with the roles."""

    def authenticate(self, request, **credentials):
        return None

    def has_perm(self, user_obj, perm, obj=None):
        return perm == "wagtailadmin.access_admin" and obj is None and manages_any(user_obj)

    def has_module_perms(self, user_obj, app_label):
        return app_label == "wagtailadmin" and manages_any(user_obj)


def _staff_units(user, community=None):
    """Paths of the units whose subtrees the user reviews (staff roles), per community."""
    paths = []
    for assignment in assignments(user, community):
        roles = _community_roles(assignment.community)
        if roles.get(assignment.role, {}).get("staff"):
            paths.append(assignment.unit.path)
            paths.extend(assignment.unit.covers.values_list("path", flat=True))
    return paths


def holds_role_at(user, community, role, unit) -> bool:
    """Does the user hold `role` at `unit` or at a unit above it (or covering it)?"""
    for assignment in assignments(user, community).filter(role=role):
        paths = [assignment.unit.path, *assignment.unit.covers.values_list("path", flat=True)]
        if any(unit.path.startswith(path) for path in paths):
            return True
    return False


def can_submit(user, spec, community) -> bool:
    if spec.anonymous:
        return True
    if not user.is_authenticated:
        return False
    audience = spec.ui.get("audience")
    if not audience:
        return True
    return user.is_superuser or bool(roles_of(user, community) & set(audience))


def visible_submissions(user, queryset):
    if not user.is_authenticated:
        return queryset.none()
    if user.is_superuser:
        return queryset
    visible = Q(submitter=user) | Q(flow__assignee=user)  # one's own, and what one was assigned
    admin_of = [c.pk for c in Community.objects.filter(pk__in=assignments(user).values("community"))
                if is_admin(user, c)]
    admin_of += [c.pk for c in _guardian_communities(user)]
    if admin_of:
        visible |= Q(community__in=admin_of)
    for path in _staff_units(user):
        visible |= Q(unit__path__startswith=path)
    return queryset.filter(visible)


def communities_managed_by_permission(user):
    """The communities on which the user holds guardian's `engine.manage_community` directly."""
    return _guardian_communities(user)


def _guardian_communities(user):
    from guardian.shortcuts import get_objects_for_user

    return get_objects_for_user(user, "engine.manage_community", klass=Community, accept_global_perms=False)


def can_view_submission(user, submission) -> bool:
    """May the user open `submission`? Those in `visible_submissions(user, ...)`, worked out for the
    one item (a reviewer's step asks this on every request, and computing the person's whole
    visibility cost a dozen queries) — and whoever the flow offers a step on it now: a member who
    may take the order, a building head who hands over, a resident who may object to a notice.
    What the engine lets a person do, they can see; the lists of such items are their inbox
    (`engine.workflow.adapter.inbox`), not `visible_submissions`."""
    if not user.is_authenticated:
        return False
    if user.is_superuser or submission.submitter_id == user.pk:
        return True
    from engine.models import FlowInstance

    try:
        if submission.flow.assignee_id == user.pk:
            return True
    except FlowInstance.DoesNotExist:
        pass
    if submission.unit_id is not None:
        path = submission.unit.path
        if any(path.startswith(prefix) for prefix in _staff_units(user)):
            return True
    community = submission.community
    if assignments(user, community).exists() and is_admin(user, community):
        return True
    if _guardian_communities(user).filter(pk=community.pk).exists():
        return True
    return _offered_a_step(user, submission)


def _offered_a_step(user, submission) -> bool:
    from engine.models import FlowInstance
    from engine.workflow import adapter

    instance = FlowInstance.objects.filter(submission=submission, finished_at__isnull=True).select_related(
        "submission", "submission__unit", "flow_version").first()
    return instance is not None and bool(adapter.open_transitions(user, instance))


def visible_submission(user, pk, queryset=None):
    """Submission `pk` if the user may see it, else None: a hidden item and a missing one alike.
    Loaded with what `can_view_submission` reads (its unit, community and flow instance)."""
    from engine.models import Submission

    queryset = Submission.objects.all() if queryset is None else queryset
    submission = queryset.select_related("unit", "community", "flow").filter(pk=pk).first()
    return submission if submission is not None and can_view_submission(user, submission) else None


def can_manage_definitions(user, community) -> bool:
    return is_admin(user, community)


def can_view_points(user, person) -> bool:
    """A person's ledger: themself, and the community's admins."""
    if not user.is_authenticated:
        return False
    return person.user_id == user.pk or is_admin(user, person.community)


def can_award_points(user, community) -> bool:
    return is_admin(user, community)


def visible_forms(user, queryset):
    """Published forms the user may open: every live form (what they may submit is can_submit)."""
    return queryset


def _staff_at(user, community, unit) -> bool:
    """Does the user hold a staff role (in force) at `unit` or at a unit above or covering it?"""
    if unit is None:
        return False
    return any(unit.path.startswith(path) for path in _staff_units(user, community))


def may_enter_ballots(user, instance) -> bool:
    """May the user enter paper ballots and proxies on the vote of `instance` (a FlowInstance)? The
    staff of the vote's scope only: those who manage the community, and those holding a staff role
    at or above the item's unit. Seeing the item is not enough: its submitter, its assignee and
    anyone the flow offers a step may open it, and none of them may vote for others. A voter casts
    their own ballot whoever they are (the electorate decides that, not this)."""
    if not user.is_authenticated or not user.is_active:
        return False
    community = instance.community
    return is_admin(user, community) or _staff_at(user, community, instance.submission.unit)


def may_see_private(user, submission) -> bool:
    """May the user read the fields a form marks `private` (names, rooms and phones of residents
    and supporters) on `submission`? The submitter themself, those who manage the community, and
    staff at or above the item's unit. Not whoever else may open the item — a voter, a member
    taking the order, a resident objecting to a notice, an assignee without a staff role. Every
    surface asks this one question: the item page, the API, exports, public pages, messages."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser or (submission.submitter_id is not None and submission.submitter_id == user.pk):
        return True
    community = submission.community
    return is_admin(user, community) or _staff_at(user, community, submission.unit)
