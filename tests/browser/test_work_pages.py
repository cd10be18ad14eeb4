"""A grid leader works an item on a phone: the inbox, the item's page, a step taken."""

import pytest

from engine.models import Definition, FlowInstance, OrgUnit
from engine.services.submissions import submit

from .conftest import assert_fits_a_phone, log_in, screenshot

pytestmark = pytest.mark.browser


def test_the_grid_leader_takes_the_analysis_step_on_a_phone(new_page, django_user_model):
    resident = django_user_model.objects.get(username="minyue-resident")
    grid = OrgUnit.objects.get(community__slug="minyue", key="grid_5")  # where the demo grid leader works
    form = Definition.objects.get(community__slug="minyue", kind="form", key="resident-request")
    data = {"category": "facilities", "subject": "路灯不亮", "details": "小区东门的路灯连续三晚不亮",
            "urgency": "pressing", "address": {"unit": grid.key}, "contact_name": "张明", "contact_preference": "visit"}
    submission = submit(form=form, data=data, user=resident).submission
    page, problems = new_page()
    log_in(page, "minyue-grid-leader", "/inbox/")
    assert submission.reference in page.content()
    screenshot(page, "inbox-phone.png")
    assert_fits_a_phone(page)
    page.click(f"text={submission.reference}")
    page.wait_for_url(f"**/items/{submission.pk}/")
    assert "小区东门的路灯连续三晚不亮" in page.content()
    step = page.locator("form.step", has=page.locator("input[name=transition][value=analyse]"))
    step.locator("textarea[name='input-analysis']").fill("属实，已联系物业")  # text as a textarea (issue #16)
    step.locator("input[name='input-handling_level']").first.check()  # few choices as radios
    step.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert "已研判" in page.content() and "第五网格" in page.content()  # units by their names
    assert FlowInstance.objects.get(submission=submission).state == "analysed"
    screenshot(page, "item-phone.png")
    assert_fits_a_phone(page)
    assert problems.items == []
