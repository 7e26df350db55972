"""Time our paired BCa bootstrap against scipy.stats.bootstrap (BCa, paired, 10,000 resamples).

    python benchmarks/bench_bootstrap.py

n = 1,000: both run in full. n = 100,000: ours in full; scipy's BCa would take
minutes (its jackknife is O(n^2)), so it runs 200 resamples with the full
jackknife, a percentile run of 200 resamples gives the per-resample cost, and
the two are extrapolated linearly to 10,000 resamples (printed as such).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from scipy import stats as sps

from pytest_modelguard.inference.stats import Scores, paired_delta

RESAMPLES = 10_000
SCIPY_REDUCED = 200
CI = tuple[float, float]
SCIPY_BATCH = 100  # scipy's default batch would allocate n x n for the jackknife at n = 100,000


def scores(kind: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Paired candidate/baseline scores, one repeat per case."""
    rng = np.random.default_rng(0)
    if kind == "binary":
        p = rng.beta(2, 1, n)
        return (rng.random(n) < p).astype(float), (rng.random(n) < p).astype(float)
    return rng.beta(2, 2, n), rng.beta(2, 2, n)


def best_of(runs: int, work: Callable[..., CI], *args: object) -> tuple[float, CI]:
    """Smallest wall time of `runs` runs of work(*args), and its CI."""
    times, result = [], (np.nan, np.nan)
    for _ in range(runs):
        start = time.perf_counter()
        result = work(*args)
        times.append(time.perf_counter() - start)
    return min(times), result


def ours(cand: Scores, base: Scores) -> CI:
    estimate = paired_delta(cand, base, resamples=RESAMPLES)
    assert estimate is not None
    return estimate.ci_low, estimate.ci_high


def scipy_bca(cand: np.ndarray, base: np.ndarray, resamples: int, method: str = "BCa") -> CI:
    result = sps.bootstrap(
        (cand, base),
        lambda c, b, axis: np.mean(c - b, axis=axis),
        paired=True,
        vectorized=True,
        n_resamples=resamples,
        batch=SCIPY_BATCH,
        method=method,
        rng=np.random.default_rng(1),
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def row(label: str, seconds: float, ci: CI, note: str = "") -> None:
    low, high = ci
    print(f"{label:<44} {seconds:>9.3f} s   CI [{low:+.5f}, {high:+.5f}] {note}", flush=True)


def main() -> None:
    print(f"paired BCa, {RESAMPLES} resamples, 95% (ours widens the level slightly at small n)\n")
    for kind in ("binary", "continuous"):
        cand, base = scores(kind, 1_000)
        t_ours, ci = best_of(5, ours, cand[:, None], base[:, None])
        row(f"n=1,000 {kind}: ours", t_ours, ci)
        t_scipy, ci = best_of(3, scipy_bca, cand, base, RESAMPLES)
        row(f"n=1,000 {kind}: scipy", t_scipy, ci, f"ratio scipy/ours {t_scipy / t_ours:,.0f}x")
    ours_large = {}
    for kind in ("binary", "continuous"):
        cand, base = scores(kind, 100_000)
        runs = 3 if kind == "binary" else 1
        ours_large[kind], ci = best_of(runs, ours, cand[:, None], base[:, None])
        row(f"n=100,000 {kind}: ours", ours_large[kind], ci)
        if kind == "binary":
            lists = cand[:, None].tolist(), base[:, None].tolist()
            t_lists, ci = best_of(3, ours, *lists)
            row("n=100,000 binary: ours, from lists of lists", t_lists, ci, "(as gate.py calls)")
    t_bca, ci = best_of(1, scipy_bca, cand, base, SCIPY_REDUCED)
    row(f"n=100,000 continuous: scipy, {SCIPY_REDUCED} resamples", t_bca, ci, "(measured)")
    t_pct, _ = best_of(1, scipy_bca, cand, base, SCIPY_REDUCED, "percentile")
    per_resample = t_pct / SCIPY_REDUCED
    extrapolated = t_bca + (RESAMPLES - SCIPY_REDUCED) * per_resample
    print(
        f"{'n=100,000 scipy, 10,000 resamples':<44} {extrapolated:>9.1f} s   EXTRAPOLATED: "
        f"{t_bca:.1f} s measured at {SCIPY_REDUCED} resamples (incl. its O(n^2) jackknife) + "
        f"{RESAMPLES - SCIPY_REDUCED} x {per_resample * 1e3:.1f} ms per further resample"
    )
    for kind, seconds in ours_large.items():
        print(
            f"ratio scipy (extrapolated) / ours, {kind} n=100,000: {extrapolated / seconds:,.0f}x"
        )


if __name__ == "__main__":
    main()
