"""The verdicts above `compare` never crash either (issue 24, item 1).

Seeded random runs built as the plugin builds them (ItemResults per model, case and
repeat; 0/1, ragged repeats, rubric {0, 1/2, 1}, judge scores, float noise, constant
suites; n = 1 to 400; one or several candidates; tags; errors on some items) go
through the gate, drift against a stored run, the accumulating drift detector, routing
and the sequential verdicts. Each returns a verdict whose p-values lie in [0, 1] and
whose bounds lie in [-1, 1], with no NaN reaching the JSON report, or raises a
ValueError (a ModelguardError is one) - never another exception.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pytest_modelguard.config import ModelSpec, ProviderSpec, Settings
from pytest_modelguard.engine.sequential import SequentialPlan
from pytest_modelguard.inference.compare import Comparison
from pytest_modelguard.inference.sequential import Look, SequentialTest
from pytest_modelguard.records.grades import Grade, JudgeRecord
from pytest_modelguard.records.results import ItemResult
from pytest_modelguard.report.json_report import build_json
from pytest_modelguard.verdict.drift import compare_runs
from pytest_modelguard.verdict.drift_detect import DriftDetector, DriftLook
from pytest_modelguard.verdict.drift_state import drift_report
from pytest_modelguard.verdict.gate import GateConfig, GateReport, evaluate
from pytest_modelguard.verdict.history import StoredRun
from pytest_modelguard.verdict.pairing import case_scores
from pytest_modelguard.verdict.router import Router
from pytest_modelguard.verdict.routing import build_routes
from pytest_modelguard.verdict.sequential_gate import SequentialOutcome, apply_sequential

BASE = "base"
SIZES = (1, 2, 3, 10, 400)
Cases = list[list[float]]  # per case, its repeats' scores


# --- scores, as graders give them ---------------------------------------------------------


def _repeats(rng: np.random.Generator, ragged: bool) -> int:
    return int(rng.integers(1, 4)) if ragged else 1


def zero_one(rng: np.random.Generator, n: int, acc: float, ragged: bool) -> Cases:
    return [list(map(float, rng.random(_repeats(rng, ragged)) < acc)) for _ in range(n)]


def rubric(rng: np.random.Generator, n: int, acc: float, ragged: bool) -> Cases:
    return [
        list(
            rng.choice(
                [0.0, 0.5, 1.0],
                _repeats(rng, ragged),
                p=[1 - acc, 0, acc] if acc in (0, 1) else None,
            )
        )
        for _ in range(n)
    ]


def judge(rng: np.random.Generator, n: int, acc: float, ragged: bool) -> Cases:
    return [list(np.round(rng.beta(1 + 8 * acc, 2, _repeats(rng, ragged)), 3)) for _ in range(n)]


def noise(rng: np.random.Generator, n: int, acc: float, ragged: bool) -> Cases:
    cases = zero_one(rng, n, acc, ragged)
    return [[1 - 1e-12 if s == 1 and rng.random() < 0.5 else s for s in case] for case in cases]


def partial(rng: np.random.Generator, n: int, acc: float, ragged: bool) -> Cases:
    cases = zero_one(rng, n, acc, ragged)
    cases[int(rng.integers(n))][0] = 0.5
    return cases


def constant(rng: np.random.Generator, n: int, acc: float, ragged: bool) -> Cases:
    value = float(rng.choice([0.0, 0.5, 1.0]))
    return [[value] * _repeats(rng, ragged) for _ in range(n)]


KINDS: dict[str, Callable[[np.random.Generator, int, float, bool], Cases]] = {
    f.__name__: f for f in (zero_one, rubric, judge, noise, partial, constant)
}


def model_results(
    rng: np.random.Generator,
    model: str,
    cases: Cases,
    tags: list[tuple[str, ...]],
    *,
    cost: float | None,
    error_share: float,
    labelled: float = 0.0,
) -> list[ItemResult]:
    """One model's ItemResults: one per repeat, some errored (no score), as the runner records;
    the score an llm_judge's grade on a dimension, and a share `labelled` by a person."""
    out = []
    for i, case in enumerate(cases):
        for repeat, score in enumerate(case):
            if rng.random() < error_share:
                out.append(
                    ItemResult(suite="s", case_id=f"c{i}", model=model, tags=tags[i],
                               repeat=repeat, error="HTTP 500")
                )  # fmt: skip
                continue
            out.append(
                ItemResult(
                    suite="s", case_id=f"c{i}", model=model, tags=tags[i], repeat=repeat,
                    score=float(score), passed=bool(score >= 1), cost_usd=cost,
                    input_tokens=int(rng.integers(0, 200)), output_tokens=10,
                    latency_s=float(rng.random()), cached=bool(rng.random() < 0.5),
                    output=f"answer {score}",
                    grades=(
                        Grade("llm_judge", float(score), bool(score >= 1), dimension="quality",
                              judge=JudgeRecord("judge", scale=5, draws=(float(score),))),
                    ),
                    human_label=(
                        float(rng.choice([0.0, 0.5, 1.0, float(score)]))
                        if rng.random() < labelled else None
                    ),
                )
            )  # fmt: skip
    return out


def random_run(rng: np.random.Generator, n: int, candidates: int) -> list[ItemResult]:
    """A baseline and `candidates` models on the same n cases, one kind of score each."""
    kind = KINDS[str(rng.choice(list(KINDS)))]
    ragged = bool(rng.random() < 0.4)
    acc = float(rng.choice([0.0, 0.5, 0.9, 0.98, 1.0]))
    tag_sets = [(), ("a",), ("b",), ("a", "b"), ("a", "b", "c")]
    tags = [tag_sets[int(rng.integers(len(tag_sets)))] for _ in range(n)]
    errors = float(rng.choice([0.0, 0.0, 0.02, 0.3]))
    labelled = float(rng.choice([0.0, 0.0, 0.3, 1.0]))
    results = model_results(
        rng, BASE, kind(rng, n, acc, ragged), tags, cost=0.001, error_share=errors,
        labelled=labelled,
    )  # fmt: skip
    for k in range(candidates):
        shifted = float(np.clip(acc + rng.choice([-0.1, 0.0, 0.0, 0.05]), 0, 1))
        cost = None if rng.random() < 0.1 else float(rng.choice([0.0001, 0.002]))
        results += model_results(
            rng, f"cand{k}", kind(rng, n, shifted, ragged), tags, cost=cost, error_share=errors,
            labelled=labelled,
        )  # fmt: skip
    return results


# --- what every verdict must satisfy ------------------------------------------------------


@contextmanager
def verdict_or_value_error() -> Iterator[None]:
    """A clear ValueError (every ModelguardError of bad input is one) is allowed; a
    TypeError, ZeroDivisionError, IndexError... is a crash."""
    try:
        yield
    except ValueError as error:
        assert str(error), "a ValueError without a message"


def unit(p: float | None) -> None:
    assert p is None or 0.0 <= p <= 1.0, p


def check_delta(delta: Comparison | None) -> None:
    if delta is None:
        return
    for p in (delta.p_value, delta.p_noninferior, delta.p_adjusted):
        unit(p)
    assert -1.0 <= delta.ci_low <= delta.ci_high <= 1.0, delta
    assert -1.0 <= delta.mean <= 1.0 and math.isfinite(delta.std_delta), delta
    assert 0.0 < delta.confidence < 1.0
    assert delta.verdict in ("pass", "regression", "not-non-inferior", "inconclusive"), delta


def no_nan(doc: Any) -> str:
    """The document as JSON, refusing NaN and infinities (a report would print them)."""
    return json.dumps(doc, allow_nan=False)


def check_doc(doc: Any, key: str = "") -> None:
    """Every p-value of a JSON document in [0, 1], every CI end in [-1, 1]."""
    if isinstance(doc, dict):
        for k, v in doc.items():
            check_doc(v, str(k))
    elif isinstance(doc, list):
        if key in ("ci", "judge_only_ci") and doc and all(isinstance(x, float) for x in doc):
            assert -1.0 <= doc[0] <= doc[-1] <= 1.0, (key, doc)
        for v in doc:
            check_doc(v, key)
    elif isinstance(doc, float) and (key.startswith("p_") or key in ("p", "p_value")):
        assert 0.0 <= doc <= 1.0, (key, doc)
    elif isinstance(doc, float) and key in ("ci_low", "ci_high"):
        assert -1.0 <= doc <= 1.0, (key, doc)


def check_report(report: GateReport) -> None:
    assert report.verdict in ("pass", "fail", "not-gated")
    for summary in report.models.values():
        assert summary.verdicts and summary.verdict == summary.verdicts[0]
        check_delta(summary.delta)
        check_delta(summary.judge_delta)
        unit(summary.p_adjusted)
        for delta in summary.dimension_deltas.values():
            check_delta(delta)
        for figure in (summary.mean_score, summary.pass_rate, summary.repeat_agreement):
            assert figure is None or 0.0 <= figure <= 1.0
        assert summary.cases_needed is None or summary.cases_needed >= 1
    for row in report.tags.values():
        for tag in row.values():
            check_delta(tag.delta)


def settings_for(config: GateConfig) -> Settings:
    openai = ProviderSpec("openai", "openai")
    return Settings(
        baseline=ModelSpec(BASE, openai, BASE),
        candidates=tuple(ModelSpec(c, openai, c) for c in config.candidates),
        gate=config.gate,
        margin=config.margin,
        confidence=config.confidence,
    )


def random_config(rng: np.random.Generator, candidates: int, **kwargs: Any) -> GateConfig:
    gate = str(rng.choice(["regression", "non-inferiority"]))
    margin = (
        float(rng.choice([0.02, 0.05, 0.1]))
        if gate == "non-inferiority"
        else float(rng.choice([0.0, 0.05]))
    )
    return GateConfig(
        baseline=BASE,
        candidates=tuple(f"cand{k}" for k in range(candidates)),
        gate=gate,  # type: ignore[arg-type]
        margin=margin,
        confidence=float(rng.choice([0.9, 0.95, 0.99])),
        seed=int(rng.integers(100)),
        gate_on=str(rng.choice(["judge", "judge", "human"])),
        **{"interval": str(rng.choice(["auto", "auto", "t", "score"])), **kwargs},
    )


def draws(seed: int, count: int) -> Iterator[tuple[np.random.Generator, int, int]]:
    """(rng, n, candidates): every size of SIZES with one and several candidates, then
    random sizes."""
    rng = np.random.default_rng(seed)
    fixed = [(n, k) for n in SIZES for k in (1, 3)]
    for i in range(count):
        n, k = fixed[i] if i < len(fixed) else (int(rng.integers(1, 40)), int(rng.integers(1, 4)))
        yield rng, n, k


# --- the gate, its JSON report and the routes ---------------------------------------------


def test_the_gate_report_and_routes_on_random_runs() -> None:
    for rng, n, k in draws(24, 100):
        results = random_run(rng, n, k)
        config = random_config(rng, k)
        with verdict_or_value_error():
            report = evaluate(results, config)
            check_report(report)
            doc = json.loads(no_nan(build_json(report, results, settings_for(config))))
            check_doc(doc)
            routes = build_routes(doc)
            no_nan(routes)
            router = Router(routes)
            for tags in ((), ("a",), ("a", "b"), ("a", "b", "c"), ("zzz",)):
                assert router.model_for(tags) in {BASE, *config.candidates}


def test_the_bca_gate_on_random_runs() -> None:
    for rng, n, k in draws(25, 12):
        results = random_run(rng, n, k)
        with verdict_or_value_error():
            check_report(evaluate(results, random_config(rng, k, interval="bca", resamples=200)))


def test_the_issues_graded_repro_through_the_gate() -> None:
    """The floored t's p of -2.2e-16 made the gate raise on this equal graded suite."""
    base = [ItemResult(suite="s", case_id=f"c{i}", model=BASE, score=0.5) for i in range(200)]
    cand = [
        ItemResult(suite="s", case_id=f"c{i}", model="c", score=(0.62, 0.64)[i % 2])
        for i in range(200)
    ]
    for interval in ("t", "auto"):
        config = GateConfig(BASE, ("c",), gate="non-inferiority", margin=0.1, interval=interval)  # type: ignore[arg-type]
        check_report(evaluate(base + cand, config))


def test_routes_and_intersection_vetoes_on_random_tagged_runs() -> None:
    """Cheap candidates near the baseline on tags a and b, some worse where a and b meet:
    routes are earned and vetoed on random graded scores, every figure in range."""
    rng = np.random.default_rng(8)
    earned = vetoed = 0
    for _ in range(20):
        kind = KINDS[str(rng.choice(["zero_one", "rubric", "judge", "noise", "partial"]))]
        ragged, sizes = bool(rng.random() < 0.4), [*rng.integers(60, 120, 2), rng.integers(1, 16)]
        tags = [("a",)] * sizes[0] + [("b",)] * sizes[1] + [("a", "b")] * sizes[2]
        cut = int(sizes[0] + sizes[1])
        results = model_results(rng, BASE, kind(rng, len(tags), 1.0, ragged), tags,
                                cost=0.002, error_share=0.0)  # fmt: skip
        for k in range(2):
            cases = kind(rng, len(tags), 1.0, ragged)
            cases[cut:] = kind(rng, len(tags) - cut, float(rng.choice([1.0, 0.5, 0.0])), ragged)
            results += model_results(rng, f"cand{k}", cases, tags, cost=0.0005 * (k + 1),
                                     error_share=0.0)  # fmt: skip
        config = GateConfig(BASE, ("cand0", "cand1"), gate="non-inferiority", margin=0.3,
                            confidence=float(rng.choice([0.9, 0.95])))  # fmt: skip
        with verdict_or_value_error():
            report = evaluate(results, config)
            check_report(report)
            doc = json.loads(no_nan(build_json(report, results, settings_for(config))))
            table = build_routes(doc)
            check_doc(json.loads(no_nan(table)))
            earned += any(route["earned"] for route in table["routes"].values())
            vetoed += bool(table["intersections"])
            router = Router(table)
            for request in (["a"], ["b"], ["a", "b"], ["b", "a", "z"]):
                assert router.model_for(request) in {BASE, "cand0", "cand1"}
    assert earned and vetoed  # both paths were taken


JUNK: tuple[object, ...] = (None, "x", 5, True, math.nan, [], {}, ["a"], {"x": 1})


def test_a_router_reads_any_edited_table_or_says_what_is_wrong() -> None:
    """A routes file is the user's to edit: any node replaced by junk gives a route or a
    ValueError naming what is wrong (a cost of None, a list for a mapping... crashed)."""
    rng = np.random.default_rng(9)
    results = tagged_run(rng)
    config = GateConfig(BASE, ("cand0", "cand1"), gate="non-inferiority", margin=0.1)
    doc = json.loads(no_nan(build_json(evaluate(results, config), results, settings_for(config))))
    table = build_routes(doc)
    assert any(route["earned"] for route in table["routes"].values())
    for _ in range(25):
        edited = json.loads(json.dumps(table))
        node, path = edited, []
        while isinstance(node, (dict, list)) and node and rng.random() < 0.75:
            key = (
                list(node)[int(rng.integers(len(node)))]
                if isinstance(node, dict)
                else int(rng.integers(len(node)))
            )
            path.append((node, key))
            node = node[key]
        if not path:
            continue
        parent, key = path[-1]
        parent[key] = JUNK[int(rng.integers(len(JUNK)))]
        with verdict_or_value_error():
            assert Router(edited).model_for(["a", "b"]) in {BASE, "cand0", "cand1"} | set(
                map(str, JUNK)
            )


def tagged_run(rng: np.random.Generator) -> list[ItemResult]:
    """Cheaper candidates as good as the baseline on tags a and b: they earn routes."""
    tags = [("a",), ("b",), ("a", "b")] * 40
    out = []
    for name, cost in ((BASE, 0.002), ("cand0", 0.0005), ("cand1", 0.001)):
        cases = [[1.0] for _ in tags]
        out += model_results(rng, name, cases, tags, cost=cost, error_share=0.0)
    return out


# --- drift --------------------------------------------------------------------------------


def test_drift_against_a_stored_run_on_random_runs() -> None:
    for rng, n, k in draws(17, 80):
        then, now = random_run(rng, n, k), random_run(rng, n, k)
        if rng.random() < 0.2:  # some cases only in one run
            now = [r for r in now if r.case_id != "c0"]
        with verdict_or_value_error():
            report = compare_runs(
                now, then, against="runs/x.json",
                confidence=float(rng.choice([0.9, 0.95])),
                method=str(rng.choice(["auto", "t"])),  # type: ignore[arg-type]
            )  # fmt: skip
            for drift in report.models.values():
                check_delta(drift.delta)
                unit(drift.p_adjusted)
                assert drift.status in (
                    "degraded",
                    "improved",
                    "steady",
                    "too-few-cases",
                    "unpaired",
                )
            check_doc(json.loads(no_nan(report.to_dict())))


def test_accumulated_drift_as_the_plugin_runs_it(tmp_path: Path) -> None:
    """`drift = "accumulate"`: random nights (errors, ragged repeats, graded scores) against
    one stored reference, the state saved and read back each night."""
    for index, (rng, n, k) in enumerate(draws(29, 12)):
        then = tuple(random_run(rng, n, k))
        config = random_config(rng, k)
        settings = replace(
            settings_for(config), drift="accumulate", cache_dir=tmp_path / str(index)
        )
        path = tmp_path / str(index) / "runs" / "20261201T000000Z.json"
        stored = StoredRun(path, "2026-12-01T00:00:00Z", then)
        for _ in range(3):
            with verdict_or_value_error():
                report = drift_report(random_run(rng, n, k), stored, settings)
                assert report.accumulated
                for drift in report.models.values():
                    check_delta(drift.delta)
                    assert drift.visible_drop is None or 0 < drift.visible_drop <= 1
                check_doc(json.loads(no_nan(report.to_dict())))


def check_look(look: DriftLook) -> None:
    assert look.status in ("degraded", "improved", "steady")
    assert -1.0 <= look.ci_low <= look.ci_high <= 1.0, look
    assert -1.0 <= look.mean <= 1.0, look
    assert look.visible_drop is None or 0.0 < look.visible_drop <= 1.0, look
    assert all(0.0 <= e <= 1.0 for e in look.reference_error), look
    no_nan(look.to_dict())


def test_the_accumulating_detector_on_random_nights() -> None:
    rng = np.random.default_rng(5)
    for draw in range(60):
        n = SIZES[draw % len(SIZES)] if draw < 15 else int(rng.integers(1, 60))
        kind = KINDS[str(rng.choice(list(KINDS)))]
        acc = float(rng.choice([0.0, 0.5, 0.9, 1.0]))
        ragged = bool(rng.random() < 0.4)
        with verdict_or_value_error():
            detector = DriftDetector(kind(rng, n, acc, ragged), float(rng.choice([0.9, 0.95])))
            check_look(detector.look)
            for _ in range(int(rng.integers(1, 6))):
                night_acc = float(np.clip(acc + rng.choice([-0.35, -0.1, 0.0, 0.1]), 0, 1))
                check_look(detector.add_night(kind(rng, n, night_acc, ragged)))
            state = json.loads(no_nan(detector.to_state()))
            again = DriftDetector.from_state(state)
            check_look(again.add_night(kind(rng, n, acc, ragged)))


# --- sequential ---------------------------------------------------------------------------


def check_sequential_look(look: Look) -> None:
    assert look.verdict in (None, "pass", "regression", "not-non-inferior")
    assert -1.0 <= look.ci_low <= look.ci_high <= 1.0, look
    assert -1.0 <= look.mean <= 1.0 and 0.0 < look.confidence < 1.0, look
    no_nan(look.to_dict())


def test_sequential_tests_on_random_batches() -> None:
    rng = np.random.default_rng(11)
    for draw in range(120):
        n = SIZES[draw % len(SIZES)] if draw < 20 else int(rng.integers(1, 80))
        kind = KINDS[str(rng.choice(list(KINDS)))]
        gate = str(rng.choice(["regression", "non-inferiority"]))
        margin = float(rng.choice([0.02, 0.1])) if gate == "non-inferiority" else 0.0
        final = str(rng.choice(["cs", "fixed-n"]))
        with verdict_or_value_error():
            test = SequentialTest(
                gate, margin, float(rng.choice([0.9, 0.95])),  # type: ignore[arg-type]
                n_total=n, candidates=int(rng.integers(1, 4)),
                population=str(rng.choice(["cases", "suite"])),  # type: ignore[arg-type]
                final=final,  # type: ignore[arg-type]
            )  # fmt: skip
            acc, ragged = float(rng.choice([0.0, 0.9, 1.0])), bool(rng.random() < 0.4)
            base, cand = kind(rng, n, acc, ragged), kind(rng, n, acc, ragged)
            at = 0
            while not test.look.settled and at < n:
                step = int(rng.integers(1, max(2, n // 3)))
                check_sequential_look(test.update(base[at : at + step], cand[at : at + step]))
                at += step
            if final == "cs":
                resumed = SequentialTest(
                    test.gate, margin, test.confidence, n_total=n, candidates=test.candidates
                )
                check_sequential_look(resumed.resume(json.loads(no_nan(test.to_state()))))


@pytest.mark.parametrize(("gate", "margin", "verdict"), [
    ("non-inferiority", 0.1, "not-non-inferior"), ("regression", 0.0, "pass"),
])  # fmt: skip
def test_a_fixed_n_end_on_too_few_cases_is_the_gates_default(
    gate: str, margin: float, verdict: str
) -> None:
    """It said "inconclusive", which the sequential gate read as a non-inferiority pass."""
    test = SequentialTest(gate, margin, n_total=3, final="fixed-n")  # type: ignore[arg-type]
    look = test.update([1.0, 0.5, 1.0], [1.0, 0.5, 1.0])
    assert (look.verdict, look.decided_by) == (verdict, "end")
    assert "fewer than the" in look.reason


@pytest.mark.parametrize(
    "options",
    [{"n_total": 0}, {"n_total": -1}, {"n_total": 2.5}, {"n_total": math.nan},
     {"candidates": 2.5}, {"candidates": True}, {"confidence": math.nan}],
)  # fmt: skip
def test_a_sequence_of_no_cases_or_a_fraction_of_one_is_refused(options: dict[str, Any]) -> None:
    """n_total 0 settled "pass" on no case at all; NaN reached the Look's n_total."""
    with pytest.raises(ValueError, match="must be"):
        SequentialTest(**options)


def test_the_sequential_gate_reads_any_look_open_or_settled() -> None:
    """Each candidate's Look straight from its SequentialTest, after any number of cases:
    an open non-inferiority sequence (nothing ruled out) passed the gate."""
    for rng, n, k in draws(13, 40):
        results = random_run(rng, n, k)
        config = random_config(rng, k)
        base = case_scores([r for r in results if r.model == BASE])
        outcomes = {}
        for name in config.candidates:
            mine = case_scores([r for r in results if r.model == name])
            both = [c for c in sorted(base) if c in mine][: int(rng.integers(0, n + 1))]
            test = SequentialTest(config.gate, config.margin, config.confidence, candidates=k)
            if both:
                test.update([base[c] for c in both], [mine[c] for c in both])
            outcomes[name] = SequentialOutcome(name, test.look, len(both), n, None, 0, None, 10)
        report = apply_sequential(evaluate(results, config), outcomes, results, config)
        check_report(report)
        for name, outcome in outcomes.items():
            row, look = report.models[name], outcome.look
            if config.gate == "non-inferiority" and look is not None and look.verdict != "pass":
                assert "not-non-inferior" in row.verdicts and report.failed, (look, row)


def test_sequential_gate_on_random_runs() -> None:
    """The plan as the plugin drives it, then the gate with the sequences' verdicts."""
    for rng, n, k in draws(3, 40):
        results = random_run(rng, n, k)
        config = random_config(rng, k)
        units = sorted({r.pair_key for r in results})
        by_model = {
            m: case_scores([r for r in results if r.model == m]) for m in (BASE, *config.candidates)
        }
        with verdict_or_value_error():
            plan = SequentialPlan(
                units, BASE, list(config.candidates), seed=1, batch=int(rng.integers(1, 50)),
                gate=config.gate, margin=config.margin, confidence=config.confidence,
            )  # fmt: skip
            while (batch := plan.next_batch()) is not None:
                cases, models = batch  # the baseline, then the candidates still open
                scores = {m: {u: by_model[m][u] for u in cases if u in by_model[m]} for m in models}
                plan.record(cases, scores)
            report = apply_sequential(
                evaluate(results, config), plan.outcomes({}, {}), results, config
            )
            check_report(report)
            check_doc(json.loads(no_nan(build_json(report, results, settings_for(config)))))


# --- end to end: a graded suite selected down to one case ---------------------------------


def test_one_graded_case_selected_by_k_ends_with_a_verdict(pytester: pytest.Pytester) -> None:
    """The issue's repro: `pytest -k <one case id>` on a suite with fractional scores."""
    pytester.makepyfile(
        answers="""
        def baseline(request):
            return "the cat sat on the mat"

        def candidate(request):
            return "the cat sat on a mat today"
        """
    )
    pytester.makefile(
        ".toml",
        pyproject=(
            '[tool.modelguard]\nbaseline = "python:answers:baseline"\n'
            'models = ["python:answers:candidate"]\ngate = "non-inferiority"\nmargin = 0.1\n'
        ),
    )
    pytester.makefile(".ini", pytest="[pytest]\npythonpath = .\n")
    cases = "".join(
        f"  - {{id: q{i}, prompt: 'say {i}', expected: the cat sat on the mat}}\n" for i in range(8)
    )
    pytester.makefile(
        ".modelguard.yaml",
        graded=f"suite: graded\ndefaults:\n  graders:\n    - similarity: {{}}\ncases:\n{cases}",
    )
    result = pytester.runpytest("-k", "q3", "-p", "no:cacheprovider", "--modelguard-record", "all")
    out = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in out and "INTERNALERROR" not in out, out
    assert result.ret == 1, out  # too few cases fail the non-inferiority gate
    assert "too few cases for a verdict on quality: 1 pairs" in out, out
    assert "modelguard gate FAILED: python:answers:candidate (inconclusive)" in out, out
