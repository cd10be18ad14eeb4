"""The project as a whole: settings, URLs, the demo accounts, the API's token endpoint."""

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command

from engine.demo import DEMO_PASSWORD


def test_chinese_first_with_english_available_in_shanghai_time():
    assert settings.LANGUAGE_CODE == "zh-hans"
    assert [code for code, _ in settings.LANGUAGES] == ["zh-hans", "en"]
    assert settings.TIME_ZONE == "Asia/Shanghai"


@pytest.mark.django_db
@pytest.mark.parametrize("url, status", [("/admin/", 302), ("/django-admin/", 302), ("/api/v1/schema/", 200), ("/", 200)])
def test_the_entry_points_answer(client, url, status):
    assert client.get(url).status_code == status


@pytest.mark.django_db
def test_seed_demo_creates_the_contract_accounts_and_is_safe_twice(capsys):
    call_command("load_definitions", stdout=open("/dev/null", "w"))
    call_command("seed_demo")
    call_command("seed_demo")
    User = get_user_model()
    expected = {"admin"} | {f"{slug}-{role}" for slug in ("minyue", "zanan")
                            for role in ("secretary", "grid-leader", "member", "resident")}
    # and one account per role a shipped flow names (tests/engine/commands/test_seed_demo_roles.py)
    expected |= {"minyue-branch-secretary", "minyue-street-liaison", "minyue-household-representative",
                 "zanan-self-governance-member", "zanan-property-station-staff"}
    people = User.objects.exclude(username="AnonymousUser")  # django-guardian's stand-in for visitors
    usernames = set(people.values_list("username", flat=True))
    assert expected <= usernames
    assert all(name == "admin" or name.startswith(("minyue-", "zanan-")) for name in usernames)
    for user in people:
        assert user.check_password(DEMO_PASSWORD)
    assert User.objects.get(username="admin").is_superuser
    assert not User.objects.filter(username="kaiyuan-secretary").exists()  # a street, not a community


@pytest.mark.django_db
def test_the_home_page_lists_the_loaded_communities(client):
    call_command("load_definitions", stdout=open("/dev/null", "w"))
    html = client.get("/").content.decode()
    assert "民悦社区" in html and "酂南" in html


@pytest.mark.django_db
def test_token_auth_answers_the_contract(client):
    get_user_model().objects.create_user("resident", password="right-password-123")
    response = client.post("/api/v1/auth/token/", {"username": "resident", "password": "right-password-123"},
                           content_type="application/json")
    assert response.status_code == 200 and len(response.json()["token"]) == 40
    again = client.post("/api/v1/auth/token/", {"username": "resident", "password": "right-password-123"},
                        content_type="application/json")
    assert again.json()["token"] == response.json()["token"]
    wrong = client.post("/api/v1/auth/token/", {"username": "resident", "password": "wrong"},
                        content_type="application/json")
    assert wrong.status_code == 400 and "token" not in wrong.json()


@pytest.mark.django_db
def test_the_openapi_schema_describes_linlis_api_only(client):
    import yaml

    schema = yaml.safe_load(client.get("/api/v1/schema/").content)
    paths = set(schema["paths"])
    assert {"/api/v1/forms/{community}/{form}/submissions/", "/api/v1/submissions/{id}/transitions/",
            "/api/v1/tasks/", "/api/v1/auth/token/"} <= paths
    assert all(path.startswith("/api/v1/") for path in paths)
