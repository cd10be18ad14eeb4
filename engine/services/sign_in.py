"""Sign-in by mobile number and a one-time code: the one write path behind /login/ and the API.

`request_code` sends a 6-digit code by SMS; `check_code` takes it back and answers with the
account (engine.services.accounts.account_for_phone). `PhoneCodeBackend` puts `check_code`
behind Django's `authenticate(request, phone=..., code=...)`, so the page and the API sign in
alike; a refusal is kept on the request (`refusal(request)`) for the caller to show.

How a code is kept: nothing of it is stored in clear. The cache holds, per number, a random
nonce and the moment the code expires; the code is the HOTP (RFC 4226, pyotp) of a secret
derived from SECRET_KEY, the nonce and the number, so reading the cache does not give the
code. Only the newest code of a number is valid; checking is constant-time (pyotp), and a code
is used once: the winner of two racing sign-ins is whoever deletes the entry.

Limits, all in the shared cache (Redis in production) so they hold across web processes, all
with engine.security's RateLimit (settings.LINLI_RATE_LIMITS):
- `sign_in_code`: codes sent to one number (5 an hour);
- `sign_in_code_address`: codes asked for from one client address;
- per code: `LINLI_SIGN_IN_CODE_TRIES` wrong tries (5) and the code is void: a new one is needed.
Known and unknown numbers are treated alike (an unknown one gets a resident account on its first
sign-in), so nothing here tells whether a number is on a roster.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import math
import secrets
import time
import unicodedata
from dataclasses import dataclass

import pyotp
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import BaseBackend
from django.core.cache import cache
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.debug import sensitive_variables

from engine import security
from engine.definitions.problems import LinliError
from engine.services.accounts import account_for_phone, normalise_phone

logger = logging.getLogger(__name__)

DIGITS = 6
PHONE_CODES = security.RateLimit("sign_in_code")
ADDRESS_CODES = security.RateLimit("sign_in_code_address")


class SignInRefused(LinliError):
    """Why a code was not sent or not accepted. `field` is the form field it is about ("phone",
    "code", or "" for the request as a whole), `code` a stable name, `message` for the person,
    `retry_after` seconds when a limit refused it (the HTTP status is then 429)."""

    def __init__(self, field: str, code: str, message: str, retry_after: int = 0, status: int = 400):
        super().__init__(message)
        self.field, self.code, self.message, self.retry_after = field, code, message, retry_after
        self.status = 429 if retry_after else status


@dataclass(frozen=True)
class CodeSent:
    phone: str
    expires_in: int  # seconds


def _seconds() -> int:
    return int(settings.LINLI_SIGN_IN_CODE_SECONDS)


def _tries() -> int:
    return int(settings.LINLI_SIGN_IN_CODE_TRIES)


def _keys(phone: str) -> tuple[str, str]:
    digest = hashlib.sha256(f"linli-sign-in:{phone}".encode()).hexdigest()[:32]
    return f"linli:sign-in:code:{digest}", f"linli:sign-in:tries:{digest}"


def _otp(phone: str, nonce: str) -> pyotp.HOTP:
    key = salted_hmac("engine.services.sign_in.code", f"{phone}:{nonce}", algorithm="sha256").digest()
    return pyotp.HOTP(base64.b32encode(key).decode(), digits=DIGITS)


def _phone(value) -> str:
    try:
        return normalise_phone(value)
    except ValueError as error:
        raise SignInRefused("phone", "invalid_phone", str(error)) from None


def _limit_message(decision) -> str:
    return _("Too many codes were asked for. Try again in %(minutes)d minutes.") % {"minutes": decision.minutes}


# ---------------------------------------------------------------- sending


@sensitive_variables("code")
def request_code(request, phone) -> CodeSent:
    """Send a new code to `phone` (what the person typed); the number's earlier code stops working.
    Raises SignInRefused for a malformed number, a limit reached, or an SMS that could not go."""
    from engine import sms

    phone = _phone(phone)
    address = security.client_address(request)
    by_address = ADDRESS_CODES.hit(address)
    if not by_address.allowed:
        raise SignInRefused("", "too_many_requests", _limit_message(by_address), retry_after=by_address.retry_after)
    by_phone = PHONE_CODES.hit(phone)
    if not by_phone.allowed:
        ADDRESS_CODES.release(address)
        raise SignInRefused("phone", "too_many_codes",
                            _("Too many codes were sent to this number. Try again in %(minutes)d minutes.")
                            % {"minutes": by_phone.minutes}, retry_after=by_phone.retry_after)
    seconds = _seconds()
    nonce = secrets.token_hex(16)
    code_key, tries_key = _keys(phone)
    cache.set(code_key, {"nonce": nonce, "expires": time.time() + seconds}, seconds)
    cache.set(tries_key, 0, seconds)
    code = _otp(phone, nonce).at(0)
    text = _("Linli: your sign-in code is %(code)s. It is valid for %(minutes)d minutes. "
             "Do not tell it to anyone, not even staff.") % {"code": code, "minutes": math.ceil(seconds / 60)}
    try:
        sms.send_sms(phone, text)
    except Exception:  # the provider's failure: nothing was sent, so nothing counts
        logger.exception("sign-in code: the SMS backend failed")
        cache.delete_many([code_key, tries_key])
        ADDRESS_CODES.release(address)
        PHONE_CODES.release(phone)
        raise SignInRefused("", "not_sent", _("The text message could not be sent. Please try again in a moment."),
                            status=503) from None
    return CodeSent(phone, seconds)


# ---------------------------------------------------------------- checking


def _code(value) -> str:
    text = unicodedata.normalize("NFKC", value if isinstance(value, str) else "").replace(" ", "").strip()
    if not text:
        raise SignInRefused("code", "invalid_code", _("Enter the 6-digit code from the text message."))
    if not (text.isascii() and text.isdigit() and len(text) == DIGITS):
        raise SignInRefused("code", "invalid_code", _("The code is 6 digits: enter the digits from the text message."))
    return text


def _void() -> SignInRefused:
    return SignInRefused("code", "locked", _("The code was entered wrongly too many times and no longer works. "
                                              "Ask for a new code."))


@sensitive_variables("code", "entry")
def check_code(request, phone, code):
    """The account `phone` signs in as, when `code` is its newest code, unexpired and unused.
    Raises SignInRefused otherwise, saying what to do; the account may be inactive (the caller
    decides: see PhoneCodeBackend)."""
    phone, code = _phone(phone), _code(code)
    code_key, tries_key = _keys(phone)
    entry = cache.get(code_key)
    if entry is None or entry["expires"] <= time.time():
        if (cache.get(tries_key) or 0) >= _tries():
            raise _void()
        raise SignInRefused("code", "expired", _("The code has expired or was already used. Ask for a new code."))
    try:
        tries = cache.incr(tries_key)  # reserved before comparing: a burst of guesses gets no more than the limit
    except ValueError:  # a new code's entry without its counter (evicted): count from one
        tries = 1 if cache.add(tries_key, 1, _seconds()) else cache.incr(tries_key)
    if tries > _tries():
        raise _void()
    if not _otp(phone, entry["nonce"]).verify(code, 0):  # constant time (pyotp.utils.strings_equal)
        if tries >= _tries():
            cache.delete(code_key)
            raise _void()
        left = _tries() - tries
        raise SignInRefused("code", "wrong_code", ngettext("The code is not right. You can try %(left)d more time.",
                                                           "The code is not right. You can try %(left)d more times.",
                                                           left) % {"left": left})
    if not cache.delete(code_key):  # a racing sign-in with the same code won
        raise SignInRefused("code", "expired", _("The code has expired or was already used. Ask for a new code."))
    cache.delete(tries_key)
    return account_for_phone(phone)


class PhoneCodeBackend(BaseBackend):
    """`authenticate(request, phone=..., code=...)`: the account of a number that proved it holds
    the number. Inactive accounts are refused. Anything refused is kept on the request
    (`refusal(request)`). Permissions are not this backend's: ModelBackend answers those."""

    def user_can_authenticate(self, user) -> bool:
        return getattr(user, "is_active", True)

    def get_user(self, user_id):
        user = get_user_model()._default_manager.filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None

    def authenticate(self, request, phone=None, code=None, **kwargs):
        if phone is None or code is None or request is None:
            return None
        try:
            user = check_code(request, phone, code)
        except SignInRefused as refused:
            _keep(request, refused)
            return None
        if not self.user_can_authenticate(user):
            _keep(request, SignInRefused("phone", "inactive", _("This account has been switched off. "
                                                                "Please contact your community.")))
            return None
        return user


def _keep(request, refused: SignInRefused) -> None:
    getattr(request, "_request", request).linli_sign_in_refused = refused


def refusal(request) -> SignInRefused | None:
    """What refused this request's sign-in by code, if anything."""
    return getattr(getattr(request, "_request", request), "linli_sign_in_refused", None)
