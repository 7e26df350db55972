"""Unit tests of pytest_modelguard.sequential: the sequence, the settling rules, drift, order."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from pytest_modelguard.inference.compare import compare
from pytest_modelguard.inference.sequential import (
    ConfidenceSequence,
    SequentialTest,
    ask_order,
)


def ternary(n: int, seed: int, worse: float = 0.06, better: float = 0.06) -> np.ndarray:
    """Per-case deltas of 0/1 scores: -1, 0 or +1."""
    rng = np.random.default_rng(seed)
    return rng.choice([-1.0, 0.0, 1.0], size=n, p=[worse, 1 - worse - better, better])


def pairs(deltas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """0/1 baseline and candidate scores with these deltas."""
    return np.maximum(-deltas, 0.0), np.maximum(deltas, 0.0)


# --- ask_order ----------------------------------------------------------------------------


def test_ask_order_is_a_stable_seeded_permutation() -> None:
    keys = [f"case-{i}" for i in range(200)]
    order = ask_order(keys, seed=7)
    assert sorted(order) == sorted(keys) and order != keys
    assert ask_order(list(reversed(keys)), seed=7) == order
    assert ask_order(keys, seed=8) != order


def test_ask_order_keeps_old_cases_in_place_when_the_suite_grows() -> None:
    keys = [f"case-{i}" for i in range(100)]
    grown = ask_order([*keys, *(f"new-{i}" for i in range(50))], seed=3)
    assert [k for k in grown if k.startswith("case-")] == ask_order(keys, seed=3)


# --- the confidence sequence --------------------------------------------------------------


def test_batching_does_not_change_the_sequence() -> None:
    """The stakes are predictable per case: one batch of 300 or 300 of one agree exactly."""
    deltas = ternary(300, 1)
    whole = ConfidenceSequence(0.025)
    whole.update(deltas)
    pieces = ConfidenceSequence(0.025)
    for start in range(0, 300, 7):
        pieces.update(deltas[start : start + 7])
    np.testing.assert_allclose(whole.log_up, pieces.log_up, rtol=1e-12, atol=1e-9)
    assert (whole.low, whole.high) == (pieces.low, pieces.high)


def test_the_interval_only_shrinks_and_covers_the_mean_of_a_steady_stream() -> None:
    cs = ConfidenceSequence(0.025, boundaries=(0.0,))
    lows, highs = [], []
    for start in range(0, 2000, 50):
        cs.update(ternary(2000, 2)[start : start + 50])
        lows.append(cs.low)
        highs.append(cs.high)
    assert lows == sorted(lows) and highs == sorted(highs, reverse=True)
    assert lows[-1] < 0 < highs[-1] and highs[-1] - lows[-1] < 0.1


def test_the_sequence_is_wider_than_the_fixed_n_interval() -> None:
    """At every look the sequence is wider than compare()'s CI on the same cases (not
    always around it: the running intersection keeps an end an early look set)."""
    for seed in range(20):
        deltas = ternary(600, seed, worse=0.09, better=0.05)
        cs = ConfidenceSequence(0.025)
        for n in range(50, 601, 50):
            cs.update(deltas[n - 50 : n])
            fixed = compare(*pairs(deltas[:n]))
            assert cs.high - cs.low > fixed.ci_high - fixed.ci_low
            assert cs.low < deltas[:n].mean() < cs.high


def test_a_clear_drop_is_excluded_and_ends_are_on_the_grid() -> None:
    cs = ConfidenceSequence(0.025, boundaries=(0.0,))
    cs.update(np.full(40, -1.0))
    assert cs.excludes_at_or_above(0.0) and cs.high < 0
    assert cs.high in cs.grid and cs.low == -1.0


def test_without_replacement_the_sequence_closes_on_the_suite_mean() -> None:
    """At the last case only means within a case's weight of the suite's remain."""
    deltas = ternary(120, 4)
    cs = ConfidenceSequence(0.025, n_total=120)
    cs.update(deltas)
    assert cs.method == "betting-cs-wor"
    assert cs.low < deltas.mean() < cs.high and cs.high - cs.low < 0.02
    iid = ConfidenceSequence(0.025)
    iid.update(deltas)
    assert iid.high - iid.low > 10 * (cs.high - cs.low)
    with pytest.raises(ValueError, match="120 cases"):
        cs.update(np.zeros(1))


def test_state_round_trips_through_json() -> None:
    deltas = ternary(400, 5)
    cs = ConfidenceSequence(0.0125, boundaries=(0.0, -0.05))
    cs.update(deltas[:200])
    resumed = ConfidenceSequence.from_state(json.loads(json.dumps(cs.to_state())))
    cs.update(deltas[200:])
    resumed.update(deltas[200:])
    assert (resumed.low, resumed.high, resumed.n) == (cs.low, cs.high, cs.n)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="tail"):
        ConfidenceSequence(0.6)
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        ConfidenceSequence(0.025).update(np.array([1.5]))


def test_an_update_is_fast() -> None:
    """A batch of 50 at n = 2,000: well under 50 ms of CPU."""
    deltas = ternary(2000, 6)
    cs = ConfidenceSequence(0.0125, boundaries=(0.0, -0.1, 0.1))
    cs.update(deltas[:1950])
    state = cs.to_state()
    timings = []
    for _ in range(5):
        copy = ConfidenceSequence.from_state(state)
        start = time.process_time()
        copy.update(deltas[1950:])
        timings.append(time.process_time() - start)
    assert min(timings) < 0.025


# --- SequentialTest -----------------------------------------------------------------------


def run(test: SequentialTest, deltas: np.ndarray, batch: int = 50) -> None:
    for start in range(0, deltas.size, batch):
        if test.update(*pairs(deltas[start : start + batch])).settled:
            return


def test_a_thirty_point_drop_settles_as_a_regression_early() -> None:
    test = SequentialTest("regression", 0.05, n_total=600)
    run(test, ternary(600, 7, worse=0.32, better=0.02))
    look = test.look
    assert look.verdict == "regression" and look.decided_by == "sequence"
    assert look.n_seen <= 100 and look.ci_high < 0
    assert look.reason.startswith(f"verdict settled after {look.n_seen} of 600 cases")
    with pytest.raises(ValueError, match="already settled"):
        test.update([1.0], [1.0])


def test_an_equal_model_passes_non_inferiority_early_and_a_bad_one_is_futile() -> None:
    equal = SequentialTest("non-inferiority", 0.1, n_total=600)
    run(equal, ternary(600, 8))
    assert equal.look.verdict == "pass" and equal.look.n_seen <= 300
    assert equal.look.ci_low > -0.1
    bad = SequentialTest("non-inferiority", 0.1, n_total=600)
    run(bad, ternary(600, 9, worse=0.32, better=0.02))
    assert bad.look.verdict == "not-non-inferior" and bad.look.ci_high < -0.1
    assert bad.look.n_seen < 600


def test_regression_gate_futility_needs_a_margin() -> None:
    """margin 0: an equal model is never settled early; margin 0.1: it passes early."""
    deltas = ternary(600, 10)
    open_ended = SequentialTest("regression", 0.0, n_total=None)
    run(open_ended, deltas)
    assert not open_ended.look.settled and open_ended.look.n_seen == 600
    futile = SequentialTest("regression", 0.1, n_total=600)
    run(futile, deltas)
    assert futile.look.verdict == "pass" and futile.look.decided_by == "sequence"


def test_the_end_of_the_suite_falls_back_as_configured() -> None:
    """A small drop the sequence cannot settle: 'cs' gives the gate's default, 'fixed-n'
    exactly compare()'s verdict on every case."""
    deltas = ternary(150, 5, worse=0.1, better=0.04)
    for gate in ("regression", "non-inferiority"):
        test = SequentialTest(gate, 0.05, n_total=150)
        run(test, deltas)
        assert test.look.decided_by == "end"
        assert test.look.verdict == ("pass" if gate == "regression" else "not-non-inferior")
    fixed = SequentialTest("regression", 0.0, n_total=150, final="fixed-n")
    run(fixed, deltas)
    assert fixed.look.decided_by == "fixed-n"
    assert fixed.look.verdict == compare(*pairs(deltas)).verdict == "regression"


def test_candidates_split_the_error() -> None:
    one = SequentialTest("regression", candidates=1)
    three = SequentialTest("regression", candidates=3)
    assert one.look.confidence == pytest.approx(0.95)
    assert three.look.confidence == pytest.approx(1 - 0.05 / 3)
    deltas = ternary(300, 12, worse=0.12, better=0.04)
    run(one, deltas)
    run(three, deltas)
    assert one.look.verdict == three.look.verdict == "regression"
    assert one.look.n_seen < three.look.n_seen


def test_repeats_are_averaged_per_case_and_the_look_is_json() -> None:
    test = SequentialTest("non-inferiority", 0.1, n_total=10)
    look = test.update([[1.0, 0.0]] * 4, [[1.0, 1.0]] * 4)
    assert look.n_seen == 4 and look.mean == pytest.approx(0.5)
    assert json.loads(json.dumps(look.to_dict()))["method"] == "betting-cs"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"gate": "superiority"}, "gate"),
        ({"gate": "non-inferiority", "margin": 0.0}, "margin"),
        ({"confidence": 1.0}, "confidence"),
        ({"population": "suite"}, "n_total"),
        ({"final": "bca"}, "final"),
    ],
)
def test_bad_options_are_refused(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        SequentialTest(**kwargs)  # type: ignore[arg-type]
