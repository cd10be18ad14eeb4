"""The public site as an anonymous visitor finds it, on a phone and on a desktop.

The pages are found by following links from "/" (and the announcement list's search box), never
by their slugs: a page type nobody links to fails here. One page of each type is then opened in
Chromium: it renders with a heading, logs no error, every same-site link on it answers, it fits
the screen, and axe finds no WCAG 2.1 A/AA violation."""

from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from django.urls import resolve

from cms.models import (AnnouncementIndexPage, AnnouncementPage, HomePage, HonourRollIndexPage, HonourRollPage,
                        PostBoardPage, StatisticsPage)
from engine.models import Community

from .axe import assert_accessible
from .conftest import assert_fits_a_phone, screenshot

pytestmark = pytest.mark.browser

PUBLIC_TYPES = (HomePage, AnnouncementIndexPage, AnnouncementPage, HonourRollIndexPage, HonourRollPage,
                PostBoardPage, StatisticsPage)
KINDS = {AnnouncementIndexPage: "announcements", AnnouncementPage: "announcement",
         HonourRollIndexPage: "honour-rolls", HonourRollPage: "honour-roll", PostBoardPage: "post-board",
         StatisticsPage: "statistics"}
# every kind of public page a visitor must be able to reach, in the order they are checked
EXPECTED = ["home", "street", "community", "announcements", "announcement", "honour-rolls", "honour-roll",
            "post-board", "statistics", "contact"]
NOT_WALKED = ("/admin/", "/django-admin/")  # the admin is tested elsewhere; the walk stays on the public site
MOST_PAGES = 200  # a walk that finds more is following a loop (a pager or filter gone wrong)
SIZES = {
    "phone": {},  # conftest's default: 390×844, touch
    "desktop": {"viewport": {"width": 1280, "height": 800}, "is_mobile": False, "has_touch": False,
                "device_scale_factor": 1},
}


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs = []

    def handle_starttag(self, tag, attrs):
        href = dict(attrs).get("href") if tag == "a" else None
        if href:
            self.hrefs.append(href)


def same_site(href, base):
    """The path and query of a link to the site under test, or None for another site, the admin, a
    mailto: and the like. Fragments are dropped: they name a place on a page already walked."""
    url, site = urlsplit(urljoin(base, href)), urlsplit(base)
    if (url.scheme, url.netloc) != (site.scheme, site.netloc) or url.path.startswith(NOT_WALKED):
        return None
    return url.path + (f"?{url.query}" if url.query else "")


def walk(page, base):
    """{path: status} for every same-site page reachable by links from "/", in the order found.

    Requests go through the page's context (its cookies: none, an anonymous visitor) and follow
    redirects; only pages that end up on the public site as HTML are read for more links."""
    statuses, queue = {}, ["/"]
    while queue:
        path = queue.pop(0)
        if path in statuses:
            continue
        assert len(statuses) < MOST_PAGES, f"the walk from / found over {MOST_PAGES} pages: {list(statuses)[-10:]}"
        response = page.request.get(path)
        statuses[path] = response.status
        if (response.status != 200 or "text/html" not in response.headers.get("content-type", "")
                or same_site(response.url, base) is None):
            continue
        parser = _Links()
        parser.feed(response.text())
        queue += [link for href in parser.hrefs if (link := same_site(href, response.url)) is not None]
    return statuses


def public_pages():
    """{path: page} for every live page of the public types (the ORM: only between page actions)."""
    from wagtail.models import Page

    return {page.get_url(): page for page in Page.objects.live().type(*PUBLIC_TYPES).specific()}


def kind_of(path, pages):
    """Which kind of public page a walked path shows, or None (the search, a form, the login…)."""
    path = urlsplit(path).path
    if resolve(path).url_name == "linli-contact-holder":
        return "contact"
    page = pages.get(path)
    if isinstance(page, HomePage):
        if page.community is None:
            return "home"
        return "street" if page.community.kind == Community.Kind.STREET else "community"
    return KINDS.get(type(page))


def first_of_each_kind(statuses, pages):
    found = {}
    for path, status in statuses.items():
        kind = kind_of(path, pages) if status == 200 else None  # a broken link fails where it is shown
        if kind and "?" not in path:  # a filtered list is the same page as the list
            found.setdefault(kind, path)
    return found


class Checks:
    """What every public page must pass, run on the page as it is now. A failing check is noted,
    not raised, so one run lists every page's problems; `assert_passed` then fails with them all."""

    def __init__(self, page, problems, size, statuses):
        self.page, self.problems, self.size = page, problems, size
        self.statuses = statuses  # path -> status, shared: each link is requested once
        self.failures = []

    def run(self, name, response=None, *more):
        """The checks, then `more` (callables given the response, asserting what this page must show)."""
        for check in (self.renders, self.links_answer, self.fits, self.accessible, *more):
            try:
                check(response)
            except AssertionError as error:
                self.failures.append(f"{name} ({urlsplit(self.page.url).path}): {_message(error)}")
        screenshot(self.page, f"public-{name}-{self.size}.png")

    def renders(self, response):
        if response is not None:
            assert response.status == 200, f"answered {response.status}"
        heading = self.page.locator("h1")
        assert heading.count() and heading.first.is_visible() and heading.first.inner_text().strip(), "no visible h1"
        errors, self.problems.items[:] = list(self.problems.items), []
        assert not errors, f"errors in the browser: {errors}"

    def links_answer(self, _):
        hrefs = self.page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))")
        broken = []
        for path in dict.fromkeys(p for href in hrefs if (p := same_site(href, self.page.url)) is not None):
            if path not in self.statuses:
                self.statuses[path] = self.page.request.get(path).status
            if self.statuses[path] != 200:
                broken.append(f"{path} answers {self.statuses[path]}")
        assert not broken, f"broken links: {broken}"

    def fits(self, _):
        if self.size == "phone":
            assert_fits_a_phone(self.page)
        else:
            width = self.page.evaluate("document.documentElement.scrollWidth")
            assert width <= 1280, f"the page scrolls sideways: {width}px wide"

    def accessible(self, _):
        assert_accessible(self.page)

    def assert_passed(self):
        assert not self.failures, f"{len(self.failures)} problem(s):\n" + "\n".join(self.failures)


def _message(error):
    """The assertion's own message, without pytest's restatement of the expression after it."""
    lines = str(error).splitlines()
    cut = next((n for n, line in enumerate(lines) if n and line.startswith("assert ")), len(lines))
    return "\n".join(lines[:cut])


def search_from(page, path, title):
    """Types `title` into the search box on `path` and sends it: the results page."""
    page.goto(path)
    search = page.get_by_role("search")
    search.get_by_role("searchbox").fill(title)
    with page.expect_navigation() as navigation:
        search.get_by_role("button").click()
    return navigation.value


@pytest.mark.parametrize("size", list(SIZES))
def test_every_kind_of_public_page(new_page, live_server, size):
    page, problems = new_page(**SIZES[size])
    statuses = walk(page, live_server.url)
    pages = public_pages()
    found = first_of_each_kind(statuses, pages)
    missing = [kind for kind in EXPECTED if kind not in found]
    assert not missing, f"no link leads from / to a page of these kinds: {missing}; walked {list(statuses)}"

    checks = Checks(page, problems, size, statuses)
    for kind in EXPECTED:
        checks.run(kind, page.goto(found[kind]))
    announcement = pages[found["announcement"]]

    def finds_the_announcement(_):
        assert urlsplit(page.url).path == "/search/", f"the search box leads to {page.url}"
        assert page.locator(f"main a[href='{announcement.get_url()}']").count() == 1, \
            f"searching for its title does not find {announcement.title!r}"

    checks.run("search", search_from(page, found["announcements"], announcement.title), finds_the_announcement)
    checks.assert_passed()


def test_every_public_page_is_linked_from_the_home_page(new_page, live_server):
    """A published page no link leads to is a page nobody finds."""
    page, _ = new_page()
    walked = {urlsplit(path).path for path in walk(page, live_server.url)}
    unlinked = sorted(path for path in public_pages() if path and path not in walked)
    assert not unlinked, f"published pages no link from / leads to: {unlinked}"
