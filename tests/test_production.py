"""The production settings path: `check --deploy` is clean with deploy/production.env.example,
the security headers and the Content Security Policy are sent on public pages (cached ones too)
and on the API, CSRF holds against other origins, and Wagtail's admin works under its policy."""

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client, RequestFactory

ROOT = Path(__file__).resolve().parent.parent
FOREIGN = "https://evil.example"


def production_env(tmp_path):
    """deploy/production.env.example with its placeholders filled for this machine."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_"))}
    for line in (ROOT / "deploy" / "production.env.example").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            env[key.strip()] = value.strip()
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings", "SECRET_KEY": secrets.token_urlsafe(64), "STATIC_ROOT": str(tmp_path / "static"),
                "MEDIA_ROOT": str(tmp_path / "media"), "PRIVATE_MEDIA_ROOT": str(tmp_path / "private")})
    database = connection.settings_dict
    if connection.vendor == "postgresql":  # the server the tests run on (check --deploy reads its version)
        user = database["USER"] + (f":{database['PASSWORD']}" if database["PASSWORD"] else "")
        env["DATABASE_URL"] = (f"postgres://{user}@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}"
                               f"/{database['NAME']}")
    else:
        env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'check.sqlite3'}"
    return env


SHOW_SETTINGS = """
import json, django
from django.core.management import call_command
django.setup()
from django.conf import settings
call_command("check", deploy=True, fail_level="WARNING")
print(json.dumps({name: getattr(settings, name, None) for name in [
    "DEBUG", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD", "SECURE_PROXY_SSL_HEADER", "SESSION_ENGINE",
    "X_FRAME_OPTIONS", "CACHES", "TASKS", "RQ_QUEUES", "LINLI_PROXY_COUNT"]}))
"""


@pytest.mark.django_db
def test_check_deploy_is_clean_with_the_production_environment(tmp_path):
    env = production_env(tmp_path)
    done = subprocess.run([sys.executable, "-c", SHOW_SETTINGS], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    if connection.vendor != "postgresql":
        # on SQLite the one issue is the database itself (the PostgreSQL run of the suite checks the rest)
        assert done.returncode == 1 and "SystemCheckError" in done.stderr, done.stderr[-3000:]
        assert re.findall(r"\((\w+\.[EW]\d+)\)", done.stderr) == ["engine.W002"], done.stderr[-3000:]
        return
    assert done.returncode == 0, done.stderr[-3000:]
    shown = json.loads(done.stdout.strip().splitlines()[-1])
    assert shown["DEBUG"] is False
    assert shown["SESSION_COOKIE_SECURE"] and shown["CSRF_COOKIE_SECURE"] and shown["SECURE_SSL_REDIRECT"]
    assert shown["SECURE_HSTS_SECONDS"] == 31_536_000 and shown["SECURE_HSTS_INCLUDE_SUBDOMAINS"]
    assert shown["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert shown["SESSION_ENGINE"] == "django.contrib.sessions.backends.cached_db"
    assert shown["X_FRAME_OPTIONS"] == "DENY"
    assert shown["CACHES"]["default"]["BACKEND"] == "engine.redis_cache.RedisCache"
    assert shown["TASKS"]["default"]["BACKEND"] == "django_tasks_rq.RQBackend"
    assert shown["RQ_QUEUES"]["default"]["URL"] == env["TASKS_REDIS_URL"] != env["CACHE_URL"]
    assert shown["LINLI_PROXY_COUNT"] == 1


def test_the_development_defaults_stay_plain_http():
    """`make demo` and the tests run without HTTPS: no redirect, cookies over HTTP, no HSTS."""
    assert not settings.SECURE_SSL_REDIRECT and not settings.SESSION_COOKIE_SECURE
    assert settings.SECURE_HSTS_SECONDS == 0 and settings.SECURE_PROXY_SSL_HEADER is None


def test_kept_database_connections_are_checked_before_reuse():
    """A worker's kept connection dies when PostgreSQL restarts; Django then reconnects at the
    next request instead of answering it with a 500 (tests/load/test_faults.py restarts it)."""
    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True


@pytest.mark.parametrize("env, error", [
    ({"TASKS_BACKEND": "rq"}, "TASKS_BACKEND=rq needs TASKS_REDIS_URL=redis://host:port/db."),
    ({"TASKS_BACKEND": "rq", "CACHE_URL": "redis://127.0.0.1:6379/1", "TASKS_REDIS_URL": "redis://127.0.0.1:6379/1"},
     "TASKS_REDIS_URL must name another Redis database than CACHE_URL."),
    ({"LOGIN_FAILURE_LIMIT": "five"}, "LOGIN_FAILURE_LIMIT must be a whole number, not 'five'"),
])
def test_settings_refuse_a_task_queue_that_would_be_lost(env, error):
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_"))},
           "DJANGO_SETTINGS_MODULE": "config.settings", **env}
    done = subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and f"ImproperlyConfigured: {error}" in done.stderr, done.stderr[-2000:]


# ---------------------------------------------------------------- headers


def assert_security_headers(response, admin=False):
    policy = dict(part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";"))
    assert policy["default-src"] == "'self'" and policy["object-src"] == "'none'" and policy["base-uri"] == "'self'"
    assert policy["form-action"] == "'self'"
    if admin:  # Wagtail's inline scripts; the preview pane
        assert policy["script-src"] == "'self' 'unsafe-inline'" and policy["frame-ancestors"] == "'self'"
    else:
        assert policy["script-src"] == "'self'" and policy["frame-ancestors"] == "'none'"
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


@pytest.mark.django_db
def test_a_public_page_has_the_headers_when_rendered_and_when_served_from_the_cache(client):
    first, again = client.get("/"), client.get("/")
    assert first.status_code == again.status_code == 200
    assert again["X-Linli-Cache"] == "hit"
    assert_security_headers(first)
    assert_security_headers(again)


@pytest.mark.django_db
def test_the_api_has_the_headers(client):
    response = client.get("/api/v1/forms/")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert_security_headers(response)


# ---------------------------------------------------------------- CSRF


@pytest.fixture
def staff(django_user_model, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return django_user_model.objects.create_superuser("zhangwei", "zhangwei@example.cn", "linli-test")


def csrf_token(client, url):
    html = client.get(url).content.decode()
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


@pytest.mark.django_db
def test_the_admin_login_refuses_a_post_without_the_token_or_from_another_origin(staff):
    client = Client(enforce_csrf_checks=True)
    body = {"username": "zhangwei", "password": "linli-test"}
    assert client.post("/admin/login/", body).status_code == 403
    token = csrf_token(client, "/admin/login/")
    assert client.post("/admin/login/", {**body, "csrfmiddlewaretoken": token}, HTTP_ORIGIN=FOREIGN).status_code == 403
    assert "_auth_user_id" not in client.session
    signed = client.post("/admin/login/", {**body, "csrfmiddlewaretoken": token}, HTTP_ORIGIN="http://testserver")
    assert signed.status_code == 302 and client.session["_auth_user_id"] == str(staff.pk)


@pytest.mark.django_db
def test_https_requests_from_another_origin_are_refused_even_with_the_token(staff, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    client = Client(enforce_csrf_checks=True, HTTP_X_FORWARDED_PROTO="https", HTTP_HOST="testserver")  # behind the proxy
    token = csrf_token(client, "/admin/login/")
    body = {"username": "zhangwei", "password": "linli-test", "csrfmiddlewaretoken": token}
    assert client.post("/admin/login/", body, HTTP_REFERER=f"{FOREIGN}/login/").status_code == 403
    assert client.post("/admin/login/", body, HTTP_ORIGIN=FOREIGN).status_code == 403
    assert client.post("/admin/login/", body, HTTP_ORIGIN="https://testserver").status_code == 302


@pytest.mark.django_db
def test_the_api_with_a_session_refuses_another_origin(staff):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    client.get("/admin/")  # sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    url = "/api/v1/forms/minyue/resident-request/submissions/"
    refused = client.post(url, "{}", content_type="application/json", HTTP_X_CSRFTOKEN=token, HTTP_ORIGIN=FOREIGN)
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    same = client.post(url, "{}", content_type="application/json", HTTP_X_CSRFTOKEN=token,
                       HTTP_ORIGIN="http://testserver")
    assert same.status_code == 404  # past CSRF: no such form has been loaded


# ---------------------------------------------------------------- the admin under its policy


@pytest.mark.django_db
def test_the_admin_renders_under_its_own_policy_and_a_preview_under_the_public_one(staff, client):
    from cms.models import HomePage

    client.force_login(staff)
    home = HomePage.objects.get()
    for url in ["/admin/", "/admin/pages/", f"/admin/pages/{home.pk}/edit/", "/admin/images/", "/django-admin/"]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_security_headers(response, admin=True)
    # Wagtail renders a preview by sending a dummy request for the page through the middleware
    preview = home.make_preview_request(RequestFactory().get(f"/admin/pages/{home.pk}/edit/preview/"))
    assert preview.status_code == 200
    policy = preview["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "frame-ancestors 'self'" in policy  # the admin may frame it


def test_the_admin_calls_no_third_party():
    assert settings.WAGTAIL_GRAVATAR_PROVIDER_URL is None and settings.WAGTAIL_ENABLE_UPDATE_CHECK is False


# ---------------------------------------------------------------- in a browser

CHROMIUM = "/usr/bin/chromium"
WATCH = ("window.__csp = []; document.addEventListener('securitypolicyviolation', "
         "e => window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + e.sourceFile));")


def wagtail_home():
    """The site's home page. A transactional test empties the database when it ends, Wagtail's
    tree included (the migrations made it): then a new root, locale, home page and site."""
    from django.contrib.contenttypes.models import ContentType
    from wagtail.models import Locale, Page, Site

    from cms.models import HomePage

    home = HomePage.objects.first()
    if home is None:
        ContentType.objects.clear_cache()  # the emptied database's content types came back with new ids
        Locale.objects.get_or_create(language_code=settings.LANGUAGE_CODE)
        root = Page.get_first_root_node() or Page.add_root(instance=Page(title="Root", slug="root"))
        home = root.add_child(instance=HomePage(title="邻里", slug="home"))
        Site.objects.create(hostname="localhost", root_page=home, is_default_site=True)
    return home


@pytest.mark.browser
def test_no_page_breaks_its_policy_in_chromium(transactional_db, live_server, settings, tmp_path):
    """The public pages, the admin's pages and its preview pane, in Chromium: no violation."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} is missing: run `make browser-deps`")
    from io import StringIO

    from django.core.management import call_command
    from playwright.sync_api import sync_playwright

    from cms.models import HomePage, LinliFormPage

    wagtail_home()
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("load_definitions", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())
    pages = [p.url for p in HomePage.objects.live()][:3] + [LinliFormPage.objects.live().first().url]
    edit = f"/admin/pages/{HomePage.objects.filter(community__isnull=False).first().pk}/edit/"
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as driver:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            context = browser.new_context()
            context.add_init_script(WATCH)
            page = context.new_page()
            seen = {}
            for url in pages:
                page.goto(live_server.url + url)
                seen[url] = page.evaluate("window.__csp")
            page.goto(live_server.url + "/admin/login/")
            page.fill("input[name=username]", "admin")
            page.fill("input[name=password]", "linli-demo")
            page.click("button[type=submit]")
            page.wait_for_url("**/admin/")
            for url in ["/admin/", "/admin/pages/", "/admin/users/", "/admin/forms/", edit]:
                page.goto(live_server.url + url)
                page.wait_for_load_state("networkidle")
                seen[url] = page.evaluate("window.__csp")
            page.locator("[data-side-panel-toggle='preview']").first.click()
            preview = page.frame_locator("iframe[src*='preview']").locator("body")
            preview.wait_for()
            seen["preview"] = page.evaluate("window.__csp")
            assert {url: v for url, v in seen.items() if v} == {}
            assert "邻里 Linli" in page.frame_locator("iframe[src*='preview']").locator("title").inner_text()
        finally:
            browser.close()
            from django.db import connections

            connections.close_all()
