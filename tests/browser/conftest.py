"""Browser tests: Playwright's Python package driving Debian's Chromium (never a downloaded browser).

`make browser-deps` installs /usr/bin/chromium when it is missing; where it still is not there,
every test here is skipped with the reason rather than failing — except in CI (the CI environment
variable set, as `.ci/run` is run), where a missing browser fails the run: CI must not pass with
its browser tests silently skipped.
"""

import io
import os
import tempfile
from pathlib import Path

import pytest
from django.core.management import call_command

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# docs/screenshots/ is refreshed only when asked (LINLI_SCREENSHOTS=1), so a test run leaves the
# work tree clean; otherwise the pictures go to a scratch folder (still taken: taking them is tested).
SCREENSHOTS = (Path(__file__).resolve().parents[2] / "docs" / "screenshots" if os.environ.get("LINLI_SCREENSHOTS")
               else Path(tempfile.gettempdir()) / "linli-screenshots")
PHONE = {"viewport": {"width": 390, "height": 844}, "locale": "zh-CN", "is_mobile": True, "has_touch": True,
         "device_scale_factor": 2}
PASSWORD = "linli-demo"
MISSING = f"{CHROMIUM} is missing: run `make browser-deps` (apt-get install chromium fonts-noto-cjk)"


def chromium_missing():
    return not os.access(CHROMIUM, os.X_OK)


def in_ci():
    """CI=true (or any value but empty, 0, false, no), as CI services and `.ci/run` set it."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def pytest_collection_modifyitems(config, items):
    """Without Chromium, skip before any set-up (the database is not even created for these);
    in CI, stop the run instead, saying why."""
    if chromium_missing():
        here = Path(__file__).parent
        browser_items = [item for item in items if here in item.path.parents]
        if browser_items and in_ci():
            raise pytest.UsageError(f"CI is set and {len(browser_items)} browser tests cannot run: {MISSING}")
        for item in browser_items:
            item.add_marker(pytest.mark.skip(reason=MISSING))


@pytest.fixture
def site(django_db_serialized_rollback, transactional_db, settings, tmp_path):
    """The demo: form definitions, users (password linli-demo) and a published page per form.

    The live server needs a transactional database, which is emptied after each test; serialized
    rollback puts back what the migrations created (Wagtail's root page, home page and site)."""
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast demo users
    call_command("load_definitions", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())


@pytest.fixture
def browser(site):
    """Chromium, started after the database is ready and stopped before it is emptied.

    Playwright's sync API keeps an asyncio loop running in the test's thread while it is started.
    Django then takes that thread's database connections from per-context storage (without the
    serialized migration data, so the next test would start with no Wagtail site) and refuses ORM
    calls. So the loop runs only between `site` (with the database set-up before it) and the
    flush after the test. In the test body, ORM calls, made only between page actions, are
    allowed, and the extra connection they open is closed here."""
    if chromium_missing():
        pytest.fail(MISSING) if in_ci() else pytest.skip(MISSING)
    from django.db import connections
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as patch, sync_playwright() as driver:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
            connections.close_all()  # the connections opened while the loop was running


class Problems:
    """Console errors and uncaught exceptions seen by a page."""

    def __init__(self, page):
        self.items = []
        page.on("console", lambda message: message.type == "error" and self.items.append(
            f"console: {message.text} ({message.location.get('url', '')})"))
        page.on("pageerror", lambda error: self.items.append(f"pageerror: {error}"))


@pytest.fixture
def new_page(browser, live_server):
    """new_page(javascript=True, **context options) -> (page, problems) at a 390×844 phone in zh-CN."""
    contexts = []

    def make(javascript=True, **options):
        context = browser.new_context(**{**PHONE, **options}, java_script_enabled=javascript,
                                      base_url=live_server.url)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        return page, Problems(page)

    yield make
    for context in contexts:
        context.close()


def log_in(page, username, next_url):
    """Signs in through the real login page, which sends the user on to `next_url`."""
    page.goto(f"/admin/login/?next={next_url}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit], form input[type=submit]").first.click()
    page.wait_for_url(f"**{next_url}")


def screenshot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def assert_fits_a_phone(page):
    """No horizontal scrolling at 390 px, and every visible control or link is at least 44 px tall."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways: {width}px wide"
    small = page.evaluate("""() => Array.from(document.querySelectorAll(
          'header a, header button, main button, main a, main select, '
        + 'main input:not([type=hidden]):not([type=radio]):not([type=checkbox]), '
        + 'main textarea, main label:has(input[type=radio], input[type=checkbox])'))
        .filter(e => e.offsetParent !== null)
        .map(e => [e.outerHTML.slice(0, 80), Math.round(e.getBoundingClientRect().height)])
        .filter(([, h]) => h < 44)""")
    assert not small, f"touch targets under 44px: {small}"
