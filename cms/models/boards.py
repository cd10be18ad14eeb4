"""Pages rendered from live data: the post board (who holds which post, per compound and
building) and public statistics (needs received and resolved, time to resolve, satisfaction,
posts filled). Both show people only through the community's privacy rules."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel
from wagtail.fields import RichTextField
from wagtail.models import Page

from cms.cache import CachedPageMixin


class PostBoardPage(CachedPageMixin, Page):
    community = models.ForeignKey("engine.Community", verbose_name=_("community"), on_delete=models.PROTECT,
                                  related_name="+")
    intro = RichTextField(_("introduction"), blank=True, features=["bold", "italic", "link"])

    content_panels = Page.content_panels + [FieldPanel("community"), FieldPanel("intro")]
    subpage_types = []

    class Meta:
        verbose_name = _("post board")
        verbose_name_plural = _("post boards")

    def get_context(self, request, *args, **kwargs):
        from cms.sections import post_board

        context = super().get_context(request, *args, **kwargs)
        context["board"] = post_board(self.community)
        return context


class StatisticsPage(CachedPageMixin, Page):
    """Key figures for a community, or for a street over its communities."""

    community = models.ForeignKey("engine.Community", verbose_name=_("community or street"),
                                  on_delete=models.PROTECT, related_name="+")
    intro = RichTextField(_("introduction"), blank=True, features=["bold", "italic", "link"])

    content_panels = Page.content_panels + [FieldPanel("community"), FieldPanel("intro")]
    subpage_types = []
    cache_seconds = 300  # figures move with every item: a few minutes old is fine in public

    class Meta:
        verbose_name = _("statistics page")
        verbose_name_plural = _("statistics pages")

    def get_context(self, request, *args, **kwargs):
        from cms.charts import bar_chart
        from engine.services.statistics import figures

        context = super().get_context(request, *args, **kwargs)
        stats = figures(self.community)
        context["stats"] = stats
        context["monthly_chart"] = bar_chart(stats.monthly, title=_("Needs received and resolved by month"))
        return context
