"""Student t on per-case mean deltas, with a variance floor: repeats and graded scores.

T(d) = (mean - d) / sqrt(v / n) on n - 1 degrees of freedom, v = max(s², floor).
The floor is the variance at which n tied cases get the half-width of Tango's score
interval for n tied 0/1 answers, z² / (n + z²): n cases that all agree cannot rule
out a difference on a share of about z² / n of unseen cases, so no sample variance,
however small, gives a narrower interval than that.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

from .bootstrap import _T_SUM_MAX_DF, FloatArray, _cornish_fisher, _t_central, t_quantile

NORMAL = NormalDist()


def variance_floor(n: int, confidence: float) -> float:
    """The v at which t_{n-1} sqrt(v / n) equals z² / (n + z²) at `confidence`."""
    z = NORMAL.inv_cdf((1 + confidence) / 2)
    half_width = z * z / (n + z * z)
    return n * (half_width / t_quantile(n - 1, confidence)) ** 2


class FlooredT:
    """The floored t test of the mean of per-case deltas at any boundary.

    The floor is set once, at `confidence` (the run's level); every level the
    caller then asks for (Holm steps) uses the same statistic.
    """

    method = "student-t-floored"

    def __init__(self, deltas: FloatArray, confidence: float) -> None:
        self.n = deltas.size
        self.mean = math.fsum(deltas.tolist()) / self.n
        variance = float(np.var(deltas, ddof=1))
        self.floored = variance < variance_floor(self.n, confidence)
        self.se = math.sqrt(max(variance, variance_floor(self.n, confidence)) / self.n)

    def p_above(self, boundary: float) -> float:
        """One-sided p of H0: delta <= boundary."""
        return t_upper_tail((self.mean - boundary) / self.se, self.n - 1)

    def p_below(self, boundary: float) -> float:
        """One-sided p of H0: delta >= boundary."""
        return t_upper_tail((boundary - self.mean) / self.se, self.n - 1)

    def bounds(self, tail: float) -> tuple[float, float]:
        """mean -+ t quantile x se, with `tail` in each tail, within [-1, 1]."""
        half = t_quantile(self.n - 1, 1 - 2 * tail) * self.se
        return max(-1.0, self.mean - half), min(1.0, self.mean + half)


def t_upper_tail(t: float, df: int) -> float:
    """P(T > t) for Student's T with integer `df`, consistent with `t_quantile`; in [0, 1].

    Up to df 500 the exact finite sum `t_quantile` inverts; beyond, the normal tail
    at the z whose Cornish-Fisher quantile is |t| (Newton with the derivative's
    leading terms; beyond |t| = 38 the tail is below 1e-300).
    """
    x = abs(t)
    if df <= _T_SUM_MAX_DF:
        tail = (1 - _t_central(x, df)) / 2 if math.isfinite(x) else 0.0
    elif x > 38:
        tail = 0.0
    else:
        z = x
        for _ in range(12):
            z -= (_cornish_fisher(z, df) - x) / (1 + (3 * z * z + 1) / (4 * df))
        tail = 0.5 * math.erfc(z / math.sqrt(2))
    tail = min(0.5, max(0.0, tail))  # the finite sum can overshoot 1 by an ulp
    return tail if t >= 0 else 1 - tail
