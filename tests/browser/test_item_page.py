"""The item page on a phone (issue #16): the secretary dispatches by picking the handler by name
(no id typed), the resident sees the photo's thumbnail and rates with the form's own widgets,
drawn once."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from engine.forms.registry import form_spec
from engine.models import Definition, FlowInstance, OrgUnit, Person
from engine.services.submissions import submit
from engine.services.uploads import store_upload
from engine.workflow import adapter

from .conftest import assert_fits_a_phone, log_in, screenshot

pytestmark = pytest.mark.browser


def _photo():
    buffer = io.BytesIO()
    Image.new("RGB", (120, 90), "orange").save(buffer, "PNG")
    return SimpleUploadedFile("lamp.png", buffer.getvalue(), content_type="image/png")


def test_dispatch_by_name_then_the_resident_sees_the_photo_and_rates_once(new_page, django_user_model):
    users = {key: django_user_model.objects.get(username=f"minyue-{key}")
             for key in ("resident", "grid-leader", "secretary", "member")}
    grid = OrgUnit.objects.get(community__slug="minyue", key="grid_5")  # where the demo grid leader works
    form = Definition.objects.get(community__slug="minyue", kind="form", key="resident-request")
    photo = store_upload(spec=form_spec(form.live_version), form=form, field_pointer="/photos",
                         upload=_photo(), user=users["resident"])
    data = {"category": "facilities", "subject": "东门路灯不亮", "details": "小区东门的路灯连续三晚不亮",
            "urgency": "pressing", "address": {"unit": grid.key}, "contact_name": "张明",
            "contact_preference": "visit", "photos": [photo.token]}
    submission = submit(form=form, data=data, user=users["resident"]).submission
    instance = FlowInstance.objects.get(submission=submission)
    adapter.take(instance_id=instance.pk, name="analyse", user=users["grid-leader"],
                 inputs={"analysis": "属实", "handling_level": "社区办理"})
    handler = Person.objects.get(community__slug="minyue", user=users["member"])

    # the secretary picks the handler by name
    page, problems = new_page()
    log_in(page, "minyue-secretary", f"/items/{submission.pk}/")
    assert page.locator("h1").inner_text() == "东门路灯不亮"
    step = page.locator("form[data-step=dispatch]")
    picker = step.locator("select[name='input-assignee']")
    label = next(text for text in picker.locator("option").all_inner_texts() if text.startswith(handler.name))
    picker.select_option(label=label)
    assert step.locator("input[type=number]").count() == 0  # no id typed by hand
    assert_fits_a_phone(page)
    step.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert "“派单”已完成，事项转入“办理中”" in page.content()
    assert FlowInstance.objects.get(submission=submission).assignee == users["member"]
    assert problems.items == []

    adapter.take(instance_id=instance.pk, name="resolve", user=users["member"], comment="已更换灯泡")

    # the resident sees the photo and rates with the form's own widgets, drawn once
    page, problems = new_page()
    log_in(page, "minyue-resident", f"/items/{submission.pk}/")
    thumbnail = page.locator(f"img[src='/files/{photo.token}/']")
    assert thumbnail.count() == 1
    # the thumbnail loads lazily: bring it into view, then wait until it has decoded
    thumbnail.scroll_into_view_if_needed()
    page.wait_for_function(
        f"(() => {{ const i = document.querySelector(\"img[src='/files/{photo.token}/']\");"
        " return i.complete && i.naturalWidth > 0; })()", timeout=10_000)
    assert page.locator("form[data-form-steps=satisfaction]").count() == 1
    assert page.locator("textarea").count() == 1  # one comment box
    rating = page.locator("form[data-form-steps=satisfaction]")
    rating.get_by_label("是", exact=True).check()
    rating.get_by_label("非常满意", exact=True).check()
    assert_fits_a_phone(page)
    screenshot(page, "item-rating-phone.png")
    rating.locator("button[value=rate]").click()
    page.wait_for_load_state()
    assert "“评议”已完成，事项转入“已办结”" in page.content()
    assert FlowInstance.objects.get(submission=submission).state == "closed"
    assert "<dt>满意度</dt><dd>非常满意</dd>" in page.content()  # the rating in words in the history
    assert_fits_a_phone(page)
    assert problems.items == []
