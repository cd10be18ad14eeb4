"""The one clock: "now", the community's time zone, its local dates, and "overdue".

Every calendar date the engine and the pages compute goes through here: deadlines, reminders,
vote and notice windows, "today", day and period bounds, reference-number dates. The local
date is the community's — `calendar: {timezone: …}` in its community.yaml (an IANA name such as
Asia/Urumqi), else settings.TIME_ZONE (Asia/Shanghai) — never the UTC date of a moment.

The arithmetic is pure and lives in engine.workflow.calendar; this module only finds the
zone (from the live community definition) and "now". `frozen(moment)` makes `now()` answer a
given moment for the code run inside it — `manage.py fire_timers --at` and simulations use it;
outside it, `now()` is Django's `timezone.now()`.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from engine.workflow import calendar

_FROZEN: contextvars.ContextVar[datetime.datetime | None] = contextvars.ContextVar("linli_clock", default=None)


def now() -> datetime.datetime:
    """The current moment (aware), or the frozen one inside `frozen()`."""
    return _FROZEN.get() or timezone.now()


@contextlib.contextmanager
def frozen(moment: datetime.datetime):
    """Within the block, `now()` is `moment` (an aware datetime)."""
    if timezone.is_naive(moment):
        raise ValueError("the clock needs an aware moment")
    token = _FROZEN.set(moment)
    try:
        yield moment
    finally:
        _FROZEN.reset(token)


def default_tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def zone_named(name: str | None) -> ZoneInfo:
    """The zone called `name` (settings.TIME_ZONE when empty); an unknown name raises ValueError."""
    if not name:
        return default_tz()
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone {name!r}") from error


def community_tz(community) -> ZoneInfo:
    """The community's zone: `calendar.timezone` of its live community.yaml, else settings.TIME_ZONE.
    `community` is a Community or its primary key. One small query (the key alone is read)."""
    from engine.models import Definition

    if community is None:
        return default_tz()
    community_id = getattr(community, "pk", community)
    name = (Definition.objects.filter(community_id=community_id, kind="community")
            .values_list("live_version__content__definition__calendar__timezone", flat=True).first())
    try:
        return zone_named(name if isinstance(name, str) else None)
    except ValueError:  # the linter refuses it at publishing; should an old version hold one, the default
        return default_tz()


def local_now(community=None, tz: datetime.tzinfo | None = None) -> datetime.datetime:
    """Now on the community's wall clock."""
    return now().astimezone(tz or community_tz(community))


def today(community=None, tz: datetime.tzinfo | None = None) -> datetime.date:
    """The community's date today (the local date, not UTC's)."""
    return local_now(community, tz).date()


def local_date(moment: datetime.datetime, community=None, tz: datetime.tzinfo | None = None) -> datetime.date:
    return calendar.local_date(moment, tz or community_tz(community))


def day_bounds(start: datetime.date, end: datetime.date, community=None,
               tz: datetime.tzinfo | None = None) -> tuple[datetime.datetime, datetime.datetime]:
    """[start 00:00, end 00:00) on the community's wall clock, for filtering moments by local day."""
    return calendar.day_bounds(start, end, tz or community_tz(community))


def parse_local(text: str, tz: datetime.tzinfo) -> datetime.datetime:
    """'2026-10-08 10:01' (or ISO with 'T', seconds optional) read as a wall-clock time in `tz`;
    a text with its own offset keeps it. Raises ValueError with the expected form."""
    try:
        moment = datetime.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"not a date and time: {text!r} (write it as YYYY-MM-DD HH:MM)") from None
    return calendar.local_moment(moment, tz) if moment.tzinfo is None else moment


# ---------------------------------------------------------------- overdue: one definition


def overdue_q(moment: datetime.datetime | None = None, prefix: str = "") -> Q:
    """Items still open whose deadline has passed (a FlowInstance filter; `prefix` for a
    relation such as 'instance__')."""
    return Q(**{f"{prefix}finished_at__isnull": True, f"{prefix}due_at__lt": moment or now()})


def is_overdue(instance, moment: datetime.datetime | None = None) -> bool:
    """The same rule for one item in hand."""
    return bool(instance is not None and instance.due_at and instance.finished_at is None
                and instance.due_at < (moment or now()))
