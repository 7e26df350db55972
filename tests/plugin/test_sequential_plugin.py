"""--modelguard-sequential through pytester: batches, skips, the sequence's verdicts, savings."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

ANSWERS = """
from pathlib import Path

CALLS = Path(__file__).with_name("calls.log")

def _log(name, request):
    with CALLS.open("a") as f:
        f.write(name + " " + request.messages[-1]["content"] + "\\n")

def _word(request):
    return request.messages[-1]["content"].split()[-1]

def good(request):
    _log("good", request)
    return _word(request)

def same(request):
    _log("same", request)
    return _word(request)

def worse(request):
    _log("worse", request)
    word = _word(request)
    return "nope" if int(word[1:]) % 10 < 3 else word  # wrong on 30% of cases
"""

PYPROJECT = """
[tool.modelguard]
baseline = "python:answers:good"
models = ["worse", "same"]
gate = "non-inferiority"
margin = 0.1

[tool.modelguard.aliases.worse]
model = "python:answers:worse"
price = { input = 1.0, output = 2.0 }

[tool.modelguard.aliases.same]
model = "python:answers:same"
price = { input = 1.0, output = 2.0 }
"""


def suite(n: int) -> str:
    cases = "\n".join(
        f"  - id: c{i:03d}\n    prompt: 'say w{i}'\n    expected: w{i}" for i in range(n)
    )
    return (
        "suite: echo\ndefaults:\n  graders:\n    - equals: {normalize: [strip, lower]}\n"
        f"cases:\n{cases}\n"
    )


def make_project(pytester: pytest.Pytester, n: int, pyproject: str = PYPROJECT) -> None:
    pytester.syspathinsert()
    pytester.makepyfile(answers=ANSWERS)
    pytester.makefile(".toml", pyproject=pyproject)
    pytester.makefile(".modelguard.yaml", echo=suite(n))


def calls(path: Path) -> list[str]:
    log = path / "calls.log"
    return log.read_text().splitlines() if log.exists() else []


def run_json(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict]:
    report = pytester.path / "report.json"
    result = pytester.runpytest(
        "--modelguard-record=once", f"--modelguard-json={report}", "-rs", *args
    )
    return result, json.loads(report.read_text())


def test_sequential_run_gives_the_full_runs_verdicts_with_fewer_calls(
    pytester: pytest.Pytester,
) -> None:
    """The issue's "done when": 600 cases, NI margin 0.1, a clearly worse and an equal one."""
    make_project(pytester, 600)
    full, full_doc = run_json(pytester)
    full_calls = len(calls(pytester.path))
    assert full_calls == 1800
    (pytester.path / "calls.log").unlink()
    (pytester.path / "report.json").unlink()
    shutil.rmtree(pytester.path / ".modelguard")

    seq, doc = run_json(pytester, "--modelguard-sequential")
    seq_calls = len(calls(pytester.path))
    for name in ("worse", "same"):
        assert doc["models"][name]["verdict"] == full_doc["models"][name]["verdict"]
    assert doc["models"]["worse"]["verdict"] == "not-non-inferior"
    assert doc["models"]["same"]["verdict"] == "pass"
    assert seq_calls <= 0.6 * full_calls, (seq_calls, full_calls)
    assert full.ret == seq.ret == pytest.ExitCode.TESTS_FAILED
    outcomes = seq.parseoutcomes()
    assert outcomes.get("error", 0) == 0
    assert outcomes["skipped"] == 1800 - seq_calls
    seq.stdout.fnmatch_lines(["*SKIPPED*verdict settled after * of 600 cases*"])
    for name in ("good", "worse", "same"):
        model = doc["models"]["python:answers:good" if name == "good" else name]
        asked = sum(1 for line in calls(pytester.path) if line.startswith(name + " "))
        assert model["sequential"] is True
        assert model["n_asked"] == asked
        assert model["calls_saved"] == 600 - asked
    worse = doc["models"]["worse"]
    assert worse["settled_after"] is not None and worse["settled_after"] < 600
    assert worse["method"] == "betting-cs"
    assert worse["usd_saved"] > 0
    assert worse["delta"]["method"] == "betting-cs"
    assert worse["delta"]["ci_high"] <= -0.1  # the grid rounds the end outwards
    seq.stdout.fnmatch_lines(["*worse: not shown non-inferior: verdict settled after*"])
    seq.stdout.fnmatch_lines(["*sequential: asked * of 600 cases; * calls saved (up to $*"])


def test_a_settled_candidate_is_not_asked_again_and_the_baseline_only_while_needed(
    pytester: pytest.Pytester,
) -> None:
    make_project(pytester, 200)
    _, doc = run_json(pytester, "--modelguard-sequential")
    log = calls(pytester.path)
    worse = [line for line in log if line.startswith("worse ")]
    good = [line for line in log if line.startswith("good ")]
    same = [line for line in log if line.startswith("same ")]
    assert len(worse) == doc["models"]["worse"]["n_asked"]
    assert len(good) == max(len(worse), len(same))
    assert len(worse) % 50 == 0 or len(worse) == 200


def test_sequential_batch_from_pyproject(pytester: pytest.Pytester) -> None:
    make_project(pytester, 120, PYPROJECT + "\n")
    config = (pytester.path / "pyproject.toml").read_text()
    config = config.replace(
        "margin = 0.1\n", "margin = 0.1\nsequential = true\nsequential_batch = 20\n"
    )
    (pytester.path / "pyproject.toml").write_text(config)
    _, doc = run_json(pytester)
    assert doc["models"]["worse"]["sequential"] is True
    assert doc["models"]["worse"]["batch"] == 20
    assert doc["models"]["worse"]["n_asked"] % 20 == 0


def test_sequential_with_xdist_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    make_project(pytester, 10)
    result = pytester.runpytest("--modelguard-sequential", "-n", "2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--modelguard-sequential cannot run with -n*"])


def test_without_the_flag_nothing_changes(pytester: pytest.Pytester) -> None:
    make_project(pytester, 20)
    _, doc = run_json(pytester)
    assert "sequential" not in doc["models"]["worse"]
    assert len(calls(pytester.path)) == 60


def test_each_answer_is_graded_once(pytester: pytest.Pytester) -> None:
    """The batch's grades decide and are the items' results: no grader runs twice."""
    make_project(pytester, 120)
    (pytester.path / "gradelog.py").write_text(
        "from pathlib import Path\n\n"
        "def logged(answer):\n"
        "    with Path(__file__).with_name('grades.log').open('a') as f:\n"
        "        f.write('graded\\n')\n"
        "    return 1.0\n"
    )
    suite_text = (pytester.path / "echo.modelguard.yaml").read_text()
    (pytester.path / "echo.modelguard.yaml").write_text(
        suite_text.replace("graders:\n", "graders:\n    - python: 'gradelog:logged'\n", 1)
    )
    _, doc = run_json(pytester, "--modelguard-sequential")
    graded = (pytester.path / "grades.log").read_text().splitlines()
    answered = len(calls(pytester.path))
    assert answered < 360  # some were skipped
    assert len(graded) == answered  # one grade per answer: none graded again by its item
    assert sum(m["n"] for m in doc["models"].values()) == answered


def _continued(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict]:
    return run_json(pytester, "--modelguard-sequential", "--modelguard-continue", *args)


def test_a_grown_suite_continues_the_saved_sequences(pytester: pytest.Pytester) -> None:
    make_project(pytester, 40)
    _, doc = run_json(pytester, "--modelguard-sequential")
    assert doc["models"]["same"]["look"]["decided_by"] == "end"  # 40 cases did not settle it
    assert (pytester.path / ".modelguard" / "runs" / "sequential-state.json").is_file()
    first_calls = set(calls(pytester.path))
    (pytester.path / "calls.log").unlink()

    pytester.makefile(".modelguard.yaml", echo=suite(600))  # the suite grew
    grown, doc = _continued(pytester)
    asked = calls(pytester.path)
    assert not set(asked) & first_calls  # a case counted before is not asked again
    same = doc["models"]["same"]
    assert same["verdict"] == "pass" and same["look"]["decided_by"] == "sequence"
    assert same["look"]["n_seen"] == 40 + same["n_asked"]  # one sequence over both runs
    assert same["n_total"] == 600
    worse = doc["models"]["worse"]
    assert worse["verdict"] == "not-non-inferior" and worse["look"]["decided_by"] == "sequence"
    assert worse["look"]["n_seen"] == 40 + worse["n_asked"]
    grown.stdout.fnmatch_lines(["*SKIPPED*counted by the sequential run this one continues*"])
    # a fresh run of the grown suite starts one sequence over
    _, fresh = run_json(pytester, "--modelguard-sequential")
    assert fresh["models"]["same"]["look"]["n_seen"] == fresh["models"]["same"]["n_asked"]


def test_continue_refuses_a_different_run(pytester: pytest.Pytester) -> None:
    make_project(pytester, 60)
    missing = pytester.runpytest("--modelguard-sequential", "--modelguard-continue")
    assert missing.ret == pytest.ExitCode.USAGE_ERROR
    missing.stderr.fnmatch_lines(["*no saved sequential run in*run once with*"])
    run_json(pytester, "--modelguard-sequential")
    other = pytester.runpytest(
        "--modelguard-sequential", "--modelguard-continue", "--modelguard-margin=0.05"
    )
    assert other.ret == pytest.ExitCode.USAGE_ERROR
    other.stderr.fnmatch_lines(["*the saved run differs: margin 0.1 → 0.05; run without*"])
    alone = pytester.runpytest("--modelguard-continue")
    assert alone.ret == pytest.ExitCode.USAGE_ERROR
    alone.stderr.fnmatch_lines(["*--modelguard-continue resumes a sequential run*"])
    fewer = pytester.runpytest("--modelguard-sequential", "--modelguard-continue", "--models=same")
    assert fewer.ret == pytest.ExitCode.USAGE_ERROR
    fewer.stderr.fnmatch_lines(["*the saved run differs: models*"])


NOISY = """

def noisy(request):
    _log("noisy", request)
    word = _word(request)
    return "nope" if int(word[1:]) % 10 == 0 and request.repeat == 1 else word
"""

REPEATED = PYPROJECT.replace('["worse", "same"]', '["worse", "same", "python:answers:noisy"]')


def test_deterministic_models_save_most_repeats_with_the_full_runs_verdicts(
    pytester: pytest.Pytester,
) -> None:
    """repeat = 3: the models whose repeats agree ask one repeat of most cases after the
    first batch; the noisy one (repeats disagree on 10 % of cases) keeps all three."""
    make_project(
        pytester, 600, REPEATED.replace("margin = 0.1\n", "margin = 0.1\nsequential_batch = 20\n")
    )
    (pytester.path / "answers.py").write_text((pytester.path / "answers.py").read_text() + NOISY)
    text = suite(600).replace("defaults:\n", "defaults:\n  repeat: 3\n")
    pytester.makefile(".modelguard.yaml", echo=text)
    full, full_doc = run_json(pytester)
    assert len(calls(pytester.path)) == 600 * 4 * 3
    (pytester.path / "calls.log").unlink()
    shutil.rmtree(pytester.path / ".modelguard")

    seq, doc = run_json(pytester, "--modelguard-sequential", "-v")
    log = calls(pytester.path)
    for name in ("worse", "same", "python:answers:noisy"):
        assert doc["models"][name]["verdict"] == full_doc["models"][name]["verdict"]
    assert seq.ret == full.ret == pytest.ExitCode.TESTS_FAILED
    assert seq.parseoutcomes().get("error", 0) == 0
    for name, logged in (("python:answers:good", "good"), ("same", "same")):
        model = doc["models"][name]
        made = sum(1 for line in log if line.startswith(logged + " "))
        nominal = 3 * model["n_asked"]
        assert made + model["repeats_saved"] == nominal
        assert model["n_asked"] > 20  # ran past the first batch
        assert model["repeats_saved"] > 0.5 * 2 * model["n_asked"]  # most repeats 2 and 3
    noisy = doc["models"]["python:answers:noisy"]
    assert noisy["repeats_saved"] == 0
    assert sum(1 for line in log if line.startswith("noisy ")) == 3 * noisy["n_asked"]
    seq.stdout.fnmatch_lines(["*same: sequential: asked * of 600 cases; * repeats saved*"])
    seq.stdout.fnmatch_lines(["*PASSED score 1.00; repeats 2-3 not asked: repeats agreed*"])


def test_adaptive_repeats_off_asks_every_repeat(pytester: pytest.Pytester) -> None:
    make_project(
        pytester,
        120,
        REPEATED.replace("margin = 0.1\n", "margin = 0.1\nadaptive_repeats = false\n"),
    )
    (pytester.path / "answers.py").write_text((pytester.path / "answers.py").read_text() + NOISY)
    pytester.makefile(
        ".modelguard.yaml", echo=suite(120).replace("defaults:\n", "defaults:\n  repeat: 3\n")
    )
    _, doc = run_json(pytester, "--modelguard-sequential")
    log = calls(pytester.path)
    good = doc["models"]["python:answers:good"]
    assert good["repeats_saved"] == 0
    assert sum(1 for line in log if line.startswith("good ")) == 3 * good["n_asked"]


REGRESSION = PYPROJECT.replace('gate = "non-inferiority"\nmargin = 0.1', 'gate = "regression"')


def _outputs(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict, str, str]:
    """A sequential run's JSON, JUnit and Markdown (written afresh)."""
    for name in ("report.json", "junit.xml", "report.md"):
        (pytester.path / name).unlink(missing_ok=True)
    result, doc = run_json(
        pytester,
        "--modelguard-sequential",
        f"--junitxml={pytester.path / 'junit.xml'}",
        f"--modelguard-markdown={pytester.path / 'report.md'}",
        *args,
    )
    junit = (pytester.path / "junit.xml").read_text()
    return result, doc, junit, (pytester.path / "report.md").read_text()


def _row(doc: dict, name: str) -> tuple:
    model = doc["models"][name]
    delta = model["delta"] or {}
    return (
        model["verdict"], model["n"], model.get("n_asked"), model.get("settled_after"),
        model.get("calls_saved"), delta.get("mean"), delta.get("ci_low"), delta.get("ci_high"),
    )  # fmt: skip


def test_a_settled_regression_continued_with_nothing_new_still_fails(
    pytester: pytest.Pytester,
) -> None:
    """Issue 24's "done when": the retried job re-states the verdicts, it never goes green."""
    make_project(pytester, 200, REGRESSION)
    first, doc, _, markdown = _outputs(pytester)
    assert first.ret == pytest.ExitCode.TESTS_FAILED
    assert doc["models"]["worse"]["verdict"] == "regression"
    (pytester.path / "calls.log").unlink()

    again, redo, junit2, markdown2 = _outputs(pytester, "--modelguard-continue")
    assert calls(pytester.path) == []  # nothing new to ask
    assert again.ret == pytest.ExitCode.TESTS_FAILED
    assert again.parseoutcomes()["failed"] == 1  # the gate's testcase
    again.stdout.fnmatch_lines(["*_ gate[[]worse[]] _*", "worse: regression: quality dropped*"])
    for name in ("python:answers:good", "worse", "same"):
        assert _row(redo, name) == _row(doc, name)
    assert redo["verdict"] == doc["verdict"] == "fail"
    assert 'name="gate[worse]"' in junit2 and "<failure" in junit2.split('gate[worse]"')[1]
    assert 'name="gate[same]"' in junit2
    assert markdown2.count("regression") == markdown.count("regression") > 0
    again.stdout.fnmatch_lines(["*worse*regression*", "*same*pass*"])


def test_a_grown_suite_still_shows_the_candidate_settled_earlier(
    pytester: pytest.Pytester,
) -> None:
    make_project(pytester, 100, REGRESSION)
    _, doc, _, _ = _outputs(pytester)
    assert doc["models"]["worse"]["look"]["decided_by"] == "sequence"
    assert doc["models"]["same"]["look"]["decided_by"] == "end"  # still open
    pytester.makefile(".modelguard.yaml", echo=suite(160))
    (pytester.path / "calls.log").unlink()
    grown, redo, junit, _ = _outputs(pytester, "--modelguard-continue")
    assert not any(line.startswith("worse ") for line in calls(pytester.path))  # settled
    assert grown.ret == pytest.ExitCode.TESTS_FAILED
    assert redo["models"]["worse"]["verdict"] == "regression"
    assert redo["models"]["worse"]["n_asked"] == doc["models"]["worse"]["n_asked"]
    assert 'name="gate[worse]"' in junit
