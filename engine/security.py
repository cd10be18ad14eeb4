"""Request-level protection: rate limits on sign-in and on anonymous submissions, and the
admin's Content Security Policy.

A limit is a counter per (rule, client) in the shared cache — Redis in production, so every
web process sees the same count. An attempt *reserves* its place with one atomic increment
before any work is done, and is refused when its number is past the limit; checking first and
counting afterwards would let a burst of concurrent attempts all pass the check. A window
starts with the first attempt and ends `window` seconds later, when the counter expires.

- Sign-in (`RateLimitedModelBackend`): Django's ModelBackend behind the `login` rule, per
  username and address. Every path that signs in calls `authenticate(request, ...)` — Wagtail's
  and Django's admin login forms and DRF's token view — so all are covered. A success resets the
  count. When refused, the request is marked; `LoginLockoutMiddleware` turns a refused form
  login into a page that says why (the token view answers JSON itself).
- Anonymous submissions (`ANONYMOUS_SUBMISSIONS`): the API and the form pages reserve a place
  before storing and give it back when nothing was stored (a mistake, a replayed retry).

Rules live in `settings.LINLI_RATE_LIMITS` (limit 0 turns one off); the client address comes
from `client_address()`. Nothing here knows about forms, flows or communities.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import math
import time
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.template import engines
from django.utils import translation
from django.utils.translation import gettext, gettext_noop, pgettext
from django.views.decorators.csp import csp_override
from django.views.decorators.debug import sensitive_variables


def client_address(request) -> str:
    """The client's address: REMOTE_ADDR, or behind `LINLI_PROXY_COUNT` proxies the address the
    outermost of them saw (entries further left in X-Forwarded-For are the client's to forge).
    IPv6 clients are counted per /64, the block a single subscriber usually holds."""
    request = getattr(request, "_request", request)  # a DRF request wraps Django's
    address = request.META.get("REMOTE_ADDR", "")
    proxies = settings.LINLI_PROXY_COUNT
    if proxies > 0:
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
        if len(forwarded) >= proxies:
            address = forwarded[-proxies]
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address or "unknown"
    if ip.version == 6:
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: int = 0  # seconds until the window ends, when refused

    @property
    def minutes(self) -> int:
        return max(1, math.ceil(self.retry_after / 60))


class RateLimit:
    """A fixed-window counter in the cache for one rule of `settings.LINLI_RATE_LIMITS`."""

    def __init__(self, rule: str):
        self.rule = rule

    def _settings(self):
        rule = settings.LINLI_RATE_LIMITS[self.rule]
        return int(rule["limit"]), max(1, int(rule["window"]))

    def _keys(self, ident: str):
        digest = hashlib.sha256(ident.encode()).hexdigest()[:32]
        return f"linli:rate:{self.rule}:{digest}", f"linli:rate:{self.rule}:{digest}:start"

    def hit(self, ident: str, _again: bool = True) -> Decision:
        """Reserve one attempt; refused once the window's count is past the limit."""
        limit, window = self._settings()
        if limit <= 0:
            return Decision(True)
        count_key, start_key = self._keys(ident)
        now = time.time()
        for _ in range(3):
            cache.add(start_key, now, window)
            cache.add(count_key, 0, window)  # add: a racing first attempt does not reset the count
            try:
                count = cache.incr(count_key)
                break
            except ValueError:  # the window ended between add and incr: start the next one
                continue
        else:
            raise RuntimeError(f"rate limit {self.rule}: the cache keeps losing {count_key}")
        if count <= limit:
            return Decision(True)
        start = cache.get(start_key, now)
        if start + window <= now and _again:
            # The window is over by our clock though the cache still holds it (its expiry runs on
            # its own clock): start the next window rather than refuse past the promised time.
            cache.delete_many([count_key, start_key])
            return self.hit(ident, _again=False)
        return Decision(False, retry_after=max(1, math.ceil(start + window - now)))

    def release(self, ident: str) -> None:
        """Give back a reserved attempt that turned out not to count."""
        limit, _ = self._settings()
        if limit <= 0:
            return
        try:
            cache.decr(self._keys(ident)[0])
        except ValueError:  # the window has ended meanwhile
            pass

    def reset(self, ident: str) -> None:
        cache.delete_many(list(self._keys(ident)))


LOGIN = RateLimit("login")
ANONYMOUS_SUBMISSIONS = RateLimit("anonymous_submission")


class SubmissionSlot:
    """A place under `ANONYMOUS_SUBMISSIONS` for a visitor who is not signed in (signed-in
    people are not limited here). Use it around storing; call `stored(created)` once a new
    submission is stored — otherwise the place is given back when the block ends, so a mistake
    or a replayed retry costs nothing."""

    def __init__(self, request):
        user = getattr(request, "user", None)
        self.ident = None if user is not None and user.is_authenticated else client_address(request)
        self.decision = ANONYMOUS_SUBMISSIONS.hit(self.ident) if self.ident else Decision(True)
        self._kept = False

    @property
    def refused(self) -> bool:
        return not self.decision.allowed

    def stored(self, created: bool = True) -> None:
        self._kept = bool(created) and self.decision.allowed

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        if self.ident is not None and not self._kept:
            ANONYMOUS_SUBMISSIONS.release(self.ident)
        return False


def login_ident(request, username: str) -> str:
    return f"{username.casefold()}\n{client_address(request)}"


# ---------------------------------------------------------------- sign-in


class RateLimitedModelBackend(ModelBackend):
    """ModelBackend that refuses a username from an address after too many failed sign-ins.
    Raising PermissionDenied stops `authenticate()` before any other backend is asked."""

    @sensitive_variables("password")
    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if request is None or username is None or password is None:  # a command, not a visitor
            return super().authenticate(request, username=username, password=password, **kwargs)
        ident = login_ident(request, str(username))
        decision = LOGIN.hit(ident)
        if not decision.allowed:
            getattr(request, "_request", request).linli_login_refused = decision
            raise PermissionDenied("Too many failed sign-ins")
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None:
            LOGIN.reset(ident)
        return user

    async def aauthenticate(self, request, username=None, password=None, **kwargs):
        return await sync_to_async(self.authenticate)(request, username=username, password=password, **kwargs)


def login_refused(request) -> Decision | None:
    """The refusal this request's sign-in met, if any."""
    return getattr(getattr(request, "_request", request), "linli_login_refused", None)


# ---------------------------------------------------------------- what the person reads

_TEXT = {  # English msgids; their Chinese is in the catalogue
    "login": {
        "title": gettext_noop("Too many sign-in attempts"),
        "body": gettext_noop("To protect the account, signing in to it from your network is paused. Try again in "
                             "{minutes} minutes; if you have forgotten the password, ask your community's "
                             "administrator."),
        "back": gettext_noop("Back to sign in"),
    },
    "anonymous_submission": {
        "title": gettext_noop("Too many submissions"),
        "body": gettext_noop("Too many forms have been sent from your network. Try again in {minutes} minutes; "
                             "if it is urgent, contact your community directly."),
        "back": gettext_noop("Back to the form"),
    },
}


def refusal_message(rule: str, decision: Decision, language=None) -> str:
    """One sentence for the API's `{"errors": {"": [...]}}`."""
    text = _TEXT[rule]
    with translation.override(language or translation.get_language() or "zh-hans"):
        return pgettext("title, then body", "{title}. {body}").format(
            title=gettext(text["title"]), body=gettext(text["body"]).format(minutes=decision.minutes))


@functools.cache
def _page_template():
    return engines["django"].from_string(
        '{% extends "cms/base.html" %}{% block title %}{{ title }}{% endblock %}'
        '{% block content %}<article class="form-page" role="alert"><h1>{{ title }}</h1><p>{{ body }}</p>'
        '<p><a href="{{ back_url }}">{{ back }}</a></p></article>{% endblock %}')


def refused_page(request, rule: str, decision: Decision):
    """A 429 page in the site's look that says what happened and when to try again."""
    from django.http import HttpResponse

    text = _TEXT[rule]
    html = _page_template().render({"title": gettext(text["title"]),
                                    "body": gettext(text["body"]).format(minutes=decision.minutes),
                                    "back": gettext(text["back"]), "back_url": request.get_full_path()}, request)
    response = HttpResponse(html, status=429)
    response["Retry-After"] = str(decision.retry_after)
    return response


class LoginLockoutMiddleware:
    """A form sign-in refused by the limit gets a page saying so, instead of the form's
    "wrong username or password" (which would only make the person try again)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        decision = login_refused(request)
        if decision is not None and response.status_code != 429:
            return refused_page(request, "login", decision)
        return response


# ---------------------------------------------------------------- Content Security Policy


class AdminContentSecurityPolicyMiddleware:
    """The admin's own policy (`LINLI_ADMIN_CSP`) under `LINLI_ADMIN_CSP_PATHS`; everything
    else gets the strict `SECURE_CSP`. Sits after Django's ContentSecurityPolicyMiddleware.

    Wagtail renders a preview by running a dummy request for the page's public URL through the
    middleware (`is_dummy`); that response, shown in the admin's preview frame, gets
    `LINLI_PREVIEW_CSP` — the public policy, framable by the admin."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.admin = csp_override(settings.LINLI_ADMIN_CSP)(get_response)
        self.preview = csp_override(settings.LINLI_PREVIEW_CSP)(get_response)
        self.prefixes = tuple(settings.LINLI_ADMIN_CSP_PATHS)

    def __call__(self, request):
        if getattr(request, "is_dummy", False):
            return self.preview(request)
        if request.path_info.startswith(self.prefixes):
            return self.admin(request)
        return self.get_response(request)
