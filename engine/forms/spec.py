"""A published form, compiled once: the fields to render, the steps, the conditions, and the
validator that is the authority on what may be stored.

Input is a form version's content (`{"definition": schema, "shared": {name: defs}}`), output a
frozen `FormSpec`. Everything a request needs is resolved here — `$ref`s followed, widgets
chosen, choices labelled — so rendering and validating never look anything up by string.
No Django imports: the Django form classes are built from a spec in `django_forms.py`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any

from jsonschema import Draft202012Validator, ValidationError, validators
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from engine.definitions.forms import infer_type

from .formats import FORMAT_CHECKER

BASE_URI = "file:///linli/forms/"
SHARED_PREFIX = "../_shared/"
CHOICE_FORMATS = ("unit", "post", "store-item", "team")


def text(value, language="zh-hans"):
    """A definition's text (a string, or one string per language) in the language asked for."""
    if isinstance(value, dict):
        if language.startswith("zh"):
            return value.get("zh-hans") or value.get("en", "")
        return value.get("en") or value.get("zh-hans", "")
    return value or ""


@lru_cache(maxsize=1024)
def ecma_pattern(pattern: str) -> re.Pattern:
    """A schema pattern with ECMA-262's `$` (end of input), not Python's (which also matches
    before a final newline, so "13812345678\\n" would pass a mobile-number pattern)."""
    out, in_class, escaped = [], False, False
    for char in pattern:
        if escaped:
            out.append(char)
            escaped = False
        elif char == "\\":
            out.append(char)
            escaped = True
        elif char == "[":
            in_class = True
            out.append(char)
        elif char == "]":
            in_class = False
            out.append(char)
        elif char == "$" and not in_class:
            out.append(r"\Z")
        else:
            out.append(char)
    return re.compile("".join(out))


def _pattern(validator, pattern, instance, schema):
    if validator.is_type(instance, "string") and not ecma_pattern(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


LinliValidator = validators.extend(Draft202012Validator, {"pattern": _pattern})


@dataclass(frozen=True)
class Choice:
    value: Any
    label: Any  # text


@dataclass(frozen=True)
class FieldSpec:
    name: str
    path: tuple[str, ...]
    type: str
    title: Any = ""
    description: Any = ""
    format: str = ""
    widget: str = "text"
    required: bool = False  # required whatever else is filled in (conditions may add more)
    choices: tuple[Choice, ...] = ()
    multiple: bool = False  # a list of choices (checkboxes) or of files
    readonly: bool = False
    default: Any = None
    const: Any = None
    constraints: dict = field(default_factory=dict, hash=False, compare=False)
    children: tuple["FieldSpec", ...] = ()  # an object's fields
    item: "FieldSpec | None" = None  # a repeat group's row
    ui: dict = field(default_factory=dict, hash=False, compare=False)
    errors: dict = field(default_factory=dict, hash=False, compare=False)  # x-error: keyword -> text

    @property
    def dotted(self):
        return ".".join(self.path)

    @property
    def pointer(self):
        return "/" + "/".join(self.path)

    @property
    def is_file(self):
        return self.format == "file" or (self.item is not None and self.item.format == "file")

    @property
    def is_group(self):
        return self.type == "object" or (self.type == "array" and self.item is not None and self.item.type == "object")

    @property
    def private(self):
        return bool(self.ui.get("private"))


@dataclass(frozen=True)
class Condition:
    """When every test holds (field value among values), `then_required` become required."""

    tests: tuple[tuple[str, tuple], ...]
    then_required: tuple[str, ...] = ()
    else_required: tuple[str, ...] = ()

    def holds(self, data: dict) -> bool:
        return all(name in data and data[name] in values for name, values in self.tests)


@dataclass(frozen=True)
class Step:
    key: str
    title: Any
    fields: tuple[str, ...]
    description: Any = ""


@dataclass(frozen=True)
class FormSpec:
    community: str
    key: str
    version: int
    title: Any
    description: Any
    fields: tuple[FieldSpec, ...]
    steps: tuple[Step, ...]
    conditions: tuple[Condition, ...]
    ui: dict = field(hash=False, compare=False)
    schema: dict = field(hash=False, compare=False)
    shared: dict = field(hash=False, compare=False)

    @cached_property
    def by_name(self) -> dict[str, FieldSpec]:
        return {f.name: f for f in self.fields}

    @cached_property
    def validator(self) -> Draft202012Validator:
        """Compiled once per version; `$ref`s resolve only to this form and the frozen shared
        files — the registry has no way to retrieve anything else."""
        uri = f"{BASE_URI}{self.community}/{self.key}.schema.json"
        resources = [(uri, Resource(contents=self.schema, specification=DRAFT202012))]
        resources += [(f"{BASE_URI}_shared/{name}", Resource(contents=defs, specification=DRAFT202012))
                      for name, defs in self.shared.items()]
        registry = Registry().with_resources(resources)
        schema = {**self.schema, "$id": uri}
        return LinliValidator(schema, registry=registry, format_checker=FORMAT_CHECKER)

    @property
    def anonymous(self) -> bool:
        return bool(self.ui.get("anonymous"))

    @property
    def reference_prefix(self) -> str:
        return self.ui.get("reference_prefix") or "LL"

    def step_of(self, name) -> Step | None:
        for step in self.steps:
            if name in step.fields:
                return step
        return None


def compile_form(community: str, key: str, version: int, content: dict) -> FormSpec:
    schema = content["definition"]
    shared = content.get("shared", {})
    ui = schema.get("x-ui", {})
    builder = _Builder(schema, shared, ui.get("fields", {}))
    required = set(schema.get("required", []))
    fields = [builder.field(name, sub, (name,), name in required) for name, sub in schema["properties"].items()]
    order = ui.get("order")
    if order:
        rank = {name: i for i, name in enumerate(order)}
        fields.sort(key=lambda f: rank.get(f.name, len(rank)))
    if ui.get("steps"):
        steps = tuple(Step(s["key"], s["title"], tuple(s["fields"]), s.get("description", "")) for s in ui["steps"])
    else:
        steps = (Step("form", schema.get("title", ""), tuple(f.name for f in fields)),)
    return FormSpec(
        community=community, key=key, version=version, title=schema.get("title", key),
        description=schema.get("description", ""), fields=tuple(fields), steps=steps,
        conditions=tuple(_conditions(schema)), ui=ui, schema=schema, shared=shared,
    )


def _conditions(schema):
    blocks = ([schema] if "if" in schema else []) + [b for b in schema.get("allOf", []) if "if" in b]
    for block in blocks:
        condition = block["if"]
        tests = []
        for name, test in condition.get("properties", {}).items():
            values = (test["const"],) if "const" in test else tuple(test.get("enum", ()))
            tests.append((name, values))
        yield Condition(tuple(tests), tuple(block.get("then", {}).get("required", ())),
                        tuple(block.get("else", {}).get("required", ())))


_DEFAULT_WIDGETS = {
    ("string", "date"): "date", ("string", "date-time"): "datetime", ("string", "time"): "time",
    ("string", "email"): "email", ("string", "uri"): "url", ("string", "file"): "photo",
    ("string", "cn-id-card"): "idcard", ("string", "unit"): "building",
    ("integer", ""): "number", ("number", ""): "number", ("boolean", ""): "checkbox",
}
_CONSTRAINTS = ("minLength", "maxLength", "pattern", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
                "multipleOf", "minItems", "maxItems", "uniqueItems")
_MOBILE = re.compile(r"^\^1")


class _Builder:
    def __init__(self, schema, shared, ui_fields):
        self.schema, self.shared, self.ui_fields = schema, shared, ui_fields

    def resolve(self, node, base=None):
        """Follow `$ref` (already checked by the linter) and merge the referring node's own keys."""
        while "$ref" in node:
            ref = node["$ref"]
            if ref.startswith("#/"):
                target_doc, fragment = (base if base is not None else self.schema), ref[1:]
            else:
                name, fragment = ref[len(SHARED_PREFIX):].split("#", 1)
                target_doc = self.shared[name]
                base = target_doc
            target = target_doc
            for token in fragment.strip("/").split("/"):
                target = target[token.replace("~1", "/").replace("~0", "~")]
            node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return node, base

    def field(self, name, node, path, required, base=None) -> FieldSpec:
        node, base = self.resolve(node, base)
        kind = node.get("type") or (infer_type(node) or "string")
        fmt = node.get("format", "")
        ui = dict(self.ui_fields.get(".".join(path), {}))
        choices = _choices(node)
        children, item, multiple = (), None, False
        if kind == "object":
            inner_required = set(node.get("required", []))
            children = tuple(self.field(k, v, path + (k,), k in inner_required, base)
                             for k, v in node.get("properties", {}).items())
        elif kind == "array":
            items, item_base = self.resolve(node.get("items", {}), base)
            item_type = items.get("type") or (infer_type(items) or "string")
            if item_type == "object":
                item = self.field("item", items, path, False, item_base)
            else:
                item = self.field("item", items, path, False, item_base)
                choices, multiple = item.choices, True
                fmt = ""
        widget = ui.get("widget") or self._default_widget(kind, fmt, node, choices, item)
        return FieldSpec(
            name=name, path=path, type=kind, title=node.get("title", name), description=node.get("description", ""),
            format=fmt, widget=widget, required=required, choices=choices, multiple=multiple,
            readonly=bool(node.get("readOnly")), default=node.get("default"), const=node.get("const"),
            constraints={k: node[k] for k in _CONSTRAINTS if k in node}, children=children, item=item, ui=ui,
            errors=dict(node.get("x-error", {})),
        )

    @staticmethod
    def _default_widget(kind, fmt, node, choices, item):
        if kind == "array":
            if item is not None and item.format == "file":
                return "photo"
            if item is not None and item.format in CHOICE_FORMATS:
                return "checkboxes"  # a list of the community's teams, posts...: its choices come from community.yaml
            return "checkboxes" if choices else "repeat"
        if kind == "object":
            return "fieldset"
        if choices:
            return "radio" if len(choices) <= 5 else "select"
        if fmt in CHOICE_FORMATS:
            return "building" if fmt == "unit" else "select"
        if kind == "string" and _MOBILE.match(node.get("pattern", "")):
            return "tel"
        if kind == "string" and node.get("maxLength", 0) > 200:
            return "textarea"
        return _DEFAULT_WIDGETS.get((kind, fmt), "text")


def _choices(node):
    if "enum" in node:
        return tuple(Choice(v, str(v)) for v in node["enum"])
    for keyword in ("oneOf", "anyOf"):
        options = node.get(keyword)
        if options and all(isinstance(o, dict) and "const" in o for o in options):
            return tuple(Choice(o["const"], o.get("title", str(o["const"]))) for o in options)
    return ()
