"""Calibration of `compare` at the hard settings (a subset of benchmarks/bench_verdicts.py).

Targets: the regression gate's A/A false alarms and the non-inferiority gate's false
passes (candidate exactly `margin` worse) at most the nominal 2.5% + 1 point, and
two-sided coverage at least 94%. With 4,000 suites per setting the Monte-Carlo sd of
a 2.5% rate is 0.25%, so the 1-point tolerance is 4 sd; the tests check that too.
Run with -s to see the rates.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from types import ModuleType

import pytest
from paths import ROOT

REPS = 4000
NOMINAL, TOLERANCE, COVERAGE = 0.025, 0.01, 0.94


def load_bench() -> ModuleType:
    path = ROOT / "benchmarks" / "bench_verdicts.py"
    spec = importlib.util.spec_from_file_location("bench_verdicts", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_verdicts"] = module  # dataclasses resolve their module
    spec.loader.exec_module(module)
    return module


bench = load_bench()


def test_replications_resolve_the_tolerance() -> None:
    assert 4 * math.sqrt(NOMINAL * (1 - NOMINAL) / REPS) <= TOLERANCE


@pytest.mark.parametrize(
    ("kind", "shared", "accuracy", "margin", "n"),
    [
        ("binary", True, 0.98, 0.02, 100),
        ("binary", False, 0.9, 0.05, 30),
        ("repeats", True, 0.98, 0.02, 400),
        ("repeats", False, 0.9, 0.05, 30),
        ("continuous", False, 0.98, 0.02, 100),
        ("continuous", True, 0.5, 0.05, 30),
        ("half", True, 0.98, 0.05, 100),  # the floored t passed 5.7% here (issue 24)
        ("rubric", True, 0.9, 0.1, 100),
    ],
)
def test_false_alarms_false_passes_and_coverage(
    kind: str, shared: bool, accuracy: float, margin: float, n: int
) -> None:
    setting = bench.Setting(kind, shared, accuracy, margin, n)
    (rates,) = bench.run_setting(setting, REPS, 0, seed=n + int(accuracy * 100))
    print(f"\n{setting.label()}: {rates}")
    assert rates.false_alarm <= NOMINAL + TOLERANCE
    assert rates.false_pass <= NOMINAL + TOLERANCE
    assert min(rates.coverage_aa, rates.coverage_drop) >= COVERAGE


@pytest.mark.parametrize("n", [10, 30, 100])
@pytest.mark.parametrize(("accuracy", "margin"), [(0.5, 0.05), (0.9, 0.05), (0.98, 0.02)])
@pytest.mark.parametrize("shared", [True, False])
def test_tango_exactly(shared: bool, accuracy: float, margin: float, n: int) -> None:
    """0/1 scores, one answer: the error rates by exact enumeration, no Monte-Carlo error."""
    setting = bench.Setting("binary", shared, accuracy, margin, n)
    below0, above0 = bench.exact_tango(setting, 0.0)
    below1, above1 = bench.exact_tango(setting, margin)
    assert below0 <= NOMINAL + TOLERANCE and above1 <= NOMINAL + TOLERANCE
    assert 1 - below0 - above0 >= COVERAGE and 1 - below1 - above1 >= COVERAGE


# sizes where Tango's exact rates are worst on the every-n grid (bench_verdicts.py --exact)
SAMPLE_SIZES = (10, 17, 26, 38, 47, 78, 95, 110, 154, 204, 238, 620, 930)
EVERY_N_COVERAGE = 0.925  # docs/statistics.md's floor: the worst cell measured is 92.85%


@pytest.mark.parametrize(("accuracy", "margins"), bench.EXACT)
@pytest.mark.parametrize("shared", [True, False])
def test_tango_exactly_at_a_sample_of_sizes(
    accuracy: float, margins: tuple[float, ...], shared: bool
) -> None:
    """Exact enumeration at sizes between the benchmarked ones: the gate's errors (A/A:
    CI below 0; exactly m worse: CI above -m) within 2.5% + 1 point, coverage within the
    floor docs/statistics.md states."""
    for drop in (0.0, *margins):
        below, above = bench.tango_rates_every_n(accuracy, drop, shared, SAMPLE_SIZES)
        gate_error = below if drop == 0 else above
        assert max(gate_error) <= NOMINAL + TOLERANCE, (drop, gate_error)
        assert min(1 - below - above) >= EVERY_N_COVERAGE, (drop, 1 - below - above)


def test_the_vectorised_tango_is_score_test() -> None:
    import numpy as np

    from pytest_modelguard.inference._compare_score import ScoreTest

    rng = np.random.default_rng(4)
    for _ in range(300):
        n = int(rng.integers(1, 1000))
        b, c = (int(x) for x in rng.multinomial(n, [0.05, 0.1, 0.85])[:2])
        delta = float(rng.uniform(-0.99, 0.99))
        vector = bench.tango_statistic(np.array([b], float), np.array([c], float), n, delta)
        assert vector[0] == pytest.approx(ScoreTest(b, c, n).statistic(delta), rel=1e-12)


def test_family_of_five_at_the_margin() -> None:
    """Five candidates each exactly margin worse: compare_family passes any at most 3.5%."""
    setting = bench.Setting("binary", True, 0.9, 0.05, 100)
    rate = bench.family_false_pass(setting, 5, REPS // 2, seed=3)
    print(f"\nfamily of 5, {setting.label()}: {rate:.2%}")
    assert rate <= NOMINAL + TOLERANCE


def test_family_of_five_rubric_graded_at_the_margin() -> None:
    """Five rubric-graded candidates ({0, 1/2, 1}) each exactly margin worse: the floored t
    let some candidate pass in 4.1% of suites (issue 24); the score test keeps it within
    2.5% + 1 point."""
    setting = bench.Setting("rubric", True, 0.98, 0.02, 400)
    rate = bench.family_false_pass(setting, 5, REPS // 2, seed=5)
    print(f"\nfamily of 5, {setting.label()}: {rate:.2%}")
    assert rate <= NOMINAL + TOLERANCE


def test_holms_first_step_at_the_margin_with_repeats() -> None:
    """3 repeats of 0/1 scores at accuracy 0.98, n = 400, candidate exactly margin worse,
    tested at Holm's first step for five candidates (one-sided 0.5%): the test `compare`
    picks passes at most 0.6% of suites (5 x 0.6% = 3% family-wise, under 2.5% + 1 point).
    The Student t on the same deltas passed 0.75% (MC sd 0.08%): its tail is too light
    for such skewed deltas, and this fails it (benchmarks/bench_verdicts.py has the family)."""
    from pytest_modelguard.inference._compare_cluster import ClusterScoreTest

    setting = bench.Setting("repeats", True, 0.98, 0.02, 400)
    step, suites, passed = 0.005, 12_000, 0
    for chunk in range(6):
        base, cand = bench.simulate(setting, setting.margin, suites // 6, seed=40 + chunk)
        if chunk == 0:
            assert bench.compare(base[0], cand[0]).method == ClusterScoreTest.method
        deltas = cand.mean(axis=2) - base.mean(axis=2)
        passed += sum(ClusterScoreTest(d).p_above(-setting.margin) < step for d in deltas)
    rate = passed / suites
    print(f"\n{setting.label()}, one-sided {step:.1%}: NI false pass {rate:.3%}")
    assert rate <= 0.006
