"""Verdict calibration of `compare.compare` against the old `stats.paired_delta` (BCa).

Simulated suites where the users live: 0/1 scores at accuracy 0.5 / 0.9 / 0.98 (one
answer, or 3 repeats), continuous scores; n = 10, 30, 100, 400 cases; case difficulty
shared by both models ("shared": p_i ~ Beta(2 acc, 2 (1 - acc)) for both) or not
("indep": every case at acc). The candidate is exactly `margin` worse by scaling its
per-case success probability (or mean score) by 1 - margin / acc, so E[candidate] -
E[baseline] = -margin exactly while the difficulty stays shared. Continuous scores are
Beta with mean p_i and precision 10.

Per setting, A/A suites give the regression gate's false alarms (CI wholly below 0:
nominal 2.5%), the coverage of 0 and the non-inferiority power; suites exactly
`margin` worse give the NI gate's false passes (CI's lower end above -margin:
nominal 2.5%), the coverage of -margin and the regression gate's power at that
drop. "before" reruns the old BCa on the first --before-reps suites. Five
candidates each exactly at the margin give the family-wise false-pass rate of
`compare_family`. For 0/1 scores, one answer, the Tango rates are also computed
exactly by enumerating the trinomial law of (b, c). Last, CPU ms per call.

--scores: the suites users mix (issue 24), shared difficulty, accuracy 0.9 / 0.98,
margins 0.02 / 0.05 / 0.1, n = 30 / 100 / 400, and a family of five per kind: "half"
(0/1, one answer, but the first case scored 1/2 by both: one partial credit), "mixed"
(0/1, one answer, but 5% of cases graded {0, 1/2, 1}), "rubric" ({0, 1/2, 1}: two 0/1
checks a case), "graded" ({0, 1/4, ..., 1}), "noise" (0/1 with float noise: 1 - 1e-12
and 1e-12) and "continuous" (judge-like Beta scores). --exact: Tango's rates by
enumeration at every n from 10 to --exact-max (accuracy 0.9 / 0.98 / 0.995). --bca:
method="bca" at the margin, where alone it passed 30 tied cases.

    python benchmarks/bench_verdicts.py                 # 4,000 suites per setting
    python benchmarks/bench_verdicts.py --reps 1000 --before-reps 0 --kinds binary
    nice python benchmarks/bench_verdicts.py --scores --kinds rubric --accuracy 0.98 --reps 2000
    nice python benchmarks/bench_verdicts.py --exact
    nice python benchmarks/bench_verdicts.py --bca --reps 1000
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from pytest_modelguard.inference import stats
from pytest_modelguard.inference._compare_score import NORMAL, ScoreTest
from pytest_modelguard.inference.compare import compare, compare_family

FloatArray = np.ndarray
SETTINGS = ((0.5, 0.05), (0.9, 0.05), (0.98, 0.02))  # (accuracy, margin)
SIZES = (10, 30, 100, 400)
KINDS = ("binary", "repeats", "continuous")
SCORE_KINDS = ("half", "mixed", "rubric", "graded", "noise", "continuous")
SCORE_GRID = ((0.9, (0.02, 0.05, 0.1)), (0.98, (0.02, 0.05, 0.1)))  # accuracy, margins
SCORE_SIZES = (30, 100, 400)
PRECISION = 10.0  # of the Beta law of a continuous score around its case's mean
MIXED_SHARE = 0.05  # of "mixed" suites' cases graded {0, 1/2, 1}
STEPS = {"rubric": 2, "graded": 4}  # checks a case: scores k / steps
EXACT = ((0.9, (0.05, 0.1)), (0.98, (0.02, 0.05)), (0.995, (0.02, 0.05)))


@dataclass(frozen=True)
class Setting:
    kind: str
    shared: bool
    accuracy: float
    margin: float
    n: int

    def label(self) -> str:
        share = "shared" if self.shared else "indep"
        return f"{self.kind} {share} acc {self.accuracy} m {self.margin} n {self.n}"


def simulate(setting: Setting, drop: float, reps: int, seed: int) -> tuple[FloatArray, FloatArray]:
    """Baseline and candidate scores, (reps, n, repeats): the candidate `drop` worse on average."""
    rng = np.random.default_rng(seed)
    acc, n = setting.accuracy, setting.n
    repeats = 3 if setting.kind == "repeats" else 1
    if setting.shared:
        p = rng.beta(2 * acc, 2 * (1 - acc), (reps, n, 1))
    else:
        p = np.full((reps, n, 1), acc)
    q = p * (1 - drop / acc)
    if setting.kind in STEPS:
        steps = STEPS[setting.kind]
        return rng.binomial(steps, p) / steps, rng.binomial(steps, q) / steps
    if setting.kind == "mixed":
        partial = rng.random((reps, n, 1)) < MIXED_SHARE
        base = np.where(partial, rng.binomial(2, p) / 2, rng.random((reps, n, 1)) < p)
        cand = np.where(partial, rng.binomial(2, q) / 2, rng.random((reps, n, 1)) < q)
        return base.astype(float), cand.astype(float)
    if setting.kind == "half":  # 0/1, but both sides gave the first case half credit
        base = (rng.random((reps, n, 1)) < p).astype(float)
        cand = (rng.random((reps, n, 1)) < q).astype(float)
        base[:, 0], cand[:, 0] = 0.5, 0.5
        return base, cand
    if setting.kind == "noise":
        base = (rng.random((reps, n, 1)) < p).astype(float)
        cand = (rng.random((reps, n, 1)) < q).astype(float)
        return [x + (1 - 2 * x) * 1e-12 * rng.random(x.shape) for x in (base, cand)]  # type: ignore[return-value]
    if setting.kind == "continuous":
        p, q = np.clip(p, 1e-9, 1 - 1e-9), np.clip(q, 1e-9, 1 - 1e-9)
        base = rng.beta(PRECISION * p, PRECISION * (1 - p))
        cand = rng.beta(PRECISION * q, PRECISION * (1 - q))
        return base, cand
    base = (rng.random((reps, n, repeats)) < p).astype(float)
    cand = (rng.random((reps, n, repeats)) < q).astype(float)
    return base, cand


Interval = Callable[[FloatArray, FloatArray, float, int], tuple[float, float]]


def new_ci(base: FloatArray, cand: FloatArray, margin: float, seed: int) -> tuple[float, float]:
    """`compare`'s CI (the same interval decides both gates)."""
    result = compare(base, cand, gate="non-inferiority", margin=margin, seed=seed)
    return result.ci_low, result.ci_high


def old_ci(base: FloatArray, cand: FloatArray, margin: float, seed: int) -> tuple[float, float]:
    """`stats.paired_delta`'s BCa CI with 1,000 resamples (as its own simulation test)."""
    estimate = stats.paired_delta(cand, base, resamples=1000, seed=seed)
    assert estimate is not None
    return estimate.ci_low, estimate.ci_high


def intervals(base: FloatArray, cand: FloatArray, margin: float, ci: Interval) -> FloatArray:
    return np.array([ci(base[r], cand[r], margin, r) for r in range(len(base))])


@dataclass(frozen=True)
class Rates:
    false_alarm: float  # A/A: CI wholly below 0
    coverage_aa: float
    ni_power: float  # A/A: CI's lower end above -margin
    false_pass: float  # exactly margin worse: CI's lower end above -margin
    coverage_drop: float
    power: float  # exactly margin worse: CI wholly below 0
    reps: int


def rates(aa: FloatArray, drop: FloatArray, margin: float) -> Rates:
    return Rates(
        false_alarm=float(np.mean(aa[:, 1] < 0)),
        coverage_aa=float(np.mean((aa[:, 0] <= 0) & (aa[:, 1] >= 0))),
        ni_power=float(np.mean(aa[:, 0] > -margin)),
        false_pass=float(np.mean(drop[:, 0] > -margin)),
        coverage_drop=float(np.mean((drop[:, 0] <= -margin) & (drop[:, 1] >= -margin))),
        power=float(np.mean(drop[:, 1] < 0)),
        reps=len(aa),
    )


def run_setting(setting: Setting, reps: int, before_reps: int, seed: int) -> tuple[Rates, ...]:
    base0, cand0 = simulate(setting, 0.0, reps, seed)
    base1, cand1 = simulate(setting, setting.margin, reps, seed + 1)
    m = setting.margin
    new = rates(intervals(base0, cand0, m, new_ci), intervals(base1, cand1, m, new_ci), m)
    if not before_reps:
        return (new,)
    k = min(before_reps, reps)
    old = rates(
        intervals(base0[:k], cand0[:k], m, old_ci), intervals(base1[:k], cand1[:k], m, old_ci), m
    )
    return new, old


def exact_tango(setting: Setting, drop: float, tail: float = 0.025) -> tuple[float, float]:
    """P(CI wholly below the truth), P(CI wholly above it): Tango, 0/1 scores, one answer.

    Cases are independent, so (b, c) is trinomial; summed over every outcome with
    probability above 1e-13 (b given b + c is binomial).
    """
    from scipy import stats as sps

    acc, n = setting.accuracy, setting.n
    k = 1 - drop / acc
    if setting.shared:
        a, b = 2 * acc, 2 * (1 - acc)
        second = acc * (a + 1) / (a + b + 1)  # E[p²] of Beta(a, b)
        better, worse = k * acc - k * second, acc - k * second
    else:
        better, worse = k * acc * (1 - acc), (1 - k * acc) * acc
    truth = better - worse
    below = above = 0.0
    discordant = sps.binom.pmf(np.arange(n + 1), n, better + worse)
    for d in np.flatnonzero(discordant > 1e-13):
        split = sps.binom.pmf(np.arange(d + 1), d, better / (better + worse))
        for b_count in np.flatnonzero(split * discordant[d] > 1e-13):
            test = ScoreTest(int(b_count), int(d - b_count), n)
            weight = float(discordant[d] * split[b_count])
            below += weight * (test.p_below(truth) < tail)
            above += weight * (test.p_above(truth) < tail)
    return below, above


def tango_rates_every_n(
    accuracy: float, drop: float, shared: bool, sizes: Sequence[int], tail: float = 0.025
) -> tuple[FloatArray, FloatArray]:
    """P(CI wholly below the truth), P(CI wholly above it) at each n of `sizes`: Tango,
    0/1 scores, one answer, every (b, c) with trinomial probability above ~1e-15,
    vectorised (the statistic of `ScoreTest`, at the truth; the CI excludes the truth
    exactly when T(truth) is beyond the normal quantile)."""
    from scipy import special
    from scipy import stats as sps

    k = 1 - drop / accuracy
    if shared:
        a, b = 2 * accuracy, 2 * (1 - accuracy)
        second = accuracy * (a + 1) / (a + b + 1)  # E[p^2] of Beta(a, b)
        better, worse = k * accuracy - k * second, accuracy - k * second
    else:
        better, worse = k * accuracy * (1 - accuracy), (1 - k * accuracy) * accuracy
    truth, z = better - worse, NORMAL.inv_cdf(1 - tail)
    below, above = np.zeros(len(sizes)), np.zeros(len(sizes))
    for i, n in enumerate(sizes):
        bs = np.arange(sps.binom.ppf(1e-16, n, better), sps.binom.isf(1e-16, n, better) + 1)
        cs = np.arange(sps.binom.ppf(1e-16, n, worse), sps.binom.isf(1e-16, n, worse) + 1)
        bb, cc = np.meshgrid(bs, cs, indexing="ij")
        ok = bb + cc <= n
        bb, cc = bb[ok], cc[ok]
        log_pmf = (
            special.gammaln(n + 1) - special.gammaln(bb + 1) - special.gammaln(cc + 1)
            - special.gammaln(n - bb - cc + 1) + special.xlogy(bb, better)
            + special.xlogy(cc, worse) + special.xlog1py(n - bb - cc, -better - worse)
        )  # fmt: skip
        pmf = np.exp(log_pmf)
        t = tango_statistic(bb, cc, n, truth)
        below[i], above[i] = pmf[t < -z].sum(), pmf[t > z].sum()
    return below, above


def tango_statistic(b: FloatArray, c: FloatArray, n: int, delta: float) -> FloatArray:
    """`ScoreTest.statistic` on arrays of (b, c), at -1 < delta < 1."""
    a_ = 2 * n
    b_ = -b - c + (2 * n - b + c) * delta
    c_ = -c * delta * (1 - delta)
    p21 = np.maximum(0.0, (np.sqrt(np.maximum(0.0, b_ * b_ - 4 * a_ * c_)) - b_) / (2 * a_))
    variance = n * (2 * p21 + delta * (1 - delta))
    numerator = b - c - n * delta
    with np.errstate(divide="ignore", invalid="ignore"):
        t = numerator / np.sqrt(variance)
    return np.where(variance > 0, t, np.where(numerator == 0, 0.0, np.copysign(np.inf, numerator)))


def print_exact_every_n(largest: int) -> None:
    """Per (accuracy, difficulty, truth): over every n from 10 to `largest`, the worst
    two-sided coverage, the worst gate error (A/A: CI below 0; at -m: CI above -m, the NI
    false pass) and the worst other tail, each with its n; and coverage per band of n."""
    sizes = range(10, largest + 1)
    bands = [(10, 29), (30, 99), (100, 199), (200, 399), (400, largest)]
    print(f"\nExact Tango rates at every n from 10 to {largest} (one-sided nominal 2.5%):")
    print(
        "| accuracy | difficulty | truth | worst coverage (n) | worst gate error (n) "
        "| worst other tail (n) | " + " | ".join(f"coverage n {lo}-{hi}" for lo, hi in bands) + " |"
    )
    print("|---|---|---|---|---|---|" + "---|" * len(bands))
    for accuracy, margins in EXACT:
        for shared in (True, False):
            for drop in (0.0, *margins):
                below, above = tango_rates_every_n(accuracy, drop, shared, sizes)
                gate, other = (below, above) if drop == 0 else (above, below)
                coverage = 1 - below - above
                per_band = [coverage[lo - 10 : hi - 9].min() for lo, hi in bands]
                print(
                    f"| {accuracy} | {'shared' if shared else 'indep'} | "
                    f"{'0' if drop == 0 else f'-{drop}'} | {coverage.min():.2%} "
                    f"({sizes[int(coverage.argmin())]}) | {gate.max():.2%} "
                    f"({sizes[int(gate.argmax())]}) | {other.max():.2%} "
                    f"({sizes[int(other.argmax())]}) | "
                    + " | ".join(f"{c:.2%}" for c in per_band)
                    + " |",
                    flush=True,
                )


def print_scores_table(
    kinds: tuple[str, ...], accuracies: tuple[float, ...], reps: int, seed: int
) -> None:
    """The suites users mix: A/A false alarm, NI false pass at the margin, coverage, power,
    and a family of five at the margin (Holm), `reps` suites per rate. "score test" is
    the share of A/A suites `compare` judged by the score test on per-case deltas (the
    rest are all-0/1 suites: Tango)."""
    print(
        "| setting | score test | A/A false alarm | NI false pass | coverage of 0 / of -m "
        "| NI power (δ=0) | five at the margin: any passes |"
    )
    print("|---|---|---|---|---|---|---|")
    worst = 0.0
    for kind in kinds:
        for accuracy, margins in SCORE_GRID:
            if accuracy not in accuracies:
                continue
            for margin in margins:
                for n in SCORE_SIZES:
                    setting = Setting(kind, True, accuracy, margin, n)
                    i = SCORE_KINDS.index(kind) * 1000 + int(accuracy * 100) * 10 + n
                    (r,) = run_setting(setting, reps, 0, seed + 10 * i + int(margin * 100))
                    family = "–"
                    if n == 400 or (n == 100 and margin == 0.05):
                        rate = family_false_pass(setting, 5, reps // 2, seed + 10 * i + 5)
                        family, worst = f"{rate:.2%}", max(worst, rate)
                    base, cand = simulate(setting, 0.0, 100, seed)
                    method = np.mean(
                        [
                            compare(b, c).method == "cluster-score"
                            for b, c in zip(base, cand, strict=True)
                        ]
                    )
                    worst = max(worst, r.false_alarm, r.false_pass)
                    print(
                        f"| {setting.label()} | {method:.0%} | {r.false_alarm:.2%} "
                        f"| {r.false_pass:.2%} | {r.coverage_aa:.1%} / {r.coverage_drop:.1%} "
                        f"| {r.ni_power:.1%} | {family} |",
                        flush=True,
                    )
    print(
        f"\nworst rate: {worst:.2%} (MC SE of a 2.5% rate: {mc_se(0.025, reps):.2%}, "
        f"of a family's: {mc_se(0.025, reps // 2):.2%})"
    )


BCA_SETTINGS = (
    Setting("binary", True, 0.98, 0.02, 30),
    Setting("binary", True, 0.98, 0.02, 100),
    Setting("binary", False, 0.9, 0.05, 30),
    Setting("continuous", True, 0.9, 0.05, 30),
    Setting("rubric", True, 0.98, 0.02, 400),
    Setting("mixed", True, 0.9, 0.05, 100),
)


def print_bca(reps: int, seed: int) -> None:
    """method="bca" (1,000 first resamples) at the margin: NI false pass, next to auto."""
    print("| setting | NI false pass, bca | NI false pass, auto | NI power (δ=0), bca / auto |")
    print("|---|---|---|---|")
    for i, setting in enumerate(BCA_SETTINGS):
        m, rates = setting.margin, []
        for drop in (m, 0.0):
            base, cand = simulate(setting, drop, reps, seed + 10 * i + int(drop > 0))
            for method in ("bca", "auto"):
                passed = [
                    compare(
                        b, c, gate="non-inferiority", margin=m, method=method, resamples=1000
                    ).verdict
                    == "pass"
                    for b, c in zip(base, cand, strict=True)
                ]
                rates.append(float(np.mean(passed)))
        print(
            f"| {setting.label()} | {rates[0]:.2%} | {rates[1]:.2%} "
            f"| {rates[2]:.1%} / {rates[3]:.1%} |",
            flush=True,
        )
    print(f"(MC SE of a 2.5% rate: {mc_se(0.025, reps):.2%})")


def family_false_pass(setting: Setting, candidates: int, reps: int, seed: int) -> float:
    """P(any of `candidates`, each exactly margin worse, passes NI under compare_family)."""
    suites = [simulate(setting, setting.margin, reps, seed + 100 * j) for j in range(candidates)]
    passed = 0
    for r in range(reps):
        family = compare_family(
            {f"c{j}": (base[r], cand[r]) for j, (base, cand) in enumerate(suites)},
            gate="non-inferiority",
            margin=setting.margin,
        )
        passed += any(c.verdict == "pass" for c in family.values())
    return passed / reps


def cpu_ms(kind: str, n: int, calls: int = 200) -> float:
    """CPU ms per compare() call on one suite of n cases."""
    setting = Setting(kind, True, 0.9, 0.05, n)
    base, cand = simulate(setting, 0.0, 1, 0)
    start = time.process_time()
    for _ in range(calls):
        compare(base[0], cand[0], gate="non-inferiority", margin=0.05)
    return (time.process_time() - start) / calls * 1000


def mc_se(rate: float, reps: int) -> float:
    return math.sqrt(max(rate * (1 - rate), 0.025 * 0.975) / reps)


def settings(kinds: tuple[str, ...]) -> Iterator[Setting]:
    for kind in kinds:
        for shared in (True, False):
            for accuracy, margin in SETTINGS:
                for n in SIZES:
                    yield Setting(kind, shared, accuracy, margin, n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=4000)
    parser.add_argument("--before-reps", type=int, default=1000)
    parser.add_argument("--kinds", nargs="+", choices=sorted({*KINDS, *SCORE_KINDS}))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scores", action="store_true", help="the mixed-scores table only")
    parser.add_argument("--exact", action="store_true", help="Tango at every n only")
    parser.add_argument("--exact-max", type=int, default=1000)
    parser.add_argument("--bca", action="store_true", help="method='bca' at the margin only")
    parser.add_argument("--accuracy", type=float, nargs="+", help="--scores: these only")
    args = parser.parse_args()
    if args.exact:
        print_exact_every_n(args.exact_max)
        return
    if args.bca:
        print_bca(args.reps, args.seed)
        return
    if args.scores:
        accuracies = tuple(args.accuracy or (a for a, _ in SCORE_GRID))
        print_scores_table(tuple(args.kinds or SCORE_KINDS), accuracies, args.reps, args.seed)
        return
    args.kinds = args.kinds or list(KINDS)
    print(
        "| setting | method | A/A false alarm | coverage of 0 | NI false pass | coverage of -m "
        "| NI power (δ=0) | power (δ=-m) | before: false alarm / false pass / coverage |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    worst = {"false_alarm": 0.0, "false_pass": 0.0, "coverage": 1.0}
    for i, setting in enumerate(settings(tuple(args.kinds))):
        results = run_setting(setting, args.reps, args.before_reps, args.seed + 10 * i)
        new = results[0]
        method = compare(*(x[0] for x in simulate(setting, 0.0, 1, 0))).method
        before = "–"
        if len(results) > 1:
            old = results[1]
            before = (
                f"{old.false_alarm:.1%} / {old.false_pass:.1%} / "
                f"{min(old.coverage_aa, old.coverage_drop):.1%} (of {old.reps})"
            )
        print(
            f"| {setting.label()} | {method} | {new.false_alarm:.2%} | {new.coverage_aa:.1%} "
            f"| {new.false_pass:.2%} | {new.coverage_drop:.1%} | {new.ni_power:.1%} "
            f"| {new.power:.1%} | {before} |",
            flush=True,
        )
        worst["false_alarm"] = max(worst["false_alarm"], new.false_alarm)
        worst["false_pass"] = max(worst["false_pass"], new.false_pass)
        worst["coverage"] = min(worst["coverage"], new.coverage_aa, new.coverage_drop)
    print(
        f"\nworst over settings: false alarm {worst['false_alarm']:.2%}, NI false pass "
        f"{worst['false_pass']:.2%}, coverage {worst['coverage']:.1%} "
        f"(MC SE of a 2.5% rate: {mc_se(0.025, args.reps):.2%}; of 95%: "
        f"{math.sqrt(0.95 * 0.05 / args.reps):.2%})"
    )
    if "binary" in args.kinds:
        print("\nExact (enumerated) Tango rates, 0/1 scores, one answer:")
        print("| setting | A/A false alarm | coverage of 0 | NI false pass | coverage of -m |")
        print("|---|---|---|---|---|")
        for setting in settings(("binary",)):
            below0, above0 = exact_tango(setting, 0.0)
            below1, above1 = exact_tango(setting, setting.margin)
            print(
                f"| {setting.label()} | {below0:.2%} | {1 - below0 - above0:.2%} "
                f"| {above1:.2%} | {1 - below1 - above1:.2%} |",
                flush=True,
            )
    print("\nFive candidates, each exactly margin worse, compare_family (NI): P(any passes)")
    for kind, accuracy, margin, n in (
        ("binary", 0.9, 0.05, 100),
        ("binary", 0.98, 0.02, 400),
        ("continuous", 0.9, 0.05, 100),
        ("repeats", 0.98, 0.02, 400),
    ):
        setting = Setting(kind, True, accuracy, margin, n)
        reps = args.reps // 2
        rate = family_false_pass(setting, 5, reps, args.seed)
        print(f"  {setting.label()}: {rate:.2%} (MC SE {mc_se(rate, reps):.2%}, {reps} runs)")
    print("\nCPU ms per compare() call:")
    for kind in KINDS:
        timings = ", ".join(f"n={n}: {cpu_ms(kind, n):.2f}" for n in (30, 100, 400, 1000))
        print(f"  {kind}: {timings}")


if __name__ == "__main__":
    main()
