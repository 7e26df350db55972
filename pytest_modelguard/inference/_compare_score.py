"""Tango's score test and interval for paired 0/1 scores (Stat Med 1998; 17: 891-908).

With b cases the candidate got right and the baseline wrong, c the other way round,
and n cases in all, the statistic for H0: delta = d is

    T(d) = (b - c - n d) / sqrt(n (2 p21 + d (1 - d)))

with p21 the maximum-likelihood P(candidate 0, baseline 1) under delta = d. T is
decreasing in d; the interval is {d: |T(d)| <= z}, found by bisection, and the
p-values are normal tails of the same T, so test and interval are one procedure.
At d = 0 it is McNemar's asymptotic test. No continuity correction: enumerating
the trinomial law of (b, c) exactly (bench_verdicts.py --exact) puts the gate's
one-sided errors (A/A: CI below 0; exactly m worse: CI above -m) at most 2.78% for a
nominal 2.5% at every n from 10 to 1,000, accuracy 0.9-0.995; the other tail at -m
(a drop of m shown larger) reaches 5.6%, so two-sided coverage dips to 92.85%.
"""

from __future__ import annotations

import math
from statistics import NormalDist

NORMAL = NormalDist()
_BISECTIONS = 64  # enough to reach adjacent floats on [-1, 1]


class InvertedScore:
    """A score statistic T(d), decreasing in d, as one-sided tests and their interval."""

    def statistic(self, delta: float) -> float:
        """T(delta) for H0: the mean delta is ``delta``."""
        raise NotImplementedError

    def p_above(self, boundary: float) -> float:
        """One-sided p of H0: delta <= boundary."""
        return upper_tail(self.statistic(boundary))

    def p_below(self, boundary: float) -> float:
        """One-sided p of H0: delta >= boundary."""
        return upper_tail(-self.statistic(boundary))

    def bounds(self, tail: float) -> tuple[float, float]:
        """The interval {d: |T(d)| <= z} with `tail` in each tail."""
        z = NORMAL.inv_cdf(1 - tail)
        return self._crossing(z), self._crossing(-z)

    def _crossing(self, level: float) -> float:
        """The least d in [-1, 1] with T(d) <= level (T is decreasing)."""
        low, high = -1.0, 1.0
        if self.statistic(low) <= level:
            return low
        if self.statistic(high) > level:
            return high
        for _ in range(_BISECTIONS):
            middle = (low + high) / 2
            if middle in (low, high):
                break
            if self.statistic(middle) > level:
                low = middle
            else:
                high = middle
        return high


class ScoreTest(InvertedScore):
    """Tango's test of the paired difference of proportions at any boundary."""

    method = "tango-score"

    def __init__(self, better: int, worse: int, n: int) -> None:
        self.better, self.worse, self.n = better, worse, n

    def statistic(self, delta: float) -> float:
        """T(delta), +-inf where the variance vanishes (delta = +-1), 0 when 0/0."""
        b, c, n = self.better, self.worse, self.n
        a_ = 2 * n
        b_ = -b - c + (2 * n - b + c) * delta
        c_ = -c * delta * (1 - delta)
        p21 = max(0.0, (math.sqrt(max(0.0, b_ * b_ - 4 * a_ * c_)) - b_) / (2 * a_))
        variance = n * (2 * p21 + delta * (1 - delta))
        numerator = b - c - n * delta
        if variance <= 0:
            return 0.0 if numerator == 0 else math.copysign(math.inf, numerator)
        return numerator / math.sqrt(variance)


def upper_tail(t: float) -> float:
    """P(Z > t) for a standard normal Z, accurate far into the tail."""
    return 0.5 * math.erfc(t / math.sqrt(2))
