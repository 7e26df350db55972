"""``batch = true``: the requests the cache lacks go to the providers' batch APIs.

The fan-out (``runner.answer_all``) hands the batched requests here. Each provider's are
split by its limits (requests and bytes per batch), each batch is saved in the cache
directory (``batch_state``) the moment the provider accepts it, and the run polls until
every batch has ended, writing each answer into the cache under the key an ordinary call
would use. A run that is stopped, or out of ``batch_wait_s``, leaves its batches saved: the
next run collects them and submits none of their requests again. Items a batch failed or let
expire go in the next batch (up to ``ROUNDS`` in all) or, with ``batch_fallback = "live"``,
back to the fan-out as ordinary calls.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..core.formatting import plural
from ..records.calls import Completion, Provider, ProviderError, Request
from . import batch_state
from .batch_state import SavedBatch
from .calling import Keep, Outcome, Stop
from .providers.batch_api import BatchApi, BatchStatus, batch_api
from .spend import SpendCap

ROUNDS = 3
"""Batches one request may be sent in, in one run, before its failure is final."""
SUBMIT_ATTEMPTS = 3
"""Tries to submit one batch when the provider answers with a transient error."""

Settle = Callable[[str, Outcome], None]


@dataclass
class Batcher:
    """One run's batches: which requests go by batch, where they are saved, how long to wait."""

    cache_dir: Path
    wants: Callable[[Request], bool]  # whether a request goes by batch
    poll_s: float = 30.0
    wait_s: float = 86_400.0
    live_fallback: bool = False
    say: Callable[[str], None] = print
    saved: list[SavedBatch] = field(default_factory=list)
    pending: list[SavedBatch] = field(default_factory=list)  # still running when the wait ended
    submitted: int = 0  # batches this run created
    _shown: dict[str, tuple[int, int, str]] = field(default_factory=dict)

    def load(self) -> None:
        """Read the saved batches (CacheError for a file that cannot be trusted)."""
        self.saved = batch_state.load(self.cache_dir)

    @property
    def state_file(self) -> Path:
        return batch_state.path_of(self.cache_dir)

    def resume_hint(self) -> str:
        return (
            f"{plural(len(self.pending) or len(self.saved), 'batch', 'batches')} saved in "
            f"{self.state_file}; run again with --modelguard-batch to collect "
            "(nothing is submitted twice)"
        )

    async def run(
        self,
        todo: Sequence[tuple[str, Request]],
        providers: Mapping[str, Provider],
        spend: SpendCap | None,
        stop: Stop,
        keep: Keep,
        settle: Settle,
    ) -> list[tuple[str, Request]]:
        """Answer ``todo`` by batches (each outcome to ``settle``); returns the requests to
        call as ordinary ones (no batch API, or a batch's failures with the live fallback)."""
        apis: dict[str, BatchApi] = {}
        for name, provider in providers.items():
            api = batch_api(provider)
            if api is not None:
                apis[name] = api
        requests = {key: r for key, r in todo}
        live = [(key, r) for key, r in todo if r.provider not in apis]
        for key, _ in live:
            del requests[key]
        run = _Round(self, apis, requests, spend, stop, keep, settle)
        for entry in [b for b in self.saved if b.submitting and b.provider in apis]:
            if any(k in requests for k in entry.keys):
                await run.resolve(entry)
        active = [b for b in self.saved if any(k in requests for k in b.keys)]
        run.active = active
        for batch in active:
            self.say(f"modelguard: collecting batch {batch.id} ({batch.provider}), saved earlier")
        collecting = {k for b in active for k in b.keys}
        fresh = [key for key in requests if key not in collecting]
        deadline = time.monotonic() + self.wait_s
        while True:
            if fresh:
                await run.submit(fresh)  # once stopping, each fails saying why
            fresh = []
            for batch in list(run.active):
                fresh += await run.check(batch)
            if self.live_fallback:
                live += [(key, requests[key]) for key in fresh]
                fresh = []
            if fresh:
                continue
            if not run.active or stop.reason is not None or time.monotonic() >= deadline:
                break
            await _sleep(min(self.poll_s, max(0.0, deadline - time.monotonic())), stop)
        self.pending = list(run.active) if stop.reason is None else []
        if run.active and stop.reason is not None:
            why = stop.reason.removeprefix("not called: ")
            self.say(f"modelguard: {why}; {self.resume_hint()}")
        return live


class _Round:
    """The batches of one ``Batcher.run``: submitting, checking, collecting."""

    def __init__(
        self,
        batcher: Batcher,
        apis: Mapping[str, BatchApi],
        requests: dict[str, Request],
        spend: SpendCap | None,
        stop: Stop,
        keep: Keep,
        settle: Settle,
    ) -> None:
        self.batcher, self.apis, self.requests = batcher, apis, requests
        self.spend, self.stop, self.keep, self.settle = spend, stop, keep, settle
        self.active: list[SavedBatch] = []
        self.sent: dict[str, int] = {}  # request key → batches it was sent in by this run

    async def submit(self, keys: Sequence[str]) -> None:
        """Send ``keys`` in as few batches as each provider's limits allow."""
        by_provider: dict[str, list[str]] = {}
        for key in keys:
            request = self.requests[key]
            if self.stop.reason is not None:
                self._final(key, ProviderError(self.stop.reason, transient=False))
                continue
            refused = self.spend.try_reserve(request, batch=True) if self.spend else None
            if refused is not None:
                self._final(key, ProviderError(refused, transient=False))
                continue
            by_provider.setdefault(request.provider, []).append(key)
        for provider, mine in by_provider.items():
            api = self.apis[provider]
            try:
                chunks = _chunks(api, [self.requests[k] for k in mine])
            except Exception as exc:  # no key, params no batch line can carry
                error = (
                    exc
                    if isinstance(exc, ProviderError)
                    else ProviderError(
                        f"{provider} batch API: {type(exc).__name__}: {exc}", transient=False
                    )
                )
                for key in mine:
                    self._final(key, error)
                continue
            for chunk, lines in chunks:
                if self.stop.reason is not None:
                    for key in chunk:
                        self._final(key, ProviderError(self.stop.reason, transient=False))
                    continue
                await self._submit_one(api, chunk, lines)

    async def resolve(
        self, entry: SavedBatch, earlier: bool = True
    ) -> tuple[str, SavedBatch | None]:
        """A batch being submitted when a run was killed (``earlier``) or the provider's answer
        was lost: adopted when the provider has it, dropped when it surely has not (its
        requests may be sent), else its items fail saying what to check. Returns "adopted"
        with the batch, "absent" or "unknown"."""
        batcher, api = self.batcher, self.apis[entry.provider]
        try:
            known = {b.id for b in batcher.saved}
            found = [
                ident
                for ident in await api.find(entry.id, entry.submitted_at, len(entry.keys))
                if ident not in known
            ]
        except Exception as exc:  # cannot tell: nothing is resubmitted
            found, why = [], f"{type(exc).__name__}: {exc}"
        else:
            why = ""
        index = batcher.saved.index(entry)
        if len(found) == 1 and not why:
            adopted = batcher.saved[index] = replace(entry, id=found[0], submitting=False)
            batch_state.save(batcher.cache_dir, batcher.saved)
            if earlier:
                batcher.say(f"modelguard: batch {found[0]} ({entry.provider}) was being "
                            "submitted when an earlier run stopped: collecting it")  # fmt: skip
            return "adopted", adopted
        if not found and not why:
            del batcher.saved[index]
            batch_state.save(batcher.cache_dir, batcher.saved)
            if earlier:
                batcher.say(
                    f"modelguard: {plural(len(entry.keys), 'request')} an earlier run was "
                    f"submitting to {entry.provider} when it stopped never reached a batch: "
                    "sending them now"
                )
            return "absent", None
        listed = why or f"{len(found)} of its recent batches fit: {', '.join(found)}"
        when = "an earlier run stopped" if earlier else "its submission failed"
        error = ProviderError(
            f"{entry.provider}: a batch with this request was being submitted when {when}, and "
            f"it cannot be told whether the provider has it ({listed}). Check the provider's "
            f"console, then remove the entry {entry.id} from {batcher.state_file} to submit "
            "again",
            transient=False,
        )
        for key in entry.keys:
            if key in self.requests:
                self._final(key, error)
                del self.requests[key]
        return "unknown", None

    async def _submit_one(self, api: BatchApi, keys: list[str], lines: list[bytes]) -> None:
        batcher = self.batcher
        for attempt in range(1, SUBMIT_ATTEMPTS + 1):
            # saved before the provider is asked: a run killed meanwhile is found out next time
            marker = SavedBatch(api.name, uuid.uuid4().hex, tuple(keys), time.time(), True)
            batcher.saved.append(marker)
            batch_state.save(batcher.cache_dir, batcher.saved)
            try:
                ident = await api.submit(lines, marker.id)
            except Exception as exc:  # the provider may have it all the same (a timeout)
                error = (
                    exc
                    if isinstance(exc, ProviderError)
                    else ProviderError(
                        f"{api.name} batch API: {type(exc).__name__}: {exc}", transient=False
                    )
                )
                if error.transient and error.status is None:  # no answer: it may have it
                    outcome, adopted = await self.resolve(marker, earlier=False)
                else:  # the provider answered with an error, or nothing was sent
                    batcher.saved.remove(marker)
                    batch_state.save(batcher.cache_dir, batcher.saved)
                    outcome, adopted = "absent", None
                if adopted is not None:
                    self._accepted(adopted)
                elif outcome == "absent":  # surely not sent
                    if error.transient and attempt < SUBMIT_ATTEMPTS:
                        await _sleep(batcher.poll_s, self.stop)
                        continue
                    for key in keys:
                        self._final(key, error)
                return
            batch = replace(marker, id=ident, submitting=False)
            batcher.saved[batcher.saved.index(marker)] = batch
            batch_state.save(batcher.cache_dir, batcher.saved)
            self._accepted(batch)
            return

    def _accepted(self, batch: SavedBatch) -> None:
        """A batch the provider accepted (or an earlier run's, found): polled from now on."""
        batcher = self.batcher
        batcher.submitted += 1
        self.active.append(batch)
        for key in batch.keys:
            self.sent[key] = self.sent.get(key, 0) + 1
        batcher.say(
            f"modelguard: submitted batch {batch.id} to {batch.provider}: "
            f"{plural(len(batch.keys), 'request')} (saved in {batcher.state_file})"
        )

    async def check(self, batch: SavedBatch) -> list[str]:
        """Poll one batch; once ended, collect it. Returns the keys to send again."""
        api = self.apis.get(batch.provider)
        mine = [k for k in batch.keys if k in self.requests]
        if api is None:  # its provider is not called by this run
            self.active.remove(batch)
            return []
        try:
            status = await api.status(batch.id)
            self._show(batch, status)
            if not status.ended:
                return []
            found = await api.results(batch.id, status)
        except ProviderError as exc:
            if exc.transient:
                self.batcher.say(f"modelguard: batch {batch.id}: {exc}; asking again later")
                return []
            return self._lost(batch, mine, str(exc))
        except Exception as exc:  # an SDK failure of another kind
            return self._lost(batch, mine, f"{type(exc).__name__}: {exc}")
        return await self._collect(batch, mine, found, status)

    def _show(self, batch: SavedBatch, status: BatchStatus) -> None:
        """The progress line of a batch whose counts or state moved."""
        shown = (status.completed, status.failed, status.state)
        if self.batcher._shown.get(batch.id) == shown:
            return
        self.batcher._shown[batch.id] = shown
        self.batcher.say(
            f"modelguard: batch {batch.id} ({batch.provider}): {status.completed}/{status.total} "
            f"completed, {status.failed} failed ({status.state})"
        )

    def _lost(self, batch: SavedBatch, keys: list[str], why: str) -> list[str]:
        """A batch the provider will not tell about: its items fail, it stays saved."""
        self.active.remove(batch)
        error = ProviderError(
            f"{batch.provider} batch {batch.id}: {why}. It stays saved in "
            f"{self.batcher.state_file}: remove its entry there to submit its requests again",
            transient=False,
        )
        for key in keys:
            self._final(key, error)
        return []

    async def _collect(
        self, batch: SavedBatch, keys: list[str], found: Mapping[str, Outcome], status: BatchStatus
    ) -> list[str]:
        again: list[str] = []
        answers = [(key, out) for key in keys if isinstance(out := found.get(key), Completion)]
        await asyncio.gather(*(self.keep(self.requests[key], out) for key, out in answers))
        for key, completion in answers:
            if self.spend is not None:
                self.spend.settle(self.requests[key], completion)
            self.settle(key, completion)
        for key in keys:
            outcome = found.get(key)
            if isinstance(outcome, Completion):
                continue
            if outcome is None:
                why = f"; the batch failed: {status.problem}" if status.problem else ""
                outcome = ProviderError(
                    f"{batch.provider} batch {batch.id} ({status.state}) returned no result "
                    f"for this request{why}",
                    transient=not status.problem,
                )
            if outcome.transient and self.sent.get(key, 0) < ROUNDS:
                again.append(key)
                if self.spend is not None:
                    self.spend.settle(self.requests[key], None)
                continue
            self._final(key, outcome)
        self.active.remove(batch)
        batcher = self.batcher
        left = tuple(k for k in batch.keys if k not in self.requests)  # another run's
        batcher.saved.remove(batch)
        if left:
            batcher.saved.append(replace(batch, keys=left))
        batch_state.save(batcher.cache_dir, batcher.saved)
        if again:
            how = "as ordinary calls" if batcher.live_fallback else "in a new batch"
            sent = plural(len(again), "request")
            batcher.say(f"modelguard: {sent} of {batch.id} sent again {how}")
        return again

    def _final(self, key: str, error: ProviderError) -> None:
        if self.spend is not None:
            self.spend.settle(self.requests[key], None)
        self.settle(key, error)


def _chunks(api: BatchApi, requests: Sequence[Request]) -> list[tuple[list[str], list[bytes]]]:
    """The requests as batches within the API's limits (requests, bytes)."""
    chunks: list[tuple[list[str], list[bytes]]] = []
    keys: list[str] = []
    lines: list[bytes] = []
    size = 0
    for request in requests:
        line = api.line(request)
        if keys and (len(keys) >= api.max_requests or size + len(line) > api.max_bytes):
            chunks.append((keys, lines))
            keys, lines, size = [], [], 0
        keys.append(request.key())
        lines.append(line)
        size += len(line)
    if keys:
        chunks.append((keys, lines))
    return chunks


async def _sleep(seconds: float, stop: Stop) -> None:
    """Wait ``seconds``, or less once the run is stopping."""
    end = time.monotonic() + seconds
    while stop.reason is None and (left := end - time.monotonic()) > 0:
        await asyncio.sleep(min(left, 0.05))
