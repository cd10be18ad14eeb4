"""One clock (issue #17): every date the engine computes is the community's local date.

Real flow steps through the adapter with "now" set by time_machine, the Timer rows they write,
`fire_timers --at`, a community on another zone (calendar.timezone: Asia/Urumqi), reference
numbers, points periods, and the simulator agreeing with the engine."""

import datetime
import io
import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils import timezone, translation

from engine import clock
from engine.models import Community, Definition, FlowInstance, Notification, OrgUnit, Person, RoleAssignment, Timer
from engine.points.core import period_bounds
from engine.services import points
from engine.services.submissions import submit
from engine.workflow import adapter, core
from engine.workflow.calendar import local_date
from engine.workflow.simulate import describe_effect

ROOT = Path(__file__).resolve().parents[2]
SHANGHAI = ZoneInfo("Asia/Shanghai")
URUMQI = ZoneInfo("Asia/Urumqi")
UTC = datetime.timezone.utc


def beijing(*args):
    return datetime.datetime(*args, tzinfo=SHANGHAI)


def load(tmp_path, zone=None, settings=None):
    """minyue (and its street) as shipped, or copied with `calendar.timezone: zone`."""
    if zone is None:
        call_command("load_definitions", "workflows_yaml/kaiyuan", "workflows_yaml/minyue", "forms_schemas/minyue",
                     stdout=io.StringIO())
    else:
        for part in ("workflows_yaml/kaiyuan", "workflows_yaml/minyue", "forms_schemas/minyue", "forms_schemas/_shared"):
            shutil.copytree(ROOT / part, tmp_path / part)
        community_file = tmp_path / "workflows_yaml/minyue/community.yaml"
        text = community_file.read_text(encoding="utf-8")
        assert text.count("calendar:\n  workdays: cn\n") == 1
        community_file.write_text(text.replace("calendar:\n  workdays: cn\n",
                                               f"calendar:\n  workdays: cn\n  timezone: {zone}\n"), encoding="utf-8")
        settings.LINLI_FORMS_DIR, settings.LINLI_WORKFLOWS_DIR = tmp_path / "forms_schemas", tmp_path / "workflows_yaml"
        call_command("load_definitions", str(tmp_path / "workflows_yaml/kaiyuan"),
                     str(tmp_path / "workflows_yaml/minyue"), str(tmp_path / "forms_schemas/minyue"),
                     stdout=io.StringIO())
    community = Community.objects.get(slug="minyue")
    User = get_user_model()
    grid = OrgUnit.objects.filter(community=community, level="grid").order_by("path").first()
    root = OrgUnit.objects.get(community=community, depth=1)
    people = {}
    for key, role, unit in (("resident", "resident", grid), ("leader", "grid_leader", grid),
                            ("secretary", "community_secretary", root), ("handler", "member", grid.get_parent())):
        user = User.objects.create_user(key, password="x" * 12)
        person = Person.objects.create(community=community, user=user, name=key, unit=unit)
        RoleAssignment.objects.create(community=community, person=person, role=role, unit=unit)
        people[key] = person
    return community, people, grid


def submitted(community, people, grid):
    form = Definition.objects.get(community=community, kind="form", key="resident-request")
    data = {"category": "facilities", "subject": "楼道灯坏了", "details": "3号楼2单元楼道灯坏了一个星期",
            "urgency": "normal", "address": {"unit": grid.key}, "contact_name": "张明", "contact_preference": "visit"}
    return submit(form=form, data=data, user=people["resident"].user).submission


def dispatched(community, people, grid, at):
    """Submitted, analysed and dispatched (into in_progress: 5wd, reminded 1wd before) at `at`."""
    with time_machine.travel(at, tick=False):
        submission = submitted(community, people, grid)
        instance = FlowInstance.objects.get(submission=submission)
        adapter.take(instance_id=instance.pk, name="analyse", user=people["leader"].user,
                     inputs={"analysis": "属实", "handling_level": "社区办理"})
        adapter.take(instance_id=instance.pk, name="dispatch", user=people["secretary"].user,
                     inputs={"assignee": people["handler"].pk})
    return FlowInstance.objects.get(pk=instance.pk)


def timers(instance):
    escalate = Timer.objects.get(instance=instance, state="in_progress", transition="escalate")
    reminder = Timer.objects.get(instance=instance, state="in_progress", transition="")
    return escalate.due_at, reminder.due_at


@pytest.fixture
def minyue(db, tmp_path):
    return load(tmp_path)


def test_a_step_taken_at_four_in_the_morning_is_due_on_the_local_working_days(minyue):
    community, people, grid = minyue
    monday_four = beijing(2026, 11, 16, 4, 0)  # still Sunday 20:00 in UTC
    with time_machine.travel(monday_four, tick=False):
        assert timezone.now().date() == datetime.date(2026, 11, 15)
    instance = dispatched(community, people, grid, monday_four)
    escalate, reminder = timers(instance)
    # five working days from Monday: Tue..Fri and the next Monday, at 04:00 Beijing time
    # (counted on the UTC date it was Saturday 04:00)
    assert escalate == beijing(2026, 11, 23, 4, 0)
    assert instance.due_at == escalate
    assert reminder == beijing(2026, 11, 20, 4, 0)  # one working day before: Friday, not Thursday


def test_dispatched_on_the_eve_of_national_day_before_eight_counts_from_that_day(minyue):
    community, people, grid = minyue
    early = dispatched(community, people, grid, beijing(2026, 9, 30, 7, 29))
    late = dispatched(community, people, grid, beijing(2026, 9, 30, 9, 0))
    # 10-08, 10-09, 10-10 (a make-up Saturday), 10-12, 10-13
    assert timers(early) == (beijing(2026, 10, 13, 7, 29), beijing(2026, 10, 12, 7, 29))
    assert timers(late) == (beijing(2026, 10, 13, 9, 0), beijing(2026, 10, 12, 9, 0))


def test_the_simulator_agrees_with_the_engine_on_the_national_day_deadline(minyue):
    community, people, grid = minyue
    moment = beijing(2026, 9, 30, 7, 29)
    instance = dispatched(community, people, grid, moment)
    escalate, _ = timers(instance)
    flow = adapter.compiled(instance)
    spec = next(s for kind, s in core.clocks(flow.states["in_progress"])
                if kind == "timer" and s.get("transition") == "escalate")
    with time_machine.travel(moment, tick=False):
        simulated_now = clock.local_now(community)  # what the admin simulator starts from
    words = describe_effect(flow, "timer", spec, None, simulated_now)
    shown = timezone.localtime(escalate, SHANGHAI).strftime("%Y-%m-%d %H:%M")
    assert shown == "2026-10-13 07:29"
    assert f"({shown})" in words["en"] and f"（{shown}）" in words["zh-hans"]


def test_fire_timers_at_a_local_time_fires_what_is_due_and_schedules_from_it(minyue):
    community, people, grid = minyue
    instance = dispatched(community, people, grid, beijing(2026, 9, 30, 7, 29))
    out = io.StringIO()
    call_command("fire_timers", "--at", "2026-10-12 07:28", stdout=out)
    assert out.getvalue().strip() == "fired 0 timer(s)"
    out = io.StringIO()
    call_command("fire_timers", "--at", "2026-10-12 07:29", stdout=out)  # the reminder, read as Beijing time
    assert out.getvalue().strip() == "fired 1 timer(s)"
    assert Notification.objects.filter(user=people["handler"].user, instance=instance).exists()
    out = io.StringIO()
    call_command("fire_timers", "--at", "2026-10-13 10:01", stdout=out)
    assert out.getvalue().strip() == "fired 1 timer(s)"
    instance.refresh_from_db()
    assert instance.state == "escalated"
    assert instance.entered_at == beijing(2026, 10, 13, 10, 1)  # the step happened "at" the given time
    fired = Timer.objects.get(instance=instance, transition="escalate")
    assert fired.fired_at == beijing(2026, 10, 13, 10, 1)
    # what the escalation set off is counted from that moment too, not from the real now
    for timer in Timer.objects.filter(instance=instance, state="escalated"):
        assert timer.due_at > beijing(2026, 10, 13, 10, 1)
        assert timer.due_at < beijing(2026, 12, 31)


def test_fire_timers_refuses_a_bad_time_and_an_unknown_community_and_fires_nothing(minyue):
    community, people, grid = minyue
    dispatched(community, people, grid, beijing(2026, 9, 30, 7, 29))
    with translation.override("zh-hans"):
        with pytest.raises(CommandError, match="--at：tomorrow 不是日期和时间；请写成 YYYY-MM-DD HH:MM"):
            call_command("fire_timers", "--at", "tomorrow", stdout=io.StringIO())
        with pytest.raises(CommandError, match="--community：没有社区 nowhere"):
            call_command("fire_timers", "--at", "2027-01-01 00:00", "--community", "nowhere", stdout=io.StringIO())
    with translation.override("en"):
        with pytest.raises(CommandError, match="--at: 2026-13-01 10:00 is not a date and time; write it as YYYY-MM-DD"):
            call_command("fire_timers", "--at", "2026-13-01 10:00", stdout=io.StringIO())
        with pytest.raises(CommandError, match="give --at too"):
            call_command("fire_timers", "--community", "minyue", stdout=io.StringIO())
    assert not Timer.objects.exclude(fired_at=None).exists()


def test_a_community_on_another_zone_gets_its_own_dates(db, tmp_path, settings):
    community, people, grid = load(tmp_path, "Asia/Urumqi", settings)
    assert clock.community_tz(community) == URUMQI
    # Monday 01:00 in Beijing is still Sunday 23:00 in Urumqi (UTC+6)
    moment = beijing(2026, 11, 16, 1, 0)
    with time_machine.travel(moment, tick=False):
        assert clock.today(community) == datetime.date(2026, 11, 15)
    instance = dispatched(community, people, grid, moment)
    assert instance.submission.reference_stem.endswith("20261115")  # the reference number's date is Urumqi's
    escalate, reminder = timers(instance)
    # five working days from Sunday: Monday to Friday, 23:00 Urumqi time
    assert escalate == datetime.datetime(2026, 11, 20, 23, 0, tzinfo=URUMQI)
    assert reminder == datetime.datetime(2026, 11, 19, 23, 0, tzinfo=URUMQI)
    # fire_timers --at reads the time on the community's clock
    out = io.StringIO()
    call_command("fire_timers", "--at", "2026-11-19 23:00", "--community", "minyue", stdout=out)
    assert out.getvalue().strip() == "fired 1 timer(s)"


def test_the_default_zone_gives_the_beijing_reference_date(minyue):
    community, people, grid = minyue
    with time_machine.travel(beijing(2026, 11, 16, 1, 0), tick=False):
        submission = submitted(community, people, grid)
    assert submission.reference_stem.endswith("20261116")


def test_a_quarter_at_half_past_eleven_utc_on_september_30_is_the_fourth_quarter(minyue):
    community, people, grid = minyue
    moment = datetime.datetime(2026, 9, 30, 23, 30, tzinfo=UTC)  # 2026-10-01 07:30 in Beijing
    assert period_bounds("quarter", local_date(moment, SHANGHAI)) == (datetime.date(2026, 10, 1),
                                                                     datetime.date(2027, 1, 1))
    category = points._community_data(community)["points"]["categories"][0]["key"]
    person = people["handler"]
    with time_machine.travel(datetime.datetime(2026, 9, 30, 15, 59, tzinfo=UTC), tick=False):  # 09-30 23:59 local
        points.award(person=person, category=category, points=3, reason="third quarter")
    with time_machine.travel(moment, tick=False):
        points.award(person=person, category=category, points=5, reason="fourth quarter")
        board = points.leaderboard(community, period="quarter")
    assert board == [{"person_id": person.pk, "points": 5}]


def test_a_quarter_on_another_zone_ends_at_its_own_midnight(db, tmp_path, settings):
    community, people, grid = load(tmp_path, "Asia/Urumqi", settings)
    category = points._community_data(community)["points"]["categories"][0]["key"]
    person = people["handler"]
    at = datetime.datetime(2026, 9, 30, 17, 30, tzinfo=UTC)  # 23:30 on 09-30 in Urumqi, 10-01 in Beijing
    with time_machine.travel(at, tick=False):
        points.award(person=person, category=category, points=5, reason="still the third quarter there")
        assert points.leaderboard(community, period="quarter") == [{"person_id": person.pk, "points": 5}]
    with time_machine.travel(datetime.datetime(2026, 9, 30, 18, 30, tzinfo=UTC), tick=False):  # 10-01 00:30 there
        assert points.leaderboard(community, period="quarter") == []


def test_overdue_is_one_rule(minyue):
    community, people, grid = minyue
    instance = dispatched(community, people, grid, beijing(2026, 9, 30, 7, 29))
    due = instance.due_at
    assert not clock.is_overdue(instance, due)
    assert clock.is_overdue(instance, due + datetime.timedelta(seconds=1))
    query = FlowInstance.objects.filter(pk=instance.pk)
    assert list(adapter.overdue(query, due + datetime.timedelta(seconds=1))) == [instance]
    FlowInstance.objects.filter(pk=instance.pk).update(finished_at=due)  # a finished item is never overdue
    instance.refresh_from_db()
    assert not clock.is_overdue(instance, due + datetime.timedelta(days=1))
    assert list(adapter.overdue(query, due + datetime.timedelta(days=1))) == []
