"""A score test of the mean per-case delta, variance under the null: any scores in [0, 1].

Tango's test generalised from the three paired outcomes {-1, 0, 1} to any per-case
deltas in [-1, 1]: 0/1 scores with repeats (the case is the cluster; its repeats are
averaged), partial credit, rubric and judge scores. For H0: delta = d the deltas' law is
estimated by maximum likelihood on the observed values plus the bounds -1 and 1 (a
multinomial whose mean is d: the empirical likelihood weights
p_j = n_j / (n + lambda (v_j - d)), with the rest of the mass on a bound when the
observed values alone cannot reach mean d), and

    T(d) = (mean - d) / sqrt(V(d) / n),   V(d) = the variance of that law.

With one 0/1 answer per case this is exactly Tango's T. Estimating the variance
under the null is what the Student t on the same deltas lacks: at accuracy 0.98 the
deltas are rare and skewed, a sample with few losses has both a high mean and a small
s², and the t's upper tail is too heavy (NI false passes 0.75% at a nominal 0.5% with
repeats; 4.5% at 2.5% for a 0/1 suite with one half-credit case; bench_verdicts.py).
n tied cases get Tango's half-width z² / (n + z²): no floor needed.
T is decreasing in d; the interval is {d: |T(d)| <= z}.
"""

from __future__ import annotations

import math

import numpy as np

from ._compare_score import InvertedScore
from .bootstrap import FloatArray

_NEWTON = 400  # safeguarded Newton steps for lambda (it converges in about 5)
_STEPS = 200  # for an endpoint (it converges in about 10)
_SMALL = 16  # up to this many distinct deltas, f in plain floats (rubric scores: 5)
_SEEN = 10  # non-zero deltas from which their largest size bounds the null law ...
_LATTICE = 4  # ... when they take at most this many sizes (graded {0, 1/4, ..., 1}: 4)


class ClusterScoreTest(InvertedScore):
    """The null-variance score test of the mean of per-case deltas in [-1, 1]."""

    method = "cluster-score"

    def __init__(self, deltas: FloatArray, reach: float | None = None) -> None:
        """`reach`: the bounds of the deltas' law (default: `reach_of(deltas)`)."""
        self.reach = reach_of(deltas) if reach is None else reach
        values, counts = np.unique(deltas / self.reach, return_counts=True)
        self.values, self.counts = values, counts.astype(float)
        self.n = float(deltas.size)
        self.mean = float(values @ self.counts) / self.n

    def statistic(self, delta: float) -> float:
        """T(delta): +-inf where the null variance vanishes (|delta| >= reach), 0 when 0/0."""
        return self._scaled(delta / self.reach)

    def bounds(self, tail: float) -> tuple[float, float]:
        """The interval {d: |T(d)| <= z} with `tail` in each tail."""
        low, high = super().bounds(tail)
        return low * self.reach, high * self.reach

    def _scaled(self, delta: float) -> float:
        """T at `delta` in units of the reach: the law's bounds are -1 and 1."""
        numerator = self.mean - delta
        variance = self.null_variance(delta) if -1 < delta < 1 else 0.0
        if variance <= 0:
            return 0.0 if numerator == 0 else math.copysign(math.inf, numerator)
        return numerator / math.sqrt(variance / self.n)

    def null_variance(self, delta: float) -> float:
        """The variance, in units of the reach squared, of the maximum-likelihood law with
        mean `delta` (in units of the reach, -1 < delta < 1)."""
        x, counts, n = self.values - delta, self.counts, self.n
        lam, value = self._lambda(x, delta)
        weights = counts / (n + lam * x)
        variance = float(weights @ (x * x))
        rest = lam * value / n  # the mass the observed values leave: exactly 1 - sum(weights)
        if rest > 0:  # mass on the bound the observed values cannot reach
            bound = 1.0 if lam < 0 else -1.0
            variance += rest * (bound - delta) ** 2
        return variance

    def _lambda(self, x: FloatArray, delta: float) -> tuple[float, float]:
        """The root of f(l) = sum n_j x_j / (n + l x_j) on [-n / (1 - d), n / (1 + d)],
        and f there.

        f decreases; at a bound not observed f may keep its sign: lambda is that bound
        (the bound then carries the missing mass). Newton's method inside a bracket that
        every step shrinks, bisecting when a step leaves it; a step too small to move is
        taken as converged when the mass it leaves, l f(l) / n, is negligible or f changes
        sign just beyond it (a few ulps from an observed bound, f's pole, Newton's steps
        are tiny too, far from the root).
        """
        counts, n = self.counts, self.n
        low, high = -n / (1 - delta), n / (1 + delta)
        top_seen, bottom_seen = self.values[-1] >= 1, self.values[0] <= -1
        at_low, at_high = _f(counts, x, n, low)[0], _f(counts, x, n, high)[0]
        if not top_seen and at_low <= 0:
            return low, at_low
        if not bottom_seen and at_high >= 0:
            return high, at_high
        lam = 0.0
        for _ in range(_NEWTON):
            value, slope = _f(counts, x, n, lam)
            if value == 0:
                return lam, value
            if value > 0:
                low = lam
            else:
                high = lam
            step = lam - value / slope if slope < 0 else math.nan
            if not low < step < high:
                lam = (low + high) / 2
                if lam in (low, high):
                    return lam, _f(counts, x, n, lam)[0]
                continue
            move = step - lam
            if abs(move) > 1e-14 * max(n, abs(lam)):  # lambda's scale is n
                lam = step
                continue
            if abs(lam * value) <= 1e-12 * n:
                return lam, value
            probe = lam + math.copysign(max(4 * abs(move), 8 * math.ulp(lam)), move)
            if low < probe < high and (_f(counts, x, n, probe)[0] > 0) != (value > 0):
                return lam, value
            lam = (low + high) / 2
        return lam, _f(counts, x, n, lam)[0]

    def _crossing(self, level: float) -> float:
        """The least d in [-1, 1] with T(d) <= level (T is decreasing).

        The Illinois variant of regula falsi on T(d) - level, a bisection step
        whenever an end is infinite; to within 1e-15.
        """
        low, high = -1.0, 1.0
        g_low, g_high = self._scaled(low) - level, self._scaled(high) - level
        if g_low <= 0:
            return low
        if g_high > 0:
            return high
        side = 0
        for _ in range(_STEPS):
            if high - low <= 1e-15:
                break
            middle = (low + high) / 2
            if math.isfinite(g_low) and math.isfinite(g_high):
                middle = (low * g_high - high * g_low) / (g_high - g_low)
                if not low < middle < high:
                    middle = (low + high) / 2
            g = self._scaled(middle) - level
            if g > 0:
                low, g_low = middle, g
                g_high = g_high / 2 if side == 1 else g_high
                side = 1
            else:
                high, g_high = middle, g
                g_low = g_low / 2 if side == -1 else g_low
                side = -1
        return high


def reach_of(deltas: FloatArray) -> float:
    """How far the null law may put the mass the observed deltas leave: 1 (the bound of a
    delta of [0, 1] scores), or the largest |delta| seen once `_SEEN` deltas differ from 0
    on a lattice of at most `_LATTICE` sizes (half credit, rubric steps, repeats). Ten
    half-credit losses and no gain then weigh as Tango's ten losses of 1: an unseen gain
    of a whole point is not the likeliest law. Continuous (judge) deltas keep 1: a plug-in
    bound from their largest value passed 7% of 10-case suites at the margin."""
    nonzero = np.abs(deltas[deltas != 0])
    sizes = np.unique(np.round(nonzero, 9)).size
    return float(nonzero.max()) if nonzero.size >= _SEEN and sizes <= _LATTICE else 1.0


def _f(counts: FloatArray, x: FloatArray, n: float, lam: float) -> tuple[float, float]:
    """f(lam) and f'(lam); +inf where a denominator vanishes (an observed bound)."""
    if x.size <= _SMALL:
        return _f_small(counts.tolist(), x.tolist(), n, lam)
    denominator = n + lam * x
    if np.any(denominator <= 0):
        return math.inf if lam < 0 else -math.inf, -math.inf
    ratio = x / denominator
    return float(counts @ ratio), -float(counts @ (ratio * ratio))


def _f_small(counts: list[float], x: list[float], n: float, lam: float) -> tuple[float, float]:
    """`_f` in plain floats: for a few distinct deltas numpy's per-call cost dominates."""
    value = slope = 0.0
    for count, xj in zip(counts, x, strict=True):
        denominator = n + lam * xj
        if denominator <= 0:
            return math.inf if lam < 0 else -math.inf, -math.inf
        ratio = xj / denominator
        value += count * ratio
        slope -= count * ratio * ratio
    return value, slope
