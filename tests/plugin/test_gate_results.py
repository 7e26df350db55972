"""The verdict where people look: gate results in the counts and JUnit, selection, stops."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from test_plugin import ANSWERS, PYPROJECT, suite

BAD = "python:answers:bad"
GOOD = "python:answers:good"


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(answers=ANSWERS)
    pytester.makefile(".toml", pyproject=PYPROJECT)
    pytester.makefile(".modelguard.yaml", echo=suite())
    pytester.makefile(".ini", pytest="[pytest]\npythonpath = .\n")
    return pytester


def junit_cases(path: object) -> dict[str, ET.Element]:
    root = ET.parse(str(path)).getroot()
    return {case.get("name", ""): case for case in root.iter("testcase")}


@pytest.mark.parametrize("workers", [0, 2])
def test_a_failing_gate_is_a_failing_testcase_counted_in_the_last_line(
    project: pytest.Pytester, workers: int
) -> None:
    project.runpytest("--modelguard-record", "once", "--models", f"{BAD},good2")
    xdist = ("-n", str(workers)) if workers else ()
    result = project.runpytest_subprocess(
        "--models", f"{BAD},good2", "--junitxml", "j.xml", "-p", "no:randomly", *xdist
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=91, failed=1)
    assert result.outlines[-1].startswith("=") and "1 failed, 91 passed" in result.outlines[-1]
    result.stdout.fnmatch_lines([f"FAILED modelguard::gate[[]{BAD}[]] - {BAD}: regression*"])
    cases = junit_cases(project.path / "j.xml")
    assert len(cases) == 92
    failure = cases[f"gate[{BAD}]"].find("failure")
    assert failure is not None
    assert failure.get("message", "").startswith(f"{BAD}: regression: quality dropped: delta")
    assert cases["gate[good2]"].find("failure") is None  # a passing verdict: a passing testcase
    assert cases["gate[good2]"].get("classname") == "modelguard"


def test_a_passing_gate_is_a_passing_testcase(project: pytest.Pytester) -> None:
    project.runpytest("--modelguard-record", "once")
    result = project.runpytest("--junitxml", "j.xml", "-v")
    result.assert_outcomes(passed=61)
    result.stdout.fnmatch_lines(["modelguard::gate[[]good2[]] PASSED*"])
    assert result.ret == pytest.ExitCode.OK
    cases = junit_cases(project.path / "j.xml")
    assert cases["gate[good2]"].find("failure") is None and "gate[python:answers:good]" not in cases


def test_maxfail_stop_says_not_evaluated_never_passed(project: pytest.Pytester) -> None:
    project.makefile(
        ".modelguard.yaml",
        echo=suite().replace(
            "    - equals: {normalize: [strip, lower]}",
            "    - equals: {normalize: [strip, lower]}\n      required: true",
        ),
    )
    project.runpytest("--modelguard-record", "once", "--models", BAD)
    result = project.runpytest("--models", BAD, "-x", "--modelguard-json", "r.json")
    result.stdout.fnmatch_lines(["*modelguard gate not evaluated: the run stopped early*"])
    result.stdout.no_fnmatch_line("*gate passed*")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(failed=1, passed=1, skipped=1)
    report = json.loads((project.path / "r.json").read_text())
    assert report["verdict"] == "not-gated" and "stopped early" in report["not_gated"]


def test_last_failed_reruns_the_failures_and_says_not_gated(project: pytest.Pytester) -> None:
    project.makefile(
        ".modelguard.yaml",
        echo=suite(30).replace(
            "prompt: 'say w5'", "prompt: 'say w5'\n    graders: [{equals: {}, required: true}]"
        ),
    )
    project.runpytest("--modelguard-record", "once", "--models", BAD, "-p", "cacheprovider")
    result = project.runpytest("--models", BAD, "--lf", "-p", "cacheprovider")
    result.stdout.fnmatch_lines(["*rerun previous 1 failure*"])  # the gate is not an item
    result.assert_outcomes(failed=1, skipped=1)
    result.stdout.fnmatch_lines(
        ["*modelguard gate not evaluated: --lf reran only the last failures*"]
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED


@pytest.mark.parametrize("workers", [0, 2])
def test_k_leaving_out_the_baseline_still_pairs_with_its_recorded_answers(
    project: pytest.Pytester, workers: int
) -> None:
    project.runpytest("--modelguard-record", "once", "--models", BAD)
    xdist = ("-n", str(workers)) if workers else ()
    result = project.runpytest("--models", BAD, "-k", "bad", "--modelguard-json", "r.json", *xdist)
    result.assert_outcomes(passed=30, failed=1, deselected=0 if workers else 30)  # xdist: untold
    report = json.loads((project.path / "r.json").read_text())
    bad = report["models"][BAD]
    assert bad["verdict"] == "regression" and bad["delta"]["n_pairs"] == 30
    assert report["models"]["python:answers:good"]["n"] == 30  # graded, not run as items
    result.stdout.no_fnmatch_line("*no case answered by both*")


def test_k_without_recorded_baseline_answers_asks_when_recording(
    project: pytest.Pytester,
) -> None:
    result = project.runpytest(
        "--modelguard-record", "once", "--models", BAD, "-k", "bad", "--modelguard-json", "r.json"
    )
    result.assert_outcomes(passed=30, failed=1, deselected=30)
    report = json.loads((project.path / "r.json").read_text())
    assert report["models"][BAD]["delta"]["n_pairs"] == 30


PY_TEST = """
import pytest

@pytest.mark.modelguard(suite="echo.modelguard.yaml")
def test_echo(model, case):
    model.complete(case.messages)
"""


def test_m_tag_selects_python_tests_over_tagged_cases_too(project: pytest.Pytester) -> None:
    project.makepyfile(test_echo=PY_TEST)
    result = project.runpytest("--collect-only", "-q", "-m", "t1")
    ids = [line for line in result.outlines if "::" in line]
    suite_items = [i for i in ids if i.startswith("echo.modelguard.yaml")]
    python_items = [i for i in ids if i.startswith("test_echo.py")]
    assert len(suite_items) == 20 and len(python_items) == 20
    assert "test_echo.py::test_echo[c001-good2]" in python_items
    assert result.ret == pytest.ExitCode.OK


def test_budget_flag_overrides_the_pyproject_budgets(project: pytest.Pytester) -> None:
    project.runpytest("--modelguard-record", "once")
    result = project.runpytest(
        "--modelguard-budget", "max_latency_p95_s=0", "--modelguard-json", "r.json"
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    report = json.loads((project.path / "r.json").read_text())
    assert report["models"]["good2"]["verdict"] == "budget"
    assert any("max_latency_p95_s" in r for r in report["models"]["good2"]["reasons"])
    bad = project.runpytest("--modelguard-budget", "max_latency_p95_s")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    bad.stderr.fnmatch_lines(["*--modelguard-budget 'max_latency_p95_s': expected KEY=NUMBER*"])


def test_failed_first_runs_the_failures_first_and_still_gates(project: pytest.Pytester) -> None:
    project.makefile(
        ".modelguard.yaml",
        echo=suite(30).replace(
            "prompt: 'say w5'", "prompt: 'say w5'\n    graders: [{equals: {}, required: true}]"
        ),
    )
    project.runpytest("--modelguard-record", "once", "--models", BAD, "-p", "cacheprovider")
    result = project.runpytest("--models", BAD, "--ff", "-v", "-p", "cacheprovider")
    ran = [line for line in result.outlines if line.startswith("echo.modelguard.yaml::")]
    assert ran[0].startswith(f"echo.modelguard.yaml::c005[{BAD}] FAILED")  # the failure first
    assert len(ran) == 60  # and then everything else: a whole run, gated
    result.assert_outcomes(passed=59, failed=2)
    result.stdout.fnmatch_lines([f"modelguard gate FAILED: {BAD} (regression)"])
    result.stdout.no_fnmatch_line("*not evaluated*")


LENIENT_TEST = """
import pytest
from pytest_modelguard import grader

@grader
def answered(answer):
    return bool(answer.strip())

@pytest.mark.modelguard(suite="echo.modelguard.yaml")
def test_echo(model, case):
    answered(model.complete(case.messages))
"""


def test_k_leaving_out_the_baseline_pairs_every_check_of_the_full_run(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(test_echo=LENIENT_TEST)
    project.runpytest("--modelguard-record", "once", "--models", BAD)
    full = project.runpytest("--models", BAD, "--modelguard-json", "full.json")
    full.assert_outcomes(passed=120, failed=1)
    both = json.loads((project.path / "full.json").read_text())["models"][BAD]["delta"]
    assert both["n_pairs"] == 30 and both["mean"] == -0.5  # equals 0 and answered 1, vs 1 and 1
    result = project.runpytest("--models", BAD, "-k", "bad", "--modelguard-json", "r.json")
    # the baseline's suite items were left out: its recorded answers are graded by the suite's
    # checks; its Python test was put back beside the candidate's: both checks pair, as in
    # the full run
    result.assert_outcomes(passed=90, failed=1, deselected=30)
    bad = json.loads((project.path / "r.json").read_text())["models"][BAD]
    assert bad["verdict"] == "regression" and bad["delta"]["n_pairs"] == 30
    assert bad["delta"]["mean"] == both["mean"]
    alone = project.runpytest(
        "--models", BAD, "-k", "test_echo and bad", "--modelguard-json", "alone.json"
    )
    alone.assert_outcomes(passed=61, deselected=60)  # the gate passes on that check
    # the baseline's run of test_echo was put back to pair: on that one check (answered),
    # the bad model answers as the baseline does
    delta = json.loads((project.path / "alone.json").read_text())["models"][BAD]["delta"]
    assert delta["n_pairs"] == 30 and delta["mean"] == 0.0
    alone.stdout.fnmatch_lines(["modelguard: also ran 30 baseline counterparts of selected *"])
    alone.stdout.no_fnmatch_line("*were not selected*")


def test_only_k_or_m_leaving_the_baseline_out_for_its_model_puts_it_back(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(test_echo=LENIENT_TEST)
    project.runpytest("--modelguard-record", "once", "--models", BAD)
    left_out = "test_echo.py::test_echo[c000-python:answers:good]"
    runs = {
        "excluded": ("-k", "not good"),  # the baseline named and excluded: left out
        "deselect": ("-k", "test_echo and bad", "--deselect", left_out),  # that one left out
        "off": ("-k", "test_echo and bad"),  # pair_deselected = false: none put back
    }
    for name, args in runs.items():
        if name == "off":
            off = PYPROJECT.replace("resamples = 1000", "resamples = 1000\npair_deselected = false")
            project.makefile(".toml", pyproject=off)
        result = project.runpytest("--models", BAD, *args, "-v", "-p", "no:randomly")
        nodes = ran(result)
        baseline = [n for n in nodes if n.startswith("test_echo.py") and "answers:good]" in n]
        assert any("answers:bad]" in n for n in nodes)
        if name == "deselect":
            assert left_out not in nodes and len(baseline) == 29
            result.stdout.fnmatch_lines(["modelguard: also ran 29 baseline counterparts *"])
        else:
            assert baseline == []
            result.stdout.no_fnmatch_line("*also ran*")


STRICT_TEST = """
import pytest
from pytest_modelguard import grader

@grader
def matches(answer, expected):
    return answer.strip() == expected

@pytest.mark.modelguard(suite="echo.modelguard.yaml")
def test_echo(model, case):
    matches(model.complete(case.messages), case.expected)
"""


def verdicts(project: pytest.Pytester, name: str) -> dict[str, tuple[str, int | None]]:
    """Per candidate in a JSON report: its verdict and how many cases paired."""
    models = json.loads((project.path / name).read_text())["models"]
    return {
        model: (data["verdict"], data["delta"]["n_pairs"] if data["delta"] else None)
        for model, data in models.items()
        if data["verdict"] != "baseline"
    }


def ran(result: pytest.RunResult) -> list[str]:
    """The node ids -v reports as run, with or without xdist (gate results aside)."""
    outcomes = {"PASSED", "FAILED", "ERROR"}
    nodes = []
    for line in result.outlines:
        words = line.split()
        items = [w for w in words if w.startswith(("test_echo.py::", "echo.modelguard.yaml::"))]
        if items and outcomes & set(words):
            nodes.append(items[0])
    return nodes


@pytest.mark.parametrize("workers", [0, 2])
def test_k_selecting_only_a_candidates_python_tests_pairs_them_with_the_baseline(
    project: pytest.Pytester, workers: int
) -> None:
    project.makepyfile(test_echo=STRICT_TEST)
    models = ("--models", f"{BAD},good2", "-p", "no:randomly")
    project.runpytest("--modelguard-record", "once", *models)
    project.runpytest(*models, "--modelguard-json", "full.json")
    full = verdicts(project, "full.json")
    assert full == {BAD: ("regression", 30), "good2": ("pass", 30)}
    xdist = ("-n", str(workers)) if workers else ()
    for model in (BAD, "good2"):
        chosen = "bad" if model == BAD else "good2"
        result = project.runpytest_subprocess(
            *models, "-k", f"test_echo and {chosen}", "-v", "--modelguard-json", "k.json", *xdist
        )
        assert verdicts(project, "k.json") == {model: full[model]}  # the full run's verdict
        result.stdout.fnmatch_lines(
            ["modelguard: also ran 30 baseline counterparts of selected tests to pair them *"]
        )
        nodes = ran(result)
        assert sorted(nodes) == sorted(
            [f"test_echo.py::test_echo[c{i:03d}-{m}]" for i in range(30) for m in (model, GOOD)]
        )  # the candidate's selection unchanged, and the baseline's run of each of its cases
        if not workers:  # xdist's controller does not count deselected items
            result.assert_outcomes(
                passed=60 if model == BAD else 61, failed=1 if model == BAD else 0, deselected=120
            )
            result.stdout.fnmatch_lines(["*collected 180 items / 120 deselected / 60 selected"])
        else:
            result.stdout.fnmatch_lines(["2 workers [[]60 items[]]"])


def test_m_tag_with_a_candidates_python_tests_pairs_the_tagged_cases(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(test_echo=STRICT_TEST)
    models = ("--models", f"{BAD},good2")
    project.runpytest("--modelguard-record", "once", *models)
    tagged = project.runpytest(*models, "-m", "t1", "--modelguard-json", "tag.json")
    tagged.stdout.no_fnmatch_line("*also ran*")  # the baseline's items were selected: none added
    tagged.assert_outcomes(passed=61, failed=1, deselected=120)
    alone = project.runpytest(
        *models, "-m", "t1", "-k", "test_echo and bad", "-v", "--modelguard-json", "k.json"
    )
    assert verdicts(project, "k.json") == {BAD: verdicts(project, "tag.json")[BAD]}
    assert verdicts(project, "k.json")[BAD] == ("regression", 10)
    alone.stdout.fnmatch_lines(["modelguard: also ran 10 baseline counterparts of selected *"])
    assert sorted(ran(alone)) == sorted(
        f"test_echo.py::test_echo[c{i:03d}-{m}]" for i in range(1, 30, 3) for m in (BAD, GOOD)
    )  # the t1 cases only


def test_no_counterparts_when_the_selection_has_the_baseline(project: pytest.Pytester) -> None:
    project.makepyfile(test_echo=STRICT_TEST)
    project.runpytest("--modelguard-record", "once", "--models", BAD)
    result = project.runpytest("--models", BAD, "-k", "test_echo")
    result.assert_outcomes(passed=60, failed=1, deselected=60)
    result.stdout.no_fnmatch_line("*also ran*")
    candidate_only = project.runpytest("--models", BAD, "-k", "bad and not test_echo")
    candidate_only.assert_outcomes(passed=30, failed=1, deselected=90)  # suite items: no tests
    candidate_only.stdout.no_fnmatch_line("*also ran*")


def test_python_tests_without_graders_say_why_nothing_pairs(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_plain="""
import pytest

@pytest.mark.modelguard(suite="echo.modelguard.yaml")
def test_plain(model, case):
    assert model.complete(case.messages)
"""
    )
    project.runpytest("--modelguard-record", "once", "--models", BAD)
    result = project.runpytest("--models", BAD, "-k", "test_plain and bad")
    result.stdout.fnmatch_lines(["modelguard: also ran 30 baseline counterparts of selected *"])
    result.stdout.fnmatch_lines(
        [
            f"{BAD}: error: no case answered by both this model and the baseline on the same "
            "checks: no selected check scored a case on both sides (a Python test is scored "
            "only by its @grader calls)"
        ]
    )
