"""Linli's guard language: small, typed, parsed once at load time, never `eval`.

    urgency == '紧急' and household_size >= 3
    input.rating >= 3
    not empty(photos) or category in ['噪音', '卫生']

Grammar (lowest precedence first):

    expr    := and_ ('or' and_)*
    and_    := not_ ('and' not_)*
    not_    := 'not' not_ | compare
    compare := operand (('==' | '!=' | '<' | '<=' | '>' | '>=' | 'in' | 'not' 'in') operand)?
    operand := NUMBER | STRING | 'true' | 'false' | 'null' | list | call | name | '(' expr ')'
    list    := '[' (operand (',' operand)*)? ']'
    call    := ('len' | 'empty') '(' operand ')'
    name    := IDENT ('.' IDENT)*

There is no arithmetic, no attribute access beyond the data, no way to call anything but the
two functions above — so an expression cannot run code, loop or build huge values; it can
only compare the item's data with constants. See docs/decisions/0002-guard-language.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

MAX_LENGTH = 500
MAX_DEPTH = 32


REASONS = {
    "char": ("unexpected character {found}", "此处不能出现字符 {found}"),
    "expected": ("expected {expected} but found {found}", "这里应为 {expected}, 但写的是 {found}"),
    "unexpected": ("unexpected {found}", "这里不应出现 {found}"),
    "field_name": ("{found} is not a field name (lower-case letters, digits and _)",
                   "{found} 不是字段名 (只能用小写字母、数字和下划线)"),
    "after_dot": ("expected a field name after '.'", "'.' 后面应为字段名"),
}


class GuardSyntaxError(ValueError):
    """Why a guard does not parse; `reason` says it in English and Chinese."""

    def __init__(self, reason: str, position: int, code: str = "guard.syntax", **params):
        found = params.pop("found", "")
        expected = params.pop("expected", "")
        en, zh = REASONS[reason]
        found_en, found_zh = (found["en"], found["zh-hans"]) if isinstance(found, dict) else (found, found)
        self.reason = {"en": en.format(found=found_en, expected=expected),
                       "zh-hans": zh.format(found=found_zh, expected=expected)}
        super().__init__(self.reason["en"])
        self.position = position  # 1-based character position in the expression
        self.code = code
        self.params = params


# ------------------------------------------------------------------ AST


@dataclass(frozen=True)
class Literal:
    value: Any


@dataclass(frozen=True)
class Name:
    path: tuple[str, ...]
    position: int

    @property
    def dotted(self):
        return ".".join(self.path)


@dataclass(frozen=True)
class ListOf:
    items: tuple


@dataclass(frozen=True)
class Call:
    function: str
    argument: Any


@dataclass(frozen=True)
class Compare:
    op: str
    left: Any
    right: Any


@dataclass(frozen=True)
class Not:
    operand: Any


@dataclass(frozen=True)
class BoolOp:
    op: str  # 'and' | 'or'
    operands: tuple


FUNCTIONS = ("len", "empty")
KEYWORDS = {"and", "or", "not", "in", "true", "false", "null"}

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<string>'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|!=|<=|>=|<|>|\(|\)|\[|\]|,|\.)
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    position: int  # 1-based


def tokenize(source: str):
    tokens, i = [], 0
    while i < len(source):
        match = _TOKEN.match(source, i)
        if not match:
            raise GuardSyntaxError("char", i + 1, found=repr(source[i]))
        kind = match.lastgroup
        if kind != "ws":
            tokens.append(Token(kind, match.group(), i + 1))
        i = match.end()
    tokens.append(Token("end", "", len(source) + 1))
    return tokens


class _Parser:
    def __init__(self, source):
        self.tokens = tokenize(source)
        self.index = 0
        self.depth = 0

    @property
    def token(self):
        return self.tokens[self.index]

    def advance(self):
        token = self.tokens[self.index]
        self.index += 1
        return token

    def at(self, text):
        return self.token.text == text and self.token.kind in ("op", "name")

    def expect(self, text):
        if not self.at(text):
            raise GuardSyntaxError("expected", self.token.position, expected=repr(text), found=_found(self.token))
        return self.advance()

    def nest(self):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise GuardSyntaxError("unexpected", self.token.position, code="guard.too_long", found="(")

    def parse(self):
        node = self.expr()
        if self.token.kind != "end":
            raise GuardSyntaxError("unexpected", self.token.position, found=_found(self.token))
        return node

    def expr(self):
        self.nest()
        operands = [self.and_()]
        while self.at("or"):
            self.advance()
            operands.append(self.and_())
        self.depth -= 1
        return operands[0] if len(operands) == 1 else BoolOp("or", tuple(operands))

    def and_(self):
        operands = [self.not_()]
        while self.at("and"):
            self.advance()
            operands.append(self.not_())
        return operands[0] if len(operands) == 1 else BoolOp("and", tuple(operands))

    def not_(self):
        if self.at("not"):
            self.advance()
            self.nest()
            node = Not(self.not_())
            self.depth -= 1
            return node
        return self.compare()

    def compare(self):
        left = self.operand()
        token = self.token
        if token.kind == "op" and token.text in ("==", "!=", "<", "<=", ">", ">="):
            self.advance()
            return Compare(token.text, left, self.operand())
        if self.at("in"):
            self.advance()
            return Compare("in", left, self.operand())
        if self.at("not") and self.tokens[self.index + 1].text == "in":
            self.advance()
            self.advance()
            return Compare("not in", left, self.operand())
        return left

    def operand(self):
        token = self.token
        if token.kind == "number":
            self.advance()
            return Literal(float(token.text) if "." in token.text else int(token.text))
        if token.kind == "string":
            self.advance()
            return Literal(_unquote(token))
        if token.kind == "op" and token.text == "(":
            self.advance()
            node = self.expr()
            self.expect(")")
            return node
        if token.kind == "op" and token.text == "[":
            self.advance()
            items = []
            if not self.at("]"):
                items.append(self.operand())
                while self.at(","):
                    self.advance()
                    items.append(self.operand())
            self.expect("]")
            return ListOf(tuple(items))
        if token.kind == "name":
            if token.text in ("true", "false", "null"):
                self.advance()
                return Literal({"true": True, "false": False, "null": None}[token.text])
            if token.text in KEYWORDS:
                raise GuardSyntaxError("unexpected", token.position, found=_found(token))
            self.advance()
            if self.at("("):
                if token.text not in FUNCTIONS:
                    raise GuardSyntaxError("unexpected", token.position, found=repr(token.text),
                                           code="guard.unknown_function", name=token.text, allowed=list(FUNCTIONS))
                self.advance()
                argument = self.operand()
                self.expect(")")
                return Call(token.text, argument)
            _field_name(token)
            path = [token.text]
            while self.at("."):
                self.advance()
                part = self.token
                if part.kind != "name" or part.text in KEYWORDS:
                    raise GuardSyntaxError("after_dot", part.position)
                path.append(_field_name(self.advance()))
            return Name(tuple(path), token.position)
        raise GuardSyntaxError("unexpected", token.position, found=_found(token))


_FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def _found(token):
    return repr(token.text) if token.text else {"en": "the end", "zh-hans": "表达式结尾"}


def _field_name(token):
    """Field names are what form keys may be: lower-case letters, digits and _ (so no dunders)."""
    if not _FIELD_NAME.match(token.text):
        raise GuardSyntaxError("field_name", token.position, found=repr(token.text))
    return token.text


def _unquote(token):
    body = token.text[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


def parse(source: str):
    """Parse a guard into an AST, or raise GuardSyntaxError with the character position."""
    if len(source) > MAX_LENGTH:
        raise GuardSyntaxError("unexpected", MAX_LENGTH, code="guard.too_long", found="…")
    return _Parser(source).parse()


def names(node):
    """Every Name the expression reads."""
    if isinstance(node, Name):
        yield node
    elif isinstance(node, Compare):
        yield from names(node.left)
        yield from names(node.right)
    elif isinstance(node, Not):
        yield from names(node.operand)
    elif isinstance(node, BoolOp):
        for operand in node.operands:
            yield from names(operand)
    elif isinstance(node, ListOf):
        for item in node.items:
            yield from names(item)
    elif isinstance(node, Call):
        yield from names(node.argument)


def comparisons(node):
    """Every Compare in the expression (the linter checks their operand types)."""
    if isinstance(node, Compare):
        yield node
    for child in _children(node):
        yield from comparisons(child)


def _children(node):
    if isinstance(node, Compare):
        return (node.left, node.right)
    if isinstance(node, Not):
        return (node.operand,)
    if isinstance(node, BoolOp):
        return node.operands
    if isinstance(node, ListOf):
        return node.items
    if isinstance(node, Call):
        return (node.argument,)
    return ()


# ------------------------------------------------------------------ evaluation


def lookup(path, data, inputs):
    if path[0] == "input":
        value, path = inputs, path[1:]
    else:
        value = data
    for part in path:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def evaluate(node, data: dict, inputs: dict | None = None):
    """The value of the expression for an item's data (and a transition's inputs)."""
    inputs = inputs or {}
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Name):
        return lookup(node.path, data, inputs)
    if isinstance(node, ListOf):
        return [evaluate(item, data, inputs) for item in node.items]
    if isinstance(node, Call):
        value = evaluate(node.argument, data, inputs)
        if node.function == "len":
            return len(value) if isinstance(value, (str, list, dict)) else 0
        return value is None or value == "" or value == [] or value == {}
    if isinstance(node, Not):
        return not truthy(evaluate(node.operand, data, inputs))
    if isinstance(node, BoolOp):
        if node.op == "and":
            return all(truthy(evaluate(o, data, inputs)) for o in node.operands)
        return any(truthy(evaluate(o, data, inputs)) for o in node.operands)
    left, right = evaluate(node.left, data, inputs), evaluate(node.right, data, inputs)
    return _compare(node.op, left, right)


def truthy(value):
    return value not in (None, False, 0, "", [], {})


def _compare(op, left, right):
    if op == "==":
        return left == right
    if op == "!=":
        return left != right
    if op in ("in", "not in"):
        if isinstance(right, (list, str)):
            found = left in right if not (isinstance(right, str) and not isinstance(left, str)) else False
        else:
            found = False
        return found if op == "in" else not found
    # Ordering: a missing value is never greater or smaller than anything.
    if left is None or right is None:
        return False
    if isinstance(left, bool) or isinstance(right, bool):
        return False
    numbers = (int, float)
    if not (isinstance(left, numbers) and isinstance(right, numbers)) and type(left) is not type(right):
        return False
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]
