"""Going live with no shell and no demo accounts, in Chromium at phone size.

The database holds the published definitions and one account: the street's administrator, the
account made at installation. Everything else happens in the browser: the street puts 民情直通车 on
the community's site, adds a grid leader for 第一网格 and a community worker and gives them their
roles; a resident whom nobody registered signs in with their number and the code from the text
message and submits a request for 第一网格; the new grid leader signs in the same way and finds it
in the inbox; the street takes the role away and the grid leader's very next request is refused.
A stranger's number is answered exactly like a known one."""

import io
import re

import pytest
from django.core.management import call_command

from cms.models import LinliFormPage
from engine.models import Person, RoleAssignment, Submission

from .conftest import PASSWORD, assert_fits_a_phone, log_in

pytestmark = pytest.mark.browser

PEOPLE = "/admin/linli/people/minyue/"
LEADER, WORKER, RESIDENT = "13900001001", "13900001002", "13900001003"


@pytest.fixture
def site(django_db_serialized_rollback, transactional_db, settings, tmp_path, django_user_model):
    """The definitions as `load_definitions` publishes them, and the street's one account: no seed_demo."""
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.SMS_BACKEND, settings.SMS_FILE_PATH = "file", str(tmp_path / "sms")
    call_command("load_definitions", stdout=io.StringIO(), stderr=io.StringIO())
    django_user_model.objects.create_superuser("street", "street@example.cn", PASSWORD)
    return tmp_path / "sms"


def code_for(folder, phone):
    """The six digits of the newest text message sent to `phone`."""
    messages = sorted((path for path in folder.glob("*.sms")
                       if path.read_text(encoding="utf-8").split("\n", 1)[0] == phone),
                      key=lambda path: path.stat().st_mtime_ns)
    return re.search(r"(?<!\d)\d{6}(?!\d)", messages[-1].read_text(encoding="utf-8").split("\n", 1)[1]).group(0)


def sign_in_by_phone(page, folder, phone, lands_on):
    page.goto("/login/")
    page.fill("input[name=phone]", phone)
    page.get_by_role("button", name="获取验证码").click()
    page.wait_for_url("**/login/?step=code*")
    page.fill("input[name=code]", code_for(folder, phone))
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(f"**{lands_on}")


def add_person_with_role(page, name, phone, unit, role, role_unit):
    page.goto(PEOPLE + "add/")
    page.fill("input[name=name]", name)
    page.fill("input[name=phone]", phone)
    page.select_option("select[name=unit]", unit)
    page.locator("form.linli-inline-form button[type=submit]").click()
    page.wait_for_url("**/people/minyue/*/")
    give = page.locator("form[data-linli-give-role]")
    give.locator("select[name=role]").select_option(role)
    give.locator("select[name=unit]").select_option(role_unit)
    give.locator("button[type=submit]").click()
    page.wait_for_url("**/people/minyue/*/")
    assert RoleAssignment.objects.filter(person__name=name, role=role, unit__key=role_unit).exists()


def test_a_community_goes_live_in_the_browser(site, new_page):
    sms = site
    street, problems = new_page()
    log_in(street, "street", "/admin/linli/minyue/form/resident-request/")
    street.get_by_role("button", name="放到社区网站上").click()
    street.wait_for_url("**/form/resident-request/")
    form_url = LinliFormPage.objects.get(form__community__slug="minyue", form__key="resident-request").url

    # the roles page names what is vacant before anyone is appointed
    street.goto(PEOPLE + "roles/")
    assert "空缺" in street.content()
    add_person_with_role(street, "王网格", LEADER, "grid_1", "grid_leader", "grid_1")
    add_person_with_role(street, "陈两委", WORKER, "minyue", "community_worker", "minyue")

    # a resident nobody registered signs in with their number, on a phone
    resident, resident_problems = new_page()
    sign_in_by_phone(resident, sms, RESIDENT, "/my/")
    assert_fits_a_phone(resident)
    resident.goto(form_url)
    resident.select_option("#id_need-category", "facilities")
    resident.fill("#id_need-subject", "楼道灯坏了")
    resident.fill("#id_need-details", "同兴苑1号楼2单元楼道灯坏了一个星期，晚上很黑")
    with resident.expect_navigation():
        resident.get_by_role("button", name="下一步").click()
    resident.select_option("#id_place-address__unit", "grid_1")
    resident.fill("#id_place-contact_name", "赵大妈")
    resident.get_by_label("上门面谈").check()
    with resident.expect_navigation():
        resident.get_by_role("button", name="下一步").click()
    with resident.expect_navigation():
        resident.get_by_role("button", name="提交诉求").click()
    reference = resident.locator("[data-reference]").inner_text().strip()
    item = Submission.objects.get(reference=reference)
    assert item.unit.key == "grid_1" and item.submitter.username == RESIDENT

    # the new grid leader signs in with the number the street gave, lands in the inbox and finds it
    leader, leader_problems = new_page()
    sign_in_by_phone(leader, sms, LEADER, "/inbox/")
    assert Person.objects.get(name="王网格").user.username == LEADER  # the roster's person, linked
    assert reference in leader.locator("main").inner_text()
    leader.goto(f"/items/{item.pk}/")
    assert "研判" in leader.locator("main").inner_text()

    # the street takes the role away; the grid leader's very next request is refused
    street.goto(PEOPLE + f"{Person.objects.get(name='王网格').pk}/")
    street.locator("[data-linli-person-roles]").get_by_role("link", name="撤销…").click()
    street.wait_for_url("**/take/")
    street.fill("textarea[name=reason]", "调任")
    street.locator("form[data-linli-confirm] button[type=submit]").click()
    street.wait_for_url(f"**{PEOPLE}*/")
    assert not RoleAssignment.objects.filter(person__name="王网格").exists()
    answer = leader.goto(f"/items/{item.pk}/")
    assert answer.status == 404
    leader.goto("/inbox/")
    assert reference not in leader.locator("main").inner_text()

    # with no grid leader at 第一网格 and no secretary yet, the item falls to whoever manages the
    # community — the street — which is told why, in its inbox and on the item page
    street.goto("/inbox/")
    assert reference in street.locator("main").inner_text()
    assert "第一网格（同兴苑）暂无网格长" in street.locator("main").inner_text()

    for found in (problems, resident_problems, leader_problems):
        assert [p for p in found.items if "404" not in p] == []


def test_a_strangers_number_gets_the_same_answer_as_a_known_one(site, new_page):
    sms = site
    page, problems = new_page()
    answers = []
    for phone in (LEADER, "13700000000"):
        page.goto("/login/")
        page.fill("input[name=phone]", phone)
        page.get_by_role("button", name="获取验证码").click()
        page.wait_for_url("**/login/?step=code*")
        answers.append(page.locator("main").inner_text().replace(phone, "").replace(
            f"{phone[:3]} {phone[3:7]} {phone[7:]}", ""))
    assert answers[0] == answers[1]
    # a wrong code is refused in Chinese, naming the code field; nothing signs in
    page.fill("input[name=code]", "000000" if code_for(sms, "13700000000") != "000000" else "111111")
    page.get_by_role("button", name="登录", exact=True).click()
    assert "验证码" in page.locator("main").inner_text()
    assert "/login/" in page.url
    assert problems.items == []
