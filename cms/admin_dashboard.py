"""The Linli admin area: the dashboard and exports, per community and per street.

A thin adapter. The figures are `engine.services.dashboard.dashboard`, the spreadsheets
`engine.exports` (formula neutralising and ID-number masking happen there, for every sheet); this
module only finds the community, reads the date range, draws the charts (`cms.charts`) and audits.

Who sees what, as in the rest of the area (`cms.admin_views.community_policy`):
- a community's dashboard and exports: those who manage the community; for anyone else it is a
  404, exactly like a community that does not exist (and the attempt goes to the security log);
- a street's: superusers, and those who manage every community in the street (a street over no
  community has nothing to show but to a superuser).

Every export is written to the `engine.audit` log: who, which sheet of which community or street,
which range, how many rows, from where.

URLs (namespace "linli", under /admin/linli/):
    "dashboard/<community>/"                                  a community's dashboard
    "dashboard/<community>/export/<what>.<csv|xlsx>"          a sheet of it, for the same range
    "dashboard/street/<street>/"                              a street's, over its communities
    "dashboard/street/<street>/export/<what>.<csv|xlsx>"
<what> is one of submissions, tasks, ledger, rosters. The range travels as ?start=&end= (ISO
dates, inclusive) or ?preset=month|quarter|year; with neither it is the last 90 days.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass
from urllib.parse import urlencode

from django import forms
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import re_path, reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext, gettext_lazy as _

from engine import exports
from engine.models import Community
from engine.refusals import log_refusal
from engine.services.dashboard import dashboard

from .admin_views import LinliAdminView, community_policy
from .charts import bar_chart

audit = logging.getLogger("engine.audit")

DEFAULT_DAYS = 90
EARLIEST, LATEST = datetime.date(2000, 1, 1), datetime.date(2099, 12, 31)
# URL name of a sheet → engine.exports kind
SHEETS = {"submissions": "submissions", "tasks": "tasks", "ledger": "ledger", "rosters": "roster"}
SHEET_LABELS = {"submissions": _("Submissions"), "tasks": _("Tasks"), "ledger": _("Points ledger"),
                "rosters": _("Rosters")}
FORMATS = {
    "csv": (exports.as_csv, "text/csv; charset=utf-8"),
    "xlsx": (exports.as_xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}


# ---------------------------------------------------------------- the date range


def _months_back(day: datetime.date, months: int) -> datetime.date:
    """The first day of the month `months` before `day`'s."""
    index = day.year * 12 + day.month - 1 - months
    return datetime.date(index // 12, index % 12 + 1, 1)


# preset → (label, first day given today); each runs to today
PRESETS = {
    "month": (_("This month"), lambda today: today.replace(day=1)),
    "quarter": (_("Last 3 months"), lambda today: _months_back(today, 2)),  # this month and the two before
    "year": (_("This year"), lambda today: today.replace(month=1, day=1)),
}


class DateRangeForm(forms.Form):
    """From and to (inclusive), or a preset; read from the query string, so a range is a link."""

    start = forms.DateField(label=_("From"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    end = forms.DateField(label=_("To"), required=False,
                          widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    preset = forms.CharField(required=False, widget=forms.HiddenInput)  # checked in clean(): its error is shown

    def __init__(self, data, today: datetime.date, **kwargs):
        super().__init__(data, **kwargs)
        self.today = today

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        if cleaned.get("preset"):
            if cleaned["preset"] not in PRESETS:
                raise forms.ValidationError(
                    gettext("There is no range called “%(preset)s”; choose one of: %(presets)s.")
                    % {"preset": cleaned["preset"], "presets": ", ".join(str(p[0]) for p in PRESETS.values())},
                    code="preset")
            cleaned["start"], cleaned["end"] = PRESETS[cleaned["preset"]][1](self.today), self.today
            return cleaned
        end = cleaned.get("end") or self.today
        start = cleaned.get("start") or end - datetime.timedelta(days=DEFAULT_DAYS - 1)
        for field, day in (("start", start), ("end", end)):
            if not EARLIEST <= day <= LATEST:
                self.add_error(field, gettext("Choose a date between %(earliest)s and %(latest)s.")
                               % {"earliest": EARLIEST.isoformat(), "latest": LATEST.isoformat()})
        if end < start:
            raise forms.ValidationError(gettext("The range ends (%(end)s) before it starts (%(start)s).")
                                        % {"start": start.isoformat(), "end": end.isoformat()}, code="reversed")
        cleaned["start"], cleaned["end"] = start, end
        return cleaned

    @property
    def query(self) -> str:
        """The resolved range as a query string, for links that must keep it (exports)."""
        return urlencode({"start": self.cleaned_data["start"].isoformat(), "end": self.cleaned_data["end"].isoformat()})


# ---------------------------------------------------------------- who sees what


@dataclass(frozen=True)
class Scope:
    """What a dashboard covers: one community, or a street with the communities under it."""

    community: Community  # the community, or the street
    communities: tuple  # the communities counted (for a street, its children)

    @property
    def is_street(self) -> bool:
        return self.community.kind == Community.Kind.STREET

    def url(self, name="dashboard", **kwargs) -> str:
        prefix = "street_" if self.is_street else ""
        key = "street" if self.is_street else "community"
        return reverse(f"linli:{prefix}{name}", kwargs={key: self.community.slug, **kwargs})


def community_scope(request, slug) -> Scope:
    managed = community_policy.instances_user_has_permission_for(request.user, "manage")
    community = managed.filter(kind=Community.Kind.COMMUNITY, slug=slug).first()
    if community is None:
        if Community.objects.filter(slug=slug).exists():
            log_refusal(request, "community dashboard", slug)
        raise Http404
    return Scope(community, (community,))


def street_scope(request, slug) -> Scope:
    street = get_object_or_404(Community, kind=Community.Kind.STREET, slug=slug)
    children = tuple(Community.objects.filter(parent=street).order_by("slug"))
    if not may_see_street(request.user, children):
        log_refusal(request, "street dashboard", slug)
        raise Http404
    return Scope(street, children)


def may_see_street(user, children) -> bool:
    if user.is_active and user.is_superuser:
        return True
    managed = community_policy.get_cached_permissions_for_user(user)
    return bool(children) and all(child.pk in managed for child in children)


# ---------------------------------------------------------------- views


class DashboardView(LinliAdminView):
    """The figures of the range as panels: key figures, charts, the sheets to download."""

    template_name = "cms/admin/dashboard.html"
    street = False

    def dispatch(self, request, *args, **kwargs):
        finder = street_scope if self.street else community_scope
        self.scope = finder(request, kwargs["street" if self.street else "community"])
        return super().dispatch(request, *args, **kwargs)

    @cached_property
    def range_form(self) -> DateRangeForm:
        form = DateRangeForm(self.request.GET or {}, today=timezone.localdate())
        form.is_valid()
        return form

    def get_page_title(self):
        return gettext("Dashboard")

    def get_page_subtitle(self):
        return str(self.scope.community)

    def get_breadcrumbs_items(self):
        return super().get_breadcrumbs_items() + [
            {"url": reverse("linli:index") + f"#community-{self.scope.community.slug}-section",
             "label": str(self.scope.community)},
            {"url": "", "label": self.get_page_title(), "sublabel": self.get_page_subtitle()},
        ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = self.range_form
        context.update(scope=self.scope, form=form, presets=self.presets(), parent_street=self.parent_street())
        if form.is_valid():
            start, end = form.cleaned_data["start"], form.cleaned_data["end"]
            board = dashboard(self.scope.community, start, end)
            context.update(board=board, charts=self.charts(board, start, end), sheets=self.sheets(form.query),
                           # the inputs show the range in force, also when it came from a preset or the default
                           form=DateRangeForm(None, form.today, initial={"start": start, "end": end}))
        return context

    def presets(self):
        current = self.request.GET.get("preset", "")
        return [{"url": f"?{urlencode({'preset': key})}", "label": label, "current": key == current}
                for key, (label, _first) in PRESETS.items()]

    def parent_street(self):
        """The street above a community, when the user may see that street's dashboard too."""
        community = self.scope.community
        if self.scope.is_street or not community.parent_id:
            return None
        children = tuple(Community.objects.filter(parent_id=community.parent_id))
        if not may_see_street(self.request.user, children):
            return None
        street = community.parent
        return {"name": str(street), "url": Scope(street, children).url()}

    def charts(self, board, start, end):
        charts = [
            bar_chart([(title or key, count) for key, title, count in board.by_form],
                      gettext("Submissions by form"), series=(gettext("submissions"),), heading=gettext("Form")),
            bar_chart([(gettext("Received in the range"), board.received),
                       (gettext("Resolved of those"), board.resolved),
                       (gettext("Open now"), board.open_tasks),
                       (gettext("Overdue now"), board.overdue_tasks)],
                      gettext("Items and tasks"), series=(gettext("items"),), heading=gettext("Figure")),
            bar_chart([(gettext("Issued"), board.points_issued), (gettext("Redeemed"), board.points_redeemed)],
                      gettext("Points"), series=(gettext("points"),), heading=gettext("Figure")),
        ]
        if self.scope.is_street:
            # one dashboard per community: the queries grow with the street's communities, not its items
            rows = []
            for child in self.scope.communities:
                figures = dashboard(child, start, end, with_vacancies=False)
                rows.append((str(child), figures.received, figures.resolved))
            charts.insert(0, bar_chart(rows, gettext("Items by community"), heading=gettext("Community")))
        return charts

    def sheets(self, query):
        return [{"label": label, "links": [{"format": fmt.upper(), "url": self.scope.url(
                 "dashboard_export", what=what, format=fmt) + "?" + query} for fmt in FORMATS]}
                for what, label in SHEET_LABELS.items()]


class ExportView(DashboardView):
    """One sheet of the dashboard's range as CSV or Excel, audited. A bad range gets the dashboard
    with the form's errors (400) and no file."""

    def get(self, request, *args, **kwargs):
        if not self.range_form.is_valid():
            response = super().get(request, *args, **kwargs)
            response.status_code = 400
            return response
        what, fmt = kwargs["what"], kwargs["format"]
        start, end = self.range_form.cleaned_data["start"], self.range_form.cleaned_data["end"]
        ids = [c.pk for c in self.scope.communities]
        headers, body = exports.rows(SHEETS[what], ids, start=start, end=end)
        writer, content_type = FORMATS[fmt]
        response = HttpResponse(writer(headers, body), content_type=content_type)
        filename = f"{self.scope.community.slug}-{what}-{start.isoformat()}-{end.isoformat()}.{fmt}"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        response["Cache-Control"] = "private, no-store"  # personal data: no copy in any cache
        audit.info("export %s.%s of %s %s (%s to %s, %d rows) by user %s (%s) from %s",
                   what, fmt, self.scope.community.kind, self.scope.community.slug, start, end, len(body),
                   request.user.pk, request.user.get_username(), request.META.get("REMOTE_ADDR", "-"))
        return response


_SHEET = rf"export/(?P<what>{'|'.join(SHEETS)})\.(?P<format>{'|'.join(FORMATS)})$"

urlpatterns = [
    re_path(r"^dashboard/street/(?P<street>[-\w]+)/$", DashboardView.as_view(street=True), name="street_dashboard"),
    re_path(r"^dashboard/street/(?P<street>[-\w]+)/" + _SHEET, ExportView.as_view(street=True),
            name="street_dashboard_export"),
    re_path(r"^dashboard/(?P<community>[-\w]+)/$", DashboardView.as_view(), name="dashboard"),
    re_path(r"^dashboard/(?P<community>[-\w]+)/" + _SHEET, ExportView.as_view(), name="dashboard_export"),
]
