"""Unit tests of inference.stats: agreement with scipy, both samplers, edge cases."""

from __future__ import annotations

import dataclasses
import json
import math
from itertools import combinations, pairwise

import numpy as np
import pytest
import scipy
from scipy import special
from scipy import stats as sps

from pytest_modelguard.inference import bootstrap as stats_bootstrap
from pytest_modelguard.inference import stats
from pytest_modelguard.inference.stats import DeltaEstimate, paired_delta

REQUIRED_KEYS = {"mean", "ci_low", "ci_high", "p_value", "n_pairs", "confidence"}
# scipy.stats.bootstrap's seed argument: `rng` from scipy 1.15, `random_state` before
SCIPY_SEED = (
    "rng" if tuple(int(x) for x in scipy.__version__.split(".")[:2]) >= (1, 15) else "random_state"
)


def single(scores: np.ndarray) -> list[list[float]]:
    """One repeat per case."""
    return [[float(x)] for x in scores]


def continuous_pair(n: int, seed: int, shift: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    base = rng.beta(2, 2, n)
    cand = np.clip(base + shift + rng.normal(0, 0.2, n), 0, 1)
    return cand, base


def binary_pair(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = rng.beta(2, 1, n)
    return (rng.random(n) < p).astype(float), (rng.random(n) < p).astype(float)


def endpoint_mc_sd(deltas: np.ndarray, level: float, resamples: int, bca: bool) -> float:
    """Monte-Carlo sd of one bootstrap CI endpoint from B resamples, normal approximation.

    The endpoint is the sample quantile at q = (1 - level) / 2 of the bootstrap
    means: var = se^2 q (1 - q) / (B phi(z_q)^2). BCa also estimates z0 from the
    same means, var(z0) = 1 / (4 B phi(0)^2), and the endpoint moves 2 se per
    unit of z0; the two errors share the ECDF, covariance -q se^2 / (B phi(z_q) phi(0)).
    """
    se = deltas.std() / math.sqrt(deltas.size)  # the bootstrap distribution's sd
    q = (1 - level) / 2
    phi_q, phi_0 = sps.norm.pdf(sps.norm.ppf(q)), sps.norm.pdf(0)
    terms = q * (1 - q) / phi_q**2
    if bca:
        terms += 1 / phi_0**2 - 2 * q / (phi_q * phi_0)
    return float(se * math.sqrt(terms / resamples))


# --- agreement with scipy.stats.bootstrap ------------------------------------------------


@pytest.mark.parametrize("method", ["bca", "percentile"])
@pytest.mark.parametrize(("kind", "n"), [("continuous", 100), ("binary", 150), ("binary", 60)])
def test_interval_agrees_with_scipy_bootstrap(kind: str, n: int, method: stats.Method) -> None:
    """Our CI is scipy's at `bootstrap_level(confidence, n)`, within 4 sd of the MC difference.

    For binary deltas the bootstrap means live on a grid of step 1/n, and a
    sample quantile can land a grid step away: that step is added to the tolerance.
    """
    cand, base = continuous_pair(n, 1) if kind == "continuous" else binary_pair(n, 1)
    deltas = cand - base
    resamples = 10_000
    ours = paired_delta(single(cand), single(base), resamples=resamples, seed=3, method=method)
    assert ours is not None and ours.method == method
    level = stats.bootstrap_level(0.95, n)
    theirs = sps.bootstrap(
        (deltas,),
        np.mean,
        confidence_level=level,
        n_resamples=resamples,
        method="BCa" if method == "bca" else "percentile",
        **{SCIPY_SEED: np.random.default_rng(4)},
    ).confidence_interval
    step = 1 / n if kind == "binary" else 0.0
    tolerance = 4 * math.sqrt(2) * endpoint_mc_sd(deltas, level, resamples, method == "bca")
    assert abs(ours.ci_low - theirs.low) <= tolerance + step
    assert abs(ours.ci_high - theirs.high) <= tolerance + step


@pytest.mark.parametrize("method", ["bca", "percentile"])
def test_endpoint_mc_sd_matches_seed_to_seed_spread(method: stats.Method) -> None:
    """The sd formula behind the scipy tolerance is right: compare it with 40 seeds."""
    cand, base = continuous_pair(100, 2)
    deltas = cand - base
    resamples = 2000
    runs = [
        paired_delta(single(cand), single(base), resamples=resamples, seed=s, method=method)
        for s in range(40)
    ]
    lows = [r.ci_low for r in runs if r is not None]
    predicted = endpoint_mc_sd(deltas, stats.bootstrap_level(0.95, 100), resamples, method == "bca")
    # the sd of 40 draws is within ±40% of the truth with probability > 0.999
    assert 0.6 < np.std(lows, ddof=1) / predicted < 1.4


def test_acceleration_is_the_jackknife_acceleration() -> None:
    """The closed form equals the O(n^2) jackknife of the mean (Efron & Tibshirani 14.15)."""
    deltas = np.random.default_rng(5).exponential(size=40) - 1
    loo = np.array([np.delete(deltas, i).mean() for i in range(deltas.size)])
    u = loo.mean() - loo
    expected = np.sum(u**3) / (6 * np.sum(u**2) ** 1.5)
    bca = stats_bootstrap._bca_constants(deltas, stats_bootstrap.bootstrap_means(deltas, 1000, 0))
    assert bca is not None
    assert bca.accel == pytest.approx(expected, rel=1e-12)


# --- the two samplers --------------------------------------------------------------------


def test_fast_and_general_paths_agree_on_discrete_deltas() -> None:
    """Multinomial and index-gather bootstrap means have the same distribution."""
    rng = np.random.default_rng(6)
    n, resamples = 1000, 20_000
    deltas = rng.choice([-1.0, -0.5, 0.0, 0.5, 1.0], p=[0.2, 0.1, 0.4, 0.1, 0.2], size=n)
    values, counts = np.unique(deltas, return_counts=True)
    fast = stats_bootstrap._multinomial_means(values, counts, resamples, seed=1)
    general = stats_bootstrap._gather_means(deltas, resamples, seed=2)
    se = deltas.std() / math.sqrt(n)
    assert abs(fast.mean() - general.mean()) <= 4 * math.sqrt(2) * se / math.sqrt(resamples)
    # sd of a sample sd is about sd / sqrt(2B)
    assert abs(fast.std() - general.std()) <= 4 * se / math.sqrt(resamples)
    assert sps.ks_2samp(fast, general).pvalue > 1e-3
    step = 0.5 / n
    methods: tuple[stats.Method, ...] = ("bca", "percentile")
    for method in methods:
        tolerance = (
            4
            * math.sqrt(2)
            * endpoint_mc_sd(deltas, stats.bootstrap_level(0.95, n), resamples, method == "bca")
        )
        fast_ci = stats_bootstrap.interval(deltas, fast, 0.95, method)
        general_ci = stats_bootstrap.interval(deltas, general, 0.95, method)
        assert abs(fast_ci[0] - general_ci[0]) <= tolerance + step
        assert abs(fast_ci[1] - general_ci[1]) <= tolerance + step


def test_bootstrap_means_picks_the_sampler_by_distinct_values() -> None:
    rng = np.random.default_rng(7)
    discrete = rng.integers(-1, 2, size=500).astype(float)
    values, counts = np.unique(discrete, return_counts=True)
    np.testing.assert_array_equal(
        stats_bootstrap.bootstrap_means(discrete, 300, 9),
        stats_bootstrap._multinomial_means(values, counts, 300, 9),
    )
    continuous = rng.random(500)
    np.testing.assert_array_equal(
        stats_bootstrap.bootstrap_means(continuous, 300, 9),
        stats_bootstrap._gather_means(continuous, 300, 9),
    )


def test_gather_chunks_are_independent_of_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Many small chunks (a partial last one) give the same means on 1 or several threads."""
    monkeypatch.setattr(stats_bootstrap, "_CHUNK_ELEMENTS", 4000)
    monkeypatch.setattr(stats_bootstrap, "_WORKERS", 2)
    deltas = np.random.default_rng(8).random(500)
    threaded = stats_bootstrap._gather_means(deltas, 1001, seed=3)
    monkeypatch.setattr(stats_bootstrap, "_WORKERS", 1)
    np.testing.assert_array_equal(stats_bootstrap._gather_means(deltas, 1001, seed=3), threaded)
    assert threaded.shape == (1001,) and np.all(np.isfinite(threaded))


def test_multinomial_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stats_bootstrap, "_CHUNK_ELEMENTS", 30)
    means = stats_bootstrap._multinomial_means(
        np.array([-1.0, 0.0, 1.0]), np.array([5, 3, 2]), 25, 0
    )
    assert means.shape == (25,) and np.all((means >= -1) & (means <= 1))


# --- p-values ----------------------------------------------------------------------------


@pytest.mark.parametrize(("better", "worse"), [(12, 3), (0, 7), (5, 5), (0, 0), (40, 61)])
def test_binary_single_repeat_p_value_is_exact_mcnemar(better: int, worse: int) -> None:
    cand = [1.0] * better + [0.0] * worse + [1.0] * 20 + [0.0] * 5
    base = [0.0] * better + [1.0] * worse + [1.0] * 20 + [0.0] * 5
    estimate = paired_delta(single(np.array(cand)), single(np.array(base)))
    assert estimate is not None
    assert estimate.p_method == "mcnemar-exact"
    expected = sps.binomtest(better, better + worse).pvalue if better + worse else 1.0
    assert estimate.p_value == pytest.approx(expected, rel=1e-12)
    assert type(estimate.p_value) is float


def test_binary_with_repeats_uses_the_bootstrap_p_value() -> None:
    cand = [[1.0, 0.0]] + [[1.0]] * 9
    base = [[0.0]] * 10
    estimate = paired_delta(cand, base)
    assert estimate is not None and estimate.p_method == "bootstrap-bca"


@pytest.mark.parametrize("method", ["bca", "percentile"])
@pytest.mark.parametrize("shift", [-0.03, 0.03])
def test_bootstrap_p_value_is_dual_to_the_interval(method: stats.Method, shift: float) -> None:
    """At confidence = 1 - p, an endpoint of the CI (same seed) sits on 0."""
    cand, base = continuous_pair(120, 10, shift)
    args = (single(cand), single(base))
    estimate = paired_delta(*args, method=method, seed=1)
    assert estimate is not None and 0.001 < estimate.p_value < 0.5
    at_p = paired_delta(*args, method=method, seed=1, confidence=1 - estimate.p_value)
    assert at_p is not None
    se = (cand - base).std() / math.sqrt(cand.size)
    # the inversion reads the ECDF, the interval interpolates order statistics: a few spacings
    spacing = se / (estimate.resamples * sps.norm.pdf(sps.norm.ppf(estimate.p_value / 2)))
    assert min(abs(at_p.ci_low), abs(at_p.ci_high)) <= 5 * spacing
    assert (estimate.p_value < 0.05) == (estimate.ci_high < 0 or estimate.ci_low > 0)


@pytest.mark.parametrize("method", ["bca", "percentile"])
def test_p_value_agrees_with_the_interval_when_bootstrap_means_pile_up_on_zero(
    method: stats.Method,
) -> None:
    """Scores on 0/0.5/1 with a few drops: many resamples have a mean of exactly 0.

    The CI's end then sits on 0 ("[-0.08, +0.000]"): p must not call that significant.
    """
    rng = np.random.default_rng(7)
    disagreements, boundary = [], 0
    for trial in range(150):
        n = int(rng.integers(20, 80))
        base = rng.choice([0.0, 0.5, 1.0], size=n, p=[0.1, 0.2, 0.7])
        cand = base.copy()
        dropped = rng.choice(n, size=int(rng.integers(1, 6)), replace=False)
        cand[dropped] = np.clip(cand[dropped] - rng.choice([0.5, 1.0], size=dropped.size), 0, 1)
        estimate = paired_delta(
            single(cand), single(base), method=method, seed=trial, resamples=4000
        )
        assert estimate is not None
        boundary += estimate.ci_high == 0.0
        at_the_boundary = abs(estimate.p_value - 0.05) < 0.002  # a resample or two apart
        excludes_zero = estimate.ci_high < 0 or estimate.ci_low > 0
        if (estimate.p_value < 0.05) != excludes_zero and not at_the_boundary:
            disagreements.append((n, estimate.ci_low, estimate.ci_high, estimate.p_value))
    assert boundary >= 10  # the situation under test did arise
    assert disagreements == []


# --- edge cases --------------------------------------------------------------------------


def test_no_case_gives_none() -> None:
    assert paired_delta([], []) is None


def test_one_case_is_degenerate_with_the_whole_range() -> None:
    estimate = paired_delta([[0.0]], [[1.0]])
    assert estimate == DeltaEstimate(
        mean=-1.0, ci_low=-1.0, ci_high=1.0, p_value=1.0, n_pairs=1, confidence=0.95,
        method="none", seed=0, resamples=10_000, std_delta=0.0, p_method="none", degenerate=True,
    )  # fmt: skip
    assert stats.ci_too_wide(estimate, 0.05)


@pytest.mark.parametrize(("confidence", "fewest"), [(0.95, 6), (0.975, 7), (0.99, 8), (0.5, 2)])
def test_fewer_cases_than_any_test_needs_are_degenerate(confidence: float, fewest: int) -> None:
    """A sign test on n cases cannot give p below 2^(1-n): that sets the fewest cases."""
    assert stats.min_pairs(confidence) == fewest
    assert 2 ** (1 - fewest) <= 1 - confidence < 2 ** (2 - fewest)
    worse = [[0.0]] * fewest
    better = [[1.0]] * fewest
    too_few = paired_delta(worse[1:], better[1:], confidence=confidence)
    enough = paired_delta(worse, better, confidence=confidence)
    assert too_few is not None and too_few.degenerate and too_few.ci_high == 1.0
    assert enough is not None and not enough.degenerate and enough.ci_high == -1.0


def test_two_cases_at_low_confidence() -> None:
    estimate = paired_delta([[0.2], [0.9]], [[0.5], [0.5]], confidence=0.5)
    assert estimate is not None and not estimate.degenerate
    assert -0.3 <= estimate.ci_low <= estimate.ci_high <= 0.4


def test_equal_deltas_collapse_the_interval_without_nan() -> None:
    estimate = paired_delta([[0.2]] * 30, [[0.5]] * 30, resamples=2000)
    assert estimate is not None
    assert estimate.method == "percentile"  # BCa is undefined: no jackknife spread
    assert estimate.ci_low == pytest.approx(-0.3) and estimate.ci_high == pytest.approx(-0.3)
    # the smallest p 2000 resamples resolve: half a resample in the tail, widened as on 30 cases
    resolution = 2 * special.stdtr(29, special.ndtri(0.5 / 2000) * math.sqrt(29 / 30))
    assert estimate.p_value == pytest.approx(resolution, rel=1e-12)


@pytest.mark.parametrize("repeats", [1, 3])
def test_every_score_zero(repeats: int) -> None:
    zeros = [[0.0] * repeats] * 20
    estimate = paired_delta(zeros, zeros)
    assert estimate is not None
    assert (estimate.mean, estimate.ci_low, estimate.ci_high, estimate.p_value) == (0, 0, 0, 1)
    assert estimate.std_delta == 0.0


@pytest.mark.parametrize(
    ("candidate", "baseline", "message"),
    [
        ([[0.5]] * 3 + [[math.nan]], [[0.5]] * 4, "case 3: candidate score nan"),
        ([[0.5]] * 4, [[0.5], [0.5, math.inf], [0.5], [0.5]], "case 1: baseline score inf"),
        ([[0.5]] * 4, [[0.5], [0.5], [1.5], [0.5]], "case 2: baseline score 1.5"),
        ([[0.5], [-0.1]], [[0.5], [0.5]], "case 1: candidate score -0.1"),
        ([[0.5], []], [[0.5], [0.5]], "case 1: no candidate score"),
        ([[0.5]], [[0.5], [0.5]], "1 candidate cases but 2 baseline cases"),
    ],
)
def test_bad_scores_name_the_case(
    candidate: list[list[float]], baseline: list[list[float]], message: str
) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        paired_delta(candidate, baseline)


@pytest.mark.parametrize(
    "options", [{"confidence": 1.0}, {"confidence": 0.0}, {"resamples": 99}, {"method": "basic"}]
)
def test_bad_options(options: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        paired_delta([[0.5]], [[0.5]], **options)  # type: ignore[arg-type]


def test_rounding_above_one_is_accepted() -> None:
    assert paired_delta([[1 + 1e-12]] * 6, [[1.0]] * 6) is not None


def random_repeats(rng: np.random.Generator, grid: int) -> list[float]:
    """1-3 repeats: 0/1 scores (grid 1), thirds (grid 3) or continuous (grid 0)."""
    raw = rng.random(int(rng.integers(1, 4)))
    return list(np.round(raw * grid) / grid if grid else raw)


def test_many_small_odd_inputs_give_finite_results() -> None:
    rng = np.random.default_rng(11)
    for trial in range(200):
        n, grid = int(rng.integers(1, 15)), int(rng.choice([1, 3, 0]))
        estimate = paired_delta(
            [random_repeats(rng, grid) for _ in range(n)],
            [random_repeats(rng, grid) for _ in range(n)],
            resamples=200,
            seed=trial,
            method="bca" if trial % 2 else "percentile",
        )
        assert estimate is not None
        values = (estimate.mean, estimate.ci_low, estimate.ci_high, estimate.std_delta)
        assert all(math.isfinite(v) for v in values)
        assert 0 < estimate.p_value <= 1
        assert -1 <= estimate.ci_low <= estimate.ci_high <= 1


def test_same_seed_same_result_other_seed_other_result() -> None:
    cand, base = continuous_pair(80, 12)
    first = paired_delta(single(cand), single(base), seed=5, resamples=500)
    assert first == paired_delta(single(cand), single(base), seed=5, resamples=500)
    other = paired_delta(single(cand), single(base), seed=6, resamples=500)
    assert other is not None and first is not None and other.ci_low != first.ci_low


def test_arrays_and_lists_give_the_same_estimate() -> None:
    rng = np.random.default_rng(16)
    cand, base = rng.random((40, 3)), (rng.random((40, 1)) < 0.5).astype(float)
    from_arrays = paired_delta(cand, base, resamples=500)
    assert from_arrays == paired_delta(cand.tolist(), base.tolist(), resamples=500)
    with pytest.raises(ValueError, match="case 2: baseline score nan"):
        paired_delta(cand, np.where(np.arange(40)[:, None] == 2, np.nan, base))


def test_cluster_unit_is_the_case() -> None:
    """Repeats are averaged within a case before resampling: mean and n count cases."""
    estimate = paired_delta([[1.0, 1.0, 0.0]] * 3 + [[0.0]] * 3, [[0.0]] * 6)
    assert estimate is not None
    assert estimate.n_pairs == 6
    assert estimate.mean == pytest.approx(1 / 3)
    assert estimate.std_delta == pytest.approx(np.std([2 / 3] * 3 + [0.0] * 3, ddof=1))


def test_to_dict_is_json_with_the_report_keys() -> None:
    cand, base = continuous_pair(50, 13)
    estimate = paired_delta(single(cand), single(base), resamples=500)
    assert estimate is not None
    data = estimate.to_dict()
    assert set(data) >= REQUIRED_KEYS
    assert set(data) - REQUIRED_KEYS == {"std_delta", "method", "p_method", "degenerate"}
    assert json.loads(json.dumps(data)) == data
    with pytest.raises(dataclasses.FrozenInstanceError):
        estimate.mean = 0.0  # type: ignore[misc]


# --- multiplicity ------------------------------------------------------------------------


def test_holm_by_hand() -> None:
    raw = {"a": 0.01, "b": 0.04, "c": 0.03, "d": 0.005}
    # sorted: d .005*4 = .02, a .01*3 = .03, c .03*2 = .06, b max(.04*1, .06) = .06
    assert stats.holm(raw) == pytest.approx({"a": 0.03, "b": 0.06, "c": 0.06, "d": 0.02})
    assert list(stats.holm(raw)) == list(raw)


def step_down_rejects(p_values: dict[str, float], alpha: float) -> set[str]:
    """Holm's procedure as published: reject in order while p_(k) <= alpha / (m - k + 1)."""
    rejected: set[str] = set()
    ordered = sorted(p_values.items(), key=lambda item: item[1])
    for k, (name, p) in enumerate(ordered):
        if p > alpha / (len(ordered) - k):
            break
        rejected.add(name)
    return rejected


def test_holm_matches_the_step_down_procedure() -> None:
    rng = np.random.default_rng(14)
    for _ in range(300):
        m = int(rng.integers(1, 7))
        raw = {f"h{i}": float(p) for i, p in enumerate(rng.choice([0.001, 0.01, 0.02, 0.3], m))}
        raw |= {f"u{i}": float(p) for i, p in enumerate(rng.random(int(rng.integers(0, 3))))}
        adjusted = stats.holm(raw)
        for alpha in (0.001, 0.01, 0.02, 0.05, 0.1, 0.5):
            holm_rejects = {name for name, p in adjusted.items() if p <= alpha}
            assert holm_rejects == step_down_rejects(raw, alpha)
        ordered = sorted(raw, key=raw.__getitem__)
        assert all(adjusted[a] <= adjusted[b] for a, b in pairwise(ordered))
        assert all(raw[k] <= adjusted[k] <= 1 for k in raw)


def test_holm_edges() -> None:
    assert stats.holm({}) == {}
    assert stats.holm({"only": 0.2}) == {"only": 0.2}
    assert stats.holm({"a": 0.6, "b": 0.7}) == {"a": 1.0, "b": 1.0}
    with pytest.raises(ValueError, match="'x'"):
        stats.holm({"x": math.nan})


def test_bonferroni_confidence() -> None:
    assert stats.bonferroni_confidence(0.95, 1) == pytest.approx(0.95)
    assert stats.bonferroni_confidence(0.95, 4) == pytest.approx(0.9875)
    for bad in ((0.95, 0), (1.0, 2)):
        with pytest.raises(ValueError):
            stats.bonferroni_confidence(*bad)


# --- power -------------------------------------------------------------------------------


def test_cases_needed_formula() -> None:
    """((z + z_power) * sd / margin)^2, z the interval's own critical value at that n."""
    n = stats.cases_needed(0.5, 0.05, 0.95)

    def required(k: int) -> float:
        z = math.sqrt(k / (k - 1)) * float(sps.t.ppf(0.975, k - 1))
        return float(((z + special.ndtri(0.8)) * 0.5 / 0.05) ** 2)

    assert required(n) <= n
    assert required(n - 2) > n - 2  # and not much more than needed
    assert 780 < n < 800  # the plain normal answer is 785
    assert stats.cases_needed(1.0, 0.05, 0.95) > 4 * (n - 10)
    assert stats.cases_needed(0.5, 0.05, 0.99) > n
    assert stats.cases_needed(0.5, 0.05, 0.95, power=0.9) > n
    assert stats.cases_needed(0.0, 0.05, 0.95) == stats.min_pairs(0.95)


@pytest.mark.parametrize(
    "args", [(0.5, 0.0, 0.95), (-0.1, 0.05, 0.95), (math.nan, 0.05, 0.95), (0.5, 0.05, 1.0)]
)
def test_cases_needed_rejects_bad_input(args: tuple[float, float, float]) -> None:
    with pytest.raises(ValueError):
        stats.cases_needed(*args)


def test_ci_too_wide_agrees_with_cases_needed() -> None:
    needed = stats.cases_needed(0.4, 0.05, 0.95)
    fields = dict(
        mean=0.0, ci_low=-0.1, ci_high=0.1, p_value=1.0, confidence=0.95, method="bca", seed=0,
        resamples=10_000, std_delta=0.4, p_method="bootstrap-bca", degenerate=False,
    )  # fmt: skip
    assert not stats.ci_too_wide(DeltaEstimate(n_pairs=needed, **fields), 0.05)  # type: ignore[arg-type]
    assert stats.ci_too_wide(DeltaEstimate(n_pairs=needed - 1, **fields), 0.05)  # type: ignore[arg-type]


# --- agreement between repeats -----------------------------------------------------------


def test_repeat_agreement_by_hand() -> None:
    assert stats.repeat_agreement([[1, 1, 0]]) == pytest.approx(1 / 3)
    assert stats.repeat_agreement([[1, 1], [0, 1], [1]]) == pytest.approx(0.5)
    assert stats.repeat_agreement([[0.2, 0.6]]) == pytest.approx(0.6)
    assert stats.repeat_agreement([[0.2, 0.6, 1.0]]) == pytest.approx(1 - 1.6 / 3)
    assert stats.repeat_agreement([[0.7] * 4]) == 1.0


def test_repeat_agreement_matches_all_pairs() -> None:
    rng = np.random.default_rng(15)
    cases = [list(rng.random(int(rng.integers(1, 6)))) for _ in range(50)]
    per_case = [
        1 - np.mean([abs(a - b) for a, b in combinations(c, 2)]) for c in cases if len(c) > 1
    ]
    assert stats.repeat_agreement(cases) == pytest.approx(np.mean(per_case), rel=1e-12)


def test_repeat_agreement_without_repeats_or_with_bad_scores() -> None:
    assert stats.repeat_agreement([]) is None
    assert stats.repeat_agreement([[1.0], [0.0], []]) is None
    with pytest.raises(ValueError, match="case 1"):
        stats.repeat_agreement([[1.0, 1.0], [0.5, math.nan]])
    for lone in (1.5, -0.5, math.nan):  # a case without repeats is checked too
        with pytest.raises(ValueError, match="case 1"):
            stats.repeat_agreement([[1.0, 1.0], [lone]])
