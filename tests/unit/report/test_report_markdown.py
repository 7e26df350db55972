"""The Markdown report: the JSON report's numbers, PR-comment ready, user content escaped."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from pytest_modelguard.config import ModelSpec, ProviderSpec, Settings
from pytest_modelguard.core.formatting import money
from pytest_modelguard.records.grades import Grade
from pytest_modelguard.records.results import ItemResult
from pytest_modelguard.report.json_report import build_json
from pytest_modelguard.report.markdown import WORST_CASES, render_markdown
from pytest_modelguard.verdict.gate import GateConfig, evaluate

BASE, GOOD, BAD = "base", "good", "bad"
N = 60
NASTY = "a | b `tick` ``two`` \\| @octocat\n<script>alert(1)</script> **bold** [x](y)"


def item(model: str, i: int, score: float, cost: float, output: str = "ok") -> ItemResult:
    reason = "" if score == 1.0 else f"expected ok, got {output!r}"
    grade = Grade("equals", score, score == 1.0, reason)
    return ItemResult(suite="s", case_id=f"c{i}", model=model, tags=("t",), score=score,
                      passed=True, grades=(grade,), cost_usd=cost, output=output)  # fmt: skip


def report_doc() -> dict[str, Any]:
    """The real gate's JSON report: `good` matches the baseline cheaper, `bad` regresses."""
    results = [item(BASE, i, 1.0, 0.001) for i in range(N)]
    results += [item(GOOD, i, 1.0, 0.0002) for i in range(N)]
    results += [
        item(BAD, i, 1.0, 0.0015) if i % 3 else item(BAD, i, 0.0, 0.0015, NASTY) for i in range(N)
    ]
    config = GateConfig(baseline=BASE, candidates=(GOOD, BAD), resamples=500)
    openai = ProviderSpec("openai", "openai")
    settings = Settings(baseline=ModelSpec(BASE, openai, BASE),
                        candidates=(ModelSpec(GOOD, openai, GOOD), ModelSpec(BAD, openai, BAD)),
                        resamples=500)  # fmt: skip
    return dict(json.loads(json.dumps(build_json(evaluate(results, config), results, settings))))


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return report_doc()


def cells(line: str) -> list[str]:
    """A GFM table row's cells: split on pipes not escaped by a backslash."""
    assert line.startswith("| ") and line.endswith(" |"), line
    return [c.strip() for c in re.split(r"(?<!\\)\|", line[1:-1])]


def rows(markdown: str, column: str) -> tuple[list[str], list[list[str]]]:
    """The header and body rows of the first table with this column."""
    lines = markdown.splitlines()
    start = next(
        i for i, line in enumerate(lines) if line.startswith("| ") and column in cells(line)
    )
    body = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        body.append(cells(line))
    return cells(lines[start]), body


def test_table_holds_the_json_reports_numbers(doc: dict[str, Any]) -> None:
    md = render_markdown(doc)
    header, body = rows(md, "model")
    assert [r[1] for r in body] == [f"`{name}`" for name in doc["models"]]
    for row in body:
        model = doc["models"][row[1].strip("`")]
        got = dict(zip(header, row, strict=True))
        assert got["n"] == str(model["n"])
        assert got["score"] == f"{model['mean_score']:.3f}"
        assert got["pass"] == f"{model['pass_rate']:.0%}"
        assert got["$/answer"] == money(model["cost_per_case_usd"])
        assert got["verdict"] == model["verdict"]
        delta = model["delta"]
        if delta:
            assert got["evidence"] == delta["evidence"]
            assert got["Δ score [CI]"] == (
                f"{delta['mean']:+.3f} [{delta['ci_low']:+.3f}, {delta['ci_high']:+.3f}]"
            )


def test_verdict_icons_savings_and_headline(doc: dict[str, Any]) -> None:
    md = render_markdown(doc)
    _, body = rows(md, "model")
    by_model = {r[1].strip("`"): r for r in body}
    assert by_model[BASE][0] == "✅" and by_model[GOOD][0] == "✅" and by_model[BAD][0] == "❌"
    assert by_model[GOOD][8] == "saves $0.80"  # ($0.001 - $0.0002) x 1,000
    assert by_model[BAD][8] == "costs $0.50 more"
    assert by_model[BASE][8] == "—"
    assert md.startswith("### ❌ modelguard: gate failed — `bad` (regression)")
    assert "quality dropped" in md and "Holm" in md  # reasons and notes


def test_regressed_cases_show_both_answers_safely_escaped(doc: dict[str, Any]) -> None:
    md = render_markdown(doc)
    assert "Regressed cases: bad — the 5 worst of 20" in md
    header, body = rows(md, "case")
    assert len(body) == WORST_CASES
    for row in body:
        assert len(row) == len(header)  # no pipe of the answer split the row
        assert row[1] == "`ok`" and row[3] == "1.00 → 0.00"
        answer = row[2]
        assert answer.startswith("```a") and answer.endswith(")```")  # fence beats the ``two``
        assert "\n" not in answer and "<script>" in answer  # inside a code span: shown, not run
        assert row[4] == "`equals`"  # the check that produced the failing score
        assert "expected ok" in row[5] and "@\u200boctocat" in row[5]  # no mention in plain text
    assert "Regressed cases: good" not in md


def test_a_drop_without_a_failed_check_names_the_check_that_scored_lower() -> None:
    def graded(model: str, i: int, similar: float) -> ItemResult:
        grades = (Grade("length", 1.0, True), Grade("similarity", similar, similar >= 0.8))
        return ItemResult(suite="s", case_id=f"c{i}", model=model, score=(1 + similar) / 2,
                          passed=True, grades=grades, cost_usd=0.001)  # fmt: skip

    results = [graded(BASE, i, 1.0) for i in range(N)]
    results += [graded(BAD, i, 0.0 if i % 2 else 0.85) for i in range(N)]
    config = GateConfig(baseline=BASE, candidates=(BAD,), resamples=500)
    openai = ProviderSpec("openai", "openai")
    settings = Settings(baseline=ModelSpec(BASE, openai, BASE),
                        candidates=(ModelSpec(BAD, openai, BAD),), resamples=500)  # fmt: skip
    doc = json.loads(json.dumps(build_json(evaluate(results, config), results, settings)))
    doc["cases"] = [c for c in doc["cases"] if c["id"] == "c0" or c["model"] == BASE]
    _header, body = rows(render_markdown(doc), "check")
    assert [(row[0], row[3], row[4]) for row in body] == [("`c0`", "1.00 → 0.93", "`similarity`")]


def test_passing_run_names_the_saving_and_is_short() -> None:
    results = [item(BASE, i, 1.0, 0.001) for i in range(N)]
    results += [item(GOOD, i, 1.0, 0.0002) for i in range(N)]
    config = GateConfig(baseline=BASE, candidates=(GOOD,), resamples=500)
    openai = ProviderSpec("openai", "openai")
    settings = Settings(baseline=ModelSpec(BASE, openai, BASE),
                        candidates=(ModelSpec(GOOD, openai, GOOD),), resamples=500)  # fmt: skip
    md = render_markdown(build_json(evaluate(results, config), results, settings))
    assert md.startswith("### ✅ modelguard: gate passed — `good` shows no significant")
    assert "quality drop at 80% less per answer" in md
    assert "Regressed" not in md and len(md) < 2000


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, "unknown"), (0, "$0"), (0.00042, "$0.00042"), (2.1e-05, "$0.000021"), (1.25, "$1.25")],
)
def test_money_keeps_two_significant_figures(value: float | None, text: str) -> None:
    assert money(value) == text
