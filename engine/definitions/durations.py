"""Durations in definitions: '3d' calendar days, '5wd' Chinese working days, '12h', '30m', '2w'.

Only parsing lives here; counting working days on the Chinese calendar (holidays and make-up
working days) belongs to the workflow's clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_DURATION = re.compile(r"^([1-9][0-9]{0,3})(m|h|d|wd|w)$")
UNITS = {"m": "minutes", "h": "hours", "d": "days", "wd": "working_days", "w": "weeks"}


@dataclass(frozen=True)
class Duration:
    count: int
    unit: str  # one of UNITS' values

    @property
    def working_days(self) -> bool:
        return self.unit == "working_days"


def parse_duration(text: str) -> Duration:
    match = _DURATION.match(text or "")
    if not match:
        raise ValueError(f"not a duration: {text!r}")
    return Duration(int(match.group(1)), UNITS[match.group(2)])
