"""Spend cap and dry run, end to end against the loopback server (which counts its calls)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from loopback import LoopbackServer, Reply

from pytest_modelguard.core.formatting import money
from pytest_modelguard.engine.spend import SpendCap, worst_case_cost
from pytest_modelguard.records.calls import Completion, Request, Usage
from pytest_modelguard.records.pricing import Price

CASES = 20


def answer(call) -> Reply:  # type: ignore[no-untyped-def]
    return Reply(text=call.prompt.split()[-1], input_tokens=10, output_tokens=2)


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(answer) as srv:
        yield srv


@pytest.fixture
def project(
    pytester: pytest.Pytester, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> pytest.Pytester:
    monkeypatch.setenv("SIM_KEY", "sk-sim-test-key")
    pytester.makefile(
        ".toml",
        pyproject=f"""
[tool.modelguard]
baseline = "pricey"
concurrency = 1
resamples = 200
[tool.modelguard.providers.sim]
kind = "openai"
base_url = "{server.openai_base_url}"
api_key_env = "SIM_KEY"
[tool.modelguard.aliases.pricey]
model = "sim:m1"
price = {{ input = 1000.0, output = 1000.0 }}
""",
    )
    cases = "\n".join(
        f"  - id: c{i:02d}\n    prompt: 'say w{i}'\n    expected: w{i}" for i in range(CASES)
    )
    pytester.makefile(
        ".modelguard.yaml",
        s=f"defaults:\n  params: {{max_tokens: 10}}\n  graders: [equals]\ncases:\n{cases}\n",
    )
    return pytester


def test_worst_case_bounds_the_real_cost() -> None:
    price = Price(1000.0, 1000.0)
    request = Request("sim", "m1", ({"role": "user", "content": "say w1"},), {"max_tokens": 10})
    assert worst_case_cost(request, price) >= price.cost(Usage(input_tokens=6, output_tokens=10))


def test_cap_refuses_calls_that_could_cross_it_and_settles_real_costs() -> None:
    price = Price(1000.0, 1000.0)
    request = Request("sim", "m1", ({"role": "user", "content": "x" * 40},), {"max_tokens": 10})
    worst = worst_case_cost(request, price)
    cap = SpendCap(limit_usd=worst * 1.5, prices={("sim", "m1"): price})
    assert cap.try_reserve(request) is None
    refused = cap.try_reserve(Request("sim", "m1", request.messages, {"max_tokens": 10}, repeat=1))
    assert refused is not None and "spend cap reached" in refused
    assert f"$0 spent and {money(worst)} reserved for calls in flight" in refused  # held, shown
    cap.settle(request, Completion("ok", Usage(input_tokens=5, output_tokens=1)))
    assert cap.spent_usd == pytest.approx(0.006) and cap.reserved_usd == pytest.approx(0)
    unknown = SpendCap(limit_usd=1.0, prices={})
    assert "no known price" in (unknown.try_reserve(request) or "")


def test_spend_cap_stops_calls_and_keeps_what_was_paid(
    project: pytest.Pytester, server: LoopbackServer
) -> None:
    pyproject = project.path / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text() + "\n[tool.modelguard.budgets]\nmax_spend_usd = 0.1\n"
    )
    first = project.runpytest("--modelguard-record", "once")
    paid = server.count()
    assert 0 < paid < CASES
    outcomes = first.parseoutcomes()
    assert outcomes["passed"] == paid and outcomes["errors"] == CASES - paid
    first.stdout.fnmatch_lines(["*spend cap reached*max_spend_usd*"])
    assert len(list((project.path / ".modelguard").rglob("*.json"))) == paid
    pyproject.write_text(pyproject.read_text().replace("max_spend_usd = 0.1", "max_spend_usd = 10"))
    second = project.runpytest("--modelguard-record", "once")
    second.assert_outcomes(passed=CASES)
    assert server.count() == CASES  # nothing paid for twice


def test_dry_run_calls_nothing_and_writes_nothing(
    project: pytest.Pytester, server: LoopbackServer
) -> None:
    result = project.runpytest("--modelguard-record", "once", "--modelguard-dry-run")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        ["*modelguard dry run (record once)*", "*pricey*20 to call*0 recorded*at most $*"]
    )
    assert "Exit" not in result.stdout.str() and "!!!" not in result.stdout.str()  # ends cleanly
    assert server.count() == 0
    assert not (project.path / ".modelguard").exists()
    assert not Path(project.path, "report.json").exists()
