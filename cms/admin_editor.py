"""The Linli admin area: the definition editor: drafts, live checking, diff, publishing and migrating in-flight items.

A thin adapter over `engine.services.definition_drafts`: every write (start a new form or flow,
save, discard, publish) is one call of that module's actions, so the editor behaves like
`load_definitions` does; checking is the same three gates. Who may edit a community's
definitions is `engine.policy.can_manage_definitions`; a community the user does not manage
answers exactly like one that does not exist (404), as everywhere in the Linli area.

The page works without JavaScript (a textarea, a "Save draft" button, the problems listed by the
server); static/linli/admin/editor.js turns the textarea into CodeMirror and checks as one types.

URLs (namespace "linli", under /admin/linli/):
    "<community>/new/<form|flow>/"                      new: choose a key, start a draft
    "<community>/<kind>/<key>/edit/"                    edit: GET the editor, POST save the draft
    "<community>/<kind>/<key>/edit/lint/"               lint: POST source → {"problems": [...]} (JSON)
    "<community>/<kind>/<key>/edit/discard/"            discard: POST
    "<community>/<kind>/<key>/edit/publish/"            publish: GET review (problems, diff, impact), POST publish
    "<community>/<kind>/<key>/put-on-site/"             put_on_site: POST, a live form page for a form
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import NoReverseMatch, re_path, reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext, gettext_lazy as _
from django.views import View
from wagtail.admin import messages

from engine import policy
from engine.definitions.diff import line_diff
from engine.definitions.problems import DefinitionError
from engine.models import Community, Definition
from engine.services import definition_drafts as drafts

from .admin_views import DEFINITION_PATH, LinliAdminView, _language, community_policy, definition_title

MODES = {"community": "yaml", "flow": "yaml", "form": "json"}


def optional_url(name: str, community: str, kind: str, key: str) -> str:
    """The URL of a page another part of the admin may provide (the simulator…), or "" while it does not."""
    try:
        return reverse(f"linli:{name}", kwargs={"community": community, "kind": kind, "key": key})
    except NoReverseMatch:
        try:
            return reverse(f"linli:{name}", args=[community, kind, key])
        except NoReverseMatch:
            return ""


def editor_url(community: Community, kind: str, key: str, name: str = "edit") -> str:
    return reverse(f"linli:{name}", kwargs={"community": community.slug, "kind": kind, "key": key})


def problem_rows(problems, path: str) -> list[dict]:
    """Problems as the page and the JSON both show them; `own` is true for the edited file's."""
    language = _language()
    return [{"path": p.path, "line": p.line, "column": p.column, "message": p.message(language),
             "own": p.path == path, "text": p.render(language)} for p in problems]


# ---------------------------------------------------------------- finding what is edited


class ManagedCommunityMixin:
    """The community in the URL among those the user manages (else 404), and a guard for writes."""

    @cached_property
    def community(self) -> Community:
        managed = community_policy.instances_user_has_permission_for(self.request.user, "manage")
        return get_object_or_404(managed, slug=self.kwargs["community"])

    def check_may_edit(self):
        if not policy.can_manage_definitions(self.request.user, self.community):
            raise PermissionDenied  # not reached while managing and seeing are the same grant


class EditedMixin(ManagedCommunityMixin):
    """A definition, published or only drafted so far, of a community the user manages."""

    def dispatch(self, request, *args, **kwargs):
        self.kind, self.key = kwargs["kind"], kwargs["key"]
        self.definition = (Definition.objects.select_related("community", "live_version")
                           .filter(community=self.community, kind=self.kind, key=self.key).first())
        self.draft = drafts.draft_for(self.community, self.kind, self.key)
        if self.definition is None and self.draft is None:
            raise Http404
        return super().dispatch(request, *args, **kwargs)

    @property
    def live(self):
        return self.definition.live_version if self.definition else None

    @property
    def path(self) -> str:
        return drafts.draft_path(self.community, self.kind, self.key)

    def title(self) -> str:
        return (definition_title(self.definition) if self.definition else "") or self.key

    def get_page_subtitle(self):
        return f"{self.key} ({Definition.Kind(self.kind).label})"

    def get_breadcrumbs_items(self):
        items = super().get_breadcrumbs_items() + [
            {"url": reverse("linli:index") + f"#community-{self.community.slug}-section", "label": str(self.community)}]
        if self.definition is not None:
            items.append({"url": editor_url(self.community, self.kind, self.key, "definition"), "label": self.title()})
        return items + [{"url": "", "label": self.get_page_title(), "sublabel": self.get_page_subtitle()}]

    def common_context(self):
        slug = self.community.slug
        return {
            "community": self.community, "kind": self.kind, "key": self.key, "definition": self.definition,
            "live": self.live, "draft": self.draft, "path": self.path,
            "edit_url": editor_url(self.community, self.kind, self.key),
            "publish_url": editor_url(self.community, self.kind, self.key, "publish"),
            "discard_url": editor_url(self.community, self.kind, self.key, "discard"),
            "definition_url": editor_url(self.community, self.kind, self.key, "definition") if self.definition else "",
            "simulate_url": optional_url("simulate", slug, self.kind, self.key) if self.kind == "flow" else "",
        }


def revision_of(request) -> int:
    try:
        return int(request.POST.get("revision", ""))
    except ValueError:
        raise Http404 from None  # only a hand-made request lacks it


# ---------------------------------------------------------------- the editor


class EditView(EditedMixin, LinliAdminView):
    """GET: the editor on the draft (or on the live text when there is none). POST: save the draft."""

    template_name = "cms/admin/editor.html"

    def get_page_title(self):
        return gettext("Edit %(title)s") % {"title": self.title()}

    def get_context_data(self, text=None, revision=None, **kwargs):
        context = super().get_context_data(**kwargs)
        if text is None:
            text = self.draft.source if self.draft else drafts.version_text(self.live) if self.live else ""
        if revision is None:
            revision = self.draft.revision if self.draft else 0
        context.update(self.common_context())
        context.update(
            text=text, revision=revision, mode=MODES[self.kind],
            lint_url=editor_url(self.community, self.kind, self.key, "lint"),
            problems=problem_rows(drafts.check_draft(self.community, self.kind, self.key, text), self.path),
        )
        return context

    def post(self, request, *args, **kwargs):
        self.check_may_edit()
        text = request.POST.get("source", "").replace("\r\n", "\n")
        revision = revision_of(request)
        try:
            self.draft = drafts.save_draft(self.community, self.kind, self.key, text, user=request.user,
                                           revision=revision)
        except drafts.DraftConflict as conflict:
            # keep what the person typed on the page: nothing they wrote is lost
            messages.error(request, conflict.text(_language()))
            self.draft = drafts.draft_for(self.community, self.kind, self.key)
            return self.render_to_response(self.get_context_data(text=text, revision=revision), status=409)
        messages.success(request, gettext("Draft saved (revision %(revision)s). It is not live until you publish it.")
                         % {"revision": self.draft.revision})
        return redirect(editor_url(self.community, self.kind, self.key))


class LintView(EditedMixin, View):
    """POST {source}: the problems of that text, as JSON, for checking as one types. Writes nothing."""

    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        self.check_may_edit()
        text = request.POST.get("source", "").replace("\r\n", "\n")
        problems = drafts.check_draft(self.community, self.kind, self.key, text)
        return JsonResponse({"ok": not problems, "path": self.path, "problems": problem_rows(problems, self.path)})


class DiscardView(EditedMixin, View):
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        self.check_may_edit()
        if self.draft is None:
            messages.warning(request, gettext("There is no draft to discard."))
        else:
            try:
                drafts.discard_draft(self.draft, revision=revision_of(request))
            except drafts.DraftConflict as conflict:
                messages.error(request, conflict.text(_language()))
                return redirect(editor_url(self.community, self.kind, self.key))
            messages.success(request, gettext("Draft discarded; the live version is unchanged."))
        if self.definition is None:
            return redirect(reverse("linli:index") + f"#community-{self.community.slug}-section")
        return redirect(editor_url(self.community, self.kind, self.key, "definition"))


# ---------------------------------------------------------------- publishing


def impact_of(definition, checked) -> dict | None:
    """What publishing `checked` would do to items in flight, as plain rows for the page: from
    `engine.services.item_migration.impact_of` (the in-flight migration work owns the rules).
    None for a community file or a definition with nothing published yet."""
    if definition is None or definition.live_version_id is None or definition.kind not in ("form", "flow"):
        return None
    from engine.services import item_migration

    shared = {"new_shared": checked.shared} if definition.kind == "form" else {}
    impact = item_migration.impact_of(definition, checked.data, **shared)
    language = _language()
    return {
        "open_items": impact.open_items,
        "versions": [{"number": v.version.number, "count": v.count,
                      "findings": [f.text(language) for f in v.impact.findings]} for v in impact.versions],
        "needs_decision": bool(impact.needs_mapping or impact.needs_transform),
        "migrate_url": optional_url("migrate", definition.community.slug, definition.kind, definition.key),
    }


class PublishForm(forms.Form):
    note = forms.CharField(label=_("Note"), max_length=500, required=False,
                           help_text=_("Why this version: kept with it in the history."))
    revision = forms.IntegerField(widget=forms.HiddenInput)


class PublishView(EditedMixin, LinliAdminView):
    """GET: review the draft — its problems, what differs from the live version, what happens to
    items in flight. POST: publish it (refused, with the problems shown, if it has any)."""

    template_name = "cms/admin/editor_publish.html"

    def get(self, request, *args, **kwargs):
        if self.draft is None:
            messages.warning(request, gettext("There is no draft to publish: save one in the editor first."))
            return redirect(editor_url(self.community, self.kind, self.key))
        return super().get(request, *args, **kwargs)

    def get_page_title(self):
        return gettext("Publish %(title)s") % {"title": self.title()}

    def get_context_data(self, form=None, problems=None, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(self.common_context())
        check = drafts.draft_check(self.community, self.kind, self.key, self.draft.source)
        if problems is None:
            problems = check.problems
        live_text = drafts.version_text(self.live) if self.live else ""
        checked = check.definition
        context.update(
            form=form or PublishForm(initial={"revision": self.draft.revision}),
            problems=problem_rows(problems, self.path),
            hunks=line_diff(live_text, self.draft.source),
            base_moved=self.draft.base_version_id != (self.live.pk if self.live else None),
            impact=impact_of(self.definition, checked) if checked and not problems else None,
        )
        return context

    def post(self, request, *args, **kwargs):
        self.check_may_edit()
        if self.draft is None:
            messages.warning(request, gettext("There is no draft to publish: save one in the editor first."))
            return redirect(editor_url(self.community, self.kind, self.key))
        form = PublishForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        try:
            version = drafts.publish_draft(self.draft, user=request.user, note=form.cleaned_data["note"],
                                           revision=form.cleaned_data["revision"])
        except DefinitionError as error:
            messages.error(request, gettext("Not published: the draft has problems. Nothing was changed."))
            return self.render_to_response(self.get_context_data(form=form, problems=error.problems), status=400)
        except (drafts.DraftConflict, drafts.NothingToPublish) as refusal:
            messages.error(request, refusal.text(_language()))
            return redirect(editor_url(self.community, self.kind, self.key) if drafts.draft_for(
                self.community, self.kind, self.key) else editor_url(self.community, self.kind, self.key, "definition"))
        messages.success(request, gettext("%(key)s published as v%(number)s.") % {"key": self.key,
                                                                                    "number": version.number})
        return redirect(editor_url(self.community, self.kind, self.key, "definition"))


# ---------------------------------------------------------------- new forms and flows


class NewDefinitionForm(forms.Form):
    key = forms.CharField(label=_("Key"), max_length=64,
                          help_text=_("The file name: lowercase letters, digits and hyphens, such as repair-request. "
                                      "It cannot be changed later."))

    def __init__(self, *args, community, kind, **kwargs):
        super().__init__(*args, **kwargs)
        self.community, self.kind = community, kind
        if kind == "flow":
            forms_ = Definition.objects.filter(community=community, kind="form").order_by("key")
            self.fields["form"] = forms.ChoiceField(
                label=_("Form"), required=False, choices=[("", "—")] + [(f.key, f.key) for f in forms_],
                help_text=_("The form whose submissions start the flow; you can change it in the editor."))

    def clean_key(self):
        try:
            return drafts.validate_new_key(self.community, self.kind, self.cleaned_data["key"])
        except drafts.KeyRefused as refusal:
            raise forms.ValidationError(refusal.text(_language()), code=refusal.code) from None


class NewView(ManagedCommunityMixin, LinliAdminView):
    """A new form or flow of a community: its key, then the editor on a starter text."""

    template_name = "cms/admin/editor_new.html"

    def get_page_title(self):
        return gettext("New form") if self.kwargs["kind"] == "form" else gettext("New flow")

    def get_breadcrumbs_items(self):
        return super().get_breadcrumbs_items() + [
            {"url": reverse("linli:index") + f"#community-{self.community.slug}-section", "label": str(self.community)},
            {"url": "", "label": self.get_page_title(), "sublabel": str(self.community)},
        ]

    def get_form(self):
        data = self.request.POST if self.request.method == "POST" else None
        return NewDefinitionForm(data, community=self.community, kind=self.kwargs["kind"])

    def get_context_data(self, form=None, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(community=self.community, kind=self.kwargs["kind"], form=form or self.get_form())
        return context

    def post(self, request, *args, **kwargs):
        self.check_may_edit()
        form = self.get_form()
        kind = self.kwargs["kind"]
        if form.is_valid():
            try:
                drafts.start_new(self.community, kind, form.cleaned_data["key"], user=request.user,
                                 form=form.cleaned_data.get("form", ""))
            except drafts.KeyRefused as refusal:
                form.add_error("key", refusal.text(_language()))
            else:
                messages.success(request, gettext("Draft started. Edit it, then publish it."))
                return redirect(editor_url(self.community, kind, form.cleaned_data["key"]))
        return self.render_to_response(self.get_context_data(form=form), status=400)


# ---------------------------------------------------------------- the community's site


def form_page_of(definition):
    from cms.models import LinliFormPage

    return LinliFormPage.objects.filter(form=definition).order_by("pk").first()


def put_on_site(definition):
    """A live form page for a published form, under the community's home page. Returns
    (page, created); a form that has a page already keeps it."""
    from cms.models import LinliFormPage
    from cms.sections import _free_slug, community_section

    with transaction.atomic():
        page = form_page_of(definition)
        if page is not None:
            return page, False
        home = community_section(definition.community)["home"]
        title = definition_title(definition) or definition.key
        page = LinliFormPage(title=title[:255], slug=_free_slug(home, definition.key), form=definition)
        home.add_child(instance=page)
    return page, True


class PutOnSiteView(ManagedCommunityMixin, View):
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        self.check_may_edit()
        definition = get_object_or_404(Definition, community=self.community, kind="form", key=kwargs["key"],
                                       live_version__isnull=False)
        page, created = put_on_site(definition)
        if created:
            messages.success(request, gettext("“%(title)s” is on the community's site: residents can fill it in now.")
                             % {"title": page.title})
        else:
            messages.warning(request, gettext("The form is on the community's site already."))
        return redirect(editor_url(self.community, "form", definition.key, "definition"))


COMMUNITY_PATH = r"^(?P<community>[-\w]+)/"

urlpatterns = [
    re_path(COMMUNITY_PATH + r"new/(?P<kind>form|flow)/$", NewView.as_view(), name="new"),
    re_path(DEFINITION_PATH + r"edit/$", EditView.as_view(), name="edit"),
    re_path(DEFINITION_PATH + r"edit/lint/$", LintView.as_view(), name="lint"),
    re_path(DEFINITION_PATH + r"edit/discard/$", DiscardView.as_view(), name="discard"),
    re_path(DEFINITION_PATH + r"edit/publish/$", PublishView.as_view(), name="publish"),
    re_path(r"^(?P<community>[-\w]+)/(?P<kind>form)/(?P<key>[-\w]+)/put-on-site/$", PutOnSiteView.as_view(),
            name="put_on_site"),
]
