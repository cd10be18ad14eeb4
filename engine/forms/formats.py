"""The `format`s Linli's forms may use, checked with the standard library only.

jsonschema leaves date-time, email and others unchecked unless optional packages are
installed; a resident's form must not depend on that, so every format is checked here.
"""

from __future__ import annotations

import datetime
import re

from jsonschema import FormatChecker

FORMAT_CHECKER = FormatChecker(formats=())

# Patterns are used with fullmatch: `$` alone also matches before a final newline, which
# would let "11010519491231002X\n" through. datetime's fromisoformat alone is too lenient
# (it takes week dates such as 2024-W01-1, basic format 20240101T1000, hour-only times), so
# the shape is checked first and fromisoformat only decides whether the date is real.
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIME = r"[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?([Zz]|[+-][0-9]{2}:[0-9]{2})?"
_TIME_RE = re.compile(_TIME)
_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ]" + _TIME)

_EMAIL = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_URI = re.compile(r"^(https?)://[^\s/$.?#][^\s]*$", re.IGNORECASE)
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_FILE = re.compile(r"^[0-9a-f]{32}$")  # the id of an uploaded file (SubmissionFile.token)
# re.ASCII: \d is 0-9 only (int() would read full-width digits and the check digit would pass)
_ID_CARD = re.compile(r"^[1-9]\d{5}(18|19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])\d{3}[\dXx]$", re.ASCII)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def _strings(check):
    """Formats apply to strings; other types are the `type` keyword's business."""
    def wrapped(value):
        return not isinstance(value, str) or check(value)
    wrapped.__name__ = check.__name__
    return wrapped


@FORMAT_CHECKER.checks("date")
@_strings
def is_date(value):
    try:
        return bool(_DATE.fullmatch(value)) and bool(datetime.date.fromisoformat(value))
    except ValueError:
        return False


@FORMAT_CHECKER.checks("date-time")
@_strings
def is_datetime(value):
    if not _DATETIME.fullmatch(value):
        return False
    try:
        return bool(datetime.datetime.fromisoformat(value.upper().replace("Z", "+00:00")))
    except ValueError:
        return False


@FORMAT_CHECKER.checks("time")
@_strings
def is_time(value):
    if not _TIME_RE.fullmatch(value):
        return False
    try:
        return bool(datetime.time.fromisoformat(value.upper().replace("Z", "+00:00")))
    except ValueError:
        return False


@FORMAT_CHECKER.checks("email")
@_strings
def is_email(value):
    return bool(_EMAIL.fullmatch(value))


@FORMAT_CHECKER.checks("uri")
@_strings
def is_uri(value):
    return bool(_URI.fullmatch(value))


@FORMAT_CHECKER.checks("cn-id-card")
@_strings
def is_cn_id_card(value):
    """18-character resident ID: region, birth date, sequence, and the ISO 7064 MOD 11-2 check digit."""
    if not _ID_CARD.fullmatch(value):
        return False
    try:
        datetime.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    total = sum(int(digit) * weight for digit, weight in zip(value[:17], _ID_WEIGHTS))
    return _ID_CHECK[total % 11] == value[17].upper()


@FORMAT_CHECKER.checks("file")
@_strings
def is_file_token(value):
    return bool(_FILE.fullmatch(value))


for _name in ("unit", "post", "store-item", "team"):
    FORMAT_CHECKER.checks(_name)(_strings(lambda value: bool(_NAME.fullmatch(value))))
