"""The admin dashboard and its exports, through the HTTP client: who may see which community's
or street's figures, the figures of a date range, the sheets (CSV and Excel) and their audit."""

import csv
import datetime
import io
import logging

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook

from engine.exports import _masked, mask_id_number, rows
from engine.forms.spec import FieldSpec
from engine.models import Community, Definition, DefinitionVersion, FlowInstance, OrgUnit, Person, Submission
from engine.services import points
from engine.services.submissions import submit
from tests.cms.test_admin_area import client_for, make_people

DASHBOARD = "/admin/linli/dashboard/minyue/"
STREET = "/admin/linli/dashboard/street/kaiyuan/"
SHEETS = ["submissions", "tasks", "ledger", "rosters"]
EXPORTS = [f"{DASHBOARD}export/{what}.{fmt}" for what in SHEETS for fmt in ("csv", "xlsx")]
HOSTILE = '<script>alert("x")</script>'
FORMULA = '=HYPERLINK("http://x","点我")'


@pytest.fixture
def users(db):
    return make_people()


def request_data(grid, subject, name="王芳"):
    return {"category": "facilities", "subject": subject, "details": "3号楼2单元的问题请尽快处理，谢谢。",
            "urgency": "normal", "address": {"unit": grid.key}, "contact_name": name, "contact_preference": "visit"}


@pytest.fixture
def seeded(users):
    """minyue: three requests today (one resolved, one overdue), one 200 days ago; 12 points awarded."""
    community = Community.objects.get(slug="minyue")
    grid = OrgUnit.objects.filter(community=community, level="grid").first()
    resident = users["resident"]
    person = Person.objects.get(user=resident)
    form = Definition.objects.get(community=community, kind="form", key="resident-request")
    made = [submit(form=form, data=request_data(grid, subject, name), user=resident).submission
            for subject, name in ((FORMULA, "+王芳"), ("楼道灯坏了", "王芳"), ("门禁坏了", "王芳"), ("很久以前", "王芳"))]
    now = timezone.now()
    FlowInstance.objects.filter(submission=made[0]).update(finished_at=now)
    FlowInstance.objects.filter(submission=made[1]).update(due_at=now - datetime.timedelta(hours=1))
    Submission.objects.filter(pk=made[3].pk).update(submit_time=now - datetime.timedelta(days=200))
    points.award(person=person, reason="=SUM(A1)", points=12, category="red")
    return {"community": community, "person": person, "form": form, "grid": grid, "submissions": made}


def today():
    return timezone.localdate()


# --- who sees what ---------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["superuser", "minyue_admin", "zanan_admin", "staff", "resident"])
def test_only_the_communitys_admins_see_its_dashboard_and_sheets(users, who):
    client = client_for(users[who])
    for url in [DASHBOARD, *EXPORTS]:
        response = client.get(url)
        if who == "resident":  # not allowed in the Wagtail admin at all
            assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
        elif who in ("zanan_admin", "staff"):  # answered exactly like a community that does not exist
            assert response.status_code == 404, url
            missing = client.get(url.replace("/minyue/", "/nowhere/"))
            assert missing.status_code == 404 and missing.content == response.content
        else:
            assert response.status_code == 200, url


def test_a_refused_dashboard_is_logged_as_a_refusal(users, caplog):
    with caplog.at_level(logging.WARNING, logger="engine.security"):
        client_for(users["zanan_admin"]).get(DASHBOARD)
    assert "refused community dashboard minyue to user" in caplog.text


@pytest.mark.parametrize("who, status", [("superuser", 200), ("minyue_admin", 200), ("zanan_admin", 404),
                                         ("staff", 404)])
def test_a_street_dashboard_needs_every_community_in_it(users, who, status):
    """kaiyuan is a street over minyue (zanan has no street): minyue's admin manages all of it."""
    for url in (STREET, f"{STREET}export/ledger.csv"):
        assert client_for(users[who]).get(url).status_code == status


def test_a_street_is_not_one_of_its_communities_and_back(users):
    client = client_for(users["superuser"])
    assert client.get("/admin/linli/dashboard/kaiyuan/").status_code == 404  # a street has its own URL
    assert client.get("/admin/linli/dashboard/street/minyue/").status_code == 404
    assert client.get("/admin/linli/dashboard/street/nowhere/").status_code == 404


def test_a_street_with_a_community_one_does_not_manage_is_hidden(users):
    zanan = Community.objects.get(slug="zanan")
    zanan.parent = Community.objects.get(slug="kaiyuan")
    zanan.save()
    assert client_for(users["minyue_admin"]).get(STREET).status_code == 404
    assert client_for(users["superuser"]).get(STREET).status_code == 200


def test_the_community_dashboard_links_to_its_street_when_one_may_see_it(users):
    assert f'href="{STREET}"' in client_for(users["minyue_admin"]).get(DASHBOARD).content.decode()
    zanan = client_for(users["zanan_admin"]).get("/admin/linli/dashboard/zanan/").content.decode()
    assert "/dashboard/street/" not in zanan


def test_the_index_links_each_community_to_its_dashboard(users):
    html = client_for(users["superuser"]).get("/admin/linli/").content.decode()
    assert f'href="{DASHBOARD}"' in html and f'href="{STREET}"' in html
    assert 'href="/admin/linli/dashboard/zanan/"' in html
    html = client_for(users["minyue_admin"]).get("/admin/linli/").content.decode()
    assert f'href="{DASHBOARD}"' in html and "/dashboard/zanan/" not in html


# --- the figures of a range ------------------------------------------------------------------------


def test_the_dashboard_counts_what_falls_in_the_range(seeded, users):
    day = today().isoformat()
    response = client_for(users["minyue_admin"]).get(DASHBOARD, {"start": day, "end": day})
    board = response.context["board"]
    assert board.by_form == (("resident-request", "民情直通车", 3),)  # the one from 200 days ago is left out
    assert (board.received, board.resolved, board.open_tasks, board.overdue_tasks) == (3, 1, 3, 1)
    assert board.points_issued == 12
    html = response.content.decode()
    assert "民情直通车" in html and "<svg" in html and "33%" in html
    assert f"export/submissions.csv?start={day}&amp;end={day}" in html


def test_the_default_range_is_the_last_90_days_and_presets_work(seeded, users):
    client = client_for(users["minyue_admin"])
    response = client.get(DASHBOARD)
    board = response.context["board"]
    assert (board.start, board.end) == (today() - datetime.timedelta(days=89), today())
    assert board.received == 3
    html = response.content.decode()  # the inputs show the range in force
    assert f'name="start" value="{board.start.isoformat()}"' in html and f'value="{today().isoformat()}"' in html
    board = client.get(DASHBOARD, {"preset": "year"}).context["board"]
    assert (board.start, board.end) == (today().replace(month=1, day=1), today())
    board = client.get(DASHBOARD, {"preset": "month"}).context["board"]
    assert board.start == today().replace(day=1)
    board = client.get(DASHBOARD, {"preset": "quarter"}).context["board"]
    assert board.start.day == 1 and (today() - board.start).days < 93
    long_ago = (today() - datetime.timedelta(days=200)).isoformat()
    board = client.get(DASHBOARD, {"start": long_ago, "end": long_ago}).context["board"]
    assert board.received == 1 and board.points_issued == 0


def test_the_street_dashboard_adds_up_its_communities(seeded, users):
    response = client_for(users["minyue_admin"]).get(STREET)
    assert response.context["board"].received == 3
    assert "Items by community" in response.content.decode() or "各社区" in response.content.decode()


@pytest.mark.parametrize("query, message", [
    ({"start": "2025-13-01"}, "Enter a valid date."),
    ({"start": "2025-03-01", "end": "2025-02-01"}, "The range ends (2025-02-01) before it starts (2025-03-01)."),
    ({"start": "1900-01-01", "end": "2025-02-01"}, "Choose a date between 2000-01-01 and 2099-12-31."),
    ({"preset": "forever"}, "There is no range called “forever”; choose one of: This month, Last 3 months, This year."),
])
def test_a_bad_range_is_an_error_and_no_export(users, query, message):
    client = client_for(users["minyue_admin"], HTTP_ACCEPT_LANGUAGE="en")
    response = client.get(DASHBOARD, query)
    html = response.content.decode()
    assert response.status_code == 200 and "board" not in response.context
    assert message in html and "/export/" not in html
    response = client.get(f"{DASHBOARD}export/submissions.csv", query)
    assert response.status_code == 400 and "Content-Disposition" not in response
    assert message in response.content.decode()


def test_hostile_names_are_escaped(seeded, users):
    Community.objects.filter(slug="minyue").update(name=HOSTILE)
    version = seeded["form"].live_version
    content = version.content
    content["definition"]["title"] = HOSTILE
    DefinitionVersion.objects.filter(pk=version.pk).update(content=content)  # as if published so
    html = client_for(users["minyue_admin"]).get(DASHBOARD).content.decode()
    assert HOSTILE not in html and "&lt;script&gt;alert(" in html


def test_the_dashboards_queries_do_not_grow_with_its_items(seeded, users, django_assert_max_num_queries):
    client = client_for(users["minyue_admin"])
    client.get(DASHBOARD)  # warm the per-process caches (compiled definitions, roles)
    with CaptureQueriesContext(connection) as few:
        client.get(DASHBOARD)
    resident = users["resident"]
    for number in range(6):
        submit(form=seeded["form"], data=request_data(seeded["grid"], f"第{number}件小事"), user=resident)
        points.award(person=seeded["person"], reason="巡逻", points=1, category="red")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(DASHBOARD).context["board"].received == 9


# --- the sheets ------------------------------------------------------------------------------------


def csv_rows(response):
    assert response.content.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def xlsx_rows(response):
    book = load_workbook(io.BytesIO(response.content))
    return [[cell.value for cell in row] for row in book.active.iter_rows()]


@pytest.mark.parametrize("fmt, read", [("csv", csv_rows), ("xlsx", xlsx_rows)])
def test_the_submissions_sheet_keeps_to_the_range_and_neutralises_formulas(seeded, users, fmt, read):
    day = today().isoformat()
    response = client_for(users["minyue_admin"]).get(f"{DASHBOARD}export/submissions.{fmt}",
                                                     {"start": day, "end": day})
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="minyue-submissions-{day}-{day}.{fmt}"'
    assert "private" in response["Cache-Control"] and "no-store" in response["Cache-Control"]
    table = read(response)
    assert table[0][:4] == ["编号 reference", "表单 form", "提交时间 submitted", "提交人 submitter"]
    cells = [value for row in table[1:] for value in row]
    assert len(table) == 4 and "很久以前" not in cells  # three of today; the old one is outside the range
    assert f"'{FORMULA}" in cells and "'+王芳" in cells and "楼道灯坏了" in cells
    assert not any(isinstance(value, str) and value.startswith(("=", "+", "-", "@")) for value in cells)


@pytest.mark.parametrize("fmt, read", [("csv", csv_rows), ("xlsx", xlsx_rows)])
def test_every_sheet_downloads_without_a_formula(seeded, users, fmt, read):
    client = client_for(users["superuser"])
    for what in SHEETS:
        response = client.get(f"{DASHBOARD}export/{what}.{fmt}")
        assert response.status_code == 200
        table = read(response)
        assert table[0] and all(len(row) == len(table[0]) for row in table)
        cells = [value for row in table[1:] for value in row]
        assert not any(isinstance(value, str) and value.startswith(("=", "+", "@")) for value in cells), what
        if what == "tasks":
            assert len(table) == 4  # the tasks of the three requests of the range (the default 90 days)
        if what == "ledger":
            assert "'=SUM(A1)" in cells and "resident" in cells  # names in full: the admins manage these people


def test_the_street_sheets_cover_its_communities(seeded, users):
    table = csv_rows(client_for(users["minyue_admin"]).get(f"{STREET}export/submissions.csv"))
    assert len(table) == 4


def test_every_export_is_audited(seeded, users, caplog):
    day = today().isoformat()
    with caplog.at_level(logging.INFO, logger="engine.audit"):
        client_for(users["minyue_admin"]).get(f"{DASHBOARD}export/ledger.xlsx", {"start": day, "end": day})
    [record] = [r for r in caplog.records if r.name == "engine.audit"]
    message = record.getMessage()
    assert message.startswith(f"export ledger.xlsx of community minyue ({day} to {day}, 1 rows) by user ")
    assert f"({users['minyue_admin'].username})" in message
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="engine.audit"):
        client_for(users["zanan_admin"]).get(f"{DASHBOARD}export/ledger.xlsx")
    assert not [r for r in caplog.records if r.name == "engine.audit"]  # a refused one is not an export


def test_id_numbers_keep_only_their_last_four_characters():
    assert mask_id_number("11010519491231002X") == "**************002X"
    assert mask_id_number("123") == "***" and mask_id_number("") == ""
    card = FieldSpec(name="id", path=("id",), type="string", title="身份证", format="cn-id-card")
    holder = FieldSpec(name="holder", path=("holder",), type="object", title="持证人",
                       children=(card, FieldSpec(name="name", path=("holder", "name"), type="string", title="姓名")))
    people = FieldSpec(name="people", path=("people",), type="array", title="家庭成员", item=holder)
    assert _masked(holder, {"id": "11010519491231002X", "name": "王芳"}) == {"id": "**************002X",
                                                                          "name": "王芳"}
    assert _masked(people, [{"id": "11010519491231002X"}]) == [{"id": "**************002X"}]


def test_rows_without_a_range_are_everything(seeded):
    headers, body = rows("submissions", [seeded["community"].pk])
    assert len(body) == 4
    headers, body = rows("submissions", [seeded["community"].pk], start=today())
    assert len(body) == 3
