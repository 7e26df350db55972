"""Unit tests of inference.compare: the audit's cases, references, duality, planning."""

from __future__ import annotations

import json
import math
from itertools import pairwise, product

import numpy as np
import pytest
from scipy import special
from scipy import stats as sps

from pytest_modelguard.inference import _compare_cluster, _compare_score, _compare_t, stats
from pytest_modelguard.inference.compare import (
    Comparison,
    cases_needed,
    compare,
    compare_family,
    holm,
)

Z95 = sps.norm.ppf(0.975)


def binary(better: int, worse: int, n: int) -> tuple[list[float], list[float]]:
    """Baseline and candidate 0/1 scores with `better` cases won and `worse` lost."""
    base = [0.0] * better + [1.0] * worse + [1.0] * (n - better - worse)
    cand = [1.0] * better + [0.0] * worse + [1.0] * (n - better - worse)
    return base, cand


def continuous(n: int, seed: int, shift: float = 0.0, sd: float = 0.25) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    base = rng.beta(2, 2, n)
    return base, np.clip(base + shift + rng.normal(0, sd, n), 0, 1)


def tango_t(b: int, c: int, n: int, delta: float) -> float:
    """Tango's statistic written out independently of the module (for the brute force)."""
    aa, bb, cc = 2 * n, -b - c + (2 * n - b + c) * delta, -c * delta * (1 - delta)
    p21 = (np.sqrt(np.maximum(bb * bb - 4 * aa * cc, 0)) - bb) / (2 * aa)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (b - c - n * delta) / np.sqrt(n * (2 * p21 + delta * (1 - delta)))


# --- the audit's cases --------------------------------------------------------------------


def test_thirty_ties_do_not_pass_non_inferiority_and_get_the_score_width() -> None:
    """30 identical 0/1 answers: CI ±z²/(n+z²) ≈ ±0.113, not [0, 0]; NI at 0.02 fails."""
    result = compare([1.0] * 30, [1.0] * 30, gate="non-inferiority", margin=0.02)
    half = Z95**2 / (30 + Z95**2)
    assert result.verdict == "not-non-inferior"
    assert result.ci_low == pytest.approx(-half, abs=1e-12)
    assert result.ci_high == pytest.approx(half, abs=1e-12)
    assert half == pytest.approx(0.1135, abs=1e-4)
    assert result.evidence == "inconclusive" and result.mean == 0.0


@pytest.mark.parametrize(
    ("method", "name"), [("t", "student-t-floored"), ("auto", "cluster-score")]
)
def test_thirty_continuous_ties_get_the_same_floor(method: str, name: str) -> None:
    """The t method's variance floor gives n ties the score interval's half-width; the
    score test on per-case deltas (the default for graded scores) gets it by itself."""
    scores = [[0.5, 0.7]] * 30
    result = compare(scores, scores, gate="non-inferiority", margin=0.02, method=method)  # type: ignore[arg-type]
    assert result.method == name
    assert result.ci_high == pytest.approx(Z95**2 / (30 + Z95**2), abs=1e-9)
    assert result.verdict == "not-non-inferior"


def test_four_worse_none_better_p_and_ci_agree() -> None:
    """4 of 100 worse, none better: Tango's p (McNemar's z = -2) and CI tell the same story.

    The audit saw a CI below 0 printed with an exact p of 0.125. Here both come from
    T(0) = -4 / sqrt(4): p = 2 Phi(-2) = 0.0455 and the CI's upper end is below 0.
    (Exact enumeration in bench_verdicts.py keeps this test's one-sided error at or
    below 2.6% for a nominal 2.5% at n = 10-400, accuracy 0.5-0.98.)
    """
    result = compare(*binary(0, 4, 100))
    assert result.p_value == pytest.approx(2 * sps.norm.cdf(-2), rel=1e-12)
    assert result.verdict == "regression" and result.ci_high < 0
    three = compare(*binary(0, 3, 100))  # T = -sqrt(3): neither says regression
    assert three.verdict == "pass" and three.p_value > 0.05 and three.ci_high > 0


def test_float_noise_is_zero() -> None:
    """Repeats whose means differ by float rounding (0.15 vs (0.1 + 0.2) / 2) are ties."""
    base = [[0.15]] * 100
    cand = [[0.1, 0.2]] * 100
    assert (0.1 + 0.2) / 2 != 0.15
    result = compare(base, cand)
    assert result.mean == 0.0 and result.n_differ == 0
    assert result.verdict == "pass" and result.ci_low < 0 < result.ci_high
    assert result.ci_high == pytest.approx(-result.ci_low)


def test_lower_end_exactly_at_minus_margin_does_not_pass() -> None:
    half = Z95**2 / (30 + Z95**2)
    result = compare([1.0] * 30, [1.0] * 30, gate="non-inferiority", margin=half)
    assert result.verdict == "not-non-inferior" and result.ci_low == -half
    assert result.p_noninferior == (1 - 0.95) / 2
    base, cand = continuous(300, 3, shift=-0.03)
    first = compare(base, cand, gate="non-inferiority", margin=0.2)
    at = compare(base, cand, gate="non-inferiority", margin=-first.ci_low)
    assert at.verdict == "not-non-inferior" and at.ci_low == first.ci_low
    just = compare(base, cand, gate="non-inferiority", margin=-first.ci_low + 1e-9)
    assert just.verdict == "pass"


def test_non_inferiority_needs_a_positive_margin() -> None:
    with pytest.raises(ValueError, match="margin > 0"):
        compare([1.0] * 10, [1.0] * 10, gate="non-inferiority", margin=0.0)


@pytest.mark.parametrize("margin", [1.0, math.nan, math.inf, -0.1])
def test_margin_must_be_in_range(margin: float) -> None:
    with pytest.raises(ValueError, match="margin"):
        compare([1.0] * 10, [1.0] * 10, margin=margin)


def test_too_few_cases_are_inconclusive() -> None:
    """5 pairs (below min_pairs = 6 at 95%): no verdict, the CI is every possible delta."""
    result = compare(*binary(0, 5, 5))
    assert result.too_few and result.verdict == "inconclusive"
    assert (result.ci_low, result.ci_high, result.p_value) == (-1.0, 1.0, 1.0)
    six = compare(*binary(0, 6, 6))
    assert not six.too_few and six.verdict == "regression"
    assert stats.min_pairs(0.95) == 6


# --- input -----------------------------------------------------------------------------


def test_input_shapes_agree() -> None:
    rng = np.random.default_rng(1)
    base, cand = rng.random((40, 3)), rng.random((40, 3))
    from_array = compare(base, cand)
    from_lists = compare(base.tolist(), cand.tolist())
    assert from_array == from_lists
    means = compare(base.mean(axis=1), cand.mean(axis=1))
    assert means.mean == pytest.approx(from_array.mean) and means.ci_low == pytest.approx(
        from_array.ci_low
    )
    mixed = compare([1.0, [1.0, 0.0], 0.0, 1, 1, 1, 1], [[1.0], 1.0, 1.0, 1, 1, 0, 1])
    assert mixed.n_pairs == 7 and mixed.method == "cluster-score"  # 0/1, one case repeated
    graded = compare([1.0, [1.0, 0.5], 0.0, 1, 1, 1, 1], [[1.0], 1.0, 1.0, 1, 1, 0, 1])
    assert graded.method == "cluster-score"  # one method for any scores in [0, 1]


@pytest.mark.parametrize(
    ("base", "cand", "message"),
    [
        ([1.0, math.nan, 1.0], [1.0, 1.0, 1.0], "case 1: baseline score nan"),
        ([1.0, 1.0, 1.0], [1.0, 1.0, 1.5], "case 2: candidate score 1.5"),
        ([[1.0], [], [1.0]], [1.0, 1.0, 1.0], "case 1: no baseline score"),
        ([1.0, 1.0], [1.0, 1.0, 1.0], "2 baseline cases but 3 candidate cases"),
        ([], [], "no paired case"),
    ],
)
def test_bad_input_names_the_case(base: list, cand: list, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        compare(base, cand)


def test_bad_options() -> None:
    with pytest.raises(ValueError, match="gate"):
        compare([1.0] * 8, [1.0] * 8, gate="superiority")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="method"):
        compare([1.0] * 8, [1.0] * 8, method="wald")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="confidence"):
        compare([1.0] * 8, [1.0] * 8, confidence=1.0)
    assert compare([0.5] * 8, [1.0] * 8, method="score").method == "cluster-score"


# --- references ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("b", "c", "n"), [(1, 7, 21), (40, 20, 160), (0, 0, 30), (0, 4, 100), (3, 0, 10), (12, 5, 400)]
)
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_tango_against_brute_force_and_closed_form(
    b: int, c: int, n: int, confidence: float
) -> None:
    """Endpoints agree with a grid search of |T| <= z and with the quartic of Yang, Sun
    and Hardin (Stat Med 2013; 32: 1336), a published non-iterative form of Tango's CI."""
    z = sps.norm.ppf((1 + confidence) / 2)
    low, high = _compare_score.ScoreTest(b, c, n).bounds((1 - confidence) / 2)
    grid = np.linspace(-1, 1, 2_000_001)[1:-1]
    inside = grid[np.abs(tango_t(b, c, n, grid)) <= z]
    assert low == pytest.approx(inside[0], abs=2e-6) and high == pytest.approx(inside[-1], abs=2e-6)
    g, d, s = z * z, b - c, b + c
    quartic = [
        n * n * (n / g + 1) ** 2,
        -n * d * (n / g + 1) * (4 * n / g + 1),
        2 * n * d * d * (3 * n / g + 2) / g - n * n * (s / g + 1),
        n * d * (2 * s / g + 1) - d**3 * (4 * n / g + 1) / g,
        d * d * (d * d / g - s) / g,
    ]
    roots = np.roots(quartic)
    real = roots[np.abs(roots.imag) < 1e-9].real
    assert min(abs(real - low)) < 1e-7 and min(abs(real - high)) < 1e-7


def test_tango_is_mcnemar_at_zero_and_decreasing() -> None:
    test = _compare_score.ScoreTest(9, 3, 50)
    assert test.statistic(0.0) == pytest.approx((9 - 3) / math.sqrt(9 + 3))
    values = [test.statistic(d) for d in np.linspace(-0.999, 0.999, 2001)]
    assert all(a > b for a, b in pairwise(values))


def repeats(n: int, accuracy: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """0/1 scores, 3 repeats a case, shared case difficulty."""
    rng = np.random.default_rng(seed)
    p = rng.beta(2 * accuracy, 2 * (1 - accuracy), (n, 1))
    return (rng.random((n, 3)) < p).astype(float), (rng.random((n, 3)) < p).astype(float)


@pytest.mark.parametrize(("b", "c", "n"), [(1, 7, 21), (40, 20, 160), (0, 0, 30), (0, 4, 100)])
def test_cluster_score_is_tango_on_one_answer_a_case(b: int, c: int, n: int) -> None:
    base, cand = binary(b, c, n)
    test = _compare_cluster.ClusterScoreTest(np.subtract(cand, base))
    tango = _compare_score.ScoreTest(b, c, n)
    for d in np.linspace(-0.95, 0.95, 39):
        assert test.statistic(d) == pytest.approx(tango.statistic(d), rel=1e-10, abs=1e-12)
    assert test.bounds(0.025) == pytest.approx(tango.bounds(0.025), abs=1e-12)


def law_on(lattice: np.ndarray, test: _compare_cluster.ClusterScoreTest, d: float) -> np.ndarray:
    """The cluster test's law under the null (mean d) as probabilities on ``lattice``."""
    x = test.values - d
    lam, value = test._lambda(x, d)
    law = np.zeros(lattice.size)
    for v, weight in zip(test.values, test.counts / (test.n + lam * x), strict=True):
        law[np.argmin(np.abs(lattice - v))] += weight
    law[0 if lam > 0 else -1] += max(0.0, lam * value / test.n)  # the bound's mass
    return law


@pytest.mark.parametrize(("n", "accuracy", "seed"), [(40, 0.9, 1), (200, 0.98, 2), (60, 0.5, 3)])
def test_cluster_score_null_variance_is_the_constrained_maximum_likelihood(
    n: int, accuracy: float, seed: int
) -> None:
    """V(d) against a direct numerical maximisation (scipy SLSQP) of the multinomial
    likelihood on the 7 values of a 3-repeat delta with mean d; T decreases in d."""
    from scipy import optimize

    base, cand = repeats(n, accuracy, seed)
    deltas = cand.mean(axis=1) - base.mean(axis=1)
    lattice = np.arange(-3, 4) / 3
    counts = np.array([np.sum(np.isclose(deltas, v)) for v in lattice])
    test = _compare_cluster.ClusterScoreTest(deltas, reach=1.0)  # the law on [-1, 1]
    for d in (-0.3, -0.05, float(deltas.mean()) + 0.01, 0.2):
        fit = optimize.minimize(
            lambda p: -counts @ np.log(np.maximum(p, 1e-300)),
            np.full(7, 1 / 7),
            method="SLSQP",
            bounds=[(0, 1)] * 7,
            constraints=[
                {"type": "eq", "fun": lambda p: p.sum() - 1},
                {"type": "eq", "fun": lambda p, d=d: p @ lattice - d},
            ],
            options={"ftol": 1e-14, "maxiter": 1000},
        )
        ours = law_on(lattice, test, d)
        assert ours.sum() == pytest.approx(1) and ours @ lattice == pytest.approx(d)
        loglik = counts @ np.log(np.maximum(ours, 1e-300))
        # never beaten by the optimiser, but for what it gains by missing the constraints
        # (its multipliers are ~300): SLSQP of scipy 1.10 can stop short and off them
        missed = abs(fit.x.sum() - 1) + abs(fit.x @ lattice - d)
        assert loglik >= -fit.fun - 1e-6 - 1e3 * missed
        if abs(loglik - -fit.fun) < 1e-5:  # it reached our law: the variances agree
            reference = fit.x @ (lattice - d) ** 2
            assert test.null_variance(d) == pytest.approx(reference, rel=1e-4)
        assert test.null_variance(d) == pytest.approx(ours @ (lattice - d) ** 2)
    values = [test.statistic(d) for d in np.linspace(-0.999, 0.999, 801)]
    assert all(a > b for a, b in pairwise(values))


def test_cluster_score_lambda_is_a_root_even_next_to_a_pole() -> None:
    """Newton's first step from 0 can land a few ulps inside f's pole at an observed bound,
    where its steps are tiny though f is huge: that is not convergence. Here (2 repeats,
    14 of 20 cases lost) T(0) came out as -1.7e-7, not -2.74, and a regression passed."""
    base = [[0, 0]] + [[1, 1]] * 19
    cand = [[1, 1]] + [[1, 0]] * 8 + [[0, 0]] * 6 + [[1, 1]] * 5
    test = _compare_cluster.ClusterScoreTest(np.subtract(cand, base).mean(axis=1))
    assert test.statistic(0.0) == pytest.approx(test.statistic(1e-9), rel=1e-6)
    assert test.statistic(0.0) < -2.5
    assert compare(base, cand).verdict == "regression"


def test_cluster_score_lambda_solves_its_equation_where_newton_meets_the_pole() -> None:
    """2-repeat deltas whose first Newton step at d = 0 lands on f's pole (-1 observed and
    n(0.5) = 8 n(-1) + 3 n(-0.5)), and their mirror images (the pole at +1): lambda is a
    root of f wherever it is inside its bracket, and T is continuous at 0."""
    for low_count, half_low, zeros, ones in product(
        range(1, 4), range(4), range(0, 6, 2), range(3)
    ):
        counts = {-1.0: low_count, -0.5: half_low, 0.5: 8 * low_count + 3 * half_low}
        counts |= {0.0: zeros, 1.0: ones}
        deltas = np.repeat(list(counts), list(counts.values()))
        for sign in (1, -1):
            test = _compare_cluster.ClusterScoreTest(sign * deltas)
            x, n = test.values, test.n
            lam, value = test._lambda(x, 0.0)
            assert value == _compare_cluster._f(test.counts, x, n, lam)[0]
            if -n < lam < n:
                assert abs(lam * value / n) < 1e-9
            assert test.statistic(0.0) == pytest.approx(test.statistic(1e-9), rel=1e-5, abs=1e-6)


def test_cluster_score_for_repeats_and_its_ties_width() -> None:
    base, cand = repeats(100, 0.9, 4)
    result = compare(base, cand)
    assert result.method == "cluster-score"
    assert compare(base, cand, method="t").method == "student-t-floored"
    ties = compare(np.ones((30, 3)), np.ones((30, 3)))
    assert ties.method == "cluster-score"
    half = Z95**2 / (30 + Z95**2)  # Tango's for 30 tied cases
    assert ties.ci_low == pytest.approx(-half, abs=1e-9) and ties.ci_high == pytest.approx(half)


def test_floored_t_is_scipys_t_when_the_floor_is_inactive() -> None:
    base, cand = continuous(200, 5, shift=-0.04)
    deltas = cand - base
    result = compare(base, cand, gate="non-inferiority", margin=0.1, method="t")
    assert result.method == "student-t-floored"
    assert deltas.var(ddof=1) > _compare_t.variance_floor(200, 0.95)
    low, high = sps.t.interval(0.95, 199, loc=deltas.mean(), scale=sps.sem(deltas))
    assert result.ci_low == pytest.approx(low, abs=1e-12)
    assert result.ci_high == pytest.approx(high, abs=1e-12)
    greater = sps.ttest_1samp(deltas, -0.1, alternative="greater").pvalue
    assert result.p_noninferior == pytest.approx(greater, rel=1e-9)
    two_sided = compare(base, cand, method="t").p_value
    assert two_sided == pytest.approx(sps.ttest_1samp(deltas, 0).pvalue, rel=1e-9)


@pytest.mark.parametrize("df", [1, 2, 7, 59, 500, 501, 2000, 100_000])
@pytest.mark.parametrize("t", [-3.0, -0.4, 0.0, 1.0, 2.2, 5.0])
def test_t_tail_matches_scipy(df: int, t: float) -> None:
    assert _compare_t.t_upper_tail(t, df) == pytest.approx(special.stdtr(df, -t), rel=1e-9)


# --- duality ---------------------------------------------------------------------------------


def random_pair(rng: np.random.Generator) -> tuple[object, object]:
    n = int(rng.integers(6, 300))
    kind = rng.integers(3)
    acc = rng.choice([0.5, 0.9, 0.98])
    if kind == 0:  # 0/1, one repeat
        p = rng.beta(2 * acc, 2 * (1 - acc), n)
        drop = rng.choice([0.0, 0.02, 0.1])
        return (rng.random(n) < p).astype(float), (rng.random(n) < p * (1 - drop)).astype(float)
    if kind == 1:  # 0/1 with 3 repeats
        p = rng.beta(2 * acc, 2 * (1 - acc), (n, 1))
        return (rng.random((n, 3)) < p).astype(float), (rng.random((n, 3)) < p).astype(float)
    return continuous(n, int(rng.integers(1 << 30)), shift=rng.normal(0, 0.05), sd=rng.random() / 3)


def test_p_values_and_ci_never_disagree() -> None:
    """Over many random inputs: p < 1 - conf exactly when the CI excludes 0, p_noninferior <
    (1 - conf) / 2 exactly when ci_low > -margin, and the clamping that enforces it never
    moves an endpoint of the root-found interval by more than float noise."""
    rng = np.random.default_rng(2024)
    for _ in range(600):
        base, cand = random_pair(rng)
        confidence = float(rng.choice([0.9, 0.95, 0.99]))
        margin = float(rng.choice([0.01, 0.02, 0.05, 0.1]))
        gate = "non-inferiority" if rng.random() < 0.5 else "regression"
        r = compare(base, cand, gate=gate, margin=margin, confidence=confidence)  # type: ignore[arg-type]
        alpha = 1 - confidence
        excludes_zero = r.ci_low > 0 or r.ci_high < 0
        if gate == "regression":
            assert (r.p_value < alpha) == excludes_zero
            assert (r.verdict == "regression") == (r.ci_high < 0)
        else:
            assert (r.verdict == "pass") == (r.ci_low > -margin) == (r.p_value < alpha / 2)
        assert (r.p_noninferior < alpha / 2) == (r.ci_low > -margin)
        deltas = np.mean(np.reshape(cand, (len(cand), -1)), 1) - np.mean(
            np.reshape(base, (len(base), -1)), 1
        )
        if r.method == "tango-score":
            raw = _compare_score.ScoreTest(
                int(np.sum(deltas > 0)), int(np.sum(deltas < 0)), len(deltas)
            ).bounds(alpha / 2)
        elif r.method == "cluster-score":
            deltas[np.abs(deltas) <= 1e-12] = 0
            raw = _compare_cluster.ClusterScoreTest(deltas).bounds(alpha / 2)
        else:
            deltas[np.abs(deltas) <= 1e-12] = 0
            raw = _compare_t.FlooredT(deltas, confidence).bounds(alpha / 2)
        assert r.ci_low == pytest.approx(raw[0], abs=1e-9)
        assert r.ci_high == pytest.approx(raw[1], abs=1e-9)


def test_evidence() -> None:
    base, cand = continuous(400, 7, shift=0.0, sd=0.05)
    assert compare(base, cand, margin=0.05).evidence == "equivalent"
    assert compare(*binary(30, 0, 60)).evidence == "superior"
    assert compare(*binary(0, 30, 60)).evidence == "inferior"
    assert compare(*binary(0, 0, 60)).evidence == "inconclusive"
    base, cand = continuous(400, 7, shift=0.02, sd=0.05)
    shown = compare(base, cand, margin=0.02)
    assert shown.evidence in ("superior", "non-inferior")


# --- bootstrap -------------------------------------------------------------------------------


def test_bca_reports_its_monte_carlo_error_and_resamples_more_near_the_boundary() -> None:
    base, cand = continuous(120, 11, shift=-0.02, sd=0.2)
    far = compare(base, cand, method="bca")
    assert far.method == "bootstrap-bca" and far.mc_error is not None and far.mc_error > 0
    t_ci = compare(base, cand)
    moved = np.clip(cand - t_ci.ci_high, 0, 1)  # shift so the upper end sits near 0
    near = compare(base, moved, method="bca")
    assert near.resamples > 10_000 or abs(near.ci_high) > 3 * (near.mc_error or 0)
    assert (near.verdict == "regression") == (near.ci_high < 0)
    assert (near.p_value < 0.05) == (near.ci_high < 0 or near.ci_low > 0)


# --- several candidates ----------------------------------------------------------------------


def test_family_holm_levels_and_agreement() -> None:
    worse = binary(0, 25, 200)
    slightly = binary(3, 9, 200)
    same = binary(5, 5, 200)
    family = compare_family({"same": same, "worse": worse, "slightly": slightly})
    assert list(family) == ["same", "worse", "slightly"]
    assert family["worse"].confidence == pytest.approx(1 - 0.05 / 3)
    assert family["worse"].verdict == "regression"
    single = compare(*slightly)
    assert single.p_value > 0.05 / 2  # not rejected at rank 2 ...
    assert family["slightly"].confidence == pytest.approx(1 - 0.05 / 2)
    assert family["same"].confidence == pytest.approx(1 - 0.05 / 2)  # ... nor is anyone after
    raw = {
        k: compare(*v).p_value
        for k, v in {"same": same, "worse": worse, "slightly": slightly}.items()
    }
    adjusted = holm(raw)
    for name, result in family.items():
        assert result.p_adjusted == adjusted[name]
        assert (result.p_adjusted < 0.05) == (result.ci_high < 0 or result.ci_low > 0)


def test_family_non_inferiority() -> None:
    good = continuous(300, 1, shift=0.0, sd=0.05)
    bad = continuous(300, 2, shift=-0.05, sd=0.05)
    family = compare_family({"good": good, "bad": bad}, gate="non-inferiority", margin=0.03)
    assert family["good"].verdict == "pass" and family["good"].confidence == pytest.approx(0.975)
    assert family["bad"].verdict == "not-non-inferior"
    assert family["bad"].confidence == pytest.approx(0.95)
    for result in family.values():
        assert (result.p_adjusted is not None) and (
            (result.p_adjusted < 0.025) == (result.verdict == "pass")
        )


# --- planning and the report ---------------------------------------------------------------


def test_cases_needed_from_ties_is_large() -> None:
    """30 identical answers: the share of differing cases may still be 9.5%, so thousands."""
    ties = compare([1.0] * 30, [1.0] * 30, gate="non-inferiority", margin=0.02)
    needed = cases_needed(ties, 0.02)
    share = 1 - 0.05 ** (1 / 30)  # Clopper-Pearson 95% upper bound of 0 out of 30
    approx = ((Z95 + sps.norm.ppf(0.8)) * math.sqrt(share) / 0.02) ** 2
    assert needed == pytest.approx(approx, rel=0.01) and needed > 1000
    assert cases_needed(np.zeros(30), 0.02) > 1000  # t quantiles: a few more than z's


def test_cases_needed_for_continuous_deltas_is_the_normal_formula() -> None:
    rng = np.random.default_rng(4)
    deltas = rng.normal(0, 0.15, 2000)
    needed = cases_needed(deltas, 0.02)
    upper = deltas.var(ddof=1) * 1999 / sps.chi2.ppf(0.05, 1999)
    approx = ((Z95 + sps.norm.ppf(0.8)) * math.sqrt(upper) / 0.02) ** 2
    assert needed == pytest.approx(approx, rel=0.02)
    with pytest.raises(ValueError, match="deltas"):
        cases_needed([2.0], 0.02)


def test_to_dict_is_json_safe_and_complete() -> None:
    result = compare(*binary(3, 5, 50), gate="non-inferiority", margin=0.05)
    data = result.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert set(data) == set(Comparison.__dataclass_fields__)


def test_half_credit_losses_weigh_as_tangos_losses() -> None:
    """Ten of 20 cases lose half a point, none gains: with the law's bounds at +-1 the
    score test put the unseen mass on a gain of a whole point and passed (p 0.025, Holm
    needs < 0.025 with two candidates); once ten cases differ the law reaches as far as
    the deltas seen (0.5), the same T as Tango's for ten whole losses."""
    base, cand = [1.0] * 20, [0.5, 1.0] * 10
    family = compare_family({"wrong": (base, cand), "same": (base, base)})
    assert family["wrong"].verdict == "regression" and family["wrong"].ci_high < 0
    tango = compare(*binary(0, 10, 20))
    assert compare(base, cand).p_value == pytest.approx(tango.p_value, rel=1e-9)
    nine = compare([1.0] * 20, [0.5] * 9 + [1.0] * 11)  # fewer than ten differ: reach 1
    assert _compare_cluster.reach_of(np.array([-0.5] * 9 + [0.0] * 11)) == 1.0
    assert nine.method == "cluster-score"
