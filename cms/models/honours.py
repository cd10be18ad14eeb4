"""Honour rolls (光荣榜): the quarterly service star, civilised households, model residents.

A roll is drafted for a period from the points ledger or from a selection flow, as the
community's `honour_rolls:` says, stands in its public-notice window (公示期) where the
community asks for one, and stays browsable afterwards. An entry keeps the person, never
their name: the name is decided at each render from their consent as it is then, so
withdrawing consent takes the name off the next render."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalKey
from wagtail.admin.panels import FieldPanel, InlinePanel, MultiFieldPanel
from wagtail.models import Orderable, Page

from cms.cache import CachedPageMixin


class HonourRollIndexPage(CachedPageMixin, Page):
    community = models.ForeignKey("engine.Community", verbose_name=_("community"), null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")

    content_panels = Page.content_panels + [FieldPanel("community")]
    subpage_types = ["cms.HonourRollPage"]

    class Meta:
        verbose_name = _("honour roll list")
        verbose_name_plural = _("honour roll lists")

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        rolls = {}
        for page in HonourRollPage.objects.child_of(self).live().order_by("roll_key", "-period_start"):
            rolls.setdefault(page.roll_key, []).append(page)
        context["rolls"] = list(rolls.values())
        return context


class HonourRollPage(CachedPageMixin, Page):
    community = models.ForeignKey("engine.Community", verbose_name=_("community"), null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    roll_key = models.SlugField(_("roll"), max_length=64, help_text=_("The roll's key in community.yaml."))
    period = models.CharField(_("period"), max_length=16, help_text=_("For example 2026Q3, 2026H1 or 2026."))
    period_start = models.DateField(_("period starts"))
    period_end = models.DateField(_("period ends"))
    notice_until = models.DateField(_("public notice until"), null=True, blank=True)

    content_panels = Page.content_panels + [
        MultiFieldPanel([FieldPanel("community"), FieldPanel("roll_key"), FieldPanel("period"),
                         FieldPanel("period_start"), FieldPanel("period_end"), FieldPanel("notice_until")],
                        heading=_("period")),
        InlinePanel("entries", label=_("people on the roll")),
    ]
    parent_page_types = ["cms.HonourRollIndexPage"]
    subpage_types = []

    class Meta:
        verbose_name = _("honour roll")
        verbose_name_plural = _("honour rolls")
        constraints = [models.UniqueConstraint(fields=["community", "roll_key", "period"],
                                               name="honour_roll_unique_period")]

    @property
    def in_notice(self):
        return self.notice_until is not None and timezone.localdate() <= self.notice_until

    def get_context(self, request, *args, **kwargs):
        from engine.privacy import PrivacyRules
        from engine.services.honours import rules_for

        context = super().get_context(request, *args, **kwargs)
        rules = rules_for(self.community) if self.community_id else PrivacyRules()
        context["entries"] = [
            {"rank": n, "name": rules.honour_name(e.person.name if e.person else "",
                                                  bool(e.person and e.person.honour_roll_consent),
                                                  bool(e.person and e.person.show_name_publicly)),
             "place": e.place, "points": e.points, "citation": e.citation}
            for n, e in enumerate(self.entries.select_related("person"), start=1)]
        context["other_periods"] = (HonourRollPage.objects.sibling_of(self, inclusive=False).live()
                                    .filter(roll_key=self.roll_key).order_by("-period_start"))
        return context


class HonourEntry(Orderable):
    page = ParentalKey(HonourRollPage, on_delete=models.CASCADE, related_name="entries")
    person = models.ForeignKey("engine.Person", verbose_name=_("person"), null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="+")
    place = models.CharField(_("where"), max_length=100, blank=True,
                             help_text=_("Compound or building at most: never a room."))
    points = models.IntegerField(_("points"), null=True, blank=True)
    citation = models.CharField(_("citation"), max_length=500, blank=True)

    panels = [FieldPanel("person"), FieldPanel("place"), FieldPanel("points"), FieldPanel("citation")]

    class Meta(Orderable.Meta):
        verbose_name = _("entry")
