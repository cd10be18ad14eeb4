"""Resident-facing views around public pages: one's own consents, asking a post holder to
call back, and searching announcements."""

import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from engine.models import Person
from engine.services import consent


@login_required
@require_http_methods(["GET", "POST"])
def my_consents(request):
    people = list(Person.objects.filter(user=request.user).select_related("community").order_by("community__slug"))
    if request.method == "POST":
        for person in people:
            consent.set_consents(person, **{k: request.POST.get(f"{person.pk}-{k}") == "on" for k in consent.CONSENTS})
        messages.success(request, _("Your choices are saved. Public pages follow them from now on."))
        return redirect("linli_my_consents")
    return render(request, "linli/my_consents.html", {"people": people})


@require_http_methods(["GET", "POST"])
def contact_holder(request, pk):
    holding = consent.reachable_holding(pk)
    if holding is None:
        raise Http404
    values, error = {"name": "", "phone": "", "message": ""}, None
    if request.method == "POST":
        values = {k: request.POST.get(k, "")[:500] for k in values}
        caller = request.META.get("REMOTE_ADDR", "") or request.session.session_key or "-"
        try:
            consent.request_contact(holding, caller=caller, **values)
        except consent.ContactRefused as refused:
            error = refused
        else:
            return render(request, "linli/contact_sent.html", {"holding": holding})
    return render(request, "linli/contact_holder.html", {"holding": holding, "values": values, "error": error},
                  status=400 if error else 200)


def search(request):
    """Wagtail search over announcements. Chinese has no spaces between words and Wagtail's
    database backend splits on them, so a query with Chinese characters matches by substring
    of the title, body and details instead."""
    from cms.models import AnnouncementPage

    query = request.GET.get("q", "").strip()[:100]
    live = AnnouncementPage.objects.live()
    if not query:
        results = AnnouncementPage.objects.none()
    elif re.search(r"[\u3400-\u9fff]", query):
        results = live.filter(search_text__icontains=query).order_by("-date", "-first_published_at")
    else:
        results = live.search(query)
    page = Paginator(results, 20).get_page(request.GET.get("page"))
    return render(request, "linli/search.html", {"query": query, "results": page})
