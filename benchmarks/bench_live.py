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
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--rounds", type=int, default=1, help="alternate a/b this many times")
    args = parser.parse_args()
    os.environ.setdefault(KEY_ENV, "loopback-bench-key")
    server, url = start_server(args.latency)
    try:
        base_url = f"{url}/v1"
        asyncio.run(bare(base_url, args.concurrency, args.concurrency))  # warm up imports
        asyncio.run(runner(base_url, args.concurrency, args.concurrency, -args.concurrency))
        for n in range(args.rounds):
            a = asyncio.run(bare(base_url, args.calls, args.concurrency))
            b = asyncio.run(runner(base_url, args.calls, args.concurrency, n * args.calls))
            ideal = args.calls / args.concurrency * args.latency
            print(f"round {n + 1}: {args.calls} calls, latency {args.latency}s, "
                  f"concurrency {args.concurrency}")
            print(f"  ideal bound        {ideal:7.2f} s")
            print(f"  (a) bare gather    {a:7.2f} s")
            print(f"  (b) answer_all     {b:7.2f} s")
            print(f"  ratio b/a          {b / a:7.3f}  (goal <= 1.15)")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
