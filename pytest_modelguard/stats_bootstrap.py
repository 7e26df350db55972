"""The bootstrap engine behind `stats.paired_delta`: two exact samplers, BCa, p-values.

Works on per-case deltas (a 1-D float array); `stats` turns scores into deltas.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Literal, NamedTuple

import numpy as np
import numpy.typing as npt
from scipy import special

Method = Literal["bca", "percentile"]
FloatArray = npt.NDArray[np.float64]

MAX_DISTINCT = 256  # fast path: at most this many distinct per-case deltas ...
_FAST_PATH_RATIO = 8  # ... and at least 8 cases per distinct value (else gathering is cheaper)
_CHUNK_ELEMENTS = 1 << 18  # indices per chunk: 2 MB of indices + 2 MB of gathered deltas
_TIE_ATOL = 1e-12  # bootstrap means this close count as equal (float noise on a lattice)
_WORKERS = os.cpu_count() or 1  # threads for the general path (numpy releases the GIL)


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
        bca, levels = None, (float(special.ndtr(-z)), float(special.ndtr(z)))
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
    return float(1 - 2 * special.ndtr(-critical_z(confidence, n)))


def critical_z(confidence: float, n: int) -> float:
    return math.sqrt(n / (n - 1)) * float(special.stdtrit(n - 1, 1 - (1 - confidence) / 2))


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
        share = (below + tied / 2) / means.size
    else:
        share = min(max(0.5, below / means.size), (below + tied) / means.size)
    edge = 0.5 / means.size
    return float(special.ndtri(min(max(share, edge), 1 - edge)))


def _bca_levels(bca: Bca, z: float) -> tuple[float, float] | None:
    """BCa quantile levels for the interval whose normal quantile is `z`; None off its domain."""
    levels = []
    for z_alpha in (-z, z):
        shifted = bca.z0 + z_alpha
        denominator = 1 - bca.accel * shifted
        if denominator <= 0:
            return None
        levels.append(float(special.ndtr(bca.z0 + shifted / denominator)))
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
    p = 2 * float(special.stdtr(n - 1, -abs(z) * math.sqrt((n - 1) / n)))
    return min(1.0, max(p, 1 / means.size))
