"""Paired-bootstrap statistics for the quality gate (SPEC §8): numpy (scipy lazily), no pytest.

The unit of resampling is the case: a case's repeats are averaged first, so the
bootstrap of the per-case deltas is a cluster bootstrap of the raw scores.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

import numpy as np

if TYPE_CHECKING:
    import numpy.typing as npt

from .bootstrap import (
    NORMAL,
    FloatArray,
    Method,
    bootstrap_level,
    bootstrap_means,
    bootstrap_p,
    critical_z,
    interval,
)

__all__ = [
    "MIN_RESAMPLES",
    "DeltaEstimate",
    "Method",
    "Scores",
    "bonferroni_confidence",
    "bootstrap_level",
    "cases_needed",
    "ci_too_wide",
    "holm",
    "min_pairs",
    "paired_delta",
    "repeat_agreement",
]

MIN_RESAMPLES = 100  # below this a 95% CI's endpoints rest on a handful of extreme resamples
_SCORE_ATOL = 1e-9  # scores may overshoot [0, 1] by rounding, not more

Scores: TypeAlias = "Sequence[Sequence[float]] | npt.NDArray[np.float64]"  # per case, its repeats


@dataclass(frozen=True, slots=True)
class DeltaEstimate:
    """The paired quality delta (candidate - baseline) with its bootstrap CI.

    `method` is the interval actually used ("bca", "percentile", or "none" when
    degenerate); `p_method` says where `p_value` came from ("mcnemar-exact",
    "bootstrap-bca", "bootstrap-percentile", "none"). `degenerate` is True when
    there are too few cases for any test at this confidence (see `min_pairs`):
    the CI is then [-1, 1], the whole range a delta of [0, 1] scores can take.
    """

    mean: float
    ci_low: float
    ci_high: float
    p_value: float
    n_pairs: int
    confidence: float
    method: str
    seed: int
    resamples: int
    std_delta: float
    p_method: str
    degenerate: bool

    def to_dict(self) -> dict[str, float | int | str | bool]:
        """The JSON report's `delta` (SPEC §9) plus std_delta, method, p_method, degenerate."""
        return {
            "mean": self.mean,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "p_value": self.p_value,
            "n_pairs": self.n_pairs,
            "confidence": self.confidence,
            "std_delta": self.std_delta,
            "method": self.method,
            "p_method": self.p_method,
            "degenerate": self.degenerate,
        }


def paired_delta(
    candidate: Scores,
    baseline: Scores,
    *,
    confidence: float = 0.95,
    resamples: int = 10_000,
    seed: int = 0,
    method: Method = "bca",
) -> DeltaEstimate | None:
    """Mean of per-case deltas with a paired (cluster) bootstrap CI; None when there is no case.

    `candidate[i]` and `baseline[i]` are the scores in [0, 1] of case i's repeats
    (lists, or a cases x repeats array when every case has as many repeats).
    A NaN, a score outside [0, 1] or a case without scores raises ValueError
    naming the case. Fewer than `min_pairs(confidence)` cases give a degenerate
    estimate. The p-value (two-sided, H0: delta = 0) is McNemar's exact test
    when every score is 0/1 with one repeat per case, else the smallest
    1 - confidence at which the interval excludes 0.

    The interval is the bootstrap `method` interval at `bootstrap_level(confidence, n)`.
    Simulated A/A suites at n = 50 (tests/simulations/test_stats_simulation.py) showed the
    textbook level under-covering, BCa and percentile alike (93.4-94.3% for
    continuous scores or repeats; gate false alarms up to 3.1% for 2.5% nominal);
    the widened level brings both to 94.6-95.3% (96.4% for 0/1 scores, one repeat).
    The two calibrate alike within Monte-Carlo error; BCa is the default because
    it also corrects for skewed deltas (e.g. 3 candidate repeats vs 1 baseline).
    """
    _check_options(confidence, resamples, method)
    if len(candidate) != len(baseline):
        raise ValueError(f"{len(candidate)} candidate cases but {len(baseline)} baseline cases")
    if len(candidate) == 0:
        return None
    cand, cand_binary, _ = _case_means(candidate, "candidate")
    base, base_binary, _ = _case_means(baseline, "baseline")
    deltas = cand - base
    n = deltas.size
    if n < min_pairs(confidence):
        return _degenerate(deltas, confidence, resamples, seed)
    means = bootstrap_means(deltas, resamples, seed)
    ci_low, ci_high, bca = interval(deltas, means, confidence, method)
    used = "bca" if bca else "percentile"
    if cand_binary and base_binary:
        p_value, p_method = _mcnemar_p(deltas), "mcnemar-exact"
    else:
        p_value, p_method = bootstrap_p(means, n, bca), f"bootstrap-{used}"
    return DeltaEstimate(
        mean=float(deltas.mean()), ci_low=ci_low, ci_high=ci_high, p_value=p_value,
        n_pairs=n, confidence=confidence, method=used, seed=seed, resamples=resamples,
        std_delta=_std(deltas), p_method=p_method, degenerate=False,
    )  # fmt: skip


def _degenerate(deltas: FloatArray, confidence: float, resamples: int, seed: int) -> DeltaEstimate:
    """Too few cases for any test: the CI is every delta [0, 1] scores allow, p = 1."""
    return DeltaEstimate(
        mean=float(deltas.mean()), ci_low=-1.0, ci_high=1.0, p_value=1.0,
        n_pairs=deltas.size, confidence=confidence, method="none", seed=seed,
        resamples=resamples, std_delta=_std(deltas), p_method="none", degenerate=True,
    )  # fmt: skip


def min_pairs(confidence: float) -> int:
    """Fewest cases with which a distribution-free paired test can reach `confidence` at all.

    Even when every case moves the same way, a sign or permutation test on n
    cases cannot give a two-sided p below 2**(1 - n) (nor can exact McNemar).
    Below this n the bootstrap would still draw a confident-looking interval,
    so `paired_delta` returns a degenerate estimate instead.
    """
    return max(2, math.ceil(1 + math.log2(1 / (1 - confidence)) - 1e-9))


def _check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")


def _check_options(confidence: float, resamples: int, method: str) -> None:
    _check_confidence(confidence)
    if resamples < MIN_RESAMPLES:
        raise ValueError(
            f"resamples must be at least {MIN_RESAMPLES} (10,000 recommended), got {resamples!r}"
        )
    if method not in ("bca", "percentile"):
        raise ValueError(f"method must be 'bca' or 'percentile', got {method!r}")


def _case_means(scores: Scores, who: str) -> tuple[FloatArray, bool, bool]:
    """Per-case mean of the repeats, whether every score is 0/1 with one repeat per case,
    and whether every score is 0/1 (any repeats).

    A 2-D array (cases x repeats) is read as is; anything else case by case. A score
    within float noise (1e-9) of 0 or 1 is that atom: `1 - 1e-12` is a 1.
    """
    if isinstance(scores, np.ndarray) and scores.ndim == 2:
        lengths = np.full(scores.shape[0], scores.shape[1], dtype=np.intp)
        flat = scores.astype(float).ravel()
    else:
        lengths = np.fromiter(map(len, scores), dtype=np.intp, count=len(scores))
        flat = np.fromiter(itertools.chain.from_iterable(scores), float, int(lengths.sum()))
    empty = np.flatnonzero(lengths == 0)
    if empty.size:
        raise ValueError(f"case {empty[0]}: no {who} score")
    ends = np.cumsum(lengths)
    bad = np.flatnonzero(~((flat >= -_SCORE_ATOL) & (flat <= 1 + _SCORE_ATOL)))
    if bad.size:
        case = int(np.searchsorted(ends, bad[0], side="right"))
        raise ValueError(
            f"case {case}: {who} score {float(flat[bad[0]])!r} is not a number in [0, 1]"
        )
    flat = np.where(flat <= _SCORE_ATOL, 0.0, np.where(flat >= 1 - _SCORE_ATOL, 1.0, flat))
    means: FloatArray = np.add.reduceat(flat, ends - lengths) / lengths
    zero_one = bool(np.all((flat == 0) | (flat == 1)))
    return means, zero_one and bool(np.all(lengths == 1)), zero_one


def _std(deltas: FloatArray) -> float:
    """Sample sd of the per-case deltas; 0 for a single case (no spread observed)."""
    return float(deltas.std(ddof=1)) if deltas.size > 1 else 0.0


def _mcnemar_p(deltas: FloatArray) -> float:
    """Exact McNemar p-value of deltas in {-1, 0, 1}: a binomial test on the discordant pairs.

    Binomial(discordant, 1/2) is symmetric, so the two-sided p is twice the smaller
    tail: the same number as scipy.stats.binomtest, a thousand times cheaper.
    """
    better = int(np.count_nonzero(deltas > 0))
    worse = int(np.count_nonzero(deltas < 0))
    return min(1.0, 2 * _binomial_half_cdf(min(better, worse), better + worse))


def _binomial_half_cdf(k: int, n: int) -> float:
    """P(X <= k) for X ~ Binomial(n, 1/2) and k <= n / 2: the sum of C(n, i) over 2**n.

    Summed in integers from i = k down until the rest, at most C(n, i) i / (n - 2i + 1)
    (the terms shrink at least geometrically), is below 2**-64 of the sum: exact to
    the last bit, in O(sqrt(n)) steps.
    """
    term = total = math.comb(n, k)
    for i in range(k, 0, -1):  # term = C(n, i)
        if (term * i) << 64 <= total * (n - 2 * i + 1):
            break
        term = term * i // (n - i + 1)
        total += term
    return total / (1 << n)


def holm(p_values: Mapping[str, float]) -> dict[str, float]:
    """Holm-Bonferroni adjusted p-values (monotone in the raw p-values), in the input's order."""
    for name, p in p_values.items():
        if not 0 <= p <= 1:
            raise ValueError(f"p-value of {name!r} must be in [0, 1], got {p!r}")
    m = len(p_values)
    adjusted: dict[str, float] = {}
    running = 0.0
    for rank, (name, p) in enumerate(sorted(p_values.items(), key=lambda item: item[1])):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[name] = running
    return {name: adjusted[name] for name in p_values}


def bonferroni_confidence(confidence: float, m: int) -> float:
    """Per-interval confidence so that `m` intervals hold jointly with `confidence`."""
    _check_confidence(confidence)
    if m < 1:
        raise ValueError(f"the number of intervals must be at least 1, got {m!r}")
    return 1 - (1 - confidence) / m


def cases_needed(std_delta: float, margin: float, confidence: float, power: float = 0.8) -> int:
    """Cases for a true drop of `margin` to put the whole CI below 0 with probability `power`.

    Normal approximation n = ((z + z_power) * std_delta / margin)^2, with z the
    critical value the interval itself uses on n cases (see `bootstrap_level`),
    and never below `min_pairs(confidence)`. This answers "is the CI narrow
    enough to detect a drop of `margin`": at 95% and power 0.8 that takes a
    half-width of about 0.7 * margin, not just margin.
    """
    _check_confidence(confidence)
    if not margin > 0:
        raise ValueError(f"margin must be positive, got {margin!r}")
    if not (std_delta >= 0 and math.isfinite(std_delta)):
        raise ValueError(f"std_delta must be a finite number >= 0, got {std_delta!r}")
    if not 0 < power < 1:
        raise ValueError(f"power must be in (0, 1), got {power!r}")
    z_power = NORMAL.inv_cdf(power)

    def needed(z: float) -> int:
        return max(min_pairs(confidence), math.ceil(((z + z_power) * std_delta / margin) ** 2))

    # z shrinks as n grows: one step from the large-n answer gives an n that suffices.
    return needed(critical_z(confidence, needed(NORMAL.inv_cdf(1 - (1 - confidence) / 2))))


def ci_too_wide(estimate: DeltaEstimate, margin: float, power: float = 0.8) -> bool:
    """True when `estimate` has fewer cases than `cases_needed` says a drop of `margin` needs."""
    needed = cases_needed(estimate.std_delta, margin, estimate.confidence, power)
    return estimate.degenerate or estimate.n_pairs < needed


def repeat_agreement(scores_per_case: Sequence[Sequence[float]]) -> float | None:
    """Mean over cases with ≥ 2 repeats of 1 - mean |score_i - score_j| over repeat pairs.

    For 0/1 scores that is the fraction of repeat pairs with the same score; for
    graded scores near misses count as partial agreement. None when no case has
    two repeats. Scores must be numbers in [0, 1].
    """
    agreements = []
    for case, scores in enumerate(scores_per_case):
        if len(scores) < 2:  # nothing to agree with: only checked (fast, in Python)
            if not all(-_SCORE_ATOL <= float(x) <= 1 + _SCORE_ATOL for x in scores):
                raise ValueError(
                    f"case {case}: scores must be numbers in [0, 1], got {list(scores)}"
                )
            continue
        values = np.sort(np.asarray(scores, dtype=float))
        if not np.all((values >= -_SCORE_ATOL) & (values <= 1 + _SCORE_ATOL)):
            raise ValueError(f"case {case}: scores must be numbers in [0, 1], got {list(scores)}")
        r = values.size
        # sum over pairs i < j of x_(j) - x_(i), from the order statistics
        spread = float(np.dot(values, 2 * np.arange(r) - r + 1))
        agreements.append(1 - spread / (r * (r - 1) / 2))
    return float(np.mean(agreements)) if agreements else None
