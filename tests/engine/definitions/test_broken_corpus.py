"""The corpus of broken definitions: each case must be refused with exactly its expected lines.

A case is a folder under tests/fixtures/definitions/broken/ holding only the files that differ
from the valid base community (tests/fixtures/definitions/valid/mini/), laid out the same way,
and `expected.txt`: the exact `PATH:LINE:COL: message` lines (English) that check_definitions
prints. An optional `expected.zh-hans.txt` holds the Chinese lines.
"""

import shutil
from pathlib import Path

import pytest

from engine.definitions.pipeline import check_paths

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "definitions"
BASE = FIXTURES / "valid" / "mini"
CASES = sorted(p for p in (FIXTURES / "broken").iterdir() if p.is_dir())


def materialise(case: Path, target: Path) -> Path:
    shutil.copytree(BASE, target)
    for source in case.rglob("*"):
        if source.is_file() and not source.name.startswith("expected"):
            destination = target / source.relative_to(case)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, destination)
    return target


def run_check(root: Path, language: str):
    result = check_paths([], root / "forms_schemas", root / "workflows_yaml", base=root)
    return [problem.render(language) for problem in result.problems]


def test_the_base_is_valid(tmp_path):
    assert run_check(materialise(FIXTURES / "broken" / "__none__", tmp_path / "base"), "en") == []


def test_the_corpus_is_large_enough():
    assert len(CASES) >= 40


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_broken_definition_is_refused_with_its_message_and_line(case, tmp_path):
    root = materialise(case, tmp_path / "case")
    expected = (case / "expected.txt").read_text(encoding="utf-8").strip().splitlines()
    assert expected, "a broken case must expect at least one problem"
    assert run_check(root, "en") == expected
    zh = case / "expected.zh-hans.txt"
    if zh.exists():
        assert run_check(root, "zh-hans") == zh.read_text(encoding="utf-8").strip().splitlines()
