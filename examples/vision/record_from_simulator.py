"""Re-record the vision demo's answers from the loopback simulator (not from real models).

Starts the project's loopback server (tests/loopback.py) on 127.0.0.1, points the
official OpenAI and Anthropic SDKs at it and runs ``pytest examples/vision
--modelguard-record all``. The simulator reads no pixels: it knows each receipt by the
sha256 of the image bytes it received (so an answer exists only when the image really
arrived), answers its total; gpt-4.1-mini misreads receipt r5, gpt-4.1-nano all but one.

    python examples/vision/record_from_simulator.py
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "tests"))

from loopback import Call, LoopbackServer, Reply  # noqa: E402

TOTALS = {"r1": "12.50", "r2": "7.95", "r3": "41.00", "r4": "3.20", "r5": "118.40", "r6": "26.75"}
MISREAD = {("gpt-4.1-mini", "r5"): "110.40"} | {
    ("gpt-4.1-nano", name): "1.00" for name in ("r1", "r2", "r3", "r4", "r6")
}  # nano: a weak reader, to show a regression (pytest examples/vision --models openai:gpt-4.1-nano)
MODELS = "openai:gpt-4.1-mini,haiku,openai:gpt-4.1-nano"


def receipts() -> dict[str, str]:
    """sha256 of each receipt image -> its name (r1 ... r6)."""
    files = sorted((HERE / "receipts").glob("r*.png"))
    return {hashlib.sha256(f.read_bytes()).hexdigest(): f.stem for f in files}


def simulated(call: Call) -> Reply:
    known = receipts()
    names = [known.get(hashlib.sha256(m.data).hexdigest(), "?") for m in call.media]
    if len(names) != 1 or names[0] == "?":
        return Reply(f"I cannot see a receipt I know ({len(names)} images).")
    model = call.model.split(":")[-1]
    total = MISREAD.get((model, names[0]), TOTALS[names[0]])
    text = total if call.wire == "openai" else f"The total is {total}."
    return Reply(text, latency_s=0.2 + 0.01 * len(call.messages))


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
