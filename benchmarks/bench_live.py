"""Live-path overhead: ``answer_all`` against a bare ``asyncio.gather`` over the same SDK calls.

Starts ``tests/loopback.py`` in its own process (so its CPU does not compete with
the client), then times (a) a semaphore-bounded gather of ``AsyncOpenAI`` calls and
(b) ``answer_all`` of as many distinct requests into a temp cache (record "all")::

    python benchmarks/bench_live.py            # 2000 calls, 200 ms, concurrency 64

The goal is b/a <= 1.15.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import openai  # noqa: E402

from pytest_modelguard.cache import Cache  # noqa: E402
from pytest_modelguard.providers.base import Completion, Request  # noqa: E402
from pytest_modelguard.providers.openai import OpenAIProvider  # noqa: E402
from pytest_modelguard.runner import answer_all  # noqa: E402

KEY_ENV = "MODELGUARD_BENCH_KEY"
MODEL = "bench-model"
TIMEOUT_S = 60.0


def start_server(latency_s: float) -> tuple[subprocess.Popen[str], str]:
    """The loopback server in a subprocess, and its root URL."""
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "loopback.py"), "--latency", str(latency_s)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    return server, server.stdout.readline().strip()


def messages(i: int) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"benchmark prompt number {i}"}]


async def bare(base_url: str, calls: int, concurrency: int) -> float:
    """Wall time of a semaphore-bounded gather of SDK calls."""
    start = time.perf_counter()
    client = openai.AsyncOpenAI(
        api_key=os.environ[KEY_ENV], base_url=base_url, timeout=TIMEOUT_S, max_retries=0
    )
    limit = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with limit:
            await client.chat.completions.create(model=MODEL, messages=messages(i))  # type: ignore[arg-type]

    await asyncio.gather(*(one(i) for i in range(calls)))
    elapsed = time.perf_counter() - start
    await client.close()
    return elapsed


async def runner(base_url: str, calls: int, concurrency: int, offset: int) -> float:
    """Wall time of ``answer_all`` over distinct requests into a fresh cache."""
    requests = [Request("openai", MODEL, tuple(messages(offset + i))) for i in range(calls)]
    provider = OpenAIProvider("openai", base_url=base_url, api_key_env=KEY_ENV, timeout_s=TIMEOUT_S)
    with tempfile.TemporaryDirectory() as cache_dir:
        start = time.perf_counter()
        results = await answer_all(requests, {"openai": provider}, Cache(Path(cache_dir)), "all",
                                   concurrency)
        elapsed = time.perf_counter() - start
        await provider.aclose()
    failed = [r for r in results.values() if not isinstance(r, Completion)]
    assert not failed and len(results) == calls, failed[:3]
    return elapsed


def timed(coroutine: Coroutine[Any, Any, float]) -> tuple[float, float]:
    """Wall time the coroutine reports, and the CPU seconds this process spent on it."""
    cpu = time.process_time()
    wall = asyncio.run(coroutine)
    return wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--rounds", type=int, default=1, help="alternate a and b this many times")
    args = parser.parse_args()
    os.environ.setdefault(KEY_ENV, "loopback-bench-key")
    calls, concurrency = args.calls, args.concurrency
    server, url = start_server(args.latency)
    base_url = f"{url}/v1"
    print(f"{calls} calls, latency {args.latency}s, concurrency {concurrency}: "
          f"ideal bound {calls / concurrency * args.latency:.2f} s (goal: b/a <= 1.15)")
    ratios = []
    try:
        asyncio.run(bare(base_url, concurrency, concurrency))  # warm up imports and caches
        asyncio.run(runner(base_url, concurrency, concurrency, -concurrency))
        for n in range(args.rounds):
            a, a_cpu = timed(bare(base_url, calls, concurrency))
            b, b_cpu = timed(runner(base_url, calls, concurrency, n * calls))
            ratios.append(b / a)
            print(f"round {n + 1}: (a) bare gather {a:6.2f} s (cpu {a_cpu:5.2f} s)   "
                  f"(b) answer_all {b:6.2f} s (cpu {b_cpu:5.2f} s)   b/a {b / a:5.3f}")
    finally:
        server.terminate()
        server.wait(timeout=10)
    if len(ratios) > 1:
        print(f"median b/a over {len(ratios)} rounds: {statistics.median(ratios):.3f}")


if __name__ == "__main__":
    main()
