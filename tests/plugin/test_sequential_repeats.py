"""Adaptive repeats of a sequential run: the rule and the plan (pure; the run through
pytester is in test_sequential_plugin.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_modelguard.config.settings import Overrides, load_settings
from pytest_modelguard.engine.answers import Answers
from pytest_modelguard.engine.sequential import SequentialPlan
from pytest_modelguard.engine.sequential_repeats import RepeatRule
from pytest_modelguard.suite import Case


def test_full_repeats_until_enough_cases_agreed() -> None:
    rule = RepeatRule(min_cases=4, probe_every=5)
    assert [rule.repeats(p, 3) for p in range(6)] == [3] * 6
    rule.observe({"a": [1.0, 1.0, 1.0], "b": [0.0, 0.0, 0.0], "c": [0.5, 0.5]})
    assert not rule.reduced  # 3 repeated cases < 4
    rule.observe({"d": [1.0, 1.0, 1.0], "e": [1.0]})  # a single repeat tells nothing
    assert rule.reduced and rule.repeated == 4
    assert [rule.repeats(p, 3) for p in range(10, 16)] == [3, 1, 1, 1, 1, 3]  # probes
    assert rule.repeats(11, 1) == 1


def test_one_disagreement_restores_full_repeats_for_good() -> None:
    rule = RepeatRule(min_cases=2, probe_every=10)
    rule.observe({"a": [1.0, 1.0], "b": [1.0, 1.0]})
    assert rule.repeats(1, 3) == 1
    rule.observe({"c": [1.0, 0.0, 1.0]})
    assert not rule.reduced
    rule.observe({f"x{i}": [1.0, 1.0, 1.0] for i in range(100)})
    assert rule.repeats(1, 3) == 3
    assert "repeats 2-3 not asked" in RepeatRule().reason(1, 3)
    assert RepeatRule().reason(2, 3).startswith("repeat 3 not asked")
    with pytest.raises(ValueError):
        RepeatRule(min_cases=0)


def test_the_plan_fixes_a_batchs_repeats_from_earlier_batches_only() -> None:
    units = [f"c{i}" for i in range(60)]
    plan = SequentialPlan(
        units,
        "base",
        ["cand"],
        seed=1,
        batch=20,
        gate="non-inferiority",
        margin=0.1,
        repeats=dict.fromkeys(units, 3),
        adaptive_repeats=True,
    )
    first = plan.next_batch()
    assert first is not None
    cases, models = first
    assert all(plan.repeats_of(c, m) == 3 for c in cases for m in models)
    plan.record(
        cases,
        {"base": {c: [1.0, 1.0, 1.0] for c in cases}, "cand": {c: [1.0, 0.0, 1.0] for c in cases}},
    )
    second = plan.next_batch()
    assert second is not None
    cases, _ = second
    base = [plan.repeats_of(c, "base") for c in cases]
    assert base == [3, 1] + [1] * 8 + [3] + [1] * 9  # agreed: probes only at full
    assert all(plan.repeats_of(c, "cand") == 3 for c in cases)  # disagreed: full
    assert plan.why[(cases[1], "base")].startswith("repeats 2-3 not asked")


def test_without_adaptive_repeats_every_repeat_is_asked() -> None:
    units = ["a", "b"]
    plan = SequentialPlan(units, "base", ["cand"], seed=1, batch=1, repeats={"a": 3, "b": 3})
    for _ in range(2):
        step = plan.next_batch()
        assert step is not None
        plan.record(step[0], {m: {step[0][0]: [1.0, 1.0, 1.0]} for m in step[1]})
    assert all(plan.repeats_of(u, m) == 3 for u in units for m in ("base", "cand"))


def test_answers_ask_only_the_first_k_repeats_of_one_case_and_model(tmp_path: Path) -> None:
    table = {"baseline": "python:m:base", "models": ["python:m:cand"]}
    settings = load_settings("pyproject.toml", table, Overrides(), tmp_path)
    answers = Answers(settings, run_id="r", started=0.0)
    case = Case("s", "c1", ({"role": "user", "content": "hi"},), repeat=3)
    other = Case("s", "c2", ({"role": "user", "content": "hi"},), repeat=3)
    base, cand = settings.models
    answers.ask_repeats(case, cand, 1)
    assert [r.repeat for r in answers.requests_for(case, cand)] == [0]
    assert [r.repeat for r in answers.requests_for(case, base)] == [0, 1, 2]
    assert len(answers.requests_for(other, cand)) == 3
    answers.ask_repeats(case, base, 5)  # never more than the case's repeats
    assert len(answers.requests_for(case, base)) == 3
    with pytest.raises(ValueError, match="at least one repeat"):
        answers.ask_repeats(case, cand, 0)
