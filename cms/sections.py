"""What the public pages of a community show, computed from live data (thin: the rules are in
engine.privacy and engine.services), and the page structure a community's site gets."""

from __future__ import annotations

from django.db.models import Count, Q
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from engine.forms.registry import community_choices
from engine.models import Community, OrgUnit, PostAssignment
from engine.services.consent import may_be_asked
from engine.services.honours import rules_for

LATEST = 5


# ---------------------------------------------------------------- home pages


def home_context(page, context):
    from cms.models import (AnnouncementIndexPage, AnnouncementPage, HonourRollIndexPage, HonourRollPage,
                            LinliFormPage, PostBoardPage, StatisticsPage)

    community = page.community
    if community is None:  # the site's root: every community and street
        context["communities"] = _with_homes(_communities_with_counts())
        return context
    covered = _covered(community)
    ids = list(dict.fromkeys([community.pk] + [c.pk for c in covered]))  # a street's own pages and its communities'
    context["covered"] = _with_homes(covered) if community.kind == Community.Kind.STREET else []
    context["announcements"] = (AnnouncementPage.objects.live().filter(community_id__in=ids)
                                .order_by("-date", "-first_published_at")[:LATEST])
    context["forms"] = LinliFormPage.objects.live().filter(form__community_id__in=ids).order_by("title")
    context["announcement_index"] = AnnouncementIndexPage.objects.live().child_of(page).first()
    context["honour_index"] = HonourRollIndexPage.objects.live().child_of(page).first()
    context["honour_rolls"] = (HonourRollPage.objects.live().filter(community_id__in=ids)
                               .order_by("-period_start")[:3])
    context["post_boards"] = PostBoardPage.objects.live().filter(community_id__in=ids)
    context["statistics_page"] = StatisticsPage.objects.live().filter(community=community).first()
    from engine.services.statistics import figures

    context["figures"] = figures(community)
    return context


def _covered(community):
    if community.kind == Community.Kind.STREET:
        return list(Community.objects.filter(parent=community).order_by("slug"))
    return [community]


def _with_homes(communities):
    from cms.models import HomePage

    homes = {h.community_id: h for h in HomePage.objects.live().filter(community__isnull=False)}
    communities = list(communities)
    for community in communities:
        community.home = homes.get(community.pk)
    return communities


def _communities_with_counts():
    return Community.objects.annotate(
        form_count=Count("definitions", filter=Q(definitions__kind="form")),
        flow_count=Count("definitions", filter=Q(definitions__kind="flow")),
    ).order_by("kind", "slug")  # Meta.ordering does not apply to aggregate queries


# ---------------------------------------------------------------- the post board


def post_board(community):
    """[{"place", "posts": [{"title", "holders": [{"name", "reachable", "holding"}]}]}] for the
    community's open post assignments, grouped by compound and building (never finer)."""
    rules = rules_for(community)
    levels = _level_keys(community)
    units = {u.path: u for u in OrgUnit.objects.filter(community=community).only("path", "level", "name")}
    titles = dict(community_choices(community).get("post", []))
    places: dict[str, dict[str, list]] = {}
    # plain values, not model instances: a board of 500 posts renders in a fraction of the time
    holdings = (PostAssignment.objects.filter(community=community, until__isnull=True)
                .order_by("unit__path", "post", "since", "pk")
                .values_list("pk", "post", "unit__path", "person__name", "person__show_name_publicly",
                             "person__contact_consent", "person__user_id"))
    for pk, post, path, name, named, contact, user_id in holdings:
        chain = [units[path[:n]] for n in range(4, len(path) + 1, 4) if path[:n] in units]
        place = rules.unit_path([(u.level, u.name) for u in chain], levels) or community.name
        places.setdefault(place, {}).setdefault(post, []).append({
            "name": rules.name(name, named), "reachable": may_be_asked(contact, user_id), "holding": pk})
    return [{"place": place, "posts": [{"title": titles.get(post, post), "holders": holders}
                                       for post, holders in posts.items()]}
            for place, posts in places.items()]


def _level_keys(community) -> list[str]:
    from engine.forms.registry import community_index

    index = community_index(community)
    return list(index.levels) if index is not None else []


# ---------------------------------------------------------------- a community's site


def community_section(community):
    """The community's home page and its announcement, honour-roll, post-board and statistics
    pages, made on first need under the site's root. Returns {"home", "announcements", ...}."""
    from django.utils import translation
    from wagtail.models import Site

    from cms.models import (AnnouncementIndexPage, HomePage, HonourRollIndexPage, PostBoardPage,
                            StatisticsPage)

    home = HomePage.objects.filter(community=community).first()
    if home is None:
        root = Site.objects.get(is_default_site=True).root_page
        parent = root
        if community.parent_id:  # a community's site sits under its street's
            parent = community_section(community.parent)["home"]
        home = HomePage(title=community.name, slug=_free_slug(parent, community.slug), community=community)
        parent.add_child(instance=home)
    section = {"home": home}
    wanted = [("announcements", AnnouncementIndexPage, _("Announcements")),
              ("honours", HonourRollIndexPage, _("Honour rolls")),
              ("statistics", StatisticsPage, _("Statistics"))]
    if community.kind != Community.Kind.STREET:
        wanted.insert(2, ("posts", PostBoardPage, _("Post board")))
    for slug, model, title in wanted:
        page = model.objects.child_of(home).first()
        if page is None:
            with translation.override("zh-hans"):  # the public site speaks Chinese first
                title = str(title)
            page = model(title=title, slug=slug, community=community)
            home.add_child(instance=page)
        section[slug] = page
    return section


def _free_slug(parent, wanted):
    slug, n = slugify(wanted) or "community", 1
    taken = set(parent.get_children().values_list("slug", flat=True))
    candidate = slug
    while candidate in taken:
        n += 1
        candidate = f"{slug}-{n}"
    return candidate
