"""The "Linli" area of the Wagtail admin: a community's definitions, their versions, rollback.

A thin adapter. Who may see a community is `engine.policy.is_admin` (superuser, django-guardian's
`engine.manage_community` on the community, or an admin role from community.yaml), put in the shape
of a Wagtail permission policy so the admin asks it the way it asks its own. Writing goes through
the one publishing action, `engine.definitions.publishing.rollback_definition`. Pictures and diffs
come from the pure core (`engine.definitions.diagram`, `engine.definitions.diff`).

A community the user does not manage answers exactly like one that does not exist (404), so the
admin of one community cannot even learn the keys of another's definitions.

URLs (namespace "linli", under /admin/linli/):
    ""                                                  index: the communities one manages
    "<community>/<kind>/<key>/"                         definition: versions, the flow's diagram
    "<community>/<kind>/<key>/versions/<number>/"       version: source, diff with the live one
    "<community>/<kind>/<key>/versions/<number>/rollback/"   POST: publish that content anew
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, re_path, reverse
from django.utils import translation
from django.utils.functional import cached_property
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, gettext_lazy as _
from django.views import View
from django.views.generic import TemplateView
from wagtail.admin import messages
from wagtail.admin.menu import MenuItem
from wagtail.admin.ui.tables import Column, DateColumn, StatusFlagColumn, Table, TitleColumn, UserColumn
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.views.generic.permissions import PermissionCheckedMixin
from wagtail.admin.viewsets.base import ViewSet
from wagtail.permission_policies.base import BasePermissionPolicy

from engine import policy
from engine.definitions.diagram import Labels, flow_svg, text_of
from engine.definitions.diff import line_diff
from engine.definitions.publishing import rollback_definition
from engine.models import Community, Definition, DefinitionVersion

KIND_ORDER = [Definition.Kind.COMMUNITY, Definition.Kind.FORM, Definition.Kind.FLOW]
DEFINITION_PATH = r"^(?P<community>[-\w]+)/(?P<kind>community|form|flow)/(?P<key>[-\w]+)/"


class CommunityAdminPolicy(BasePermissionPolicy):
    """Wagtail's permission-policy interface over `engine.policy.is_admin`.

    One action, "manage": see a community's definitions in the admin and roll them back. The
    communities a user manages are worked out once per user object (i.e. once per request)."""

    permission_cache_name = "_linli_managed_community_ids"

    def get_all_permissions_for_user(self, user):
        if not user.is_active or not user.is_authenticated:
            return frozenset()
        if user.is_superuser:
            return frozenset(Community.objects.values_list("pk", flat=True))
        return frozenset(c.pk for c in Community.objects.all() if policy.is_admin(user, c))

    def _managed(self, user):
        return self.get_cached_permissions_for_user(user)

    def user_has_permission(self, user, action):
        return action == "manage" and bool(self._managed(user))

    def user_has_permission_for_instance(self, user, action, instance):
        return action == "manage" and instance.pk in self._managed(user)

    def instances_user_has_any_permission_for(self, user, actions):
        if "manage" not in actions:
            return Community.objects.none()
        return Community.objects.filter(pk__in=self._managed(user))

    def users_with_any_permission(self, actions):
        ids = set()
        if "manage" in actions:
            for community in Community.objects.all():
                ids |= policy.admins_of(community)
        return get_user_model().objects.filter(pk__in=ids)

    def users_with_any_permission_for_instance(self, actions, instance):
        ids = policy.admins_of(instance) if "manage" in actions else set()
        return get_user_model().objects.filter(pk__in=ids)


community_policy = CommunityAdminPolicy(Community)


def _language():
    """The reader's language, to pick a definition's title (text_of) in it."""
    return translation.get_language() or "zh-hans"


def definition_title(definition: Definition, version: DefinitionVersion | None = None) -> str:
    version = version or definition.live_version
    if version is None:
        return ""
    data = version.data
    return text_of(data.get("name") if definition.kind == Definition.Kind.COMMUNITY else data.get("title"), _language())


def diagram_labels() -> Labels:
    return Labels(
        diagram=gettext("Flow diagram"),
        start=gettext("start"),
        vote=gettext("vote"),
        notice=gettext("public notice"),
        due=gettext("time limit"),
        summary=gettext("{states} states and {transitions} transitions; an item starts at “{start}”."),
        finals=gettext("Final states: {names}."),
        arrow=gettext("{source} → {target}: {titles}"),
    )


def source_text(version: DefinitionVersion) -> str:
    """The file text the version was published from (every loaded version keeps it)."""
    if version.source:
        return version.source
    import json

    return json.dumps(version.data, ensure_ascii=False, indent=2)


def definition_url(definition: Definition, name: str = "definition", **kwargs) -> str:
    return reverse(f"linli:{name}", kwargs={"community": definition.community.slug, "kind": definition.kind,
                                           "key": definition.key, **kwargs})


@dataclass
class DefinitionRow:
    """One line of the index: a definition with what the table shows of its live version."""

    definition: Definition
    title: str
    url: str

    @property
    def key(self):
        return self.definition.key

    @property
    def kind(self):
        return self.definition.get_kind_display()

    @property
    def live(self):
        version = self.definition.live_version
        return f"v{version.number}" if version else ""

    @property
    def published_at(self):
        return self.definition.live_version and self.definition.live_version.published_at

    @property
    def published_by(self):
        return self.definition.live_version and self.definition.live_version.published_by


class HashColumn(Column):
    cell_template_name = "cms/admin/hash_cell.html"


class LinliMenuItem(MenuItem):
    def is_shown(self, request):
        return community_policy.user_has_permission(request.user, "manage")


class LinliAdminView(WagtailAdminTemplateMixin, TemplateView):
    header_icon = "clipboard-list"

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [{"url": reverse("linli:index"), "label": _("Linli")}]


class IndexView(PermissionCheckedMixin, LinliAdminView):
    """The communities the user manages, each with its community file, forms and flows."""

    template_name = "cms/admin/index.html"
    permission_policy = community_policy
    permission_required = "manage"  # someone who manages nothing gets Wagtail's "no permission"
    page_title = _("Linli")

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [{"url": "", "label": self.get_page_title()}]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        communities = list(community_policy.instances_user_has_permission_for(self.request.user, "manage")
                           .order_by("slug"))
        definitions = (Definition.objects.filter(community__in=communities)
                       .select_related("community", "live_version", "live_version__published_by"))
        by_community = {c.pk: [] for c in communities}
        for definition in sorted(definitions, key=lambda d: (KIND_ORDER.index(d.kind), d.key)):
            by_community[definition.community_id].append(
                DefinitionRow(definition, definition_title(definition), definition_url(definition)))
        context["communities"] = [
            {"community": c, "panel_id": f"community-{c.slug}", "heading": f"{c} ({c.slug})",
             "table": Table(self.columns(), by_community[c.pk],
                            caption=gettext("Definitions of %(community)s") % {"community": c})}
            for c in communities
        ]
        return context

    def columns(self):
        return [
            TitleColumn("title", label=_("Title"), get_url=lambda row: row.url),
            Column("key", label=_("Key")),
            Column("kind", label=_("Kind")),
            Column("live", label=_("Live version")),
            DateColumn("published_at", label=_("Published at")),
            UserColumn("published_by", label=_("Published by"), blank_display_name=_("not recorded")),
        ]


class DefinitionMixin:
    """Finds the definition in the URL among those of the communities the user manages (else 404)."""

    def dispatch(self, request, *args, **kwargs):
        self.definition = self.get_definition()
        return super().dispatch(request, *args, **kwargs)

    def get_definition(self) -> Definition:
        managed = community_policy.instances_user_has_permission_for(self.request.user, "manage")
        return get_object_or_404(
            Definition.objects.select_related("community", "live_version"),
            community__in=managed, community__slug=self.kwargs["community"],
            kind=self.kwargs["kind"], key=self.kwargs["key"],
        )

    def get_version(self) -> DefinitionVersion:
        return get_object_or_404(self.definition.versions.select_related("published_by"),
                                 number=self.kwargs["number"])

    def diagram(self, version: DefinitionVersion) -> str:
        if self.definition.kind != Definition.Kind.FLOW:
            return ""
        svg = flow_svg(version.data, language=_language(), labels=diagram_labels(),
                       id_prefix=f"flow-{self.definition.pk}-v{version.number}")
        return mark_safe(svg)  # flow_svg escapes every piece of definition text itself


class DefinitionView(DefinitionMixin, LinliAdminView):
    """A definition's versions, newest first, the live one marked; a flow's diagram."""

    template_name = "cms/admin/definition.html"

    def get_page_title(self):
        return definition_title(self.definition) or self.definition.key

    def get_page_subtitle(self):
        return f"{self.definition.key} ({self.definition.get_kind_display()})"

    def get_breadcrumbs_items(self):
        return super().get_breadcrumbs_items() + [
            {"url": reverse("linli:index") + f"#community-{self.definition.community.slug}-section",
             "label": str(self.definition.community)},
            {"url": "", "label": self.get_page_title(), "sublabel": self.get_page_subtitle()},
        ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        versions = list(self.definition.versions.select_related("published_by").order_by("-number"))
        for version in versions:
            version.is_live = version.pk == self.definition.live_version_id
            version.label = f"v{version.number}"
            version.url = definition_url(self.definition, "version", number=version.number)
        context.update(
            definition=self.definition,
            live=self.definition.live_version,
            versions=Table([
                TitleColumn("label", label=_("Version"), get_url=lambda v: v.url),
                StatusFlagColumn("is_live", label=_("Status"), true_label=_("live")),
                DateColumn("published_at", label=_("Published at")),
                UserColumn("published_by", label=_("Published by"), blank_display_name=_("not recorded")),
                Column("note", label=_("Note")),
                HashColumn("content_hash", label=_("Content hash")),
            ], versions, caption=_("Versions")),
            diagram=self.diagram(self.definition.live_version) if self.definition.live_version else "",
        )
        return context


class VersionView(DefinitionMixin, LinliAdminView):
    """One version: its source, read-only; what differs in the live version; rollback to it."""

    template_name = "cms/admin/version.html"

    @cached_property
    def version(self):
        return self.get_version()

    def get_page_title(self):
        return f"{definition_title(self.definition) or self.definition.key} v{self.version.number}"

    def get_page_subtitle(self):
        return f"{self.definition.key} ({self.definition.get_kind_display()})"

    def get_breadcrumbs_items(self):
        return super().get_breadcrumbs_items() + [
            {"url": reverse("linli:index") + f"#community-{self.definition.community.slug}-section",
             "label": str(self.definition.community)},
            {"url": definition_url(self.definition), "label": definition_title(self.definition) or self.definition.key},
            {"url": "", "label": self.get_page_title(), "sublabel": self.get_page_subtitle()},
        ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        live = self.definition.live_version
        version = self.version
        is_live = live is not None and live.pk == version.pk
        context.update(
            definition=self.definition,
            version=version,
            live=live,
            is_live=is_live,
            source=source_text(version),
            hunks=line_diff(source_text(version), source_text(live)) if live and not is_live else [],
            same_content=live is not None and not is_live and live.content_hash == version.content_hash,
            rollback_url=definition_url(self.definition, "rollback", number=version.number),
            diagram=self.diagram(version),
        )
        return context


class RollbackView(DefinitionMixin, View):
    """POST: publish the content of an old version as a new version (history is never rewritten)."""

    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        version = self.get_version()
        if not policy.can_manage_definitions(request.user, self.definition.community):
            raise PermissionDenied  # not reached while managing and seeing are the same grant
        live = self.definition.live_version
        if live is not None and live.number == version.number:
            messages.warning(request, gettext("v%(number)s is already the live version.") % {"number": version.number})
            return redirect(definition_url(self.definition))
        if live is not None and live.content_hash == version.content_hash:
            # as publishing does: unchanged content gets no new version (a double click, a stale page)
            messages.warning(request, gettext("The live version, v%(live)s, already has the content of v%(number)s.")
                             % {"live": live.number, "number": version.number})
            return redirect(definition_url(self.definition))
        new = rollback_definition(self.definition, version.number, user=request.user)
        messages.success(
            request,
            gettext("%(key)s rolled back to v%(old)s: its content is live again as v%(new)s.")
            % {"key": self.definition.key, "old": version.number, "new": new.number},
        )
        return redirect(definition_url(self.definition))


class LinliViewSet(ViewSet):
    """Registered by cms/wagtail_hooks.py; adds the "Linli" item to the admin menu."""

    name = "linli"
    icon = "clipboard-list"
    menu_label = _("Linli")
    menu_name = "linli"
    add_to_admin_menu = True
    menu_order = 250
    menu_item_class = LinliMenuItem

    def get_urlpatterns(self):
        # the editor, builder, migration, simulator and dashboard are modules of their own (they import
        # this one for DefinitionMixin and LinliAdminView, hence the late import)
        from . import (admin_builder, admin_dashboard, admin_editor, admin_migration, admin_people, admin_roster,
                       admin_simulator)

        extra = [admin_editor, admin_builder, admin_migration, admin_simulator, admin_dashboard, admin_roster,
                 admin_people]
        # the index first: Wagtail's menu item links to the viewset's first URL
        return [path("", IndexView.as_view(), name="index")] + [
            pattern for module in extra for pattern in module.urlpatterns] + [
            re_path(DEFINITION_PATH + r"$", DefinitionView.as_view(), name="definition"),
            re_path(DEFINITION_PATH + r"versions/(?P<number>[0-9]+)/$", VersionView.as_view(), name="version"),
            re_path(DEFINITION_PATH + r"versions/(?P<number>[0-9]+)/rollback/$", RollbackView.as_view(),
                    name="rollback"),
        ]
