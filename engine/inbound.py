"""What enters, refused at the door: NUL characters and unpaired surrogates in query strings and
bodies, and a database that cannot be reached.

One rule for every text, whatever the database: PostgreSQL cannot store NUL in text or unpaired
surrogates in JSON (a 500 there), SQLite stores them (so the two would disagree). So every query
parameter, form field and JSON string or key is checked once, here, before any view: a bad one is
a 400 that names it — `?name` for a query parameter, the JSON pointer for a body field — and
nothing is written. Uploaded files are not text and are left to the upload checks.

A database that drops out (a restart, a failover) makes a view raise OperationalError or
InterfaceError: that is a 503 with Retry-After, not a 500, so a client retries (with the same
Idempotency-Key, which makes the retry safe).
"""

from __future__ import annotations

import json
import re

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _

UNSAFE = re.compile("[\x00\ud800-\udfff]")
RETRY_AFTER_SECONDS = 5
JSON_TYPES = ("application/json", "application/merge-patch+json")


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def first_unsafe(value, pointer=""):
    """The JSON pointer of the first string (or key) holding NUL or an unpaired surrogate, else None."""
    if isinstance(value, str):
        return pointer or "/" if UNSAFE.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and UNSAFE.search(key):
                return f"{pointer}/{_escape(UNSAFE.sub('?', key))}"
            found = first_unsafe(item, f"{pointer}/{_escape(str(key))}")
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = first_unsafe(item, f"{pointer}/{index}")
            if found:
                return found
    return None


def _in_query(querydict, prefix="?"):
    for key, values in querydict.lists():
        if UNSAFE.search(key):
            return prefix + UNSAFE.sub("?", key)
        if any(UNSAFE.search(v) for v in values if isinstance(v, str)):
            return prefix + key
    return None


class InboundTextMiddleware:
    """Refuses NUL and unpaired surrogates in query strings and bodies (400, naming the field);
    answers a database outage with 503 and Retry-After."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        where = _in_query(request.GET) or self._in_body(request)
        if where:
            return self._refuse(request, where)
        return self.get_response(request)

    def _in_body(self, request):
        if request.method in ("GET", "HEAD", "OPTIONS", "DELETE"):
            return None
        content_type = (request.content_type or "").lower()
        if content_type in JSON_TYPES:
            try:
                body = request.body
                data = json.loads(body) if body else None
            except (ValueError, UnicodeDecodeError):
                return None  # not JSON: the view's parser answers that, in its own shape
            except Exception:  # noqa: BLE001 — too big, or unreadable: the view answers (413, 400)
                return None
            return first_unsafe(data)
        if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            try:
                return _in_query(request.POST, prefix="/")
            except Exception:  # noqa: BLE001 — Django's own limits answer these in the view
                return None
        return None

    def _refuse(self, request, where):
        message = _("This field holds a character that cannot be stored (a NUL or a broken character): "
                    "remove it and send again.")
        if request.path.startswith("/api/"):
            return JsonResponse({"errors": {where: [message]}}, status=400, json_dumps_params={"ensure_ascii": False})
        return HttpResponse(f"{message} ({where})", status=400, content_type="text/plain; charset=utf-8")

    def process_exception(self, request, exception):
        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        message = _("The service is busy for a moment: please try again shortly.")
        if request.path.startswith("/api/"):
            response = JsonResponse({"detail": message, "code": "unavailable"}, status=503,
                                    json_dumps_params={"ensure_ascii": False})
        else:
            response = HttpResponse(message, status=503, content_type="text/plain; charset=utf-8")
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
