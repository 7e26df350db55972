"""Capture overhead: per-call latency of a ``capture()``-wrapped client against the bare client.

The loopback server (``tests/loopback.py``) runs in its own process. For each
scenario (OpenAI create, OpenAI stream with usage, Anthropic create) a bare and a
wrapped sync client call it alternately (which goes first alternates too), CALLS
times each after a warm-up, and the script prints p50/p95 of both and the
difference, plus the median of the paired differences. Last, the wrapper's own
cost per call (create, and a 10-chunk stream) with an "SDK" that answers instantly:
no network, so far less noise on a busy machine.
The wrapped clients write to a fresh SQLite database in a temp directory; the rows
are counted at the end::

    python benchmarks/bench_capture.py               # 1000 calls per client per scenario
    python benchmarks/bench_capture.py --calls 2000

The goal is a p50 overhead under 1 ms.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import anthropic
import openai

from pytest_modelguard.capture import TraceDb, TraceStore, capture

ROOT = Path(__file__).resolve().parent.parent
MESSAGES = [
    {"role": "system", "content": "Classify the ticket: billing, bug, account or other."},
    {"role": "user", "content": "I was charged twice this month for the same order, please help"},
]


def start_server() -> tuple[subprocess.Popen[str], str]:
    """The loopback server in a subprocess, and its root URL."""
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "loopback.py"), "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    return server, server.stdout.readline().strip()


def scenarios() -> dict[str, Callable[[Any], Any]]:
    """Name → one call with a client (built by ``client_for``)."""

    def openai_create(client: Any) -> Any:
        return client.chat.completions.create(model="gpt-4.1-mini", messages=MESSAGES)

    def openai_stream(client: Any) -> Any:
        stream = client.chat.completions.create(
            model="gpt-4.1-mini", messages=MESSAGES, stream=True,
            stream_options={"include_usage": True},
        )  # fmt: skip
        return list(stream)

    def anthropic_create(client: Any) -> Any:
        return client.messages.create(
            model="claude-haiku-4-5", max_tokens=20, system=MESSAGES[0]["content"],
            messages=MESSAGES[1:],
        )  # fmt: skip

    return {"openai create": openai_create, "openai stream": openai_stream,
            "anthropic create": anthropic_create}  # fmt: skip


def client_for(name: str, url: str) -> Any:
    if name.startswith("openai"):
        return openai.OpenAI(base_url=f"{url}/v1", api_key="sk-bench", max_retries=0)
    return anthropic.Anthropic(base_url=url, api_key="sk-bench", max_retries=0)


def timed(call: Callable[[Any], Any], client: Any) -> float:
    start = time.perf_counter()
    call(client)
    return time.perf_counter() - start


def measure(
    call: Callable[[Any], Any], bare: Any, wrapped: Any, n: int
) -> tuple[list[float], list[float]]:
    """Interleaved timings (seconds) of ``n`` calls with each client."""
    for _ in range(50):  # warm-up: connections, imports, the price table
        call(bare)
        call(wrapped)
    plain: list[float] = []
    captured: list[float] = []
    for i in range(n):
        if i % 2:
            plain.append(timed(call, bare))
            captured.append(timed(call, wrapped))
        else:
            captured.append(timed(call, wrapped))
            plain.append(timed(call, bare))
    return plain, captured


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(name: str, plain: list[float], captured: list[float]) -> None:
    ms = 1000.0
    p50 = (quantile(plain, 0.5) * ms, quantile(captured, 0.5) * ms)
    p95 = (quantile(plain, 0.95) * ms, quantile(captured, 0.95) * ms)
    paired = statistics.median(c - p for c, p in zip(captured, plain, strict=True)) * ms
    print(
        f"{name:<17} bare p50 {p50[0]:6.3f} ms  p95 {p95[0]:6.3f} ms | "
        f"captured p50 {p50[1]:6.3f} ms  p95 {p95[1]:6.3f} ms | "
        f"overhead p50 {p50[1] - p50[0]:+6.3f} ms  p95 {p95[1] - p95[0]:+6.3f} ms  "
        f"paired median {paired:+6.3f} ms"
    )


class CannedStream:
    """A stand-in for ``openai.Stream`` replaying parsed chunks (iterates ``_iterator`` like it)."""

    def __init__(self, chunks: list[Any]) -> None:
        self._iterator = iter(chunks)

    def __iter__(self) -> Any:
        yield from self._iterator

    def close(self) -> None:
        """Nothing to release."""


def canned_costs(url: str, store: TraceStore, n: int = 5000) -> dict[str, float]:
    """Microseconds the wrapper adds per call when the "SDK" answers instantly (no network)."""
    real = client_for("openai", url)
    response = real.chat.completions.create(model="m", messages=MESSAGES)
    chunks = list(real.chat.completions.create(
        model="m", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    ))  # fmt: skip

    def create(**kwargs: Any) -> Any:
        return CannedStream(chunks) if kwargs.get("stream") else response

    canned = SimpleNamespace(
        chat=SimpleNamespace(completions=SimpleNamespace(create=create)), api_key="sk-bench"
    )
    wrapped = capture(canned, db=store)
    costs = {}
    for name, stream in (("create", False), ("stream", True)):
        best = []
        for client in (canned, wrapped) * 3:
            start = time.perf_counter()
            for _ in range(n):
                answer = client.chat.completions.create(model="m", messages=MESSAGES, stream=stream)
                if stream:
                    list(answer)
            best.append((time.perf_counter() - start) / n)
            store.flush()
        costs[name] = (min(best[1::2]) - min(best[0::2])) * 1e6
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000, help="calls per client per scenario")
    args = parser.parse_args()
    print(
        f"python {platform.python_version()}, openai {openai.__version__}, "
        f"anthropic {anthropic.__version__}, {args.calls} calls per client per scenario"
    )
    server, url = start_server()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            store = TraceStore(Path(tmp) / "bench.db")
            for name, call in scenarios().items():
                bare = client_for(name, url)
                wrapped = capture(client_for(name, url), db=store, tags=["bench"])
                report(name, *measure(call, bare, wrapped, args.calls))
            costs = canned_costs(url, store)
            print(
                "wrapper cost per call without network (SDK answers instantly): "
                + ", ".join(f"{name} {us:.1f} µs" for name, us in costs.items())
            )
            store.close()
            with TraceDb(store.path) as db:
                rows = sum(1 for _ in db.scan(["id"]))
            expected = 3 * (args.calls + 50) + 2 * 3 * 5000
            print(f"rows written {rows} (expected {expected}), dropped {store.dropped}")
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
