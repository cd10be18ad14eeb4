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
