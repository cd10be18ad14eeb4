"""The admin dashboard's figures and the staff exports (CSV, Excel)."""

import datetime
import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone
from openpyxl import load_workbook

from engine import exports
from engine.models import Community, Definition, FlowInstance, OrgUnit, Person
from engine.services import points
from engine.services.dashboard import dashboard
from engine.services.submissions import submit


@pytest.fixture
def world(db):
    call_command("load_definitions", stdout=io.StringIO())
    community = Community.objects.get(slug="minyue")
    grid = OrgUnit.objects.filter(community=community, level="grid").first()
    user = get_user_model().objects.create_user("wangfang", password="x" * 12)
    person = Person.objects.create(community=community, user=user, name="王芳", unit=grid, is_member=True)
    form = Definition.objects.get(community=community, kind="form", key="resident-request")
    made = []
    for subject in ("=HYPERLINK(\"http://x\",\"点我\")", "楼道灯坏了", "门禁坏了"):
        data = {"category": "facilities", "subject": subject, "details": "3号楼2单元的问题请尽快处理，谢谢。", "urgency": "normal",
                "address": {"unit": grid.key}, "contact_name": "王芳", "contact_preference": "visit"}
        made.append(submit(form=form, data=data, user=user).submission)
    return {"community": community, "person": person, "submissions": made}


def test_the_dashboard_counts_the_range(world):
    now = timezone.now()
    first = FlowInstance.objects.get(submission=world["submissions"][0])
    FlowInstance.objects.filter(pk=first.pk).update(finished_at=now)
    FlowInstance.objects.filter(submission=world["submissions"][1]).update(due_at=now - datetime.timedelta(hours=1))
    points.award(person=world["person"], reason="巡逻", points=12, category="red")
    today = timezone.localdate()
    board = dashboard(world["community"], today, today, now=now)
    assert board.by_form == (("resident-request", "民情直通车", 3),)
    assert (board.received, board.resolved, board.open_tasks, board.overdue_tasks) == (3, 1, 2, 1)
    assert board.resolution_rate == pytest.approx(1 / 3) and board.points_issued == 12 and board.points_redeemed == 0
    yesterday = today - datetime.timedelta(days=1)
    empty = dashboard(world["community"], yesterday, yesterday, now=now)
    assert (empty.received, empty.by_form, empty.points_issued) == (0, (), 0)
    assert empty.open_tasks == 2  # open work is open whatever the range
    with pytest.raises(ValueError):
        dashboard(world["community"], today, yesterday)


@pytest.mark.parametrize("kind", exports.KINDS)
def test_exports_neutralise_formulas_in_csv_and_excel(world, kind):
    headers, body = exports.rows(kind, [world["community"].pk])
    assert headers and all(len(row) == len(headers) for row in body)
    csv_text = exports.as_csv(headers, body).decode("utf-8-sig")
    book = load_workbook(io.BytesIO(exports.as_xlsx(headers, body)))
    cells = [c.value for row in book.active.iter_rows() for c in row]
    assert not any(isinstance(v, str) and v.startswith("=") for v in cells)
    if kind == "submissions":
        assert "'=HYPERLINK" in csv_text and "'=HYPERLINK(\"http://x\",\"点我\")" in cells
        assert "楼道灯坏了" in csv_text


def test_an_unknown_export_is_refused(world):
    with pytest.raises(ValueError, match="unknown export"):
        exports.rows("passwords", [world["community"].pk])
