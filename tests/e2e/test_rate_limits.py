"""Transient faults are retried against a per-request deadline, not a small fixed count, and
the calls in flight adapt to a provider's rate limit (AIMD), against the loopback server."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from loopback import Call, Fault, FaultPlan, LoopbackServer
from sdkwarm import warm_sdks

from pytest_modelguard.engine import calling, runner
from pytest_modelguard.engine.cache import Cache
from pytest_modelguard.engine.providers.openai import OpenAIProvider
from pytest_modelguard.engine.runner import AdaptiveLimit, ProgressEvent, RetryPolicy
from pytest_modelguard.records.calls import Completion, ProviderError, Request
from pytest_modelguard.report.progress import render

KEY_ENV = "RATE_LIMITS_SIM_KEY"
OLD_MAX_ATTEMPTS = 5  # the fixed count retries used to stop at
N = 180  # cases; x 2 models = 360 requests, the run
RATE = 0.25


def faults(rate: float, seed: int) -> FaultPlan:
    """A seeded, order-independent ``rate`` of calls fail with a 429 or a 500."""

    def plan(call: Call, n: int) -> Fault | None:
        rng = random.Random(f"{seed}\x00{call.model}\x00{call.prompt}\x00{n}")
        return rng.choice((Fault.http(429), Fault.http(500))) if rng.random() < rate else None

    return plan


def failures_in_a_row(plan: FaultPlan, model: str, prompt: str) -> int:
    call = Call("openai", model, ({"role": "user", "content": prompt},), {}, {})
    n = 0
    while plan(call, n) is not None:
        n += 1
    return n


def unlucky_seed() -> int:
    """The first seed whose 360 requests include one failing OLD_MAX_ATTEMPTS times in a row:
    a fixed count of attempts would end that item in an error."""
    for seed in range(1000):
        plan = faults(RATE, seed)
        worst = max(
            failures_in_a_row(plan, model, f"say w{i}")
            for model in ("base", "cand")
            for i in range(N)
        )
        if worst >= OLD_MAX_ATTEMPTS:
            return seed
    raise AssertionError("no seed makes a request fail five times in a row")


@pytest.fixture(scope="module", autouse=True)
def _warm(tmp_path_factory: pytest.TempPathFactory) -> None:
    warm_sdks(tmp_path_factory.mktemp("warm"))


@pytest.fixture
def srv(monkeypatch: pytest.MonkeyPatch) -> Iterator[LoopbackServer]:
    monkeypatch.setenv(KEY_ENV, "sk-rate-limits")
    with LoopbackServer(lambda call: call.prompt.split()[-1]) as server:
        yield server


def test_a_run_under_25_percent_faults_ends_with_no_errored_item(
    pytester: pytest.Pytester, srv: LoopbackServer
) -> None:
    srv.faults = faults(RATE, unlucky_seed())
    pytester.makefile(
        ".toml",
        pyproject=f"""
[tool.modelguard]
baseline = "sim:base"
models = ["sim:cand"]
resamples = 200
retry_delay_s = 0.001
retry_deadline_s = 30
[tool.modelguard.providers.sim]
kind = "openai"
base_url = "{srv.openai_base_url}"
api_key_env = "{KEY_ENV}"
""",
    )
    cases = "".join(f"  - {{id: c{i:03d}, prompt: 'say w{i}', expected: w{i}}}\n" for i in range(N))
    pytester.makefile(".modelguard.yaml", s=f"defaults:\n  graders: [equals]\ncases:\n{cases}")
    result = pytester.runpytest("--modelguard-record", "once")
    result.assert_outcomes(passed=2 * N + 1)  # + the gate results
    assert srv.count() > 2 * N * 1.2  # the faults were there, and retried


def test_retries_stop_at_the_deadline_or_max_attempts() -> None:
    policy = RetryPolicy(deadline_s=10.0)
    assert not policy.gives_up(50, elapsed_s=5.0, delay_s=4.0)
    assert policy.gives_up(2, elapsed_s=5.0, delay_s=6.0)  # the wait would end past it
    assert RetryPolicy(max_attempts=3).gives_up(3, elapsed_s=0.0, delay_s=0.0)


def rate_limited(allowed: int, srv: LoopbackServer) -> FaultPlan:
    """A provider that answers 429 to any call arriving while ``allowed`` are in flight."""

    def plan(call: Call, n: int) -> Fault | None:
        return Fault.http(429) if srv.in_flight > allowed else None

    return plan


class Limits:
    """A progress sink that keeps the calls-in-flight limit of every event."""

    def __init__(self) -> None:
        self.seen: list[int] = []

    def update(self, event: runner.ProgressEvent) -> None:
        self.seen.append(event.limit)

    def finish(self, event: runner.ProgressEvent) -> None:
        self.seen.append(event.limit)


def record(
    srv: LoopbackServer, cache_dir: Path, n: int, limits: Limits
) -> dict[str, runner.Outcome]:
    provider = OpenAIProvider("openai", base_url=srv.openai_base_url, api_key_env=KEY_ENV)
    requests = [
        Request("openai", "m1", ({"role": "user", "content": f"say w{i}"},)) for i in range(n)
    ]
    retry = RetryPolicy(base_delay_s=0.005, max_delay_s=0.05, deadline_s=60)
    return runner.answer_all_sync(
        requests, {"openai": provider}, Cache(cache_dir), "all", 16, retry, progress=limits
    )


def test_calls_in_flight_back_off_on_a_429_storm_over_http(
    srv: LoopbackServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over real HTTP, a 429 storm cuts the calls in flight and every call still lands; with
    rate limits not treated apart, the limit never moves. (How many 429s that saves depends
    on how much concurrency the machine reaches: measured in benchmarks/bench_faults.py,
    not asserted here.)"""
    srv.latency_s = 0.01
    srv.faults = rate_limited(4, srv)
    adaptive_limits = Limits()
    adaptive = record(srv, tmp_path / "a", 300, adaptive_limits)
    assert all(isinstance(o, Completion) for o in adaptive.values())
    assert srv.count() > 300  # the storm happened: some calls were refused with a 429
    # from 16, cut to half or less (under load, the first cut may come before any progress event)
    assert min(adaptive_limits.seen) <= 8 and max(adaptive_limits.seen) <= 16
    monkeypatch.setattr(calling, "RATE_LIMITED", frozenset())  # a fixed limit of 16
    fixed_limits = Limits()
    fixed = record(srv, tmp_path / "f", 300, fixed_limits)
    assert all(isinstance(o, Completion) for o in fixed.values())
    assert set(fixed_limits.seen) == {16}


def test_adaptive_limit_halves_on_a_storm_and_climbs_back() -> None:
    async def scenario() -> list[int]:
        limit = AdaptiveLimit(16)
        launches = [await limit.acquire() for _ in range(16)]
        for launch in launches:  # a storm: every call in flight gets a 429
            limit.release(launch, ProviderError("429", transient=True, status=429))
        seen = [limit.slots]  # one cut per storm, not sixteen
        for _ in range(200):
            limit.release(await limit.acquire(), Completion("ok"))
        seen.append(limit.slots)
        return seen

    assert asyncio.run(scenario()) == [8, 16]


def test_the_progress_line_shows_the_limit_while_rate_limited() -> None:
    line = render(ProgressEvent(10, 100, 0, 10, 0, 1.0, limit=4, ceiling=16))
    assert line.endswith(", 4/16 in flight (rate limited)")
    assert "in flight" not in render(ProgressEvent(10, 100, 0, 10, 0, 1.0, limit=16, ceiling=16))
