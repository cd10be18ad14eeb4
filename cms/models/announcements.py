"""Announcements (公告) and public notices (公示): written by editors, or drafted by a flow —
a deliberation's result with its tally, a co-build unit's registration, a committee decision.

What a flow puts on a page is masked when the page is drafted (engine.privacy), so no page
revision ever holds more than the public may see."""

from django.core.paginator import Paginator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel, MultiFieldPanel
from wagtail.fields import RichTextField
from wagtail.models import Page
from wagtail.search import index

from cms.cache import CachedPageMixin

RICH_TEXT = ["h2", "h3", "bold", "italic", "link", "ol", "ul"]


class AnnouncementIndexPage(CachedPageMixin, Page):
    """A community's announcements, newest first, with a filter by kind."""

    community = models.ForeignKey("engine.Community", verbose_name=_("community"), null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    intro = RichTextField(_("introduction"), blank=True, features=RICH_TEXT)

    content_panels = Page.content_panels + [FieldPanel("community"), FieldPanel("intro")]
    subpage_types = ["cms.AnnouncementPage"]
    per_page = 20

    class Meta:
        verbose_name = _("announcement list")
        verbose_name_plural = _("announcement lists")

    def announcements(self, kind=""):
        found = AnnouncementPage.objects.child_of(self).live().order_by("-date", "-first_published_at")
        return found.filter(kind=kind) if kind in AnnouncementPage.Kind.values else found

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        kind = request.GET.get("kind", "")
        context["kind"] = kind if kind in AnnouncementPage.Kind.values else ""
        context["kinds"] = AnnouncementPage.Kind.choices
        context["announcements"] = Paginator(self.announcements(kind), self.per_page).get_page(request.GET.get("page"))
        return context


class AnnouncementPage(CachedPageMixin, Page):
    class Kind(models.TextChoices):
        ANNOUNCEMENT = "announcement", _("announcement")
        NOTICE = "notice", _("public notice")
        RESULT = "result", _("result")

    community = models.ForeignKey("engine.Community", verbose_name=_("community"), null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.ANNOUNCEMENT)
    date = models.DateField(_("date"), default=timezone.localdate)
    notice_until = models.DateField(_("public notice until"), null=True, blank=True,
                                    help_text=_("For a public notice (公示): the last day objections are taken."))
    body = RichTextField(_("body"), blank=True, features=RICH_TEXT)
    # Drafted by a flow: [{"label", "value"}] already masked, and a vote's tally.
    details = models.JSONField(_("details"), default=list, blank=True, editable=False)
    tally = models.JSONField(_("vote tally"), null=True, blank=True, editable=False)
    source = models.ForeignKey("engine.FlowInstance", verbose_name=_("from item"), null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="+", editable=False)
    # Title, body text and details as plain text: Chinese is searched by substring here (JSON
    # keeps CJK escaped on SQLite, and rich text has tags between the words).
    search_text = models.TextField(blank=True, editable=False)

    content_panels = Page.content_panels + [
        MultiFieldPanel([FieldPanel("community"), FieldPanel("kind"), FieldPanel("date"), FieldPanel("notice_until")],
                        heading=_("announcement")),
        FieldPanel("body"),
    ]
    search_fields = Page.search_fields + [
        index.SearchField("body"),
        index.SearchField("details_text"),
        index.FilterField("kind"),
        index.FilterField("date"),
    ]
    parent_page_types = ["cms.AnnouncementIndexPage"]
    subpage_types = []

    class Meta:
        verbose_name = _("announcement")
        verbose_name_plural = _("announcements")

    def save(self, *args, **kwargs):
        from django.utils.html import strip_tags

        self.search_text = " ".join([self.title, strip_tags(self.body or ""), self.details_text()])
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "search_text"}
        super().save(*args, **kwargs)

    def details_text(self):
        return " ".join(f"{d.get('label', '')} {d.get('value', '')}" for d in self.details or [])

    @property
    def in_notice(self):
        return self.notice_until is not None and timezone.localdate() <= self.notice_until

    def standing(self, language=None):
        """Where a flow's notice stands now (engine.services.notices), or None for an editor's page."""
        from django.utils import translation

        from engine.services import notices

        if self.kind != self.Kind.NOTICE or self.source_id is None:
            return None
        return notices.standing(self.source, self.notice_until, language or translation.get_language() or "zh-hans")

    def get_context(self, request, *args, **kwargs):
        from engine.services import notices

        context = super().get_context(request, *args, **kwargs)
        standing = context["standing"] = self.standing()
        context["may_object"] = bool(standing and standing.status == "open"
                                     and notices.may_object(request.user, self.source, standing.objection))
        return context

    def serve(self, request, *args, **kwargs):
        """POST: a resident objects to the notice (with a reason); the flow takes it from there."""
        if request.method != "POST":
            return super().serve(request, *args, **kwargs)
        from django.contrib.auth.views import redirect_to_login
        from django.shortcuts import redirect
        from django.template.response import TemplateResponse

        from engine.services import notices

        if not request.user.is_authenticated:
            return redirect_to_login(self.url)
        reason = request.POST.get("reason", "")
        try:
            if self.source is None:
                raise notices.ObjectionRefused(str(_("This page takes no objections.")), field="")
            notices.object_to(instance=self.source, user=request.user, reason=reason, until=self.notice_until)
        except notices.ObjectionRefused as refused:
            context = self.get_context(request, *args, **kwargs)
            context.update(objection_error=refused.message, objection_reason=reason[:notices.REASON_MAX])
            return TemplateResponse(request, self.get_template(request), context, status=400)
        return redirect(self.url + "?objection=received#notice")

    def tally_rows(self):
        """(label, count, percent of ballots cast) per option, for the template."""
        if not self.tally:
            return []
        counts, labels = self.tally.get("counts", {}), self.tally.get("labels", {})
        cast = sum(counts.values()) or 1
        return [(labels.get(option, option), n, round(100 * n / cast)) for option, n in counts.items()]
