"""What planning and a bootstrap p-value need of scipy, in pure Python: importing
``scipy.special`` for it costs ~0.3 s a run.

``beta_quantile`` is ``scipy.special.betaincinv``, ``chi2_upper_quantile`` is
``scipy.special.chdtri`` and ``t_cdf`` is ``scipy.special.stdtr``, to about 1e-10 relative
(``tests/unit/inference/test_quantiles.py`` holds them to scipy): regularized incomplete
beta and gamma functions by their continued fractions and series, inverted by bisection.
"""

from __future__ import annotations

import math
from collections.abc import Callable

__all__ = ["beta_quantile", "chi2_upper_quantile", "t_cdf"]

_EPS = 1e-16
_TINY = 1e-300
_MAX_TERMS = 100_000


def _beta_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function (modified Lentz)."""
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, _MAX_TERMS):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1 + numerator * d
            d = 1 / (d if abs(d) > _TINY else _TINY)
            c = 1 + numerator / c
            c = c if abs(c) > _TINY else _TINY
            h *= d * c
        if abs(d * c - 1) < _EPS:
            break
    return h


def regularized_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b), the regularized incomplete beta function."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1) / (a + b + 2):
        return math.exp(log_front) * _beta_fraction(a, b, x) / a
    return 1 - math.exp(log_front) * _beta_fraction(b, a, 1 - x) / b


def upper_gamma(s: float, x: float) -> float:
    """Q(s, x), the regularized upper incomplete gamma function."""
    if x <= 0:
        return 1.0
    log_front = s * math.log(x) - x - math.lgamma(s)
    if x < s + 1:  # the series of P(s, x)
        term = total = 1 / s
        for n in range(1, _MAX_TERMS):
            term *= x / (s + n)
            total += term
            if abs(term) < abs(total) * _EPS:
                break
        return 1 - total * math.exp(log_front)
    b = x + 1 - s  # the continued fraction of Q(s, x) (modified Lentz)
    c, d = 1 / _TINY, 1 / b
    h = d
    for n in range(1, _MAX_TERMS):
        an = -n * (n - s)
        b += 2
        d = an * d + b
        d = 1 / (d if abs(d) > _TINY else _TINY)
        c = b + an / c
        c = c if abs(c) > _TINY else _TINY
        h *= d * c
        if abs(d * c - 1) < _EPS:
            break
    return math.exp(log_front) * h


def _bisect(below: Callable[[float], bool], low: float, high: float) -> float:
    """The point of [low, high] where ``below`` turns from True to False."""
    for _ in range(2000):
        middle = (low + high) / 2
        if middle in (low, high):
            break
        low, high = (middle, high) if below(middle) else (low, middle)
    return (low + high) / 2


def beta_quantile(a: float, b: float, p: float) -> float:
    """x with I_x(a, b) = p (``scipy.special.betaincinv``)."""
    if p <= 0:
        return 0.0
    if p >= 1:
        return 1.0
    return _bisect(lambda x: regularized_beta(a, b, x) < p, 0.0, 1.0)


def chi2_upper_quantile(k: float, p: float) -> float:
    """x with P(chi-square with k degrees of freedom > x) = p (``scipy.special.chdtri``)."""
    if p >= 1:
        return 0.0
    if p <= 0:
        return math.inf
    high = max(1.0, 2.0 * k)
    while upper_gamma(k / 2, high / 2) > p:
        high *= 2
    return _bisect(lambda x: upper_gamma(k / 2, x / 2) > p, 0.0, high)


def t_cdf(df: float, t: float) -> float:
    """P(T <= t) for Student's t with ``df`` degrees of freedom (``scipy.special.stdtr``)."""
    tail = 0.5 * regularized_beta(df / 2, 0.5, df / (df + t * t))
    return tail if t <= 0 else 1 - tail
