import datetime

from engine.definitions.durations import parse_duration
from engine.workflow.calendar import add_working_days, deadline, is_workday

TZ = datetime.timezone(datetime.timedelta(hours=8))


def test_national_day_holidays_are_skipped_and_make_up_days_count():
    assert not is_workday(datetime.date(2026, 10, 1))
    assert is_workday(datetime.date(2026, 10, 10))  # a Saturday worked to make up for the holiday
    start = datetime.datetime(2026, 9, 29, 16, 0, tzinfo=TZ)
    # 9-30 is a working day, then the holiday to 10-7, then 10-8, 10-9, 10-10 (Saturday, worked)
    assert add_working_days(start, 2) == datetime.datetime(2026, 10, 8, 16, 0, tzinfo=TZ)
    assert add_working_days(start, 4) == datetime.datetime(2026, 10, 10, 16, 0, tzinfo=TZ)


def test_weekends_are_skipped_in_an_ordinary_week():
    friday = datetime.datetime(2026, 11, 20, 18, 0, tzinfo=TZ)
    assert deadline(friday, parse_duration("1wd")) == datetime.datetime(2026, 11, 23, 18, 0, tzinfo=TZ)


def test_calendar_units():
    start = datetime.datetime(2026, 11, 20, 18, 0, tzinfo=TZ)
    assert deadline(start, parse_duration("3d")) == start + datetime.timedelta(days=3)
    assert deadline(start, parse_duration("12h")) == start + datetime.timedelta(hours=12)
    assert deadline(start, parse_duration("2w")) == start + datetime.timedelta(days=14)


def test_a_year_without_a_published_schedule_falls_back_to_weekdays():
    assert is_workday(datetime.date(2099, 6, 1)) and not is_workday(datetime.date(2099, 6, 6))
