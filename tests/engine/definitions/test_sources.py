"""Gate 1: parsing YAML and JSON into data that knows where it was written."""

import pytest

from engine.definitions.problems import DefinitionError
from engine.definitions.sources import json_positions, parse_json, parse_yaml, read_text


def problems_of(parse, text, path="x"):
    with pytest.raises(DefinitionError) as info:
        parse(path, text)
    return [(p.code, p.line, p.column) for p in info.value.problems]


def test_yaml_values_remember_their_line_and_column():
    doc = parse_yaml("f.yaml", "flow: a\nstates:\n  open:\n    title: 待处理\n")
    assert doc.data == {"flow": "a", "states": {"open": {"title": "待处理"}}}
    assert doc.locate("/states/open/title") == (4, 12)
    assert doc.locate("/states/open", key=True) == (3, 3)
    assert doc.locate("/states/open/missing") == (4, 5)  # falls back to the enclosing mapping


def test_yaml_refuses_python_tags_without_running_them():
    assert problems_of(parse_yaml, "a: !!python/object/apply:os.system ['echo hi']\n") == [("yaml.tag", 1, 4)]


def test_yaml_refuses_anchors_and_aliases_before_expanding_them():
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b]\n"
    codes = {code for code, *_ in problems_of(parse_yaml, bomb)}
    assert codes == {"yaml.alias"}


@pytest.mark.parametrize("text, value", [("states:\n  no: {title: a}\n", "no"), ("final: yes\n", "yes"),
                                         ("x: On\n", "On")])
def test_yaml_11_booleans_must_be_quoted(text, value):
    with pytest.raises(DefinitionError) as info:
        parse_yaml("f.yaml", text)
    (problem,) = info.value.problems
    assert problem.code == "yaml.ambiguous_bool"
    assert problem.message("en") == (
        f"'{value}' may be read as a yes/no (boolean) in YAML; if you mean the text, quote it: '{value}'")


def test_yaml_quoted_no_and_true_false_are_fine():
    assert parse_yaml("f.yaml", "a: 'no'\nb: true\nc: false\n").data == {"a": "no", "b": True, "c": False}


def test_yaml_duplicate_keys_are_refused_at_the_second():
    assert problems_of(parse_yaml, "a: 1\nb: 2\na: 3\n") == [("doc.duplicate_key", 3, 1)]


def test_yaml_syntax_error_points_at_the_line():
    ((code, line, _),) = problems_of(parse_yaml, "a:\n  b: 1\n c: 2\n")
    assert (code, line) == ("yaml.syntax", 3)


def test_yaml_two_documents_are_refused():
    assert problems_of(parse_yaml, "a: 1\n---\nb: 2\n")[0][0] == "yaml.multiple_documents"


def test_yaml_dates_stay_text():
    assert parse_yaml("f.yaml", "d: 2026-01-01\n").data == {"d": "2026-01-01"}


def test_empty_yaml_is_refused():
    assert problems_of(parse_yaml, "# only a comment\n") == [("doc.empty", 1, 1)]


def test_json_syntax_error_has_line_and_column_and_says_what_in_both_languages():
    with pytest.raises(DefinitionError) as info:
        parse_json("f.json", '{\n  "a": 1,\n}')
    (problem,) = info.value.problems
    assert (problem.code, problem.line, problem.column) == ("json.syntax", 2, 9)
    assert problem.render("en") == "f.json:2:9: JSON syntax error: Illegal trailing comma before end of object"
    assert problem.render("zh-hans") == "f.json:2:9: JSON 语法错误: 最后一项后面不能有逗号"


def test_json_duplicate_key_points_at_the_second():
    assert problems_of(parse_json, '{\n  "a": {"b": 1},\n  "c": 2,\n  "a": 3\n}') == [("doc.duplicate_key", 4, 3)]


def test_json_refuses_nan():
    assert problems_of(parse_json, '{"a": NaN}')[0][0] == "json.syntax"


def test_json_positions_are_computed_only_when_needed():
    doc = parse_json("f.json", '{\n  "properties": {\n    "phone": {"type": "string"}\n  }\n}')
    assert doc._value_marks is None
    assert doc.locate("/properties/phone/type") == (3, 23)
    assert doc.locate("/properties/phone", key=True) == (3, 5)


def test_json_positions_handle_escapes_and_nesting():
    values, keys = json_positions('{"a\\"b": [1, {"c/d": "x\\u4e2d"}], "e": null}')
    assert values["/a\"b/1/c~1d"] == (1, 22)
    assert keys["/e"] == (1, 35)


def test_text_must_be_utf8():
    with pytest.raises(DefinitionError) as info:
        read_text("f.yaml", "a: 1\nb: 中".encode("gbk"))
    assert [(p.code, p.line) for p in info.value.problems] == [("io.encoding", 2)]


def test_text_size_is_bounded():
    with pytest.raises(DefinitionError) as info:
        read_text("f.yaml", b"a" * 1_000_001)
    assert info.value.problems[0].code == "io.too_large"


def test_a_bom_is_tolerated():
    assert read_text("f.yaml", "\ufeffa: 1".encode("utf-8")) == "a: 1"
