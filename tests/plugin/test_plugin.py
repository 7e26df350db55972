"""The plugin end to end through pytester: collection, ids, record/replay, gate, exit status."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ANSWERS = """
import json
from pathlib import Path

CALLS = Path(__file__).with_name("calls.log")

def _log(name, request):
    with CALLS.open("a") as f:
        f.write(name + " " + request.messages[-1]["content"] + "\\n")

def good(request):
    _log("good", request)
    return request.messages[-1]["content"].split()[-1]

def bad(request):
    _log("bad", request)
    return "nope"

def flaky(request):
    _log("flaky", request)
    word = request.messages[-1]["content"].split()[-1]
    return word if hash(word) % 2 else word.upper() + "!"
"""

PYPROJECT = """
[tool.modelguard]
baseline = "python:answers:good"
models = ["good2"]
resamples = 1000

[tool.modelguard.aliases.good2]
model = "python:answers:good"
price = { input = 1.0, output = 2.0 }
"""


def suite(n: int = 30) -> str:
    cases = "\n".join(
        f"  - id: c{i:03d}\n    tags: [t{i % 3}]\n    prompt: 'say w{i}'\n    expected: w{i}"
        for i in range(n)
    )
    return (
        "suite: echo\ndefaults:\n  graders:\n    - equals: {normalize: [strip, lower]}\n"
        f"cases:\n{cases}\n"
    )


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.syspathinsert()
    pytester.makepyfile(answers=ANSWERS)
    pytester.makefile(".toml", pyproject=PYPROJECT)
    pytester.makefile(".modelguard.yaml", echo=suite())
    return pytester


def calls(pytester: pytest.Pytester) -> list[str]:
    log = pytester.path / "calls.log"
    return log.read_text().splitlines() if log.exists() else []


def test_project_without_modelguard_is_untouched(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain="def test_ok():\n    assert True\n")
    without = pytester.runpytest_subprocess("-p", "no:modelguard")
    files_without = _files(pytester.path)
    with_plugin = pytester.runpytest_subprocess()
    with_plugin.assert_outcomes(passed=1)
    assert _comparable(with_plugin.outlines) == _comparable(without.outlines)
    assert _files(pytester.path) == files_without


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if "runpytest-" not in str(p)}


def _comparable(lines: list[str]) -> list[str]:
    """Output lines without the plugin list and timings, which differ by design."""
    return [re.sub(r" in [0-9.]+s", "", line) for line in lines if not line.startswith("plugins:")]


def test_collects_one_item_per_case_and_model(project: pytest.Pytester) -> None:
    result = project.runpytest("--collect-only", "-q")
    ids = [line for line in result.outlines if "::" in line]
    assert len(ids) == 60
    assert "echo.modelguard.yaml::c000[python:answers:good]" in ids
    assert "echo.modelguard.yaml::c029[good2]" in ids
    assert calls(project) == []


def test_replay_without_recording_is_an_error_naming_the_fix(project: pytest.Pytester) -> None:
    result = project.runpytest()
    result.assert_outcomes(errors=60, failed=2)  # + the gate results
    result.stdout.fnmatch_lines(["*no recorded answer*--modelguard-record once*"])
    assert calls(project) == []
    assert result.ret != 0


def test_record_then_replay_offline(project: pytest.Pytester) -> None:
    first = project.runpytest("--modelguard-record", "once")
    first.assert_outcomes(passed=61)  # + the gate results
    assert len(calls(project)) == 30  # identical requests of baseline and alias: called once
    (project.path / "calls.log").unlink()
    second = project.runpytest("--modelguard-json", "report.json")
    second.assert_outcomes(passed=61)  # + the gate result
    assert calls(project) == []
    report = json.loads((project.path / "report.json").read_text())
    assert report["verdict"] == "pass"
    assert set(report["models"]) == {"python:answers:good", "good2"}
    good2 = report["models"]["good2"]
    assert good2["n"] == 30 and good2["mean_score"] == 1.0 and good2["verdict"] == "pass"
    assert good2["delta"]["mean"] == 0.0 and good2["delta"]["n_pairs"] == 30
    assert all(case["cached"] for case in report["cases"])
    assert len(report["cases"]) == 60


def test_regression_fails_the_run(project: pytest.Pytester) -> None:
    result = project.runpytest(
        "--modelguard-record",
        "once",
        "--models",
        "python:answers:bad",
        "--modelguard-json",
        "r.json",
    )
    result.assert_outcomes(passed=60, failed=1)  # a low score alone does not fail an item
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*python:answers:bad*regression*", "*modelguard gate FAILED*"])
    report = json.loads((project.path / "r.json").read_text())
    bad = report["models"]["python:answers:bad"]
    assert bad["verdict"] == "regression" and bad["delta"]["ci_high"] < 0
    assert report["verdict"] == "fail"


def test_k_selects_a_subset_and_says_so(project: pytest.Pytester) -> None:
    project.runpytest("--modelguard-record", "once")
    result = project.runpytest("-k", "c00", "--modelguard-json", "r.json")
    result.assert_outcomes(passed=21, deselected=40)  # + the gate results
    report = json.loads((project.path / "r.json").read_text())
    assert report["models"]["good2"]["n"] == 10
    assert any("subset" in note for note in report["notes"])


def test_required_grader_fails_the_item(project: pytest.Pytester) -> None:
    project.makefile(
        ".modelguard.yaml",
        echo="cases:\n  - id: a\n    prompt: 'say hi'\n    expected: hi\n    graders:\n"
        "      - equals: {}\n        required: true\n",
    )
    result = project.runpytest("--modelguard-record", "once", "--models", "python:answers:bad")
    result.assert_outcomes(passed=2, failed=1)  # + the gate results
    result.stdout.fnmatch_lines(["*python:answers:bad on a: required grader*"])


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--models", "nosuch"], "unknown model 'nosuch'"),
        (["--models", "opneai:gpt-4.1"], "unknown provider 'opneai'*did you mean 'openai'"),
        (["--baseline", "good3"], "unknown model 'good3'*did you mean 'good2'"),
    ],
)
def test_unknown_model_is_a_usage_error(
    project: pytest.Pytester, args: list[str], named: str
) -> None:
    result = project.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{named}*"])


def test_unknown_config_key_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makefile(
        ".toml", pyproject='[tool.modelguard]\nbaseline = "openai:gpt-4.1"\nconcurency = 3\n'
    )
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*pyproject.toml*concurency: unknown key (did you mean 'concurrency'?)*"]
    )


def test_bad_suite_names_file_and_line(project: pytest.Pytester) -> None:
    project.makefile(".modelguard.yaml", echo="cases:\n  - id: a\n    promt: hi\n")
    result = project.runpytest()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(
        ["*echo.modelguard.yaml:3: promt: unknown key in case #1 (did you mean 'prompt'?)"]
    )
    assert "Traceback" not in result.stdout.str()


def test_unknown_grader_names_file_line_and_suggestion(project: pytest.Pytester) -> None:
    project.makefile(
        ".modelguard.yaml",
        echo="cases:\n  - id: a\n    prompt: hi\n    graders:\n      - equal: {}\n",
    )
    result = project.runpytest()
    result.stdout.fnmatch_lines(
        ["*echo.modelguard.yaml:5*unknown grader 'equal'*did you mean 'equals'*"]
    )


def test_junit_and_last_failed(project: pytest.Pytester) -> None:
    result = project.runpytest("--modelguard-record", "once", "--junitxml", "j.xml")
    result.assert_outcomes(passed=61)  # + the gate results
    xml = (project.path / "j.xml").read_text()
    assert xml.count("<testcase") == 61 and 'name="c000[good2]"' in xml  # + gate[good2]
    rerun = project.runpytest("--lf")
    rerun.assert_outcomes(passed=61)  # nothing failed: --lf reruns all, and gates


def test_cache_entries_are_readable_json_keyed_by_request(project: pytest.Pytester) -> None:
    project.runpytest("--modelguard-record", "once")
    entries = sorted(Path(project.path, ".modelguard").rglob("*.json"))
    assert len(entries) == 30
    entry = json.loads(entries[0].read_text())
    assert entry["request"]["provider"] == "python"
    assert entry["completion"]["text"].startswith("w")
    assert entries[0].read_text().count("\n") > 5  # pretty-printed for git diffs


def test_report_files_hold_the_json_figures(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = project.path / "step-summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = project.runpytest(
        "--modelguard-record",
        "once",
        "--models",
        "python:answers:bad",
        "--modelguard-json",
        "out/r.json",
        "--modelguard-markdown",
        "out/r.md",
        "--modelguard-html",
        "out/r.html",
        "--modelguard-routes",
        "out/routes.yaml",
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    doc = json.loads((project.path / "out/r.json").read_text())
    delta = doc["models"]["python:answers:bad"]["delta"]
    markdown = (project.path / "out/r.md").read_text()
    assert f"{delta['mean']:+.3f} [{delta['ci_low']:+.3f}, {delta['ci_high']:+.3f}]" in markdown
    assert summary.read_text().startswith("earlier step\n") and markdown in summary.read_text()
    html = (project.path / "out/r.html").read_text()
    assert "python:answers:bad" in html and "https://" not in html
    import yaml

    routes = yaml.safe_load((project.path / "out/routes.yaml").read_text())
    assert routes["default"] == "python:answers:good"


PYTHON_TEST = """
import pytest
from pytest_modelguard import grader

@grader
def says_the_word(answer, expected):
    return answer.strip() == expected

@pytest.mark.modelguard(suite="echo.modelguard.yaml")
def test_echo(model, case):
    answer = model.complete(case.messages)
    assert model.last is not None and model.last.text == answer
    assert says_the_word(answer, case.expected)

def test_unrelated_model_fixture_is_left_alone(request):
    assert "model" not in request.fixturenames
"""


def test_python_tests_get_model_and_case_and_feed_the_gate(project: pytest.Pytester) -> None:
    project.makepyfile(test_echo=PYTHON_TEST)
    result = project.runpytest(
        "--modelguard-record",
        "once",
        "--models",
        "python:answers:bad",
        "--modelguard-json",
        "r.json",
        "-rf",
    )
    result.assert_outcomes(passed=91, failed=31)  # + the gate results
    result.stdout.fnmatch_lines(["*assert Grade(says_the_word: failed, score 0 vs threshold 0.5*"])
    assert len(calls(project)) == 60  # each answer once: the test's requests are the suite's
    report = json.loads((project.path / "r.json").read_text())
    from_tests = [c for c in report["cases"] if c["suite"] == "echo::test_echo"]
    assert len(from_tests) == 60
    bad = [c for c in from_tests if c["model"] == "python:answers:bad"]
    assert all(c["score"] == 0.0 and not c["passed"] for c in bad)
    model = report["models"]["python:answers:bad"]
    assert model["delta"]["n_pairs"] == 30  # the test's checks join their case: 30 prompts
    assert model["n"] == 30  # answers, each counted once (its cost and tokens too)


def test_python_test_without_a_recorded_answer_is_an_error(project: pytest.Pytester) -> None:
    project.makepyfile(test_echo=PYTHON_TEST)
    result = project.runpytest("-k", "test_echo")
    result.assert_outcomes(passed=1, errors=60, deselected=60)
    result.stdout.fnmatch_lines(["*no recorded answer*"])
    assert "Traceback" not in result.stdout.str()
