"""The community's clock: local dates, and deadlines as communities promise them — in calendar
days, hours, or Chinese working days.

Every calendar date Linli computes (a deadline's day, "today", a period's bounds) is a date on
the community's wall clock, never the UTC date: an aware moment is first turned into the
community's local time (`local_date`, `local_moment`), and a local day back into a moment
(`day_start`). Calling `.date()` on an aware UTC datetime is the bug this module exists to
prevent — before 08:00 Beijing time it is still yesterday in UTC.

This module is pure: it takes aware datetimes and a `tzinfo` (a `zoneinfo.ZoneInfo`) and never
reads Django's settings; `engine.clock` finds the community's zone and "now".

Working days follow the statutory calendar — public holidays off, make-up Saturdays and
Sundays on — from the `chinesecalendar` package, which carries each year's State Council
schedule. For a year it does not know yet, Monday to Friday are working days.
"""

from __future__ import annotations

import datetime

import chinese_calendar

from engine.definitions.durations import Duration


# ---------------------------------------------------------------- local time


def local_moment(moment: datetime.datetime, tz: datetime.tzinfo | None = None) -> datetime.datetime:
    """`moment` on the wall clock of `tz`. A naive moment is read as a wall-clock time in `tz`.
    Without `tz`, a moment stays on the clock it carries: an aware one in its own zone, a naive
    one as the local wall-clock time it already is (the simulator's clock)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        return moment.replace(tzinfo=tz) if tz is not None else moment
    return moment.astimezone(tz) if tz is not None else moment


def local_date(moment: datetime.datetime, tz: datetime.tzinfo | None = None) -> datetime.date:
    """The calendar date of `moment` in `tz` (the community's date, not UTC's)."""
    return local_moment(moment, tz).date()


def local_now(tz: datetime.tzinfo) -> datetime.datetime:
    """Now, on the wall clock of `tz`."""
    return datetime.datetime.now(tz)


def day_start(day: datetime.date, tz: datetime.tzinfo) -> datetime.datetime:
    """The moment the local day `day` begins in `tz` (00:00 there)."""
    return datetime.datetime.combine(day, datetime.time(), tz)


def day_bounds(start: datetime.date, end: datetime.date, tz: datetime.tzinfo) -> tuple[datetime.datetime,
                                                                                      datetime.datetime]:
    """[start 00:00, end 00:00) in `tz`: the moments of the local days start … end - 1."""
    return day_start(start, tz), day_start(end, tz)


# ---------------------------------------------------------------- working days


def is_workday(day: datetime.date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:  # a year whose schedule is not published in the package
        return day.weekday() < 5


def schedule_known(year: int) -> bool:
    """Does the calendar table carry the State Council's holiday schedule for `year`?"""
    try:
        chinese_calendar.is_workday(datetime.date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


def _walk_working_days(day: datetime.date, count: int, step: int) -> datetime.date:
    left = count
    while left:
        day += datetime.timedelta(days=step)
        if is_workday(day):
            left -= 1
    return day


def _same_time_on(day: datetime.date, local: datetime.datetime, start: datetime.datetime) -> datetime.datetime:
    """The wall-clock time of `local` on `day`, in the zone the caller gave `start` in."""
    moment = datetime.datetime.combine(day, local.time(), local.tzinfo)
    return moment.astimezone(start.tzinfo) if start.tzinfo is not None else moment


def add_working_days(start: datetime.datetime, count: int, tz: datetime.tzinfo | None = None) -> datetime.datetime:
    """The moment `count` working days after `start`: the same local time of day on the
    count-th working day after start's local date in `tz` (a deadline set on a Friday evening
    falls on a later working day; one set at 01:00 on a Friday falls on Monday at 01:00)."""
    local = local_moment(start, tz)
    return _same_time_on(_walk_working_days(local.date(), count, 1), local, start)


def _calendar_shift(start: datetime.datetime, duration: Duration, tz, sign: int) -> datetime.datetime:
    local = local_moment(start, tz)
    if duration.unit in ("minutes", "hours"):  # elapsed time
        delta = datetime.timedelta(**{duration.unit: duration.count})
        moment = (local.astimezone(datetime.timezone.utc) + sign * delta).astimezone(local.tzinfo)
    else:  # days and weeks: the same wall-clock time so many local days on
        days = duration.count * (7 if duration.unit == "weeks" else 1)
        moment = datetime.datetime.combine(local.date() + datetime.timedelta(days=sign * days), local.time(),
                                           local.tzinfo)
    return moment.astimezone(start.tzinfo) if start.tzinfo is not None else moment


def deadline(start: datetime.datetime, duration: Duration, tz: datetime.tzinfo | None = None) -> datetime.datetime:
    """The moment `duration` after `start`, counted on the wall clock of `tz` (the community's
    zone; without it, the zone `start` carries). The result is in start's zone."""
    if duration.unit == "working_days":
        return add_working_days(start, duration.count, tz)
    return _calendar_shift(start, duration, tz, 1)


def before(moment: datetime.datetime, duration: Duration, tz: datetime.tzinfo | None = None) -> datetime.datetime:
    """The moment `duration` before `moment` (working days counted back on the same calendar,
    from moment's local date in `tz`)."""
    if duration.unit == "working_days":
        local = local_moment(moment, tz)
        return _same_time_on(_walk_working_days(local.date(), duration.count, -1), local, moment)
    return _calendar_shift(moment, duration, tz, -1)
