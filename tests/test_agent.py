"""Agent cases end to end: the loop over real HTTP for every wire format, Python tools
that really run, recorded tool results, the trajectory graders, replay with 0 calls."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from loopback import Call, LoopbackServer, Reply
from loopback_agent import calling, results, scripted

TOOLS_MODULE = """\
import json, os


def lookup_order(order_id: int) -> dict:
    \"\"\"Look an order up.

    Args:
        order_id: the order's number
    \"\"\"
    with open(os.environ["SHOP_LOG"], "a") as log:
        log.write(f"lookup_order {order_id}\\n")
    return {"order_id": order_id, "status": "shipped", "total": 42.5}


def refund(order_id: int, amount: float) -> str:
    \"\"\"Refund an order.\"\"\"
    with open(os.environ["SHOP_LOG"], "a") as log:
        log.write(f"refund {order_id} {amount}\\n")
    return f"refunded {amount} on order {order_id}"
"""

ORDERS = range(41, 53)
SUITE = """\
suite: orders
tools_from: shop_tools
defaults:
  agent: {max_steps: 6}
  graders:
    - trajectory: {mode: strict}
cases:
""" + "".join(
    f"""\
  - id: refund-{n}
    prompt: 'Please refund order {n}'
    expected:
      trajectory:
        - {{name: lookup_order, arguments: {{order_id: {n}}}}}
        - {{name: refund, arguments: {{order_id: {n}, amount: 42.5}}}}
"""
    for n in ORDERS
)


def _order(call: Call) -> int:
    first = next(m["content"] for m in call.messages if m["role"] == "user")
    return int(first.rsplit(" ", 1)[-1])


def lookup(call: Call) -> Reply:
    return calling("lookup_order", {"order_id": _order(call)})


def refund_from_lookup(call: Call) -> Reply:
    """The baseline's second step: refund the total the lookup returned (the tool ran)."""
    total = json.loads(results(call)[0])["total"]
    return calling("refund", {"order_id": _order(call), "amount": total})


RESPOND = scripted({
    "base-1": [lookup, refund_from_lookup, "Refunded 42.5"],
    "cand-1": ["Refunded"],
})  # fmt: skip


def project(pytester: pytest.Pytester, url: str, kind: str) -> Path:
    pytester.makefile(
        ".toml",
        pyproject=f"""
[tool.modelguard]
baseline = "sim:base-1"
models = ["sim:cand-1"]
[tool.modelguard.providers.sim]
kind = "{kind}"
base_url = "{url}"
api_key_env = "SIM_KEY"
""",
    )
    pytester.makepyfile(shop_tools=TOOLS_MODULE)
    pytester.syspathinsert()
    pytester.makefile(".modelguard.yaml", orders=SUITE)
    return pytester.path / "shop.log"


def _report(pytester: pytest.Pytester) -> dict:  # type: ignore[type-arg]
    return json.loads((pytester.path / "r.json").read_text())


def _paths(report: dict) -> dict:  # type: ignore[type-arg]
    """Each item's score, steps and path (whether a step was cached aside)."""
    return {
        (c["id"], c["model"]): (
            c["score"],
            c["steps"],
            [{k: v for k, v in step.items() if k != "cached"} for step in c["trajectory"]],
        )
        for c in report["cases"]
    }


@pytest.mark.parametrize("kind", ["openai", "openai-responses", "anthropic"])
def test_done_when_baseline_path_scores_1_candidate_0_regression_replays_offline(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    monkeypatch.setenv("SIM_KEY", "sk-sim-agent-test")
    with LoopbackServer(RESPOND) as server:
        url = server.anthropic_base_url if kind == "anthropic" else server.openai_base_url
        log = project(pytester, url, kind)
        monkeypatch.setenv("SHOP_LOG", str(log))
        result = pytester.runpytest("--modelguard-record=once", "--modelguard-json=r.json")
    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()
    ran = log.read_text().splitlines()
    assert sorted(ran) == sorted(
        [f"lookup_order {n}" for n in ORDERS] + [f"refund {n} 42.5" for n in ORDERS]
    )
    calls = len(server.calls)
    assert calls == 4 * len(ORDERS)  # the baseline's 3 steps, the candidate's 1
    report = _report(pytester)
    assert report["models"]["sim:cand-1"]["verdict"] == "regression"
    first = _paths(report)
    assert first[("refund-42", "sim:base-1")][:2] == (1.0, 3)
    assert first[("refund-42", "sim:cand-1")][:2] == (0.0, 1)
    made = [c for step in first[("refund-42", "sim:base-1")][2] for c in step["tool_calls"]]
    assert [(c["name"], c["arguments"]) for c in made] == [
        ("lookup_order", {"order_id": 42}),
        ("refund", {"order_id": 42, "amount": 42.5}),
    ]
    assert json.loads(made[0]["result"])["status"] == "shipped"
    # the provider is down: the replay asks nobody
    again = pytester.runpytest("--modelguard-json=r.json")
    assert again.ret == pytest.ExitCode.TESTS_FAILED, again.stdout.str()
    assert len(server.calls) == calls
    replayed = _report(pytester)
    assert all(c["cached"] and c["error"] is None for c in replayed["cases"])
    assert replayed["models"]["sim:cand-1"]["verdict"] == "regression"
    assert _paths(replayed) == first
    assert log.read_text().count("lookup_order 42") == 2  # Python tools run on every run
