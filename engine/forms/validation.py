"""The server's verdict on a submission: jsonschema decides, this module says it in words.

`validate(spec, data)` returns `FieldError`s keyed by the JSON pointer of the field they
concern, each with a stable code and a message in Chinese and English — "请输入11位手机号码",
never jsonschema's own English. A form may override any message per keyword with `x-error`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .spec import FormSpec, text

MAX_ERRORS = 50


@dataclass(frozen=True)
class FieldError:
    pointer: str
    code: str
    message: dict  # {"zh-hans": ..., "en": ...}

    def text(self, language="zh-hans"):
        return text(self.message, language)


def _msg(zh, en):
    return {"zh-hans": zh, "en": en}


TYPE_MESSAGES = {
    "integer": _msg("请输入整数", "Enter a whole number"),
    "number": _msg("请输入数字", "Enter a number"),
    "string": _msg("请输入文字", "Enter text"),
    "boolean": _msg("请选择是或否", "Choose yes or no"),
    "array": _msg("格式不对: 应为一组值", "Should be a list of values"),
    "object": _msg("格式不对: 应为一组字段", "Should be a group of fields"),
    "null": _msg("应为空", "Should be empty"),
}
FORMAT_MESSAGES = {
    "date": _msg("请输入日期 (年-月-日)", "Enter a date (YYYY-MM-DD)"),
    "date-time": _msg("请输入日期和时间", "Enter a date and time"),
    "time": _msg("请输入时间 (时:分)", "Enter a time (HH:MM)"),
    "email": _msg("请输入有效的电子邮箱", "Enter a valid e-mail address"),
    "uri": _msg("请输入以 http:// 或 https:// 开头的网址", "Enter a web address starting with http:// or https://"),
    "cn-id-card": _msg("请输入正确的18位身份证号码", "Enter a valid 18-character ID card number"),
    "file": _msg("请重新上传这个文件", "Upload this file again"),
    "unit": _msg("请选择所在单位", "Choose a unit"),
    "post": _msg("请选择岗位", "Choose a post"),
    "store-item": _msg("请选择兑换的物品或服务", "Choose an item"),
    "team": _msg("请选择服务队", "Choose a team"),
}
NUL_MESSAGE = _msg("含有无法保存的空字符, 请删除后再提交", "Contains a NUL character, which cannot be stored")


def _message(error) -> tuple[str, dict]:
    kind, value, instance = error.validator, error.validator_value, error.instance
    if kind == "required":
        return "required", _msg("此项必填", "This field is required")
    if kind == "type":
        expected = value[0] if isinstance(value, list) else value
        return "type", TYPE_MESSAGES.get(expected, TYPE_MESSAGES["string"])
    if kind == "minLength":
        return "min_length", _msg(f"至少输入{value}个字", f"Enter at least {value} characters")
    if kind == "maxLength":
        return "max_length", _msg(f"最多输入{value}个字", f"Enter at most {value} characters")
    if kind == "pattern":
        return "pattern", _msg("格式不正确", "This is not in the expected format")
    if kind == "format":
        return "format", FORMAT_MESSAGES.get(value, _msg("格式不正确", "This is not in the expected format"))
    if kind in ("minimum", "exclusiveMinimum"):
        word = ("不能小于", "at least") if kind == "minimum" else ("必须大于", "more than")
        return "minimum", _msg(f"{word[0]}{value}", f"Enter a number {word[1]} {value}")
    if kind in ("maximum", "exclusiveMaximum"):
        word = ("不能大于", "at most") if kind == "maximum" else ("必须小于", "less than")
        return "maximum", _msg(f"{word[0]}{value}", f"Enter a number {word[1]} {value}")
    if kind == "multipleOf":
        return "multiple_of", _msg(f"必须是{value}的倍数", f"Enter a multiple of {value}")
    if kind in ("enum", "const", "oneOf", "anyOf"):
        return "choice", _msg("请从选项中选择", "Choose one of the options")
    if kind == "minItems":
        return "min_items", _msg(f"至少需要{value}项", f"Add at least {value}")
    if kind == "maxItems":
        return "max_items", _msg(f"最多{value}项", f"Add at most {value}")
    if kind == "uniqueItems":
        return "unique", _msg("有重复的选项", "Some entries are repeated")
    if kind in ("additionalProperties", "unevaluatedProperties"):
        return "unknown_field", _msg("表单中没有这一项", "This form has no such field")
    if kind == "dependentRequired":
        return "required", _msg("此项必填", "This field is required")
    return "invalid", _msg("填写有误", "This value is not valid")


def _pointer(path):
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in path) if path else ""


def _targets(error):
    """The pointer(s) an error belongs to: a missing field's own pointer, not its parent's."""
    base = list(error.absolute_path)
    if error.validator in ("required", "dependentRequired"):
        present = error.instance if isinstance(error.instance, dict) else {}
        if error.validator == "required":
            names = [n for n in error.validator_value if n not in present]
        else:
            names = [n for key, needs in error.validator_value.items() if key in present for n in needs if n not in present]
        return [_pointer(base + [name]) for name in names]
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        return [_pointer(base + [name]) for name in error.instance if name not in allowed]
    return [_pointer(base)]


def _override(spec: FormSpec, pointer: str, keyword: str, schema: dict):
    """A form's own words for this keyword (x-error), on the failing schema or on the field."""
    custom = (schema or {}).get("x-error", {}).get(keyword) if isinstance(schema, dict) else None
    if custom is None:
        field = field_at(spec, pointer)
        custom = field.errors.get(keyword) if field else None
    if custom is None:
        return None
    return custom if isinstance(custom, dict) else {"zh-hans": custom, "en": custom}


def field_at(spec: FormSpec, pointer: str):
    """The FieldSpec at a pointer such as /address/unit or /members/0/name (None if unknown)."""
    parts = [p for p in pointer.split("/")[1:] if p]
    fields = {f.name: f for f in spec.fields}
    found = None
    for part in parts:
        if part.isdigit() and found is not None and found.item is not None:
            found = found.item
            fields = {f.name: f for f in found.children}
            continue
        found = fields.get(part)
        if found is None:
            return None
        fields = {f.name: f for f in found.children}
    return found


def validate(spec: FormSpec, data) -> list[FieldError]:
    """Every problem with `data` as a submission of `spec` (empty when it may be stored)."""
    errors, seen = [], set()
    for error in spec.validator.iter_errors(data):
        errors.extend(_describe(spec, error, seen))
        if len(errors) >= MAX_ERRORS:
            break
    errors.extend(FieldError(pointer, "nul", NUL_MESSAGE) for pointer in _nul_pointers(data, []))
    return errors[:MAX_ERRORS]


def _nul_pointers(value, path):
    """Text with U+0000 is valid JSON but PostgreSQL's jsonb cannot store it: refuse it here,
    in the resident's words, rather than fail in the database."""
    if isinstance(value, str):
        if "\x00" in value:
            yield _pointer(path)
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and "\x00" in key:
                yield _pointer(path + [key])
            else:
                yield from _nul_pointers(item, path + [key])
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _nul_pointers(item, path + [index])


def _describe(spec, error, seen):
    if error.validator in ("allOf",) and error.context:
        return [e for sub in error.context for e in _describe(spec, sub, seen)]
    code, message = _message(error)
    found = []
    for pointer in _targets(error):
        keyword = "required" if code == "required" else error.validator
        schema = error.schema if code != "required" else None
        message_here = _override(spec, pointer, keyword, schema) or message
        key = (pointer, code)
        if key in seen:
            continue
        seen.add(key)
        found.append(FieldError(pointer, code, message_here))
    return found


def as_messages(errors: list[FieldError], language="zh-hans") -> dict[str, list[str]]:
    """The API's error shape: {"/pointer": ["message", ...]}."""
    out: dict[str, list[str]] = {}
    for error in errors:
        out.setdefault(error.pointer, []).append(error.text(language))
    return out
