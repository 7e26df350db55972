"""Sequential verdicts by simulation (a fast subset of benchmarks/bench_sequential.py).

Targets from issue #17: error over every look at most the nominal 2.5% + 1 point for
A/A "regression", for a false non-inferiority "pass" exactly at the margin and for a
false "degraded" over 30 nights (issue #24: a 0.1 drop after 10 steady nights seen
within 5 nights in at least 80% of histories); at least 40% of the calls saved on a 30-point drop
and on an equal model at margin 0.1; the 600-case scenario gives the full run's
verdicts with at most 60% of its calls. Run with -s to see the rates.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

import pytest
from paths import ROOT

NOMINAL, TOLERANCE = 0.025, 0.01


def load_bench() -> ModuleType:
    path = ROOT / "benchmarks" / "bench_sequential.py"
    spec = importlib.util.spec_from_file_location("bench_sequential", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_sequential"] = module  # dataclasses resolve their module
    spec.loader.exec_module(module)
    return module


bench = load_bench()


@pytest.mark.parametrize(("scenario", "seed"), [("aa", 11), ("at_margin", 12)])
def test_error_over_every_look(scenario: str, seed: int) -> None:
    """binary 0.9, N 300 in batches of 30: A/A regression, NI exactly at the margin."""
    setting = bench.Setting("binary", 0.9, 300)
    tally = bench.run_scenario(setting, scenario, 600, seed)
    print(f"\n{scenario}: sequence {tally.rate():.2%}, fixed-n {tally.rate('hits_fixed'):.2%}")
    assert tally.rate() <= NOMINAL + TOLERANCE


def test_thirty_nights_against_one_reference_run() -> None:
    """The change detector stays under the nominal rate where nightly compare() does not."""
    rates = bench.drift_false_degraded(bench.Setting("binary", 0.9, 100), 80, seed=13)
    print(f"\n30 nights: {rates}")
    assert rates["accumulator"] <= NOMINAL + TOLERANCE
    assert rates["nightly-vs-last"] > 4 * NOMINAL


def test_a_drop_after_ten_steady_nights_is_seen_within_five() -> None:
    """Issue #24's target: a 0.1 drop from night 11 (300 cases) within 5 nights in >= 80%."""
    setting = bench.Setting("binary", 0.9, 300)
    rates = bench.drift_false_degraded(setting, 40, 16, 0.1, 11, 15, naive=False)
    print(f"\nlate drop: {rates}")
    assert rates["within5"] >= 0.8 and rates["before"] <= NOMINAL + TOLERANCE


@pytest.mark.parametrize("scenario", ["big_drop", "equal_easy"])
def test_clear_cases_save_calls(scenario: str) -> None:
    setting = bench.Setting("binary", 0.9, 600)
    tally = bench.run_scenario(setting, scenario, 100, seed=14)
    print(f"\n{scenario}: right {tally.rate():.1%}, saved {tally.saved(600):.1%}")
    assert tally.rate() >= 0.95 and tally.saved(600) >= 0.4


def test_the_six_hundred_case_scenario() -> None:
    """Worse and equal candidates, NI at 0.1: compare_family's verdicts, <= 60% of the calls."""
    result = bench.done_when(40, seed=15)
    print(f"\n600 cases: {result}")
    assert result["agree"] == 1.0 and result["worst_calls"] <= 0.6
