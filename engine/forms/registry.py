"""Compiled forms and community indexes, built once per published version and kept.

Versions are immutable, so a cache keyed by version id never goes stale; it is bounded so a
process that serves many communities does not grow without limit.
"""

from engine.definitions.community import index_community
from engine.definitions.sources import Document

from .spec import FormSpec, compile_form


def ordered_content(version) -> dict:
    """A form version's content with its fields in the order the author wrote them.

    PostgreSQL's jsonb keeps no key order, so the stored JSON may come back reordered; the
    stored source text is the same document (its hash is the content's) in the author's order.
    """
    import json

    content = version.content
    if version.source:
        try:
            return {**content, "definition": json.loads(version.source)}
        except ValueError:
            pass
    return content


def form_spec(version) -> FormSpec:
    """The compiled form of a DefinitionVersion (kind form)."""
    key = (version.pk, version.content_hash)  # the hash too: a test database may reuse ids
    cached = _SPECS.get(key)
    if cached is None:
        definition = version.definition
        cached = compile_form(definition.community.slug, definition.key, version.number, ordered_content(version))
        if len(_SPECS) > 4096:
            _SPECS.clear()
        _SPECS[key] = cached
    return cached


_SPECS: dict[tuple, FormSpec] = {}
_INDEXES: dict[int, object] = {}


def _live_community_version(community):
    """(version id, content hash) of the community's live file — one light query; the content
    is loaded only when a cache does not hold it yet."""
    from engine.models import Definition

    row = (Definition.objects.filter(community=community, kind="community")
           .values_list("live_version_id", "live_version__content_hash").first())
    return row if row and row[0] is not None else None


def community_index(community):
    """The names of a community's live definition (units, posts, items, teams...)."""
    from engine.models import Definition

    key = _live_community_version(community)
    if key is None:
        return None
    cached = _INDEXES.get(key)
    if cached is None:
        from engine.models import DefinitionVersion

        version = DefinitionVersion.objects.get(pk=key[0])
        doc = Document(version.source_path, version.data, "")
        cached, _ = index_community(doc, "_")
        _INDEXES[key] = cached
    return cached


_CHOICES: dict[tuple, dict] = {}


def community_choices(community, language="zh-hans") -> dict[str, list[tuple[str, str]]]:
    """(key, title) lists for unit, post, store-item and team fields, from the live community file."""
    from engine.models import Definition

    from .spec import text

    live = _live_community_version(community)
    if live is None:
        return {}
    key = (*live, language)
    if key not in _CHOICES:
        from engine.models import DefinitionVersion

        data = DefinitionVersion.objects.get(pk=live[0]).data
        units = []

        def walk(nodes, depth):
            for node in nodes:
                units.append((node["id"], "\u3000" * depth + text(node["name"], language)))
                walk(node.get("children", []), depth + 1)

        walk(data.get("units", []), 0)
        posts = [(p["key"], text(p["title"], language)) for c in data.get("posts", {}).get("categories", [])
                 for p in c["posts"]]
        items = [(i["key"], f"{text(i['title'], language)} ({i['cost']})")
                 for i in data.get("points", {}).get("store", {}).get("items", [])]
        teams = [(t["key"], text(t["title"], language)) for t in data.get("teams", [])]
        _CHOICES[key] = {"unit": units, "post": posts, "store-item": items, "team": teams}
    return _CHOICES[key]
