"""The bootstrap engine behind `stats.paired_delta`: two exact samplers, BCa, p-values.

Works on per-case deltas (a 1-D float array); `stats` turns scores into deltas.
Normal quantiles come from the standard library and Student t ones from a finite
sum, and a bootstrap p-value's t tail from `quantiles`: no verdict here imports scipy.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from statistics import NormalDist
from typing import TYPE_CHECKING, Literal, NamedTuple, TypeAlias

import numpy as np

from .quantiles import t_cdf

if TYPE_CHECKING:
    import numpy.typing as npt

Method = Literal["bca", "percentile"]
FloatArray: TypeAlias = "npt.NDArray[np.float64]"  # numpy.typing: for the type checker only

MAX_DISTINCT = 256  # fast path: at most this many distinct per-case deltas ...
_FAST_PATH_RATIO = 8  # ... and at least 8 cases per distinct value (else gathering is cheaper)
_CHUNK_ELEMENTS = 1 << 18  # indices per chunk: 2 MB of indices + 2 MB of gathered deltas
_TIE_ATOL = 1e-12  # bootstrap means this close count as equal (float noise on a lattice)
_WORKERS = os.cpu_count() or 1  # threads for the general path (numpy releases the GIL)
_T_SUM_MAX_DF = 500  # Student t: a finite sum up to here, Cornish-Fisher beyond
NORMAL = NormalDist()


def bootstrap_means(deltas: FloatArray, resamples: int, seed: int) -> FloatArray:
    """`resamples` bootstrap means of `deltas`, by the cheaper of two exact samplers."""
    values, counts = np.unique(deltas, return_counts=True)
    if values.size <= MAX_DISTINCT and values.size * _FAST_PATH_RATIO <= deltas.size:
        return _multinomial_means(values, counts, resamples, seed)
    return _gather_means(deltas, resamples, seed)


def _multinomial_means(
    values: FloatArray, counts: npt.NDArray[np.intp], resamples: int, seed: int
) -> FloatArray:
    """Fast path: a resample is a multinomial draw of how often each distinct value recurs.

    Exact in distribution and O(distinct values) per resample instead of O(n).
    """
    n = int(counts.sum())
    rng = np.random.default_rng(seed)
    rows = max(1, _CHUNK_ELEMENTS // values.size)
    chunks = [
        rng.multinomial(n, counts / n, size=min(rows, resamples - start)) @ values
        for start in range(0, resamples, rows)
    ]
    return np.concatenate(chunks) / n


def _gather_means(deltas: FloatArray, resamples: int, seed: int) -> FloatArray:
    """General path: resample indices chunk by chunk, each chunk with its own seeded stream.

    Chunks are independent of the number of threads, so results depend only on
    the seed; each worker holds about 4 MB (16 bytes a case once n > 262,144).
    """
    n = deltas.size
    rows = max(1, _CHUNK_ELEMENTS // n)
    starts = range(0, resamples, rows)
    streams = np.random.SeedSequence(seed).spawn(len(starts))
    out = np.empty(resamples)

    def fill(k: int) -> None:
        stop = min(starts[k] + rows, resamples)
        idx = np.random.default_rng(streams[k]).integers(0, n, size=(stop - starts[k], n))
        out[starts[k] : stop] = np.take(deltas, idx).sum(axis=1) / n

    chunks = range(len(starts))
    workers = min(_WORKERS, len(starts))
    if workers > 1:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(fill, chunks))
    else:
        for k in chunks:
            fill(k)
    return out


class Bca(NamedTuple):
    """BCa constants: bias correction and acceleration."""

    z0: float
    accel: float


def interval(
    deltas: FloatArray, means: FloatArray, confidence: float, method: Method
) -> tuple[float, float, Bca | None]:
    """CI endpoints from the bootstrap means, and the BCa constants if BCa was used.

    BCa falls back to percentile when it is undefined: all deltas equal (no
    jackknife spread) or an acceleration so large the BCa map is not monotone.
    """
    z = critical_z(confidence, deltas.size)
    bca = _bca_constants(deltas, means) if method == "bca" else None
    levels = _bca_levels(bca, z) if bca else None
    if levels is None:
        bca, levels = None, (NORMAL.cdf(-z), NORMAL.cdf(z))
    low, high = np.quantile(means, levels)
    return float(low), float(high), bca


def bootstrap_level(confidence: float, n: int) -> float:
    """The textbook bootstrap level our interval on n cases uses for a `confidence` CI.

    Bootstrap intervals of a mean are too narrow on few cases: they use the
    plug-in sd (divisor n) and normal quantiles. Like Hesterberg's expanded
    percentile interval (Am. Stat. 2015) we widen the level so that its normal
    quantile is sqrt(n / (n - 1)) · t_{n-1}; the change fades as n grows
    (95% → 95.8% at n = 50, 95.07% at n = 500).
    """
    return 1 - 2 * NORMAL.cdf(-critical_z(confidence, n))


def critical_z(confidence: float, n: int) -> float:
    return math.sqrt(n / (n - 1)) * t_quantile(n - 1, confidence)


def t_quantile(df: int, confidence: float) -> float:
    """The t > 0 with P(|T| < t) = `confidence` for Student's T with integer `df` >= 1.

    Newton's method on the exact finite sum from the normal quantile, which lies below
    the root of that concave function (so every step stays below it); for large df the
    Cornish-Fisher expansion, whose next term is below 1e-13 relative there.
    """
    z = NORMAL.inv_cdf((1 + confidence) / 2)
    if df > _T_SUM_MAX_DF:
        return _cornish_fisher(z, df)
    t = z
    for _ in range(200):
        step = (confidence - _t_central(t, df)) / (2 * _t_density(t, df))
        t += step
        if step <= 4e-16 * t:
            break
    return t


def _t_central(t: float, df: int) -> float:
    """P(|T| < t) for t >= 0 and integer df: Abramowitz & Stegun 26.7.3-4, a finite sum."""
    root = math.sqrt(df + t * t)
    sin, cos2 = t / root, df / (root * root)
    if df % 2 == 0:  # sin θ (1 + 1/2 cos²θ + 1·3/(2·4) cos⁴θ + ...)
        term = total = 1.0
        for k in range(1, df // 2):
            term *= cos2 * (2 * k - 1) / (2 * k)
            total += term
        return sin * total
    theta = math.atan2(t, math.sqrt(df))  # 2/π (θ + sin θ (cos θ + 2/3 cos³θ + ...))
    term = total = math.sqrt(cos2) if df > 1 else 0.0
    for k in range(1, (df - 1) // 2):
        term *= cos2 * (2 * k) / (2 * k + 1)
        total += term
    return 2 / math.pi * (theta + sin * total)


def _t_density(t: float, df: int) -> float:
    log_norm = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    return math.exp(log_norm - (df + 1) / 2 * math.log1p(t * t / df))


def _cornish_fisher(z: float, df: int) -> float:
    """Student t quantile from the normal one `z`: Abramowitz & Stegun 26.7.5, to 1/df**5."""
    z2 = z * z
    g1 = (z2 + 1) * z / 4
    g2 = ((5 * z2 + 16) * z2 + 3) * z / 96
    g3 = (((3 * z2 + 19) * z2 + 17) * z2 - 15) * z / 384
    g4 = ((((79 * z2 + 776) * z2 + 1482) * z2 - 1920) * z2 - 945) * z / 92160
    g5 = (((((27 * z2 + 339) * z2 + 930) * z2 - 1782) * z2 - 765) * z2 + 17955) * z / 368640
    return z + (g1 + (g2 + (g3 + (g4 + g5 / df) / df) / df) / df) / df


def _bca_constants(deltas: FloatArray, means: FloatArray) -> Bca | None:
    """z0 from the bootstrap means (ties at the estimate count half) and the jackknife acceleration.

    The jackknife of a mean is closed form (leave-one-out means are (S - x_i)/(n - 1)),
    so the acceleration is Σc³ / (6 (Σc²)^1.5) over centred deltas c: O(n).
    None when every delta is equal.
    """
    estimate = deltas.mean()
    centred = deltas - estimate
    spread = float(np.sum(centred**2))
    if spread <= _TIE_ATOL**2 * deltas.size:
        return None
    z0 = _z_of_fraction_below(means, float(estimate))
    return Bca(z0, float(np.sum(centred**3) / (6 * spread**1.5)))


def _z_of_fraction_below(
    means: FloatArray, value: float, ties: Literal["half", "inward"] = "half"
) -> float:
    """Normal quantile of the share of bootstrap means below `value`.

    Ties count half, or all on the side that brings the share nearer 1/2 ("inward").
    The share is kept half a resample away from 0 and 1 so the quantile stays finite.
    """
    below = np.count_nonzero(means < value - _TIE_ATOL)
    tied = np.count_nonzero(np.abs(means - value) <= _TIE_ATOL)
    if ties == "half":
        share = float((below + tied / 2) / means.size)
    else:
        share = float(min(max(0.5, below / means.size), (below + tied) / means.size))
    edge = 0.5 / means.size
    return NORMAL.inv_cdf(min(max(share, edge), 1 - edge))


def _bca_levels(bca: Bca, z: float) -> tuple[float, float] | None:
    """BCa quantile levels for the interval whose normal quantile is `z`; None off its domain."""
    levels = []
    for z_alpha in (-z, z):
        shifted = bca.z0 + z_alpha
        denominator = 1 - bca.accel * shifted
        if denominator <= 0:
            return None
        levels.append(NORMAL.cdf(bca.z0 + shifted / denominator))
    return levels[0], levels[1]


def bootstrap_p(means: FloatArray, n: int, bca: Bca | None) -> float:
    """Smallest 1 - confidence at which the interval (BCa if `bca`) excludes 0.

    Inverts `interval`: find the normal quantile at which an endpoint sits on 0,
    then undo the small-sample widening of `bootstrap_level`. With every bootstrap
    mean on one side of 0 the answer is "below what B resamples resolve": the
    tail is then taken as half a resample, and p is never below 1/B. Bootstrap means
    exactly at 0 (an atom, common with few distinct deltas) count on the side nearer
    the middle: the interval's end sits on 0 until the level leaves the atom, so p
    agrees with the CI ("[-0.04, +0.000]" never comes with p < 0.05).
    """
    z = _z_of_fraction_below(means, 0.0, ties="inward")
    if bca:
        shifted = z - bca.z0
        if 1 + bca.accel * shifted <= 0:
            return 1 / means.size  # 0 lies beyond every BCa interval's reach
        z = shifted / (1 + bca.accel * shifted) - bca.z0
    p = 2 * t_cdf(n - 1, -abs(z) * math.sqrt((n - 1) / n))
    return min(1.0, max(p, 1 / means.size))
