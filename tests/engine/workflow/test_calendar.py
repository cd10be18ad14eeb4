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


# ---------------------------------------------------------------- the community's local date (issue #17)

from zoneinfo import ZoneInfo  # noqa: E402

from engine.workflow.calendar import before, day_bounds, local_date, schedule_known  # noqa: E402

SHANGHAI = ZoneInfo("Asia/Shanghai")
UTC = datetime.timezone.utc


def beijing(*args):
    return datetime.datetime(*args, tzinfo=SHANGHAI)


def test_before_eight_in_the_morning_beijing_time_is_still_yesterday_in_utc_but_not_for_the_calendar():
    moment = beijing(2026, 9, 30, 7, 29).astimezone(UTC)
    assert moment.date() == datetime.date(2026, 9, 29)  # the old bug's date
    assert local_date(moment, SHANGHAI) == datetime.date(2026, 9, 30)


def test_dispatched_before_and_after_eight_on_the_eve_of_national_day_both_fall_due_after_the_holiday():
    # the table: 10-01..10-07 off, 10-08 (Thursday) the first working day after it
    assert not is_workday(datetime.date(2026, 10, 7)) and is_workday(datetime.date(2026, 10, 8))
    for hour, minute in ((7, 29), (9, 0)):
        start = beijing(2026, 9, 30, hour, minute).astimezone(UTC)  # as the database hands it back
        due = deadline(start, parse_duration("1wd"), SHANGHAI)
        assert due == beijing(2026, 10, 8, hour, minute)
        assert due.astimezone(SHANGHAI).date() == datetime.date(2026, 10, 8)
        assert due.tzinfo == UTC  # in the zone it was given in


def test_the_old_bug_is_what_the_utc_calendar_would_say():
    start = beijing(2026, 9, 30, 7, 29).astimezone(UTC)
    assert deadline(start, parse_duration("1wd"), UTC) == beijing(2026, 10, 1, 7, 29)  # National Day: wrong
    assert deadline(start, parse_duration("1wd"), SHANGHAI) != deadline(start, parse_duration("1wd"), UTC)


def test_friday_one_in_the_morning_plus_one_working_day_is_monday_one_in_the_morning():
    friday = beijing(2026, 11, 20, 1, 0).astimezone(UTC)  # Thursday 17:00 in UTC
    assert deadline(friday, parse_duration("1wd"), SHANGHAI) == beijing(2026, 11, 23, 1, 0)


def test_a_reminder_before_one_working_day_counts_back_on_the_local_date_before_eight():
    due = beijing(2026, 11, 23, 7, 0).astimezone(UTC)  # Monday 07:00 Beijing is Sunday in UTC
    assert before(due, parse_duration("1wd"), SHANGHAI) == beijing(2026, 11, 20, 7, 0)  # Friday
    # across the holiday: one working day before 10-08 07:00 is 09-30 07:00
    assert before(beijing(2026, 10, 8, 7, 0).astimezone(UTC), parse_duration("1wd"), SHANGHAI) == \
        beijing(2026, 9, 30, 7, 0)


def test_calendar_days_keep_the_local_time_and_hours_are_elapsed_time():
    start = beijing(2026, 9, 30, 7, 29).astimezone(UTC)
    assert deadline(start, parse_duration("3d"), SHANGHAI) == beijing(2026, 10, 3, 7, 29)
    assert deadline(start, parse_duration("20h"), SHANGHAI) == beijing(2026, 10, 1, 3, 29)
    assert before(start, parse_duration("1w"), SHANGHAI) == beijing(2026, 9, 23, 7, 29)


def test_another_zone_counts_its_own_dates():
    urumqi = ZoneInfo("Asia/Urumqi")  # UTC+6: 01:00 Beijing on 09-30 is 23:00 on 09-29 there
    start = beijing(2026, 9, 30, 1, 0)
    assert local_date(start, urumqi) == datetime.date(2026, 9, 29)
    assert deadline(start, parse_duration("1wd"), urumqi) == datetime.datetime(2026, 9, 30, 23, 0, tzinfo=urumqi)
    assert deadline(start, parse_duration("1wd"), SHANGHAI) == beijing(2026, 10, 8, 1, 0)


def test_a_naive_moment_is_a_wall_clock_time_read_in_the_given_zone_or_kept_naive():
    naive = datetime.datetime(2026, 9, 30, 7, 29)
    assert deadline(naive, parse_duration("1wd"), SHANGHAI) == beijing(2026, 10, 8, 7, 29)
    assert deadline(naive, parse_duration("1wd")) == datetime.datetime(2026, 10, 8, 7, 29)  # still naive


def test_day_bounds_are_local_midnights():
    start, end = day_bounds(datetime.date(2026, 10, 1), datetime.date(2027, 1, 1), SHANGHAI)
    assert start == datetime.datetime(2026, 9, 30, 16, 0, tzinfo=UTC)
    assert end == datetime.datetime(2026, 12, 31, 16, 0, tzinfo=UTC)


def test_the_calendar_table_knows_2026_and_says_which_years_it_lacks():
    assert schedule_known(2025) and schedule_known(2026)
    assert not schedule_known(2099)
    # 2027's State Council schedule is not in chinesecalendar 1.11.0 yet: until the package is
    # upgraded, 2027 counts Monday to Friday (see docs/admin/community.md)
