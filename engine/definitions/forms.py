"""Lint of form definitions: the JSON Schema subset that Linli's renderer can show.

A form is a draft 2020-12 object schema plus a top-level `x-ui`. This module walks the
schema once, refuses what the renderer cannot show (naming the keyword and why), resolves
`$ref` only to this file's `$defs` or to `../_shared/`, and returns the fields it found
(`FieldInfo`) so that flows can check their guards and actions against real fields.

It never fetches anything: a `$ref` outside the two allowed places is an error, not a lookup.
"""

from __future__ import annotations

import re
import re._parser as sre_parse  # the standard library's own regex parser, for the ReDoS check
from dataclasses import dataclass, field

from jsonschema import Draft202012Validator

from .metavalidate import TYPE_NAMES, meta_validate
from .problems import suggest
from .sources import Document, join_pointer

FIELD_KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
MAX_DEPTH = 8
SHARED_PREFIX = "../_shared/"

TYPES = ("string", "integer", "number", "boolean", "array", "object")
FORMATS = ("date", "date-time", "time", "email", "uri", "file", "cn-id-card", "unit", "post", "store-item", "team")

# Keywords the renderer understands, and what it says about the ones it does not.
FIELD_KEYWORDS = {
    "title", "description", "type", "default", "const", "enum", "oneOf", "anyOf", "readOnly",
    "minLength", "maxLength", "pattern", "format", "minimum", "maximum", "exclusiveMinimum",
    "exclusiveMaximum", "multipleOf", "items", "minItems", "maxItems", "uniqueItems", "$ref",
    "examples", "$comment", "x-error", "properties", "required", "additionalProperties",
    "if", "then", "else", "allOf", "dependentRequired", "$defs",
}
ROOT_KEYWORDS = FIELD_KEYWORDS | {"$schema", "$id", "x-ui"}
UNSUPPORTED = {
    "not": ("negated schemas have no input to show; use enum or a condition", "否定条件无法显示为输入项; 请用 enum 或条件"),
    "patternProperties": ("fields must be named; list them under properties", "字段必须有名字; 请在 properties 中列出"),
    "propertyNames": ("fields must be named; list them under properties", "字段必须有名字; 请在 properties 中列出"),
    "prefixItems": ("tuple-like lists cannot be filled in; use items", "元组式列表无法填写; 请用 items"),
    "contains": ("use items with enum (checkboxes) instead", "请改用带 enum 的 items (多选框)"),
    "unevaluatedProperties": ("use additionalProperties: false", "请用 additionalProperties: false"),
    "unevaluatedItems": ("use items", "请用 items"),
    "dependentSchemas": ("use if/then or dependentRequired", "请用 if/then 或 dependentRequired"),
    "$dynamicRef": ("only plain $ref is supported", "只支持普通的 $ref"),
    "$dynamicAnchor": ("only plain $ref is supported", "只支持普通的 $ref"),
    "$anchor": ("refer by #/$defs/NAME", "请用 #/$defs/名称 引用"),
    "$recursiveRef": ("only plain $ref is supported", "只支持普通的 $ref"),
    "minContains": ("use minItems", "请用 minItems"),
    "maxContains": ("use maxItems", "请用 maxItems"),
    "contentEncoding": ("use format: file for uploads", "上传文件请用 format: file"),
    "contentMediaType": ("use format: file and x-ui accept", "请用 format: file 和 x-ui 的 accept"),
    "contentSchema": ("use format: file", "请用 format: file"),
    "minProperties": ("use required", "请用 required"),
    "maxProperties": ("fields are fixed; use additionalProperties: false", "字段是固定的; 请用 additionalProperties: false"),
    "writeOnly": ("every field is shown to the person filling it", "填表人能看到每一个字段"),
    "deprecated": ("remove the field, or keep it", "请删除该字段或保留它"),
    "$vocabulary": ("only the standard vocabulary is supported", "只支持标准词汇表"),
}
KNOWN_KEYWORDS = ROOT_KEYWORDS | set(UNSUPPORTED)
X_ERROR_KEYWORDS = {"pattern", "format", "minLength", "maxLength", "minimum", "maximum", "required", "enum", "const",
                    "multipleOf", "minItems", "maxItems", "type"}

WIDGETS_FOR = {
    "string": {"text", "textarea", "select", "radio", "date", "time", "datetime", "email", "url", "tel", "idcard",
               "photo", "file", "building", "hidden"},
    "integer": {"number", "select", "radio", "rating", "hidden"},
    "number": {"number", "select", "radio", "hidden"},
    "boolean": {"checkbox", "radio", "select", "hidden"},
    "array": {"checkboxes", "photo", "file"},
    "object": set(),
}


@dataclass(frozen=True)
class FieldInfo:
    """What a flow may know about a field: its type, format and fixed choices."""

    path: tuple[str, ...]
    type: str
    format: str = ""
    choices: tuple = ()
    item_type: str = ""
    item_format: str = ""
    pointer: str = field(default="", compare=False)

    @property
    def dotted(self):
        return ".".join(self.path)


@dataclass
class FormLint:
    fields: dict[str, FieldInfo] = field(default_factory=dict)
    problems: list = field(default_factory=list)
    shared_refs: set[str] = field(default_factory=set)
    blocked: bool = False  # refers to a shared file that is itself broken (reported there)


def lint_form(doc: Document, shared: dict[str, Document]) -> FormLint:
    """All problems of a form document; `shared` maps '_shared' file names to their documents."""
    result = FormLint()
    schema = doc.data
    if not isinstance(schema, dict) or schema.get("type") != "object" or not isinstance(schema.get("properties"), dict):
        result.problems.append(doc.problem("form.not_object", ""))
        return result
    walker = _Walker(doc, shared, result)
    walker.walk_object(schema, "", (), root=True)
    if result.problems or result.blocked:
        return result  # x-ui and "no fields" checks would only echo a broken field
    if not result.fields:
        result.problems.append(doc.problem("form.no_fields", "/properties"))
    if "x-ui" in schema:
        problems = meta_validate(doc, "form-ui", data=schema["x-ui"], prefix="/x-ui")
        result.problems.extend(problems)
        if not problems:
            _lint_ui(doc, schema, result)
    return result


def lint_shared(doc: Document) -> FormLint:
    """A `_shared` file: its `$defs` must each be a field the renderer can show."""
    result = FormLint()
    defs = doc.data.get("$defs") if isinstance(doc.data, dict) else None
    if not isinstance(defs, dict):
        result.problems.append(doc.problem("meta.required", "", key="$defs"))
        return result
    walker = _Walker(doc, {doc.path.rsplit("/", 1)[-1]: doc}, result, shared_self=True)
    for name, sub in defs.items():
        walker.walk_field(sub, join_pointer("/$defs", name), (name,))
    result.fields.clear()
    return result


class _Walker:
    def __init__(self, doc, shared, result, shared_self=False):
        self.doc, self.shared, self.result = doc, shared, result
        self.shared_self = shared_self
        self._resolving: list[str] = []

    def problem(self, code, pointer, at_key=False, **params):
        self.result.problems.append(self.doc.problem(code, pointer, at_key=at_key, **params))

    def check_keywords(self, node, pointer, allowed):
        """Unknown and unsupported keywords, and known ones whose value has the wrong shape.
        Returns False when the node is too broken to walk further (its problems are reported)."""
        sound = True
        for keyword in node:
            if keyword in allowed:
                if not _value_fits(keyword, node[keyword]):
                    sound = False
                    self.problem("meta.type", join_pointer(pointer, keyword), key=keyword,
                                 expected=_KEYWORD_SHAPE_NAMES[KEYWORD_SHAPES[keyword]], actual=_shape_of(node[keyword]))
                continue
            where = join_pointer(pointer, keyword)
            if keyword in UNSUPPORTED:
                en, zh = UNSUPPORTED[keyword]
                self.problem("form.unsupported_keyword", where, at_key=True, keyword=keyword,
                             why={"en": en, "zh-hans": zh})
            elif keyword.startswith("x-") or keyword in ("$defs",):
                self.problem("form.unknown_keyword", where, at_key=True, keyword=keyword,
                             suggestion=suggest(keyword, ["x-ui", "x-error"]))
            else:
                self.problem("form.unknown_keyword", where, at_key=True, keyword=keyword,
                             suggestion=suggest(keyword, sorted(KNOWN_KEYWORDS)))
        return sound

    # -- objects

    def walk_object(self, node, pointer, path, root=False):
        if len(path) > MAX_DEPTH:
            self.problem("form.too_deep", pointer, limit=MAX_DEPTH)
            return
        if not self.check_keywords(node, pointer, ROOT_KEYWORDS if root else FIELD_KEYWORDS):
            return
        if "x-ui" in node and not root:
            self.problem("form.unknown_keyword", join_pointer(pointer, "x-ui"), at_key=True, keyword="x-ui")
        if node.get("additionalProperties", False) is not False:
            self.problem("form.additional_properties", join_pointer(pointer, "additionalProperties"))
        properties = node.get("properties", {})
        for key, sub in properties.items():
            where = join_pointer(join_pointer(pointer, "properties"), key)
            if not FIELD_KEY.match(key):
                self.problem("form.field_key", where, at_key=True, key=key)
                continue
            self.walk_field(sub, where, path + (key,))
        valid_keys = [k for k in properties if FIELD_KEY.match(k)]
        for index, name in enumerate(node.get("required", [])):
            if name not in properties:  # a bad key that is listed is reported once, at the key
                self.problem("form.required_unknown", join_pointer(join_pointer(pointer, "required"), index),
                             field=name, suggestion=suggest(name, valid_keys))
        for name, needs in node.get("dependentRequired", {}).items():
            where = join_pointer(join_pointer(pointer, "dependentRequired"), name)
            for other in [name, *needs]:
                if other not in properties:
                    self.problem("form.dependent_unknown", where, field=other, suggestion=suggest(other, properties))
        self.walk_conditions(node, pointer, properties)
        for name, sub in node.get("$defs", {}).items():
            if not isinstance(sub, dict):
                continue
            self.check_keywords(sub, join_pointer(join_pointer(pointer, "$defs"), name), FIELD_KEYWORDS)

    def walk_conditions(self, node, pointer, properties):
        blocks = []
        if "if" in node:
            blocks.append((node, pointer))
        for index, sub in enumerate(node.get("allOf", [])):
            where = join_pointer(join_pointer(pointer, "allOf"), index)
            if not isinstance(sub, dict) or "if" not in sub or set(sub) - {"if", "then", "else", "$comment"}:
                self.problem("form.allof_shape", where)
                continue
            blocks.append((sub, where))
        for block, where in blocks:
            condition = block["if"]
            cond_pointer = join_pointer(where, "if")
            if not _simple_condition(condition):
                self.problem("form.condition_shape", cond_pointer)
                continue
            for name in condition.get("properties", {}):
                if name not in properties:
                    self.problem("form.condition_field", join_pointer(join_pointer(cond_pointer, "properties"), name),
                                 at_key=True, field=name, suggestion=suggest(name, [k for k in properties if FIELD_KEY.match(k)]))
            for branch in ("then", "else"):
                sub = block.get(branch)
                if not isinstance(sub, dict):
                    continue
                branch_pointer = join_pointer(where, branch)
                self.check_keywords(sub, branch_pointer, {"required", "properties", "$comment"})
                for index, name in enumerate(sub.get("required", [])):
                    if name not in properties:
                        self.problem("form.required_unknown",
                                     join_pointer(join_pointer(branch_pointer, "required"), index),
                                     field=name, suggestion=suggest(name, properties))
                for name in sub.get("properties", {}):
                    if name not in properties:
                        self.problem("form.condition_field",
                                     join_pointer(join_pointer(branch_pointer, "properties"), name),
                                     at_key=True, field=name, suggestion=suggest(name, properties))

    # -- fields

    def walk_field(self, node, pointer, path):
        if not isinstance(node, dict):
            return
        node = self.resolve(node, pointer)
        if node is None or not self.check_keywords(node, pointer, FIELD_KEYWORDS):
            return
        kind = node.get("type")
        if isinstance(kind, list):
            self.problem("form.type_list", join_pointer(pointer, "type"), types=kind)
            return
        if kind is None:
            kind = infer_type(node)
        if kind not in TYPES:
            self.problem("form.unknown_type", join_pointer(pointer, "type"), type=kind,
                         suggestion=suggest(kind, TYPES))
            return
        fmt = node.get("format", "")
        if fmt and fmt not in FORMATS:
            self.problem("form.unknown_format", join_pointer(pointer, "format"), format=fmt,
                         allowed=list(FORMATS), suggestion=suggest(fmt, FORMATS))
        if "pattern" in node:
            self.check_pattern(node["pattern"], join_pointer(pointer, "pattern"))
        for keyword in ("oneOf", "anyOf"):
            if keyword in node and not all(isinstance(o, dict) and "const" in o and set(o) <= {"const", "title", "description"}
                                           for o in node[keyword]):
                self.problem("form.choice_without_const", join_pointer(pointer, keyword), keyword=keyword)
        for keyword in node.get("x-error", {}):
            if keyword not in X_ERROR_KEYWORDS:
                self.problem("form.unknown_keyword", join_pointer(join_pointer(pointer, "x-error"), keyword),
                             at_key=True, keyword=keyword, suggestion=suggest(keyword, X_ERROR_KEYWORDS))
        if "default" in node:
            self.check_default(node, pointer)
        choices = _choices(node)
        info = FieldInfo(path, kind, fmt, choices, pointer=pointer)
        if kind == "object":
            self.walk_object(node, pointer, path)
        elif kind == "array":
            items = node.get("items")
            if not isinstance(items, dict):
                self.problem("form.array_items", pointer)
                return
            items_pointer = join_pointer(pointer, "items")
            resolved = self.resolve(items, items_pointer)
            if resolved is None:
                return
            item_type = resolved.get("type") or infer_type(resolved)
            if item_type == "object":
                self.walk_object(resolved, items_pointer, path)
                self.check_keywords(resolved, items_pointer, FIELD_KEYWORDS)
            else:
                self.walk_field(resolved, items_pointer, path + ("*",))
                self.result.fields.pop(".".join(path + ("*",)), None)
            info = FieldInfo(path, kind, fmt, _choices(resolved), item_type or "", resolved.get("format", ""),
                             pointer=items_pointer)
        self.result.fields[info.dotted] = info

    def resolve(self, node, pointer, depth=0):
        """Follow $ref within this file or to ../_shared/; None (with a problem) if it goes elsewhere."""
        if "$ref" not in node:
            return node
        ref = node["$ref"]
        where = join_pointer(pointer, "$ref")
        if not isinstance(ref, str) or depth > 8 or ref in self._resolving:
            self.problem("form.ref_cycle", where, ref=ref)
            return None
        if ref.startswith("#/"):
            target_doc = self.doc
            fragment = ref[1:]
        elif ref.startswith(SHARED_PREFIX) and "#/" in ref:
            name, fragment = ref[len(SHARED_PREFIX):].split("#", 1)
            if name in self.shared and self.shared[name] is None:
                self.result.blocked = True
                return None
            target_doc = self.shared.get(name)
            if target_doc is None:
                self.problem("form.ref_unknown", where, ref=ref)
                return None
            if not self.shared_self:
                self.result.shared_refs.add(name)
        else:
            self.problem("form.ref_remote", where, ref=ref)
            return None
        target = _follow(target_doc.data, fragment)
        if not isinstance(target, dict):
            self.problem("form.ref_unknown", where, ref=ref)
            return None
        merged = {k: v for k, v in target.items()}
        merged.update({k: v for k, v in node.items() if k != "$ref"})
        if "$ref" in target:
            self._resolving.append(ref)
            inner = dict(target)
            if target_doc is not self.doc and inner["$ref"].startswith("#/"):
                inner["$ref"] = SHARED_PREFIX + target_doc.path.rsplit("/", 1)[-1] + inner["$ref"]
            resolved = self.resolve(inner, pointer, depth + 1)
            self._resolving.pop()
            if resolved is None:
                return None
            merged = {**resolved, **{k: v for k, v in node.items() if k != "$ref"}}
        elif target_doc is not self.doc:
            # refs inside a shared definition are relative to the shared file
            merged = _rebase_refs(merged, target_doc.path.rsplit("/", 1)[-1])
        return merged

    def check_pattern(self, pattern, pointer):
        try:
            parsed = sre_parse.parse(pattern)
        except re.error as exc:
            self.problem("form.pattern_invalid", pointer, pattern=pattern, reason=str(exc))
            return
        if _nested_repeat(parsed, inside_repeat=False):
            self.problem("form.pattern_redos", pointer, pattern=pattern)

    def check_default(self, node, pointer):
        sub = {k: v for k, v in node.items() if k not in ("default", "$defs", "x-error", "if", "then", "else", "allOf")}
        try:
            errors = list(Draft202012Validator(sub, format_checker=None).iter_errors(node["default"]))
        except Exception:  # an unresolvable $ref left in the node: the ref check reports it
            return
        if errors:
            from engine.forms.validation import _message  # the same words residents would read

            _, reason = _message(errors[0])
            self.problem("form.default_invalid", join_pointer(pointer, "default"), value=repr(node["default"]),
                         reason=reason)


# The shape each keyword's value must have (what the JSON Schema meta-schema would demand of
# the keywords we support, checked here in one pass instead of by validating the meta-schema).
KEYWORD_SHAPES = {
    "title": "text", "description": "text", "$comment": "text", "pattern": "text", "format": "text",
    "$ref": "text", "$schema": "text", "$id": "text", "type": "type",
    "minLength": "count", "maxLength": "count", "minItems": "count", "maxItems": "count",
    "minimum": "number", "maximum": "number", "exclusiveMinimum": "number", "exclusiveMaximum": "number",
    "multipleOf": "positive", "enum": "list", "examples": "list", "allOf": "list", "oneOf": "list", "anyOf": "list",
    "required": "names", "readOnly": "boolean", "uniqueItems": "boolean",
    "properties": "schemas", "$defs": "schemas", "dependentRequired": "name_lists",
    "items": "object", "if": "object", "then": "object", "else": "object", "x-error": "object", "x-ui": "object",
    "additionalProperties": "boolean_or_object", "const": "any", "default": "any",
}
_KEYWORD_SHAPE_NAMES = {
    "text": TYPE_NAMES["string"], "type": {"zh-hans": "类型名", "en": "a type name"},
    "count": {"zh-hans": "非负整数", "en": "a whole number, 0 or more"}, "number": TYPE_NAMES["number"],
    "positive": {"zh-hans": "正数", "en": "a positive number"}, "list": {"zh-hans": "非空列表", "en": "a non-empty list"},
    "names": {"zh-hans": "不重复的字段名列表", "en": "a list of distinct field names"},
    "boolean": TYPE_NAMES["boolean"], "schemas": {"zh-hans": "字段名到字段定义的映射", "en": "a mapping of names to field definitions"},
    "name_lists": {"zh-hans": "字段名到字段名列表的映射", "en": "a mapping of field names to lists of field names"},
    "object": TYPE_NAMES["object"], "boolean_or_object": {"zh-hans": "false", "en": "false"}, "any": {"zh-hans": "任意值", "en": "any value"},
}


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _value_fits(keyword, value):
    shape = KEYWORD_SHAPES[keyword]
    if shape == "text":
        return isinstance(value, str)
    if shape == "type":
        return isinstance(value, (str, list))  # a list is refused later with its own message
    if shape == "count":
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0
    if shape == "number":
        return _is_number(value)
    if shape == "positive":
        return _is_number(value) and value > 0
    if shape == "list":
        return isinstance(value, list) and len(value) > 0
    if shape == "names":
        return isinstance(value, list) and all(isinstance(v, str) for v in value) and len(set(value)) == len(value)
    if shape == "boolean":
        return isinstance(value, bool)
    if shape == "schemas":
        return isinstance(value, dict) and all(isinstance(v, dict) for v in value.values())
    if shape == "name_lists":
        return isinstance(value, dict) and all(
            isinstance(v, list) and all(isinstance(x, str) for x in v) for v in value.values())
    if shape == "object":
        return isinstance(value, dict)
    if shape == "boolean_or_object":
        return isinstance(value, (bool, dict))
    return True


def _shape_of(value):
    if isinstance(value, str):
        return {"zh-hans": f"文字 '{value[:40]}'", "en": f"text '{value[:40]}'"}
    for name, kind in (("boolean", bool), ("integer", int), ("number", float), ("array", list), ("object", dict)):
        if isinstance(value, kind):
            return TYPE_NAMES[name]
    return TYPE_NAMES["null"]


def _follow(data, fragment):
    node = data
    for token in fragment.strip("/").split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or token not in node:
            return None
        node = node[token]
    return node


def _rebase_refs(node, shared_name):
    if isinstance(node, dict):
        return {k: (SHARED_PREFIX + shared_name + v if k == "$ref" and isinstance(v, str) and v.startswith("#/")
                    else _rebase_refs(v, shared_name)) for k, v in node.items()}
    if isinstance(node, list):
        return [_rebase_refs(v, shared_name) for v in node]
    return node


def infer_type(node):
    """A field's type from its fixed values when it names none (an enum of strings is a string)."""
    values = [node["const"]] if "const" in node else node.get("enum") or [
        o.get("const") for o in node.get("oneOf", node.get("anyOf", [])) if isinstance(o, dict)]
    for value in values:
        if isinstance(value, bool):
            return "boolean"
        if isinstance(value, int):
            return "integer"
        if isinstance(value, float):
            return "number"
        if isinstance(value, str):
            return "string"
    return None


def _choices(node):
    if "enum" in node:
        return tuple(node["enum"])
    if "const" in node:
        return (node["const"],)
    for keyword in ("oneOf", "anyOf"):
        options = node.get(keyword)
        if options and all(isinstance(o, dict) and "const" in o for o in options):
            return tuple(o["const"] for o in options)
    return ()


def _simple_condition(condition):
    if not isinstance(condition, dict) or set(condition) - {"properties", "required"}:
        return False
    properties = condition.get("properties")
    if not isinstance(properties, dict) or not properties:
        return False
    for test in properties.values():
        if not isinstance(test, dict) or len(test) != 1 or next(iter(test)) not in ("const", "enum"):
            return False
    return True


_REPEATS = {sre_parse.MAX_REPEAT, sre_parse.MIN_REPEAT, sre_parse.POSSESSIVE_REPEAT} if hasattr(
    sre_parse, "POSSESSIVE_REPEAT") else {sre_parse.MAX_REPEAT, sre_parse.MIN_REPEAT}


def _nested_repeat(parsed, inside_repeat):
    r"""True for the shapes that backtrack exponentially: an unbounded repetition inside another
    ((a+)+, (a*)*, (.*a){12}), or, inside a repetition, alternatives that overlap ((a|aa)+,
    (a|a)*, (\d|\d\d)+) or that can match nothing ((a|a?)+)."""
    for op, arg in parsed:
        if op in _REPEATS:
            low, high, sub = arg
            unbounded = high == sre_parse.MAXREPEAT or high > 50
            if unbounded and inside_repeat:
                return True
            # a repetition of 3 or more multiplies the ways an inner one can split the input
            if _nested_repeat(sub, inside_repeat or unbounded or high >= 3):
                return True
        elif op == sre_parse.SUBPATTERN:
            if _nested_repeat(arg[-1], inside_repeat):
                return True
        elif op == sre_parse.BRANCH:
            branches = arg[1]
            if inside_repeat and _overlapping(branches):
                return True
            for branch in branches:
                if _nested_repeat(branch, inside_repeat):
                    return True
    return False


def _overlapping(branches) -> bool:
    """Alternatives that can start alike (or match nothing): each string splits many ways."""
    firsts = []
    for branch in branches:
        if branch.getwidth()[0] == 0:
            return True
        first = _first_token(branch)
        if first is None or first in firsts:
            return True  # (an unknown start, such as a class or ., may overlap anything)
        firsts.append(first)
    return False


def _first_token(parsed):
    for op, arg in parsed:
        if op == sre_parse.LITERAL:
            return (op, arg)
        if op == sre_parse.SUBPATTERN:
            return _first_token(arg[-1])
        if op in (sre_parse.AT,):
            continue
        return None if op in (sre_parse.ANY, sre_parse.BRANCH) or op in _REPEATS else (op, repr(arg))
    return None


def _lint_ui(doc, schema, result: FormLint):
    ui = schema["x-ui"]
    top_level = list(schema["properties"])
    known = set(result.fields) | set(top_level)
    for index, name in enumerate(ui.get("order", [])):
        if name not in known:
            result.problems.append(doc.problem("form.ui_unknown_field", f"/x-ui/order/{index}", field=name,
                                               suggestion=suggest(name, known)))
    for name, options in ui.get("fields", {}).items():
        pointer = join_pointer("/x-ui/fields", name)
        info = result.fields.get(name)
        if info is None:
            result.problems.append(doc.problem("form.ui_unknown_field", pointer, at_key=True, field=name,
                                               suggestion=suggest(name, known)))
            continue
        widget = options.get("widget")
        if widget and widget not in WIDGETS_FOR.get(info.type, set()):
            result.problems.append(doc.problem("form.widget_mismatch", join_pointer(pointer, "widget"),
                                               widget=widget, type=info.type))
    steps = ui.get("steps")
    if steps:
        placed = {}
        for s_index, step in enumerate(steps):
            for f_index, name in enumerate(step["fields"]):
                pointer = f"/x-ui/steps/{s_index}/fields/{f_index}"
                if name not in top_level:
                    result.problems.append(doc.problem("form.ui_unknown_field", pointer, field=name,
                                                       suggestion=suggest(name, top_level)))
                elif name in placed:
                    result.problems.append(doc.problem("form.step_duplicate_field", pointer, field=name))
                placed.setdefault(name, pointer)
        for name in top_level:
            if name not in placed:
                result.problems.append(doc.problem("form.step_missing_field", "/x-ui/steps", field=name))
