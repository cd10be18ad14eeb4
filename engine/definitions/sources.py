"""Gate 1: turn the text of a definition file into plain data that remembers where it came from.

YAML is composed with PyYAML's safe loader (the C one where available) and converted by us,
node by node, so that we can refuse what a safe definition never needs — tags other than the
core ones, anchors and aliases (alias bombs), duplicate keys, YAML 1.1's yes/no booleans (a
state named `no` would silently become `False`) — and record the line and column of every
value. JSON is decoded by the standard library; positions are worked out only when a problem
has to be shown, so valid files pay nothing for them.

Nothing here imports Django or touches the network.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from .problems import DefinitionError, Problem

MAX_BYTES = 1_000_000
MAX_DEPTH = 64

SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_constructor = yaml.constructor.SafeConstructor()

_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_TAG + t for t in ("str", "int", "float", "bool", "null", "timestamp")}
_STRICT_BOOLS = {"true", "false"}


def escape_pointer_token(token) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def join_pointer(pointer: str, token) -> str:
    return f"{pointer}/{escape_pointer_token(token)}"


@dataclass
class Document:
    """A parsed definition file: its data and a way to find where any part of it was written."""

    path: str
    data: Any
    text: str
    _value_marks: dict | None = field(default=None, repr=False)
    _key_marks: dict | None = field(default=None, repr=False)

    def locate(self, pointer: str, key: bool = False) -> tuple[int, int]:
        """(line, column), 1-based, of the value at `pointer` (or of its key, if `key`).

        Falls back to the nearest enclosing value that has a known position.
        """
        if self._value_marks is None:
            self._value_marks, self._key_marks = json_positions(self.text)
        marks = self._key_marks if key else self._value_marks
        if pointer in marks:
            return marks[pointer]
        while pointer:
            pointer = pointer.rsplit("/", 1)[0]
            if pointer in self._value_marks:
                return self._value_marks[pointer]
        return self._value_marks.get("", (1, 1))

    def problem(self, code, pointer="", at_key=False, **params) -> Problem:
        line, column = self.locate(pointer, key=at_key)
        return Problem(code, params, path=self.path, pointer=pointer, line=line, column=column)


def read_text(path: str, raw: bytes) -> str:
    if len(raw) > MAX_BYTES:
        raise DefinitionError([Problem("io.too_large", {"size": len(raw), "limit": MAX_BYTES}, path=path)])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DefinitionError([Problem("io.encoding", {}, path=path, line=line, column=1)]) from None
    return text


# ---------------------------------------------------------------- YAML


def parse_yaml(path: str, text: str) -> Document:
    try:
        node = yaml.compose(text, Loader=SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        code = "yaml.multiple_documents" if "single document" in str(exc.context or "") else "yaml.syntax"
        if mark and _tab_at(text, mark):
            code = "yaml.tab"
        reason = " ".join(filter(None, [exc.context, exc.problem])) or str(exc)
        raise DefinitionError([
            Problem(code, {"reason": reason}, path=path,
                    line=mark.line + 1 if mark else 0, column=mark.column + 1 if mark else 0)
        ]) from None
    except yaml.YAMLError as exc:  # reader errors (control characters and the like)
        raise DefinitionError([Problem("yaml.syntax", {"reason": str(exc).splitlines()[0]}, path=path)]) from None
    if node is None:
        raise DefinitionError([Problem("doc.empty", {}, path=path, line=1, column=1)])
    converter = _YamlConverter(path)
    if "&" in text:  # an anchor nobody uses still says "reuse me": refuse it like an alias
        converter.refuse_anchors(text)
    data = converter.convert(node, "", 0)
    if converter.problems:
        raise DefinitionError(converter.problems)
    return Document(path, data, text, converter.value_marks, converter.key_marks)


def _tab_at(text, mark):
    lines = text.splitlines()
    return mark.line < len(lines) and "\t" in lines[mark.line][: mark.column + 1]


class _YamlConverter:
    def __init__(self, path):
        self.path = path
        self.problems: list[Problem] = []
        self.value_marks: dict[str, tuple[int, int]] = {}
        self.key_marks: dict[str, tuple[int, int]] = {}
        self._seen: set[int] = set()
        self._alias_reported = False

    def refuse_anchors(self, text):
        for event in yaml.parse(text, Loader=SafeLoader):
            if getattr(event, "anchor", None) and not isinstance(event, yaml.AliasEvent):
                self._problem("yaml.alias", event)
                self._alias_reported = True
                return

    def _problem(self, code, node, **params):
        mark = node.start_mark
        self.problems.append(Problem(code, params, path=self.path, line=mark.line + 1, column=mark.column + 1))

    def convert(self, node, pointer, depth):
        self.value_marks[pointer] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if id(node) in self._seen:
            if not self._alias_reported:  # one line says it; a bomb would otherwise say it thousands of times
                self._problem("yaml.alias", node)
                self._alias_reported = True
            return None
        self._seen.add(id(node))
        if depth > MAX_DEPTH:
            self._problem("yaml.too_deep", node, limit=MAX_DEPTH)
            return None
        if isinstance(node, yaml.MappingNode):
            if node.tag != _TAG + "map":
                self._problem("yaml.tag", node, tag=node.tag.replace(_TAG, "!!"))
                return None
            result = {}
            for key_node, value_node in node.value:
                key = self.scalar_key(key_node)
                if key is None:
                    continue
                child = join_pointer(pointer, key)
                if key in result:
                    self._problem("doc.duplicate_key", key_node, key=key)
                    continue
                self.key_marks[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
                result[key] = self.convert(value_node, child, depth + 1)
            return result
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _TAG + "seq":
                self._problem("yaml.tag", node, tag=node.tag.replace(_TAG, "!!"))
                return None
            return [self.convert(item, join_pointer(pointer, i), depth + 1) for i, item in enumerate(node.value)]
        return self.scalar(node)

    def scalar(self, node):
        if node.tag not in _SCALAR_TAGS:
            self._problem("yaml.tag", node, tag=node.tag.replace(_TAG, "!!"))
            return None
        if node.tag == _TAG + "bool" and not node.style and node.value.lower() not in _STRICT_BOOLS:
            self._problem("yaml.ambiguous_bool", node, value=node.value)
            return None
        if node.tag in (_TAG + "str", _TAG + "timestamp"):
            return node.value  # dates stay text: the meta-schemas say what they must look like
        return _constructor.construct_object(node, deep=True)

    def scalar_key(self, node):
        if not isinstance(node, yaml.ScalarNode):
            self._problem("yaml.key_type", node, key="…")
            return None
        value = self.scalar(node)
        if node.tag == _TAG + "str" or node.tag == _TAG + "timestamp":
            return value
        if value is None and self.problems and self.problems[-1].line == node.start_mark.line + 1:
            return None  # already reported (a tag or an ambiguous yes/no)
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)  # e.g. months or ratings used as keys
        self._problem("yaml.key_type", node, key=node.value)
        return None


# ---------------------------------------------------------------- JSON


def _no_duplicates(pairs):
    result = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


class _DuplicateKey(ValueError):
    def __init__(self, key):
        self.key = key


def parse_json(path: str, text: str) -> Document:
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise DefinitionError([
            Problem("json.syntax", {"reason": _json_reason(exc.msg)}, path=path, line=exc.lineno, column=exc.colno)
        ]) from None
    except _DuplicateKey as exc:
        line, column = _find_duplicate(text, exc.key)
        raise DefinitionError([Problem("doc.duplicate_key", {"key": exc.key}, path=path, line=line, column=column)]) from None
    except RecursionError:
        raise DefinitionError([Problem("yaml.too_deep", {"limit": MAX_DEPTH}, path=path)]) from None
    return Document(path, data, text)


def _refuse_constant(name):
    raise json.JSONDecodeError(f"{name} is not valid JSON", name, 0)


_JSON_REASONS_ZH = {
    "Expecting ',' delimiter": "缺少逗号",
    "Expecting ':' delimiter": "缺少冒号",
    "Expecting property name enclosed in double quotes": "键名要用双引号括起来",
    "Illegal trailing comma before end of object": "最后一项后面不能有逗号",
    "Illegal trailing comma before end of array": "最后一项后面不能有逗号",
    "Expecting value": "这里缺少一个值",
    "Unterminated string starting at": "字符串缺少结束的引号",
    "Extra data": "文件末尾有多余的内容",
    "Invalid control character at": "字符串中有控制字符",
}


def _json_reason(msg):
    return {"en": msg, "zh-hans": _JSON_REASONS_ZH.get(msg, msg)}


def _find_duplicate(text, key):
    """Where the second occurrence of a duplicated key was written."""
    seen = set()
    for pointer, pos in json_key_occurrences(text):
        if pointer in seen and pointer.rpartition("/")[2] == escape_pointer_token(key):
            return pos
        seen.add(pointer)
    return (0, 0)


_WS = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?")
_LITERALS = ("true", "false", "null")


def json_positions(text: str):
    """Map every JSON pointer of a JSON text to the (line, column) of its value and of its key.

    Used lazily, on the error path only. Text that is not valid JSON yields what was mapped
    before the fault.
    """
    values, occurrences = _scan_json(text)
    return values, dict(occurrences)


def json_key_occurrences(text: str):
    """Every key of a JSON text in order, as (pointer, (line, column)); duplicates included."""
    return _scan_json(text)[1]


def _scan_json(text):
    values: dict[str, tuple[int, int]] = {}
    keys: list[tuple[str, tuple[int, int]]] = []
    line_starts = [0]
    for match in re.finditer("\n", text):
        line_starts.append(match.end())

    def position(offset):
        line = bisect.bisect_right(line_starts, offset)
        return (line, offset - line_starts[line - 1] + 1)

    scanstring = json.decoder.scanstring

    def value(i, pointer, depth):
        i = _WS.match(text, i).end()
        values[pointer] = position(i)
        if depth > 200 or i >= len(text):
            raise ValueError
        ch = text[i]
        if ch == "{":
            i = _WS.match(text, i + 1).end()
            if text[i] == "}":
                return i + 1
            while True:
                i = _WS.match(text, i).end()
                key, end = scanstring(text, i + 1)
                child = join_pointer(pointer, key)
                keys.append((child, position(i)))
                i = _WS.match(text, end).end() + 1  # the colon
                i = value(i, child, depth + 1)
                i = _WS.match(text, i).end()
                if text[i] == "}":
                    return i + 1
                i += 1
        if ch == "[":
            i = _WS.match(text, i + 1).end()
            if text[i] == "]":
                return i + 1
            index = 0
            while True:
                i = value(i, join_pointer(pointer, index), depth + 1)
                i = _WS.match(text, i).end()
                if text[i] == "]":
                    return i + 1
                i += 1
                index += 1
        if ch == '"':
            return scanstring(text, i + 1)[1]
        for literal in _LITERALS:
            if text.startswith(literal, i):
                return i + len(literal)
        match = _NUMBER.match(text, i)
        if not match:
            raise ValueError
        return match.end()

    try:
        value(0, "", 0)
    except (ValueError, IndexError, RecursionError):
        pass
    return values, keys
