"""The Linli admin area: importing a roster in the browser, a dry run first (no shell needed).

A thin adapter over `engine.services.roster`: the upload is checked and every bad row listed with
its row number, column and reason; a clean file is held for half an hour under a random token (in
the cache, so any web process finds it) and imported whole when the admin confirms. Importing the
same file twice changes nothing. Who may: those who manage the community (404 for anyone else,
like a community that does not exist); the street's admins for its communities.

URLs (namespace "linli", under /admin/linli/):
    "people/<community>/roster/"          GET: the upload form; POST: the dry run, or the import
"""

from __future__ import annotations

import hashlib
import secrets

from django import forms
from django.core.cache import cache
from django.http import Http404
from django.shortcuts import redirect
from django.urls import re_path, reverse
from django.utils.translation import gettext, gettext_lazy as _
from wagtail.admin import messages

from engine.services import roster

from engine import policy
from engine.models import Community
from engine.refusals import log_refusal

from .admin_views import LinliAdminView

MAX_BYTES = 5 * 1024 * 1024
HOLD_SECONDS = 30 * 60
SUFFIXES = (".csv", ".xlsx")


class RosterUploadForm(forms.Form):
    file = forms.FileField(label=_("Roster file (CSV or Excel)"),
                           widget=forms.ClearableFileInput(attrs={"accept": ",".join(SUFFIXES)}))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith(SUFFIXES):
            raise forms.ValidationError(gettext("Choose a .csv or .xlsx file."), code="suffix")
        if upload.size > MAX_BYTES:
            raise forms.ValidationError(gettext("The file is larger than 5 MB."), code="size")
        return upload


def _held_key(community, token):
    return f"linli:roster:{community.pk}:{token}"


class RosterImportView(LinliAdminView):
    template_name = "cms/admin/roster_import.html"

    def dispatch(self, request, *args, **kwargs):
        community = Community.objects.select_related("parent").filter(kind=Community.Kind.COMMUNITY,
                                                                      slug=kwargs["community"]).first()
        if community is None or not policy.manages_people(request.user, community):
            if community is not None:
                log_refusal(request, "roster import", kwargs["community"])
            raise Http404
        self.community = community
        return super().dispatch(request, *args, **kwargs)

    def get_page_title(self):
        return gettext("Import a roster")

    def get_page_subtitle(self):
        return str(self.community)

    def get_breadcrumbs_items(self):
        return super().get_breadcrumbs_items() + [
            {"url": reverse("linli:index") + f"#community-{self.community.slug}-section", "label": str(self.community)},
            {"url": "", "label": self.get_page_title(), "sublabel": self.get_page_subtitle()},
        ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", RosterUploadForm())
        context["community"] = self.community
        context["columns"] = [(names[0], names[-1]) for names in roster.HEADERS.values()]
        return context

    def post(self, request, *args, **kwargs):
        token = request.POST.get("token", "")
        if token:
            return self._import(request, token)
        form = RosterUploadForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        upload = form.cleaned_data["file"]
        content = upload.read()
        rows, problems = roster.check(self.community, upload.name, content)
        context = self.get_context_data(form=form, checked=True, filename=upload.name, rows=rows[:50],
                                        row_count=len(rows), problems=problems)
        if not problems and rows:
            token = secrets.token_urlsafe(16)
            cache.set(_held_key(self.community, token), (upload.name, content, request.user.pk), HOLD_SECONDS)
            context["token"] = token
            context["digest"] = hashlib.sha256(content).hexdigest()[:12]
        return self.render_to_response(context)

    def _import(self, request, token):
        held = cache.get(_held_key(self.community, token))
        if held is None or held[2] != request.user.pk:
            messages.error(request, gettext("That check has expired: upload the file again."))
            return redirect("linli:roster_import", community=self.community.slug)
        filename, content, _user = held
        summary, problems = roster.import_roster_summary(self.community, filename, content, actor=request.user)
        cache.delete(_held_key(self.community, token))
        if problems:  # the roster or the community changed since the check
            return self.render_to_response(self.get_context_data(checked=True, filename=filename, rows=[],
                                                                 row_count=0, problems=problems))
        if summary.changed:
            messages.success(request, gettext(
                "Imported %(rows)d rows: %(created)d people added, %(updated)d updated, %(roles)d roles given, "
                "%(invited)d invited.") % {"rows": summary.rows, "created": summary.created,
                                            "updated": summary.updated, "roles": summary.roles,
                                            "invited": summary.invited})
        else:
            messages.info(request, gettext("Nothing changed: everyone in the file is already in the roster as it says."))
        return redirect("linli:roster_import", community=self.community.slug)


urlpatterns = [
    re_path(r"^people/(?P<community>[-\w]+)/roster/$", RosterImportView.as_view(), name="roster_import"),
]
