"""Re-record the order agent's answers from the loopback simulator (not from real models).

Starts the loopback server (tests/loopback.py) with simulator.py as its responder, points
the OpenAI SDK at it and runs ``pytest examples/agent --modelguard-record all`` for the
baseline and both candidates: every step of every trajectory lands in .modelguard/.

    python examples/agent/record_from_simulator.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parents[1] / "tests")]

from loopback import LoopbackServer  # noqa: E402
from simulator import respond  # noqa: E402


def main() -> int:
    with LoopbackServer(respond) as server:
        os.environ.update(
            OPENAI_BASE_URL=server.openai_base_url, OPENAI_API_KEY="sk-loopback-not-a-key"
        )
        models = "openai:gpt-4.1-mini,openai:gpt-4.1-nano"
        status = pytest.main(
            [str(HERE), "-q", "--modelguard-record", "all", "--models", models, *sys.argv[1:]]
        )
        print(f"loopback simulator answered {server.count()} calls")
    return int(status)


if __name__ == "__main__":
    raise SystemExit(main())
