"""Stored runs and drift: save, find and read runs; pair a model with itself across two runs."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from pytest_modelguard.core.errors import HistoryError
from pytest_modelguard.inference import stats
from pytest_modelguard.inference.compare import compare
from pytest_modelguard.records.results import ItemResult
from pytest_modelguard.report.markdown import render_markdown
from pytest_modelguard.report.terminal import drift_lines, verdict_line
from pytest_modelguard.verdict.drift import compare_runs
from pytest_modelguard.verdict.gate import GateConfig, evaluate, with_drift
from pytest_modelguard.verdict.history import find_run, load_run, runs_dir, save_run

N = 60


def run(model: str, scores: list[float], *, cost: float | None = 0.001, tag: str = "x",
        repeat: int = 0, outputs: list[str] | None = None) -> list[ItemResult]:  # fmt: skip
    return [
        ItemResult(suite="s", case_id=f"c{i:03d}", model=model, tags=(tag,), repeat=repeat,
                   score=s, passed=s >= 0.5, cost_usd=cost, latency_s=0.1,
                   output=outputs[i] if outputs else f"answer {i}")
        for i, s in enumerate(scores)
    ]  # fmt: skip


def alternating(n: int, every: int) -> list[float]:
    """1.0 except every `every`-th case, which scores 0.0."""
    return [0.0 if i % every == 0 else 1.0 for i in range(n)]


# --- drift: pure ---


def test_a_model_that_got_worse_is_degraded_and_its_interval_is_the_gates() -> None:
    then = run("steady", alternating(N, 5)) + run("worse", alternating(N, 10))
    worse_now = alternating(N, 10)
    for i in range(1, N, 3):
        worse_now[i] = 0.0
    outputs = [f"answer {i}" if s else "no idea" for i, s in enumerate(worse_now)]
    now = run("steady", alternating(N, 5)) + run("worse", worse_now, outputs=outputs)
    drift = compare_runs(now, then, against="r.json", seed=3)

    assert drift.degraded == ("worse",)
    assert drift.confidence == 0.95
    worse, steady = drift.models["worse"], drift.models["steady"]
    expected = compare(
        alternating(N, 10), worse_now, confidence=stats.bonferroni_confidence(0.95, 2), seed=3
    )  # Holm's first step: the gate's own comparison at 97.5%
    assert worse.delta == replace(expected, p_adjusted=worse.p_adjusted)
    assert worse.delta is not None and worse.delta.ci_high < 0
    assert worse.answers_changed == worse_now.count(0.0)  # every "no idea"
    assert (worse.mean_then, worse.mean_now) == (
        pytest.approx(sum(alternating(N, 10)) / N),
        pytest.approx(sum(worse_now) / N),
    )
    assert steady.status == "steady" and steady.answers_changed == 0
    assert steady.delta is not None and steady.delta.mean == 0
    assert worse.p_adjusted is not None and worse.p_adjusted >= worse.delta.p_value


def test_an_improvement_is_flagged_but_never_degraded() -> None:
    then = run("m", alternating(N, 2))
    now = run("m", alternating(N, 20))
    drift = compare_runs(now, then, against="r.json")
    assert drift.models["m"].status == "improved"
    assert drift.degraded == ()
    assert drift.models["m"].delta is not None
    assert drift.models["m"].delta.confidence == 0.95  # one model: no correction


def test_repeats_pair_per_case_as_one_cluster() -> None:
    then = run("m", [1.0] * N, repeat=0) + run("m", [1.0] * N, repeat=1)
    now = run("m", [1.0] * N, repeat=0) + run("m", alternating(N, 2), repeat=1)
    drift = compare_runs(now, then, against="r.json", seed=1)
    model = drift.models["m"]
    assert model.n_pairs == N  # cases, not answers
    expected = compare([[1.0, 1.0]] * N, [[1.0, s] for s in alternating(N, 2)], seed=1)
    assert model.delta == replace(expected, p_adjusted=model.p_adjusted)
    assert model.status == "degraded"


def test_unmatched_cases_errors_new_and_gone_models_are_counted_not_paired() -> None:
    then = run("m", [1.0] * N) + run("gone", [1.0] * N)
    now = run("m", [1.0] * (N + 5)) + run("new", [1.0] * N)
    errored = ItemResult(suite="s", case_id="c000", model="m", error="429", score=None)
    now = [r for r in now if not (r.model == "m" and r.case_id == "c000")] + [errored]
    drift = compare_runs(now, then, against="r.json")
    m = drift.models["m"]
    assert (m.n_pairs, m.only_now, m.only_then) == (N - 1, 5, 1)
    assert drift.models["new"].status == "unpaired" and drift.models["new"].delta is None
    assert drift.models_gone == ("gone",)


def test_too_few_cases_is_said_not_guessed() -> None:
    drift = compare_runs(run("m", [0.0] * 3), run("m", [1.0] * 3), against="r.json")
    assert drift.models["m"].status == "too-few-cases"
    assert drift.degraded == ()


def test_cost_change_per_answer_and_unknown_costs() -> None:
    then = run("m", [1.0] * N, cost=0.002) + run("u", [1.0] * N, cost=0.002)
    now = run("m", [1.0] * N, cost=0.003) + run("u", [1.0] * N, cost=None)
    drift = compare_runs(now, then, against="r.json")
    assert drift.models["m"].cost_change == pytest.approx(0.5)
    assert drift.models["u"].cost_change is None


def test_a_degraded_model_fails_the_run_and_every_report_says_so() -> None:
    then = run("base", alternating(N, 10))
    now = run("base", alternating(N, 2))
    report = evaluate(now, GateConfig(baseline="base", candidates=()))
    assert not report.failed
    drift = compare_runs(now, then, against="runs/a.json", saved_at="2026-11-28T10:00:00+00:00")
    judged = with_drift(report, drift)
    assert judged.failed and judged.drift is drift
    assert "base (drift: degraded)" in verdict_line(judged)
    ungated = replace(report, verdict="not-gated", not_gated="-x stopped the run")
    assert not with_drift(ungated, drift).failed
    lines = drift_lines(drift)
    assert all(len(line) <= 100 for line in lines)
    assert lines[1].split()[:2] == ["base", "degraded"]  # degraded first

    doc = {
        "verdict": judged.verdict, "baseline": "base", "confidence": 0.95,
        "resamples": 10_000, "seed": 0, "gate": "regression",
        "margin": 0.0, "notes": list(judged.notes), "models": {}, "tags": {}, "cases": [],
        "drift": drift.to_dict(),
    }  # fmt: skip
    json.dumps(doc)  # JSON-able
    markdown = render_markdown(doc)
    assert "`base` (drift: degraded)" in markdown
    assert "**Drift** against `runs/a.json`" in markdown
    row = next(line for line in markdown.splitlines() if line.startswith("| 📉"))
    delta = drift.models["base"].delta
    assert delta is not None and f"{delta.mean:+.3f} [{delta.ci_low:+.3f}" in row


# --- stored runs ---


def test_saved_runs_are_found_newest_first_and_read_back(tmp_path: Path) -> None:
    results = run("m", alternating(10, 3))
    doc = {"version": 1, "cases": [r.to_dict() for r in results]}
    early = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    first = save_run(doc, tmp_path, now=early)
    second = save_run(doc, tmp_path, now=early)  # same instant: a new name, nothing overwritten
    latest = save_run(doc, tmp_path, now=datetime(2026, 11, 28, 10, 0, tzinfo=UTC))
    assert len({first, second, latest}) == 3
    assert find_run("last", tmp_path, cwd=tmp_path) == latest
    assert not [p for p in runs_dir(tmp_path).iterdir() if p.name.startswith(".tmp-")]
    stored = load_run(latest)
    assert stored.results == tuple(results)
    assert stored.saved_at == "2026-11-28T10:00:00+00:00"
    assert latest.name == "2026-11-28T10-00-00Z.json"
    assert find_run("runs/" + latest.name, tmp_path, cwd=tmp_path) == latest
    latest.unlink()
    assert find_run("last", tmp_path, cwd=tmp_path) == second  # saved after first, same second


def test_no_stored_run_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(HistoryError, match=r"no stored run in .*runs.*--modelguard-save"):
        find_run("last", tmp_path, cwd=tmp_path)
    with pytest.raises(HistoryError, match=r"nope\.json: no such file"):
        find_run("nope.json", tmp_path, cwd=tmp_path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"cases": [\n  1,\n', r"bad\.json:3: not a modelguard JSON report"),
        ('{"models": {}}', r"bad\.json: not a modelguard JSON report \(no 'cases' list\)"),
        ("[1, 2]", r"no 'cases' list"),
        (
            '{"version": 1, "cases": [{"suite": "s", "model": "m"}]}',
            r"cases\[0\]: missing key 'id'",
        ),
        (
            '{"version": 1, "cases": [{"suite": "s", "id": "c", "model": "m", "repeat": "x"}]}',
            r"cases\[0\]",
        ),
    ],
)
def test_an_unreadable_stored_run_names_the_file(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(HistoryError, match=message):
        load_run(path)


# --- end to end: the production model changes behaviour under the same name ---

ANSWERS = """
from pathlib import Path

MODE = Path(__file__).with_name("mode.txt")


def _word(request):
    return request.messages[-1]["content"].split()[-1]


def stable(request):
    return _word(request)


def drifting(request):
    word = _word(request)
    if MODE.read_text().strip() == "worse" and int(word[1:]) % 3 == 0:
        return "not sure"
    return word
"""

PYPROJECT = """
[tool.modelguard]
baseline = "python:answers:drifting"
models = ["python:answers:stable"]
resamples = 2000
seed = 7
"""

CASES = 40


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
        drift=f"suite: drift\ndefaults:\n  graders:\n    - equals: {{}}\ncases:\n{cases}",
    )
    (pytester.path / "mode.txt").write_text("good")
    return pytester


def live(project: pytest.Pytester, *args: str) -> pytest.RunResult:
    return project.runpytest("-p", "no:cacheprovider", "--modelguard-record", "all", *args)


def test_drift_of_the_production_model_fails_the_run_and_is_reported(
    project: pytest.Pytester,
) -> None:
    first = live(project, "--modelguard-save")
    assert first.ret == pytest.ExitCode.OK
    stored = sorted((project.path / ".modelguard" / "runs").glob("*.json"))
    assert len(stored) == 1
    first.stdout.fnmatch_lines([f"run saved to .modelguard/runs/{stored[0].name}*"])

    (project.path / "mode.txt").write_text("worse")
    second = live(project, "--modelguard-compare", "last", "--modelguard-json=r.json",
                  "--modelguard-markdown=r.md", "--modelguard-html=r.html")  # fmt: skip
    assert second.ret == pytest.ExitCode.TESTS_FAILED  # the gate passes; drift fails it
    second.stdout.fnmatch_lines([
        f"drift against .modelguard/runs/{stored[0].name} (95% family-wise, Holm):",
        "  python:answers:drifting  degraded  1.000 → 0.650  -0.350 *",
        f"    {CASES} cases paired, 14 answers changed*",
        "  python:answers:stable    steady    1.000 → 1.000  +0.000 *",
        "modelguard gate FAILED: python:answers:drifting (drift: degraded)",
    ])  # fmt: skip
    doc = json.loads((project.path / "r.json").read_text())
    assert doc["verdict"] == "fail"
    assert doc["models"]["python:answers:stable"]["verdict"] == "pass"
    drift = doc["drift"]
    assert drift["degraded"] == ["python:answers:drifting"]
    # one source of truth: the drift of the two JSON documents is the drift reported
    recomputed = compare_runs(
        load_run(project.path / "r.json").results, load_run(stored[0]).results,
        against=drift["against"], saved_at=drift["saved_at"], seed=7,
    )  # fmt: skip
    assert drift == json.loads(json.dumps(recomputed.to_dict()))
    markdown = (project.path / "r.md").read_text()
    assert "`python:answers:drifting` (drift: degraded)" in markdown
    assert "| 📉 | `python:answers:drifting` | 40 | 1.000 → 0.650 |" in markdown
    page = (project.path / "r.html").read_text()
    delta = drift["models"]["python:answers:drifting"]["delta"]
    assert "<h2>Drift</h2>" in page
    assert f"{delta['mean']:+.3f} [{delta['ci_low']:+.3f}, {delta['ci_high']:+.3f}]" in page


def test_compare_with_a_named_report_and_a_steady_model(project: pytest.Pytester) -> None:
    assert live(project, "--modelguard-json=before.json").ret == pytest.ExitCode.OK
    again = live(project, "--modelguard-compare", "before.json", "--modelguard-json=after.json")
    assert again.ret == pytest.ExitCode.OK
    again.stdout.fnmatch_lines(
        ["drift against before.json (95% family-wise, Holm):", "  python:answers:* steady *"]
    )
    drift = json.loads((project.path / "after.json").read_text())["drift"]
    assert {m["status"] for m in drift["models"].values()} == {"steady"}
    assert not (project.path / ".modelguard" / "runs").exists()  # nothing saved unasked


def test_compare_without_a_stored_run_is_a_usage_error(project: pytest.Pytester) -> None:
    result = live(project, "--modelguard-compare", "last")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--modelguard-compare last: no stored run in *runs*"])
    assert "Traceback" not in result.stderr.str() + result.stdout.str()
    broken = project.path / "broken.json"
    broken.write_text("{")
    result = live(project, "--modelguard-compare", "broken.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*broken.json:1: not a modelguard JSON report*"])


def test_a_replayed_run_says_only_grading_could_move(project: pytest.Pytester) -> None:
    assert live(project, "--modelguard-save").ret == pytest.ExitCode.OK
    replayed = project.runpytest("-p", "no:cacheprovider", "--modelguard-compare", "last")
    assert replayed.ret == pytest.ExitCode.OK
    replayed.stdout.fnmatch_lines(["  every answer was replayed from the cache, so only grading*"])


def test_under_xdist_the_controller_compares_and_saves_once(project: pytest.Pytester) -> None:
    assert live(project, "--modelguard-save").ret == pytest.ExitCode.OK
    (project.path / "mode.txt").write_text("worse")
    result = project.runpytest_subprocess(
        "-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:anyio", "-n", "2",
        "--modelguard-record", "all", "--modelguard-save", "--modelguard-compare", "last",
        "--modelguard-json=r.json",
    )  # fmt: skip
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert json.loads((project.path / "r.json").read_text())["drift"]["degraded"] == [
        "python:answers:drifting"
    ]
    # a degraded run does not become the next reference
    result.stdout.fnmatch_lines(["run not saved: a model degraded, so the stored run stays*"])
    assert len(list((project.path / ".modelguard" / "runs").glob("*.json"))) == 1


def test_an_interrupted_run_is_not_kept_as_a_reference(project: pytest.Pytester) -> None:
    project.makepyfile(test_stop="def test_stop():\n    raise KeyboardInterrupt\n")
    result = project.runpytest_subprocess(
        "-p", "no:cacheprovider", "--modelguard-record", "all", "--modelguard-save"
    )
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert not (project.path / ".modelguard" / "runs").exists()


def test_same_models_twice_drift_falsely_at_most_the_family_wise_rate() -> None:
    """1,000 pairs of runs of two unchanged models (each case its own difficulty, every answer
    drawn afresh): a run flags any model degraded in at most 2.5% (+3 sd) of them — Holm
    holds the one-sided level across both models."""
    reps, n = 1000, 60
    rng = np.random.default_rng(11)
    flagged = 0
    for rep in range(reps):
        runs = []
        for _ in range(2):
            results = []
            for model in ("a", "b"):
                p = np.random.default_rng(rep * 2 + (model == "b")).beta(2, 1, n)
                results += run(model, list((rng.random(n) < p).astype(float)))
            runs.append(results)
        drift = compare_runs(runs[1], runs[0], against="r.json", seed=rep)
        flagged += bool(drift.degraded)
    rate = flagged / reps
    print(f"\nA/A drift, 2 models, n={n}: a run flagged degraded {rate:.2%}")
    assert rate <= 0.025 + 3 * (0.025 * 0.975 / reps) ** 0.5


def test_a_run_stopped_by_maxfail_is_not_kept(project: pytest.Pytester) -> None:
    project.makepyfile(test_a_fail="def test_fail():\n    assert False\n")
    result = live(project, "-x", "--modelguard-save")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["run not saved: the run stopped early*"])
    assert not (project.path / ".modelguard" / "runs").exists()


def test_a_stored_score_out_of_range_is_a_usage_error(
    project: pytest.Pytester,
) -> None:
    case = {"suite": "drift", "id": "c00", "model": "python:answers:stable", "score": None}
    for bad in ("NaN", "2", '"1"', "true"):
        (project.path / "bad.json").write_text(
            '{"version": 1, "cases": [' + json.dumps(case).replace("null", bad) + "]}"
        )
        result = live(project, "--modelguard-compare", "bad.json")
        assert result.ret == pytest.ExitCode.USAGE_ERROR, bad
        result.stderr.fnmatch_lines(
            ["*bad.json: cases[[]0[]]: score * is not a number in [[]0, 1[]]"]
        )
        assert "Traceback" not in result.stderr.str()


def test_last_ignores_files_that_are_not_stored_runs(tmp_path: Path) -> None:
    doc = {"version": 1, "cases": []}
    saved = save_run(doc, tmp_path, now=datetime(2026, 1, 2, tzinfo=UTC))
    for other in ("reference.json", "index.json", ".tmp-123.json"):
        (runs_dir(tmp_path) / other).write_text("{}")
    assert find_run("last", tmp_path, cwd=tmp_path) == saved


def test_scores_then_and_now_are_over_the_paired_cases() -> None:
    then = run("m", [1.0] * N)
    now = run("m", [1.0] * N) + [
        ItemResult(suite="s", case_id=f"new{i}", model="m", score=0.0) for i in range(N)
    ]
    model = compare_runs(now, then, against="r.json").models["m"]
    assert (model.mean_then, model.mean_now, model.only_now) == (1.0, 1.0, N)
    assert model.delta is not None and model.delta.mean == model.mean_now - model.mean_then


def test_a_model_whose_every_answer_errored_is_reported_not_gone() -> None:
    then = run("m", [1.0] * N)
    now = [
        ItemResult(suite="s", case_id=f"c{i:03d}", model="m", error="HTTP 500") for i in range(N)
    ]
    drift = compare_runs(now, then, against="r.json")
    assert drift.models_gone == ()
    model = drift.models["m"]
    assert (model.status, model.errors_now, model.only_then) == ("unpaired", N, N)
    assert drift.nothing_paired and not drift.replayed_only
    assert any("errors now" in line for line in drift_lines(drift))
    assert any("no case of this run is in the stored run" in line for line in drift_lines(drift))
