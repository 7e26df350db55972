"""Per-dimension deltas: compare() on per-case dimension scores, descriptive, never gating."""

from __future__ import annotations

import json

import pytest
from test_plugin import ANSWERS, PYPROJECT

from pytest_modelguard.inference.compare import compare
from pytest_modelguard.records.grades import Grade
from pytest_modelguard.records.results import ItemResult
from pytest_modelguard.verdict.dimensions import dimension_case_scores
from pytest_modelguard.verdict.gate import GateConfig, evaluate

CASES = 40


def graded(model: str, case: int, repeat: int, correct: float, check: str = "s") -> ItemResult:
    """One check of one answer: correctness as given, format always met; the score stays 0.5."""
    grades = (
        Grade("equals", correct, correct == 1.0, dimension="correctness"),
        Grade("json_valid", 1.0, True, dimension="format"),
    )
    return ItemResult(
        suite=check, case_id=f"c{case}", model=model, repeat=repeat, score=0.5, passed=True,
        grades=grades, cost_usd=0.0, unit=f"prompt-{case}",
    )  # fmt: skip


def run() -> list[ItemResult]:
    rows = []
    for case in range(CASES):
        for repeat in (0, 1):
            rows.append(graded("base", case, repeat, 1.0))
            # the candidate misses one repeat in three cases of four
            miss = 0.0 if case % 4 and repeat == 1 else 1.0
            rows.append(graded("cand", case, repeat, miss))
            # a second check of the same answer (a Python test over the case): averaged in
            rows.append(graded("cand", case, repeat, miss, check="python"))
    return rows


def test_each_dimension_is_compare_on_per_case_scores_with_repeats_kept_together() -> None:
    report = evaluate(run(), GateConfig(baseline="base", candidates=("cand",), seed=3))
    found = report.models["cand"].dimension_deltas
    expected_cand = [[1.0, 0.0 if case % 4 else 1.0] for case in range(CASES)]
    expected = compare([[1.0, 1.0]] * CASES, expected_cand, confidence=0.95, seed=3)
    assert found["correctness"] == expected
    assert found["correctness"].ci_high < 0 and found["correctness"].n_pairs == CASES
    assert found["format"].mean == 0.0 and found["format"].p_value == 1.0
    assert report.models["base"].dimension_deltas == {}


def test_dimension_deltas_do_not_gate() -> None:
    report = evaluate(run(), GateConfig(baseline="base", candidates=("cand",)))
    cand = report.models["cand"]
    assert cand.dimension_deltas["correctness"].verdict == "regression"  # described...
    assert cand.verdict == "pass" and report.verdict == "pass"  # ...not gated


def test_a_dimension_only_one_side_graded_has_no_delta() -> None:
    rows = [r for r in run() if r.model == "cand"]
    rows += [
        ItemResult(suite="s", case_id=f"c{i}", model="base", score=1.0, passed=True,
                   grades=(Grade("equals", 1.0, True, dimension="correctness"),),
                   unit=f"prompt-{i}")
        for i in range(CASES)
    ]  # fmt: skip
    found = evaluate(rows, GateConfig(baseline="base", candidates=("cand",))).models["cand"]
    assert set(found.dimension_deltas) == {"correctness"}
    assert set(dimension_case_scores(rows)) == {"correctness", "format"}


SUITE = """suite: dims
defaults:
  graders:
    - equals: {}
      dimension: correctness
    - length: {max: 40}
      dimension: format
cases:
""" + "".join(f"  - id: c{i:03d}\n    prompt: 'say w{i}'\n    expected: w{i}\n" for i in range(30))


def test_every_report_shows_each_candidates_dimension_deltas(pytester: pytest.Pytester) -> None:
    pytester.syspathinsert()
    pytester.makepyfile(answers=ANSWERS)
    pytester.makefile(".toml", pyproject=PYPROJECT)
    pytester.makefile(".modelguard.yaml", echo=SUITE)
    pytester.runpytest("--modelguard-record", "once", "--models", "python:answers:bad")
    result = pytester.runpytest(
        "--models", "python:answers:bad", "--modelguard-json=r.json",
        "--modelguard-markdown=r.md", "--modelguard-html=r.html",
    )  # fmt: skip
    doc = json.loads((pytester.path / "r.json").read_text())
    bad = doc["models"]["python:answers:bad"]
    correctness = bad["dimension_deltas"]["correctness"]
    assert correctness["mean"] == -1.0 and correctness["n_pairs"] == 30
    assert correctness["p_adjusted"] is None  # no Holm across dimensions
    assert bad["dimension_deltas"]["format"]["mean"] == 0.0
    assert doc["models"]["python:answers:good"]["dimension_deltas"] == {}
    ci = f"[{correctness['ci_low']:+.3f}, {correctness['ci_high']:+.3f}]"
    result.stdout.fnmatch_lines([
        f"python:answers:bad: dimension correctness  0.000  -1.000 {ci}  p <0.001",
        "python:answers:bad: dimension format       1.000  +0.000 *  p 1.000",
        "note: dimension deltas are descriptive, not gating*",
    ])  # fmt: skip
    markdown = (pytester.path / "r.md").read_text()
    assert f"| `python:answers:bad` | correctness | 0.000 | -1.000 {ci} | <0.001 |" in markdown
    assert "descriptive, not gating" in markdown and "(no Holm)" in markdown
    page = (pytester.path / "r.html").read_text()
    assert f"<td class='num'>-1.000 {ci}</td><td class='num'>&lt;0.001</td>" in page


def test_a_run_without_dimensions_shows_no_dimension_section(pytester: pytest.Pytester) -> None:
    pytester.syspathinsert()
    pytester.makepyfile(answers=ANSWERS)
    pytester.makefile(".toml", pyproject=PYPROJECT)
    pytester.makefile(".modelguard.yaml", echo=SUITE.replace("      dimension: correctness\n", "")
                      .replace("      dimension: format\n", ""))  # fmt: skip
    result = pytester.runpytest("--modelguard-record", "once", "--modelguard-markdown=r.md")
    result.stdout.no_fnmatch_line("*: dimension*")
    result.stdout.no_fnmatch_line("note: dimension*")
    assert "Dimensions" not in (pytester.path / "r.md").read_text()


def test_a_sequential_run_shows_dimension_deltas_without_ci_or_p(
    pytester: pytest.Pytester,
) -> None:
    pytester.syspathinsert()
    pytester.makepyfile(answers=ANSWERS)
    pytester.makefile(".toml", pyproject=PYPROJECT)
    pytester.makefile(".modelguard.yaml", echo=SUITE)
    models = ("--models", "python:answers:bad")
    pytester.runpytest("--modelguard-record", "once", *models)
    reports = ("--modelguard-json=r.json", "--modelguard-markdown=r.md", "--modelguard-html=r.html")
    pytester.runpytest(*models, "--modelguard-json=fixed.json")
    fixed = json.loads((pytester.path / "fixed.json").read_text())
    result = pytester.runpytest(*models, "--modelguard-sequential", *reports)
    bad = json.loads((pytester.path / "r.json").read_text())["models"]["python:answers:bad"]
    assert bad["sequential"] is True
    correctness = bad["dimension_deltas"]["correctness"]
    before = fixed["models"]["python:answers:bad"]["dimension_deltas"]["correctness"]
    assert correctness["mean"] == before["mean"] and correctness["n_pairs"] == before["n_pairs"]
    assert before["ci_low"] is not None and before["p_value"] is not None
    for key in ("ci_low", "ci_high", "p_value", "p_noninferior", "verdict", "evidence"):
        assert correctness[key] is None, key  # not valid after optional stopping
    mean = f"{correctness['mean']:+.3f}"
    result.stdout.fnmatch_lines([
        f"python:answers:bad: dimension correctness  0.000  {mean}",
        "note: dimension deltas are descriptive, not gating, and shown without CI or p: a*",
    ])  # fmt: skip
    result.stdout.no_fnmatch_line("*dimension correctness*[[]*")
    result.stdout.no_fnmatch_line("*dimension format*  p *")
    markdown = (pytester.path / "r.md").read_text()
    assert f"| `python:answers:bad` | correctness | 0.000 | {mean} | — |" in markdown
    assert "optional stopping" in markdown
    html = (pytester.path / "r.html").read_text()
    assert f"<td class='num'>{mean}</td>" in html and "optional stopping" in html
