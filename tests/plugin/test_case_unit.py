"""The case (the prompt) is the unit of the gate, end to end: checks of one answer are one case."""

from __future__ import annotations

import json

import pytest
from test_plugin import ANSWERS, calls, suite

PRICED = """
[tool.modelguard]
baseline = "python:answers:good"
models = ["cheap"]
{extra}
[tool.modelguard.aliases.cheap]
model = "python:answers:bad"
price = {{ input = 1.0, output = 2.0 }}
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.syspathinsert()
    pytester.makepyfile(answers=ANSWERS)
    return pytester


def _report(project: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict]:  # type: ignore[type-arg]
    result = project.runpytest(
        "-p", "no:cacheprovider", "--modelguard-record", "once", "--modelguard-json=r.json", *args
    )
    return result, json.loads((project.path / "r.json").read_text())


def test_the_same_prompts_in_two_suites_are_one_case_each(project: pytest.Pytester) -> None:
    """Twice the checks, not twice the evidence: n, the interval, cost and tokens are those of
    one suite, and every answer is paid once."""
    project.makefile(".toml", pyproject=PRICED.format(extra=""))
    project.makefile(".modelguard.yaml", one=suite(30))
    _, alone = _report(project)
    (project.path / "two.modelguard.yaml").write_text(suite(30).replace("suite: echo", "suite: b"))
    calls_before = len(calls(project))
    result, both = _report(project)
    result.assert_outcomes(passed=120, failed=1)  # + the gate results
    assert len(calls(project)) == calls_before  # the second suite's requests are the first's
    one, two = alone["models"]["cheap"], both["models"]["cheap"]
    assert two["delta"]["n_pairs"] == one["delta"]["n_pairs"] == 30
    assert (two["delta"]["ci_low"], two["delta"]["ci_high"]) == (
        one["delta"]["ci_low"], one["delta"]["ci_high"],
    )  # fmt: skip
    assert two["n"] == 30 and two["cost_usd"] == pytest.approx(one["cost_usd"])
    assert two["input_tokens"] == one["input_tokens"]


def test_a_suite_name_and_case_ids_in_two_files_is_a_collection_error(
    project: pytest.Pytester,
) -> None:
    project.makefile(".toml", pyproject=PRICED.format(extra=""))
    project.makefile(".modelguard.yaml", one=suite(3))
    project.makefile(".modelguard.yaml", two=suite(3))
    result = project.runpytest("-p", "no:cacheprovider", "--collect-only")
    result.stdout.fnmatch_lines(
        ["two.modelguard.yaml:*: suite 'echo' case 'c000' is also in one.modelguard.yaml*"]
    )
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert "Traceback" not in result.stdout.str()


def test_non_inferiority_without_a_margin_is_a_usage_error(project: pytest.Pytester) -> None:
    project.makefile(".toml", pyproject=PRICED.format(extra='gate = "non-inferiority"'))
    project.makefile(".modelguard.yaml", one=suite(3))
    result = project.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*pyproject.toml*gate: non-inferiority needs a margin above 0*"])
    flag = project.runpytest(
        "-p", "no:cacheprovider", "--modelguard-gate", "non-inferiority", "--modelguard-margin", "0"
    )
    assert flag.ret == pytest.ExitCode.USAGE_ERROR
    flag.stderr.fnmatch_lines(["*--modelguard-margin is 0*"])


def test_too_few_cases_is_inconclusive_and_fails_only_non_inferiority(
    project: pytest.Pytester,
) -> None:
    """Four identical answers: never shown as a pass; the regression gate reports it, the
    non-inferiority gate fails the run."""
    project.makefile(
        ".toml", pyproject=PRICED.format(extra="").replace("answers:bad", "answers:good")
    )
    project.makefile(".modelguard.yaml", one=suite(4))
    result, doc = _report(project)
    assert result.ret == pytest.ExitCode.OK
    assert doc["models"]["cheap"]["verdict"] == "inconclusive"
    result.stdout.fnmatch_lines(["*too few cases for a verdict on quality: 4 pairs*"])
    strict, doc = _report(project, "--modelguard-gate=non-inferiority", "--modelguard-margin=0.1")
    assert strict.ret == pytest.ExitCode.TESTS_FAILED
    assert doc["models"]["cheap"]["verdict"] == "inconclusive"
    strict.stdout.fnmatch_lines(["modelguard gate FAILED: cheap (inconclusive)"])


def test_the_bootstrap_interval_is_there_on_request(project: pytest.Pytester) -> None:
    project.makefile(".toml", pyproject=PRICED.format(extra='interval = "bca"\nresamples = 2000'))
    project.makefile(".modelguard.yaml", one=suite(30))
    _, doc = _report(project)
    delta = doc["models"]["cheap"]["delta"]
    assert delta["method"] == "bootstrap-bca" and delta["resamples"] >= 2000
    assert delta["mc_error"] is not None and delta["verdict"] == "regression"
