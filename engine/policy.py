"""Who may do what: the one permission policy that views, the API and the admin all ask.

Deny by default. Role-based grants at nodes of the org tree arrive with the Community issue;
until then a form restricted to an audience of roles is open only to superusers, and a
submission is visible to its submitter and to superusers — never wider than the definitions say.
"""


def roles_of(user, community) -> set[str]:
    """Role keys the user holds in the community (filled in by the org tree; none yet)."""
    return set()


def can_submit(user, spec, community) -> bool:
    if spec.anonymous:
        return True
    if not user.is_authenticated:
        return False
    audience = spec.ui.get("audience")
    if not audience:
        return True
    return user.is_superuser or bool(roles_of(user, community) & set(audience))


def can_view_submission(user, submission) -> bool:
    if not user.is_authenticated:
        return False
    return user.is_superuser or submission.submitter_id == user.pk


def visible_submissions(user, queryset):
    if not user.is_authenticated:
        return queryset.none()
    if user.is_superuser:
        return queryset
    return queryset.filter(submitter=user)


def visible_forms(user, queryset):
    """Published forms the user may open: every live form (what they may submit is can_submit)."""
    return queryset
