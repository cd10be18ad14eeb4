"""Every problem can be told in Chinese and in English, with the same parameters."""

import re
import string

import pytest

from engine.definitions.problems import MESSAGES, Problem, render_message, suggest


@pytest.mark.parametrize("code", sorted(MESSAGES))
def test_every_code_speaks_both_languages_with_the_same_parameters(code):
    texts = MESSAGES[code]
    assert set(texts) == {"zh-hans", "en"}
    fields = {lang: {f for _, f, _, _ in string.Formatter().parse(text) if f} for lang, text in texts.items()}
    assert fields["zh-hans"] == fields["en"]
    assert re.search(r"[\u4e00-\u9fff]", texts["zh-hans"]), "the Chinese text should be Chinese"


def test_suggestions_are_added_as_a_hint_in_the_language_asked_for():
    params = {"kind": {"zh-hans": "状态", "en": "state"}, "name": "feedbak", "suggestion": suggest("feedbak", ["feedback"])}
    assert render_message("ref.unknown", params, "en") == "unknown state 'feedbak' — did you mean 'feedback'?"
    assert render_message("ref.unknown", params, "zh-hans") == "状态 'feedbak' 不存在 — 你是否想写 'feedback'?"


def test_no_suggestion_when_nothing_is_close():
    assert suggest("zzz", ["feedback", "closed"]) == ""


def test_render_is_the_contract_line():
    problem = Problem("flow.no_final", {}, path="workflows_yaml/x/a.flow.yaml", line=5, column=3)
    assert problem.render("en") == "workflows_yaml/x/a.flow.yaml:5:3: the flow has no final state (final: true)"
