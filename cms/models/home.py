"""The home page: the site's root (every community), a street's (its communities) or a
community's own (latest announcements, open forms, honour roll, post board, key figures)."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel
from wagtail.fields import RichTextField
from wagtail.models import Page

from cms.cache import CachedPageMixin


class HomePage(CachedPageMixin, Page):
    intro = RichTextField(_("introduction"), blank=True, features=["bold", "italic", "link", "ol", "ul"])
    community = models.ForeignKey(
        "engine.Community", verbose_name=_("community"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )

    content_panels = Page.content_panels + [FieldPanel("community"), FieldPanel("intro")]
    cache_seconds = 300  # its key figures move with every item

    class Meta:
        verbose_name = _("home page")

    def get_context(self, request, *args, **kwargs):
        from cms.sections import home_context

        return home_context(self, super().get_context(request, *args, **kwargs))
