"""The definition editor in the "Linli" admin area, per role, through the HTTP client: the editor
page, checking as one types, saving and discarding drafts, publishing, new forms and flows, and
putting a form on the community's site."""

import pytest

from cms.models import LinliFormPage
from engine.models import Definition, DefinitionDraft, DefinitionVersion
from tests.cms.test_admin_area import ROLES, client_for, in_english, make_people

FLOW = "/admin/linli/minyue/flow/resident-request/"
EDIT = FLOW + "edit/"
MANAGERS = ("superuser", "minyue_admin")


@pytest.fixture
def users(db):
    return in_english(make_people())


def flow():
    return Definition.objects.get(community__slug="minyue", kind="flow", key="resident-request")


def flow_text():
    return flow().live_version.source


def renamed(title):
    return flow_text().replace("title: 民情直通车", f"title: {title}", 1)


def save(client, text, revision=0, url=EDIT):
    return client.post(url, {"source": text, "revision": revision})


def denied(response, who):
    """Not a manager of minyue: the login page for a resident, else exactly a missing page."""
    if who == "resident":
        return response.status_code == 302 and response["Location"].startswith("/admin/login/")
    return response.status_code == 404


# --- who may ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ROLES)
@pytest.mark.parametrize("page", ["edit/", "edit/publish/"])
def test_only_the_communitys_admins_open_the_editor(users, who, page):
    client = client_for(users[who])
    save(client_for(users["superuser"]), renamed("新"))  # so that there is a draft to review
    response = client.get(FLOW + page)
    if who in MANAGERS:
        assert response.status_code == 200
        return
    assert denied(response, who)
    if who != "resident":  # another community's definition answers like one that does not exist
        missing = client.get(f"/admin/linli/nowhere/flow/resident-request/{page}")
        assert missing.status_code == 404 and missing.content == response.content


@pytest.mark.parametrize("who", ROLES)
def test_only_the_communitys_admins_save_lint_discard_publish_or_start_new(users, who):
    client = client_for(users[who])
    responses = [
        save(client, renamed("新")),
        client.post(EDIT + "lint/", {"source": flow_text()}),
        client.post("/admin/linli/minyue/new/form/", {"key": "repair"}),
        client.post(EDIT + "discard/", {"revision": 1}),
        client.post(EDIT + "publish/", {"revision": 1, "note": ""}),
        client.post("/admin/linli/minyue/form/satisfaction/put-on-site/"),
    ]
    if who in MANAGERS:
        assert [r.status_code for r in responses] == [302, 200, 302, 302, 302, 302]
        return
    assert all(denied(r, who) for r in responses)
    assert not DefinitionDraft.objects.exists() and flow().versions.count() == 1
    assert not LinliFormPage.objects.exists()


# --- the editor ----------------------------------------------------------------------------------

def test_the_editor_shows_the_live_text_with_yaml_mode_and_no_problems(users):
    html = client_for(users["minyue_admin"]).get(EDIT).content.decode()
    assert 'data-mode="yaml"' in html and 'data-lint-url="/admin/linli/minyue/flow/resident-request/edit/lint/"' in html
    assert 'name="revision" value="0"' in html and "title: 民情直通车" in html
    assert "No problems found." in html
    assert "/static/linli/vendor/codemirror/codemirror.js" in html and "/static/linli/admin/editor.js" in html
    assert "<script>" not in html.split("</head>")[-1]  # no inline script: the admin's CSP allows 'self' only


def test_a_form_is_edited_as_json_with_the_form_builder(users, settings):
    html = client_for(users["minyue_admin"]).get("/admin/linli/minyue/form/satisfaction/edit/").content.decode()
    assert 'data-mode="json"' in html and "&quot;title&quot;: &quot;办理结果评议&quot;" in html


def test_linting_answers_problems_with_their_lines_as_json_and_writes_nothing(users):
    client = client_for(users["minyue_admin"])
    lines = flow_text().splitlines()
    at = next(i for i, line in enumerate(lines) if "to: feedback" in line)
    lines[at] = lines[at].replace("to: feedback", "to: feedbak")
    result = client.post(EDIT + "lint/", {"source": "\n".join(lines)}, HTTP_ACCEPT_LANGUAGE="en").json()
    assert result["ok"] is False and result["path"] == "workflows_yaml/minyue/resident-request.flow.yaml"
    [problem] = result["problems"]
    assert (problem["line"], problem["column"], problem["own"]) == (at + 1, 9, True)
    assert problem["message"] == "unknown state 'feedbak' — did you mean 'feedback'?"
    result = client.post(EDIT + "lint/", {"source": "flow: [\n"}).json()
    assert [(p["line"], p["own"]) for p in result["problems"]] == [(2, True)]
    assert client.post(EDIT + "lint/", {"source": flow_text()}).json() == {
        "ok": True, "path": "workflows_yaml/minyue/resident-request.flow.yaml", "problems": []}
    assert not DefinitionDraft.objects.exists() and flow().versions.count() == 1


def test_linting_takes_a_post_with_a_csrf_token(users):
    strict = client_for(users["minyue_admin"], enforce_csrf_checks=True)
    assert strict.post(EDIT + "lint/", {"source": flow_text()}).status_code == 403
    assert client_for(users["minyue_admin"]).get(EDIT + "lint/").status_code == 405


def test_saving_a_draft_shows_who_saved_it_and_the_problems_it_has(users):
    client = client_for(users["minyue_admin"])
    response = save(client, "flow: [\n")
    assert response.status_code == 302 and response["Location"] == EDIT
    draft = DefinitionDraft.objects.get()
    assert (draft.revision, draft.updated_by, draft.base_version) == (1, users["minyue_admin"], flow().live_version)
    html = client.get(EDIT).content.decode()
    assert 'name="revision" value="1"' in html and "minyue_admin" in html and "started from v1" in html
    assert "1 problem: it must be fixed before publishing." in html and 'data-line="2"' in html
    page = client.get(FLOW).content.decode()
    assert "Continue editing the draft" in page and "revision 1" in page and "by minyue_admin" in page
    assert flow().versions.count() == 1


def test_a_stale_save_is_refused_and_keeps_what_was_typed(users):
    first, second = client_for(users["minyue_admin"]), client_for(users["superuser"])
    save(first, renamed("甲"))
    response = save(second, renamed("乙"), revision=0)
    assert response.status_code == 409
    html = response.content.decode()
    assert "title: 乙" in html and "superuser" not in DefinitionDraft.objects.get().updated_by.username
    assert "minyue_admin" in html  # who changed it meanwhile
    assert DefinitionDraft.objects.get().source == renamed("甲")


def test_discarding_a_draft_leaves_the_live_version(users):
    client = client_for(users["minyue_admin"])
    save(client, renamed("新"))
    response = client.post(EDIT + "discard/", {"revision": 1})
    assert response.status_code == 302 and response["Location"] == FLOW
    assert not DefinitionDraft.objects.exists() and flow().live_version.number == 1


# --- publishing ----------------------------------------------------------------------------------

def test_the_publish_page_shows_the_diff_escaped_and_publishing_makes_v2_with_the_user(users):
    admin = users["minyue_admin"]
    client = client_for(admin)
    save(client, renamed("<script>alert('x')</script>"))
    html = client.get(EDIT + "publish/").content.decode()
    assert "<script>alert" not in html
    added = html[html.index('<tr class="added">'):]
    assert "title: &lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in added[:added.index("</tr>")]
    removed = html[html.index('<tr class="removed">'):]
    assert "title: 民情直通车" in removed[:removed.index("</tr>")]
    assert "Publish as v2" in html and "No open items are affected." in html
    response = client.post(EDIT + "publish/", {"revision": 1, "note": "新标题"})
    assert response.status_code == 302 and response["Location"] == FLOW
    version = flow().live_version
    assert (version.number, version.published_by, version.note) == (2, admin, "新标题")
    assert version.data["title"] == "<script>alert('x')</script>"
    assert not DefinitionDraft.objects.exists()
    page = client.get(FLOW).content.decode()
    assert "resident-request published as v2." in page and "<script>alert" not in page


def test_the_editor_escapes_a_hostile_title(users):
    client = client_for(users["minyue_admin"])
    save(client, renamed("</textarea><script>alert(1)</script>"))
    html = client.get(EDIT).content.decode()
    assert "</textarea><script>" not in html
    assert "title: &lt;/textarea&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_publishing_a_draft_with_problems_is_refused_and_writes_nothing(users):
    client = client_for(users["minyue_admin"])
    text = flow_text().replace("form: resident-request", "form: no-such-form", 1)
    save(client, text)
    review = client.get(EDIT + "publish/").content.decode()
    assert "no-such-form" in review and "Publish as v2" not in review
    response = client.post(EDIT + "publish/", {"revision": 1, "note": ""})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Not published: the draft has problems. Nothing was changed." in html and "no-such-form" in html
    assert flow().versions.count() == 1 and DefinitionDraft.objects.get().source == text


def test_publishing_a_stale_revision_is_refused(users):
    client = client_for(users["minyue_admin"])
    save(client, renamed("甲"))
    save(client, renamed("乙"), revision=1)
    response = client.post(EDIT + "publish/", {"revision": 1, "note": ""}, follow=True)
    assert "revision 2" in response.content.decode()
    assert flow().versions.count() == 1


# --- new forms and flows, on the site ------------------------------------------------------------

def test_the_index_offers_new_forms_and_flows_and_the_flow_page_its_editor(users):
    client = client_for(users["minyue_admin"])
    html = client.get("/admin/linli/").content.decode()
    assert 'href="/admin/linli/minyue/new/form/"' in html and 'href="/admin/linli/minyue/new/flow/"' in html
    page = client.get(FLOW).content.decode()
    assert f'href="{EDIT}"' in page


def test_a_bad_or_taken_key_is_refused_on_the_form(users):
    client = client_for(users["minyue_admin"])
    response = client.post("/admin/linli/minyue/new/form/", {"key": "Bad Key"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and "cannot be used as a key" in response.content.decode()
    response = client.post("/admin/linli/minyue/new/form/", {"key": "satisfaction"})
    assert response.status_code == 400 and "This community already has a form with the key &#x27;satisfaction&#x27;." in response.content.decode()
    assert not DefinitionDraft.objects.exists()


def test_a_new_form_is_drafted_published_and_put_on_the_site(users):
    admin = users["minyue_admin"]
    client = client_for(admin)
    response = client.post("/admin/linli/minyue/new/form/", {"key": "repair"})
    edit = "/admin/linli/minyue/form/repair/edit/"
    assert response.status_code == 302 and response["Location"] == edit
    html = client.get(edit).content.decode()
    assert "not published yet" in html and "No problems found." in html
    assert client.get("/admin/linli/minyue/form/repair/").status_code == 404  # nothing published yet
    index = client.get("/admin/linli/").content.decode()
    assert f'href="{edit}">repair</a>' in index and "by minyue_admin" in index  # found again from the index
    response = client.post(edit + "publish/", {"revision": 1, "note": "new"})
    assert response.status_code == 302 and response["Location"] == "/admin/linli/minyue/form/repair/"
    form = Definition.objects.get(community__slug="minyue", kind="form", key="repair")
    assert (form.live_version.number, form.live_version.published_by) == (1, admin)
    page = client.get(response["Location"]).content.decode()
    assert "/admin/linli/minyue/form/repair/put-on-site/" in page
    response = client.post("/admin/linli/minyue/form/repair/put-on-site/")
    assert response.status_code == 302
    page = LinliFormPage.objects.get(form=form)
    assert page.live and page.get_parent().specific.community == form.community
    assert client.post("/admin/linli/minyue/form/repair/put-on-site/").status_code == 302
    assert LinliFormPage.objects.filter(form=form).count() == 1  # a second click adds no page
    public = client_for(users["resident"]).get(page.url)
    assert public.status_code == 200


def test_a_new_flow_names_its_form_and_offers_the_simulator_only_if_there_is_one(users):
    client = client_for(users["minyue_admin"])
    response = client.post("/admin/linli/minyue/new/flow/", {"key": "repair-flow", "form": "satisfaction"})
    assert response.status_code == 302
    draft = DefinitionDraft.objects.get(key="repair-flow")
    assert "form: satisfaction" in draft.source and draft.updated_by == users["minyue_admin"]
    html = client.get("/admin/linli/minyue/flow/repair-flow/edit/").content.decode()
    assert response.status_code == 302 and "not published yet" in html


def test_another_communitys_drafts_and_forms_are_missing(users):
    client = client_for(users["zanan_admin"])
    client_for(users["minyue_admin"]).post("/admin/linli/minyue/new/form/", {"key": "repair"})
    assert client.get("/admin/linli/minyue/form/repair/edit/").status_code == 404
    assert client.get("/admin/linli/minyue/new/form/").status_code == 404
    assert DefinitionVersion.objects.filter(definition__key="repair").count() == 0


def test_a_flow_that_exists_only_as_a_draft_can_be_simulated_by_its_admins_only(users):
    client = client_for(users["minyue_admin"])
    client.post("/admin/linli/minyue/new/flow/", {"key": "repair-flow", "form": "satisfaction"})
    html = client.get("/admin/linli/minyue/flow/repair-flow/edit/").content.decode()
    assert 'formaction="/admin/linli/minyue/flow/repair-flow/simulate/"' in html
    before = (DefinitionVersion.objects.count(), DefinitionDraft.objects.get(key="repair-flow").revision)
    simulated = client.get("/admin/linli/minyue/flow/repair-flow/simulate/")
    assert simulated.status_code == 200 and "<code>received</code>" in simulated.content.decode()
    posted = client.post("/admin/linli/minyue/flow/repair-flow/simulate/",
                         {"source": DefinitionDraft.objects.get(key="repair-flow").source})
    assert posted.status_code == 200
    assert (DefinitionVersion.objects.count(), DefinitionDraft.objects.get(key="repair-flow").revision) == before
    assert client_for(users["zanan_admin"]).get("/admin/linli/minyue/flow/repair-flow/simulate/").status_code == 404
    assert client.get("/admin/linli/minyue/flow/no-such-draft/simulate/").status_code == 404
