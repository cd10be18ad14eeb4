"""The Linli admin area: the visual form builder and its preview of a form as residents see it.

The builder itself is a script (static/linli/admin/form_builder.js) that edits the form's JSON
text; the server's part is to show that text as residents would get it. The preview view takes
the draft text (POST, CSRF-protected), puts it through the same three gates as publishing
(`engine.definitions.pipeline.check_files`, with the community's live definitions and the shared
files beside it, so that a flow's guard on a removed field is reported too) and renders every step
with the resident templates and form classes (`cms/includes/field.html`,
`engine.forms.django_forms.form_class`) — or lists the problems. Nothing is stored and the page
cannot be submitted.

URLs (namespace "linli", under /admin/linli/):
    "<community>/form/<key>/builder/"   the builder on a page of its own (the editor includes it too)
    "<community>/form/<key>/preview/"   POST schema=<JSON text>: the preview, for the builder's frame
"""

from __future__ import annotations

import json

from django.conf import settings
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import translation
from django.utils.decorators import method_decorator
from django.utils.translation import gettext, gettext_lazy as _
from django.views import View
from django.views.decorators.clickjacking import xframe_options_sameorigin

from engine.definitions.pipeline import SHARED, SourceFile, check_files
from engine.forms.django_forms import form_class
from engine.forms.registry import community_choices
from engine.forms.spec import compile_form, text
from engine.models import Community, Definition

from .admin_views import DefinitionMixin, LinliAdminView, _language, definition_title, definition_url, source_text

FORM_PATH = "forms_schemas/{community}/{key}.schema.json"


def source_path(kind: str, community: str, key: str) -> str:
    if kind == "community":
        return f"workflows_yaml/{community}/community.yaml"
    if kind == "flow":
        return f"workflows_yaml/{community}/{key}.flow.yaml"
    return FORM_PATH.format(community=community, key=key)


def draft_files(definition: Definition, draft: str) -> list[SourceFile]:
    """The draft form among the community's live definitions and the shared files it may use.

    Shared files are read from LINLI_FORMS_DIR/_shared/ (what `load_definitions` would publish
    with); a name found only in a live form's frozen content is taken from there."""
    slug = definition.community.slug
    files = [SourceFile(source_path("form", slug, definition.key), "form", slug, definition.key, draft.encode("utf-8"))]
    shared = {}
    siblings = (Definition.objects.filter(community=definition.community, live_version__isnull=False)
                .exclude(pk=definition.pk).select_related("live_version"))
    for record in siblings:
        version = record.live_version
        key = slug if record.kind == "community" else record.key
        files.append(SourceFile(source_path(record.kind, slug, record.key), record.kind, slug, key,
                                source_text(version).encode("utf-8")))
        for name, data in (version.content.get("shared") or {}).items():
            shared.setdefault(name, json.dumps(data, ensure_ascii=False).encode("utf-8"))
    if definition.live_version is not None:
        for name, data in (definition.live_version.content.get("shared") or {}).items():
            shared.setdefault(name, json.dumps(data, ensure_ascii=False).encode("utf-8"))
    folder = settings.LINLI_FORMS_DIR / SHARED
    if folder.is_dir():
        for file in sorted(folder.glob("*.json")):
            shared[file.name] = file.read_bytes()
    files += [SourceFile(f"forms_schemas/{SHARED}/{name}", "shared", SHARED, name, raw)
              for name, raw in sorted(shared.items())]
    return files


class BuilderView(DefinitionMixin, LinliAdminView):
    """The builder over a textarea holding the live source: for trying it out, and for the browser
    tests. Saving and publishing belong to the editor, which includes the same template."""

    template_name = "cms/admin/form_builder_page.html"

    def get_page_title(self):
        return gettext("Form builder: %(title)s") % {"title": definition_title(self.definition) or self.definition.key}

    def get_breadcrumbs_items(self):
        return super().get_breadcrumbs_items() + [
            {"url": reverse("linli:index") + f"#community-{self.definition.community.slug}-section",
             "label": str(self.definition.community)},
            {"url": definition_url(self.definition), "label": definition_title(self.definition) or self.definition.key},
            {"url": "", "label": _("Form builder")},
        ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        live = self.definition.live_version
        context.update(definition=self.definition, source=source_text(live) if live else "")
        return context


@method_decorator(xframe_options_sameorigin, name="dispatch")  # shown in the builder's frame
class PreviewView(DefinitionMixin, View):
    """POST the draft's text as `schema`: the form as residents would see it, or its problems."""

    http_method_names = ["post"]
    template_name = "cms/admin/form_preview.html"

    def post(self, request, *args, **kwargs):
        draft = request.POST.get("schema", "")
        language = translation.get_language() or "zh-hans"
        community = self.definition.community
        known = set(Community.objects.values_list("slug", flat=True))
        result = check_files(draft_files(self.definition, draft), known_communities=known)
        context = {"definition": self.definition, "problems": [], "steps": []}
        if result.problems:
            lang = _language()
            draft_path = source_path("form", community.slug, self.definition.key)
            ordered = sorted(result.problems, key=lambda p: (p.path != draft_path, p.sort_key()))
            context["problems"] = [{"where": self._where(p, draft_path), "message": p.message(lang)} for p in ordered]
            return TemplateResponse(request, self.template_name, context, status=200)
        checked = next(d for d in result.definitions if d.kind == "form" and d.key == self.definition.key)
        spec = compile_form(community.slug, self.definition.key, 0, checked.content)
        names = community_choices(community, language)
        steps = []
        for step in spec.steps:
            form = form_class(spec, step.key, names, language)(prefix=step.key)
            steps.append({"step": step, "title": text(step.title, language),
                          "description": text(step.description, language), "form": form})
        context.update(spec=spec, title=text(spec.title, language), description=text(spec.description, language),
                       steps=steps, submit_label=text(spec.ui.get("submit_label", ""), language))
        from cms.wizard import _conditions_for_browser  # the same hints the resident page gets

        context["conditions"] = _conditions_for_browser(spec)
        return TemplateResponse(request, self.template_name, context)

    @staticmethod
    def _where(problem, draft_path):
        where = f"{problem.line}:{problem.column}" if problem.line else ""
        if problem.path != draft_path:
            where = f"{problem.path}:{where}" if where else problem.path
        return where


urlpatterns = [
    path("<slug:community>/form/<slug:key>/builder/", BuilderView.as_view(), {"kind": "form"}, name="form_builder"),
    path("<slug:community>/form/<slug:key>/preview/", PreviewView.as_view(), {"kind": "form"}, name="form_preview"),
]
