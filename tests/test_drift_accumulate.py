"""drift = "accumulate": nights against one fixed reference run, through pytester.

The model answers each case right with probability 0.75, drawn afresh every night
(the night's number seeds it). The reference run (seed ``ref71``) was lucky: 54 of
60 right. Judged alone against it, an unchanged model's night reads as a drop, and
fixed-n comparisons of the same nights raise a false "degraded" (checked below on the
very reports); accumulated, with the reference's own luck bounded, they do not.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_modelguard.verdict.drift import compare_runs
from pytest_modelguard.verdict.drift_state import (
    STATE_FILE,
    accumulate_night,
    load_state,
    save_state,
)
from pytest_modelguard.verdict.history import load_run

ANSWERS = """
import random
from pathlib import Path

HERE = Path(__file__).parent


def _word(request):
    return request.messages[-1]["content"].split()[-1]


def noisy(request):
    word = _word(request)
    night = (HERE / "night.txt").read_text().strip()
    rate = float((HERE / "rate.txt").read_text())
    return word if random.Random(f"{night}:{word}").random() < rate else "not sure"


def steady(request):
    return _word(request)
"""

PYPROJECT = """
[tool.modelguard]
baseline = "python:answers:noisy"
models = ["python:answers:steady"]
drift = "accumulate"
"""

CASES = 60
NOISY = "python:answers:noisy"


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(answers=ANSWERS)
    pytester.makefile(".toml", pyproject=PYPROJECT)
    pytester.makefile(".ini", pytest="[pytest]\npythonpath = .\n")
    cases = "".join(
        f"  - {{id: c{i:02d}, prompt: 'say w{i}', expected: w{i}}}\n" for i in range(CASES)
    )
    pytester.makefile(
        ".modelguard.yaml",
        nightly=f"suite: nightly\ndefaults:\n  graders:\n    - equals: {{}}\ncases:\n{cases}",
    )
    (pytester.path / "rate.txt").write_text("0.75")
    return pytester


def night(project: pytest.Pytester, seed: str, *args: str) -> pytest.RunResult:
    (project.path / "night.txt").write_text(seed)
    return project.runpytest("-p", "no:cacheprovider", "--modelguard-record", "all", *args)


def runs(project: pytest.Pytester) -> list[Path]:
    """Stored runs in the order they were saved (``<time>Z.json``, then ``<time>Z-1.json``)."""
    found = (project.path / ".modelguard" / "runs").glob("20*.json")
    return sorted(found, key=lambda p: (p.name[:20], len(p.name), p.name))


def state(project: pytest.Pytester) -> dict:
    return json.loads((project.path / ".modelguard" / "runs" / STATE_FILE).read_text())


def nights(project: pytest.Pytester, model: str = NOISY) -> int:
    return int(state(project)["models"][model]["accumulator"]["nights"])


def test_unchanged_nights_never_accumulate_a_false_degraded(project: pytest.Pytester) -> None:
    assert night(project, "ref71", "--modelguard-save").ret == pytest.ExitCode.OK
    reference = runs(project)[0]
    nightly = ("--modelguard-save", "--modelguard-compare", "last")
    for n in range(1, 6):
        result = night(project, str(n), *nightly, f"--modelguard-json=night{n}.json")
        assert result.ret == pytest.ExitCode.OK, n
        # `last` is the accepted reference, not the night saved before this one
        result.stdout.fnmatch_lines(
            [
                f"drift against .modelguard/runs/{reference.name} (accumulated, 95% per model):",
                f"  {NOISY}   steady  0.900 → * {n} night*",
            ]
        )
        assert nights(project) == n
        doc = json.loads((project.path / f"night{n}.json").read_text())
        assert doc["drift"]["accumulated"] is True
        delta = doc["drift"]["models"][NOISY]["delta"]
        assert delta["method"].startswith("betting-cs") and delta["p_value"] is None
    assert len(runs(project)) == 6  # every steady night was saved, none replaced the reference
    # the same nights, each judged alone against the reference, raise a false alarm
    stored = load_run(reference)
    alone = [
        compare_runs(load_run(project.path / f"night{n}.json").results, stored.results, against="r")
        for n in range(1, 6)
    ]
    assert any(NOISY in report.degraded for report in alone)


def test_a_real_regression_is_flagged_and_stays_flagged(project: pytest.Pytester) -> None:
    assert night(project, "ref71", "--modelguard-save").ret == pytest.ExitCode.OK
    nightly = ("--modelguard-save", "--modelguard-compare", "last")
    assert night(project, "1", *nightly).ret == pytest.ExitCode.OK
    (project.path / "rate.txt").write_text("0.25")
    worse = night(project, "2", *nightly, "--modelguard-markdown=r.md")
    assert worse.ret == pytest.ExitCode.TESTS_FAILED
    worse.stdout.fnmatch_lines(
        [f"  {NOISY}*degraded  * 2 nights", f"modelguard gate FAILED: {NOISY} (drift: degraded)"]
    )
    assert len(runs(project)) == 2  # the degraded night is not saved
    markdown = (project.path / "r.md").read_text()
    assert "accumulated over every night since it was accepted" in markdown
    # a degraded sequence stays degraded: its interval only narrows
    (project.path / "rate.txt").write_text("0.75")
    again = night(project, "3", *nightly)
    assert again.ret == pytest.ExitCode.TESTS_FAILED
    again.stdout.fnmatch_lines([f"  {NOISY}*degraded  * 3 nights"])


def test_the_state_resets_when_a_reference_is_accepted(project: pytest.Pytester) -> None:
    assert night(project, "ref71", "--modelguard-save").ret == pytest.ExitCode.OK
    assert night(project, "1", "--modelguard-compare", "last").ret == pytest.ExitCode.OK
    assert nights(project) == 1  # a night looked at counts, saved or not
    assert not runs(project)[1:]
    # a night without every reference case is said and not counted
    subset = night(project, "2", "--modelguard-compare", "last", "-k", "c0")
    subset.stdout.fnmatch_lines(["*not counted tonight: 10", "    of 60 reference cases answered"])
    assert nights(project) == 1
    # saving a run without --modelguard-compare accepts it: the state starts again from it
    assert night(project, "3", "--modelguard-save").ret == pytest.ExitCode.OK
    assert not (project.path / ".modelguard" / "runs" / STATE_FILE).exists()
    newest = runs(project)[-1]
    after = night(project, "4", "--modelguard-compare", "last")
    after.stdout.fnmatch_lines([f"drift against .modelguard/runs/{newest.name} (accumulated*"])
    assert state(project)["reference"]["name"] == newest.name
    assert nights(project) == 1


def test_fixed_n_drift_is_the_default_and_keeps_no_state(project: pytest.Pytester) -> None:
    project.makefile(".toml", pyproject=PYPROJECT.replace('drift = "accumulate"\n', ""))
    assert night(project, "ref71", "--modelguard-save").ret == pytest.ExitCode.OK
    result = night(project, "1", "--modelguard-compare", "last")
    result.stdout.fnmatch_lines(["drift against * (95% family-wise, Holm):"])
    assert not (project.path / ".modelguard" / "runs" / STATE_FILE).exists()
    flagged = night(project, "1", "--modelguard-compare", "last", "--modelguard-drift=accumulate")
    flagged.stdout.fnmatch_lines(["drift against * (accumulated, 95% per model):"])


def test_a_broken_state_file_is_a_usage_error_naming_it(project: pytest.Pytester) -> None:
    assert night(project, "ref71", "--modelguard-save").ret == pytest.ExitCode.OK
    (project.path / ".modelguard" / "runs" / STATE_FILE).write_text("{not json")
    result = night(project, "1", "--modelguard-compare", "last")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{STATE_FILE}: not a drift state*delete it*"])


def test_the_saved_state_resumes_exactly(tmp_path: Path) -> None:
    reference = {f"c{i}": [float(i % 4 != 0)] for i in range(40)}
    tonight = {f"c{i}": [float(i % 5 != 0)] for i in range(40)}
    first = accumulate_night(None, reference, tonight, 0.95)
    doc = {"version": 1, "reference": {"name": "r", "saved_at": None}, "models": {"m": first.entry}}
    save_state(tmp_path, doc)
    loaded = load_state(tmp_path)
    assert loaded is not None
    resumed = accumulate_night(loaded["models"]["m"], reference, tonight, 0.95)
    fresh = accumulate_night(first.entry, reference, tonight, 0.95)
    assert resumed.look == fresh.look and resumed.look.nights == 2
    other = accumulate_night(loaded["models"]["m"], reference, tonight, 0.9)  # another level
    assert other.look.nights == 1
