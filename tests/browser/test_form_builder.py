"""The visual form builder in Chromium: every example form goes in and comes out as the same JSON;
an admin adds, edits, reorders and removes fields (a choice and a condition among them) with the
mouse and keyboard, and what comes out passes the engine's gates; the preview shows it."""

import json
from pathlib import Path

import pytest
from django.conf import settings

from engine.models import Community, Definition

from .conftest import log_in, screenshot

pytestmark = pytest.mark.browser

BUILDER = "/admin/linli/minyue/form/resident-request/builder/"
EXAMPLES = sorted(Path(settings.BASE_DIR, "forms_schemas").glob("*/*.schema.json"))
DESKTOP = {"viewport": {"width": 1280, "height": 900}, "is_mobile": False, "has_touch": False, "device_scale_factor": 1}


def source(page):
    return page.locator("#linli-source").input_value()


def gates(text, key="resident-request"):
    """Problems the engine's pipeline finds in `text` as minyue's form `key` (none: publishable)."""
    from engine.definitions.pipeline import check_files

    from cms.admin_builder import draft_files

    definition = Definition.objects.select_related("community").get(community__slug="minyue", kind="form", key=key)
    known = set(Community.objects.values_list("slug", flat=True))
    result = check_files(draft_files(definition, text), known_communities=known)
    return [problem.render("en") for problem in result.problems]


def in_english(username="minyue-secretary"):
    """The admin in English: the builder's words are checked as their msgids, so the test does not
    depend on the state of the Chinese catalogue."""
    from django.contrib.auth import get_user_model
    from wagtail.users.models import UserProfile

    profile = UserProfile.get_for_user(get_user_model().objects.get(username=username))
    profile.preferred_language = "en"
    profile.save()


def open_builder(new_page, **options):
    in_english()
    page, problems = new_page(**{**DESKTOP, **options})
    log_in(page, "minyue-secretary", BUILDER)
    page.wait_for_selector("[data-builder-body] .lb-field")
    return page, problems


def test_every_example_form_comes_out_as_it_went_in(new_page):
    page, problems = open_builder(new_page)
    for path in EXAMPLES:
        text = path.read_text(encoding="utf-8")
        out = page.evaluate("""text => {
            window.linliBuilder.load(text);
            // open each field's editor and close it again: looking changes nothing
            document.querySelectorAll('.lb-field-main').forEach(b => { b.click(); });
            document.querySelectorAll('.lb-field-main[aria-expanded=true]').forEach(b => { b.click(); });
            return window.linliBuilder.serialize();
        }""", text)
        assert json.dumps(json.loads(out), ensure_ascii=False) == json.dumps(json.loads(text), ensure_ascii=False), path
    # a change undone in the builder gives the same JSON back (keys it does not know, their order)
    text = EXAMPLES[0].read_text(encoding="utf-8")
    page.evaluate("text => { const area = document.getElementById('linli-source'); area.value = text;"
                  " area.dispatchEvent(new Event('input')); }", text)
    page.click(".lb-settings summary")
    title = page.get_by_label("Form title")
    original = title.input_value()
    title.fill("临时标题")
    assert json.loads(source(page))["title"] == "临时标题"
    title.fill(original)
    assert json.dumps(json.loads(source(page)), ensure_ascii=False) == json.dumps(json.loads(text), ensure_ascii=False)
    assert problems.items == []


def test_an_edit_in_the_code_shows_in_the_builder(new_page):
    page, problems = open_builder(new_page)
    schema = json.loads(source(page))
    schema["properties"]["subject"]["title"] = "问题标题（改过）"
    page.evaluate("text => { const area = document.getElementById('linli-source'); area.value = text;"
                  " area.dispatchEvent(new Event('input')); }", json.dumps(schema, ensure_ascii=False))
    assert page.locator('[data-path="subject"] .lb-field-title').text_content() == "问题标题（改过）"
    page.evaluate("() => { const area = document.getElementById('linli-source'); area.value = '{\"title\": ';"
                  " area.dispatchEvent(new Event('input')); }")
    assert page.locator("[data-builder-body] [role=alert]").is_visible()
    assert problems.items == []


def add_field(page, step, kind_label, title):
    page.locator(".lb-step").nth(step).get_by_role("button", name="+ Add a field to this step").click()
    page.locator(".lb-kinds").get_by_role("button", name=kind_label, exact=True).click()
    box = page.get_by_label("Question (what residents read)")
    assert box.evaluate("node => node === document.activeElement")  # typing can start at once
    box.fill(title)
    path = page.locator(".lb-field.lb-open").get_attribute("data-path")
    return path


def test_add_edit_reorder_and_remove_fields_then_the_gates_pass(new_page):
    page, problems = open_builder(new_page)
    before = json.loads(source(page))

    # 1. a line of text, on the first step
    text_key = add_field(page, 0, "One line of text", "所在楼号")
    page.get_by_role("checkbox", name="Must be filled in").check()
    page.get_by_label("At most how many characters").fill("10")
    page.get_by_role("button", name="Done").click()

    # 2. a single choice with its own choices, on the second step
    choice_key = add_field(page, 1, "Single choice", "是否需要上门")
    editor = page.locator(".lb-field.lb-open .lb-editor")
    editor.get_by_label("Choice 1", exact=True).fill("需要上门")
    editor.get_by_label("Choice 2", exact=True).fill("不需要")
    editor.get_by_role("button", name="+ Add a choice").click()
    editor.get_by_label("Choice 3", exact=True).fill("再商量")
    editor.get_by_label("Show the choices as").select_option("radio")
    editor.get_by_role("button", name="Done").click()

    # 3. a date, asked only when a visit is wanted (a condition)
    date_key = add_field(page, 1, "Date", "方便上门的日期")
    editor = page.locator(".lb-field.lb-open .lb-editor")
    editor.get_by_label("Ask it only when the answer to").select_option(choice_key)
    editor.get_by_role("checkbox", name="需要上门").check()
    editor.get_by_role("button", name="Add this condition").click()
    assert "Shown and needed when “是否需要上门” is “需要上门”" in page.locator(".lb-field.lb-open").text_content()

    # reorder: the date goes up one place, with the keyboard
    page.locator(f'[data-path="{date_key}"] .lb-tools button').first.focus()
    page.keyboard.press("Enter")
    steps = json.loads(source(page))["x-ui"]["steps"]
    assert steps[1]["fields"][-2:] == [date_key, choice_key]

    # remove a field that a condition and the steps mention
    page.locator('[data-path="other_party"] .lb-field-main').click()
    page.get_by_role("button", name="Remove this field").click()
    page.get_by_role("button", name="Yes, remove it").click()

    schema = json.loads(source(page))
    assert list(schema["properties"])[-3:] == [text_key, choice_key, date_key]
    assert schema["properties"][text_key] == {"title": "所在楼号", "type": "string", "maxLength": 10}
    assert text_key in schema["required"] and text_key in schema["x-ui"]["steps"][0]["fields"]
    assert schema["properties"][choice_key]["oneOf"] == [
        {"const": "option_1", "title": "需要上门"}, {"const": "option_2", "title": "不需要"},
        {"const": "option_3", "title": "再商量"}]
    assert schema["x-ui"]["fields"][choice_key] == {"widget": "radio"}
    assert {"if": {"properties": {choice_key: {"const": "option_1"}}, "required": [choice_key]},
            "then": {"required": [date_key]}} in schema["allOf"]
    assert "other_party" not in json.dumps(schema)
    # what the builder did not touch is as it was
    for key in ("$schema", "$comment", "description"):
        assert schema[key] == before[key]
    assert schema["properties"]["address"] == before["properties"]["address"]
    assert list(schema)[:6] == list(before)[:6]

    assert gates(source(page)) == []

    # the preview shows the new fields the way residents get them
    frame = page.frame_locator("iframe.lb-preview")
    frame.locator(f'[data-field="{date_key}"]').wait_for(state="attached")
    assert frame.locator("h1").text_content() == "民情直通车"
    assert frame.get_by_text("是否需要上门").is_visible()
    assert frame.locator(f'[data-field="{date_key}"]').is_hidden()  # until a visit is wanted
    frame.get_by_label("需要上门").check()
    assert frame.locator(f'[data-field="{date_key}"]').is_visible()
    screenshot(page, "form-builder.png")
    assert problems.items == []


def test_a_mistake_shows_in_the_preview_as_problems(new_page):
    page, problems = open_builder(new_page)
    page.locator('[data-path="subject"] .lb-field-main').click()
    key = page.get_by_label("Code name (used by flows and exports)")
    key.fill("Bad Key")
    key.press("Tab")
    assert page.locator(".lb-field.lb-open .lb-error").first.text_content() == \
        "Use small English letters, digits and _, starting with a letter."  # refused at once, not written
    assert "subject" in json.loads(source(page))["properties"]
    page.locator('[data-path="urgency"] .lb-field-main').click()
    editor = page.locator(".lb-field.lb-open .lb-editor")
    editor.get_by_label("Code saved (used by flows)").first.fill("ordinary")  # the default "normal" is no choice now
    assert any("the default 'normal'" in problem for problem in gates(source(page)))
    frame = page.frame_locator("iframe.lb-preview")
    frame.locator(".preview-problems").wait_for()
    assert "'normal'" in frame.locator(".preview-problems").text_content()
    assert frame.locator("[data-linli-form]").count() == 0
    assert problems.items == []


def test_the_builder_works_on_a_phone(new_page):
    in_english()
    page, problems = new_page()  # 390 px, touch
    log_in(page, "minyue-secretary", BUILDER)
    page.wait_for_selector("[data-builder-body] .lb-field")
    page.locator('[data-path="category"] .lb-field-main').tap()
    small = page.evaluate("""() => Array.from(document.querySelectorAll(
          '.linli-builder button, .linli-builder input:not([type=checkbox]), .linli-builder select'))
        .filter(e => e.offsetParent !== null && e.getBoundingClientRect().height < 44)
        .map(e => e.outerHTML.slice(0, 80))""")
    assert small == []
    width = page.evaluate("document.querySelector('.linli-builder').scrollWidth")
    assert width <= 390
    page.locator('[data-path="category"] .lb-tools button').nth(1).tap()  # down, by touch
    assert json.loads(source(page))["x-ui"]["steps"][0]["fields"][:2] == ["subject", "category"]
    screenshot(page, "form-builder-phone.png")
    assert problems.items == []
