"""A resident signs in on a phone with their mobile number and the code from the text message,
lands on their own submissions, and signs out."""

import re

import pytest

from .conftest import assert_fits_a_phone, screenshot

pytestmark = pytest.mark.browser

PHONE = "13812345678"


def test_a_resident_signs_in_with_a_code_on_a_phone_and_signs_out(new_page, settings, tmp_path, django_user_model):
    folder = tmp_path / "sms"
    settings.SMS_BACKEND, settings.SMS_FILE_PATH = "file", str(folder)
    page, problems = new_page()
    page.goto("/my/")
    page.wait_for_url("**/login/?next=/my/")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    phone = page.locator("input[name=phone]")
    assert phone.get_attribute("type") == "tel" and phone.get_attribute("inputmode") == "numeric"
    assert_fits_a_phone(page)
    screenshot(page, "sign-in-phone.png")
    phone.fill("138 1234 5678")
    page.get_by_role("button", name="获取验证码").click()
    page.wait_for_url("**/login/?step=code*")
    assert "138 1234 5678" in page.content()

    [message] = list(folder.glob("*.sms"))
    number, text = message.read_text(encoding="utf-8").split("\n", 1)
    assert number == PHONE
    code = re.search(r"(?<!\d)\d{6}(?!\d)", text).group(0)
    field = page.locator("input[name=code]")
    assert field.get_attribute("inputmode") == "numeric" and field.get_attribute("autocomplete") == "one-time-code"
    assert_fits_a_phone(page)
    field.fill(code)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url("**/my/")
    assert page.locator("h1").inner_text() == "我的提交"
    assert django_user_model.objects.filter(username=PHONE).exists()
    assert_fits_a_phone(page)
    screenshot(page, "signed-in-phone.png")

    page.get_by_role("button", name="退出登录").click()
    page.wait_for_url("**/login/")
    assert "您已退出登录。" in page.content()
    page.goto("/my/")
    page.wait_for_url("**/login/?next=/my/")  # signed out for real
    assert problems.items == []
