"""/login/ and /logout/: one sign-in page for everybody.

Residents sign in with their mobile number and a code sent by SMS, in two short steps that work
without JavaScript: the number (a code is sent), then the code. Staff with a password open the
username-and-password part of the same page. After signing in a person goes to a safe `next`,
else an admin of one community to its dashboard, other staff to their inbox and residents to
their own submissions (home_of).

Thin: engine.services.sign_in sends and checks codes, Django's authenticate() and login() sign
in (engine.security limits failed passwords), engine.policy says who is staff.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.forms import AuthenticationForm
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from engine import policy
from engine.services import sign_in

PENDING = "linli_sign_in_phone"  # the number a code was sent to, for the code step


def works_in_inbox(user) -> bool:
    """Does the person's day start in the inbox? Superusers, those who may use Wagtail's admin,
    those who manage a community, and holders of a staff role in force — as engine.policy counts
    them (it owns which roles are staff and which are in force)."""
    if not user.is_authenticated:
        return False
    if user.is_superuser or policy.manages_any(user) or user.has_perm("wagtailadmin.access_admin"):
        return True
    return bool(policy._staff_units(user))  # the units a staff role in force reviews


def _next(request) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()},
                                                      require_https=request.is_secure()):
        return candidate
    return ""


def managed_communities(user) -> list:
    """The communities the person manages, as engine.policy says (an admin role in force,
    guardian's permission, or a superuser's every community)."""
    from django.db.models import Q

    from engine.models import Community

    if not policy.manages_any(user):
        return []
    candidates = Community.objects.all() if user.is_superuser else Community.objects.filter(
        Q(pk__in=policy.assignments(user).values("community"))
        | Q(pk__in=policy.communities_managed_by_permission(user).values("pk")))
    return [community for community in candidates if policy.is_admin(user, community)]


def home_of(user) -> str:
    """Where a person's day starts: an admin of exactly one community on its dashboard, other
    staff in their inbox, residents on their own submissions."""
    managed = managed_communities(user)
    if len(managed) == 1:
        return reverse("linli:dashboard", kwargs={"community": managed[0].slug})
    return reverse("linli_inbox" if works_in_inbox(user) else "linli_my_items")


def landing(request, user) -> str:
    return _next(request) or home_of(user)


def _pretty(phone: str) -> str:
    return f"{phone[:3]} {phone[3:7]} {phone[7:]}" if len(phone) == 11 else phone


def _page(request, *, step="phone", phone="", error=None, password_form=None, status=200):
    pending = request.session.get(PENDING, "")
    if step == "phone" and not phone:
        phone = pending
    context = {
        "step": step, "phone": phone, "phone_pretty": _pretty(phone), "error": error, "next": _next(request),
        "password_form": password_form or AuthenticationForm(request),
        "password_open": password_form is not None,
        "minutes": settings.LINLI_SIGN_IN_CODE_SECONDS // 60,
    }
    response = render(request, "linli/login.html", context, status=status)
    if error is not None and error.retry_after:
        response["Retry-After"] = str(error.retry_after)
    return response


def _status(refused) -> int:
    """A mistake shows the form again (200); a limit is 429, an SMS that could not go 503."""
    return refused.status if refused is not None and refused.status != 400 else 200


@sensitive_post_parameters("code", "password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login_page(request):
    if request.method == "GET":
        if request.user.is_authenticated:
            return render(request, "linli/login.html", {"signed_in": True, "continue_url": landing(request, request.user)})
        step = "code" if request.session.get(PENDING) and request.GET.get("step") == "code" else "phone"
        return _page(request, step=step, phone=request.session.get(PENDING, "") if step == "code" else "")
    action = request.POST.get("action", "")
    if action == "password":
        return _with_password(request)
    if action == "code":
        return _with_code(request)
    return _send_code(request)


def _send_code(request):
    typed = request.POST.get("phone", "")
    try:
        sent = sign_in.request_code(request, typed)
    except sign_in.SignInRefused as refused:
        return _page(request, phone=typed, error=refused, status=_status(refused))
    request.session[PENDING] = sent.phone
    target = f"{reverse('linli_login')}?step=code"
    if _next(request):
        from urllib.parse import quote

        target += f"&next={quote(_next(request), safe='')}"
    return redirect(target)


def _with_code(request):
    phone = request.POST.get("phone") or request.session.get(PENDING, "")
    user = authenticate(request, phone=phone, code=request.POST.get("code", ""))
    if user is None:
        refused = sign_in.refusal(request)
        step = "phone" if refused is not None and refused.field == "phone" else "code"
        return _page(request, step=step, phone=phone, error=refused, status=_status(refused))
    destination = landing(request, user)
    login(request, user)  # a new session key (the old one may have been seen by someone else)
    request.session.pop(PENDING, None)
    return redirect(destination)


def _with_password(request):
    form = AuthenticationForm(request, data=request.POST)
    if form.is_valid():
        destination = landing(request, form.get_user())
        login(request, form.get_user())
        return redirect(destination)
    # a sign-in refused by the limit is turned into its own page by engine.security.LoginLockoutMiddleware
    return _page(request, password_form=form)


@require_POST
def logout_page(request):
    logout(request)
    messages.info(request, _("You have signed out."))
    return redirect("linli_login")
