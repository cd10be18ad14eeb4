"""Form pages: a published Linli form, and Wagtail's own form builder beside it."""

from django.db import models
from django.template.response import TemplateResponse
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from wagtail.admin.forms import WagtailAdminPageForm
from modelcluster.fields import ParentalKey
from wagtail.admin.panels import FieldPanel, InlinePanel
from wagtail.contrib.forms.models import AbstractForm, AbstractFormField, FormMixin
from wagtail.fields import RichTextField
from wagtail.models import Page


class LinliFormPage(FormMixin, Page):
    """A published Linli form placed anywhere in the page tree.

    Points at a form definition — its live version, or a pinned one. Submissions are listed,
    filtered and exported by Wagtail's own form-submissions views (Forms in the admin menu):
    this page tells them where the submissions are and what their columns are.
    """

    form = models.ForeignKey("engine.Definition", verbose_name=_("form"), on_delete=models.PROTECT,
                             limit_choices_to={"kind": "form"}, related_name="+")
    pinned_version = models.ForeignKey(
        "engine.DefinitionVersion", verbose_name=_("pinned version"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+", help_text=_("Leave empty to always show the latest published version."))
    intro = RichTextField(_("introduction"), blank=True, features=["bold", "italic", "link", "ol", "ul"])
    thank_you = RichTextField(_("thank-you message"), blank=True, features=["bold", "italic", "link"])

    base_form_class = WagtailAdminPageForm
    template = "cms/form_page.html"
    landing_page_template = "cms/form_page_landing.html"
    content_panels = Page.content_panels + [FieldPanel("form"), FieldPanel("pinned_version"), FieldPanel("intro"),
                                            FieldPanel("thank_you")]

    class Meta:
        verbose_name = _("form page")
        verbose_name_plural = _("form pages")

    # -- what is shown

    def version(self):
        return self.pinned_version or self.form.live_version

    def serve(self, request, *args, **kwargs):
        from engine.forms.registry import form_spec
        from engine.models import Definition
        from engine.services.drafts import changes_since, draft_for

        from cms.wizard import FormWizard, serve_single_step

        # one query for the form, its community, live version and the flow that handles it
        # (without the heavy source; the flow's content is read only to compile it, once)
        self.form = (Definition.objects.select_related("community", "live_version", "flow__live_version")
                     .defer("live_version__source", "flow__live_version__source", "flow__live_version__content")
                     .get(pk=self.form_id))
        language = translation.get_language() or "zh-hans"
        version = self.version()
        if (len(form_spec(version).steps) == 1 and not request.user.is_authenticated
                and not request.GET.get("resume")):
            # a one-step form for a visitor: no wizard, no session — a signed token carries the
            # version and the idempotency key between the page and its POST
            return serve_single_step(request, self, version, language)
        session_key = f"linli_form_{self.pk}_version"
        draft = None
        if request.method == "GET" and request.GET.get("resume"):
            draft = draft_for(request.user, self.form)
            if draft is not None:
                version = draft.form_version
                request.session[f"linli_form_{self.pk}_v{version.pk}"] = draft.data.get("wizard", {})
        elif request.method == "POST" and request.session.get(session_key) not in (None, version.pk):
            from engine.models import DefinitionVersion

            version = DefinitionVersion.objects.filter(pk=request.session[session_key], definition=self.form).first() \
                or version
        if request.session.get(session_key) != version.pk:
            request.session[session_key] = version.pk
        view = FormWizard.for_page(self, version, language)
        if draft is not None:
            return view(request, resume=True, changes=changes_since(version, self.version(), language))
        return view(request)

    def render_landing_page(self, request, form_submission=None, *args, **kwargs):
        from engine.forms.registry import form_spec
        from engine.forms.spec import text

        context = self.get_context(request)
        context["submission"] = form_submission
        ui = form_spec(form_submission.form_version).ui if form_submission else {}
        context["success_message"] = text(ui.get("success_message", ""), translation.get_language() or "zh-hans")
        return TemplateResponse(request, self.landing_page_template, context)

    # -- Wagtail's submissions listing and export

    def get_submission_class(self):
        from engine.models import Submission

        return Submission

    def get_submissions_list_view_class(self):
        from cms.views import LinliSubmissionsListView

        return LinliSubmissionsListView  # Wagtail's listing, with formula-safe CSV

    def get_submissions(self):
        from engine.models import Submission

        return Submission.objects.filter(form=self.form).select_related("form_version")

    def get_data_fields(self):
        from engine.forms.registry import form_spec
        from engine.forms.spec import text

        language = translation.get_language() or "zh-hans"
        spec = form_spec(self.form.live_version)
        return [("submit_time", _("Submission date")), ("reference", _("reference number"))] + [
            (f.name, text(f.title, language)) for f in spec.fields]


class SimpleFormField(AbstractFormField):
    page = ParentalKey("SimpleFormPage", on_delete=models.CASCADE, related_name="form_fields")


class SimpleFormPage(AbstractForm):
    """Wagtail's own form builder: a plain contact form an editor puts together in the admin.

    No schema, no flow, no reference number: submissions are Wagtail FormSubmissions (Forms in
    the admin menu). Use a Linli form page when the form starts a flow or needs validation rules.
    """

    intro = RichTextField(_("introduction"), blank=True, features=["bold", "italic", "link", "ol", "ul"])
    thank_you = RichTextField(_("thank-you message"), blank=True, features=["bold", "italic", "link"])

    template = "cms/simple_form_page.html"
    landing_page_template = "cms/simple_form_page_landing.html"
    content_panels = AbstractForm.content_panels + [
        FieldPanel("intro"), InlinePanel("form_fields", label=_("form fields")), FieldPanel("thank_you")]

    class Meta:
        verbose_name = _("simple form page")
        verbose_name_plural = _("simple form pages")
