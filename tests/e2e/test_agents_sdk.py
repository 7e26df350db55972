"""The OpenAI Agents SDK over a captured client, against the loopback server: an agent run
(parallel tool calls, then another, then the answer; Chat Completions or Responses, run or
streamed) is recorded call by call, exported as
ONE agent case with the tools' recorded results, and replayed with the baseline answered
from the suite (no call) and only the candidate asked.

openai-agents needs openai>=3, above our floor, so it is in the ``agents`` extra, installed
by the main CI run only (.ci/run); the edges skip this file and say why.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
import yaml
from loopback import LoopbackServer
from loopback_agentcap import ANSWER, CUSTOMER_KEY, FUNCTIONS, OrderModel

from pytest_modelguard.capture import capture
from pytest_modelguard.capture.export import ExportOptions, export_suite
from pytest_modelguard.capture.store import open_store

agents = pytest.importorskip(
    "agents",
    reason="openai-agents is in the [agents] extra, installed by the main CI run only "
    "(it needs openai>=3, above the oldest edge's openai 1.92)",
)

KEY = "loopback-agents-sdk-key"
PROMPT = "Refund order 42 for Ann, it arrived damaged."
PRODUCTION = "gpt-4.1-mini"
PYPROJECT = """
[tool.modelguard]
baseline = "openai:gpt-4.1-mini"
models = ["sim:{candidate}"]
resamples = 200
[tool.modelguard.providers.sim]
kind = "openai"
base_url = "{url}"
api_key_env = "SIM_KEY"
"""


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    agents.set_tracing_disabled(True)  # the SDK would export its traces to OpenAI
    with LoopbackServer(OrderModel()) as srv:
        yield srv


def run_agent(server: LoopbackServer, db: Path, api: str, streamed: bool = False) -> Any:
    """One production run of the order agent through a captured AsyncOpenAI client."""
    store = open_store(db)
    client = capture(
        openai.AsyncOpenAI(base_url=server.openai_base_url, api_key=KEY), db=store, tags=["orders"]
    )
    kind = agents.OpenAIChatCompletionsModel if api == "chat" else agents.OpenAIResponsesModel
    agent = agents.Agent(
        name="orders",
        instructions="You handle refunds. Look the order and the customer up first.",
        tools=[agents.function_tool(f) for f in FUNCTIONS],
        model=kind(model=PRODUCTION, openai_client=client),
    )
    result = asyncio.run(_streamed(agent)) if streamed else agents.Runner.run_sync(agent, PROMPT)
    assert store.flush(10)
    return result


async def _streamed(agent: Any) -> Any:
    result = agents.Runner.run_streamed(agent, PROMPT)
    async for _ in result.stream_events():
        pass
    return result


def export(tmp_path: Path, db: Path) -> tuple[Any, dict[str, Any]]:
    out = tmp_path / "orders.modelguard.yaml"
    done = export_suite(db, out, ExportOptions())
    return done, yaml.safe_load(out.read_text(encoding="utf-8"))


@pytest.mark.parametrize("streamed", [False, True], ids=["run", "streamed"])
@pytest.mark.parametrize("api", ["chat", "responses"])
def test_an_agents_sdk_run_exports_as_one_agent_case(
    server: LoopbackServer, tmp_path: Path, api: str, streamed: bool
) -> None:
    result = run_agent(server, tmp_path / "traces.db", api, streamed)
    assert result.final_output == ANSWER
    done, suite = export(tmp_path, tmp_path / "traces.db")
    assert (done.calls, done.cases, done.agent_cases, dict(done.ungrouped)) == (3, 1, 1, {})
    (case,) = suite["cases"]
    assert case["prompt"] == PROMPT and case["tags"] == ["orders"]
    assert case["agent"] == {"max_steps": 8, "tool_results": "recorded"}
    trajectory = case["expected"]["trajectory"]
    assert [(s["name"], s["arguments"]) for s in trajectory] == [
        ("lookup_order", {"order_id": 42}),
        ("get_customer", {"name": "Ann"}),
        ("refund", {"order_id": 42, "reason": "damaged"}),
    ]
    assert trajectory[0]["result"] == FUNCTIONS[0](42)  # the SDK ran the real function
    assert json.loads(trajectory[1]["result"])["api_key"] == "[redacted]"
    assert case["baseline"]["output"] == ANSWER and len(case["baseline"]["steps"]) == 3
    params = suite["defaults"]["params"]
    assert [t["function"]["name"] for t in params["tools"]] == ["lookup_order", "get_customer",
                                                                 "refund"]  # fmt: skip
    assert "include" not in params  # the Responses API's own field: chat has none
    text = (tmp_path / "orders.modelguard.yaml").read_text(encoding="utf-8")
    assert CUSTOMER_KEY not in text and KEY not in text


def replay(
    pytester: pytest.Pytester, server: LoopbackServer, candidate: str
) -> list[dict[str, Any]]:
    """``pytest --models sim:<candidate>`` on the export; the JSON report's items."""
    pytester.makefile(
        ".toml", pyproject=PYPROJECT.format(candidate=candidate, url=server.openai_base_url)
    )
    pytester.runpytest("--modelguard-json", "r.json", "--modelguard-record", "once")
    report = json.loads((pytester.path / "r.json").read_text(encoding="utf-8"))
    return list(report["cases"])


def test_the_export_replays_the_baseline_with_no_call_and_asks_only_the_candidate(
    server: LoopbackServer, tmp_path: Path, pytester: pytest.Pytester, monkeypatch: Any
) -> None:
    run_agent(server, tmp_path / "traces.db", "chat")
    export_suite(tmp_path / "traces.db", pytester.path / "orders.modelguard.yaml", ExportOptions())
    monkeypatch.setenv("SIM_KEY", "sk-sim-agents")
    recorded = server.count(model=PRODUCTION)
    same = replay(pytester, server, "same-1")
    assert server.count(model=PRODUCTION) == recorded  # the baseline: from the suite
    assert server.count(model="same-1") == 3  # the candidate's three steps
    by_model = {c["model"]: c for c in same}
    assert by_model["openai:gpt-4.1-mini"]["score"] == by_model["sim:same-1"]["score"] == 1.0
    skip = replay(pytester, server, "skip-1")
    assert server.count(model=PRODUCTION) == recorded and server.count(model="skip-1") == 1
    scores = {c["model"]: c["score"] for c in skip}
    assert scores["openai:gpt-4.1-mini"] == 1.0 and scores["sim:skip-1"] < 1.0
