"""A neighbour objects to a public notice (公示) from its public page, on a phone: the anonymous page
offers to sign in, the signed-in neighbour writes a reason, and the page then says the objection was
received and where the notice stands."""

import pytest

from cms.models import AnnouncementPage
from engine.models import AuditEvent

from .conftest import PASSWORD, assert_fits_a_phone, log_in, screenshot

pytestmark = pytest.mark.browser


def test_a_neighbour_objects_to_a_notice_from_its_page(site, new_page):
    from tests.cms.test_notice_objection import REASON, _notice_up

    users, instance = _notice_up()
    for user in users.values():
        user.set_password(PASSWORD)
        user.save()
    notice = AnnouncementPage.objects.get(source=instance)

    page, problems = new_page()
    page.goto(notice.url)
    assert page.locator("[data-notice]").get_attribute("data-notice") == "open"
    assert page.get_by_role("link", name="登录后提出异议").is_visible()
    log_in(page, "neighbour", notice.url)
    reason = page.get_by_label("您的异议和理由")
    assert_fits_a_phone(page)
    page.get_by_role("button", name="提出异议").click()  # empty: the browser asks for the reason first
    assert page.url.endswith(notice.url) and not AuditEvent.objects.filter(transition="object").exists()
    reason.fill(REASON)
    with page.expect_navigation():
        page.get_by_role("button", name="提出异议").click()
    status = page.locator("[data-notice]")
    assert status.get_attribute("data-notice") == "objected"
    assert "您的异议已收到" in status.inner_text() and "异议核实中" in status.inner_text()
    assert AuditEvent.objects.get(transition="object").comment == REASON
    screenshot(page, "notice-objected-phone.png")
    assert problems.items == []
