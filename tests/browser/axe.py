"""Accessibility checks in the browser tests: axe-core, run in the page under test.

axe comes from tests/browser/vendor/axe-core/ (the npm package, unchanged) and is injected as an
inline script: nothing is fetched from a CDN, and the page's own scripts are left as they are.
The check is WCAG 2.0 and 2.1 at levels A and AA, every rule of those tags; a test that needs
less should say why in a narrower `context`, never by switching rules off here.
"""

from functools import cache
from pathlib import Path

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
SHOWN_TARGETS = 3

# Runs in the page: plain data back, so a failure message needs no further round trips.
_RUN = """async ([context, options]) => {
    const results = await axe.run(context ?? document, options);
    return results.violations.map(v => ({
        id: v.id, impact: v.impact, help: v.help, count: v.nodes.length,
        targets: v.nodes.map(n => n.target.flat(Infinity).join(" >>> ")),
        summary: (v.nodes[0].failureSummary || "").split("\\n").slice(1, 2).join("").trim(),
    }));
}"""


@cache
def _source():
    return AXE.read_text(encoding="utf-8")


def violations(page, context=None):
    """axe's WCAG 2.0/2.1 A and AA violations on the page as it is now (`context`: a selector or
    axe's {include, exclude}; the whole document by default)."""
    if not page.evaluate("typeof window.axe === 'object'"):
        # evaluated through the DevTools protocol, not as a <script>: the site's Content Security
        # Policy (no inline script) stays on for the page under test
        page.evaluate("source => { (0, eval)(source); }", _source())
    options = {"runOnly": {"type": "tag", "values": WCAG}, "resultTypes": ["violations"]}
    return page.evaluate(_RUN, [context, options])


def describe(found):
    lines = []
    for v in found:
        more = f" (+{v['count'] - SHOWN_TARGETS} more)" if v["count"] > SHOWN_TARGETS else ""
        lines.append(f"- {v['id']} [{v['impact']}] {v['help']}: {', '.join(v['targets'][:SHOWN_TARGETS])}{more}"
                     + (f" — {v['summary']}" if v["summary"] else ""))
    return "\n".join(lines)


def assert_accessible(page, context=None):
    """Fails listing every violation: rule id, impact, what it asks, the first few elements."""
    found = violations(page, context)
    assert not found, f"axe found {len(found)} accessibility violation(s) on {page.url}:\n{describe(found)}"
