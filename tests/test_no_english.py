"""Chinese pages show no English (issue #16).

Each demo role signs in and walks every Linli page it can reach from its landing pages (links
followed on the site: the inbox, my items, an item, my consents, the public community pages, the
admin area /admin/linli/…, the people screens, the dashboard), rendered in zh-hans. A page fails
when a text a person reads (a text node, or a title/placeholder/aria-label/alt/button value)
is one of Linli's own msgids rendered untranslated — the msgid as is, while the catalogue has a
Chinese msgstr for it — or holds a word from KNOWN_LEAKS, English that once reached Chinese pages.
The last test shows the check would catch a leak: the same pages in English fail it.
"""

import gettext
import io
import re
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from engine.demo import DEMO_PASSWORD

CATALOGUE = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.mo"
ROLES = ["admin", "minyue-secretary", "minyue-grid-leader", "minyue-member", "minyue-resident",
         "minyue-household-representative"]
# English seen on Chinese pages before (issue #16); matched as whole words, case-sensitive
KNOWN_LEAKS = ["Password", "Messages for you", "Mark all as read", "nobody to assign", "is live",
               "The communities you manage", "Kind", "Published at", "Published by", "Revision", "not recorded",
               "Roll back", "Rolling back", "Nothing has been published", "Sign in", "Sign out", "Log out",
               "Submit", "Inbox", "My items", "Definitions", "Versions", "Source file", "Diagram"]
LEAK_PATTERN = re.compile(r"(?<![A-Za-z])(" + "|".join(re.escape(w) for w in KNOWN_LEAKS) + r")(?![A-Za-z])")
# where a person reads Linli's pages; the rest of Wagtail's admin, the API and files are not walked
WALKED = ("/inbox/", "/my/", "/items/", "/login/", "/admin/linli/", "/search/", "/posts/")
NOT_WALKED = ("/admin/", "/api/", "/django-admin/", "/files/", "/documents/", "/i18n/", "/logout/", "/static/",
              "/media/")
PAGES_PER_ROLE = 120
SAME_SHAPE = 2  # /items/1/, /items/2/… : two of a shape are enough
VISIBLE_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")
NOT_WORDS = {"script", "style", "template", "pre", "code", "textarea"}  # code and data, not Linli's words


def untranslated_msgids():
    """Linli's msgids with a Chinese msgstr different from them: {msgid: msgstr}."""
    with CATALOGUE.open("rb") as mo:
        catalogue = gettext.GNUTranslations(mo)._catalog
    found = {}
    for key, msgstr in catalogue.items():
        msgid = key[0] if isinstance(key, tuple) else key
        msgid = msgid.split("\x04", 1)[-1]  # msgctxt\x04msgid
        if msgid and msgstr and msgstr != msgid and re.search(r"[A-Za-z]{2}", msgid):
            found[msgid] = msgstr
    return found


def _pattern(msgid):
    """A msgid as a regular expression: its placeholders match anything; None when too little of it is
    fixed English to tell it from other text."""
    parts = re.split(r"%\([a-z_]+\)[sd]|%[sd]|\{[a-z_]*\}", msgid)
    if sum(len(re.findall(r"[A-Za-z]", part)) for part in parts) < 12 or len(parts) == 1:
        return None
    return re.compile(".+?".join(re.escape(" ".join(part.split())) for part in parts))


class Words(HTMLParser):
    """The texts a person reads on a page, and the links on it."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.texts, self.links, self.skipping = [], [], []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag in NOT_WORDS:
            self.skipping.append(tag)
        if tag == "a" and attributes.get("href"):
            self.links.append(attributes["href"])
        for name in VISIBLE_ATTRIBUTES:
            if attributes.get(name):
                self.texts.append(attributes[name])
        if tag in ("input", "button") and attributes.get("type") in ("submit", "button") and attributes.get("value"):
            self.texts.append(attributes["value"])

    def handle_endtag(self, tag):
        if self.skipping and self.skipping[-1] == tag:
            self.skipping.pop()

    def handle_data(self, data):
        if not self.skipping and data.strip():
            self.texts.append(" ".join(data.split()))


def leaks(html, msgids, patterns, keys=frozenset()):
    """English a Chinese reader would meet on the page: [(text, why)]. `keys`: the communities' own
    identifiers (a form's key, a role's key), which admin pages show beside the title on purpose."""
    words = Words()
    words.feed(html)
    found = []
    for text in words.texts:
        if text in keys:
            continue
        if text in msgids:
            found.append((text, f"untranslated msgid (its msgstr is {msgids[text]!r})"))
            continue
        for msgid, pattern in patterns:
            if pattern.search(text):
                found.append((text, f"untranslated msgid {msgid!r}"))
                break
        else:
            match = LEAK_PATTERN.search(text)
            if match:
                found.append((text, f"known leak {match.group(1)!r}"))
    return found


def _walkable(url):
    path = urlsplit(url).path
    if urlsplit(url).netloc or not path.startswith("/") or path.startswith(NOT_WALKED) and not path.startswith(WALKED):
        return False
    return not re.search(r"\.(csv|xlsx|json|pdf|png|jpg|svg|ico)$", path)


def walk(client, starts, language="zh-hans"):
    """Every Linli page reachable by links from `starts`: {url: html}."""
    seen, pages, queue, shapes = set(), {}, list(starts), Counter()
    while queue and len(pages) < PAGES_PER_ROLE:
        url = urldefrag(queue.pop(0))[0]
        if url in seen or not _walkable(url):
            continue
        seen.add(url)
        shape = re.sub(r"\d+", "N", url)
        shapes[shape] += 1
        if shapes[shape] > SAME_SHAPE:
            continue
        response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        html = response.content.decode()
        pages[url] = html
        words = Words()
        words.feed(html)
        queue.extend(link for link in words.links if link not in seen)
    return pages


@pytest.fixture
def demo(db, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    call_command("load_definitions", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())
    from engine.models import Community, Definition, OrgUnit, Person
    from engine.services.submissions import submit

    community = Community.objects.get(slug="minyue")
    resident = get_user_model().objects.get(username="minyue-resident")
    grid = Person.objects.get(user=resident).unit or OrgUnit.objects.filter(community=community, level="grid").first()
    form = Definition.objects.get(community=community, kind="form", key="resident-request")
    data = {"category": "facilities", "subject": "楼道灯坏了", "details": "3号楼2单元楼道灯坏了一个星期",
            "urgency": "normal", "address": {"unit": grid.key}, "contact_name": "张明", "contact_preference": "visit"}
    submit(form=form, data=data, user=resident)
    keys = set(Definition.objects.values_list("key", flat=True))
    for record in Definition.objects.filter(live_version__isnull=False).select_related("live_version"):
        data = record.live_version.data
        keys |= {role["key"] for role in (data.get("roles") or [])} if record.kind == "community" else set()
        keys |= _field_names(data) if record.kind == "form" else set()
    return community, frozenset(keys)


def _field_names(node):
    """A form's field keys, however deep (the simulator shows sample data by key)."""
    names = set()
    if isinstance(node, dict):
        names |= set(node.get("properties") or {}) if isinstance(node.get("properties"), dict) else set()
        for value in node.values():
            names |= _field_names(value)
    elif isinstance(node, list):
        for value in node:
            names |= _field_names(value)
    return names


def signed_in(username, language="zh-hans"):
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    assert client.login(username=username, password=DEMO_PASSWORD)
    return client


def starts_for(community):
    slug = community.slug
    return ["/", "/inbox/", "/inbox/messages/", "/my/", "/my/consents/", "/admin/",
            "/admin/linli/", f"/admin/linli/people/{slug}/", f"/admin/linli/dashboard/{slug}/"]


@pytest.mark.slow
@pytest.mark.parametrize("username", ROLES)
def test_every_page_a_demo_role_reaches_is_chinese(demo, username):
    msgids = untranslated_msgids()
    patterns = [(m, p) for m in msgids if (p := _pattern(m)) is not None]
    community, keys = demo
    pages = walk(signed_in(username), starts_for(community))
    assert len(pages) >= 4, f"{username} reached only {sorted(pages)}"
    found = {url: leaks(html, msgids, patterns, keys) for url, html in pages.items()}
    found = {url: words for url, words in found.items() if words}
    assert not found, "English on Chinese pages:\n" + "\n".join(
        f"  {url}: {text!r} — {why}" for url, words in found.items() for text, why in words[:5])


@pytest.mark.django_db
def test_the_sign_in_page_is_chinese(client):
    msgids = untranslated_msgids()
    html = client.get("/login/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "密码" in html
    assert leaks(html, msgids, [(m, p) for m in msgids if (p := _pattern(m)) is not None]) == []


@pytest.mark.django_db
def test_the_check_catches_english(client, settings):
    """The same pages in English fail the check: it is not blind."""
    msgids = untranslated_msgids()
    patterns = [(m, p) for m in msgids if (p := _pattern(m)) is not None]
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get("/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    found = leaks(html, msgids, patterns)
    assert ("Password", "untranslated msgid (its msgstr is '密码')") in found


@pytest.mark.slow
def test_the_check_catches_english_in_the_admin_area(demo):
    msgids = untranslated_msgids()
    patterns = [(m, p) for m in msgids if (p := _pattern(m)) is not None]
    client = signed_in("admin", language="en")
    html = client.get("/admin/linli/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert any(why.startswith("untranslated msgid") for _, why in leaks(html, msgids, patterns, demo[1]))


def test_a_msgid_with_placeholders_is_found_inside_a_text():
    msgids = {"v%(number)s is live. Open a version to read its source": "线上版本为 v%(number)s。"}
    patterns = [(m, _pattern(m)) for m in msgids]
    assert leaks("<p>v3 is live. Open a version to read its source</p>", msgids, patterns)
    assert leaks("<p>线上版本为 v3。</p>", msgids, patterns) == []
    assert leaks('<button title="Mark all as read">✓</button>', {}, []) == [
        ("Mark all as read", "known leak 'Mark all as read'")]
    assert leaks("<pre>Kind: form</pre><script>var Kind = 1</script>", {}, []) == []


def _entries(po_text):
    """(flags, msgid, msgstr) per entry of a .po file; obsolete (#~) entries left out."""
    for block in po_text.split("\n\n"):
        lines = [line for line in block.strip().splitlines() if not line.startswith("#~")]
        flags = " ".join(line for line in lines if line.startswith("#,"))
        fields, current = {}, None
        for line in lines:
            if line.startswith("#"):
                continue
            if line.startswith('"'):
                fields[current] += line[1:-1]
            else:
                current, _, value = line.partition(" ")
                fields[current] = value[1:-1]
        if fields.get("msgid"):
            yield flags, fields["msgid"], fields.get("msgstr", fields.get("msgstr[0]", ""))


def test_every_msgid_in_the_catalogue_has_its_chinese():
    """An entry without a msgstr, or fuzzy, is not compiled: its English would reach Chinese pages."""
    po = CATALOGUE.with_suffix(".po").read_text(encoding="utf-8")
    entries = list(_entries(po))
    assert len(entries) > 500
    assert [msgid for flags, msgid, msgstr in entries if not msgstr or "fuzzy" in flags] == []
    msgids = untranslated_msgids()
    assert msgids["Password"] == "密码" and msgids["Messages for you"] == "给您的消息"


def test_the_catalogue_reader_sees_an_empty_or_fuzzy_entry():
    po = 'msgid "Kind"\nmsgstr ""\n\n#, fuzzy\nmsgid "Title"\nmsgstr "标题"\n\n#~ msgid "Old"\n#~ msgstr "旧"\n'
    assert list(_entries(po)) == [("", "Kind", ""), ("#, fuzzy", "Title", "标题")]


def test_an_api_id_error_speaks_the_readers_language():
    from django.utils import translation

    from engine.api.views import _id_error

    with translation.override("zh-hans"):
        assert _id_error({"person": "x"}, "person") == {"/person": ["请填写人员编号（整数）"]}
    with translation.override("en"):
        assert _id_error({"person": True}, "person") == {"/person": ["Give the person's id (a whole number)"]}
    assert _id_error({"person": 3}, "person") == {}
