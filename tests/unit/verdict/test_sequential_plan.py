"""engine/sequential.py (the plan) and verdict/sequential_gate.py (the gate's verdicts), pure."""

from __future__ import annotations

from pytest_modelguard.config import Budgets
from pytest_modelguard.engine.sequential import SequentialPlan, saved_usd
from pytest_modelguard.inference.sequential import ask_order
from pytest_modelguard.records.calls import Request
from pytest_modelguard.records.pricing import Price
from pytest_modelguard.records.results import ItemResult
from pytest_modelguard.verdict.gate import GateConfig, evaluate
from pytest_modelguard.verdict.sequential_gate import apply_sequential

UNITS = [f"u{i:03d}" for i in range(300)]


def plan(**kwargs: object) -> SequentialPlan:
    options: dict = dict(seed=7, batch=50, gate="non-inferiority", margin=0.1)
    options.update(kwargs)
    return SequentialPlan(UNITS, "base", ["bad", "same"], **options)


def scores(cases: list[str], wrong: set[str] = frozenset()) -> dict[str, list[float]]:  # type: ignore[assignment]
    return {c: [0.0 if c in wrong else 1.0] for c in cases}


def test_batches_follow_the_seeded_order_and_stop_asking_settled_candidates() -> None:
    p = plan()
    assert p.order == ask_order(UNITS, 7)
    asked_of = []
    while (step := p.next_batch()) is not None:
        cases, models = step
        assert cases == p.order[p.position - len(cases) : p.position]
        asked_of.append(models)
        bad_wrong = {c for c in cases if int(c[1:]) % 10 < 3}
        p.record(
            cases, {"base": scores(cases), "bad": scores(cases, bad_wrong), "same": scores(cases)}
        )
    assert asked_of[0] == ["base", "bad", "same"]
    looks = p.final_looks()
    assert looks["bad"].verdict == "not-non-inferior"
    assert looks["same"].verdict == "pass"
    assert len(p.asked["base"]) == max(len(p.asked["bad"]), len(p.asked["same"])) < 300
    assert p.settled_after["bad"] == len(p.asked["bad"])
    assert "verdict settled after" in p.skip_reason("bad")
    assert "no candidate needed the baseline" in p.skip_reason("base")


def test_a_sequence_left_open_gets_the_gates_default_at_the_end() -> None:
    p = SequentialPlan(UNITS[:20], "base", ["c"], seed=0, batch=50, gate="regression")
    cases, _ = p.next_batch()  # type: ignore[misc]
    p.record(cases, {"base": scores(cases), "c": scores(cases)})
    assert p.next_batch() is None
    look = p.final_looks()["c"]
    assert (look.verdict, look.decided_by) == ("pass", "end")
    outcome = p.outcomes({}, {})["c"]
    assert (outcome.n_asked, outcome.calls_saved, outcome.settled_after) == (20, 0, None)


def test_saved_dollars_are_the_worst_case_price() -> None:
    request = Request("p", "m", ({"role": "user", "content": "x" * 400},), {"max_tokens": 100})
    price = Price(input=1.0, output=2.0)
    assert saved_usd([request, request], price) == 2 * (104 * 1.0 + 100 * 2.0) / 1e6
    assert saved_usd([request], None) is None
    assert saved_usd([], None) == 0.0


def result(model: str, case: str, score: float, tokens: int = 0) -> ItemResult:
    return ItemResult(
        suite="s", case_id=case, model=model, score=score, passed=bool(score),
        output_tokens=tokens,
    )  # fmt: skip


def test_the_gate_takes_the_sequences_verdict_and_keeps_budgets() -> None:
    cases = UNITS[:100]
    p = SequentialPlan(cases, "base", ["c"], seed=1, batch=100, gate="non-inferiority", margin=0.1)
    batch, _ = p.next_batch()  # type: ignore[misc]
    wrong = set(cases[:40])
    p.record(batch, {"base": scores(batch), "c": scores(batch, wrong)})
    results = [result("base", c, 1.0) for c in cases]
    results += [result("c", c, 0.0 if c in wrong else 1.0, tokens=500) for c in cases]
    config = GateConfig(
        baseline="base", candidates=("c",), gate="non-inferiority", margin=0.1,
        budgets={"c": Budgets(max_tokens_per_case=100)},
    )  # fmt: skip
    outcomes = p.outcomes({}, {})
    report = apply_sequential(evaluate(results, config), outcomes, results, config)
    c = report.models["c"]
    assert c.verdicts == ("not-non-inferior", "budget")
    assert c.delta is not None and c.delta.method == "betting-cs"
    assert c.delta.ci_high <= -0.1
    assert c.sequential is not None and c.sequential["n_asked"] == 100
    assert any(r.startswith("not shown non-inferior: verdict settled after") for r in c.reasons)
    assert any(r.startswith("max_tokens_per_case") for r in c.reasons)
    assert report.failed
    assert report.notes[0].startswith("sequential:")
