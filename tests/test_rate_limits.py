"""Rate limits (engine.security): failed sign-ins per username and address, on the API's token
endpoint and on the admin's login forms; submissions by visitors who are not signed in, on the
API and on the one-step form page. Each: the attempt past the limit is refused, the count ends
(a success, or the window), and a burst of concurrent attempts gets no more than the limit."""

import datetime
import io
import re
import shutil

import pytest
import time_machine
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import Client, RequestFactory
from rest_framework.test import APIClient

from engine import security
from engine.models import Definition, Submission
from tests.concurrency import race
from tests.test_production import wagtail_home

LIMIT = 3
TOKEN_URL = "/api/v1/auth/token/"
FORM = """{
  "title": "意见箱",
  "type": "object",
  "required": ["topic", "message"],
  "properties": {
    "topic": {"title": "主题", "type": "string", "minLength": 2, "maxLength": 30},
    "message": {"title": "内容", "type": "string", "minLength": 5, "maxLength": 500}
  },
  "additionalProperties": false,
  "x-ui": {"anonymous": true, "reference_prefix": "YJ"}
}
"""
SUBMIT_URL = "/api/v1/forms/demo/box/submissions/"
GOOD = {"topic": "路灯", "message": "三号楼前的路灯不亮了"}


@pytest.fixture(autouse=True)
def limits(settings):
    settings.LINLI_RATE_LIMITS = {"login": {"limit": LIMIT, "window": 900},
                                  "anonymous_submission": {"limit": LIMIT, "window": 600}}
    settings.LINLI_PROXY_COUNT = 0
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def person(django_user_model):
    return django_user_model.objects.create_user("wangfang", password="linli-test")


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_superuser("zhangwei", "zhangwei@example.cn", "linli-test")


def token(client, username, password, address="10.0.0.1"):
    return client.post(TOKEN_URL, {"username": username, "password": password}, format="json", REMOTE_ADDR=address)


# ---------------------------------------------------------------- sign-in


@pytest.mark.django_db
def test_the_attempt_after_the_limit_is_refused_even_with_the_right_password(person):
    client = APIClient()
    for _ in range(LIMIT):
        assert token(client, "wangfang", "wrong").status_code == 400
    refused = token(client, "wangfang", "linli-test")
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 900
    [message] = refused.json()["errors"][""]
    assert message == "登录尝试次数过多。为保护账户安全，这个账户暂时不能从你的网络登录。请在 15 分钟后再试；如果忘记了密码，请联系社区管理员。"
    english = client.post(TOKEN_URL, {"username": "wangfang", "password": "linli-test"}, format="json",
                          REMOTE_ADDR="10.0.0.1", HTTP_ACCEPT_LANGUAGE="en")
    assert english.json()["errors"][""] == [
        "Too many sign-in attempts. To protect the account, signing in to it from your network is paused. "
        "Try again in 15 minutes; if you have forgotten the password, ask your community's administrator."]


@pytest.mark.django_db
def test_a_lockout_holds_one_username_from_one_address(person, django_user_model):
    django_user_model.objects.create_user("lisi", password="linli-test")
    client = APIClient()
    for _ in range(LIMIT):
        token(client, "wangfang", "wrong")
    assert token(client, "wangfang", "linli-test").status_code == 429
    assert token(client, "WangFang", "linli-test").status_code == 429  # the same name in other letters
    assert token(client, "wangfang", "linli-test", address="10.0.0.2").status_code == 200  # another address
    assert token(client, "lisi", "linli-test").status_code == 200  # another username


@pytest.mark.django_db
def test_a_success_resets_the_count(person):
    client = APIClient()
    for _ in range(2):
        for _ in range(LIMIT - 1):
            assert token(client, "wangfang", "wrong").status_code == 400
        assert token(client, "wangfang", "linli-test").status_code == 200


@pytest.mark.django_db
def test_the_lockout_ends_with_its_window(person):
    client = APIClient()
    with time_machine.travel(datetime.datetime(2026, 5, 1, 9, 0, tzinfo=datetime.UTC), tick=False) as clock:
        for _ in range(LIMIT):
            token(client, "wangfang", "wrong")
        assert token(client, "wangfang", "linli-test").status_code == 429
        clock.shift(datetime.timedelta(seconds=890))
        assert token(client, "wangfang", "linli-test")["Retry-After"] == "10"
        clock.shift(datetime.timedelta(seconds=11))
        assert token(client, "wangfang", "linli-test").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/admin/login/", "/django-admin/login/"])
def test_the_admin_login_forms_say_why_they_refuse(staff, url):
    client = Client(REMOTE_ADDR="10.0.0.3")
    for _ in range(LIMIT):
        wrong = client.post(url, {"username": "zhangwei", "password": "wrong"})
        assert wrong.status_code == 200  # the form again, with its usual error
    refused = client.post(url, {"username": "zhangwei", "password": "linli-test"})
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    html = refused.content.decode()
    assert "登录尝试次数过多" in html and "请在 15 分钟后再试" in html
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_the_admin_login_and_the_api_share_one_count(staff):
    client = Client(REMOTE_ADDR="10.0.0.4")
    for _ in range(LIMIT):
        client.post("/admin/login/", {"username": "zhangwei", "password": "wrong"})
    assert token(APIClient(), "zhangwei", "linli-test", address="10.0.0.4").status_code == 429


@pytest.mark.django_db
def test_sign_ins_without_a_request_are_not_limited(person):
    """Management commands and scripts authenticate without a request: nothing to count by."""
    for _ in range(LIMIT + 2):
        assert authenticate(username="wangfang", password="wrong") is None
    assert authenticate(username="wangfang", password="linli-test") == person


@pytest.mark.django_db(transaction=True)
def test_concurrent_guesses_get_no_more_than_the_limit(person):
    statuses, errors = race(12, lambda n: token(APIClient(), "wangfang", f"guess-{n}").status_code)
    assert errors == []
    assert sorted(statuses) == [400] * LIMIT + [429] * (12 - LIMIT)


@pytest.mark.django_db  # race() closes each thread's connection
def test_concurrent_hits_on_one_counter_pass_exactly_the_limit():
    allowed, errors = race(40, lambda _: security.LOGIN.hit("someone\n10.0.0.9").allowed)
    assert errors == [] and sum(allowed) == LIMIT


def test_the_client_address_behind_proxies(settings):
    request = RequestFactory().get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7")
    assert security.client_address(request) == "127.0.0.1"  # no proxy trusted: the header is the client's to forge
    settings.LINLI_PROXY_COUNT = 1
    assert security.client_address(request) == "203.0.113.7"  # what the proxy saw, not what the client wrote
    settings.LINLI_PROXY_COUNT = 3  # a shorter header than the proxies configured: the peer
    assert security.client_address(request) == "127.0.0.1"
    settings.LINLI_PROXY_COUNT = 0
    v6 = RequestFactory().get("/", REMOTE_ADDR="2001:db8:1:2:aaaa::1")
    assert security.client_address(v6) == "2001:db8:1:2::/64"  # one subscriber's block counts as one
    assert security.client_address(RequestFactory().get("/", REMOTE_ADDR="::ffff:198.51.100.4")) == "198.51.100.4"


# ---------------------------------------------------------------- anonymous submissions


@pytest.fixture
def box_form(db, tmp_path, settings):
    """A community `demo` with one anonymous one-step form `box`."""
    root = tmp_path / "defs"
    shutil.copytree("workflows_yaml/_template", root / "workflows_yaml" / "demo")
    community = root / "workflows_yaml" / "demo" / "community.yaml"
    community.write_text(re.sub(r"^community: \S+", "community: demo", community.read_text(encoding="utf-8"),
                                flags=re.M), encoding="utf-8")
    for flow in (root / "workflows_yaml" / "demo").glob("*.flow.yaml"):
        flow.unlink()
    (root / "forms_schemas" / "demo").mkdir(parents=True)
    shutil.copytree("forms_schemas/_shared", root / "forms_schemas" / "_shared")
    (root / "forms_schemas" / "demo" / "box.schema.json").write_text(FORM, encoding="utf-8")
    settings.LINLI_FORMS_DIR, settings.LINLI_WORKFLOWS_DIR = root / "forms_schemas", root / "workflows_yaml"
    call_command("load_definitions", stdout=io.StringIO())
    return Definition.objects.get(community__slug="demo", kind="form", key="box")


@pytest.fixture
def box(box_form):
    """The form's page at /box/."""
    from cms.models import LinliFormPage

    return wagtail_home().add_child(instance=LinliFormPage(title="意见箱", slug="box", form=box_form))


def submit(client=None, data=GOOD, address="10.1.0.1", **headers):
    return (client or APIClient()).post(SUBMIT_URL, data, format="json", REMOTE_ADDR=address, **headers)


def test_the_api_refuses_the_submission_after_the_limit(box_form):
    for _ in range(LIMIT):
        assert submit().status_code == 201
    refused = submit()
    assert refused.status_code == 429 and 0 < int(refused["Retry-After"]) <= 600
    assert refused.json() == {"errors": {"": [
        "提交过于频繁。从你的网络提交的表单太多了。请在 10 分钟后再试；如有急事，请直接联系社区。"]}}
    assert Submission.objects.count() == LIMIT
    assert submit(address="10.1.0.2").status_code == 201  # another address has its own count


def test_what_stores_nothing_costs_nothing(box_form):
    assert submit(HTTP_IDEMPOTENCY_KEY="once").status_code == 201
    for _ in range(LIMIT + 1):
        assert submit(data={"topic": "路"}).status_code == 400  # a mistake
        assert submit(HTTP_IDEMPOTENCY_KEY="once").status_code == 409  # a key reused without a session
    for _ in range(LIMIT - 1):
        assert submit().status_code == 201
    assert submit().status_code == 429


def test_people_signed_in_are_not_limited_here(box_form, person):
    client = APIClient()
    client.force_authenticate(person)
    for _ in range(LIMIT + 2):
        assert submit(client).status_code == 201


def test_the_submission_window_expires(box_form):
    with time_machine.travel(datetime.datetime(2026, 5, 1, 9, 0, tzinfo=datetime.UTC), tick=False) as clock:
        for _ in range(LIMIT):
            submit()
        assert submit().status_code == 429
        clock.shift(datetime.timedelta(seconds=601))
        assert submit().status_code == 201


def token_of(html):
    return re.search(r'name="linli_token" value="([^"]+)"', html).group(1)


def post_form_page(client):
    token = token_of(client.get("/box/").content.decode())
    return client.post("/box/", {"linli_token": token, "form-topic": "路灯", "form-message": "三号楼前的路灯不亮了"})


def test_the_form_page_refuses_with_a_page_that_says_when_to_try_again(box):
    client = Client(REMOTE_ADDR="10.2.0.1")
    for _ in range(LIMIT):
        assert "YJ" in post_form_page(client).content.decode()
    refused = post_form_page(client)
    html = refused.content.decode()
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "提交过于频繁" in html and "请在 10 分钟后再试" in html and 'href="/box/"' in html
    assert Submission.objects.count() == LIMIT
    assert client.get("/box/").status_code == 200  # the form itself is still shown


def test_the_form_page_and_the_api_share_one_count(box):
    client = Client(REMOTE_ADDR="10.2.0.2")
    for _ in range(LIMIT):
        post_form_page(client)
    assert submit(address="10.2.0.2").status_code == 429


def test_a_double_click_on_the_form_page_costs_one_place(box):
    client = Client(REMOTE_ADDR="10.2.0.3")
    token = token_of(client.get("/box/").content.decode())
    body = {"linli_token": token, "form-topic": "路灯", "form-message": "三号楼前的路灯不亮了"}
    for _ in range(LIMIT + 1):
        assert client.post("/box/", body).status_code == 200
    assert Submission.objects.count() == 1
    for _ in range(LIMIT - 1):
        assert post_form_page(client).status_code == 200
    assert post_form_page(client).status_code == 429


@pytest.mark.django_db(transaction=True)
def test_concurrent_api_submissions_store_no_more_than_the_limit(box_form):
    statuses, errors = race(8, lambda _: submit().status_code)
    assert errors == []
    assert sorted(statuses) == [201] * LIMIT + [429] * (8 - LIMIT)
    assert Submission.objects.count() == LIMIT


@pytest.mark.django_db(transaction=True)
def test_concurrent_form_page_posts_store_no_more_than_the_limit(box):
    statuses, errors = race(6, lambda _: post_form_page(Client(REMOTE_ADDR="10.3.0.1")).status_code)
    assert errors == []
    assert sorted(statuses) == [200] * LIMIT + [429] * (6 - LIMIT)
    assert Submission.objects.count() == LIMIT
