"""Masking personal data before it reaches a public page, a leaderboard, an export or the API.

Names keep their first and last character (张*明, 李*), phone numbers their first three and
last four digits (138****1234). A person appears by name only with their separate consent.
"""

import re

ANONYMOUS = "某居民"


def mask_name(name: str) -> str:
    name = (name or "").strip()
    if len(name) <= 1:
        return name + "*" if name else ANONYMOUS
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_phone(phone: str) -> str:
    digits = re.sub(r"\D", "", phone or "")
    if len(digits) < 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def public_name(person, policy: str = "mask") -> str:
    """What a public page may show of a person: the name if they consented, else masked or hidden."""
    if person.show_name_publicly:
        return person.name
    return mask_name(person.name) if policy == "mask" else ANONYMOUS
