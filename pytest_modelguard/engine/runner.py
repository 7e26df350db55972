"""The fan-out: answer many requests at once, cache first, bounded, retried, with progress.

Identical requests are called once; each paid answer is cached the moment it
arrives (by a writer thread, before its call's slot is freed), so an interrupted run keeps
what it bought. Errors are returned as data.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from ..core.formatting import plural
from ..core.vocabulary import RecordMode
from ..records.calls import Completion, Provider, ProviderError, Request, Warmable
from .batching import Batcher
from .cache import Cache, private_dir
from .calling import AdaptiveLimit, Outcome, RetryPolicy, Stop, call
from .spend import SpendCap

__all__ = [
    "AdaptiveLimit",
    "Batcher",
    "Keeper",
    "Outcome",
    "Progress",
    "ProgressEvent",
    "RetryPolicy",
    "answer_all",
    "answer_all_sync",
]

DEFAULT_RETRY = RetryPolicy()
WRITERS = 2
"""Threads writing answers to the cache: a write waits for the disk, not for the GIL."""
CLAIM_POLL_S = 0.02
"""How often a request held by another process checks whether it was released."""

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ProgressEvent:
    """Where a run stands: ``done`` = cached + new + failed, out of ``total`` unique requests."""

    done: int
    total: int
    cached: int
    new: int
    failed: int
    elapsed_s: float
    limit: int = 0  # calls allowed in flight now; below ``ceiling`` after rate limits
    ceiling: int = 0

    @property
    def rate(self) -> float:
        """Answers per second so far."""
        return self.done / self.elapsed_s if self.elapsed_s > 0 else 0.0


class Progress(Protocol):
    """Receives the run's progress; ``finish`` is called once at the end."""

    def update(self, event: ProgressEvent) -> None: ...

    def finish(self, event: ProgressEvent) -> None: ...


class _Tally:
    """Counts outcomes and feeds the progress sink."""

    def __init__(self, total: int, progress: Progress | None, limit: AdaptiveLimit) -> None:
        self.total, self.progress, self.limit = total, progress, limit
        self.cached = self.new = self.failed = 0
        self.started = time.monotonic()

    def add(self, outcome: Outcome | None, *, cached: bool) -> None:
        """One request settled (None: found in the cache, left there to be read later)."""
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
        limit = self.limit
        return ProgressEvent(
            done, self.total, self.cached, self.new, self.failed, elapsed,
            min(limit.slots, limit.ceiling), limit.ceiling,
        )  # fmt: skip


class Keeper:
    """Writes each paid answer to the cache the moment it arrives.

    An answer that cannot be written (disk full, file too large, read-only) is not thrown
    away: the run grades it from memory, it is written to a fallback directory when one can
    be made, and no further call is launched (``stop``): they could not be kept either.
    """

    def __init__(self, cache: Cache, stop: Stop) -> None:
        self.cache, self.stop = cache, stop
        self.unsaved = 0
        self.error = ""
        self.fallback: Cache | None = None
        self.fallback_error = ""
        self._failing = threading.Lock()  # writer threads share the failure bookkeeping

    def put(self, request: Request, completion: Completion) -> None:
        """Save one answer (called from writer threads)."""
        try:
            self.cache.put(request, completion)
            return
        except OSError as exc:
            failure = f"{type(exc).__name__}: {exc}"
        with self._failing:
            self.unsaved += 1
            self.error = self.error or failure
            self.stop.reason = self.stop.reason or (
                f"not called: answers could not be saved under {self.cache.root} ({self.error})"
            )
            try:
                if self.fallback is None:
                    stamp = time.strftime("%Y%m%dT%H%M%S")
                    self.fallback = Cache(Path(private_dir(), f"unsaved-{stamp}-{os.getpid()}"))
                self.fallback.put(request, completion)
            except OSError as exc:
                self.fallback_error = self.fallback_error or f"{type(exc).__name__}: {exc}"

    def note(self) -> str | None:
        """What the user must know about answers that were paid for but not saved."""
        if not self.unsaved:
            return None
        if self.fallback is not None and not self.fallback_error:
            where = (
                f"they are kept in {self.fallback.root} (copy its answers/ into "
                f"{self.cache.root} to keep them)"
            )
        else:
            where = f"they could not be kept elsewhere either ({self.fallback_error})"
        return (
            f"{plural(self.unsaved, 'paid answer')} could not be saved under {self.cache.root} "
            f"({self.error}); this run graded them from memory, and {where}"
        )


async def answer_all(
    requests: Sequence[Request],
    providers: Mapping[str, Provider],
    cache: Cache,
    record: RecordMode | str,
    concurrency: int,
    retry: RetryPolicy = DEFAULT_RETRY,
    progress: Progress | None = None,
    spend: SpendCap | None = None,
    cached_keys: set[str] | None = None,
    run_started: float | None = None,
    stop: Stop | None = None,
    notes: list[str] | None = None,
    on_disk: dict[str, str] | None = None,
    batcher: Batcher | None = None,
) -> dict[str, Outcome]:
    """Answer every request, keyed by ``request.key()``: a Completion or the final ProviderError.

    Record modes: ``none`` never calls (a miss is an error), ``once``/``new`` call
    only cache misses, ``all`` calls everything. At most ``concurrency`` calls are
    in flight (fewer while the provider rate-limits); transient errors are retried per
    ``retry``. With ``spend``, no call is launched that could cross the cap. Keys answered
    from the cache are added to ``cached_keys`` when given. ``run_started`` (Unix time) lets
    mode ``all`` reuse what another process of the same run recorded while this one waited
    for it. Once ``stop`` has a reason nothing more is launched; what the user must know
    (answers that could not be saved) is appended to ``notes``. A cache that cannot be
    written raises CacheError before anything is called. Given ``on_disk``, a recorded
    answer is not read: its key and file go there, to be read when it is needed
    (``Cache.read``), so a replay holds only the answers of the items about to run.
    Given a ``batcher``, the uncached requests it ``wants`` go by the providers' batch APIs
    (``batching.py``); those it hands back are called as ordinary requests.
    """
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, got {concurrency}")
    mode = RecordMode(record)
    unique = {request.key(): request for request in requests}
    limit = AdaptiveLimit(concurrency)
    tally = _Tally(len(unique), progress, limit)
    results: dict[str, Outcome] = {}
    to_call: list[tuple[str, Request]] = []
    peek = on_disk if mode is not RecordMode.ALL else None
    for key, request in unique.items():
        if peek is not None and (path := cache.file_of(request, key)) is not None:
            peek[key] = path
            tally.add(None, cached=True)
            continue
        found = _replay(cache, request, key, mode)
        if found is None:
            to_call.append((key, request))
        else:
            results[key] = found
            tally.add(found, cached=True)
            if cached_keys is not None and isinstance(found, Completion):
                cached_keys.add(key)
    batched: list[tuple[str, Request]] = []
    if batcher is not None:
        batched = [(key, r) for key, r in to_call if batcher.wants(r)]
        to_call = [(key, r) for key, r in to_call if not batcher.wants(r)]
    if to_call or batched:
        cache.check_writable()
        _warm(providers, [request for _, request in to_call + batched])
    stop = stop or Stop()
    keeper = Keeper(cache, stop)
    # Writes run in threads, off the loop (a put is 0.3 ms, several under a busy disk, nearly
    # all of it in system calls that release the GIL). Each is awaited inside its call's slot
    # (the next launch sees a failed write's stop) and shielded from cancellation: a write
    # once started is never dropped, and the pool is drained on every way out (below).
    writer = ThreadPoolExecutor(WRITERS, thread_name_prefix="modelguard-cache")
    loop = asyncio.get_running_loop()

    async def keep(request: Request, completion: Completion) -> None:
        await asyncio.shield(loop.run_in_executor(writer, keeper.put, request, completion))

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
            outcome = await call(providers, request, limit, retry, rng, spend, stop, keep)
        finally:
            claim.release()
        results[key] = outcome
        tally.add(outcome, cached=False)

    tasks = [asyncio.ensure_future(answer(key, request)) for key, request in to_call]

    def settled(key: str, outcome: Outcome) -> None:
        results[key] = outcome
        tally.add(outcome, cached=False)

    async def by_batch(run: Batcher) -> None:
        live = await run.run(batched, providers, spend, stop, keep, settled)
        more = [asyncio.ensure_future(answer(key, request)) for key, request in live]
        tasks.extend(more)
        await asyncio.gather(*more)

    # not cancelled with the calls: it stops on its own once the run is stopping, and a batch
    # being submitted is saved before it returns (cancelled, its id would be lost: paid twice)
    batching = asyncio.ensure_future(by_batch(batcher)) if batcher and batched else None

    def cancel_all() -> None:
        for task in tasks:
            task.cancel()

    stop.cancel = cancel_all
    try:
        await asyncio.gather(*tasks, *([batching] if batching else []))
    except asyncio.CancelledError:
        if not stop.interrupts:
            raise
    finally:
        for task in tasks:  # after an interrupt: stop spending
            task.cancel()
        if batching is not None and not batching.done():
            with contextlib.suppress(asyncio.CancelledError):
                await batching
        writer.shutdown(wait=True)  # every answer handed to a writer is on disk
        if progress is not None:
            progress.finish(tally.event())
        note = keeper.note()
        if note is not None and notes is not None:
            notes.append(note)
    return results


def _warm(providers: Mapping[str, Provider], requests: Sequence[Request]) -> None:
    """Each provider about to be called does its start-up work before the first clock starts."""
    models: dict[str, set[str]] = {}
    for request in requests:
        models.setdefault(request.provider, set()).add(request.model)
    for name, wanted in models.items():
        provider = providers.get(name)
        if isinstance(provider, Warmable):
            provider.warm(sorted(wanted))


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


INTERRUPT_GRACE_S = 5.0
"""After a first Ctrl-C or SIGTERM, how long the calls in flight may take to arrive (and be
saved)."""

STOP_SIGNALS = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated"}
"""Ctrl-C, and what CI systems send on cancel or timeout: both keep the calls in flight."""


def _on_signals(stop: Stop) -> Callable[[], None]:
    """First SIGINT or SIGTERM: launch nothing more, give the calls in flight
    INTERRUPT_GRACE_S to arrive; a second (of either): stop at once. Returns what removes
    the handlers (a no-op off the main thread or without loop signal handlers, where the
    default handling applies)."""
    loop = asyncio.get_running_loop()

    def handle(signum: signal.Signals) -> None:
        stop.interrupts += 1
        what = STOP_SIGNALS[signum]
        if stop.interrupts > 1:
            stop.cancel()
            sys.stderr.write(f"\nmodelguard: {what} again: stopping now\n")
            return
        stop.reason = f"not called: the run was {what}"
        loop.call_later(INTERRUPT_GRACE_S, stop.cancel)
        sys.stderr.write(
            f"\nmodelguard: {what}: saving the answers in flight (up to "
            f"{INTERRUPT_GRACE_S:g}s; Ctrl-C again to stop now)\n"
        )

    before: dict[signal.Signals, Any] = {}
    try:
        for signum in STOP_SIGNALS:
            previous = signal.getsignal(signum)
            loop.add_signal_handler(signum, handle, signum)
            before[signum] = previous
    except (ValueError, RuntimeError, NotImplementedError):
        pass

    def remove() -> None:
        for signum, previous in before.items():
            loop.remove_signal_handler(signum)
            if previous is not None:  # the handler the run had before (pytest's, a user's)
                signal.signal(signum, previous)

    return remove


def answer_all_sync(
    requests: Sequence[Request],
    providers: Mapping[str, Provider],
    cache: Cache,
    record: RecordMode | str,
    concurrency: int,
    retry: RetryPolicy = DEFAULT_RETRY,
    progress: Progress | None = None,
    spend: SpendCap | None = None,
    cached_keys: set[str] | None = None,
    run_started: float | None = None,
    notes: list[str] | None = None,
    on_disk: dict[str, str] | None = None,
    batcher: Batcher | None = None,
) -> dict[str, Outcome]:
    """``answer_all`` in one ``asyncio.run``; the providers' connections are closed at its end.

    Ctrl-C or SIGTERM (see ``_on_signals``) raises KeyboardInterrupt once the loop has closed
    cleanly, every answer that arrived saved.
    """
    stop = Stop()

    async def run() -> dict[str, Outcome]:
        remove = _on_signals(stop)
        try:
            return await answer_all(
                requests, providers, cache, record, concurrency, retry, progress, spend,
                cached_keys, run_started, stop, notes, on_disk, batcher,
            )  # fmt: skip
        finally:
            await asyncio.gather(*(p.aclose() for p in providers.values()), return_exceptions=True)
            remove()

    results = _run(run())
    if stop.interrupts:
        raise KeyboardInterrupt
    return results


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run``, in a worker thread when this thread already runs a loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
