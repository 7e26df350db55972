"""pytest-xdist: the same verdicts, deltas and CIs with ``-n 2`` as without, and a whole cache."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from reportfigures import timeless

ANSWERS = """
import os
from pathlib import Path

CALLS = Path(__file__).with_name("calls.log")


def _word(request):
    word = request.messages[-1]["content"].split()[-1]
    with CALLS.open("a") as log:  # O_APPEND: one short line per write, whole across processes
        log.write(f"{os.getpid()} {request.model} {word}\\n")
    return word


def good(request):
    return _word(request)


def flaky(request):
    word = _word(request)
    return word if int(word[1:]) % 3 else word + " maybe"


def bad(request):
    word = _word(request)
    return word if int(word[1:]) % 2 else "nope"
"""

PYPROJECT = """
[tool.modelguard]
baseline = "python:answers:good"
models = ["python:answers:flaky", "python:answers:bad"]
resamples = 2000
seed = 7
"""

N = 40
# Fresh processes skip plugins this project does not use (installed here or not): each
# costs seconds to import per process, xdist workers included.
UNUSED_PLUGINS = ("-p", "no:hypothesispytest", "-p", "no:benchmark", "-p", "no:anyio")


EQUALS = "    - equals: {normalize: [strip, lower]}\n      weight: 2\n"
SIMILARITY = "    - similarity: baseline\n      dimension: agreement\n"
"""Graded against the baseline's answer, which another worker may have fetched."""


def suite(graders: str = EQUALS, n: int = N) -> str:
    cases = "".join(
        f"  - {{id: c{i:02d}, tags: [t{i % 3}], prompt: 'say w{i}', expected: w{i}}}\n"
        for i in range(n)
    )
    return f"suite: xd\ndefaults:\n  graders:\n{graders}cases:\n{cases}"


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(answers=ANSWERS)
    pytester.makefile(".toml", pyproject=PYPROJECT)
    pytester.makefile(".modelguard.yaml", xd=suite())
    pytester.makefile(".ini", pytest="[pytest]\npythonpath = .\n")
    return pytester


def run(project: pytest.Pytester, workers: int, report: str, *args: str) -> pytest.RunResult:
    """``-n 0`` in process; ``-n 2`` in a fresh process, as CI runs it."""
    if workers:
        args = (*UNUSED_PLUGINS, *args)
    runner = project.runpytest_subprocess if workers else project.runpytest
    return runner("-p", "no:cacheprovider", "-n", str(workers), "--modelguard-json", report, *args)


def figures(path: Path) -> dict[str, Any]:
    """What must not depend on ``-n``: every model's and tag's figures, every case's grade."""
    report = json.loads(path.read_text(encoding="utf-8"))
    cases = sorted(
        (c["suite"], c["id"], c["model"], c["repeat"], c["score"], c["passed"], c["error"])
        for c in report["cases"]
    )
    return {
        "verdict": report["verdict"],
        "models": timeless(report["models"]),
        "tags": timeless(report["tags"]),
        "cases": cases,
    }


def assert_whole_cache(project: pytest.Pytester) -> None:
    """One valid entry per unique request, each paid for once, and no temp file left."""
    lines = (project.path / "calls.log").read_text().splitlines()
    calls = [line.split(" ", 1)[1] for line in lines]
    assert len(set(calls)) == 3 * N
    twice = [line for line in lines if calls.count(line.split(" ", 1)[1]) > 1]
    assert twice == [], "paid for twice (pid, model, word)"
    entries = [p for p in (project.path / ".modelguard").rglob("*") if p.is_file()]
    assert not [p for p in entries if p.name.startswith(".tmp-") or p.suffix != ".json"]
    keys = set()
    for path in entries:
        entry = json.loads(path.read_text(encoding="utf-8"))
        assert entry["key"] == path.stem and entry["completion"]["text"]
        keys.add(entry["key"])
    assert len(keys) == len(entries) == 3 * N


def assert_same_figures(project: pytest.Pytester, first: str, second: str) -> None:
    one, two = figures(project.path / first), figures(project.path / second)
    bad = one["models"]["python:answers:bad"]
    assert bad["verdict"] == "regression" and bad["delta"]["ci_high"] < 0
    assert one["models"]["python:answers:flaky"]["delta"]["n_pairs"] == N
    assert one == two


def test_record_under_xdist_then_replay_with_and_without(project: pytest.Pytester) -> None:
    recording = run(project, 2, "record.json", "--modelguard-record", "once")
    recording.assert_outcomes(passed=3 * N, failed=2)  # + the gate results
    assert_whole_cache(project)
    serial = run(project, 0, "serial.json")
    parallel = run(project, 2, "parallel.json")
    for result in (recording, serial, parallel):
        result.assert_outcomes(passed=3 * N, failed=2)  # + the gate results
        assert result.ret == pytest.ExitCode.TESTS_FAILED  # "bad" regresses
    assert_same_figures(project, "serial.json", "parallel.json")
    assert (
        figures(project.path / "record.json")["models"]
        == figures(project.path / "serial.json")["models"]
    )


def test_graders_against_the_baseline_answer_agree_under_xdist(project: pytest.Pytester) -> None:
    project.makefile(".modelguard.yaml", xd=suite(EQUALS + SIMILARITY))
    run(project, 0, "serial.json", "--modelguard-record", "once").assert_outcomes(
        passed=3 * N, failed=2
    )  # + the gate results
    run(project, 2, "parallel.json").assert_outcomes(passed=3 * N, failed=2)
    assert_same_figures(project, "serial.json", "parallel.json")


def test_record_all_under_xdist_pays_for_each_request_once(project: pytest.Pytester) -> None:
    """Re-recording everything: the baseline answer both workers grade against is paid once."""
    project.makefile(".modelguard.yaml", xd=suite(EQUALS + SIMILARITY))
    run(project, 0, "first.json", "--modelguard-record", "once").assert_outcomes(
        passed=3 * N, failed=2
    )  # + the gate results
    (project.path / "calls.log").unlink()
    run(project, 2, "again.json", "--modelguard-record", "all").assert_outcomes(
        passed=3 * N, failed=2
    )
    assert_whole_cache(project)
