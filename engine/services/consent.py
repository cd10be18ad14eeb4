"""Residents' consents to making their personal data public (PIPL: each purpose its own
consent, withdrawn as easily as given), and callers asking a post holder to contact them."""

from __future__ import annotations

import re

from django.core.cache import cache
from django.db import transaction

from engine.definitions.problems import LinliError
from engine.models import Notification, Person, PostAssignment

CONSENTS = ("show_name_publicly", "honour_roll_consent", "contact_consent")
MOBILE = re.compile(r"^1[3-9]\d{9}$")
CONTACT_LIMIT = 5  # requests per caller per hour


class ContactRefused(LinliError):
    def __init__(self, field, message):
        self.field = field
        super().__init__(message)


def set_consents(person: Person, **consents) -> Person:
    """Give or withdraw consents. Saving the person purges the community's cached pages
    (cms.signals), so a withdrawn name leaves the next render."""
    unknown = set(consents) - set(CONSENTS)
    if unknown:
        raise ValueError(f"unknown consent(s): {', '.join(sorted(unknown))}")
    with transaction.atomic():
        person = Person.objects.select_for_update().get(pk=person.pk)
        changed = [k for k, v in consents.items() if getattr(person, k) != bool(v)]
        for key in changed:
            setattr(person, key, bool(consents[key]))
        if changed:
            person.save(update_fields=changed)
    return person


def may_be_asked(contact_consent: bool, user_id) -> bool:
    """May callers ask this person to call back? Only with consent, and only if they have an
    account to receive the request (reachable_holding below asks the same in SQL)."""
    return bool(contact_consent) and user_id is not None


def reachable_holding(pk) -> PostAssignment | None:
    """An open post holding whose holder agreed to be contacted and has an account to hear it."""
    return (PostAssignment.objects.filter(pk=pk, until__isnull=True, person__contact_consent=True,
                                          person__user__isnull=False)
            .select_related("person", "community").first())


def request_contact(holding: PostAssignment, *, name: str, phone: str, message: str, caller: str) -> Notification:
    """A caller leaves their name and number for the post holder, who calls back. The holder's
    own number is never shown; a caller may ask a few times an hour."""
    name, phone, message = name.strip(), re.sub(r"\s|-", "", phone), message.strip()
    if not name or len(name) > 20:
        raise ContactRefused("name", "请填写您的称呼（20字以内）")
    if not MOBILE.match(phone):
        raise ContactRefused("phone", "请输入11位手机号码")
    if len(message) > 200:
        raise ContactRefused("message", "留言请在200字以内")
    key = f"linli:contact:{caller}"
    cache.add(key, 0, 3600)
    if cache.incr(key) > CONTACT_LIMIT:
        raise ContactRefused("", "请求过于频繁，请一小时后再试")
    from engine.forms.registry import community_choices

    post = dict(community_choices(holding.community).get("post", [])).get(holding.post, holding.post)
    text = f"居民“{name}”（{phone}）请您就“{post}”岗位回电" + (f"：{message}" if message else "")
    note = Notification.objects.create(user=holding.person.user, community=holding.community, message=text[:500])
    if holding.person.user.email:
        from django.core.mail import send_mail

        transaction.on_commit(lambda: send_mail(f"[{holding.community.name}] 居民请您回电", text, None,
                                                [holding.person.user.email], fail_silently=True))
    return note
