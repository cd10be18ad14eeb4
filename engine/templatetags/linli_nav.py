"""The navigation every Linli page shows (engine/templates/linli/_nav.html).

`{% linli_home_url %}` is the site name's link: the community's home page on a community's
page, else the site's root — the same for every visitor, so a cached public page may carry it.
`{% linli_nav %}` draws the signed-in part (home, forms, my items, to-dos and messages with
their counts, sign out) and nothing for an anonymous request: the public page cache only
stores anonymous renderings (cms.cache._eligible), so no signed-in part is ever cached.
"""

from __future__ import annotations

from django import template

register = template.Library()


def _community_of(page):
    """The community a page belongs to: its own field, or its form's."""
    if page is None:
        return None
    specific = getattr(page, "specific", page)
    community = getattr(specific, "community", None)
    if community is None and getattr(specific, "form_id", None):
        community = getattr(specific.form, "community", None)
    return community


def community_home(community):
    """The live home page of `community`, or None."""
    if community is None:
        return None
    from cms.models import HomePage

    return HomePage.objects.live().filter(community=community).first()


@register.simple_tag(takes_context=True)
def linli_home_url(context) -> str:
    home = community_home(_community_of(context.get("page")))
    return home.url if home is not None and home.url else "/"


def forms_for(user, community, language) -> list[dict]:
    """The community's published form pages the person may fill (policy.can_submit)."""
    from cms.models import LinliFormPage
    from engine import policy
    from engine.forms.registry import form_spec
    from engine.forms.spec import text

    found = []
    pages = (LinliFormPage.objects.live().filter(form__community=community)
             .select_related("form", "form__live_version", "pinned_version").order_by("path"))
    for page in pages[:30]:
        version = page.version()
        if version is None:
            continue
        spec = form_spec(version)
        if policy.can_submit(user, spec, community):
            found.append({"title": text(spec.title, language) or page.title, "url": page.url})
    return found


def todo_count(user) -> int:
    """How many items ask something of the person (adapter.todo over adapter.inbox), up to 99."""
    from engine.workflow import adapter

    cache = adapter.FactsCache(user)
    count = 0
    for instance in adapter.inbox(user, cache=cache)[:100]:
        if adapter.todo(user, instance, cache=cache):
            count += 1
            if count >= 99:
                break
    return count


@register.inclusion_tag("linli/_nav.html", takes_context=True)
def linli_nav(context):
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"signed_in": False}
    request.linli_nav_shown = True  # linli/_sign_out.html then adds no second sign-out button
    from django.utils import translation

    from engine.models import Notification, Person

    community = _community_of(context.get("page"))
    if community is None:
        person = Person.objects.filter(user=user).select_related("community").order_by("pk").first()
        community = person.community if person is not None else None
    home = community_home(community)
    language = translation.get_language() or "zh-hans"
    return {
        "signed_in": True, "request": request, "csrf_token": context.get("csrf_token"),
        "name": user.get_full_name() or user.get_username(),
        "home_url": home.url if home is not None and home.url else "/",
        "forms": forms_for(user, community, language) if community is not None else [],
        "todo_count": todo_count(user),
        "unread_count": Notification.objects.filter(user=user, read_at__isnull=True).count(),
    }


@register.simple_tag(takes_context=True)
def linli_nav_shown(context) -> bool:
    """Has this request's page already drawn the navigation (with its sign-out)? Pages outside
    cms/base.html (the sign-in page) draw their own sign-out button."""
    return bool(getattr(context.get("request"), "linli_nav_shown", False))
