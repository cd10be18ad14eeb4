"""Fuzzing the definition loader (engine.definitions.pipeline.check_files, the one entry point
of check_definitions, load_definitions and the admin editor).

One file of the valid mini community — its community.yaml, its flow or its form — is replaced
by arbitrary bytes, by YAML- and JSON-like text, or by a mutation of the real file. Whatever
comes in, the loader answers with problems or with success, never a traceback; and every
problem is one clean contract line, `PATH:LINE:COL: message`, about a file it was given, at a
place that exists in that file, in both languages.
"""

import json
import re
from pathlib import Path

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from engine.definitions.pipeline import SourceFile, check_files

MINI = Path(__file__).resolve().parents[1] / "fixtures" / "definitions" / "valid" / "mini"
FILES = {
    "workflows_yaml/mini/community.yaml": ("community", "mini", "mini"),
    "workflows_yaml/mini/request.flow.yaml": ("flow", "mini", "request"),
    "forms_schemas/mini/request.schema.json": ("form", "mini", "request"),
    "forms_schemas/mini/rating.schema.json": ("form", "mini", "rating"),
    "forms_schemas/_shared/defs.json": ("shared", "_shared", "defs.json"),
}
TARGETS = ["workflows_yaml/mini/community.yaml", "workflows_yaml/mini/request.flow.yaml",
           "forms_schemas/mini/request.schema.json"]
ORIGINAL = {path: (MINI / path).read_bytes() for path in FILES}
LINE = re.compile(r"^(?P<path>[^:\n]+):(?P<line>\d+):(?P<col>\d+): (?P<message>[^\n]+)$")
FUZZ = settings(max_examples=200, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Words the loader knows, so that generated documents reach past the parser into the later gates.
KEYWORDS = ["community", "name", "levels", "units", "roles", "key", "title", "level", "children", "id", "flow", "form",
            "start", "states", "transitions", "from", "to", "by", "role", "scope", "guard", "actions", "final", "due",
            "on_timeout", "vote", "type", "properties", "required", "$ref", "$defs", "x-ui", "fields", "widget",
            "enum", "oneOf", "const", "pattern", "maxLength", "items", "additionalProperties", "points", "rules",
            "categories", "timer", "submitter", "assignee", "open", "closed", "request", "grid", "grid_leader"]
YAML_CHARACTERS = "{}[]:,-&*!|>'\"#%@`?\n\t  \\" + "abcxyz019_" + "诉求网格"
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
                    st.sampled_from(KEYWORDS), st.text(max_size=12))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.one_of(st.sampled_from(KEYWORDS), st.text(max_size=8)), inner, max_size=5)), max_leaves=25)


def line_count(name, raw):
    """Lines as the file's own parser counts them: YAML breaks lines at CR, LF and CRLF (and, as
    YAML 1.1, at NEL, LS and PS), so a file of CRs alone has several lines; JSON only at LF."""
    if name.endswith(".yaml"):
        return len(re.split(b"\r\n|\r|\n|\xc2\x85|\xe2\x80\xa8|\xe2\x80\xa9", raw))
    return raw.count(b"\n") + 1


def run(path, raw):
    files = [SourceFile(name, *FILES[name], raw if name == path else ORIGINAL[name]) for name in FILES]
    result = check_files(files)  # must not raise, whatever the bytes
    lines = {name: line_count(name, raw if name == path else ORIGINAL[name]) for name in FILES}
    for problem in result.problems:
        for language in ("en", "zh-hans"):
            rendered = problem.render(language)
            match = LINE.match(rendered)
            assert match, f"not one clean PATH:LINE:COL line: {rendered!r}"
            assert match["path"] in FILES, rendered
            assert 0 <= int(match["line"]) <= lines[match["path"]] + 1, (rendered, lines[match["path"]])
            assert int(match["col"]) >= 0, rendered
            assert "Traceback" not in rendered, rendered
    if not result.problems:  # accepted: then every file gave a definition
        assert {d.path for d in result.definitions} == set(FILES)
    return result


def _dump(value, path):
    if path.endswith(".json"):
        return json.dumps(value, ensure_ascii=False, allow_nan=True).encode("utf-8")
    return yaml.safe_dump(value, allow_unicode=True).encode("utf-8")


def test_a_file_of_carriage_returns_is_reported_on_one_of_its_lines():
    # found by the fuzzer: b"\r\r!" is three lines to YAML, and the problem is on the third
    run("workflows_yaml/mini/community.yaml", b"\r\r!")


def test_the_unchanged_files_are_accepted():
    assert run(TARGETS[0], ORIGINAL[TARGETS[0]]).problems == []


@FUZZ
@given(st.sampled_from(TARGETS), st.binary(max_size=2048))
def test_arbitrary_bytes(path, raw):
    run(path, raw)


@FUZZ
@given(st.sampled_from(TARGETS), st.text(alphabet=YAML_CHARACTERS, max_size=400))
@example(TARGETS[0], "'0\n\n0'")  # found by this test: text quoted in a message must stay on its line
def test_yaml_and_json_like_text(path, text):
    run(path, text.encode("utf-8"))


@FUZZ
@given(st.sampled_from(TARGETS), VALUES)
@example(TARGETS[1], {"flow": "request", "title": "诉求", "a\nb: 1\nforms_schemas/x.json:1:1: fine": 1})
def test_well_formed_documents_of_any_shape(path, value):
    run(path, _dump(value, path))


@FUZZ
@given(st.sampled_from(TARGETS), st.data())
def test_mutations_of_the_real_files(path, data):
    text = ORIGINAL[path].decode("utf-8")
    for _ in range(data.draw(st.integers(1, 4), label="edits")):
        at = data.draw(st.integers(0, len(text)), label="at")
        cut = data.draw(st.integers(0, 8), label="cut")
        insert = data.draw(st.text(alphabet=YAML_CHARACTERS, max_size=6) | st.sampled_from(KEYWORDS), label="insert")
        text = text[:at] + insert + text[at + cut:]
    run(path, text.encode("utf-8"))


@FUZZ
@given(st.sampled_from(TARGETS), st.data())
def test_real_documents_with_any_value_put_anywhere(path, data):
    """The real file, parsed, with one value anywhere in it replaced by anything."""
    raw = ORIGINAL[path].decode("utf-8")
    document = json.loads(raw) if path.endswith(".json") else yaml.safe_load(raw)
    node, steps = document, data.draw(st.integers(1, 5), label="depth")
    for _ in range(steps):
        keys = list(node) if isinstance(node, dict) else list(range(len(node))) if isinstance(node, list) else []
        if not keys:
            break
        key = data.draw(st.sampled_from(keys), label="key")
        if not isinstance(node[key], (dict, list)) or data.draw(st.booleans(), label="stop"):
            node[key] = data.draw(VALUES, label="value")
            break
        node = node[key]
    run(path, _dump(document, path))
