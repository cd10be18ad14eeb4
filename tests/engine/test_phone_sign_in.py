"""Signing in with a mobile number and a one-time code (engine.services.sign_in, accounts), on the
API (POST /api/v1/auth/code/, /api/v1/auth/token/) and on the one sign-in page (/login/), and
signing out. Codes are read where a person reads them: the SMS, here the file backend's files."""

import datetime
import html as html_lib
import io
import re

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from engine.models import Community, OrgUnit, PeopleChange, Person, RoleAssignment
from engine.services import accounts
from engine.sms.backends.base import BaseSmsBackend
from tests.concurrency import race

CODE_URL = "/api/v1/auth/code/"
TOKEN_URL = "/api/v1/auth/token/"
PHONE = "13800138000"
OTHER = "13900139000"
START = datetime.datetime(2026, 5, 1, 9, 0, tzinfo=datetime.UTC)
User = get_user_model()


@pytest.fixture(autouse=True)
def outbox(settings, tmp_path):
    """Messages go to files in a folder of this test's own; the limits are the shipped ones."""
    settings.SMS_BACKEND, settings.SMS_FILE_PATH = "file", str(tmp_path / "sms")
    settings.LINLI_PROXY_COUNT = 0
    settings.LINLI_SIGN_IN_CODE_SECONDS, settings.LINLI_SIGN_IN_CODE_TRIES = 300, 5
    settings.LINLI_RATE_LIMITS = {
        "login": {"limit": 5, "window": 900},
        "anonymous_submission": {"limit": 20, "window": 600},
        "sign_in_code": {"limit": 5, "window": 3600},
        "sign_in_code_address": {"limit": 30, "window": 3600},
    }
    return tmp_path / "sms"


def messages_to(folder, phone):
    """The texts sent to `phone`, oldest first."""
    if not folder.exists():
        return []
    files = sorted(folder.glob("*.sms"), key=lambda f: (f.stat().st_mtime_ns, f.name))
    found = []
    for file in files:
        number, text = file.read_text(encoding="utf-8").split("\n", 1)
        if number == phone:
            found.append(text)
    return found


def code_for(folder, phone):
    """The newest code sent to `phone`, read from its text message."""
    texts = messages_to(folder, phone)
    assert texts, f"no message to {phone}"
    return re.search(r"(?<!\d)(\d{6})(?!\d)", texts[-1]).group(1)


def ask(phone=PHONE, address="10.0.0.1", client=None, **headers):
    return (client or APIClient()).post(CODE_URL, {"phone": phone}, format="json", REMOTE_ADDR=address, **headers)


def token(phone, code, address="10.0.0.1", **headers):
    return APIClient().post(TOKEN_URL, {"phone": phone, "code": code}, format="json", REMOTE_ADDR=address, **headers)


def errors(response):
    return response.json()["errors"]


# ---------------------------------------------------------------- numbers and accounts


@pytest.mark.parametrize("typed", ["13800138000", "138 0013 8000", "138-0013-8000", "+86 138 0013 8000",
                                   "+8613800138000", "008613800138000", "８６１３８００１３８０００", " 13800138000 "])
def test_numbers_are_normalised(typed):
    assert accounts.normalise_phone(typed) == PHONE


@pytest.mark.parametrize(("typed", "message"), [
    ("", "请输入11位手机号码。"),
    ("1380013800", "手机号码应为以1开头的11位数字，例如 13800138000。"),
    ("23800138000", "手机号码应为以1开头的11位数字，例如 13800138000。"),
    ("12800138000", "手机号码应为以1开头的11位数字，例如 13800138000。"),
    ("138001380001", "手机号码应为以1开头的11位数字，例如 13800138000。"),
    ("+1 138 0013 8000", "手机号码应为以1开头的11位数字，例如 13800138000。"),
    ("1380013800x", "手机号码应为以1开头的11位数字，例如 13800138000。"),
    ("١٣٨٠٠١٣٨٠٠٠", "手机号码应为以1开头的11位数字，例如 13800138000。"),  # digits, but not ours
])
def test_bad_numbers_are_refused_in_chinese(typed, message):
    with pytest.raises(ValueError) as caught:
        accounts.normalise_phone(typed)
    assert str(caught.value) == message


@pytest.fixture
def minyue(db):
    community = Community.objects.create(slug="minyue", name="民悦社区")
    root = OrgUnit.add_root(community=community, key="root", name="民悦社区", level="community")
    return community, root


@pytest.fixture
def zanan(db):
    community = Community.objects.create(slug="zanan", name="酂南社区")
    root = OrgUnit.add_root(community=community, key="root", name="酂南社区", level="community")
    return community, root


def test_an_unknown_number_gets_a_new_resident_account_without_a_password(db):
    user = accounts.account_for_phone("138 0013 8000")
    assert user.username == PHONE and not user.has_usable_password() and not user.is_staff
    assert accounts.account_for_phone(PHONE) == user  # the same account the next time
    assert User.objects.filter(username=PHONE).count() == 1


def test_without_create_an_unknown_number_has_no_account(db):
    assert accounts.account_for_phone(PHONE, create=False) is None
    assert not User.objects.filter(username=PHONE).exists()


def test_the_roster_person_is_linked_at_the_first_sign_in(minyue, zanan):
    (community, _), (other, _) = minyue, zanan
    here = Person.objects.create(community=community, name="王芳", phone=PHONE)
    there = Person.objects.create(community=other, name="王芳", phone=PHONE)
    left = Person.objects.create(community=other, name="前住户", phone=PHONE, active=False)
    user = accounts.account_for_phone(PHONE)
    here.refresh_from_db(), there.refresh_from_db(), left.refresh_from_db()
    assert here.user == user and there.user == user
    assert left.user is None  # a person who left: the number may belong to someone new now
    changes = PeopleChange.objects.filter(action=PeopleChange.Action.LINK_ACCOUNT)
    assert {(c.person_id, c.data["user"]) for c in changes} == {(here.pk, user.pk), (there.pk, user.pk)}


def test_the_account_of_a_linked_person_is_the_numbers_account(minyue, zanan):
    (community, _), (other, _) = minyue, zanan
    staff = User.objects.create_user("zhangwei", password="x")
    Person.objects.create(community=community, name="张伟", phone=PHONE, user=staff)
    unlinked = Person.objects.create(community=other, name="张伟", phone=PHONE)
    assert accounts.account_for_phone(PHONE) == staff
    unlinked.refresh_from_db()
    assert unlinked.user == staff
    assert not User.objects.filter(username=PHONE).exists()


def test_a_person_linked_to_another_account_is_left_alone(minyue, zanan):
    (community, _), (other, _) = minyue, zanan
    first = User.objects.create_user("first", password="x")
    second = User.objects.create_user("second", password="x")
    mine = Person.objects.create(community=community, name="王芳", phone=PHONE, user=first)
    theirs = Person.objects.create(community=other, name="王芳", phone=PHONE, user=second)
    assert accounts.account_for_phone(PHONE) == first
    mine.refresh_from_db(), theirs.refresh_from_db()
    assert mine.user == first and theirs.user == second
    assert not PeopleChange.objects.exists()


def test_a_left_persons_old_account_is_not_the_numbers_account(minyue):
    community, _ = minyue
    old = User.objects.create_user("old-holder", password="x")
    gone = Person.objects.create(community=community, name="前住户", phone=PHONE, user=old, active=False)
    user = accounts.account_for_phone(PHONE)
    assert user != old and user.username == PHONE
    gone.refresh_from_db()
    assert gone.user == old


def test_an_account_already_in_a_community_gets_no_second_person_there(minyue):
    community, _ = minyue
    user = accounts.account_for_phone(PHONE)
    Person.objects.create(community=community, name="王芳", phone=OTHER, user=user)
    twin = Person.objects.create(community=community, name="王芳", phone=PHONE)
    assert accounts.account_for_phone(PHONE) == user  # no IntegrityError: one person per account here
    twin.refresh_from_db()
    assert twin.user is None


@pytest.mark.django_db(transaction=True)
def test_two_first_sign_ins_at_once_make_one_account():
    community = Community.objects.create(slug="minyue", name="民悦社区")
    person = Person.objects.create(community=community, name="王芳", phone=PHONE)
    users, errors = race(6, lambda _: accounts.account_for_phone(PHONE).pk)
    assert errors == []
    assert len(set(users)) == 1 and User.objects.filter(username=PHONE).count() == 1
    person.refresh_from_db()
    assert person.user_id == users[0]
    assert PeopleChange.objects.filter(person=person, action=PeopleChange.Action.LINK_ACCOUNT).count() == 1


# ---------------------------------------------------------------- the API


@pytest.mark.django_db
def test_a_code_by_text_message_signs_in_on_the_api(outbox):
    sent = ask("+86 138-0013-8000")
    assert sent.status_code == 202 and sent.json()["expires_in"] == 300
    [text] = messages_to(outbox, PHONE)
    code = code_for(outbox, PHONE)
    assert text == f"【邻里】您的登录验证码是 {code} ，5分钟内有效。请勿告诉任何人，包括工作人员。\n"
    response = token("138 0013 8000", code)
    assert response.status_code == 200 and set(response.json()) == {"token"}
    user = User.objects.get(username=PHONE)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert client.get("/api/v1/tasks/").status_code == 200
    from rest_framework.authtoken.models import Token
    assert Token.objects.get(user=user).key == response.json()["token"]


@pytest.mark.django_db
def test_known_and_unknown_numbers_get_the_same_answer(minyue, outbox):
    community, _ = minyue
    Person.objects.create(community=community, name="王芳", phone=PHONE, user=User.objects.create_user("wf"))
    known, unknown = ask(PHONE), ask(OTHER)
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    assert known.json()["detail"] == "如果号码可以接收短信，验证码已经发出，5 分钟内有效。"
    assert sorted(known.headers) == sorted(unknown.headers)
    assert not User.objects.filter(username=OTHER).exists()  # asking for a code makes no account


@pytest.mark.django_db
def test_a_malformed_number_is_refused_and_nothing_is_sent(outbox):
    response = ask("1380013800")
    assert response.status_code == 400
    assert errors(response) == {"/phone": ["手机号码应为以1开头的11位数字，例如 13800138000。"]}
    assert not outbox.exists() or not list(outbox.iterdir())
    for body in ({}, {"phone": 13800138000}, {"phone": None}, ["13800138000"]):
        response = APIClient().post(CODE_URL, body, format="json")
        assert response.status_code == 400 and list(errors(response)) == ["/phone"]
    assert errors(APIClient().post(CODE_URL, {}, format="json"))["/phone"] == ["请输入11位手机号码。"]
    for _ in range(6):  # mistakes cost no place under the limits
        ask("12345")
    assert ask(PHONE).status_code == 202


@pytest.mark.django_db
def test_messages_follow_the_language(outbox):
    response = ask("12345", HTTP_ACCEPT_LANGUAGE="en")
    assert errors(response) == {"/phone": ["The mobile number must be 11 digits starting with 1, such as 13800138000."]}
    ask(PHONE, HTTP_ACCEPT_LANGUAGE="en")
    assert messages_to(outbox, PHONE)[-1].startswith("Linli: your sign-in code is ")
    wrong = f"{(int(code_for(outbox, PHONE)) + 1) % 10**6:06d}"
    said = [errors(token(PHONE, wrong, HTTP_ACCEPT_LANGUAGE="en"))["/code"][0] for _ in range(4)]
    assert said[2:] == ["The code is not right. You can try 2 more times.", "The code is not right. You can try 1 more time."]


@pytest.mark.django_db
def test_a_wrong_code_is_refused(outbox):
    ask()
    code = code_for(outbox, PHONE)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    response = token(PHONE, wrong)
    assert response.status_code == 400
    assert errors(response) == {"/code": ["验证码不正确，还可以再试 4 次。"]}
    assert "token" not in response.json()
    assert token(PHONE, code).status_code == 200  # the right one still works


@pytest.mark.django_db
@pytest.mark.parametrize(("body", "pointer", "message"), [
    ({"phone": PHONE}, "/code", "请输入短信里的6位验证码。"),
    ({"code": "123456"}, "/phone", "请输入11位手机号码。"),
    ({"phone": PHONE, "code": "12a456"}, "/code", "验证码是6位数字，请照短信输入。"),
    ({"phone": PHONE, "code": "1234567"}, "/code", "验证码是6位数字，请照短信输入。"),
    ({"phone": "138", "code": "123456"}, "/phone", "手机号码应为以1开头的11位数字，例如 13800138000。"),
])
def test_bad_token_requests_name_the_field(body, pointer, message):
    response = APIClient().post(TOKEN_URL, body, format="json")
    assert response.status_code == 400
    assert errors(response) == {pointer: [message]}
    assert not User.objects.filter(username=PHONE).exists()


@pytest.mark.django_db
def test_a_code_without_a_code_sent_is_refused():
    response = token(PHONE, "123456")
    assert response.status_code == 400 and errors(response) == {"/code": ["验证码已过期或已使用，请重新获取验证码。"]}
    assert not User.objects.filter(username=PHONE).exists()


@pytest.mark.django_db
def test_a_code_expires_after_five_minutes(outbox):
    with time_machine.travel(START, tick=False) as clock:
        ask()
        code = code_for(outbox, PHONE)
        clock.shift(datetime.timedelta(seconds=301))
        response = token(PHONE, code)
    assert response.status_code == 400
    assert errors(response) == {"/code": ["验证码已过期或已使用，请重新获取验证码。"]}


@pytest.mark.django_db
def test_a_code_still_works_just_before_it_expires(outbox):
    with time_machine.travel(START, tick=False) as clock:
        ask()
        clock.shift(datetime.timedelta(seconds=295))
        assert token(PHONE, code_for(outbox, PHONE)).status_code == 200


@pytest.mark.django_db
def test_a_code_works_once(outbox):
    ask()
    code = code_for(outbox, PHONE)
    assert token(PHONE, code).status_code == 200
    again = token(PHONE, code)
    assert again.status_code == 400 and errors(again) == {"/code": ["验证码已过期或已使用，请重新获取验证码。"]}


@pytest.mark.django_db
def test_only_the_newest_code_works(outbox):
    ask()
    first = code_for(outbox, PHONE)
    ask()
    second = code_for(outbox, PHONE)
    if first != second:
        assert token(PHONE, first).status_code == 400
    assert token(PHONE, second).status_code == 200


@pytest.mark.django_db
def test_a_code_is_for_its_own_number(outbox):
    ask(PHONE)
    assert token(OTHER, code_for(outbox, PHONE)).status_code == 400


@pytest.mark.django_db
def test_five_wrong_codes_void_the_code(outbox):
    ask()
    code = code_for(outbox, PHONE)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for left in (4, 3, 2, 1):
        assert errors(token(PHONE, wrong)) == {"/code": [f"验证码不正确，还可以再试 {left} 次。"]}
    void = "验证码输错次数过多，已经失效，请重新获取验证码。"
    assert errors(token(PHONE, wrong)) == {"/code": [void]}
    refused = token(PHONE, code)  # the right code, too late
    assert refused.status_code == 400 and errors(refused) == {"/code": [void]}
    assert not User.objects.filter(username=PHONE).exists()
    ask()  # a new code starts again
    assert token(PHONE, code_for(outbox, PHONE)).status_code == 200


@pytest.mark.django_db
def test_the_sixth_code_in_an_hour_is_refused(outbox):
    with time_machine.travel(START, tick=False) as clock:
        for _ in range(5):
            assert ask().status_code == 202
            clock.shift(datetime.timedelta(minutes=1))
        refused = ask(address="10.9.9.9")  # from another address too: the limit is the number's
        assert refused.status_code == 429 and 0 < int(refused["Retry-After"]) <= 3600
        assert errors(refused) == {"/phone": ["这个号码收到的验证码太多了，请在 55 分钟后再试。"]}
        assert len(messages_to(outbox, PHONE)) == 5
        assert ask(OTHER).status_code == 202  # another number has its own count
        clock.shift(datetime.timedelta(minutes=56))
        assert ask().status_code == 202


@pytest.mark.django_db
def test_an_unknown_number_is_limited_exactly_like_a_known_one(minyue, outbox):
    community, _ = minyue
    Person.objects.create(community=community, name="王芳", phone=PHONE, user=User.objects.create_user("wf"))
    answers = {}
    for phone in (PHONE, OTHER):
        answers[phone] = [(r.status_code, r.json()) for r in (ask(phone, address=f"10.1.0.{i}") for i in range(6))]
    assert answers[PHONE] == answers[OTHER]
    assert [status for status, _ in answers[PHONE]] == [202] * 5 + [429]


@pytest.mark.django_db
def test_one_address_may_ask_for_so_many_codes(settings, outbox):
    settings.LINLI_RATE_LIMITS["sign_in_code_address"] = {"limit": 3, "window": 3600}
    numbers = [f"1380013800{i}" for i in range(5)]
    for phone in numbers[:3]:
        assert ask(phone, address="10.2.0.1").status_code == 202
    refused = ask(numbers[3], address="10.2.0.1")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert errors(refused) == {"": ["获取验证码的次数过多，请在 60 分钟后再试。"]}
    assert messages_to(outbox, numbers[3]) == []
    assert ask(numbers[3], address="10.2.0.2").status_code == 202  # another address
    # the refused request did not use up one of the number's own five
    for i in range(4):
        assert ask(numbers[3], address=f"10.2.1.{i}").status_code == 202


@pytest.mark.django_db
def test_the_address_behind_a_trusted_proxy_is_counted(settings, outbox):
    settings.LINLI_PROXY_COUNT = 1
    settings.LINLI_RATE_LIMITS["sign_in_code_address"] = {"limit": 1, "window": 3600}
    assert ask(PHONE, address="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.7").status_code == 202
    assert ask(OTHER, address="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.7").status_code == 429
    assert ask(OTHER, address="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.8").status_code == 202


@pytest.mark.django_db
def test_an_inactive_account_cannot_sign_in_by_code(outbox):
    User.objects.create_user(PHONE, is_active=False)
    ask()
    response = token(PHONE, code_for(outbox, PHONE))
    assert response.status_code == 400 and errors(response) == {"/phone": ["这个账户已停用，请联系社区。"]}
    from rest_framework.authtoken.models import Token
    assert not Token.objects.exists()


@pytest.mark.django_db
def test_a_message_that_could_not_go_costs_nothing(settings, outbox):
    settings.SMS_BACKEND = "tests.engine.test_phone_sign_in.BrokenProvider"
    settings.LINLI_RATE_LIMITS["sign_in_code"] = {"limit": 1, "window": 3600}
    for _ in range(3):
        response = ask()
        assert response.status_code == 503 and errors(response) == {"": ["短信发送失败，请稍后再试。"]}
    settings.SMS_BACKEND = "file"
    assert ask().status_code == 202  # the failures were not counted
    assert token(PHONE, code_for(outbox, PHONE)).status_code == 200


class BrokenProvider(BaseSmsBackend):
    def send_messages(self, messages):
        raise ConnectionError("the provider is down")


def raw_cache():
    """Every key and stored value of the default cache, as bytes (locmem or Redis)."""
    from django.core.cache import caches
    from django.core.cache.backends.locmem import LocMemCache

    backend = caches["default"]
    if isinstance(backend, LocMemCache):
        return [(key.encode(), value) for key, value in backend._cache.items()]
    client = backend._cache.get_client()
    return [(key, client.dump(key) or b"") for key in client.scan_iter(match=backend.make_key("*"))]


@pytest.mark.django_db
def test_no_code_is_kept_in_clear(outbox):
    ask()
    code = code_for(outbox, PHONE)
    entries = raw_cache()
    assert len(entries) >= 2  # the code's entry and its tries, at least
    assert all(code.encode() not in value for _, value in entries)
    assert all(PHONE.encode() not in key and PHONE.encode() not in value for key, value in entries)  # a digest only


@pytest.mark.django_db(transaction=True)
def test_racing_requests_for_codes_send_no_more_than_five(outbox):
    statuses, errors_ = race(8, lambda n: ask(address=f"10.6.0.{n}").status_code)
    assert errors_ == []
    assert sorted(statuses) == [202] * 5 + [429] * 3
    assert len(messages_to(outbox, PHONE)) == 5


@pytest.mark.django_db(transaction=True)
def test_racing_sign_ins_with_one_code_get_one_token(outbox):
    ask()
    code = code_for(outbox, PHONE)
    statuses, errors_ = race(6, lambda _: token(PHONE, code).status_code)
    assert errors_ == []
    assert sorted(statuses) == [200] + [400] * 5
    assert User.objects.filter(username=PHONE).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_guesses_gets_no_more_than_five_tries(outbox):
    ask()
    code = code_for(outbox, PHONE)
    guesses = [f"{(int(code) + n) % 10**6:06d}" for n in range(1, 13)]
    responses, errors_ = race(12, lambda n: token(PHONE, guesses[n]).json())
    assert errors_ == []
    wrong = [r for r in responses if r["errors"]["/code"][0].startswith("验证码不正确")]
    assert len(wrong) <= 4 and len(responses) == 12
    assert token(PHONE, code).status_code == 400  # void: the burst used the code's tries up


@pytest.mark.django_db
def test_username_and_password_still_get_a_token():
    User.objects.create_user("wangfang", password="linli-test")
    response = APIClient().post(TOKEN_URL, {"username": "wangfang", "password": "linli-test"}, format="json")
    assert response.status_code == 200 and len(response.json()["token"]) == 40


@pytest.mark.django_db
def test_the_openapi_document_describes_both_endpoints():
    import yaml

    paths = yaml.safe_load(APIClient().get("/api/v1/schema/").content)["paths"]
    assert "post" in paths[CODE_URL] and "post" in paths[TOKEN_URL]
    assert {"202", "400", "429"} <= set(paths[CODE_URL]["post"]["responses"])


# ---------------------------------------------------------------- the sign-in page


def send_on_page(client, phone=PHONE, next_url=None):
    body = {"action": "send", "phone": phone} | ({"next": next_url} if next_url else {})
    return client.post("/login/", body)


def code_on_page(client, code, phone=PHONE, next_url=None):
    body = {"action": "code", "phone": phone, "code": code} | ({"next": next_url} if next_url else {})
    return client.post("/login/", body)


def visible_text(html):
    html = re.sub(r"<(script|style|title)\b.*?</\1>", " ", html, flags=re.S)
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", html))


@pytest.mark.django_db
def test_a_resident_signs_in_on_the_page_and_lands_on_their_submissions(outbox):
    client = Client(REMOTE_ADDR="10.3.0.1")
    page = client.get("/login/")
    html = page.content.decode()
    assert page.status_code == 200
    assert re.search(r'<input[^>]*type="tel"[^>]*name="phone"[^>]*inputmode="numeric"', html)
    assert 'autocomplete="one-time-code"' not in html  # the code field comes with the second step
    sent = send_on_page(client, "138 0013 8000")
    assert sent.status_code == 302 and sent["Location"] == "/login/?step=code"
    step = client.get(sent["Location"]).content.decode()
    assert "138 0013 8000" in step and 'autocomplete="one-time-code"' in step and 'inputmode="numeric"' in step
    signed_in = code_on_page(client, code_for(outbox, PHONE))
    assert signed_in.status_code == 302 and signed_in["Location"] == "/my/"
    assert int(client.session["_auth_user_id"]) == User.objects.get(username=PHONE).pk
    assert sign_in_views_pending() not in client.session
    my = client.get("/my/")
    assert my.status_code == 200 and 'action="/logout/"' in my.content.decode()


def sign_in_views_pending():
    from engine.sign_in_views import PENDING

    return PENDING


@pytest.mark.django_db
def test_a_wrong_code_on_the_page_says_so_and_signs_nobody_in(outbox):
    client = Client(REMOTE_ADDR="10.3.0.2")
    send_on_page(client)
    code = code_for(outbox, PHONE)
    response = code_on_page(client, f"{(int(code) + 1) % 10**6:06d}")
    html = response.content.decode()
    assert response.status_code == 200 and "验证码不正确，还可以再试 4 次。" in html
    assert 'aria-invalid="true"' in html and "_auth_user_id" not in client.session
    assert code_on_page(client, code)["Location"] == "/my/"


@pytest.mark.django_db
def test_a_bad_number_on_the_page_is_shown_by_its_field(outbox):
    client = Client()
    response = send_on_page(client, "12345")
    html = response.content.decode()
    assert response.status_code == 200
    assert "手机号码应为以1开头的11位数字，例如 13800138000。" in html
    assert 'value="12345"' in html and 'aria-describedby="sign-in-error"' in html
    assert not outbox.exists() or not list(outbox.iterdir())


@pytest.mark.django_db
def test_the_page_answers_known_and_unknown_numbers_alike(minyue, outbox):
    community, _ = minyue
    Person.objects.create(community=community, name="王芳", phone=PHONE, user=User.objects.create_user("wf"))
    known, unknown = send_on_page(Client()), send_on_page(Client(), OTHER)
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"]) == (302, "/login/?step=code")


@pytest.mark.django_db
def test_the_page_refuses_the_sixth_code_in_an_hour(outbox):
    client = Client(REMOTE_ADDR="10.3.0.3")
    for _ in range(5):
        assert send_on_page(client).status_code == 302
    refused = send_on_page(client)
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "这个号码收到的验证码太多了，请在 60 分钟后再试。" in refused.content.decode()


@pytest.fixture
def communities(db):
    call_command("load_definitions", stdout=io.StringIO(), stderr=io.StringIO())
    return Community.objects.get(slug="minyue")


def person_with_role(community, phone, role, until=None):
    unit = OrgUnit.objects.get(community=community, key="grid_5")
    person = Person.objects.create(community=community, name="李明", phone=phone, unit=unit)
    RoleAssignment.objects.create(community=community, person=person, role=role, unit=unit, until=until)
    return person


def page_sign_in(outbox, phone, next_url=None, address="10.4.0.1"):
    client = Client(REMOTE_ADDR=address)
    send_on_page(client, phone, next_url)
    return client, code_on_page(client, code_for(outbox, phone), phone, next_url)


@pytest.mark.parametrize("role", ["grid_leader", "community_worker", "branch_secretary"])
def test_staff_land_in_their_inbox(communities, outbox, role):
    person_with_role(communities, PHONE, role)  # staff, not admin (an admin lands on the dashboard)
    client, response = page_sign_in(outbox, PHONE)
    assert response["Location"] == "/inbox/"
    inbox = client.get("/inbox/")
    assert inbox.status_code == 200 and 'action="/logout/"' in inbox.content.decode()
    assert Person.objects.get(phone=PHONE).user.username == PHONE  # the roster's person, linked


def test_a_role_that_is_not_staff_lands_on_my_submissions(communities, outbox):
    person_with_role(communities, PHONE, "building_head")
    assert page_sign_in(outbox, PHONE)[1]["Location"] == "/my/"


def test_a_staff_role_that_ended_lands_on_my_submissions(communities, outbox):
    person_with_role(communities, PHONE, "grid_leader", until=datetime.date(2020, 1, 1))
    assert page_sign_in(outbox, PHONE)[1]["Location"] == "/my/"


@pytest.mark.django_db
def test_superusers_with_a_password_land_in_their_inbox():
    User.objects.create_superuser("admin", "admin@example.cn", "linli-test")
    client = Client()
    response = client.post("/login/", {"action": "password", "username": "admin", "password": "linli-test"})
    assert response.status_code == 302 and response["Location"] == "/inbox/"


@pytest.mark.django_db
def test_a_wrong_password_on_the_page_is_shown_and_the_lockout_still_holds():
    User.objects.create_user("wangfang", password="linli-test")
    client = Client(REMOTE_ADDR="10.5.0.1")
    wrong = client.post("/login/", {"action": "password", "username": "wangfang", "password": "guess"})
    html = wrong.content.decode()
    assert wrong.status_code == 200 and "<details" in html and " open>" in html and 'class="notice error"' in html
    for _ in range(4):
        client.post("/login/", {"action": "password", "username": "wangfang", "password": "guess"})
    refused = client.post("/login/", {"action": "password", "username": "wangfang", "password": "linli-test"})
    assert refused.status_code == 429 and "登录尝试次数过多" in refused.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
@pytest.mark.parametrize(("next_url", "landing"), [
    ("/items/7/", "/items/7/"),
    ("/my/consents/?x=1", "/my/consents/?x=1"),
    ("https://evil.example/", "/my/"),
    ("//evil.example/my/", "/my/"),
    ("javascript:alert(1)", "/my/"),
    ("http://testserver/my/consents/", "http://testserver/my/consents/"),
])
def test_a_safe_next_is_honoured_and_an_unsafe_one_ignored(outbox, next_url, landing):
    assert page_sign_in(outbox, PHONE, next_url)[1]["Location"] == landing


@pytest.mark.django_db
def test_the_next_page_survives_the_code_step(outbox):
    client = Client()
    sent = send_on_page(client, PHONE, "/items/7/")
    assert sent["Location"] == "/login/?step=code&next=%2Fitems%2F7%2F"
    assert 'name="next" value="/items/7/"' in client.get(sent["Location"]).content.decode()


@pytest.mark.django_db
def test_signed_in_pages_send_visitors_to_the_one_sign_in_page(client):
    for path in ("/my/", "/inbox/", "/my/consents/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"] == f"/login/?next={path}"


@pytest.mark.django_db
def test_signing_out(outbox):
    client, _ = page_sign_in(outbox, PHONE)
    assert client.get("/logout/").status_code == 405  # a link cannot sign anybody out
    assert "_auth_user_id" in client.session
    out = client.post("/logout/")
    assert out.status_code == 302 and out["Location"] == "/login/"
    assert "_auth_user_id" not in client.session
    assert "您已退出登录。" in client.get("/login/").content.decode()
    assert client.get("/my/").status_code == 302


@pytest.mark.django_db
def test_the_sign_out_control_shows_only_to_people_signed_in(client):
    assert 'action="/logout/"' not in client.get("/search/").content.decode()
    client.force_login(User.objects.create_user("wangfang"))
    for path in ("/my/", "/inbox/", "/my/consents/", "/search/"):
        html = client.get(path).content.decode()
        assert 'action="/logout/"' in html and "退出登录" in html, path


@pytest.mark.django_db
def test_a_signed_in_person_on_the_page_can_go_on_or_sign_out(client):
    client.force_login(User.objects.create_user("wangfang"))
    html = client.get("/login/").content.decode()
    assert "您已登录。" in html and 'href="/my/"' in html and 'action="/logout/"' in html


ENGLISH_WORD = re.compile(r"[A-Za-z]{2,}")


@pytest.mark.django_db
def test_the_chinese_sign_in_page_has_no_english(outbox):
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    pages = [client.get("/login/"), client.post("/login/", {"action": "send", "phone": "12"}),
             client.post("/login/", {"action": "password", "username": "x", "password": "y"})]
    send_on_page(client)
    pages += [client.get("/login/?step=code"), code_on_page(client, "000000" if code_for(outbox, PHONE) != "000000" else "111111")]
    for page in pages:
        text = visible_text(page.content.decode())
        assert "登录" in text
        assert ENGLISH_WORD.findall(text) == [], text
        assert not ENGLISH_WORD.findall(" ".join(re.findall(r'(?:aria-label|title|placeholder)="([^"]*)"',
                                                            page.content.decode())))


@pytest.mark.django_db
def test_the_english_sign_in_page_is_english():
    html = Client(HTTP_ACCEPT_LANGUAGE="en").get("/login/").content.decode()
    assert "Sign in with your mobile number" in html and "登录" not in visible_text(html)


@pytest.mark.django_db
def test_the_admin_login_still_signs_staff_in_with_a_password():
    User.objects.create_superuser("admin", "admin@example.cn", "linli-test")
    client = Client()
    response = client.post("/admin/login/", {"username": "admin", "password": "linli-test"})
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_the_page_is_not_cached_and_is_protected_from_forgery(outbox):
    client = Client(enforce_csrf_checks=True)
    page = client.get("/login/")
    assert "no-cache" in page["Cache-Control"] or "max-age=0" in page["Cache-Control"]
    assert send_on_page(client).status_code == 403
    assert messages_to(outbox, PHONE) == []
