"""The Linli admin area: migrating in-flight items to another version of their form or flow.

A thin adapter over `engine.services.item_migration`: the page shows how many open items sit
on each older version, what the live version changes for them (the pure core's messages) and
a form asking where the items of removed states and the values of removed fields go; a POST
runs the one migration action and says how many items moved, or why none did.

Who may see the page is who manages the community (`DefinitionMixin`: 404 otherwise, like a
missing definition); a community file has no items, so its migration page does not exist.

URL (namespace "linli"): "<community>/<kind>/<key>/migrate/"   name "migrate"
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.urls import re_path, reverse
from django.utils import translation
from django.utils.functional import cached_property
from django.utils.translation import gettext, ngettext
from wagtail.admin import messages

from engine import policy
from engine.models import Definition
from engine.services.item_migration import MigrationForm, MigrationRefused, impact_of, migrate

from .admin_views import DEFINITION_PATH, DefinitionMixin, LinliAdminView, definition_title, definition_url


class MigrateView(DefinitionMixin, LinliAdminView):
    """GET: the impact of the live version on items of older ones, and the mapping form.
    POST: migrate them all (or none, with the reasons)."""

    template_name = "cms/admin/migrate.html"
    http_method_names = ["get", "post"]

    def get_definition(self) -> Definition:
        definition = super().get_definition()
        if definition.kind not in (Definition.Kind.FLOW, Definition.Kind.FORM) or definition.live_version is None:
            raise Http404("only a published flow or form has items to migrate")
        return definition

    def get_page_title(self):
        return gettext("Migrate items to v%(number)s") % {"number": self.definition.live_version.number}

    def get_page_subtitle(self):
        return definition_title(self.definition) or self.definition.key

    def get_breadcrumbs_items(self):
        return super().get_breadcrumbs_items() + [
            {"url": reverse("linli:index") + f"#community-{self.definition.community.slug}-section",
             "label": str(self.definition.community)},
            {"url": definition_url(self.definition), "label": self.get_page_subtitle()},
            {"url": "", "label": self.get_page_title()},
        ]

    @cached_property
    def impact(self):
        live = self.definition.live_version
        return impact_of(self.definition, live.data, to_version=live)

    def get_context_data(self, form=None, problems=(), **kwargs):
        context = super().get_context_data(**kwargs)
        language = translation.get_language() or "zh-hans"
        impact = self.impact
        context.update(
            definition=self.definition,
            live=self.definition.live_version,
            impact=impact,
            versions=[{"number": v.version.number, "count": v.count, "url": definition_url(
                self.definition, "version", number=v.version.number),
                "messages": [f.text(language) for f in v.impact.findings]} for v in impact.versions],
            form=form or MigrationForm(impact),
            problems=problems,
            action_url=definition_url(self.definition, "migrate"),
        )
        return context

    def post(self, request, *args, **kwargs):
        if not policy.can_manage_definitions(request.user, self.definition.community):
            raise PermissionDenied  # not reached while managing and seeing are the same grant
        form = MigrationForm(self.impact, data=request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        try:
            report = migrate(self.definition, self.definition.live_version, state_map=form.state_map(),
                             field_map=form.field_map(), user=request.user)
        except MigrationRefused as refused:
            language = translation.get_language() or "zh-hans"
            return self.render_to_response(self.get_context_data(form=form, problems=refused.texts(language)),
                                           status=409)
        messages.success(request, ngettext("%(count)s item migrated to v%(number)s.",
                                           "%(count)s items migrated to v%(number)s.", report.migrated)
                         % {"count": report.migrated, "number": report.to_version.number})
        return redirect(definition_url(self.definition, "migrate"))


urlpatterns = [
    re_path(DEFINITION_PATH + r"migrate/$", MigrateView.as_view(), name="migrate"),
]
