"""Accounts by mobile number: the one place that turns a number into a sign-in account.

Residents and most staff have no username, only a mobile number. A number is normalised once
(`normalise_phone`), and `account_for_phone` finds or makes the account that number signs in
as, and links the roster's people with that number to it. Phone sign-in (engine.sign_in) and
inviting a person call these two functions; nothing else decides which account a number is.

Which account a number is, in this order:
1. the account already linked to an active person (engine.models.Person) with this number;
2. the account whose username is the number (made by an earlier sign-in);
3. a new account with the number as its username and no usable password (create=True).
Then every active person with this number and no account is linked to it, one per community
(a person who moved away, or one linked to another account, is left alone: a number given to
someone new must not open the old holder's record). Each link is audited (PeopleChange).

Race-safe: two first sign-ins with one number at once make one account — the username is
unique, and the loser of the race retries and finds the winner's account.
"""

from __future__ import annotations

import re
import unicodedata

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

MOBILE = re.compile(r"^1[3-9]\d{9}$")
_SEPARATORS = re.compile(r"[\s\-()]")  # what people type between digit groups: 138 0013-8000, (138)…
_COUNTRY = re.compile(r"^(?:\+86|0086|86(?=\d{11}$))")


def normalise_phone(value: str) -> str:
    """An 11-digit mainland mobile number from what a person typed: spaces, dashes, brackets and
    a +86 (0086, 86) prefix are dropped, full-width digits read as digits. Raises ValueError with
    a message for the person otherwise."""
    if not isinstance(value, str):
        raise ValueError(_("Enter your 11-digit mobile number."))
    text = _SEPARATORS.sub("", unicodedata.normalize("NFKC", value))
    text = _COUNTRY.sub("", text)
    if not text:
        raise ValueError(_("Enter your 11-digit mobile number."))
    if not text.isascii() or not MOBILE.match(text):
        raise ValueError(_("The mobile number must be 11 digits starting with 1, such as 13800138000."))
    return text


def account_for_phone(phone: str, *, create: bool = True):
    """The account this number signs in as (see the module's docstring), or None when there is none
    and `create` is False. Links the roster's unlinked people with this number to it."""
    phone = normalise_phone(phone)
    for attempt in range(3):
        try:
            with transaction.atomic():
                user = _existing_account(phone)
                if user is None:
                    if not create:
                        return None
                    user = get_user_model().objects.create_user(username=phone)  # no password: unusable
                _link_people(phone, user)
                return user
        except IntegrityError:
            # A racing first sign-in made this username, or linked a person, first: look again.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _existing_account(phone: str):
    from engine.models import Person

    User = get_user_model()
    linked = (Person.objects.filter(phone=phone, active=True, user__isnull=False)
              .order_by("-user__is_active", "pk").values_list("user_id", flat=True).first())
    if linked is not None:
        return User.objects.get(pk=linked)
    return User.objects.filter(username=phone).first()


def _link_people(phone: str, user) -> None:
    from engine.models import PeopleChange, Person

    taken = set(Person.objects.filter(user=user).values_list("community_id", flat=True))
    for person in Person.objects.filter(phone=phone, active=True, user__isnull=True).order_by("pk"):
        if person.community_id in taken:  # one person per account in a community
            continue
        # conditional: a racing sign-in that linked this person to someone else first wins
        if Person.objects.filter(pk=person.pk, user__isnull=True).update(user=user):
            taken.add(person.community_id)
            # no actor: the number linked them (at its first sign-in, or when staff invited the person)
            PeopleChange.objects.create(community_id=person.community_id, person=person, actor=None,
                                        action=PeopleChange.Action.LINK_ACCOUNT,
                                        data={"user": user.pk, "username": user.get_username(), "phone": phone})
