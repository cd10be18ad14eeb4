"""What a person enters to take a transition (`input:` of a flow), checked like a form's fields.

The one place that decides whether an inline input is acceptable, with no database: its type
(text, number, date, boolean, choice, person, unit, post — the kinds the flow meta-schema
allows), whether it is required, and a choice's list. A person, unit or post must also exist
(and a person hold the input's `role:`); that needs the database, so `check` only says which
values are to be looked up (`Lookup`) and the ORM adapter (engine.workflow.adapter
`_checked_inputs`) looks them up. The core's `take` calls `check`, so the API, the item page
and the simulator refuse the same things with the same words.

Every error is a FieldError whose pointer names the input in the request body
(`/data/<input>`), with a stable code and a message in Chinese and English. Inputs the
transition does not declare are dropped, never stored.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from engine.forms.validation import FieldError

MAX_TEXT = 2000
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def pointer(name: str) -> str:
    """Where an input's error is reported: the input under the request's `data`."""
    return f"/data/{name}"


def _msg(zh: str, en: str) -> dict:
    return {"zh-hans": zh, "en": en}


class Invalid(Exception):
    """A value that is not of its input's kind; `code` and `message` say why."""

    def __init__(self, code: str, message: dict):
        super().__init__(code)
        self.code, self.message = code, message


@dataclass(frozen=True)
class Lookup:
    """A value of kind person, unit or post, well formed, still to be found in the community."""

    name: str  # the input
    kind: str  # person | unit | post
    value: object  # a person's id (int), a unit's or post's key (str)
    role: str = ""  # person: the role they must hold now


def _text(value, spec):
    if not isinstance(value, str):
        raise Invalid("type", _msg("请输入文字", "Enter text"))
    if len(value) > MAX_TEXT:
        raise Invalid("max_length", _msg(f"最多 {MAX_TEXT} 个字", f"At most {MAX_TEXT} characters"))
    return value


def _number(value, spec):
    if isinstance(value, bool):
        raise Invalid("type", _msg("请输入数字", "Enter a number"))
    if isinstance(value, str):
        try:
            value = int(value.strip()) if re.fullmatch(r"\s*-?\d+\s*", value) else float(value)
        except ValueError:
            raise Invalid("type", _msg("请输入数字", "Enter a number")) from None
    if not isinstance(value, (int, float)) or (isinstance(value, float) and not math.isfinite(value)):
        raise Invalid("type", _msg("请输入数字", "Enter a number"))
    return value


def _date(value, spec):
    if isinstance(value, str) and _DATE.match(value):
        try:
            datetime.date.fromisoformat(value)
            return value
        except ValueError:
            pass
    raise Invalid("format", _msg("请输入日期 (年-月-日)", "Enter a date (YYYY-MM-DD)"))


def _boolean(value, spec):
    if isinstance(value, bool):
        return value
    raise Invalid("type", _msg("请选择是或否", "Choose yes or no"))


def _choice(value, spec):
    choices = spec.get("choices") or []
    if isinstance(value, str) and value in choices:
        return value
    listed = "、".join(choices)
    raise Invalid("enum", _msg(f"请从以下选项中选择: {listed}", f"Choose one of: {', '.join(choices)}"))


def _person(value, spec):
    if isinstance(value, bool):
        raise Invalid("type", _msg("请选择一位人员", "Choose a person"))
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or value <= 0:
        raise Invalid("type", _msg("请选择一位人员", "Choose a person"))
    return value


def _key(words):
    def check(value, spec):
        if not isinstance(value, str) or not value.strip() or len(value) > 64:
            raise Invalid("type", words)
        return value.strip()
    return check


# kind -> check(value, spec) returning the value to keep, or raising Invalid
KINDS = {
    "text": _text,
    "number": _number,
    "date": _date,
    "boolean": _boolean,
    "choice": _choice,
    "person": _person,
    "unit": _key(_msg("请选择一个单位", "Choose a unit")),
    "post": _key(_msg("请选择一个岗位", "Choose a post")),
}
LOOKED_UP = ("person", "unit", "post")

REQUIRED = _msg("此项必填", "This field is required")


def _empty(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def check(specs: Mapping, given: Mapping | None) -> tuple[dict, list[FieldError], list[Lookup]]:
    """The inputs of a transition (`specs`: name -> its `input:` entry) checked against what was
    entered: (the values to keep, the errors, the values the adapter must still look up). An
    empty optional input is left out; an undeclared one is dropped."""
    given = given if isinstance(given, Mapping) else {}
    kept, errors, lookups = {}, [], []
    for name, spec in specs.items():
        value = given.get(name)
        if _empty(value):
            if spec.get("required"):
                errors.append(FieldError(pointer(name), "required", REQUIRED))
            continue
        kind = spec.get("type", "text")
        try:
            kept[name] = KINDS[kind](value, spec)
        except Invalid as invalid:
            errors.append(FieldError(pointer(name), invalid.code, invalid.message))
            continue
        if kind in LOOKED_UP:
            lookups.append(Lookup(name, kind, kept[name], spec.get("role", "") if kind == "person" else ""))
    return kept, errors, lookups


def not_found(lookup: Lookup, why: str = "") -> FieldError:
    """The error for a person, unit or post the community does not have (for a person with no
    account to sign in with, `why` = "account")."""
    if lookup.kind == "person":
        if why == "account":
            return FieldError(pointer(lookup.name), "account",
                              _msg("所选人员还没有可登录的账户", "The person chosen has no account to sign in with"))
        return FieldError(pointer(lookup.name), "unknown_person",
                          _msg("所选人员不是本社区的在册人员", "The person chosen is not an active person of this community"))
    if lookup.kind == "unit":
        return FieldError(pointer(lookup.name), "unknown_unit",
                          _msg(f"本社区没有单位“{lookup.value}”", f"This community has no unit “{lookup.value}”"))
    return FieldError(pointer(lookup.name), "unknown_post",
                      _msg(f"本社区没有岗位“{lookup.value}”", f"This community has no post “{lookup.value}”"))


def role_error(lookup: Lookup, role_title: Mapping | str) -> FieldError:
    """A person who does not hold the input's role now, the role named by its title."""
    titles = role_title if isinstance(role_title, Mapping) else {"zh-hans": role_title, "en": role_title}
    zh = titles.get("zh-hans") or next(iter(titles.values()), lookup.role)
    en = titles.get("en") or zh
    return FieldError(pointer(lookup.name), "role",
                      _msg(f"所选人员目前不担任“{zh}”", f"The person chosen does not hold “{en}” now"))
