"""Re-record the demo's answers from the loopback simulator (not from real models).

Starts the project's loopback server (tests/loopback.py) on 127.0.0.1 with
examples/simulator.py as its responder, points the official OpenAI and Anthropic
SDKs at it through OPENAI_BASE_URL / ANTHROPIC_BASE_URL, and runs
``pytest examples --modelguard-record all`` for the baseline and every demo
candidate, so examples/.modelguard/ holds synthetic answers (text or tool calls) with
their usage and the latency the simulator scripted. Extra arguments go to pytest, e.g.
``-k order-assistant`` to record one suite.

    python examples/record_from_simulator.py
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

from simulator import canonical_model, respond  # noqa: E402

from tests.loopback import Call, LoopbackServer, Reply  # noqa: E402

MODELS = "openai:gpt-4.1-mini,haiku,openai:gpt-4.1-nano"
TYPICAL_LATENCY_S = {
    "gpt-4.1": 0.55,
    "gpt-4.1-mini": 0.32,
    "claude-haiku-4-5": 0.41,
    "gpt-4.1-nano": 0.21,
}


def scripted_latency(model: str, prompt: str) -> float:
    """A deterministic latency around the model's typical one (0.7×–1.6×, long tail)."""
    digest = hashlib.sha256(f"{model}\n{prompt}".encode()).digest()
    u = digest[0] / 255
    return round(TYPICAL_LATENCY_S[canonical_model(model)] * (0.7 + 0.9 * u**3), 3)


def simulated(call: Call) -> Reply:
    text, tool_calls, input_tokens, output_tokens = respond(call.model, call.system, call.prompt)
    return Reply(
        text=text,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        latency_s=scripted_latency(call.model, call.prompt),
        tool_calls=tuple(tool_calls),
    )


def main() -> int:
    with LoopbackServer(simulated) as server:
        os.environ.update(
            OPENAI_BASE_URL=server.openai_base_url,
            ANTHROPIC_BASE_URL=server.anthropic_base_url,
            OPENAI_API_KEY="sk-loopback-not-a-key",
            ANTHROPIC_API_KEY="loopback-not-a-key",
        )
        status = pytest.main(
            [str(HERE), "-q", "--modelguard-record", "all", "--models", MODELS, *sys.argv[1:]]
        )
        print(f"loopback simulator answered {server.count()} calls")
    return int(status)


if __name__ == "__main__":
    raise SystemExit(main())
