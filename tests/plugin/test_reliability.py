"""pass^k and pass@k per model with `repeat: k` (#27 item 5): the pure computation, and a
run whose scripted answers make both known by construction, in every report."""

from __future__ import annotations

import json

import pytest

from pytest_modelguard.records.grades import Grade
from pytest_modelguard.records.results import ItemResult
from pytest_modelguard.verdict.reliability import describe, pass_k, pass_k_by_model


def _run(case: str, repeat: int, ok: bool, model: str = "m", **extra: str) -> ItemResult:
    grade = Grade("equals", 1.0 if ok else 0.0, ok)
    return ItemResult("s", case, model, repeat=repeat, grades=(grade,), passed=True, **extra)


def _runs(pattern: dict[str, str], model: str = "m") -> list[ItemResult]:
    """``{"c1": "+-+"}``: case c1's runs 0..2 pass, fail, pass."""
    return [
        _run(case, r, mark == "+", model)
        for case, marks in pattern.items()
        for r, mark in enumerate(marks)
    ]


@pytest.mark.parametrize(
    ("pattern", "all_pass", "any_pass"),
    [
        ({"a": "+++", "b": "++-", "c": "---", "d": "-+-"}, 1 / 4, 3 / 4),
        ({"a": "++", "b": "++"}, 1.0, 1.0),
        ({"a": "--", "b": "--", "c": "-+"}, 0.0, 1 / 3),
    ],
)
def test_all_and_any_of_each_cases_runs(
    pattern: dict[str, str], all_pass: float, any_pass: float
) -> None:
    figures = pass_k(_runs(pattern))
    assert figures is not None
    assert (figures.all_pass, figures.any_pass) == (
        pytest.approx(all_pass),
        pytest.approx(any_pass),
    )
    k = len(pattern["a"])
    assert (figures.cases, figures.k_min, figures.k_max) == (len(pattern), k, k)


def test_a_single_run_per_case_has_no_ratio() -> None:
    assert pass_k(_runs({"a": "+", "b": "-"})) is None
    assert pass_k([]) is None
    assert pass_k_by_model(_runs({"a": "+"}, "x") + _runs({"a": "+-"}, "y")).keys() == {"y"}


def test_an_error_a_failed_item_or_any_failing_check_fails_the_run() -> None:
    rows = [
        _run("a", 0, True),
        _run("a", 1, True, error="timeout"),
        _run("b", 0, True),
        ItemResult("s", "b", "m", repeat=1, grades=(Grade("g", 1.0, True),), passed=False),
        _run("c", 0, True),
        _run("c", 1, True),
        _run("c", 1, False),  # a second check of the same answer (a Python test) failed
        _run("d", 0, True),
        _run("d", 1, True),
        _run("d", 1, True),
    ]
    figures = pass_k(rows)
    assert figures is not None
    assert (figures.cases, figures.all_pass, figures.any_pass) == (4, 0.25, 1.0)


def test_cases_with_different_repeats_show_the_range_of_k() -> None:
    figures = pass_k(_runs({"a": "++", "b": "+-+-", "c": "+"}))
    assert figures is not None and (figures.k_min, figures.k_max) == (1, 4)
    assert describe(figures.to_dict()) == "pass^1-4 67% · pass@1-4 100% over 3 cases"


ANSWERS = """
def good(request):
    return request.messages[-1]["content"].split()[-1]

def flaky(request):
    # case ci answers right on its first (i % 4) runs: 0, 1, 2 or all 3 of them
    word = request.messages[-1]["content"].split()[-1]
    return word if request.repeat < int(word[1:]) % 4 else "no"
"""
PYPROJECT = """
[tool.modelguard]
baseline = "python:answers:good"
models = ["python:answers:flaky"]
resamples = 200
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(answers=ANSWERS)
    pytester.makefile(".toml", pyproject=PYPROJECT)
    pytester.makefile(".ini", pytest="[pytest]\npythonpath = .\n")
    cases = "".join(f"  - {{id: c{i}, prompt: 'say w{i}', expected: w{i}}}\n" for i in range(8))
    pytester.makefile(
        ".modelguard.yaml", s=f"defaults:\n  graders: [equals]\n  repeat: 3\ncases:\n{cases}"
    )
    return pytester


def test_a_repeated_run_reports_pass_k_everywhere(project: pytest.Pytester) -> None:
    reports = ("--modelguard-json", "r.json", "--modelguard-markdown", "r.md")
    result = project.runpytest(
        "--modelguard-record", "once", *reports, "--modelguard-html", "r.html"
    )
    # 8 cases with i % 4 = 0..3: all three runs pass for 2 of them, at least one for 6
    flaky = "pass^3 25% · pass@3 75% over 8 cases"
    good = "pass^3 100% · pass@3 100% over 8 cases"
    result.stdout.fnmatch_lines([f"python:answers:good: {good}", f"python:answers:flaky: {flaky}"])
    doc = json.loads((project.path / "r.json").read_text(encoding="utf-8"))
    assert doc["models"]["python:answers:flaky"]["pass_k"] == {
        "k_min": 3, "k_max": 3, "cases": 8, "pass_all": 0.25, "pass_any": 0.75,
    }  # fmt: skip
    markdown = (project.path / "r.md").read_text(encoding="utf-8")
    assert f"- `python:answers:flaky`: {flaky}" in markdown
    html = (project.path / "r.html").read_text(encoding="utf-8")
    assert f"<code>python:answers:flaky</code>: {flaky}</li>" in html


def test_without_repeats_no_ratio_is_shown(project: pytest.Pytester) -> None:
    suite = project.path / "s.modelguard.yaml"
    suite.write_text(suite.read_text(encoding="utf-8").replace("  repeat: 3\n", ""))
    result = project.runpytest("--modelguard-record", "once", "--modelguard-json", "r.json")
    assert "pass^" not in result.stdout.str()
    doc = json.loads((project.path / "r.json").read_text(encoding="utf-8"))
    assert {m["pass_k"] for m in doc["models"].values()} == {None}
