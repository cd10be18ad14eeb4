"""The three gates, run over a set of definition files: parse → meta-validate → lint.

`check_files()` is the one entry point shared by `check_definitions`, `load_definitions` and
the admin editor. It takes file contents (not paths to open), so the editor can check a draft
that exists only in a browser, and it returns every problem of every file at once — a set of
files is accepted whole or not at all.

File layout (contract):
    forms_schemas/{community}/{form}.schema.json
    forms_schemas/_shared/*.json                shared $defs
    workflows_yaml/{community}/community.yaml
    workflows_yaml/{community}/{flow}.flow.yaml
Folders whose name starts with "_" (other than _shared) are kits such as _template: checked
like any community, never published.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from .community import check_flow_refs, index_community
from .flows import lint_flow
from .forms import lint_form, lint_shared
from .metavalidate import meta_validate
from .problems import DefinitionError, Problem
from .sources import parse_json, parse_yaml, read_text

SHARED = "_shared"


@dataclass(frozen=True)
class SourceFile:
    """One file's contents and what it is: kind is community, form, flow or shared."""

    path: str  # as shown to people, e.g. workflows_yaml/minyue/community.yaml
    kind: str
    folder: str  # the community folder (or "_shared")
    key: str  # form or flow key (file stem); the folder for community.yaml
    raw: bytes


@dataclass
class Definition:
    kind: str
    community: str
    key: str
    path: str
    data: dict
    source: str
    shared: dict = field(default_factory=dict)  # for forms: the _shared files they refer to

    @property
    def content(self):
        return {"definition": self.data, "shared": self.shared} if self.kind == "form" else {"definition": self.data}

    @property
    def content_hash(self) -> str:
        canonical = json.dumps(self.content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    @property
    def publishable(self) -> bool:
        return self.kind != "shared" and not self.community.startswith("_")


@dataclass
class CheckResult:
    definitions: list[Definition]
    problems: list[Problem]

    @property
    def ok(self):
        return not self.problems


# ---------------------------------------------------------------- finding files


def classify(path: Path, forms_root: Path, workflows_root: Path, display: str) -> SourceFile | Problem:
    """What a file is, from where it lies and how it is named."""
    name = path.name
    folder = path.parent.name
    raw_reader = path.read_bytes
    try:
        in_forms = path.parent.parent.resolve() == forms_root.resolve()
        in_flows = path.parent.parent.resolve() == workflows_root.resolve()
    except OSError:
        in_forms = in_flows = False
    if in_forms and folder == SHARED and name.endswith(".json"):
        kind, key = "shared", name
    elif in_forms and name.endswith(".schema.json"):
        kind, key = "form", name[: -len(".schema.json")]
    elif in_flows and name == "community.yaml":
        kind, key = "community", folder
    elif in_flows and name.endswith(".flow.yaml"):
        kind, key = "flow", name[: -len(".flow.yaml")]
    else:
        return Problem("io.unknown_file", {"name": name}, path=display)
    try:
        raw = raw_reader()
    except OSError as exc:
        return Problem("io.unreadable", {"reason": exc.strerror or str(exc)}, path=display)
    return SourceFile(display, kind, folder, key, raw)


def discover(paths, forms_root: Path, workflows_root: Path, base: Path | None = None):
    """Source files for the given paths (files or folders; default: both roots), plus the
    sibling files their cross-references need. Returns (files, requested paths, problems)."""
    forms_root, workflows_root = Path(forms_root), Path(workflows_root)
    base = Path(base or Path.cwd())
    targets = [Path(p) for p in paths] or [forms_root, workflows_root]
    requested, problems = set(), []
    for target in targets:
        if target.is_dir():
            candidates = sorted(p for p in target.rglob("*") if p.is_file() and _definition_like(p))
        elif target.exists():
            candidates = [target]
        else:
            problems.append(Problem("io.unreadable", {"reason": "no such file or folder"}, path=str(target)))
            continue
        requested.update(p.resolve() for p in candidates)
    # Context: every community folder touched, on both sides, and the shared definitions.
    folders = {p.parent.name for p in requested if p.parent.name != SHARED}
    context = set()
    for folder in folders:
        for root, pattern in ((forms_root / folder, "*.schema.json"), (workflows_root / folder, "*.yaml")):
            if root.is_dir():
                context.update(p.resolve() for p in root.glob(pattern))
    # Every community file, so that a community's parent (a street) resolves.
    context.update(p.resolve() for p in workflows_root.glob("*/community.yaml"))
    if (forms_root / SHARED).is_dir():
        context.update(p.resolve() for p in (forms_root / SHARED).glob("*.json"))
    files = []
    for path in sorted(requested | context):
        result = classify(path, forms_root, workflows_root, _display(path, base))
        if isinstance(result, Problem):
            if path in requested:
                problems.append(result)
        else:
            files.append(result)
    requested_display = {_display(p, base) for p in requested}
    return files, requested_display, problems


def _definition_like(path: Path):
    return path.suffix in (".json", ".yaml", ".yml") and not path.name.startswith(".")


def _display(path: Path, base: Path):
    try:
        return path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


# ---------------------------------------------------------------- the gates


def check_files(files: list[SourceFile], known_communities=frozenset()) -> CheckResult:
    """Run the three gates over `files`; `known_communities` are slugs published before."""
    problems: list[Problem] = []
    docs = {}
    for source in files:
        try:
            text = read_text(source.path, source.raw)
            docs[source.path] = parse_yaml(source.path, text) if source.path.endswith((".yaml", ".yml")) \
                else parse_json(source.path, text)
        except DefinitionError as error:
            problems.extend(error.problems)

    # A file that failed maps to None: what refers to it is skipped, not reported again.
    shared_docs = {s.key: docs.get(s.path) for s in files if s.kind == "shared"}
    definitions = []
    for source in files:
        if source.kind == "shared" and source.path in docs:
            result = lint_shared(docs[source.path])
            problems.extend(result.problems)
            if result.problems:
                shared_docs[source.key] = None
            else:
                definitions.append(Definition("shared", SHARED, source.key, source.path, docs[source.path].data,
                                              docs[source.path].text))

    by_folder: dict[str, list[SourceFile]] = {}
    for source in files:
        if source.kind != "shared":
            by_folder.setdefault(source.folder, []).append(source)

    slugs = set(known_communities)
    community_docs = {}
    for folder, sources in by_folder.items():
        for source in sources:
            if source.kind == "community" and source.path in docs:
                doc = docs[source.path]
                found = meta_validate(doc, "community")
                problems.extend(found)
                if not found:
                    community_docs[folder] = (source, doc)
                    slugs.add(doc.data["community"])

    problems.extend(_parent_loops(community_docs))
    for folder, sources in sorted(by_folder.items()):
        problems.extend(_check_folder(folder, sources, docs, shared_docs, community_docs, slugs, definitions))
    problems.sort(key=Problem.sort_key)
    return CheckResult(definitions, problems)


def _parent_loops(community_docs):
    """A community whose parents lead back to it (kaiyuan → minyue → kaiyuan)."""
    parent_of = {doc.data["community"]: doc.data.get("parent") for _, doc in community_docs.values()}
    problems = []
    for _, doc in community_docs.values():
        slug, chain = doc.data["community"], [doc.data["community"]]
        current = parent_of.get(slug)
        while current and current not in chain and current in parent_of:
            chain.append(current)
            current = parent_of.get(current)
        if current == slug and len(chain) > 1:
            problems.append(doc.problem("community.parent_cycle", "/parent", chain=" → ".join(chain + [slug])))
    return problems


def _check_folder(folder, sources, docs, shared_docs, community_docs, slugs, definitions):
    problems = []
    forms, form_docs = {}, {}
    for source in sources:
        if source.kind == "form" and source.path not in docs:
            forms[source.key] = None  # did not parse; reported
        elif source.kind == "form":
            doc = docs[source.path]
            result = lint_form(doc, shared_docs)
            problems.extend(result.problems)
            broken = bool(result.problems) or result.blocked
            forms[source.key] = None if broken else result.fields
            if not broken:
                shared = {name: shared_docs[name].data for name in sorted(result.shared_refs)}
                form_docs[source.key] = Definition("form", folder, source.key, source.path, doc.data, doc.text, shared)

    flow_sources = [s for s in sources if s.kind == "flow" and s.path in docs]
    flow_docs = {}
    for source in flow_sources:
        found = meta_validate(docs[source.path], "flow")
        problems.extend(found)
        if not found:
            flow_docs[source.key] = (source, docs[source.path])

    if folder not in community_docs:
        if not any(s.kind == "community" for s in sources):
            for source in sources:
                problems.append(Problem("community.missing", {"folder": folder}, path=source.path))
        return problems  # the community file's own problems are reported; lint of the rest would only echo them

    source, doc = community_docs[folder]
    index, found = index_community(doc, folder)
    problems.extend(found)
    for form_source in sources:
        if form_source.kind == "form" and forms.get(form_source.key):
            problems.extend(_check_community_names(docs[form_source.path], forms[form_source.key], index))
    if index.parent:
        if index.parent == index.slug:
            problems.append(doc.problem("community.parent_cycle", "/parent", chain=f"{index.slug} → {index.slug}"))
        elif index.parent not in slugs:
            from .community import unknown

            problems.append(unknown(doc, "/parent", "community", index.parent, slugs - {index.slug}))
    flow_keys = {s.key for s in sources if s.kind == "flow"}
    problems.extend(check_flow_refs(doc, index, flow_keys))
    definitions.append(Definition("community", folder, folder, source.path, doc.data, doc.text))
    for key, (flow_source, flow_doc) in flow_docs.items():
        found = lint_flow(flow_doc, index, forms, key)
        problems.extend(found)
        definitions.append(Definition("flow", folder, key, flow_source.path, flow_doc.data, flow_doc.text))
    definitions.extend(form_docs.values())
    return problems


# A field whose values are names from community.yaml: fixed choices must be real names.
_NAMED_FORMATS = {"unit": ("unit", "units"), "post": ("post", "posts"), "store-item": ("store item", "items"),
                  "team": ("team", "teams")}


def _check_community_names(doc, fields, index):
    from .community import unknown

    problems = []
    for info in fields.values():
        fmt = info.item_format if info.type == "array" else info.format
        if fmt not in _NAMED_FORMATS or not info.choices:
            continue
        kind, attribute = _NAMED_FORMATS[fmt]
        known = getattr(index, attribute)
        for position, name in enumerate(info.choices):
            if name not in known:
                problems.append(unknown(doc, f"{info.pointer}/enum/{position}", kind, name, known))
    ui = doc.data.get("x-ui", {}) if isinstance(doc.data, dict) else {}
    for position, role in enumerate(ui.get("audience", [])):
        if role not in index.roles:
            problems.append(unknown(doc, f"/x-ui/audience/{position}", "role", role, index.roles))
    return problems


def check_paths(paths, forms_root, workflows_root, base=None, known_communities=frozenset(), whole_folders=False):
    """Discover and check. Problems are those of the files asked about; with `whole_folders`
    (publishing), those of every file in their community folders too, since what is published
    must stand with its siblings. Other communities' files are read only so that a parent
    resolves; their problems are theirs to hear about when they are checked."""
    files, requested, problems = discover(paths, forms_root, workflows_root, base)
    result = check_files(files, known_communities)
    if whole_folders:
        touched = {f.folder for f in files if f.path in requested} | {SHARED}
        folder_of = {f.path: f.folder for f in files}
        found = [p for p in result.problems if folder_of.get(p.path, SHARED) in touched]
    else:
        found = [p for p in result.problems if p.path in requested]
    result.problems = sorted(problems + found, key=Problem.sort_key)
    # Publish what was asked for, plus the community files of the folders it lies in (unchanged
    # ones publish nothing; a community must be published before its forms and flows).
    folders = {d.community for d in result.definitions if d.path in requested}
    result.definitions = [d for d in result.definitions
                          if d.path in requested or d.kind == "shared" or (d.kind == "community" and d.community in folders)]
    return result
