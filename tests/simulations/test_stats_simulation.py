"""Calibration of the gate's statistics by simulation.

A/A comparisons (true delta 0) measure the regression gate's false alarms
(CI wholly below 0: a one-sided 2.5% test at 95%) and two-sided coverage;
A/B comparisons measure coverage of a known drop, each tail apart; and the power
promise of `cases_needed` is checked at the n it suggests. Each scenario is
2,000 comparisons with 1,000 resamples: the Monte-Carlo sd of a coverage of
95% is 0.49%, of a 2.5% false-alarm rate 0.35%. Run with -s to see the table.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from pytest_modelguard.inference import stats

REPS = 2000
RESAMPLES = 1000
CONFIDENCE = 0.95


def simulate(
    kind: str, n: int, repeats: tuple[int, int], seed: int, candidate_factor: float = 1.0
) -> tuple[np.ndarray, np.ndarray, float]:
    """REPS suites of n cases: candidate and baseline scores (REPS, n, repeats), and the true delta.

    Each case has its own difficulty (a random effect shared by both models and
    all repeats), so repeats of a case are correlated and clustering matters.
    Binary: P(pass) = p ~ Beta(2, 1). Continuous: score ~ Beta with mean
    mu ~ Beta(2, 2) and precision 4. The candidate's mean is `candidate_factor`
    times the baseline's, so the true delta is (factor - 1) * E[p or mu].
    """
    rng = np.random.default_rng(seed)
    shape = (REPS, n, 1)
    if kind == "binary":
        p = rng.beta(2, 1, shape)
        passed_c = rng.random((REPS, n, repeats[0])) < p * candidate_factor
        passed_b = rng.random((REPS, n, repeats[1])) < p
        return passed_c.astype(float), passed_b.astype(float), (candidate_factor - 1) * 2 / 3
    mu = rng.beta(2, 2, shape)
    mu_c = mu * candidate_factor
    cand = rng.beta(4 * mu_c, 4 * (1 - mu_c), (REPS, n, repeats[0]))
    base = rng.beta(4 * mu, 4 * (1 - mu), (REPS, n, repeats[1]))
    return cand, base, (candidate_factor - 1) / 2


def run(cand: np.ndarray, base: np.ndarray, truth: float) -> dict[str, float]:
    """How often the CI lies wholly below / above the true delta, its coverage, P(p < 0.05).

    Wholly below 0 in an A/A suite is a false regression alarm; wholly above a
    true drop of `margin` would pass a non-inferiority gate that should fail.
    """
    below = above = rejections = 0
    for rep in range(REPS):
        estimate = stats.paired_delta(cand[rep], base[rep], resamples=RESAMPLES, seed=rep)
        assert estimate is not None
        below += estimate.ci_high < truth
        above += estimate.ci_low > truth
        rejections += estimate.p_value < 1 - CONFIDENCE
    return {
        "below": below / REPS,
        "above": above / REPS,
        "coverage": 1 - (below + above) / REPS,
        "p_below_alpha": rejections / REPS,
    }


def mc_sd(rate: float) -> float:
    return math.sqrt(rate * (1 - rate) / REPS)


def report(name: str, result: dict[str, float]) -> None:
    print(f"\n{name}: " + ", ".join(f"{key} {value:.2%}" for key, value in result.items()))


@pytest.mark.parametrize("repeats", [(1, 1), (3, 3)], ids=["1-repeat", "3-repeats"])
@pytest.mark.parametrize("n", [50, 500])
@pytest.mark.parametrize("kind", ["binary", "continuous"])
def test_a_a_false_alarms_and_coverage(kind: str, n: int, repeats: tuple[int, int]) -> None:
    """Same model twice: the gate fails at most 2.5% (+3 sd) of runs, the CI covers 0 at 95% ± 1.5%.

    p < 0.05 happens at most 5% (+3 sd) of the time: exactly so for the
    bootstrap p-value, fewer for McNemar's exact test (0/1 scores, one repeat).
    """
    cand, base, truth = simulate(kind, n, repeats, seed=n + repeats[0])
    result = run(cand, base, truth)
    report(f"A/A {kind} n={n} repeats={repeats}", result)
    assert result["below"] <= 0.025 + 3 * mc_sd(0.025)
    assert abs(result["coverage"] - CONFIDENCE) <= 0.015
    assert result["p_below_alpha"] <= 0.05 + 3 * mc_sd(0.05)


@pytest.mark.parametrize(("kind", "repeats"), [("binary", (3, 1)), ("continuous", (3, 3))])
def test_a_b_coverage_of_a_real_drop(kind: str, repeats: tuple[int, int]) -> None:
    """A candidate 15% (binary) or 20% (continuous) worse, n = 50: coverage 95% ± 1.5%.

    Neither tail misses more than 2.5% (+3 sd): with margin = the true drop, the
    non-inferiority gate wrongly passes at most that often. Binary with 3
    candidate repeats vs 1 baseline answer makes the deltas skewed.
    """
    factor = 0.85 if kind == "binary" else 0.8
    cand, base, truth = simulate(kind, 50, repeats, seed=7, candidate_factor=factor)
    result = run(cand, base, truth)
    report(f"A/B {kind} n=50 repeats={repeats} delta={truth:+.3f}", result)
    assert abs(result["coverage"] - CONFIDENCE) <= 0.015
    assert max(result["below"], result["above"]) <= 0.025 + 3 * mc_sd(0.025)


def drop_deltas(kind: str, rng: np.random.Generator, n: int) -> np.ndarray:
    """Per-case deltas: N(-0.05, 0.15^2), or -1/0/+1 with P 0.3/0.5/0.2 (mean -0.1, sd 0.7)."""
    if kind == "normal":
        return np.clip(rng.normal(-0.05, 0.15, n), -0.5, 0.5)  # clips 1 case in 5,000
    return rng.choice([-1.0, 0.0, 1.0], size=n, p=[0.3, 0.5, 0.2])


@pytest.mark.parametrize(("kind", "margin", "sd"), [("normal", 0.05, 0.15), ("binary", 0.1, 0.7)])
def test_cases_needed_delivers_its_power(kind: str, margin: float, sd: float) -> None:
    """At n = cases_needed(sd, margin), a true drop of margin fails the gate 80% ± 3 sd of runs."""
    n = stats.cases_needed(sd, margin, CONFIDENCE, power=0.8)
    rng = np.random.default_rng(17)
    detected = 0
    for rep in range(REPS):
        deltas = drop_deltas(kind, rng, n)
        baseline = np.where(deltas < 0, -deltas, 0.0)  # scores in [0, 1] with these deltas
        estimate = stats.paired_delta(
            (baseline + deltas)[:, None], baseline[:, None], resamples=RESAMPLES, seed=rep
        )
        assert estimate is not None
        detected += estimate.ci_high < 0
    power = detected / REPS
    print(f"\ncases_needed({kind}, sd={sd}, margin={margin}) = {n}: detected {power:.2%}")
    assert abs(power - 0.8) <= 3 * mc_sd(0.8)
