"""Routing: per tag the cheapest model non-inferior to the baseline, from the real gate's report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_modelguard.config import Budgets, ModelSpec, ProviderSpec, Settings
from pytest_modelguard.gate import GateConfig, evaluate
from pytest_modelguard.report.json_report import build_json
from pytest_modelguard.results import ItemResult
from pytest_modelguard.routing import Router, build_routes, render_routes_yaml

BASE = "base"
N = 40  # cases per tag: enough for a non-degenerate CI


def tagged(model: str, tag: str, scores: list[float], cost: float | None) -> list[ItemResult]:
    return [
        ItemResult(suite="s", case_id=f"{tag}-{i}", model=model, tags=(tag,), score=s,
                   passed=True, cost_usd=cost, latency_s=0.1)
        for i, s in enumerate(scores)
    ]  # fmt: skip


def report_doc(
    results: list[ItemResult], candidates: tuple[str, ...], **gate: Any
) -> dict[str, Any]:
    """The JSON report document of the real gate on these results, as the file would hold it."""
    budgets: dict[str, Budgets] = gate.pop("budgets", {})
    config = GateConfig(baseline=BASE, candidates=candidates, resamples=500,
                        budgets=budgets, **gate)  # fmt: skip
    openai = ProviderSpec("openai", "openai")
    settings = Settings(
        baseline=ModelSpec(BASE, openai, BASE),
        candidates=tuple(ModelSpec(c, openai, c) for c in candidates),
        resamples=500,
        **gate,
    )
    doc = build_json(evaluate(results, config), results, settings)
    return dict(json.loads(json.dumps(doc)))


SAME, WORSE = [1.0] * N, [1.0] * (N // 2) + [0.0] * (N // 2)


def two_tags(cheap_cost: float | None = 0.0001) -> list[ItemResult]:
    """`easy`: every model matches the baseline; `hard`: the candidates drop by half."""
    results = tagged(BASE, "easy", SAME, 0.001) + tagged(BASE, "hard", SAME, 0.002)
    for name, cost in (("cheap", cheap_cost), ("mid", 0.0005)):
        results += tagged(name, "easy", SAME, cost)
        results += tagged(name, "hard", WORSE, None if cost is None else cost * 2)
    return results


def test_each_tag_goes_to_the_cheapest_non_inferior_model_else_the_baseline() -> None:
    doc = report_doc(two_tags(), ("cheap", "mid"))
    routes = build_routes(doc)
    easy, hard = routes["routes"]["easy"], routes["routes"]["hard"]
    assert easy["model"] == "cheap"
    assert list(easy["earned"]) == ["cheap", "mid"]  # cheapest first
    assert hard["model"] == BASE and hard["earned"] == {} and hard["delta"] is None
    assert routes["default"] == BASE and routes["baseline"] == BASE


def test_route_figures_are_the_json_reports() -> None:
    doc = report_doc(two_tags(), ("cheap", "mid"))
    easy = build_routes(doc)["routes"]["easy"]
    tag = doc["tags"]["easy"]["cheap"]
    assert easy["n"] == tag["delta"]["n_pairs"] == N
    assert easy["delta"] == tag["delta"]["mean"]
    assert easy["ci"] == [tag["delta"]["ci_low"], tag["delta"]["ci_high"]]
    assert easy["cost_per_case_usd"] == tag["cost_per_case_usd"] == pytest.approx(0.0001)
    assert easy["baseline_cost_per_case_usd"] == doc["tags"]["easy"][BASE]["cost_per_case_usd"]
    hard = build_routes(doc)["routes"]["hard"]
    assert hard["n"] == doc["tags"]["hard"][BASE]["n"]
    assert hard["cost_per_case_usd"] == pytest.approx(0.002)


def test_the_margin_decides_non_inferiority() -> None:
    slightly_worse = [1.0] * (N - 2) + [0.0] * 2
    results = tagged(BASE, "t", SAME, 0.001) + tagged("cheap", "t", slightly_worse, 0.0001)
    strict = report_doc(results, ("cheap",), gate="non-inferiority", margin=0.0)
    loose = report_doc(results, ("cheap",), gate="non-inferiority", margin=0.3)
    assert build_routes(strict)["routes"]["t"]["model"] == BASE
    assert build_routes(loose)["routes"]["t"]["model"] == "cheap"
    assert build_routes(loose)["margin"] == 0.3


def test_unknown_cost_or_a_dearer_model_never_earns_a_route() -> None:
    unknown = report_doc(two_tags(cheap_cost=None), ("cheap", "mid"))
    assert list(build_routes(unknown)["routes"]["easy"]["earned"]) == ["mid"]
    dearer = tagged(BASE, "t", SAME, 0.001) + tagged("big", "t", SAME, 0.01)
    assert build_routes(report_doc(dearer, ("big",)))["routes"]["t"]["model"] == BASE


def test_a_model_over_budget_earns_no_route() -> None:
    doc = report_doc(two_tags(), ("cheap", "mid"), budgets={"cheap": Budgets(max_cost_usd=1e-6)})
    assert doc["models"]["cheap"]["verdicts"] == ["regression", "budget"]
    assert build_routes(doc)["routes"]["easy"]["model"] == "mid"


def test_routes_yaml_round_trips_into_a_router(tmp_path: Path) -> None:
    path = tmp_path / "routes.yaml"
    path.write_text(render_routes_yaml(report_doc(two_tags(), ("cheap", "mid"))))
    data = yaml.safe_load(path.read_text())
    assert data["routes"]["easy"]["model"] == "cheap"
    router = Router.from_file(path)
    assert router.model_for(["easy"]) == "cheap"
    assert router.model_for("easy") == "cheap"  # a lone string is one tag
    assert router.model_for(["hard"]) == BASE


ROUTES = {
    "default": BASE,
    "routes": {
        "a": {"model": "x", "earned": {"x": 0.1, "y": 0.2}},
        "b": {"model": "y", "earned": {"y": 0.1, "x": 0.3}},
        "c": {"model": "x", "earned": {"x": 0.1}},
        "d": {"model": BASE, "earned": {}},
    },
}


@pytest.mark.parametrize(
    ("tags", "model"),
    [
        (["a"], "x"),
        (["b"], "y"),
        (["a", "b"], "y"),  # earned both: y costs 0.3 over the two tags, x 0.4
        (["b", "c"], "x"),  # only x earned both
        (["a", "d"], BASE),  # d has no cheaper model: the baseline
        (["a", "unknown"], "x"),  # unknown tags are ignored
        (["unknown"], BASE),  # nothing known: the default
        ([], BASE),
    ],
)
def test_model_for_picks_the_cheapest_model_that_earned_every_known_tag(
    tags: list[str], model: str
) -> None:
    assert Router(ROUTES).model_for(tags) == model


def test_router_needs_a_default(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="default"):
        Router({"routes": {}})
    path = tmp_path / "bad.yaml"
    path.write_text("- not a routes file\n")
    with pytest.raises(ValueError, match="not a modelguard routes file"):
        Router.from_file(path)
