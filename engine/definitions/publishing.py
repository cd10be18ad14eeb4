"""Publishing checked definitions as numbered versions — the Django adapter of the pipeline.

One action, `publish_definitions`, used by `load_definitions` and (later) the admin editor:
all definitions of a run are written in one transaction, each community's row locked first so
that two publishers racing on the same community queue up instead of both numbering version N.
Only what changed (by content hash) gets a new version; running it twice publishes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Max

from engine.models import Community, Definition, DefinitionVersion

from .problems import DefinitionError, Problem


@dataclass
class PublishReport:
    published: list[DefinitionVersion] = field(default_factory=list)
    unchanged: list[Definition] = field(default_factory=list)


def _text(value, language):
    if isinstance(value, dict):
        return value.get(language, "")
    return value if language == "zh-hans" else ""


def _ordered_communities(definitions):
    """Community definitions, each after the parent it names (when the parent is in the run)."""
    pending = {d.community: d for d in definitions if d.kind == "community"}
    ordered = []
    while pending:
        ready = [d for d in pending.values() if d.data.get("parent") not in pending or d.data.get("parent") == d.community]
        if not ready:  # a loop: the pipeline reports it; never reached with checked input
            ready = list(pending.values())
        for definition in sorted(ready, key=lambda d: d.community):
            ordered.append(pending.pop(definition.community))
    return ordered


def publish_definitions(definitions, *, user=None, note="") -> PublishReport:
    """Publish checked `Definition`s (from `pipeline.check_files`) in one transaction."""
    definitions = [d for d in definitions if d.publishable]
    report = PublishReport()
    with transaction.atomic():
        communities = {}
        for definition in _ordered_communities(definitions):
            data = definition.data
            community, _ = Community.objects.get_or_create(slug=data["community"], defaults={"name": data["community"]})
            community = Community.objects.select_for_update().get(pk=community.pk)
            parent = Community.objects.get(slug=data["parent"]) if data.get("parent") else None
            values = {"name": _text(data["name"], "zh-hans"), "name_en": _text(data["name"], "en"),
                      "kind": data.get("kind", "community"), "parent": parent}
            if any(getattr(community, k) != v for k, v in values.items()):
                for k, v in values.items():
                    setattr(community, k, v)
                community.save()
            communities[definition.community] = community
        for definition in definitions:
            community = communities.get(definition.community)
            if community is None:
                community = Community.objects.select_for_update().filter(slug=definition.community).first()
                if community is None:
                    raise DefinitionError([Problem("community.missing", {"folder": definition.community},
                                                   path=definition.path)])
                communities[definition.community] = community
            published = _publish_one(definition, community, user, note, report)
            if definition.kind == "community" and (published or not community.units.exists()):
                from engine.services.org import sync_org_tree

                sync_org_tree(community, definition.data)  # the tree follows the live file, in this transaction
        for community in {c.pk: c for c in communities.values()}.values():
            link_forms_to_flows(community)
    return report


def link_forms_to_flows(community) -> None:
    """Point each form of the community at the live flow that handles it (or at none)."""
    handler = {}
    flows = (Definition.objects.filter(community=community, kind="flow", live_version__isnull=False)
             .select_related("live_version").order_by("pk"))
    for flow in flows:
        handler.setdefault(flow.live_version.data.get("form"), flow.pk)
    for form in Definition.objects.filter(community=community, kind="form"):
        if form.flow_id != handler.get(form.key):
            Definition.objects.filter(pk=form.pk).update(flow_id=handler.get(form.key))


def _publish_one(definition, community, user, note, report):
    record, _ = Definition.objects.get_or_create(community=community, kind=definition.kind, key=definition.key)
    record = Definition.objects.select_for_update(of=("self",)).select_related("live_version").get(pk=record.pk)
    content_hash = definition.content_hash
    if record.live_version is not None and record.live_version.content_hash == content_hash:
        report.unchanged.append(record)
        return False
    number = (record.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    version = DefinitionVersion.objects.create(
        community=community, definition=record, number=number, content=definition.content,
        content_hash=content_hash, source=definition.source, source_path=definition.path,
        published_by=user, note=note,
    )
    record.live_version = version
    record.save(update_fields=["live_version"])
    report.published.append(version)
    return True


def rollback_definition(record: Definition, number: int, *, user=None) -> DefinitionVersion:
    """Re-publish the content of version `number` as a new version (history is never rewritten)."""
    with transaction.atomic():
        record = Definition.objects.select_for_update().get(pk=record.pk)
        old = record.versions.get(number=number)
        latest = record.versions.aggregate(n=Max("number"))["n"]
        version = DefinitionVersion.objects.create(
            community=record.community, definition=record, number=latest + 1, content=old.content,
            content_hash=old.content_hash, source=old.source, source_path=old.source_path,
            published_by=user, note=f"rollback to v{number}",
        )
        record.live_version = version
        record.save(update_fields=["live_version"])
        link_forms_to_flows(record.community)
    return version
