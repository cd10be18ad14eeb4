"""Drafts of definitions in the admin editor: saving, checking, discarding and publishing them.

What it owns: the `DefinitionDraft` rows and the one action per write path on them —
`start_new` (a new form or flow), `save_draft`, `discard_draft`, `publish_draft`. Checking
(`check_draft`) writes nothing: it runs the same three gates as `check_definitions` and
`load_definitions` (`engine.definitions.pipeline.check_files`) over the community's live files,
as they were published (their stored sources), with the draft's file put in place of its live one
or added beside them — so a flow naming a form that does not exist, or a community file dropping
a role a flow still uses, is caught before anything is published.

What it must never do: publish a draft that has any problem (in its own file or in a sibling it
breaks), or overwrite a draft saved by someone else since the caller loaded it. Publishing goes
through `engine.definitions.publishing.publish_definitions`, the action every publisher uses.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext_lazy, gettext_noop

from engine.definitions.pipeline import SHARED, CheckResult, Definition as CheckedDefinition, SourceFile, check_files
from engine.definitions.problems import DefinitionError, PersonError, Problem
from engine.definitions.publishing import publish_definitions
from engine.models import Community, Definition, DefinitionDraft, DefinitionVersion

KINDS = ("community", "form", "flow")
NEW_KINDS = ("form", "flow")
KEY_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
KEY_MAX = 64


class DraftConflict(PersonError):
    """Someone saved (or published, or discarded) the draft since the caller loaded it."""

    code = "draft.conflict"
    message = gettext_noop("The draft was changed by {editor} after you opened it (it is at revision {current}; "
                           "you opened revision {expected}). Reopen the editor and merge the changes before saving.")


class KeyRefused(PersonError):
    """A new form or flow's key is not a usable file name, or is taken."""

    code = "draft.key"


class BadKey(KeyRefused):
    message = gettext_noop("'{key}' cannot be used as a key: use lowercase letters, digits and hyphens "
                           "(such as repair-request), at most 64 characters.")


class KeyTaken(KeyRefused):
    message = gettext_noop("This community already has a {kind} with the key '{key}'.")


class NothingToPublish(PersonError):
    code = "draft.unchanged"
    message = gettext_noop("The draft has the same content as the live version, v{number}: there is nothing to publish.")


_KIND_WORDS = {"form": gettext_lazy("form"), "flow": gettext_lazy("flow")}  # lazy: said in the reader's language


# ---------------------------------------------------------------- where a file lies


def draft_path(community: Community, kind: str, key: str) -> str:
    """The file a definition is published from: the layout of the contract."""
    if kind == "community":
        return f"workflows_yaml/{community.slug}/community.yaml"
    if kind == "flow":
        return f"workflows_yaml/{community.slug}/{key}.flow.yaml"
    if kind == "form":
        return f"forms_schemas/{community.slug}/{key}.schema.json"
    raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")


def version_text(version: DefinitionVersion) -> str:
    """The file text a version was published from (JSON, valid YAML too, when none was kept)."""
    return version.source or json.dumps(version.data, ensure_ascii=False, indent=2)


def live_text(community: Community, kind: str, key: str) -> str | None:
    version = (DefinitionVersion.objects.filter(definition__community=community, definition__kind=kind,
                                                definition__key=key, definition__live_version=F("pk"))
               .only("source", "content").first())
    return version_text(version) if version else None


# ---------------------------------------------------------------- checking


@dataclass
class DraftCheck:
    """What checking a draft found: every problem, and the checked definition to publish."""

    path: str
    result: CheckResult

    @property
    def problems(self) -> list[Problem]:
        return self.result.problems

    @property
    def definition(self) -> CheckedDefinition | None:
        return next((d for d in self.result.definitions if d.path == self.path), None)


def _shared_files(live_forms) -> dict[str, bytes]:
    """The shared $defs files: as published with the live forms that use them (newest wins), and
    from forms_schemas/_shared/ for those no live form uses yet."""
    files = {}
    folder = settings.LINLI_FORMS_DIR / SHARED
    if folder.is_dir():
        for path in sorted(folder.glob("*.json")):
            files[path.name] = path.read_bytes()
    for version in sorted(live_forms, key=lambda v: v.pk):
        for name, data in version.content.get("shared", {}).items():
            files[name] = json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")
    return files


def draft_check(community: Community, kind: str, key: str, source: str) -> DraftCheck:
    """Check the draft's text among the community's live files; also returns what would be published."""
    path = draft_path(community, kind, key)
    versions = list(DefinitionVersion.objects.filter(definition__community=community, definition__live_version=F("pk"))
                    .select_related("definition").order_by("definition__kind", "definition__key"))
    files = []
    for version in versions:
        record = version.definition
        if (record.kind, record.key) == (kind, key):
            continue  # the draft takes its place
        files.append(SourceFile(draft_path(community, record.kind, record.key), record.kind, community.slug,
                                record.key, version_text(version).encode("utf-8")))
    files.append(SourceFile(path, kind, community.slug, community.slug if kind == "community" else key,
                            source.encode("utf-8")))
    for name, raw in _shared_files([v for v in versions if v.definition.kind == "form"]).items():
        files.append(SourceFile(f"forms_schemas/{SHARED}/{name}", "shared", SHARED, name, raw))
    known = frozenset(Community.objects.values_list("slug", flat=True))
    return DraftCheck(path, check_files(files, known))


def check_draft(community: Community, kind: str, key: str, source: str) -> list[Problem]:
    """Every problem the draft's text has, or causes among the community's live files. Writes nothing."""
    return draft_check(community, kind, key, source).problems


# ---------------------------------------------------------------- the write paths


def validate_new_key(community: Community, kind: str, key: str) -> str:
    """The key of a new form or flow, or `KeyRefused` saying why not."""
    if kind not in NEW_KINDS:
        raise ValueError(f"only forms and flows are created in the editor, not {kind!r}")
    key = (key or "").strip()
    if len(key) > KEY_MAX or not KEY_PATTERN.match(key):
        raise BadKey(key=key)
    taken = (Definition.objects.filter(community=community, kind=kind, key=key).exists()
             or DefinitionDraft.objects.filter(community=community, kind=kind, key=key).exists())
    if taken:
        raise KeyTaken(key=key, kind=_KIND_WORDS[kind])
    return key


def starter_text(community: Community, kind: str, key: str, *, form: str = "") -> str:
    """The text a new form or flow starts from: the smallest file that passes the checks."""
    if kind == "form":
        return json.dumps({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": key,
            "type": "object",
            "properties": {"content": {"title": "内容", "type": "string", "maxLength": 1000}},
            "required": ["content"],
            "additionalProperties": False,
            "x-ui": {"order": ["content"], "fields": {"content": {"widget": "textarea"}}},
        }, ensure_ascii=False, indent=2) + "\n"
    roles = (Definition.objects.filter(community=community, kind="community").values_list(
        "live_version__content", flat=True).first() or {}).get("definition", {}).get("roles", [])
    role = next((r["key"] for r in roles if r.get("admin")), roles[0]["key"] if roles else "community_secretary")
    return (f"flow: {key}\n"
            f"title: {key}\n"
            f"form: {form or key}\n"
            "start: received\n"
            "states:\n"
            "  received:\n"
            "    title: 已收到\n"
            "  done:\n"
            "    title: 已办结\n"
            "    final: true\n"
            "transitions:\n"
            "  - name: finish\n"
            "    title: 办结\n"
            "    from: received\n"
            "    to: done\n"
            "    by:\n"
            f"      role: {role}\n")


def start_new(community: Community, kind: str, key: str, *, user, form: str = "") -> DefinitionDraft:
    """A draft for a new form or flow, from a starter text; `KeyRefused` if the key is unusable."""
    with transaction.atomic():
        key = validate_new_key(community, kind, key)
        try:
            with transaction.atomic():
                return DefinitionDraft.objects.create(community=community, kind=kind, key=key, updated_by=user,
                                                      source=starter_text(community, kind, key, form=form))
        except IntegrityError:  # another admin created it a moment ago
            raise KeyTaken(key=key, kind=_KIND_WORDS[kind]) from None


def draft_for(community: Community, kind: str, key: str) -> DefinitionDraft | None:
    return (DefinitionDraft.objects.select_related("updated_by", "base_version")
            .filter(community=community, kind=kind, key=key).first())


def _conflict(draft: DefinitionDraft | None, expected: int) -> DraftConflict:
    if draft is None:
        return DraftConflict(editor="—", current=0, expected=expected)
    editor = draft.updated_by.get_full_name() or draft.updated_by.get_username() if draft.updated_by else "—"
    return DraftConflict(editor=editor, current=draft.revision, expected=expected)


def save_draft(community: Community, kind: str, key: str, source: str, *, user, revision: int) -> DefinitionDraft:
    """Save the editor's text. `revision` is the draft revision the editor was opened on — 0 when
    there was no draft, the live version being the starting point. A draft saved by anyone since
    is not overwritten: `DraftConflict`. Problems do not stop saving; they stop publishing."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    with transaction.atomic():
        record = Definition.objects.filter(community=community, kind=kind, key=key).only("live_version").first()
        if revision == 0:
            if record is None:  # a new key must be started with start_new()
                raise _conflict(draft_for(community, kind, key), revision)
            try:
                with transaction.atomic():
                    return DefinitionDraft.objects.create(community=community, kind=kind, key=key, source=source,
                                                          base_version_id=record.live_version_id, updated_by=user)
            except IntegrityError:  # someone else started a draft first
                raise _conflict(draft_for(community, kind, key), revision) from None
        # compare-and-set in one UPDATE: of two savers of revision N exactly one matches
        updated = DefinitionDraft.objects.filter(community=community, kind=kind, key=key, revision=revision).update(
            source=source, revision=F("revision") + 1, updated_by=user, updated_at=_now())
        if updated != 1:
            raise _conflict(draft_for(community, kind, key), revision)
        return draft_for(community, kind, key)


def _now():
    from django.utils import timezone

    return timezone.now()


def discard_draft(draft: DefinitionDraft, *, revision: int | None = None) -> None:
    """Throw the draft away (the live version is untouched). With `revision`, only that revision."""
    queryset = DefinitionDraft.objects.filter(pk=draft.pk)
    if revision is not None:
        queryset = queryset.filter(revision=revision)
    with transaction.atomic():
        if not queryset.delete()[0] and revision is not None:
            raise _conflict(DefinitionDraft.objects.filter(pk=draft.pk).select_related("updated_by").first(),
                            revision)


def publish_draft(draft: DefinitionDraft, *, user, note: str = "", revision: int | None = None) -> DefinitionVersion:
    """Publish the draft as the definition's next version, recording `user`, and delete the draft.

    Refused, with nothing written, when checking finds any problem (`DefinitionError` with them
    all), when the draft changed since `revision` was read (`DraftConflict`), or when the content
    is the live one's (`NothingToPublish`)."""
    with transaction.atomic():
        # lock the draft: a second publisher of the same draft waits, then finds it gone
        current = (DefinitionDraft.objects.select_for_update().select_related("community")
                   .filter(pk=draft.pk).first())
        if current is None or (revision is not None and current.revision != revision):
            raise _conflict(current and draft_for(current.community, current.kind, current.key),
                            revision if revision is not None else draft.revision)
        checked = draft_check(current.community, current.kind, current.key, current.source)
        if checked.problems:
            raise DefinitionError(checked.problems)
        report = publish_definitions([checked.definition], user=user, note=note)
        if not report.published:
            raise NothingToPublish(number=report.unchanged[0].live_version.number)
        current.delete()
    return report.published[0]
