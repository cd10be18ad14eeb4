"""Wagtail page types. The home page is the root of a site; later issues add announcement,
honour-roll, post-board and form pages under it."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel
from wagtail.fields import RichTextField
from wagtail.models import Page


class HomePage(Page):
    intro = RichTextField(_("introduction"), blank=True, features=["bold", "italic", "link", "ol", "ul"])
    community = models.ForeignKey(
        "engine.Community", verbose_name=_("community"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )

    content_panels = Page.content_panels + [FieldPanel("community"), FieldPanel("intro")]

    class Meta:
        verbose_name = _("home page")

    def get_context(self, request, *args, **kwargs):
        return home_context(self, super().get_context(request, *args, **kwargs))


def _communities_with_counts():
    from django.db.models import Count, Q

    from engine.models import Community

    return Community.objects.filter(kind=Community.Kind.COMMUNITY).annotate(
        form_count=Count("definitions", filter=Q(definitions__kind="form")),
        flow_count=Count("definitions", filter=Q(definitions__kind="flow")),
    ).order_by("slug")  # Meta.ordering does not apply to aggregate queries


def home_context(page, context):
    context["communities"] = _communities_with_counts()
    return context
