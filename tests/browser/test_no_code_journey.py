"""The no-code journey of issue #7 in Chromium, with no file touched: a community admin builds a
new form in the builder (three fields, one of them asked only on a condition), writes the flow
that handles it in the code editor, sees a mistake marked on its line and fixes it, runs the
simulator, publishes both and puts the form on the community's site; a resident fills the form;
the item appears in the reviewer's inbox."""

import json

import pytest
from playwright.sync_api import expect

from engine.models import Definition, FlowInstance, Submission

from .conftest import log_in, screenshot

pytestmark = pytest.mark.browser

ADMIN = "minyue-secretary"
DESKTOP = {"viewport": {"width": 1280, "height": 900}, "is_mobile": False, "has_touch": False, "device_scale_factor": 1}
FLOW = """flow: streetlight-repair
title: 路灯报修
form: streetlight
start: received
states:
  received:
    title: 已收到
  fixed:
    title: 已修好
    final: true
transitions:
  - name: fix
    title: 修好了
    from: received
    to: {target}
    by:
      role: community_secretary
"""


def in_english(username):
    """The admin in English: the steps are found by their msgids, whatever the catalogue holds."""
    from django.contrib.auth import get_user_model
    from wagtail.users.models import UserProfile

    profile = UserProfile.get_for_user(get_user_model().objects.get(username=username))
    profile.preferred_language = "en"
    profile.save()


def add_field(page, kind_label, title):
    page.get_by_role("button", name="+ Add a field", exact=True).click()
    page.locator(".lb-kinds").get_by_role("button", name=kind_label, exact=True).click()
    page.get_by_label("Question (what residents read)").fill(title)
    return page.locator(".lb-field.lb-open").get_attribute("data-path")


def problems_listed(page):
    return page.locator("[data-linli-problems-list] li")


def test_an_admin_builds_a_form_and_its_flow_and_a_resident_fills_it(site, new_page):
    in_english(ADMIN)
    page, problems = new_page(**DESKTOP)

    # a new form, from the Linli area's index
    log_in(page, ADMIN, "/admin/linli/")
    page.locator("#community-minyue-section").get_by_role("link", name="New form").click()
    page.fill("#id_key", "streetlight")
    page.get_by_role("button", name="Start the draft").click()
    page.wait_for_selector("[data-builder-body] .lb-field")

    # three fields in the builder: a line of text, a choice, and a date asked only for one answer
    add_field(page, "One line of text", "路灯在哪里")
    page.get_by_role("checkbox", name="Must be filled in").check()
    page.get_by_role("button", name="Done").click()
    choice = add_field(page, "Single choice", "要不要上门查看")
    editor = page.locator(".lb-field.lb-open .lb-editor")
    editor.get_by_label("Choice 1", exact=True).fill("需要上门")
    editor.get_by_label("Choice 2", exact=True).fill("不需要")
    editor.get_by_role("button", name="Done").click()
    date = add_field(page, "Date", "方便上门的日期")
    editor = page.locator(".lb-field.lb-open .lb-editor")
    editor.get_by_label("Ask it only when the answer to").select_option(choice)
    editor.get_by_role("checkbox", name="需要上门").check()
    editor.get_by_role("button", name="Add this condition").click()
    editor.get_by_role("button", name="Done").click()
    schema = json.loads(page.evaluate("window.linliEditor.getText()"))
    assert {choice, date} <= set(schema["properties"]) and len(schema["properties"]) == 4  # with the starter's
    screenshot(page, "admin-form-builder-desktop.png")
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_load_state()
    assert problems_listed(page).count() == 0

    # publish the form
    page.get_by_role("link", name="Review and publish").click()
    page.get_by_role("button", name="Publish as v1").click()
    page.wait_for_load_state()
    form = Definition.objects.get(community__slug="minyue", kind="form", key="streetlight")
    assert form.live_version.number == 1 and form.live_version.published_by.username == ADMIN

    # the flow, in the code editor: a mistake is marked on its line, then fixed
    page.goto("/admin/linli/")
    page.locator("#community-minyue-section").get_by_role("link", name="New flow").click()
    page.fill("#id_key", "streetlight-repair")
    page.select_option("#id_form", "streetlight")
    page.get_by_role("button", name="Start the draft").click()
    page.wait_for_selector(".CodeMirror")
    wrong = FLOW.format(target="fixd")
    page.evaluate("t => window.linliEditor.setText(t)", wrong)
    problems_listed(page).first.wait_for()
    line = wrong.splitlines().index("    to: fixd") + 1
    assert problems_listed(page).first.get_attribute("data-line") == str(line)
    assert "fixd" in problems_listed(page).first.inner_text()
    screenshot(page, "admin-flow-editor-desktop.png")
    page.evaluate("t => window.linliEditor.setText(t)", FLOW.format(target="fixed"))
    expect(problems_listed(page)).to_have_count(0)
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_load_state()

    # the simulator, on the draft: the secretary may take "fix", which ends the item
    with page.expect_navigation():
        page.get_by_role("button", name="Simulate this text").click()
    assert "/simulate/" in page.url
    assert "fix" in page.locator(".linli-sim-closed").inner_text()  # no role chosen yet: not open
    page.select_option("select[name=role]", "community_secretary")
    with page.expect_navigation():
        page.locator("button[name=update]").click()
    with page.expect_navigation():
        page.locator("button[name=take][value=fix]").click()
    assert "<code>fixed</code>" in page.content()
    screenshot(page, "admin-simulator-desktop.png")

    # publish the flow; put the form on the community's site
    page.goto("/admin/linli/minyue/flow/streetlight-repair/edit/")
    page.get_by_role("link", name="Review and publish").click()
    page.get_by_role("button", name="Publish as v1").click()
    page.wait_for_load_state()
    flow = Definition.objects.get(community__slug="minyue", kind="flow", key="streetlight-repair")
    assert flow.live_version is not None
    page.goto("/admin/linli/minyue/form/streetlight/")
    page.get_by_role("button", name="Put on the community's site").click()
    page.wait_for_load_state()
    from cms.models import LinliFormPage

    url = LinliFormPage.objects.get(form=form).url
    assert problems.items == []

    # a resident fills it in, on a phone
    resident, resident_problems = new_page()
    log_in(resident, "minyue-resident", url)
    fields = list(schema["properties"])
    text_key = next(k for k in fields if k not in (choice, date, "content"))
    resident.fill(f"[name$='{text_key}']", "3号楼门口")
    resident.fill(f"[name$='content']", "路灯不亮了，晚上很黑")
    if resident.locator(f"input[type=radio][name$='{choice}']").count():
        resident.get_by_label("不需要", exact=True).check()
    else:
        resident.select_option(f"[name$='{choice}']", label="不需要")
    assert resident.locator(f"[name$='{date}']").is_hidden()  # asked only for a visit
    screenshot(resident, "admin-built-form-phone.png")
    with resident.expect_navigation():
        resident.get_by_role("button", name="提交", exact=True).click()
    submission = Submission.objects.get(form=form)
    assert submission.data[text_key] == "3号楼门口"
    assert FlowInstance.objects.get(submission=submission).state == "received"
    assert resident_problems.items == []

    # the reviewer's inbox lists it
    reviewer, _ = new_page(**DESKTOP)
    log_in(reviewer, ADMIN, "/inbox/")
    assert submission.reference in reviewer.content()
