"""Gate 2: check a document against Linli's meta-schemas and say what is wrong in plain words.

The meta-schemas (JSON Schema files in `metaschemas/`) are the format's single description:
the docs, the admin editor and this gate all read them. Validators are built once per process.
jsonschema's own messages are written for programmers; `describe()` turns each error into a
`Problem` with a stable code, pointing at the offending key or value.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from .problems import suggest
from .sources import Document, join_pointer

METASCHEMA_DIR = Path(__file__).parent / "metaschemas"

TYPE_NAMES = {
    "string": {"zh-hans": "文字", "en": "text"},
    "integer": {"zh-hans": "整数", "en": "a whole number"},
    "number": {"zh-hans": "数字", "en": "a number"},
    "boolean": {"zh-hans": "true 或 false", "en": "true or false"},
    "object": {"zh-hans": "映射 (键: 值)", "en": "a mapping (key: value)"},
    "array": {"zh-hans": "列表", "en": "a list"},
    "null": {"zh-hans": "空值", "en": "empty"},
}

_PATTERN_CODES = {}  # pattern string -> message code, filled from common.schema.json


@cache
def _registry() -> Registry:
    resources = []
    for path in sorted(METASCHEMA_DIR.glob("*.schema.json")):
        contents = json.loads(path.read_text(encoding="utf-8"))
        resources.append((contents["$id"], Resource.from_contents(contents)))
    common = json.loads((METASCHEMA_DIR / "common.schema.json").read_text(encoding="utf-8"))["$defs"]
    for name in ("name", "slug", "duration", "reference"):
        _PATTERN_CODES[common[name]["pattern"]] = f"meta.pattern.{name}"
    _PATTERN_CODES[common["ratio"]["oneOf"][0]["pattern"]] = "meta.pattern.ratio"
    return Registry().with_resources(resources)


COMMON_ID = "urn:linli:meta:common"


def _inline_common(node, common_defs):
    """Point references to common.schema.json at local copies: lookups across resources cost
    a URL join each, and a flow file makes thousands of them."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(COMMON_ID + "#/$defs/"):
                out[key] = "#/$defs/common_" + value.rsplit("/", 1)[1]
            else:
                out[key] = _inline_common(value, common_defs)
        return out
    if isinstance(node, list):
        return [_inline_common(v, common_defs) for v in node]
    return node


@cache
def validator(kind: str) -> Draft202012Validator:
    """The compiled validator for 'community', 'flow' or 'form-ui'."""
    _registry()
    schema = json.loads((METASCHEMA_DIR / f"{kind}.schema.json").read_text(encoding="utf-8"))
    common = json.loads((METASCHEMA_DIR / "common.schema.json").read_text(encoding="utf-8"))["$defs"]
    schema = _inline_common(schema, common)
    schema.setdefault("$defs", {}).update({f"common_{name}": _inline_common(d, common) for name, d in common.items()})
    schema = _inline_local(schema, schema["$defs"], ())
    return Draft202012Validator(schema)


def _inline_local(node, defs, stack):
    """Replace each local `#/$defs/X` by its content, except where X refers to itself (a unit's
    children, a countersign's seats): those keep their $ref. Same validation, far fewer lookups."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/") and len(node) == 1:
            name = ref.rsplit("/", 1)[1]
            if name in stack:
                return node
            return _inline_local(defs[name], defs, stack + (name,))
        return {k: (v if k == "$defs" else _inline_local(v, defs, stack)) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline_local(v, defs, stack) for v in node]
    return node


def metaschema(kind: str) -> dict:
    return validator(kind).schema


def meta_validate(doc: Document, kind: str, data=None, prefix: str = ""):
    """Problems of `data` (default: the whole document) against the meta-schema `kind`."""
    data = doc.data if data is None else data
    problems = []
    for error in validator(kind).iter_errors(data):
        problems.extend(describe(doc, error, prefix))
    # A misspelt key ("unitz") also leaves a required one ("units") missing: the misspelling,
    # with its "did you mean", is the one line worth reading.
    misspelt = {(p.pointer.rsplit("/", 1)[0], p.params.get("suggestion")) for p in problems
                if p.code == "meta.unknown_key" and p.params.get("suggestion")}
    problems = [p for p in problems if not (p.code == "meta.required" and (p.pointer, p.params["key"]) in misspelt)]
    # one problem per place is enough for a person to act on
    unique, seen = [], set()
    for problem in problems:
        key = (problem.pointer, problem.code, str(problem.params.get("key")))
        if key not in seen:
            seen.add(key)
            unique.append(problem)
    return unique


def _pointer(prefix, path):
    pointer = prefix
    for token in path:
        pointer = join_pointer(pointer, token)
    return pointer


def _label(path):
    for token in reversed(list(path)):
        if isinstance(token, str):
            return token
    return "(top)"


def _value_text(value):
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
    return text if len(text) <= 60 else text[:57] + "..."


def describe(doc: Document, error, prefix=""):
    """Turn one jsonschema error into Problems (several for several unknown keys)."""
    path = list(error.absolute_path)
    pointer = _pointer(prefix, path)
    key = _label(path)
    kind, value, instance = error.validator, error.validator_value, error.instance

    if kind == "required":
        missing = [name for name in value if isinstance(instance, dict) and name not in instance]
        return [doc.problem("meta.required", pointer, key=name) for name in missing[:1]]
    if kind == "additionalProperties" and isinstance(instance, dict):
        allowed = sorted(error.schema.get("properties", {}))
        problems = []
        for extra in sorted(set(instance) - set(allowed)):
            if error.schema.get("patternProperties"):
                continue
            problems.append(doc.problem(
                "meta.unknown_key", join_pointer(pointer, extra), at_key=True,
                **{"key": extra, "allowed": allowed or "-", "suggestion": suggest(extra, allowed)},
            ))
        return problems
    if kind == "type":
        expected = value if isinstance(value, list) else [value]
        return [doc.problem("meta.type", pointer, key=key, expected=_types(expected), actual=_type_of(instance))]
    if kind in ("enum", "const"):
        allowed = value if kind == "enum" else [value]
        return [doc.problem("meta.enum", pointer, key=key, value=_value_text(instance),
                            allowed=[_value_text(a) for a in allowed], suggestion=suggest(instance, allowed))]
    if kind == "pattern":
        _registry()
        code = _PATTERN_CODES.get(value, "meta.pattern")
        if "propertyNames" in error.absolute_schema_path:  # a bad key: point at the key itself
            return [doc.problem(code, join_pointer(pointer, instance), at_key=True, key=key, value=_value_text(instance))]
        return [doc.problem(code, pointer, key=key, value=_value_text(instance))]
    if kind in ("minItems", "minProperties"):
        if kind == "minProperties" and value == 1 and error.schema.get("maxProperties") == 1:
            return [doc.problem("meta.action_one_key", pointer, count=0)]
        if value == 1:
            return [doc.problem("meta.empty_list", pointer, key=key)]
        return [doc.problem("meta.too_short", pointer, key=key, limit=value)]
    if kind in ("maxItems", "maxProperties"):
        if kind == "maxProperties" and value == 1:
            return [doc.problem("meta.action_one_key", pointer, count=len(instance))]
        return [doc.problem("meta.too_long", pointer, key=key, limit=value)]
    if kind == "minLength":
        return [doc.problem("meta.text_too_short", pointer, key=key)]
    if kind == "maxLength":
        return [doc.problem("meta.text_too_long", pointer, key=key, limit=value)]
    if kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        sign = {"minimum": "≥", "maximum": "≤", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}[kind]
        return [doc.problem("meta.range", pointer, key=key, value=_value_text(instance), bound=f"{sign} {value}")]
    if kind == "not" and value == {"const": 0}:
        return [doc.problem("meta.range", pointer, key=key, value=_value_text(instance), bound="≠ 0")]
    if kind == "uniqueItems":
        return [doc.problem("meta.not_unique", pointer, key=key)]
    if kind in ("oneOf", "anyOf"):
        return _describe_choice(doc, error, prefix, pointer, key)
    return [doc.problem("meta.other", pointer, key=key, detail=error.message[:200])]


def _describe_choice(doc, error, prefix, pointer, key):
    branches = error.validator_value
    if all(isinstance(b, dict) and "required" in b for b in branches):
        return [doc.problem("meta.points_action", pointer)]
    by_branch = {}
    for sub in error.context or []:
        by_branch.setdefault(sub.relative_schema_path[0], []).append(sub)
    # A branch that failed only on the type of this very value is the wrong branch, not a
    # useful explanation; explain the branch that got furthest.
    candidates = {
        index: errors for index, errors in by_branch.items()
        if not any(e.validator in ("type", "enum", "const") and list(e.absolute_path) == list(error.absolute_path)
                   for e in errors)
    }
    if candidates:
        index = min(candidates, key=lambda i: len(candidates[i]))
        problems = []
        for sub in candidates[index]:
            problems.extend(describe(doc, sub, prefix))
        if problems:
            return problems
    instance = error.instance
    enums = [e for errors in by_branch.values() for e in errors
             if e.validator == "enum" and list(e.absolute_path) == list(error.absolute_path)]
    if isinstance(instance, str) and enums:
        allowed = [a for e in enums for a in e.validator_value]
        return [doc.problem("meta.enum", pointer, key=key, value=_value_text(instance),
                            allowed=[_value_text(a) for a in allowed], suggestion=suggest(instance, allowed))]
    expected = []
    for errors in by_branch.values():
        for e in errors:
            if e.validator == "type":
                expected.extend(e.validator_value if isinstance(e.validator_value, list) else [e.validator_value])
            elif e.validator == "enum":
                expected.append("string")
    if expected:
        return [doc.problem("meta.type", pointer, key=key, expected=_types(dict.fromkeys(expected)), actual=_type_of(instance))]
    return [doc.problem("meta.one_of", pointer, key=key, detail=error.message[:200])]


def _types(names):
    zh = " 或 ".join(TYPE_NAMES[n]["zh-hans"] for n in names)
    en = " or ".join(TYPE_NAMES[n]["en"] for n in names)
    return {"zh-hans": zh, "en": en}


def _type_of(value):
    if value is None:
        return TYPE_NAMES["null"]
    if isinstance(value, bool):
        return TYPE_NAMES["boolean"]
    if isinstance(value, int):
        return TYPE_NAMES["integer"]
    if isinstance(value, float):
        return TYPE_NAMES["number"]
    if isinstance(value, str):
        return {"zh-hans": f"文字 '{_value_text(value)}'", "en": f"text '{_value_text(value)}'"}
    if isinstance(value, list):
        return TYPE_NAMES["array"]
    return TYPE_NAMES["object"]
