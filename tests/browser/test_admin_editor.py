"""The definition editor in a real browser: CodeMirror over the textarea, checking as one types
(problems listed and marked in the gutter), a click on a problem moving to its line, and
window.linliEditor for the form builder."""

import pytest

from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser

EDIT = "/admin/linli/minyue/flow/resident-request/edit/"


def test_typing_a_mistake_marks_its_line_and_a_click_jumps_there(new_page):
    page, problems = new_page(viewport={"width": 1280, "height": 900}, is_mobile=False, has_touch=False,
                              device_scale_factor=1)
    log_in(page, "admin", EDIT)
    page.wait_for_selector(".CodeMirror")
    assert page.locator("[data-linli-problems-list] li").count() == 0
    text = page.evaluate("window.linliEditor.getText()")
    assert "title: 民情直通车" in text
    page.evaluate("""() => { window.__seen = []; window.linliEditor.onChange(t => window.__seen.push(t.length)); }""")
    line = text.splitlines().index(next(l for l in text.splitlines() if "to: feedback" in l)) + 1
    page.evaluate("t => window.linliEditor.setText(t)", text.replace("to: feedback", "to: feedbak", 1))
    item = page.locator("[data-linli-problems-list] li").first
    item.wait_for()
    assert item.get_attribute("data-line") == str(line)
    assert "feedbak" in item.inner_text()
    # CodeMirror draws only the lines in view: ask it where its markers are
    marked = page.evaluate("""() => { const cm = document.querySelector('.CodeMirror').CodeMirror; const lines = [];
        cm.eachLine(h => { const info = cm.lineInfo(h); if (info.gutterMarkers && info.gutterMarkers['linli-gutter'])
        lines.push(info.line + 1); }); return lines; }""")
    assert marked == [line]
    assert page.evaluate("window.__seen.length") >= 1
    item.click()
    assert page.evaluate("document.querySelector('.CodeMirror').CodeMirror.getCursor().line") == line - 1
    # saving posts what CodeMirror holds
    page.locator("[data-linli-editor] button[type=submit]:not([formaction])").click()
    page.wait_for_url(f"**{EDIT}")
    from engine.models import DefinitionDraft

    assert "to: feedbak" in DefinitionDraft.objects.get().source
    assert problems.items == []
