"""Planning labels for `gate_on = "human"` (issue 24 item 10): from the labels so far, about
how many labelled cases let the corrected interval decide at the margin, and is that right?"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pytest_modelguard.inference.ppi import PPIResult, labels_needed, ppi_delta
from pytest_modelguard.records.results import ItemResult
from pytest_modelguard.verdict.gate import GateConfig, evaluate
from pytest_modelguard.verdict.judges import label_plan
from pytest_modelguard.verdict.planning import label_plans

N, MARGIN, AGREE = 400, 0.1, 0.9  # cases; NI margin; how often the judge matches a person
FIRST = 30  # labelled cases so far


def _world(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """People's 0/1 truth for both models (equal quality, 0.8) and a judge agreeing 85%."""
    people = (rng.random((2, N)) < 0.8).astype(float)
    judge = np.where(rng.random((2, N)) < AGREE, people, 1 - people)
    return judge[0], judge[1], people[0], people[1]


def _corrected(rng: np.random.Generator, labelled: int) -> PPIResult:
    judge_b, judge_c, human_b, human_c = _world(rng)
    hidden = rng.permutation(N)[labelled:]
    human_b[hidden] = np.nan
    human_c[hidden] = np.nan
    return ppi_delta(judge_b, judge_c, human_b, human_c)


def _decides(ppi: PPIResult) -> bool:
    return ppi.ci_low > -MARGIN or ppi.ci_high < -MARGIN


def test_the_planned_labels_decide_most_of_the_time_and_a_third_of_them_do_not() -> None:
    """Plan from 30 labels, then label that many cases of a fresh world: the interval
    decides about as often as planned (80%); a third of the plan decides far less."""
    rng = np.random.default_rng(24)
    at_plan = at_third = plans = 0
    for _ in range(150):
        first = _corrected(rng, FIRST)
        planned = None if _decides(first) else labels_needed(first, MARGIN)
        if planned is None:  # decided already, or beyond the suite
            continue
        plans += 1
        at_plan += _decides(_corrected(rng, planned))
        at_third += _decides(_corrected(rng, planned // 3))
    print(f"\n{plans} plans: decided {at_plan / plans:.0%}; a third {at_third / plans:.0%}")
    assert plans >= 50
    assert at_plan / plans >= 0.7
    assert at_third / plans <= at_plan / plans - 0.25


def test_no_plan_once_decided_and_none_beyond_the_suite() -> None:
    rng = np.random.default_rng(3)
    everything = _corrected(rng, N)
    assert _decides(everything) and label_plan(everything, "non-inferiority", MARGIN) is None
    tight = _corrected(rng, FIRST)
    assert labels_needed(tight, 0.001) is None  # a margin no suite of N cases can clear
    text = label_plan(tight, "non-inferiority", 0.001)
    assert text is not None and "add cases" in text


def test_the_gate_says_how_many_labels_to_add() -> None:
    rng = np.random.default_rng(7)
    judge_b, judge_c, human_b, human_c = _world(rng)
    results = []
    for i in range(N):
        label = i < FIRST
        for model, judge, human in (("base", judge_b, human_b), ("cand", judge_c, human_c)):
            results.append(
                ItemResult(
                    "s", f"c{i}", model, score=float(judge[i]), unit=f"c{i}",
                    human_label=float(human[i]) if label else None,
                )
            )  # fmt: skip
    config = GateConfig(
        baseline="base", candidates=("cand",), gate="non-inferiority", margin=MARGIN,
        gate_on="human",
    )  # fmt: skip
    summary = evaluate(results, config).models["cand"]
    assert summary.verdict == "not-non-inferior"
    assert "label about " in summary.reasons[0]
    assert f"({FIRST} now;" in summary.reasons[0]


def test_no_saved_run_no_label_plan(tmp_path: Path) -> None:
    plans = label_plans(
        tmp_path, "base", ["cand"], gate="non-inferiority", margin=MARGIN, confidence=0.95
    )
    assert plans == []
