"""Simulations behind issue #19's PPI and judge-repeat intervals (about 25 s on one core).

A judge biased toward the candidate by 0.1 gives a judge-only interval that misses the
human-scale delta almost always; PPI++ on 40 labels of 200 cases covers it at the
nominal rate, and with an unbiased judge it is narrower than the labelled cases alone.
With judge repeats, the floored t on per-case means covers at the nominal rate, while
the two-stage bootstrap (cases, then judge draws within a case) counts the judge's
noise twice and over-covers. Run with -s to see the figures.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from pytest_modelguard.inference.ppi import judged_delta, ppi_delta

N, N_LABELLED = 200, 40
THETA = 0.38 - 0.40  # E[q_c] - E[q_b] for the uniforms below: the true human-scale delta
BIAS = 0.1


def _answers(rng: np.random.Generator, q: np.ndarray, bias: float) -> tuple[np.ndarray, ...]:
    """Human 0/1 labels with mean q, and judge scores whose mean is q + bias, in [0, 1].

    The judge reads the answer's correctness P (the human's label, except 30 % of the
    time a fresh draw from the same q, so E[P | q] = q) and scores
    0.5 P + 0.5 q + U(-0.1, 0.1) + bias: judge = human + mean-zero noise + bias.
    """
    human = (rng.random(q.size) < q).astype(float)
    fresh = (rng.random(q.size) < q).astype(float)
    read = np.where(rng.random(q.size) < 0.3, fresh, human)
    return human, 0.5 * read + 0.5 * q + rng.uniform(-0.1, 0.1, q.size) + bias


def _suite(rng: np.random.Generator, bias: float) -> tuple[np.ndarray, ...]:
    """Judge scores of N cases and human labels (NaN outside a random labelled subset)."""
    human_b, judge_b = _answers(rng, rng.uniform(0.2, 0.6, N), 0.0)
    human_c, judge_c = _answers(rng, rng.uniform(0.2, 0.56, N), bias)
    unlabelled = np.ones(N, dtype=bool)
    unlabelled[rng.choice(N, N_LABELLED, replace=False)] = False
    human_b[unlabelled] = np.nan
    human_c[unlabelled] = np.nan
    return judge_b, judge_c, human_b, human_c


def _run(bias: float, replications: int, seed: int, classical: bool) -> dict[str, float]:
    """Coverage of THETA and mean width of each interval; `classical` adds lam = 0's."""
    rng = np.random.default_rng(seed)
    hits = {"ppi": 0, "judge": 0, "labelled": 0}
    widths = {"ppi": 0.0, "judge": 0.0, "labelled": 0.0} | (
        {"labelled_t": 0.0} if classical else {}
    )
    lam = 0.0
    for _ in range(replications):
        judge_b, judge_c, human_b, human_c = _suite(rng, bias)
        assert judge_b.min() >= 0 and judge_c.max() <= 1
        r = ppi_delta(judge_b, judge_c, human_b, human_c)
        intervals = {
            "ppi": (r.ci_low, r.ci_high),
            "judge": r.judge_only_ci,
            "labelled": r.labelled_only_ci,
        }
        for name, (low, high) in intervals.items():
            hits[name] += low <= THETA <= high
            widths[name] += high - low
        if classical:  # the labelled cases alone, by the same t: never narrower
            alone = ppi_delta(judge_b, judge_c, human_b, human_c, lam=0.0)
            assert r.ci_high - r.ci_low <= alone.ci_high - alone.ci_low + 1e-12
            widths["labelled_t"] += alone.ci_high - alone.ci_low
        lam += r.lam
    out = {f"cover_{k}": v / replications for k, v in hits.items()}
    out |= {f"width_{k}": v / replications for k, v in widths.items()}
    out["lam"] = lam / replications
    return out


def _mc_se(p: float, replications: int) -> float:
    return math.sqrt(p * (1 - p) / replications)


def test_biased_judge_only_misses_and_ppi_covers() -> None:
    replications = 6000  # MC SE of a 95 % rate: 0.0028; the 0.94 bar is 3.5 of them below
    out = _run(BIAS, replications, seed=19, classical=False)
    print(f"\nbiased judge (+{BIAS} toward the candidate), {replications} replications: {out}")
    assert out["cover_judge"] < 0.5  # far below nominal: the judge's bias is ~4 of its SEs
    assert out["cover_ppi"] >= 0.94
    assert abs(out["cover_ppi"] - 0.95) <= 4 * _mc_se(0.95, replications)


def test_unbiased_judge_ppi_is_narrower_than_the_labels_alone() -> None:
    replications = 1500
    out = _run(0.0, replications, seed=20, classical=True)
    gain = (out["width_labelled_t"] / out["width_ppi"]) ** 2
    print(
        f"\nunbiased judge, {replications} replications: {out}\n"
        f"power gain: the {N_LABELLED} labels count as {gain * N_LABELLED:.0f} "
        f"(variance ratio {gain:.2f} against the labelled-only t interval)"
    )
    assert out["width_ppi"] < out["width_labelled"] and out["width_ppi"] < out["width_labelled_t"]
    assert out["cover_ppi"] >= 0.95 - 4 * _mc_se(0.95, replications)
    assert out["cover_judge"] >= 0.95 - 4 * _mc_se(0.95, replications)


# -- judge repeats -------------------------------------------------------------------------

CASES, REPEATS, RESAMPLES = 100, 3, 800
DELTA = 0.02  # E[q_c - q_b] = E[delta] below


def _draws(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Cases x repeats judge verdicts: pass with probability q, a noisy judge of each answer."""
    q_b = rng.uniform(0.15, 0.85, CASES)
    q_c = q_b + rng.uniform(-0.1, 0.14, CASES)
    base = rng.random((CASES, REPEATS)) < q_b[:, None]
    cand = rng.random((CASES, REPEATS)) < q_c[:, None]
    return base.astype(float), cand.astype(float)


def _true_share() -> float:
    """The judge's share of the per-case delta variance, from the uniforms' moments."""
    between = 0.24**2 / 12  # var(delta)
    mean_b, square_b = 0.5, 0.7**2 / 12 + 0.25
    mean_c, square_c = mean_b + DELTA, square_b + 2 * mean_b * DELTA + between + DELTA**2
    within = (mean_b - square_b + mean_c - square_c) / REPEATS  # E[q(1 - q)] / k, both sides
    return within / (between + within)


def _two_stage(rng: np.random.Generator, base: np.ndarray, cand: np.ndarray) -> tuple[float, float]:
    """Percentile interval of the bootstrap resampling cases, then draws within each case."""
    cases = rng.integers(CASES, size=(RESAMPLES, CASES, 1))
    means = []
    for side in (base, cand):
        draws = rng.integers(REPEATS, size=(RESAMPLES, CASES, REPEATS))
        means.append(side[cases, draws].mean(axis=(1, 2)))
    low, high = np.quantile(means[1] - means[0], [0.025, 0.975])
    return float(low), float(high)


def test_judge_repeats_one_stage_covers_and_two_stage_overcovers() -> None:
    replications = 400
    rng = np.random.default_rng(3)
    hits, widths, shares = np.zeros(2), np.zeros(2), []
    for _ in range(replications):
        base, cand = _draws(rng)
        one = judged_delta(base, cand)
        c = one.comparison
        intervals = [(c.ci_low, c.ci_high), _two_stage(rng, base, cand)]
        for k, (low, high) in enumerate(intervals):
            hits[k] += low <= DELTA <= high
            widths[k] += high - low
        assert one.judge_noise_share is not None
        shares.append(one.judge_noise_share)
    cover, width = hits / replications, widths / replications
    true_share = _true_share()
    print(
        f"\njudge repeats (k={REPEATS}), {replications} replications: coverage one-stage "
        f"{cover[0]:.3f}, two-stage {cover[1]:.3f}; mean width {width[0]:.4f} vs "
        f"{width[1]:.4f}; judge_noise_share median {np.median(shares):.3f}, "
        f"mean {np.mean(shares):.3f} (true {true_share:.3f}; the clip at 1 pulls the mean down)"
    )
    se = _mc_se(0.95, replications)
    assert abs(cover[0] - 0.95) <= 3.5 * se
    assert cover[1] >= 0.95 + 2 * se  # the judge's noise counted twice: too wide
    expected = math.sqrt(1 + true_share * (REPEATS - 1) / REPEATS)  # two-stage / one-stage sd
    assert width[1] / width[0] == pytest.approx(expected, rel=0.06)
    assert np.median(shares) == pytest.approx(true_share, abs=0.03)
