"""The guard language: parsed once, evaluated on data, never able to run code."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.definitions import guards
from engine.definitions.guards import GuardSyntaxError, evaluate, parse

DATA = {"urgency": "紧急", "size": 4, "tags": ["噪音", "卫生"], "address": {"unit": "grid1"}, "note": ""}


@pytest.mark.parametrize("source, expected", [
    ("urgency == '紧急'", True),
    ('urgency != "紧急"', False),
    ("size >= 3 and size < 5", True),
    ("size > 4 or urgency == '一般'", False),
    ("not size > 4", True),
    ("'噪音' in tags", True),
    ("'治安' not in tags", True),
    ("urgency in ['紧急', '特急']", True),
    ("address.unit == 'grid1'", True),
    ("len(tags) == 2", True),
    ("empty(note) and empty(missing)", True),
    ("missing > 3", False),  # a missing value is never greater than anything
    ("missing == null", True),
    ("(size == 1 or size == 4) and not (urgency == '一般')", True),
    ("input.rating >= 3", True),
    ("size == 4.0", True),
    ("size < 'a'", False),  # mixed types never order
])
def test_evaluation(source, expected):
    assert evaluate(parse(source), DATA, {"rating": 4}) is expected


@pytest.mark.parametrize("source, position, code", [
    ("__import__('os')", 1, "guard.unknown_function"),
    ("9**9**9", 2, "guard.syntax"),
    ("urgency = '紧急'", 9, "guard.syntax"),
    ("size >", 7, "guard.syntax"),
    ("(size == 1", 11, "guard.syntax"),
    ("a.b.", 5, "guard.syntax"),
    ("size == 1 size", 11, "guard.syntax"),
    ("'unterminated", 1, "guard.syntax"),
    ("exec('x')", 1, "guard.unknown_function"),
    ("a.__class__", 3, "guard.syntax"),
])
def test_bad_guards_are_refused_with_a_position(source, position, code):
    with pytest.raises(GuardSyntaxError) as info:
        parse(source)
    assert (info.value.position, info.value.code) == (position, code)


def test_length_and_depth_are_bounded():
    with pytest.raises(GuardSyntaxError) as info:
        parse("x == 1 or " * 60 + "x == 1")
    assert info.value.code == "guard.too_long"
    with pytest.raises(GuardSyntaxError) as info:
        parse("(" * 40 + "x" + ")" * 40)
    assert info.value.code == "guard.too_long"


def test_names_lists_every_field_read():
    tree = parse("a == 1 and (b.c in [d, 2] or not len(e) > 0)")
    assert [n.dotted for n in guards.names(tree)] == ["a", "b.c", "d", "e"]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_any_text_parses_or_fails_cleanly(source):
    try:
        tree = parse(source)
    except GuardSyntaxError as error:
        assert 1 <= error.position <= len(source) + 1
    else:
        evaluate(tree, DATA, {})  # whatever parses also evaluates without raising
