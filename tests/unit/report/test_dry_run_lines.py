"""The dry run's cost table: what is priced, and what an agent case may add unpriced."""

from __future__ import annotations

from pytest_modelguard.engine.spend import dry_run
from pytest_modelguard.records.calls import Request
from pytest_modelguard.records.pricing import Price
from pytest_modelguard.report.terminal import dry_run_lines

PRICE = Price(input=1.0, output=2.0)


def _request(model: str, n: int) -> Request:
    return Request("sim", model, ({"role": "user", "content": f"q{n}"},), {"max_tokens": 10})


def test_later_agent_steps_count_only_for_first_steps_still_to_call() -> None:
    requests = {r.key(): r for r in [_request("a", n) for n in range(3)] + [_request("b", 0)]}
    keys = list(requests)
    cached = {keys[0]}
    later = {keys[0]: 7, keys[1]: 7, keys[3]: 2}  # keys[2]: a one-call case
    lines = dry_run(requests, cached, {("sim", "a"): "a", ("sim", "b"): "b"}, {}, later)
    assert [(line.uncached, line.cached, line.later_steps) for line in lines] == [
        (2, 1, 7),  # the recorded first step's case replays: nothing later to call
        (1, 0, 2),
    ]


def test_priced_total_says_what_it_covers_when_agent_steps_follow() -> None:
    requests = {r.key(): r for r in (_request("a", 0), _request("a", 1))}
    first = next(iter(requests))
    names, prices = {("sim", "a"): "a"}, {("sim", "a"): PRICE}
    plain = dry_run_lines(dry_run(requests, set(), names, prices), "once")
    agent = dry_run_lines(dry_run(requests, set(), names, prices, {first: 5}), "once")
    assert plain[-1].startswith("  total: at most $") and "calls above" not in plain[-1]
    assert agent[1].endswith(", then up to 5 later agent steps")
    assert agent[2].endswith("for the calls above")
    assert "not priced in advance" in agent[3] and "max_spend_usd" in agent[3]
    assert agent[2].split("$")[1].split()[0] == plain[-1].split("$")[1]  # the same first steps
