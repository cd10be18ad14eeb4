"""What of a person may reach a public page, a feed, an export or the API: the rules of a
community's `privacy:` section, applied on the server before anything is rendered or stored
in a page revision.

Names keep their first and last character (张*明, 李*), phone numbers their first three and last
four digits (138****1234); ID numbers and rooms never appear; addresses stop at the building
(or compound). A person appears by name only with their separate consent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ANONYMOUS = "某居民"

# Formats that are personal whatever the form says: shown masked or not at all.
PHONE_FORMATS = {"cn-mobile", "phone", "tel"}
NEVER_FORMATS = {"cn-id-card", "id-card", "email"}


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


@dataclass(frozen=True)
class PrivacyRules:
    """A community's `privacy:` section, with the defaults a community that says nothing gets."""

    names: str = "mask"  # mask | hide
    phones: str = "mask"  # mask | hide
    addresses: str = "building"  # building | compound | hide
    honour_roll_consent: bool = True
    anonymous_label: str = ANONYMOUS

    @classmethod
    def from_definition(cls, data: dict | None) -> PrivacyRules:
        section = (data or {}).get("privacy") or {}
        label = section.get("anonymous_label") or ANONYMOUS
        if isinstance(label, dict):  # {zh-hans, en}: public pages speak Chinese first
            label = label.get("zh-hans") or next(iter(label.values()), ANONYMOUS)
        return cls(names=section.get("names", "mask"), phones=section.get("phones", "mask"),
                   addresses=section.get("addresses", "building"),
                   honour_roll_consent=section.get("honour_roll_consent", True), anonymous_label=label)

    def name(self, name: str, consented: bool = False) -> str:
        """A person's name on a public page (post board, announcement)."""
        if consented and name:
            return name
        return mask_name(name) if self.names == "mask" and name else self.anonymous_label

    def honour_name(self, name: str, consented_to_honour: bool, consented_to_name: bool = False) -> str:
        """A name on an honour roll: by name only with the roll's separate consent."""
        consented = consented_to_honour if self.honour_roll_consent else (consented_to_honour or consented_to_name)
        return name if consented and name else self.anonymous_label

    def phone(self, phone: str) -> str:
        return mask_phone(phone) if self.phones == "mask" and phone else ""

    def unit_path(self, names_by_level: list[tuple[str, str]], level_keys: list[str]) -> str:
        """The part of an address a public page may show: `names_by_level` is [(level key, unit
        name)] from the top of the tree down; it is cut at the compound, or one level below it
        (the building or grid), and never reaches a household."""
        if self.addresses == "hide" or not names_by_level:
            return ""
        compound = level_keys.index("compound") if "compound" in level_keys else min(1, len(level_keys) - 1)
        finest = compound + (1 if self.addresses == "building" else 0)
        allowed = set(level_keys[: finest + 1])
        shown = [name for level, name in names_by_level if level in allowed][1:]  # the community itself goes unsaid
        return " ".join(shown)
