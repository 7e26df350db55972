"""The gate as a pure function: verdict rules of SPEC §8 on constructed results."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from pytest_modelguard.config import Budgets
from pytest_modelguard.records.results import ItemResult
from pytest_modelguard.verdict.gate import GateConfig, _by_tag, _percentile, evaluate
from pytest_modelguard.verdict.pairing import Scored, common_checks, paired_results, paired_scored

BASE = "base"


def results(
    model: str,
    scores: list[float],
    *,
    cost: float | None = 0.001,
    tokens: int = 100,
    errors: int = 0,
    tags: tuple[str, ...] = (),
    latency: float = 0.5,
) -> list[ItemResult]:
    out = [
        ItemResult(
            suite="s",
            case_id=f"c{i}",
            model=model,
            tags=tags,
            score=s,
            passed=True,
            cost_usd=cost,
            input_tokens=tokens,
            output_tokens=0,
            latency_s=latency,
        )
        for i, s in enumerate(scores)
    ]
    for i in range(len(scores) - errors, len(scores)):
        out[i] = ItemResult(suite="s", case_id=f"c{i}", model=model, error="HTTP 500")
    return out


def config(*candidates: str, **kwargs: object) -> GateConfig:
    return GateConfig(baseline=BASE, candidates=candidates, resamples=2000, **kwargs)  # type: ignore[arg-type]


def binary(n: int, accuracy: float, seed: int) -> list[float]:
    rng = np.random.default_rng(seed)
    return [float(x) for x in rng.random(n) < accuracy]


def test_equal_models_pass_and_baseline_is_labelled() -> None:
    scores = binary(200, 0.8, 1)
    report = evaluate(results(BASE, scores) + results("cand", scores), config("cand"))
    assert report.verdict == "pass"
    assert report.models[BASE].verdict == "baseline"
    cand = report.models["cand"]
    assert cand.verdict == "pass" and cand.delta is not None
    assert cand.delta.mean == 0 and cand.delta.n_pairs == 200


def test_clear_drop_is_a_regression_with_reason() -> None:
    report = evaluate(
        results(BASE, [1.0] * 100) + results("cand", [1.0] * 60 + [0.0] * 40), config("cand")
    )
    cand = report.models["cand"]
    assert cand.verdict == "regression" and report.failed
    assert cand.delta is not None and cand.delta.ci_high < 0
    assert "quality dropped" in cand.reasons[0]


def test_non_inferiority_needs_the_lower_end_above_minus_margin() -> None:
    base = binary(400, 0.9, 2)
    cand = base[:380] + [0.0] * 20  # a small drop the regression gate may tolerate
    loose = evaluate(
        results(BASE, base) + results("cand", cand),
        config("cand", gate="non-inferiority", margin=0.2),
    )
    strict = evaluate(
        results(BASE, base) + results("cand", cand),
        config("cand", gate="non-inferiority", margin=0.01),
    )
    assert loose.models["cand"].verdict == "pass"
    assert strict.models["cand"].verdict == "not-non-inferior"
    assert "does not clear -margin -0.010" in strict.models["cand"].reasons[0]


def test_more_than_five_percent_errors_is_an_error_verdict() -> None:
    scores = [1.0] * 100
    report = evaluate(results(BASE, scores) + results("cand", scores, errors=6), config("cand"))
    cand = report.models["cand"]
    assert cand.verdict == "error" and cand.errors == 6 and cand.n == 94
    assert cand.delta is not None and cand.delta.n_pairs == 94  # errored pairs are left out
    ok = evaluate(results(BASE, scores) + results("cand", scores, errors=5), config("cand"))
    assert ok.models["cand"].verdict == "pass"


def test_budgets_name_the_budget_the_figure_and_the_limit() -> None:
    scores = [1.0] * 50
    budgets = {
        "cand": Budgets(
            max_cost_per_case_usd=0.0005,
            max_tokens_per_case=150,
            max_latency_p95_s=1.0,
            max_cost_usd=1.0,
        )
    }
    report = evaluate(
        results(BASE, scores) + results("cand", scores, cost=0.001, tokens=200, latency=2.0),
        config("cand", budgets=budgets),
    )
    cand = report.models["cand"]
    assert cand.verdict == "budget" and report.failed
    text = " | ".join(cand.reasons)
    assert "max_cost_per_case_usd: $0.001000 > limit $0.000500" in text
    assert "max_tokens_per_case: 50 answers over 150 tokens (largest 200)" in text
    assert "max_latency_p95_s: 2.00s > limit 1.00s" in text
    assert "max_cost_usd" not in text


def test_unknown_price_is_unknown_never_zero() -> None:
    scores = [1.0] * 20
    budgets = {"cand": Budgets(max_cost_usd=1.0)}
    report = evaluate(
        results(BASE, scores) + results("cand", scores, cost=None), config("cand", budgets=budgets)
    )
    cand = report.models["cand"]
    assert cand.cost_usd is None and cand.cost_per_case_usd is None
    assert any("cost unknown" in r for r in cand.reasons)


def test_several_candidates_hold_the_family_wise_level_with_holm() -> None:
    """Neither candidate differs: Holm tests the first at 97.5%, and where it stops, the rest
    get that step's level too; p-values are Holm-adjusted."""
    base = binary(300, 0.8, 3)
    one = evaluate(results(BASE, base) + results("a", binary(300, 0.8, 4)), config("a"))
    two = evaluate(
        results(BASE, base) + results("a", binary(300, 0.8, 4)) + results("b", base),
        config("a", "b"),
    )
    a1, a2 = one.models["a"].delta, two.models["a"].delta
    assert a1 is not None and a2 is not None
    assert a1.confidence == pytest.approx(0.95) and a2.confidence == pytest.approx(0.975)
    assert a2.ci_high - a2.ci_low > a1.ci_high - a1.ci_low
    assert two.models["a"].p_adjusted is not None and two.models["a"].p_adjusted >= a2.p_value
    assert any("Holm" in note and "5%" in note for note in two.notes)


def test_holm_rejects_in_steps_and_each_ci_agrees_with_its_verdict() -> None:
    """A clear regression is tested at 97.5%; the next candidate then at 95%, not 97.5%."""
    base = [1.0] * 200
    clear = [1.0] * 150 + [0.0] * 50
    slight = [1.0] * 190 + [0.0] * 10  # 10 worse of 200: p about 0.002 alone
    report = evaluate(
        results(BASE, base) + results("clear", clear) + results("slight", slight),
        config("clear", "slight"),
    )
    first, second = report.models["clear"].delta, report.models["slight"].delta
    assert first is not None and second is not None
    assert first.confidence == pytest.approx(0.975) and second.confidence == pytest.approx(0.95)
    for summary in (report.models["clear"], report.models["slight"]):
        assert summary.verdict == "regression"
        assert summary.delta is not None and summary.delta.ci_high < 0


def test_a_run_not_gated_reports_but_never_passes() -> None:
    why = "--lf reran 1 of 100 items"
    report = evaluate(
        results(BASE, [1.0] * 50) + results("cand", [0.0] * 50), config("cand", not_gated=why)
    )
    assert report.models["cand"].verdict == "regression"
    assert report.verdict == "not-gated" and not report.failed and report.not_gated == why
    assert any(why in note for note in report.notes)


def test_no_pairs_is_an_error_not_a_pass() -> None:
    report = evaluate(
        results(BASE, [1.0] * 5) + results("cand", [1.0] * 5, errors=5), config("cand")
    )
    assert report.models["cand"].verdict == "error"


def test_tags_get_their_own_paired_delta() -> None:
    rows = results(BASE, [1.0] * 40, tags=("x",)) + results("cand", [1.0] * 40, tags=("x",))
    report = evaluate(rows, config("cand"))
    tag = report.tags["x"]["cand"]
    assert tag.n == 40 and tag.mean_score == 1.0 and tag.delta is not None and tag.delta.mean == 0
    assert tag.latency_p50_s == 0.5 and tag.latency_p95_s == 0.5 and tag.input_tokens == 4000
    assert tag.cost_per_case_usd == pytest.approx(0.001)


def test_cost_vs_baseline_is_a_fraction_of_the_baseline_cost() -> None:
    rows = results(BASE, [1.0] * 10, cost=0.002) + results("cand", [1.0] * 10, cost=0.0005)
    assert evaluate(rows, config("cand")).models["cand"].cost_vs_baseline == pytest.approx(0.25)


def test_token_outliers_are_listed_largest_first() -> None:
    rows = results(BASE, [1.0] * 20) + results("cand", [1.0] * 20)
    rows[-1] = ItemResult(
        suite="s",
        case_id="c19",
        model="cand",
        score=1.0,
        passed=True,
        cost_usd=0.001,
        input_tokens=900,
        output_tokens=100,
        latency_s=0.5,
    )
    summary = evaluate(rows, config("cand")).models["cand"]
    assert [(o.case_id, o.tokens, o.times_median) for o in summary.token_outliers] == [
        ("c19", 1000, 10.0)
    ]
    assert evaluate(rows, config("cand")).models[BASE].token_outliers == ()


def test_repeat_agreement_is_reported_when_cases_repeat() -> None:
    rows = results(BASE, [1.0] * 10)
    rows += [
        ItemResult(
            suite="s",
            case_id=f"c{i}",
            model="cand",
            repeat=r,
            score=float(r == 0 or i < 5),
            passed=True,
            cost_usd=0.001,
        )
        for i in range(10)
        for r in range(2)
    ]
    summary = evaluate(rows, config("cand")).models["cand"]
    assert summary.repeat_agreement == pytest.approx(0.5)
    assert evaluate(rows, config("cand")).models[BASE].repeat_agreement is None


def test_dimension_means_per_model() -> None:
    from pytest_modelguard.records.grades import Grade

    def graded(i: int) -> ItemResult:
        grades = (
            Grade("a", float(i % 2), i % 2 == 1, dimension="correctness"),
            Grade("b", 1.0, True, dimension="format"),
            Grade("c", 0.0, False),
        )
        return ItemResult(
            suite="s",
            case_id=f"c{i}",
            model="cand",
            score=0.5,
            passed=True,
            grades=grades,
            cost_usd=0.0,
        )

    rows = results(BASE, [0.5] * 10) + [graded(i) for i in range(10)]
    summary = evaluate(rows, config("cand")).models["cand"]
    assert summary.dimensions == {"correctness": 0.5, "format": 1.0}


def test_only_the_checks_both_sides_graded_pair() -> None:
    """A check one side alone ran (a Python test whose baseline run errored, say) is left
    out rather than averaged against the other side's remaining checks."""

    def checks(model: str, scores: list[float], suite: str = "s") -> list[ItemResult]:
        return [replace(r, suite=suite, unit=r.case_id) for r in results(model, scores)]

    suite_base, suite_cand = checks(BASE, [1.0] * 3), checks("cand", [0.0] * 3)
    extra = checks("cand", [1.0] * 3, "s::test_x")
    base, cand = common_checks(suite_base, suite_cand + extra)
    assert {r.suite for r in base + cand} == {"s"} and len(base) == len(cand) == 3
    assert paired_results(suite_base, suite_cand + extra) == ([[1.0]] * 3, [[0.0]] * 3)
    both = checks(BASE, [1.0] * 3, "s::test_x")
    assert paired_results(suite_base + both, suite_cand + extra) == ([[1.0]] * 3, [[0.5]] * 3)


@pytest.mark.parametrize("seed", range(10))
def test_scored_sides_pair_as_their_results_do(seed: int) -> None:
    """The gate pairs each side's case scores, worked out once (``Scored``): the same pairs
    as from the results, whether both sides graded the same checks or not."""
    rng = np.random.default_rng(seed)

    def side(model: str, suites: list[str]) -> list[ItemResult]:
        rows = [
            replace(r, suite=suite, unit=r.case_id, repeat=int(rng.integers(0, 2)))
            for suite in suites
            for r in results(model, list(rng.random(8).round(2)), errors=int(rng.integers(0, 3)))
        ]
        return [rows[i] for i in rng.permutation(len(rows))]

    same = side(BASE, ["s", "t"]), side("cand", ["s", "t"])
    other = side(BASE, ["s"]), side("cand", ["s", "t"])
    for base, cand in (same, other):
        assert paired_scored(Scored(base), Scored(cand)) == paired_results(base, cand)


@pytest.mark.parametrize("seed", range(20))
def test_latency_percentiles_are_numpy_s_to_the_bit(seed: int) -> None:
    """The p50/p95 the gate reports are numpy's linear percentiles (computed without numpy)."""
    rng = np.random.default_rng(seed)
    for size in (1, 2, 3, 10, 101, 1000):
        values = [*rng.exponential(2.0, size)]
        values[::3] = [float(v) for v in rng.integers(0, 5, len(values[::3]))]  # ties
        for q in (0, 33.3, 50, 95, 99.9, 100):
            assert _percentile(values, q) == float(np.percentile(values, q))


def test_each_tag_gets_its_results_once_and_in_order() -> None:
    """The tag summaries group the run in one pass: as filtering it once per tag would."""
    run = [
        ItemResult(suite="s", case_id=f"c{i}", model="m", tags=tags, score=1.0)
        for i, tags in enumerate([("a",), ("b", "a"), (), ("a", "a"), ("c",), ("b",)])
    ]
    grouped = _by_tag(run)
    for tag in ("a", "b", "c"):
        assert grouped[tag] == [r for r in run if tag in r.tags]
    assert set(grouped) == {"a", "b", "c"}
