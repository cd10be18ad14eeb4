"""Text messages (SMS), chosen in settings the way Django chooses a mail backend.

`settings.SMS_BACKEND` names the backend: `console` (print, the default), `file` (one file per
message in `settings.SMS_FILE_PATH`), `locmem` (kept in `engine.sms.outbox`, for tests), or the
dotted path of a class of one's own — a provider's, written as a subclass of
`engine.sms.backends.base.BaseSmsBackend` (docs/operations.md shows one).

Callers use `send_sms(phone, text)`; nothing else in Linli knows which provider sends it.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from engine.sms.backends.base import BaseSmsBackend, SmsMessage

__all__ = ["BaseSmsBackend", "SmsMessage", "get_backend", "send_sms", "outbox", "BACKENDS"]

# What the locmem backend sent, oldest first (like django.core.mail.outbox); tests empty it.
outbox: list[SmsMessage] = []

BACKENDS = {
    "console": "engine.sms.backends.console.SmsBackend",
    "file": "engine.sms.backends.file.SmsBackend",
    "locmem": "engine.sms.backends.locmem.SmsBackend",
}


def backend_class(name: str | None = None) -> type[BaseSmsBackend]:
    """The class `name` (or settings.SMS_BACKEND) stands for; ImproperlyConfigured saying why not."""
    name = (name if name is not None else getattr(settings, "SMS_BACKEND", "console")) or "console"
    path = BACKENDS.get(name, name)
    if "." not in path:
        raise ImproperlyConfigured(
            f"SMS_BACKEND must be one of {', '.join(sorted(BACKENDS))} or the dotted path of a class, not {name!r}.")
    try:
        cls = import_string(path)
    except ImportError as error:
        raise ImproperlyConfigured(f"SMS_BACKEND {name!r} cannot be imported: {error}") from error
    if not (isinstance(cls, type) and issubclass(cls, BaseSmsBackend)):
        raise ImproperlyConfigured(f"SMS_BACKEND {name!r} is not a subclass of engine.sms.backends.base.BaseSmsBackend.")
    return cls


def get_backend(backend: str | None = None, **options) -> BaseSmsBackend:
    """An instance of the configured backend (or of `backend`), given `options`."""
    return backend_class(backend)(**options)


def send_sms(phone: str, text: str, *, backend: BaseSmsBackend | None = None) -> int:
    """Send one message; the number of messages sent (0 or 1)."""
    return (backend or get_backend()).send(phone, text)
