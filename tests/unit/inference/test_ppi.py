"""PPI++ for the paired delta: against ppi_py when installed, and self-contained checks."""

from __future__ import annotations

import json
import math
from statistics import NormalDist

import numpy as np
import pytest

from pytest_modelguard.inference._compare_t import FlooredT
from pytest_modelguard.inference.ppi import judge_noise_share, judged_delta, ppi_delta

Z95 = NormalDist().inv_cdf(0.975)


def _data(seed: int = 1, n_cases: int = 200, n_labelled: int = 40) -> tuple[np.ndarray, ...]:
    """Judge scores of every case and human 0/1 labels on a random subset (NaN elsewhere)."""
    rng = np.random.default_rng(seed)
    q_b, q_c = rng.uniform(0.2, 0.6, n_cases), rng.uniform(0.2, 0.56, n_cases)
    h_b = (rng.random(n_cases) < q_b).astype(float)
    h_c = (rng.random(n_cases) < q_c).astype(float)
    j_b = 0.5 * h_b + 0.5 * q_b + rng.uniform(-0.1, 0.1, n_cases)
    j_c = 0.5 * h_c + 0.5 * q_c + rng.uniform(-0.1, 0.1, n_cases) + 0.1
    unlabelled = np.ones(n_cases, dtype=bool)
    unlabelled[rng.choice(n_cases, n_labelled, replace=False)] = False
    h_b[unlabelled], h_c[unlabelled] = np.nan, np.nan
    return j_b, j_c, h_b, h_c


def _split(data: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ppi_py's inputs: human deltas, judge deltas on them, judge deltas on the rest."""
    j_b, j_c, h_b, h_c = data
    labelled = ~np.isnan(h_b)
    judge = j_c - j_b
    return (h_c - h_b)[labelled], judge[labelled], judge[~labelled]


@pytest.mark.parametrize("lam", [0.0, 0.4, 1.0])
def test_matches_ppi_py_at_a_fixed_lambda(lam: float) -> None:
    ppi_py = pytest.importorskip("ppi_py", reason="ppi-python is not installed (reference only)")
    data = _data()
    low, high = ppi_py.ppi_mean_ci(*_split(data), alpha=0.05, lam=lam)
    mine = ppi_delta(*data, lam=lam)
    assert mine.mean == pytest.approx((low[0] + high[0]) / 2, abs=1e-12)
    n, n_rest = 40, 160  # ppi_py's variances divide by n, ours by n - 1: se ratio in between
    ratio = mine.se / ((high[0] - low[0]) / 2 / Z95)
    assert 1 - 1e-12 <= ratio <= math.sqrt(max(n / (n - 1), n_rest / (n_rest - 1))) + 1e-12


def test_tuned_lambda_is_close_to_ppi_py() -> None:
    ppi_py = pytest.importorskip("ppi_py", reason="ppi-python is not installed (reference only)")
    for seed in range(5):
        data = _data(seed)
        low, high = ppi_py.ppi_mean_ci(*_split(data), alpha=0.05)
        mine = ppi_delta(*data)
        assert mine.mean == pytest.approx((low[0] + high[0]) / 2, abs=0.01)
        assert mine.ci_high - mine.ci_low == pytest.approx(high[0] - low[0], rel=0.05)


def test_lambda_zero_is_the_floored_t_on_the_labelled_human_deltas() -> None:
    data = _data()
    h, _, _ = _split(data)
    mine = ppi_delta(*data, lam=0.0)
    low, high = FlooredT(h, 0.95).bounds(0.025)
    assert (mine.mean, mine.ci_low, mine.ci_high) == pytest.approx((h.mean(), low, high))
    assert mine.df == h.size - 1


def test_tuned_lambda_minimises_the_variance_and_is_reported() -> None:
    data = _data()
    tuned = ppi_delta(*data)
    assert 0 <= tuned.lam <= 1
    for lam in np.linspace(0, 1, 21):
        assert tuned.se <= ppi_delta(*data, lam=float(lam)).se + 1e-12


def test_side_by_side_fields_and_json() -> None:
    result = ppi_delta(*_data())
    assert (result.n_labelled, result.n_total, result.method) == (40, 200, "ppi++")
    assert result.judge_only_mean == pytest.approx(np.mean(_data()[1] - _data()[0]))
    assert result.judge_only_ci[0] > 0  # the judge's +0.1 toward the candidate
    assert result.ci_low < 0 < result.ci_high
    assert result.p_value > 0.05
    out = json.loads(json.dumps(result.to_dict()))
    assert out["judge_only_ci"] == list(result.judge_only_ci)


def test_all_equal_labels_still_give_an_interval() -> None:
    judge = np.full(50, 0.5)
    labels = [0.5] * 10 + [None] * 40
    result = ppi_delta(judge, judge, labels, labels)
    assert result.mean == 0
    assert result.ci_high - result.ci_low > 0.3  # about z² / n on 10 labelled cases


def test_a_case_labelled_on_one_side_is_named() -> None:
    judge = np.full(20, 0.5)
    base = [1.0] * 10 + [None] * 10
    cand = [1.0] * 9 + [None] + [0.0] + [None] * 9
    with pytest.raises(ValueError, match=r"cases 9, 10 have a human label on one model's"):
        ppi_delta(judge, judge, base, cand)


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        ([1.0] * 3 + [None] * 17, "3 labelled cases: PPI needs at least 6"),
        ([1.5] + [None] * 19, r"case 0: human label 1.5 is not in \[0, 1\]"),
        ([1.0] * 10, "10 human labels for 20 judged cases"),
    ],
)
def test_bad_labels(labels: list[float | None], message: str) -> None:
    judge = np.full(20, 0.5)
    with pytest.raises(ValueError, match=message):
        ppi_delta(judge, judge, labels, labels)


def test_lambda_out_of_range() -> None:
    with pytest.raises(ValueError, match=r"lam must be in \[0, 1\]"):
        ppi_delta(*_data(), lam=1.5)


def test_every_case_labelled_is_the_classical_interval() -> None:
    j_b, j_c, _, _ = _data()
    rng = np.random.default_rng(0)
    h_b, h_c = rng.integers(0, 2, 200).astype(float), rng.integers(0, 2, 200).astype(float)
    result = ppi_delta(j_b, j_c, h_b, h_c)
    assert result.lam == 0 and result.mean == pytest.approx(np.mean(h_c - h_b))


# -- judge repeats -----------------------------------------------------------------------------


def test_judge_noise_share_without_repeats_is_none() -> None:
    assert judge_noise_share([0.2, 0.4, 0.9], [0.3, 0.8, 0.7]) is None


def test_a_noisier_judge_widens_the_interval_and_says_so() -> None:
    rng = np.random.default_rng(5)
    quality = rng.uniform(0.2, 0.8, 120)
    steady = np.repeat(quality[:, None], 3, axis=1) + rng.uniform(-0.02, 0.02, (120, 3))
    noisy = np.repeat(quality[:, None], 3, axis=1) + rng.uniform(-0.2, 0.2, (120, 3))
    base = np.clip(np.repeat(rng.uniform(0.2, 0.8, 120)[:, None], 3, axis=1), 0, 1)
    calm, loud = judged_delta(base, steady), judged_delta(base, noisy)
    assert calm.repeats == loud.repeats == 3
    assert calm.judge_noise_share is not None and loud.judge_noise_share is not None
    assert calm.judge_noise_share < 0.01 < 0.05 < loud.judge_noise_share
    width = {k: v.comparison.ci_high - v.comparison.ci_low for k, v in [("c", calm), ("l", loud)]}
    assert width["l"] > width["c"]
    assert loud.to_dict()["judge_noise_share"] == loud.judge_noise_share


def test_ragged_repeats_are_allowed() -> None:
    base = [[0.5, 0.7], [0.2], [0.9, 0.8, 1.0], [0.4, 0.4], [0.3, 0.5], [0.6], [0.1, 0.3]]
    cand = [[0.6], [0.4, 0.2], [0.8], [0.5, 0.7], [0.4, 0.4], [0.9, 0.7], [0.2]]
    result = judged_delta(base, cand)
    assert result.repeats == pytest.approx(24 / 14)
    assert result.judge_noise_share is not None and 0 < result.judge_noise_share <= 1
