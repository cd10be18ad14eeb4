"""Script injection: what residents type, what files are called, what a community writes in its
YAML and what an editor calls a page is shown as text on every page that shows it — never as
markup, never as a link — and the spreadsheet exports never turn a value into a formula.

The payloads go in the way a real person would put them in: a submission through the API, an
upload, load_definitions from a folder, a page saved in the page tree. Each page is then parsed
(html.parser) and checked for what would run: an injected element or event handler, a script
that mentions the payload, a `javascript:` URL in any attribute that takes a URL.
"""

import csv
import io
import json
import shutil
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.utils.html import escape
from PIL import Image
from rest_framework.test import APIClient

from cms.models import AnnouncementPage, HomePage, LinliFormPage
from cms.sections import community_section
from engine.models import Community, Definition, OrgUnit, Person, RoleAssignment, Submission, SubmissionFile
from tests.engine.workflow.test_deliberation import world as deliberation  # noqa: F401 (a fixture)
from tests.engine.workflow.test_resident_request import build

IMG = "<img src=x onerror=alert(1)>"
SCRIPT = '"><script>alert(1)</script>'
JS_URL = "javascript:alert(1)"
SHORT = "<svg onload=alert()>"  # for fields of at most 20 characters
PAYLOADS = [IMG, SCRIPT, JS_URL]
MARKUP = [IMG, SCRIPT, SHORT]
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "poster", "background", "srcset",
                  "cite", "longdesc", "manifest", "ping", "lowsrc", "dynsrc", "content"}
MINI = Path(__file__).resolve().parents[1] / "fixtures" / "definitions" / "valid" / "mini"

pytestmark = pytest.mark.usefixtures("private_media")


class _Parsed(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.urls, self.handlers, self.scripts, self.tags, self._in_script = [], [], [], [], False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            value = value or ""
            if name in URL_ATTRIBUTES:
                self.urls.append((tag, name, value))
            if name.startswith("on"):
                self.handlers.append((tag, name, value))
        if tag == "script":
            kind = dict(attrs).get("type", "text/javascript") or "text/javascript"
            self._in_script = "json" not in kind
            if dict(attrs).get("src", "").lower().lstrip().startswith("javascript"):
                self.scripts.append(dict(attrs)["src"])

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)


def _squeezed(value):
    """What a browser makes of a URL: entities decoded, whitespace and control characters dropped."""
    return "".join(ch for ch in unescape(value) if ch > " ").lower()


def assert_inert(html, where, shown=()):
    """Nothing injected can run; each value in `shown` appears, escaped."""
    for payload in MARKUP:
        assert payload not in html, f"{where}: raw {payload!r} in the page"
    page = _Parsed()
    page.feed(html)
    for tag, name, value in page.urls:
        assert not _squeezed(value).startswith(("javascript:", "vbscript:", "data:text/html")), \
            f"{where}: <{tag} {name}={value!r}>"
        if name == "srcset" or (tag == "meta" and "url=" in value.lower()):
            assert "javascript:" not in _squeezed(value), f"{where}: <{tag} {name}={value!r}>"
    for tag, name, value in page.handlers:
        assert "alert(" not in value, f"{where}: <{tag} {name}={value!r}> runs injected code"
    for script in page.scripts:
        assert "alert(" not in script, f"{where}: a script runs injected code: {script[:200]!r}"
    for value in shown:
        assert escape(value) in html, f"{where}: {value!r} is not shown (escaped as {escape(value)!r})"


def body(response):
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def get_html(client, url):
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return body(response).decode()


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def fitted(payload, max_length):
    return payload if len(payload) <= max_length else SHORT


# ---------------------------------------------------------------- what residents type


@pytest.fixture
def request_world(db):
    community, people, handler, submission = build()
    grid = OrgUnit.objects.filter(community=community, level="grid").order_by("path").first()
    form = Definition.objects.get(community=community, kind="form", key="resident-request")
    page = HomePage.objects.get().add_child(
        instance=LinliFormPage(title="民情直通车", slug="xss-resident-request", form=form))
    return {"community": community, "people": people, "grid": grid, "page": page, "form": form}


def resident_request(grid, payload):
    """Every free-text field of minyue's resident request carries the payload (or, where the
    field is too short for it, another one)."""
    return {"category": "neighbour_dispute", "subject": payload, "details": payload, "urgency": "normal",
            "other_party": payload, "address": {"unit": grid.key, "room": fitted(payload, 20)},
            "contact_name": fitted(payload, 20), "contact_preference": "visit", "photos": []}


@pytest.mark.parametrize("payload", PAYLOADS, ids=["img", "script", "javascript"])
def test_what_a_resident_types_is_text_on_every_page_that_shows_it(request_world, admin_user, payload):
    people, page = request_world["people"], request_world["page"]
    created = api(people["resident"]).post("/api/v1/forms/minyue/resident-request/submissions/",
                                           resident_request(request_world["grid"], payload), format="json")
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    assert Submission.objects.get(pk=pk).data["subject"] == payload  # stored as typed
    # a comment in the item's history, typed by the resident
    assert api(people["resident"]).post(f"/api/v1/submissions/{pk}/comments/", {"comment": payload},
                                        format="json").status_code == 201
    resident, leader = signed_in(people["resident"]), signed_in(people["leader"])
    assert_inert(get_html(resident, f"/items/{pk}/"), "the item page (resident)", shown=[payload])
    assert_inert(get_html(leader, f"/items/{pk}/"), "the item page (grid leader)", shown=[payload])
    assert_inert(get_html(resident, "/my/"), "/my/")
    inbox = get_html(leader, "/inbox/")
    assert created.json()["reference"] in inbox
    assert_inert(inbox, "/inbox/")
    listing = get_html(signed_in(admin_user), f"/admin/forms/submissions/{page.pk}/")
    assert_inert(listing, "Wagtail's submissions listing", shown=[payload])


@pytest.mark.parametrize("payload", PAYLOADS, ids=["img", "script", "javascript"])
def test_the_form_page_shows_typed_values_back_as_text(request_world, payload):
    """The wizard shows what was typed again after a mistake, and on the confirmation step."""
    page, resident = request_world["page"], signed_in(request_world["people"]["resident"])
    version = request_world["form"].live_version.pk
    prefix = f"linli_form_{page.pk}_v{version}"
    url = page.url
    assert_inert(get_html(resident, url), "the form page")
    # a mistake (no urgency): the page comes back with what was typed in it
    need = {f"{prefix}-current_step": "need", "need-category": "neighbour_dispute", "need-subject": payload,
            "need-details": payload, "need-other_party": payload}
    again = resident.post(url, need)
    assert again.status_code == 200
    assert_inert(again.content.decode(), "the form page after a mistake", shown=[payload])
    assert resident.post(url, {**need, "need-urgency": "normal"}).status_code == 200
    place = {f"{prefix}-current_step": "place", "place-address__unit": request_world["grid"].key,
             "place-address__room": fitted(payload, 20), "place-contact_name": fitted(payload, 20),
             "place-contact_preference": "visit"}
    confirm = resident.post(url, place)
    assert confirm.status_code == 200
    assert_inert(confirm.content.decode(), "the form's confirmation step")


def test_the_public_announcement_drafted_by_a_flow_shows_every_payload_as_text(
        deliberation, django_capture_on_commit_callbacks, django_user_model):  # noqa: F811
    from engine.workflow import adapter
    from engine.models import FlowInstance

    submission = deliberation["submission"]
    submission.data.update({"subject": f"{IMG}{SCRIPT}", "content": f"{JS_URL} {SCRIPT} {IMG}"})
    submission.save(update_fields=["data"])
    instance = FlowInstance.objects.get(submission=submission)
    with django_capture_on_commit_callbacks(execute=True):
        adapter.take(instance_id=instance.pk, name="accept", user=deliberation["users"]["branch"])
        adapter.take(instance_id=instance.pk, name="committee_reject", user=deliberation["users"]["branch"],
                     comment=f"{IMG} {JS_URL}")
    page = AnnouncementPage.objects.get(source=instance)
    root = django_user_model.objects.create_superuser("xss-root", password="x" * 12)
    page.current_workflow_state.current_task_state.approve(user=root)
    page.refresh_from_db()
    assert page.live
    anonymous = Client()
    assert_inert(get_html(anonymous, page.url), "the announcement", shown=[IMG, SCRIPT, JS_URL])
    assert_inert(get_html(anonymous, page.get_parent().url), "the list of announcements", shown=[IMG])
    assert_inert(get_html(anonymous, page.get_parent().get_parent().url), "the community's home page")
    staff = signed_in(deliberation["users"]["branch"])
    assert_inert(get_html(staff, f"/items/{submission.pk}/"), "the item page", shown=[IMG, JS_URL])
    assert_inert(get_html(signed_in(root), f"/admin/pages/{page.pk}/edit/"), "the page editor")


def test_an_uploaded_files_name_is_never_markup(request_world, admin_user):
    people, page = request_world["people"], request_world["page"]
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(buffer, "PNG")
    tokens = []
    for payload in PAYLOADS:
        response = api(people["resident"]).post(
            "/api/v1/forms/minyue/resident-request/files/",
            {"file": SimpleUploadedFile(f"{payload}.png", buffer.getvalue(), "image/png"), "field": "/photos"},
            format="multipart")
        assert response.status_code == 201, response.content
        tokens.append(response.json()["token"])
    data = {**resident_request(request_world["grid"], "3号楼楼道灯坏了很多天没人修"), "photos": tokens}
    created = api(people["resident"]).post("/api/v1/forms/minyue/resident-request/submissions/", data, format="json")
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    assert {f.original_name for f in SubmissionFile.objects.filter(submission_id=pk)} >= {f"{IMG}.png"}
    for client, where in [(signed_in(people["resident"]), "resident"), (signed_in(people["leader"]), "leader")]:
        html = get_html(client, f"/items/{pk}/")
        assert_inert(html, f"the item page ({where})")
        assert JS_URL not in html
        for token in tokens:
            response = client.get(f"/files/{token}/")
            assert response.status_code == 200
            for header in ("Content-Disposition", "Content-Type"):
                assert all(p not in response[header] for p in PAYLOADS), response[header]
    listing = get_html(signed_in(admin_user), f"/admin/forms/submissions/{page.pk}/")
    assert_inert(listing, "Wagtail's submissions listing")
    assert JS_URL not in listing


# ---------------------------------------------------------------- what a community writes in YAML


@pytest.fixture
def hostile_titles(db, tmp_path, settings, monkeypatch):
    """The mini community with payloads in its name, a unit's name, the flow's, states' and
    transitions' titles, the form's title and its fields' titles, loaded by load_definitions."""
    root = tmp_path / "defs"
    shutil.copytree(MINI, root)
    community = root / "workflows_yaml" / "mini" / "community.yaml"
    text = community.read_text(encoding="utf-8")
    text = text.replace("name: 小小社区\nlevels", f"name: '{IMG}'\nlevels")
    text = text.replace("{id: grid1, name: 一网格, level: grid}", f"{{id: grid1, name: '{SCRIPT}', level: grid}}")
    community.write_text(text, encoding="utf-8")
    flow = root / "workflows_yaml" / "mini" / "request.flow.yaml"
    text = flow.read_text(encoding="utf-8")
    text = text.replace("title: 诉求", f"title: '{SCRIPT}'")
    text = text.replace("open: {title: 待处理", f"open: {{title: '{IMG}'")
    text = text.replace("  - name: resolve\n", f"  - name: resolve\n    title: '{JS_URL}'\n")
    flow.write_text(text, encoding="utf-8")
    form = root / "forms_schemas" / "mini" / "request.schema.json"
    schema = json.loads(form.read_text(encoding="utf-8"))
    schema["title"] = IMG
    schema["properties"]["topic"]["title"] = SCRIPT
    schema["properties"]["urgency"]["title"] = JS_URL
    form.write_text(json.dumps(schema, ensure_ascii=False), encoding="utf-8")
    monkeypatch.chdir(root)
    settings.LINLI_FORMS_DIR, settings.LINLI_WORKFLOWS_DIR = root / "forms_schemas", root / "workflows_yaml"
    out = io.StringIO()
    call_command("load_definitions", stdout=out, stderr=io.StringIO())
    assert "published mini/request (flow) v1" in out.getvalue()
    return Community.objects.get(slug="mini")


def test_titles_from_yaml_and_a_page_title_are_text_everywhere(hostile_titles, django_user_model, admin_user):
    community = hostile_titles
    assert community.name == IMG
    grid = OrgUnit.objects.get(community=community, key="grid1")
    users = {}
    for key, role in [("mini-resident", "resident"), ("mini-leader", "grid_leader")]:
        users[key] = django_user_model.objects.create_user(key, password="x" * 12)
        person = Person.objects.create(community=community, user=users[key], name=key, unit=grid)
        RoleAssignment.objects.create(community=community, person=person, role=role, unit=grid)
    created = api(users["mini-resident"]).post("/api/v1/forms/mini/request/submissions/",
                                               {"topic": "路灯不亮", "urgency": "一般", "phone": "13812345678",
                                                "unit": "grid1"}, format="json")
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    form = Definition.objects.get(community=community, kind="form", key="request")
    section = community_section(community)
    page = section["home"].add_child(instance=LinliFormPage(title=f"{SCRIPT}{IMG}", slug="mini-request", form=form))
    resident, leader = signed_in(users["mini-resident"]), signed_in(users["mini-leader"])

    assert_inert(get_html(leader, f"/items/{pk}/"), "the item page", shown=[SCRIPT, IMG, JS_URL])
    assert_inert(get_html(leader, "/inbox/"), "/inbox/", shown=[IMG, SCRIPT])
    assert_inert(get_html(resident, "/my/"), "/my/", shown=[IMG])
    assert_inert(get_html(resident, page.url), "the form page", shown=[f"{SCRIPT}{IMG}", SCRIPT])
    anonymous = Client()
    assert_inert(get_html(anonymous, "/"), "the site's home page", shown=[IMG])
    for name, section_page in section.items():
        assert_inert(get_html(anonymous, section_page.url), f"the community's {name} page")
    admin = signed_in(admin_user)
    assert_inert(get_html(admin, f"/admin/forms/submissions/{page.pk}/"), "Wagtail's submissions listing",
                 shown=[SCRIPT, f"{SCRIPT}{IMG}"])
    assert_inert(get_html(admin, "/admin/forms/"), "Wagtail's list of forms", shown=[f"{SCRIPT}{IMG}"])
    assert_inert(get_html(admin, f"/admin/pages/{page.pk}/edit/"), "the page editor")


# ---------------------------------------------------------------- spreadsheets

FORMULAS = ['=HYPERLINK("http://evil.example","点我")', "+1+1 楼道灯坏了", "@SUM(1+1) 楼道灯", "-1+1 楼道灯坏了",
            "=1+1", "+1", "-1", "@SUM(A1)", "\t=1+1 楼道灯坏了", "\r=1+1 楼道灯坏了"]


def _formula_request(grid, value):
    longer = value if len(value) >= 10 else value + " 楼道灯坏了一个星期"
    return {"category": "neighbour_dispute", "subject": longer[:40],
            "details": longer, "urgency": "normal", "other_party": value[:60],
            "address": {"unit": grid.key, "room": value[:20]}, "contact_name": value[:20],
            "contact_preference": "visit"}


def _looks_like_formula(cell):
    return isinstance(cell, str) and cell[:1] in ("=", "+", "-", "@", "\t", "\r")


def test_both_exports_neutralise_formulas_in_every_field(request_world, admin_user):
    people, page, grid = request_world["people"], request_world["page"], request_world["grid"]
    Submission.objects.all().delete()
    for value in FORMULAS:
        response = api(people["resident"]).post("/api/v1/forms/minyue/resident-request/submissions/",
                                                 _formula_request(grid, value), format="json")
        assert response.status_code == 201, (value, response.content)
    admin = signed_in(admin_user)

    csv_response = admin.get(f"/admin/forms/submissions/{page.pk}/?export=csv")
    assert csv_response.status_code == 200
    rows = list(csv.reader(io.StringIO(body(csv_response).decode("utf-8-sig"))))
    assert len(rows) == 1 + len(FORMULAS)
    cells = [cell for row in rows[1:] for cell in row]
    assert not [c for c in cells if _looks_like_formula(c)], "CSV cells a spreadsheet would run as formulas"
    for value in FORMULAS:
        assert any(cell == "'" + value[:20] for cell in cells), f"{value!r} is not in the CSV as text"

    import openpyxl
    xlsx_response = admin.get(f"/admin/forms/submissions/{page.pk}/?export=xlsx")
    assert xlsx_response.status_code == 200
    raw = body(xlsx_response)
    import zipfile

    with zipfile.ZipFile(io.BytesIO(raw)) as package:
        sheets = [n for n in package.namelist() if n.startswith("xl/worksheets/")]
        assert sheets and not any(b"<f>" in package.read(n) or b"<f " in package.read(n) for n in sheets), \
            "the workbook holds formula cells"
    sheet = openpyxl.load_workbook(io.BytesIO(raw)).active
    rows = list(sheet.iter_rows())
    assert len(rows) == 1 + len(FORMULAS)
    formula_cells = [(c.coordinate, c.value) for row in rows for c in row if c.data_type == "f"]
    assert formula_cells == []
    values = [c.value for row in rows[1:] for c in row]
    for value in FORMULAS:
        # (openpyxl does not keep a leading tab or carriage return: compare what is left)
        assert any(isinstance(v, str) and v.lstrip("'").strip() == value[:20].strip() for v in values), value
