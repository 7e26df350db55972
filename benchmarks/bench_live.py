"""Live-path overhead: ``answer_all`` against a bare ``asyncio.gather`` over the same SDK calls.

Starts ``tests/loopback.py`` in its own process (so its CPU does not compete with
the client), then times (a) a semaphore-bounded gather of ``AsyncOpenAI`` calls and
(b) ``answer_all`` of as many distinct requests into a temp cache (record "all")::

    python benchmarks/bench_live.py            # 2000 calls, 200 ms, concurrency 64

The goal is b/a <= 1.05 (issue #26: the runner alone; the whole run is bench_whole_run.py).
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import openai  # noqa: E402

from pytest_modelguard.engine.cache import Cache  # noqa: E402
from pytest_modelguard.engine.providers.openai import OpenAIProvider  # noqa: E402
from pytest_modelguard.engine.runner import answer_all  # noqa: E402
from pytest_modelguard.records.calls import Completion, Request  # noqa: E402

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


class Stopwatch:
    """Wall and process-CPU seconds of a block: CPU is the steadier signal on a busy machine."""

    def __enter__(self) -> Stopwatch:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


async def bare(base_url: str, calls: int, concurrency: int) -> Stopwatch:
    """(a) A semaphore-bounded gather of SDK calls."""
    with Stopwatch() as watch:
        client = openai.AsyncOpenAI(
            api_key=os.environ[KEY_ENV], base_url=base_url, timeout=TIMEOUT_S, max_retries=0
        )
        limit = asyncio.Semaphore(concurrency)

        async def one(i: int) -> None:
            async with limit:
                await client.chat.completions.create(model=MODEL, messages=messages(i))  # type: ignore[arg-type]

        await asyncio.gather(*(one(i) for i in range(calls)))
    await client.close()
    return watch


async def runner(
    base_url: str, calls: int, concurrency: int, offset: int, temp_root: str | None
) -> Stopwatch:
    """(b) ``answer_all`` of distinct requests into a fresh cache under temp_root."""
    requests = [Request("openai", MODEL, tuple(messages(offset + i))) for i in range(calls)]
    provider = OpenAIProvider("openai", base_url=base_url, api_key_env=KEY_ENV, timeout_s=TIMEOUT_S)
    with tempfile.TemporaryDirectory(dir=temp_root) as cache_dir:
        with Stopwatch() as watch:
            cache = Cache(Path(cache_dir))
            results = await answer_all(requests, {"openai": provider}, cache, "all", concurrency)
        await provider.aclose()
    failed = [r for r in results.values() if not isinstance(r, Completion)]
    assert not failed and len(results) == calls, failed[:3]
    return watch


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--rounds", type=int, default=1, help="alternate a and b this many times")
    parser.add_argument("--cache-root", help="where the temp cache goes (default: system temp)")
    args = parser.parse_args()
    os.environ.setdefault(KEY_ENV, "loopback-bench-key")
    calls, concurrency = args.calls, args.concurrency
    server, url = start_server(args.latency)
    base_url = f"{url}/v1"
    print(
        f"{calls} calls, latency {args.latency}s, concurrency {concurrency}; "
        f"ideal bound {calls / concurrency * args.latency:.2f} s; goal b/a <= 1.05; "
        f"cache under {args.cache_root or tempfile.gettempdir()}; load average {load()}"
    )
    walls, cpus = [], []
    try:
        asyncio.run(bare(base_url, concurrency, concurrency))  # warm up imports and caches
        asyncio.run(runner(base_url, concurrency, concurrency, -concurrency, args.cache_root))
        for n in range(args.rounds):
            a = asyncio.run(bare(base_url, calls, concurrency))
            b = asyncio.run(runner(base_url, calls, concurrency, n * calls, args.cache_root))
            walls.append(b.wall / a.wall)
            cpus.append(b.cpu / a.cpu)
            print(
                f"round {n + 1}: (a) bare gather {a.wall:6.2f} s wall {a.cpu:5.2f} s cpu   "
                f"(b) answer_all {b.wall:6.2f} s wall {b.cpu:5.2f} s cpu   "
                f"b/a {walls[-1]:.3f} wall {cpus[-1]:.3f} cpu"
            )
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(
        f"median b/a over {len(walls)} round(s): {statistics.median(walls):.3f} wall, "
        f"{statistics.median(cpus):.3f} cpu; load average {load()}"
    )


if __name__ == "__main__":
    main()
