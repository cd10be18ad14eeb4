"""Compiled forms and community indexes, built once per published version and kept.

Versions are immutable, so a cache keyed by version id never goes stale; it is bounded so a
process that serves many communities does not grow without limit.
"""

from engine.definitions.community import index_community
from engine.definitions.sources import Document

from .spec import FormSpec, compile_form


def form_spec(version) -> FormSpec:
    """The compiled form of a DefinitionVersion (kind form)."""
    cached = _SPECS.get(version.pk)
    if cached is None:
        definition = version.definition
        cached = compile_form(definition.community.slug, definition.key, version.number, version.content)
        if len(_SPECS) > 4096:
            _SPECS.clear()
        _SPECS[version.pk] = cached
    return cached


_SPECS: dict[int, FormSpec] = {}
_INDEXES: dict[int, object] = {}


def community_index(community):
    """The names of a community's live definition (units, posts, items, teams...)."""
    from engine.models import Definition

    record = Definition.objects.filter(community=community, kind="community").select_related("live_version").first()
    if record is None or record.live_version is None:
        return None
    version = record.live_version
    cached = _INDEXES.get(version.pk)
    if cached is None:
        doc = Document(version.source_path, version.data, "")
        cached, _ = index_community(doc, "_")
        _INDEXES[version.pk] = cached
    return cached
