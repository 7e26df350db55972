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

    python benchmarks/bench_verdicts.py                 # 4,000 suites per setting
    python benchmarks/bench_verdicts.py --reps 1000 --before-reps 0 --kinds binary
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from pytest_modelguard.verdict import stats
from pytest_modelguard.verdict._compare_score import ScoreTest
from pytest_modelguard.verdict.compare import compare, compare_family

FloatArray = np.ndarray
SETTINGS = ((0.5, 0.05), (0.9, 0.05), (0.98, 0.02))  # (accuracy, margin)
SIZES = (10, 30, 100, 400)
KINDS = ("binary", "repeats", "continuous")
PRECISION = 10.0  # of the Beta law of a continuous score around its case's mean


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
    parser.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
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
