"""The fan-out: answer many requests at once, cache first, bounded, retried, with progress.

Identical requests are called once; each paid answer is cached the moment it
arrives, so an interrupted run keeps what it bought. Errors are returned as data.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from pytest_modelguard.cache import Cache, RecordMode
from pytest_modelguard.providers.base import Completion, Provider, ProviderError, Request
from pytest_modelguard.spend import SpendCap

Outcome = Completion | ProviderError
CLAIM_POLL_S = 0.02
"""How often a request held by another process checks whether it was released."""

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with full jitter for transient errors, honouring Retry-After."""

    max_attempts: int = 5
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0
    jitter: bool = True

    def delay_s(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1-based), never above max_delay_s."""
        ceiling = min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1))
        delay = rng.uniform(0.0, ceiling) if self.jitter else ceiling
        if retry_after is not None:
            delay = max(delay, retry_after)
        return min(delay, self.max_delay_s)


@dataclass(frozen=True, slots=True)
class ProgressEvent:
    """Where a run stands: ``done`` = cached + new + failed, out of ``total`` unique requests."""

    done: int
    total: int
    cached: int
    new: int
    failed: int
    elapsed_s: float

    @property
    def rate(self) -> float:
        """Answers per second so far."""
        return self.done / self.elapsed_s if self.elapsed_s > 0 else 0.0


class Progress(Protocol):
    """Receives the run's progress; ``finish`` is called once at the end."""

    def update(self, event: ProgressEvent) -> None: ...

    def finish(self, event: ProgressEvent) -> None: ...


def render(event: ProgressEvent) -> str:
    """One line: ``modelguard: 120/2000 answers (40 cached, 78 new, 2 failed) 35.1/s``."""
    return (
        f"modelguard: {event.done}/{event.total} answers ({event.cached} cached, "
        f"{event.new} new, {event.failed} failed) {event.rate:.1f}/s in {event.elapsed_s:.1f}s"
    )


class TerminalProgress:
    """Redraws one line with ``\\r`` at most every ``min_interval_s`` on a TTY.

    Elsewhere (CI logs) it stays quiet until ``finish``, which prints one line.
    """

    def __init__(
        self,
        write: Callable[[str], None],
        is_tty: bool,
        min_interval_s: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._write, self._is_tty = write, is_tty
        self._min_interval_s, self._clock = min_interval_s, clock
        self._last_at = float("-inf")
        self._width = 0

    def update(self, event: ProgressEvent) -> None:
        now = self._clock()
        if self._is_tty and now - self._last_at >= self._min_interval_s:
            self._last_at = now
            self._redraw(render(event))

    def finish(self, event: ProgressEvent) -> None:
        if self._is_tty:
            self._redraw(render(event))
            self._write("\n")
        else:
            self._write(render(event) + "\n")

    def _redraw(self, line: str) -> None:
        self._write("\r" + line.ljust(self._width))
        self._width = len(line)


class _Tally:
    """Counts outcomes and feeds the progress sink."""

    def __init__(self, total: int, progress: Progress | None) -> None:
        self.total, self.progress = total, progress
        self.cached = self.new = self.failed = 0
        self.started = time.monotonic()

    def add(self, outcome: Outcome, *, cached: bool) -> None:
        if isinstance(outcome, ProviderError):
            self.failed += 1
        elif cached:
            self.cached += 1
        else:
            self.new += 1
        if self.progress is not None:
            self.progress.update(self.event())

    def event(self) -> ProgressEvent:
        done = self.cached + self.new + self.failed
        elapsed = time.monotonic() - self.started
        return ProgressEvent(done, self.total, self.cached, self.new, self.failed, elapsed)


async def answer_all(
    requests: Sequence[Request],
    providers: Mapping[str, Provider],
    cache: Cache,
    record: RecordMode | str,
    concurrency: int,
    retry: RetryPolicy = RetryPolicy(),
    progress: Progress | None = None,
    spend: SpendCap | None = None,
    cached_keys: set[str] | None = None,
    run_started: float | None = None,
) -> dict[str, Outcome]:
    """Answer every request, keyed by ``request.key()``: a Completion or the final ProviderError.

    Record modes: ``none`` never calls (a miss is an error), ``once``/``new`` call
    only cache misses, ``all`` calls everything. At most ``concurrency`` calls are
    in flight; transient errors are retried per ``retry``. With ``spend``, no call is
    launched that could cross the cap. Keys answered from the cache are added to
    ``cached_keys`` when given. ``run_started`` (Unix time) lets mode ``all`` reuse what
    another process of the same run recorded while this one waited for it.
    """
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, got {concurrency}")
    mode = RecordMode(record)
    unique = {request.key(): request for request in requests}
    tally = _Tally(len(unique), progress)
    results: dict[str, Outcome] = {}
    to_call: list[tuple[str, Request]] = []
    for key, request in unique.items():
        found = _replay(cache, request, key, mode)
        if found is None:
            to_call.append((key, request))
        else:
            results[key] = found
            tally.add(found, cached=True)
            if cached_keys is not None and isinstance(found, Completion):
                cached_keys.add(key)
    limit = asyncio.Semaphore(concurrency)
    # A held claim is an open file: bounded too (a request waiting for a slot holds none),
    # with room for as many again in retry backoff, which waits outside the call limit.
    claims = asyncio.Semaphore(2 * concurrency)
    rng = random.Random()

    async def answer(key: str, request: Request) -> None:
        async with claims:
            await answer_claimed(key, request)

    async def answer_claimed(key: str, request: Request) -> None:
        claim = cache.claim(request)
        try:
            while not claim.try_acquire():  # another process is paying for it
                # Polled on the loop: a thread blocked per waiter could fill the default
                # pool that `python:` models and DNS lookups need, and two processes
                # waiting on each other's claims would then never finish.
                await asyncio.sleep(CLAIM_POLL_S)
            # another process may have recorded it since we looked
            found = _recorded_meanwhile(cache, request, mode, run_started)
            if found is not None:
                results[key] = found
                tally.add(found, cached=True)
                if cached_keys is not None:
                    cached_keys.add(key)
                return
            outcome = await _call(providers, request, limit, retry, rng, spend)
            if isinstance(outcome, Completion):
                # On the loop, not in a thread: a put is ~0.3 ms, and handing it to a thread
                # costs more (GIL hand-offs) than it saves. See benchmarks/bench_live.py.
                cache.put(request, outcome)
        finally:
            claim.release()
        results[key] = outcome
        tally.add(outcome, cached=False)

    tasks = [asyncio.ensure_future(answer(key, request)) for key, request in to_call]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:  # after a failed cache write (or an interrupt): stop spending
            task.cancel()
        if progress is not None:
            progress.finish(tally.event())
    return results


def _recorded_meanwhile(
    cache: Cache, request: Request, mode: RecordMode, run_started: float | None
) -> Completion | None:
    """An answer another process recorded meanwhile; in mode ``all``, only one recorded
    since ``run_started`` (this run's, e.g. by another xdist worker), never an old one."""
    if mode is RecordMode.ALL and run_started is None:
        return None
    try:
        return cache.get(request, run_started if mode is RecordMode.ALL else None)
    except ValueError:  # unreadable: call and replace it, as if it were absent
        return None


def _replay(cache: Cache, request: Request, key: str, mode: RecordMode) -> Outcome | None:
    """The recorded answer, an error when it must exist but does not, or None to call."""
    if mode is RecordMode.ALL:
        return None
    try:
        found = cache.get(request)
    except ValueError as exc:  # a corrupt entry: never overwritten behind the user's back
        return ProviderError(str(exc), transient=False)
    if found is None and mode is RecordMode.NONE:
        return ProviderError(
            f"no recorded answer for {request.provider}:{request.model} (case key {key[:12]}); "
            "run with --modelguard-record once to record it",
            transient=False,
        )
    return found


async def _call(
    providers: Mapping[str, Provider],
    request: Request,
    limit: asyncio.Semaphore,
    retry: RetryPolicy,
    rng: random.Random,
    spend: SpendCap | None = None,
) -> Outcome:
    """Call the request's provider, retrying transient errors with backoff outside the limit."""
    provider = providers.get(request.provider)
    if provider is None:
        known = ", ".join(sorted(providers)) or "none"
        return ProviderError(
            f"no provider {request.provider!r} is configured (known: {known}); "
            "declare it under [tool.modelguard.providers]",
            transient=False,
        )
    attempt = 1
    while True:
        async with limit:
            refused = spend.try_reserve(request) if spend is not None else None
            if refused is not None:
                return ProviderError(refused, transient=False)
            outcome = await _attempt(provider, request)
            if spend is not None:
                spend.settle(request, outcome if isinstance(outcome, Completion) else None)
        if isinstance(outcome, Completion):
            return outcome
        if not outcome.transient or attempt >= retry.max_attempts:
            return _gave_up(outcome, attempt)
        await asyncio.sleep(retry.delay_s(attempt, outcome.retry_after, rng))
        attempt += 1


async def _attempt(provider: Provider, request: Request) -> Outcome:
    try:
        return await provider.complete(request)
    except ProviderError as exc:
        return exc
    except Exception as exc:  # a bug or bad params: an item error, not a crashed run
        return ProviderError(
            f"{request.provider}:{request.model}: {type(exc).__name__}: {exc}", transient=False
        )


def _gave_up(error: ProviderError, attempts: int) -> ProviderError:
    if attempts == 1:
        return error
    return ProviderError(
        f"{error} (gave up after {attempts} attempts)",
        transient=error.transient,
        status=error.status,
        retry_after=error.retry_after,
    )


def answer_all_sync(
    requests: Sequence[Request],
    providers: Mapping[str, Provider],
    cache: Cache,
    record: RecordMode | str,
    concurrency: int,
    retry: RetryPolicy = RetryPolicy(),
    progress: Progress | None = None,
    spend: SpendCap | None = None,
    cached_keys: set[str] | None = None,
    run_started: float | None = None,
) -> dict[str, Outcome]:
    """``answer_all`` in one ``asyncio.run``; the providers' connections are closed at its end."""

    async def run() -> dict[str, Outcome]:
        try:
            return await answer_all(
                requests, providers, cache, record, concurrency, retry, progress, spend,
                cached_keys, run_started,
            )  # fmt: skip
        finally:
            await asyncio.gather(*(p.aclose() for p in providers.values()), return_exceptions=True)

    return _run(run())


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run``, in a worker thread when this thread already runs a loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
