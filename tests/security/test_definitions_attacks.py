"""Attacks through definition files: what the broken corpus does not already hold.

The corpus (tests/fixtures/definitions/broken/) has one case for each attack named in the
security brief — `!!python/object/apply` (004), an alias bomb (005), a state named `no` (006),
`requried` (015, 086), `__import__` (045) and `9**9**9` (046) in guards, a remote `$ref` (075),
`^(a+)+$` (077), the key `a') OR 1=1--` (070) — and checks their exact lines. Here:

- those same cases go through `load_definitions` with the network cut off: refused, nothing
  published, no socket opened;
- variants of each attack that the corpus does not hold are refused at check time with their
  file and line, quickly, without a socket.
"""

import io
import re
import shutil
import socket
import time
from pathlib import Path

import pytest
from django.core.management import call_command

from engine.definitions.pipeline import check_paths
from engine.models import DefinitionVersion

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "definitions"
MINI = FIXTURES / "valid" / "mini"
CORPUS_ATTACKS = ["004-yaml-python-tag", "005-yaml-alias-bomb", "006-yaml-state-named-no",
                  "015-meta-state-misspelled-required", "045-guard-import", "046-guard-power",
                  "070-form-field-key-injection", "075-form-remote-ref", "077-form-redos-pattern",
                  "086-form-misspelled-required"]
FLOW = "workflows_yaml/mini/request.flow.yaml"
COMMUNITY = "workflows_yaml/mini/community.yaml"
FORM = "forms_schemas/mini/request.schema.json"
SHARED = "forms_schemas/_shared/defs.json"
LINE = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<message>.+)$")


@pytest.fixture
def no_network(monkeypatch):
    """Every way out to the network raises, and is recorded."""
    attempts = []

    def refuse(name):
        def attempt(*args, **kwargs):
            attempts.append((name, args[1:] if name.startswith("socket.") else args))
            raise OSError(f"the network is cut off in this test ({name})")
        return attempt

    monkeypatch.setattr(socket.socket, "connect", refuse("socket.connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse("socket.connect_ex"))
    monkeypatch.setattr(socket, "create_connection", refuse("create_connection"))
    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    return attempts


def materialise(target, overlay=None, edits=()):
    shutil.copytree(MINI, target)
    if overlay is not None:
        for source in overlay.rglob("*"):
            if source.is_file() and not source.name.startswith("expected"):
                destination = target / source.relative_to(overlay)
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, destination)
    for path, old, new in edits:
        file = target / path
        text = file.read_text(encoding="utf-8")
        assert old in text, (path, old)
        file.write_text(text.replace(old, new, 1), encoding="utf-8")
    return target


def check(root):
    started = time.perf_counter()
    result = check_paths([], root / "forms_schemas", root / "workflows_yaml", base=root)
    return [problem.render("en") for problem in result.problems], time.perf_counter() - started


# ---------------------------------------------------------------- the corpus's attacks, loaded


@pytest.fixture
def tree(tmp_path, settings, monkeypatch):
    def make(case):
        root = materialise(tmp_path / "defs", FIXTURES / "broken" / case)
        monkeypatch.chdir(root)
        settings.LINLI_FORMS_DIR, settings.LINLI_WORKFLOWS_DIR = root / "forms_schemas", root / "workflows_yaml"
        return root
    return make


@pytest.mark.django_db
@pytest.mark.parametrize("case", CORPUS_ATTACKS)
def test_the_corpus_attacks_are_refused_by_load_definitions_without_the_network(tree, no_network, case):
    tree(case)
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(SystemExit) as exit:
        call_command("load_definitions", "--language", "en", stdout=out, stderr=err)
    assert exit.value.code == 1
    expected = (FIXTURES / "broken" / case / "expected.txt").read_text(encoding="utf-8").strip().splitlines()
    assert out.getvalue().strip().splitlines() == expected
    assert err.getvalue().strip() == "nothing published"
    assert DefinitionVersion.objects.count() == 0  # all or nothing: not even the valid files
    assert no_network == []


# ---------------------------------------------------------------- variants the corpus does not hold


def _guard(expression):
    return (FLOW, "guard: \"urgency == '紧急' or len(topic) > 0\"", f'guard: "{expression}"')


def _ref(ref):
    return (FORM, '"$ref": "../_shared/defs.json#/$defs/cn_mobile"', f'"$ref": "{ref}"')


def _pattern(pattern):
    return (FORM, '"maxLength": 200}', f'"maxLength": 200, "pattern": "{pattern}"}}')


def _key(key):
    return (FORM, '"topic": {', f'"{key}": {{"type": "string"}}, "topic": {{')


# name: (edit, the file refused, a piece of text on the line it must point at)
VARIANTS = {
    # YAML tags other than python/object/apply, in the community file
    "tag-python-object": ((COMMUNITY, "name: 小小社区", "name: !!python/object:os.system {}"), COMMUNITY, "!!python"),
    "tag-python-name": ((COMMUNITY, "name: 小小社区", "name: !!python/name:os.system ''"), COMMUNITY, "!!python"),
    "tag-python-module": ((COMMUNITY, "name: 小小社区", "name: !!python/module:os ''"), COMMUNITY, "!!python"),
    "tag-python-new": ((COMMUNITY, "name: 小小社区", "name: !!python/object/new:os.system [id]"), COMMUNITY,
                       "!!python"),
    "tag-local": ((COMMUNITY, "name: 小小社区", "name: !shell 'rm -rf /'"), COMMUNITY, "!shell"),
    # aliases in the community file, and the merge key that needs them
    "alias-bomb-community": ((COMMUNITY, "points:\n", "lol:\n  - &a [lol, lol, lol, lol, lol, lol, lol, lol]\n"
                                                     "  - &b [*a, *a, *a, *a, *a, *a, *a, *a]\n"
                                                     "  - &c [*b, *b, *b, *b, *b, *b, *b, *b]\npoints:\n"),
                             COMMUNITY, "&a"),
    "merge-key": ((COMMUNITY, "roles:\n",
                   "defaults: &staff {staff: true}\nroles:\n  - {<<: *staff, key: x, title: X}\n"), COMMUNITY, "&staff"),
    # YAML 1.1 booleans other than `no` where a name is expected
    "state-named-off": ((FLOW, "  feedback: {title: 待评价}\n",
                         "  feedback: {title: 待评价}\n  off: {title: 关闭, final: true}\n"), FLOW, "off:"),
    # guards reaching for Python
    "guard-huge-number": (_guard("topic == " + "9" * 450), FLOW, "guard:"),
    "guard-dunder-class": (_guard("().__class__"), FLOW, "guard:"),
    "guard-lambda": (_guard("lambda: 1"), FLOW, "guard:"),
    "guard-open": (_guard("open('/etc/passwd')"), FLOW, "guard:"),
    "guard-comprehension": (_guard("[x for x in topic]"), FLOW, "guard:"),
    "guard-getattr": (_guard("getattr(topic, 'upper')"), FLOW, "guard:"),
    "guard-multiply": (_guard("len(topic) * 99999999 > 0"), FLOW, "guard:"),
    # $refs that leave the definitions, by other ways than https://
    "ref-file-url": (_ref("file:///etc/passwd"), FORM, "$ref"),
    "ref-protocol-relative": (_ref("//evil.example/defs.json#/$defs/x"), FORM, "$ref"),
    "ref-absolute-path": (_ref("/etc/passwd"), FORM, "$ref"),
    "ref-path-traversal": (_ref("../../../../etc/passwd"), FORM, "$ref"),
    "ref-traversal-through-shared": (_ref("../_shared/../../secret.json#/$defs/x"), FORM, "$ref"),
    "ref-urn": (_ref("urn:example:defs#/x"), FORM, "$ref"),
    # catastrophic patterns other than (a+)+
    "pattern-star-star": (_pattern("(a*)*b"), FORM, "pattern"),
    "pattern-overlapping-alternation": (_pattern("^(a|aa)+$"), FORM, "pattern"),
    "pattern-identical-alternation": (_pattern("(a|a)*$"), FORM, "pattern"),
    "pattern-optional-alternation": (_pattern("^(a|a?)+$"), FORM, "pattern"),
    "pattern-digit-groups": (_pattern("^(\\\\d|\\\\d\\\\d)+$"), FORM, "pattern"),
    "pattern-polynomial": (_pattern("^(.*a){12}$"), FORM, "pattern"),
    "pattern-words": (_pattern("^(\\\\w+\\\\s?)*$"), FORM, "pattern"),
    "pattern-in-shared": ((SHARED, '"pattern": "^1[3-9][0-9]{9}$"', '"pattern": "^(1+)+$"'), SHARED, "pattern"),
    # field keys that are not names
    "key-proto": (_key("__proto__"), FORM, "__proto__"),
    "key-path": (_key("../x"), FORM, "../x"),
    "key-nul": (_key("a\\u0000b"), FORM, "a\\u0000b"),
    "key-too-long": (_key("a" * 65), FORM, "a" * 65),
    "key-in-shared-object": ((SHARED, '"room": {', '"r\') OR 1=1--": {"type": "string"}, "room": {'), SHARED,
                             "OR 1=1"),
    "key-in-x-ui": ((FORM, '"x-ui": {"fields": {"topic"', '"x-ui": {"fields": {"a\') OR 1=1--": {}, "topic"'), FORM,
                    "OR 1=1"),
}


@pytest.mark.parametrize("name", list(VARIANTS))
def test_an_attack_the_corpus_does_not_hold_is_refused_with_its_file_and_line(tmp_path, no_network, name):
    edit, refused_file, marker = VARIANTS[name]
    root = materialise(tmp_path / "defs", edits=[edit])
    # a file outside the definitions, which a $ref must not be able to reach
    (tmp_path / "secret.json").write_text('{"$defs": {"x": {"type": "string", "title": "SECRET"}}}', encoding="utf-8")
    problems, elapsed = check(root)
    assert problems, f"{name} was accepted"
    text = (root / refused_file).read_text(encoding="utf-8").splitlines()
    expected_line = next(n for n, line in enumerate(text, start=1) if marker in line)
    located = [LINE.match(p) for p in problems]
    assert all(located), problems  # PATH:LINE:COL: message, every one
    ours = [m for m in located if m["path"] == refused_file]
    assert ours, problems
    assert any(int(m["line"]) == expected_line and int(m["col"]) >= 1 for m in ours), (expected_line, problems)
    assert all("Traceback" not in p and "SECRET" not in p for p in problems)
    assert elapsed < 2, f"checking took {elapsed:.1f} s"
    assert no_network == []


@pytest.mark.parametrize("edit", [
    (FORM, '"title": "诉求",', '"title": "诉求", "$id": "https://evil.example/schemas/request.json",'),
    (FORM, '"$schema": "https://json-schema.org/draft/2020-12/schema"', '"$schema": "https://evil.example/meta.json"'),
    (SHARED, '"$schema": "https://json-schema.org/draft/2020-12/schema"', '"$schema": "http://evil.example/m.json"'),
], ids=["remote-id", "remote-schema", "remote-schema-in-shared"])
def test_a_remote_id_or_meta_schema_opens_no_socket(tmp_path, no_network, edit):
    """Whether or not such a file is accepted, nothing is fetched to decide."""
    check(materialise(tmp_path / "defs", edits=[edit]))
    assert no_network == []
