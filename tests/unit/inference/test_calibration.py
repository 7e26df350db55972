"""Judge calibration: agreement with human labels and the judge's own diagnostics."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats as scipy_stats

from pytest_modelguard.inference.calibration import (
    agreement,
    agreement_failure,
    cohen_kappa,
    kind_of,
    length_correlation,
    position_bias,
    self_consistency,
    spearman,
)


def test_kappa_wikipedia_worked_example() -> None:
    """Wikipedia, "Cohen's kappa", simple example: 50 grant proposals, two readers.

    Both yes 20, A yes B no 5, A no B yes 10, both no 15: p_o = 0.7, p_e = 0.5, kappa 0.4.
    """
    a = ["yes"] * 20 + ["yes"] * 5 + ["no"] * 10 + ["no"] * 15
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4)


def test_kappa_edge_cases() -> None:
    assert cohen_kappa([1, 0, 1], [1, 0, 1]) == pytest.approx(1.0)
    assert cohen_kappa([1, 1, 1], [1, 1, 1]) is None  # chance agreement is 1: undefined
    assert cohen_kappa([1, 0], [0, 1]) == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="equally long"):
        cohen_kappa([1, 0], [1])


@pytest.mark.parametrize("seed", range(4))
def test_spearman_matches_scipy_with_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.integers(1, 6, 60) / 5  # a 5-point rubric: many ties
    y = np.clip(x + rng.normal(0, 0.3, 60), 0, 1).round(1)
    assert spearman(x, y) == pytest.approx(scipy_stats.spearmanr(x, y).statistic, abs=1e-12)


def test_spearman_constant_is_undefined() -> None:
    assert spearman([0.5, 0.5, 0.5], [0.0, 1.0, 0.5]) is None


def test_agreement_by_hand() -> None:
    judge = [1.0, 1.0, 1.0, 0.0, 0.0, 0.75]
    human = [1.0, 1.0, 0.0, 0.0, 1.0, 1.0]
    found = agreement(judge, human, kind="binary", threshold=0.5)
    # judge pass: T T T F F T; human pass: T T F F T T
    assert found.accuracy == pytest.approx(4 / 6)
    assert found.tpr == pytest.approx(3 / 4) and found.fpr == pytest.approx(1 / 2)
    assert found.mae == pytest.approx((0 + 0 + 1 + 0 + 1 + 0.25) / 6)
    p_e = (4 / 6) * (4 / 6) + (2 / 6) * (2 / 6)
    assert found.kappa == pytest.approx((4 / 6 - p_e) / (1 - p_e))
    assert found.figure == found.kappa and found.figure_name == "Cohen's kappa"
    scale = agreement(judge, human, kind="scale", threshold=0.5)
    assert scale.figure == scale.spearman
    assert json.loads(json.dumps(found.to_dict()))["figure"] == found.kappa


def test_kind_of_scale() -> None:
    assert kind_of(2) == "binary"
    assert kind_of(5) == "scale" and kind_of(None) == "scale"


def _judged_suite(agreeing: bool, seed: int = 7) -> dict[str, np.ndarray]:
    """200 answers a rubric judge (scale 5) scored; a random 40 of them labelled by people."""
    rng = np.random.default_rng(seed)
    quality = rng.uniform(0, 1, 200)
    length = rng.integers(50, 2000, 200)
    score = quality + rng.normal(0, 0.15, 200) if agreeing else rng.uniform(0, 1, 200)
    score = score + 0.3 * (length - 1000) / 1000  # a judge that likes long answers
    judge = np.clip(np.round(score * 4), 0, 4) / 4
    labelled = rng.choice(200, 40, replace=False)
    human = (quality[labelled] > 0.5).astype(float)
    ab = rng.choice([0.0, 0.5, 1.0], 200)
    ba = np.where(rng.random(200) < 0.2, rng.choice([0.0, 0.5, 1.0], 200), ab)
    return {
        "judge": judge,
        "length": length,
        "labelled": labelled,
        "human": human,
        "ab": ab,
        "ba": ba,
    }


def test_forty_labelled_of_two_hundred_show_agreement_position_bias_and_length() -> None:
    suite = _judged_suite(agreeing=True)
    found = agreement(
        suite["judge"][suite["labelled"]], suite["human"], kind="scale", threshold=0.5
    )
    assert found.n == 40
    assert found.figure is not None and found.figure > 0.6
    assert agreement_failure("openai:gpt-4.1", found, 0.5) is None
    bias = position_bias(suite["ab"], suite["ba"])
    assert bias.n == 200 and 0.05 < (bias.share or 0) < 0.25
    assert bias.changed == bias.first_favoured + bias.second_favoured
    rho = length_correlation(suite["judge"], suite["length"])
    assert rho is not None and rho > 0.2


def test_min_agreement_fails_a_judge_that_disagrees() -> None:
    suite = _judged_suite(agreeing=False)
    found = agreement(
        suite["judge"][suite["labelled"]], suite["human"], kind="scale", threshold=0.5
    )
    message = agreement_failure("openai:gpt-4.1-nano", found, 0.5)
    assert message is not None
    assert message.startswith("judge openai:gpt-4.1-nano: Spearman's rho with the human labels")
    assert f"is {found.figure:.3f} on 40 labelled answers, below judge_min_agreement = 0.5" in (
        message
    )


def test_min_agreement_fails_a_judge_that_passes_everything() -> None:
    found = agreement([1.0] * 10, [1.0] * 5 + [0.0] * 5, kind="binary", threshold=0.5)
    assert found.accuracy == 0.5 and found.kappa == 0.0  # kappa: no better than chance
    constant = agreement([1.0] * 10, [1.0] * 10, kind="binary", threshold=0.5)
    message = agreement_failure("j", constant, 0.2)
    assert message is not None and "is undefined (the judge or the labels" in message


def test_position_bias_counts() -> None:
    bias = position_bias([1.0, 1.0, 0.5, 0.0, 0.5], [0.0, 1.0, 0.5, 1.0, 1.0])
    assert (bias.n, bias.changed, bias.first_favoured, bias.second_favoured) == (5, 3, 1, 2)
    assert bias.share == pytest.approx(0.6)
    assert bias.to_dict()["share"] == pytest.approx(0.6)


def test_self_consistency() -> None:
    steady = self_consistency([[0.25, 0.25, 0.25], [1.0, 1.0, 1.0], [0.5, 0.5, 0.5]])
    assert (steady.identical, steady.mean_sd, steady.reliability) == (1.0, 0.0, 1.0)
    rng = np.random.default_rng(0)
    quality = rng.uniform(0.2, 0.8, 100)
    noisy = self_consistency(quality[:, None] + rng.uniform(-0.2, 0.2, (100, 4)))
    assert noisy.identical == 0.0 and noisy.repeats == 4
    signal, noise = 0.6**2 / 12, 0.4**2 / 12
    assert noisy.reliability == pytest.approx(signal / (signal + noise), abs=0.1)
    with pytest.raises(ValueError, match="at least twice"):
        self_consistency([[0.5], [0.2]])


@pytest.mark.parametrize(
    ("judge", "human", "message"),
    [
        ([0.5, 1.2], [0.5, 1.0], r"pair 1: \(1.2, 1.0\) is not two numbers in \[0, 1\]"),
        ([0.5], [0.5, 1.0], "equally long"),
        ([], [], "non-empty"),
        ([float("nan")], [1.0], "pair 0"),
    ],
)
def test_bad_pairs(judge: list[float], human: list[float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        agreement(judge, human, kind="binary", threshold=0.5)


def test_bad_options() -> None:
    with pytest.raises(ValueError, match="kind must be"):
        agreement([0.5], [0.5], kind="ordinal", threshold=0.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="threshold"):
        agreement([0.5], [0.5], kind="binary", threshold=2)
