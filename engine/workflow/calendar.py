"""Deadlines as communities promise them: in calendar days, hours, or Chinese working days.

Working days follow the statutory calendar — public holidays off, make-up Saturdays and
Sundays on — from the `chinesecalendar` package, which carries each year's State Council
schedule. For a year it does not know yet, Monday to Friday are working days.
"""

from __future__ import annotations

import datetime

import chinese_calendar

from engine.definitions.durations import Duration


def is_workday(day: datetime.date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:  # a year whose schedule is not published in the package
        return day.weekday() < 5


def add_working_days(start: datetime.datetime, count: int) -> datetime.datetime:
    """The moment `count` working days after `start`: the same time of day on the count-th
    working day after it (a deadline set on a Friday evening falls on a later working day)."""
    day, left = start.date(), count
    while left:
        day += datetime.timedelta(days=1)
        if is_workday(day):
            left -= 1
    return datetime.datetime.combine(day, start.timetz())


def deadline(start: datetime.datetime, duration: Duration) -> datetime.datetime:
    if duration.unit == "working_days":
        return add_working_days(start, duration.count)
    if duration.unit == "minutes":
        return start + datetime.timedelta(minutes=duration.count)
    if duration.unit == "hours":
        return start + datetime.timedelta(hours=duration.count)
    if duration.unit == "weeks":
        return start + datetime.timedelta(weeks=duration.count)
    return start + datetime.timedelta(days=duration.count)


def before(moment: datetime.datetime, duration: Duration) -> datetime.datetime:
    """The moment `duration` before `moment` (working days counted back on the same calendar)."""
    if duration.unit == "working_days":
        day, left = moment.date(), duration.count
        while left:
            day -= datetime.timedelta(days=1)
            if is_workday(day):
                left -= 1
        return datetime.datetime.combine(day, moment.timetz())
    return moment - (deadline(moment, duration) - moment)
