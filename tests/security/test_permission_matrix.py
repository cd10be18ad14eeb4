"""The permission matrix at the edges people reach: every item endpoint of the API, the item and
file pages, and Wagtail's submissions listing, export and bulk delete for a Linli form page.

What is not yours answers exactly like what does not exist (same status, same body), a role
taken away is gone on the very next request, a bulk action that reaches outside the caller's
scope is refused whole, and refusals leave a trace someone can audit.

The single-endpoint cases already covered elsewhere (the API's submission detail for a
neighbour, /files/ for a neighbour, the policy matrix itself) are not repeated here.
"""

import datetime
import io
import logging
import re

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from wagtail.models import GroupPagePermission, Page

from cms.models import HomePage, LinliFormPage
from engine.models import AuditEvent, Definition, OrgUnit, Person, RoleAssignment, Submission
from engine.services.submissions import submit
from tests.engine.workflow.test_resident_request import build

pytestmark = pytest.mark.usefixtures("private_media")


def _data(unit, subject="楼道灯坏了"):
    return {"category": "facilities", "subject": subject, "details": "3号楼2单元楼道灯坏了一个星期",
            "urgency": "normal", "address": {"unit": unit}, "contact_name": "张明", "contact_preference": "visit"}


def _png():
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def world(db, django_user_model):
    """resident-request in minyue: the resident's item (with a photo) in the first grid, another
    item in the second grid, a neighbour in the same grid, grid leaders of both grids."""
    community, people, handler, submission = build()
    grid, other_grid = OrgUnit.objects.filter(community=community, level="grid").order_by("path")[:2]
    neighbour = django_user_model.objects.create_user("neighbour", password="x" * 12)
    neighbour_person = Person.objects.create(community=community, user=neighbour, name="neighbour", unit=grid)
    RoleAssignment.objects.create(community=community, person=neighbour_person, role="resident", unit=grid)
    people["neighbour"] = neighbour
    far = django_user_model.objects.create_user("far", password="x" * 12)
    Person.objects.create(community=community, user=far, name="far", unit=other_grid)
    people["far"] = far
    form = Definition.objects.get(community=community, kind="form", key="resident-request")
    client = APIClient()
    client.force_authenticate(people["resident"])
    upload = client.post("/api/v1/forms/minyue/resident-request/files/",
                         {"file": SimpleUploadedFile("a.png", _png(), "image/png"), "field": "/photos"},
                         format="multipart")
    assert upload.status_code == 201, upload.content
    token = upload.json()["token"]
    attached = submit(form=form, data={**_data(grid.key, "照片里的坑"), "photos": [token]},
                      user=people["resident"]).submission
    elsewhere = submit(form=form, data=_data(other_grid.key, "二网格的诉求"), user=far).submission
    return {"community": community, "people": people, "handler": handler, "item": submission,
            "attached": attached, "token": token, "elsewhere": elsewhere, "form": form,
            "neighbour_person": neighbour_person, "grid": grid, "other_grid": other_grid}


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def page_client(user):
    client = Client()
    client.force_login(user)
    return client


def missing_id():
    return (Submission.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1000


def same_as_missing(theirs, missing, pk, absent):
    """Same status and the same body once the number asked for is set aside."""
    assert theirs.status_code == missing.status_code == 404, (theirs.status_code, missing.status_code,
                                                                theirs.content[:300])
    body = theirs.content.decode().replace(f"/{pk}/", "/#/")
    assert body == missing.content.decode().replace(f"/{absent}/", "/#/")


# ---------------------------------------------------------------- every item endpoint

ITEM_API = [
    ("transitions", {"transition": "withdraw", "comment": "", "data": {}}),
    ("transitions", {"transition": "analyse", "data": {"analysis": "属实", "handling_level": "社区办理"}}),
    ("comments", {"comment": "请尽快处理"}),
    ("assignee", {"person": "NEIGHBOUR", "comment": ""}),
    ("ballots", {"option": "yes"}),
    ("ballots", {"option": "yes", "voter": "NEIGHBOUR", "paper": True}),
]


@pytest.mark.parametrize("who", ["neighbour", "other_leader"])
@pytest.mark.parametrize("endpoint, body", ITEM_API, ids=[f"{e}-{n}" for n, (e, _) in enumerate(ITEM_API)])
def test_every_item_endpoint_answers_anothers_item_like_a_missing_one(world, who, endpoint, body):
    body = {k: (world["neighbour_person"].pk if v == "NEIGHBOUR" else v) for k, v in body.items()}
    client, pk, absent = api(world["people"][who]), world["item"].pk, missing_id()
    theirs = client.post(f"/api/v1/submissions/{pk}/{endpoint}/", body, format="json")
    missing = client.post(f"/api/v1/submissions/{absent}/{endpoint}/", body, format="json")
    same_as_missing(theirs, missing, pk, absent)
    assert theirs.json() == missing.json()
    # and nothing happened to the item
    item = Submission.objects.get(pk=pk)
    assert item.flow.state == "collected" and item.flow.version == 1
    assert not AuditEvent.objects.filter(instance=item.flow).exists()


@pytest.mark.parametrize("who", ["neighbour", "other_leader"])
def test_the_item_page_answers_anothers_item_like_a_missing_one(world, who):
    client, pk, absent = page_client(world["people"][who]), world["item"].pk, missing_id()
    same_as_missing(client.get(f"/items/{pk}/"), client.get(f"/items/{absent}/"), pk, absent)
    step = {"transition": "withdraw", "version": "1", "comment": "x"}
    same_as_missing(client.post(f"/items/{pk}/", step), client.post(f"/items/{absent}/", step), pk, absent)
    vote = {"ballot": "yes"}
    same_as_missing(client.post(f"/items/{pk}/", vote), client.post(f"/items/{absent}/", vote), pk, absent)
    assert Submission.objects.get(pk=pk).flow.state == "collected"


def test_an_attached_file_is_missing_for_a_reviewer_of_another_grid(world):
    client = page_client(world["people"]["other_leader"])
    theirs = client.get(f"/files/{world['token']}/")
    missing = client.get(f"/files/{'f' * 32}/")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.content == missing.content
    assert page_client(world["people"]["leader"]).get(f"/files/{world['token']}/").status_code == 200


# ---------------------------------------------------------------- Wagtail's listing, export and bulk delete


@pytest.fixture
def form_page(world):
    home = HomePage.objects.get()
    return home.add_child(instance=LinliFormPage(title="民情直通车", slug="sec-resident-request", form=world["form"]))


def make_editor(user):
    """Let a user into the admin with the right to edit every page (so Wagtail lists form pages)."""
    editors, created = Group.objects.get_or_create(name="security-editors")
    if created:
        editors.permissions.add(Permission.objects.get(codename="access_admin"))
        GroupPagePermission.objects.create(group=editors, page=Page.objects.get(depth=1), permission_type="change")
    user.groups.add(editors)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return user


def export(client, page, fmt):
    response = client.get(f"/admin/forms/submissions/{page.pk}/?export={fmt}")
    assert response.status_code == 200, response.status_code
    return b"".join(response.streaming_content) if response.streaming else response.content


def xlsx_rows(raw):
    import openpyxl
    sheet = openpyxl.load_workbook(io.BytesIO(raw)).active
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


def listing(client, page):
    response = client.get(f"/admin/forms/submissions/{page.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def test_the_listing_and_both_exports_show_an_out_of_scope_item_exactly_as_if_it_did_not_exist(world, form_page):
    """The leader of the first grid: their grid's items are listed and exported; an item of the
    second grid changes nothing in what they get, byte for byte in the CSV, cell for cell in
    the workbook."""
    leader = page_client(make_editor(world["people"]["leader"]))
    html = listing(leader, form_page)
    assert world["item"].reference in html and "二网格的诉求" not in html
    assert world["elsewhere"].reference not in html
    csv_with, xlsx_with = export(leader, form_page, "csv"), xlsx_rows(export(leader, form_page, "xlsx"))
    assert "楼道灯坏了" in csv_with.decode("utf-8-sig") and "二网格的诉求" not in csv_with.decode("utf-8-sig")
    Submission.objects.filter(pk=world["elsewhere"].pk).delete()
    assert export(leader, form_page, "csv") == csv_with
    assert xlsx_rows(export(leader, form_page, "xlsx")) == xlsx_with


def test_an_editor_with_no_role_exports_nothing_of_the_communitys_items(world, form_page, django_user_model):
    editor = page_client(make_editor(django_user_model.objects.create_user("editor", password="x" * 12)))
    csv_text = export(editor, form_page, "csv").decode("utf-8-sig")
    assert len([line for line in csv_text.splitlines() if line.strip()]) == 1  # the heading only
    assert len(xlsx_rows(export(editor, form_page, "xlsx"))) == 1
    assert world["item"].reference not in listing(editor, form_page)


def test_a_bulk_delete_that_mixes_in_scope_and_out_of_scope_items_is_refused_whole(world, form_page):
    """Wagtail's "Delete selected submissions" takes ids from the query string. The leader of
    the first grid may see their item, not the second grid's: asking for both deletes neither."""
    leader = page_client(make_editor(world["people"]["leader"]))
    mine, theirs = world["item"].pk, world["elsewhere"].pk
    url = f"/admin/forms/submissions/{form_page.pk}/delete/?selected-submissions={mine}&selected-submissions={theirs}"
    response = leader.post(url)
    assert response.status_code in (400, 403, 404), response.status_code
    assert Submission.objects.filter(pk__in=[mine, theirs]).count() == 2


def _without_ids_and_csrf(response, *ids):
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", response.content.decode())
    html = re.sub(r'"CSRF_TOKEN": "[^"]*"', "", html)
    for pk in ids:
        html = html.replace(f"selected-submissions={pk}", "selected-submissions=#")
    return response.status_code, html


def test_a_bulk_delete_of_an_out_of_scope_item_is_like_one_of_a_missing_item(world, form_page):
    leader = page_client(make_editor(world["people"]["leader"]))
    theirs, absent = world["elsewhere"].pk, missing_id()
    base = f"/admin/forms/submissions/{form_page.pk}/delete/?selected-submissions="
    confirm_theirs = _without_ids_and_csrf(leader.get(base + str(theirs)), theirs)
    confirm_missing = _without_ids_and_csrf(leader.get(base + str(absent)), absent)
    leader.post(base + str(theirs))
    assert Submission.objects.filter(pk=theirs).exists()
    # the confirmation must not count it either ("this submission" vs "these submissions")
    assert confirm_theirs == confirm_missing


# ---------------------------------------------------------------- a revoked reviewer


def revoke_by_deleting(leader):
    RoleAssignment.objects.filter(person__user=leader).delete()


def revoke_by_ending(leader):
    RoleAssignment.objects.filter(person__user=leader).update(until=datetime.date.today() - datetime.timedelta(days=1))


@pytest.mark.parametrize("revoke", [revoke_by_deleting, revoke_by_ending], ids=["deleted", "ended"])
def test_a_revoked_reviewers_next_request_is_refused_everywhere(world, form_page, revoke):
    leader = make_editor(world["people"]["leader"])
    key = Token.objects.create(user=leader).key  # the API with a token, as an app would call it
    by_token = APIClient()
    by_token.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    pages = page_client(leader)  # a session that stays signed in across the revocation
    pk, reference = world["item"].pk, world["item"].reference
    # before: the leader reviews the item everywhere
    assert by_token.get(f"/api/v1/submissions/{pk}/").status_code == 200
    assert pk in [t["id"] for t in by_token.get("/api/v1/tasks/").json()]
    assert pages.get(f"/items/{pk}/").status_code == 200
    assert reference in pages.get("/inbox/").content.decode()
    assert pages.get(f"/files/{world['token']}/").status_code == 200
    assert reference in listing(pages, form_page)

    revoke(leader)

    absent = missing_id()
    same_as_missing(by_token.get(f"/api/v1/submissions/{pk}/"), by_token.get(f"/api/v1/submissions/{absent}/"),
                    pk, absent)
    step = {"transition": "analyse", "data": {"analysis": "属实", "handling_level": "社区办理"}}
    theirs = by_token.post(f"/api/v1/submissions/{pk}/transitions/", step, format="json")
    missing = by_token.post(f"/api/v1/submissions/{absent}/transitions/", step, format="json")
    same_as_missing(theirs, missing, pk, absent)
    assert by_token.get("/api/v1/tasks/").json() == []
    same_as_missing(pages.get(f"/items/{pk}/"), pages.get(f"/items/{absent}/"), pk, absent)
    assert reference not in pages.get("/inbox/").content.decode()
    theirs, missing = pages.get(f"/files/{world['token']}/"), pages.get(f"/files/{'f' * 32}/")
    assert theirs.status_code == missing.status_code == 404 and theirs.content == missing.content
    assert reference not in listing(pages, form_page)
    assert reference not in export(pages, form_page, "csv").decode("utf-8-sig")
    assert Submission.objects.get(pk=pk).flow.state == "collected"


# ---------------------------------------------------------------- refusals leave a trace


def test_a_refused_attempt_on_someone_elses_item_is_audited(world, caplog):
    """Nothing in engine/ or cms/ records a refusal today: the only line is Django's generic
    "Not Found: /path" (logger django.request), which names neither the person nor the item and
    reads the same for a typo. An audit needs who tried what: an AuditEvent by the person, or a
    log record from Linli's own code naming the user and the item."""
    neighbour, item = world["people"]["neighbour"], world["item"]
    events_before = AuditEvent.objects.count()
    with caplog.at_level(logging.DEBUG):
        api(neighbour).get(f"/api/v1/submissions/{item.pk}/")
        api(neighbour).post(f"/api/v1/submissions/{item.pk}/transitions/", {"transition": "withdraw"}, format="json")
        page_client(neighbour).get(f"/items/{item.pk}/")
        page_client(neighbour).get(f"/files/{world['token']}/")
    ours = [r for r in caplog.records
            if r.name.split(".")[0] in ("engine", "cms", "linli", "config") and r.levelno >= logging.INFO]
    named = [r for r in ours if str(item.pk) in r.getMessage() or world["token"] in r.getMessage()]
    named = [r for r in named if neighbour.username in r.getMessage() or f"{neighbour.pk}" in r.getMessage()]
    audited = AuditEvent.objects.filter(actor=neighbour).count() > 0 and AuditEvent.objects.count() > events_before
    assert audited or len(named) >= 4, (
        "refused attempts are not audited: "
        f"{[(r.name, r.getMessage()) for r in caplog.records if r.levelno >= logging.INFO]}")
