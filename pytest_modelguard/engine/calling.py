"""One call: launched in a slot of an adaptive rate limit, within the spend cap, retried.

``call`` answers one request (a Completion, or a ProviderError as data): transient
errors are retried with backoff and jitter (``RetryPolicy``) outside the limit; a
rate limit halves the calls in flight (``AdaptiveLimit``); ``Stop`` refuses new
launches once the run is stopping. The fan-out over many requests is ``runner.py``.
"""

from __future__ import annotations

import asyncio
import collections
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from ..records.calls import Completion, Provider, ProviderError, Request
from .spend import SpendCap

Outcome = Completion | ProviderError
Keep = Callable[[Request, Completion], Awaitable[None]]
"""Saves a paid answer; awaited inside the call's slot, so a failed save stops what follows."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with full jitter for transient errors, honouring Retry-After.

    A request is retried until ``deadline_s`` has passed since its first attempt (a wait that
    would end past it is not started), and, when ``max_attempts`` is set, at most that often.
    """

    max_attempts: int | None = None
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0
    jitter: bool = True
    deadline_s: float = 120.0

    def delay_s(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1-based), never above max_delay_s."""
        ceiling = min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1))
        delay = rng.uniform(0.0, ceiling) if self.jitter else ceiling
        if retry_after is not None:
            delay = max(delay, retry_after)
        return min(delay, self.max_delay_s)

    def gives_up(self, attempt: int, elapsed_s: float, delay_s: float) -> bool:
        """Whether a transient failure of attempt ``attempt`` is final."""
        if self.max_attempts is not None and attempt >= self.max_attempts:
            return True
        return elapsed_s + delay_s > self.deadline_s


RATE_LIMITED = frozenset({429, 529})
"""Statuses that say "too many calls at once": they halve the calls in flight."""


class AdaptiveLimit:
    """At most ``limit`` calls in flight: halved by a rate limit, raised again as calls succeed.

    Additive increase, multiplicative decrease: each success adds 1/limit (one more slot per
    ``limit`` successes), each 429 from a call launched after the last cut halves it (never
    below 1 nor above ``ceiling``, the configured ``concurrency``).
    """

    def __init__(self, ceiling: int) -> None:
        self.ceiling = ceiling
        self.limit = float(ceiling)
        self.in_flight = 0
        self._cut = 0  # launches up to this one do not cut again
        self._launched = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    @property
    def slots(self) -> int:
        return max(1, int(self.limit))

    async def acquire(self) -> int:
        """Wait for a free slot; returns the launch's number (for ``release``)."""
        while self.in_flight >= self.slots:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                if not waiter.done():
                    self._waiters.remove(waiter)
        self.in_flight += 1
        self._launched += 1
        return self._launched

    def release(self, launch: int, outcome: Outcome | None) -> None:
        """Free the slot and adapt the limit to how the call went."""
        if isinstance(outcome, ProviderError) and outcome.status in RATE_LIMITED:
            if launch > self._cut:
                self.limit = max(1.0, self.limit / 2)
                self._cut = self._launched
        elif isinstance(outcome, Completion):
            self.limit = min(float(self.ceiling), self.limit + 1 / self.limit)
        self.in_flight -= 1
        for _ in range(max(0, self.slots - self.in_flight)):
            if not self._waiters:
                break
            self._waiters.popleft().set_result(None)


class Stop:
    """Why no more calls may be launched (Ctrl-C, a cache that cannot be written), if so."""

    def __init__(self) -> None:
        self.reason: str | None = None
        self.interrupts = 0
        self.cancel: Callable[[], None] = lambda: None  # stops every task at once


async def call(
    providers: Mapping[str, Provider],
    request: Request,
    limit: AdaptiveLimit,
    retry: RetryPolicy,
    rng: random.Random,
    spend: SpendCap | None,
    stop: Stop,
    keep: Keep | None = None,
) -> Outcome:
    """Call the request's provider, retrying transient errors with backoff outside the limit.

    A Completion is handed to ``keep`` before its slot is freed: the next call launched sees
    a ``stop`` that saving it set."""
    provider = providers.get(request.provider)
    if provider is None:
        known = ", ".join(sorted(providers)) or "none"
        return ProviderError(
            f"no provider {request.provider!r} is configured (known: {known}); "
            "declare it under [tool.modelguard.providers]",
            transient=False,
        )
    started = time.monotonic()
    attempt = 1
    while True:
        outcome = await _launch(provider, request, limit, spend, stop, keep)
        if isinstance(outcome, Completion):
            return outcome
        delay = retry.delay_s(attempt, outcome.retry_after, rng)
        elapsed = time.monotonic() - started
        if not outcome.transient or retry.gives_up(attempt, elapsed, delay):
            return _gave_up(outcome, attempt, elapsed)
        await asyncio.sleep(delay)
        attempt += 1


async def _launch(
    provider: Provider,
    request: Request,
    limit: AdaptiveLimit,
    spend: SpendCap | None,
    stop: Stop,
    keep: Keep | None,
) -> Outcome:
    """One attempt in a slot of ``limit`` and within the spend cap; refused once stopped."""
    launch = await limit.acquire()
    outcome: Outcome | None = None
    try:
        if stop.reason is not None:
            return ProviderError(stop.reason, transient=False)
        refused = spend.try_reserve(request) if spend is not None else None
        if refused is not None:
            return ProviderError(refused, transient=False)
        outcome = await _attempt(provider, request)
        if spend is not None:
            spend.settle(request, outcome if isinstance(outcome, Completion) else None)
        if keep is not None and isinstance(outcome, Completion):
            await keep(request, outcome)
        return outcome
    finally:
        limit.release(launch, outcome)


async def _attempt(provider: Provider, request: Request) -> Outcome:
    try:
        return await provider.complete(request)
    except ProviderError as exc:
        return exc
    except Exception as exc:  # a bug or bad params: an item error, not a crashed run
        return ProviderError(
            f"{request.provider}:{request.model}: {type(exc).__name__}: {exc}", transient=False
        )


def _gave_up(error: ProviderError, attempts: int, elapsed_s: float) -> ProviderError:
    if attempts == 1:
        return error
    return ProviderError(
        f"{error} (gave up after {attempts} attempts in {elapsed_s:.1f}s)",
        transient=error.transient,
        status=error.status,
        retry_after=error.retry_after,
    )
