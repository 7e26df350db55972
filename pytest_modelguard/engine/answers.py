"""Answers: every request of a run built in one place, asked once (cached, capped), kept by key.

The session owns one ``Answers``. Suite items and the ``model`` fixture ask it the same
way, so a Python test's ``model.complete(case.messages)`` is the request the prefetch
already answered.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cached_property
from typing import Any

from ..config import ModelSpec, Settings
from ..core.errors import BatchesPending, CacheError, ModelguardWarning
from ..records.calls import (
    Answered,
    Completion,
    Message,
    Provider,
    ProviderError,
    Request,
    Usage,
)
from ..suite import Case, RecordedAnswer
from .cache import Cache
from .providers import make_provider
from .runner import Batcher, Progress, RetryPolicy, answer_all_sync
from .spend import DryRunLine, Ledger, SpendCap, dry_run


def model_request(
    model: ModelSpec,
    messages: Sequence[Message],
    params: Mapping[str, Any] | None = None,
    repeat: int = 0,
) -> Request:
    """The one place a model's request is built: the model's own params win over the
    case's or caller's ``params`` (temperature, max_tokens…)."""
    return Request(
        model.provider.name,
        model.model,
        tuple(dict(m) for m in messages),
        {**(params or {}), **model.params},
        repeat,
    )


def recorded_answer(recorded: RecordedAnswer) -> Answered:
    """A production answer carried by the suite, as if it had been replayed."""
    usage = Usage.from_dict(recorded.usage)
    completion = Completion(
        recorded.output, usage, recorded.latency_s, tool_calls=recorded.tool_calls
    )
    return Answered(completion, cached=True)


class Answers:
    """The run's answers by request key, and how to get the missing ones."""

    def __init__(self, settings: Settings, *, run_id: str, started: float) -> None:
        self.settings = settings
        self.run_id = run_id  # xdist: the controller's, whose spend ledger workers share
        self.started = started  # what mode ``all`` recorded since
        self.known: dict[str, Answered] = {}
        # recorded answers seen at the prefetch, read when an item needs them (key → file)
        self.on_disk: dict[str, str] = {}
        self.notes: list[str] = []  # what the run must tell (unsaved answers)
        self.pending: Callable[[], list[Request]] = list  # requests likely needed next
        self.baseline_outputs: dict[tuple[str, str, str], Completion | None] = {}
        # reads still to come, counted at the prefetch (``expect``): at 0 an answer is dropped
        self.uses: dict[str, int] = {}  # request key → items that will read its answer
        self.case_uses: dict[tuple[str, str, str], int] = {}  # case → items grading it
        # an xdist worker: an item handed later may read a dropped answer again, so only
        # answers read from the cache are dropped (reading one twice costs nothing)
        self.drop_only_recorded = False
        # a sequential run's adaptive repeats: (case, model) → how many repeats are asked
        self.repeat_caps: dict[tuple[str, str, str, str], int] = {}
        self.say: Callable[[str], None] = _to_stderr  # the batches' progress lines
        self.batches_submitted = 0  # provider batches this run created

    @cached_property
    def batcher(self) -> Batcher | None:
        """The run's provider batches, when a model it calls goes by batch (``batch``)."""
        settings = self.settings
        if not settings.record.calls_misses:
            return None
        judge = (settings.judge,) if settings.judge is not None else ()
        pairs = {(m.provider.name, m.model) for m in settings.models + judge if settings.batched(m)}
        if not pairs:
            return None
        batcher = Batcher(
            settings.cache_dir,
            lambda r: (r.provider, r.model) in pairs,
            poll_s=settings.batch_poll_s,
            wait_s=settings.batch_wait_s,
            live_fallback=settings.batch_fallback == "live",
            say=lambda line: self.say(line),
        )
        batcher.load()  # a saved list that cannot be trusted stops the run before any call
        return batcher

    @cached_property
    def cache(self) -> Cache:
        return Cache(self.settings.cache_dir)

    def requests_for(self, case: Case, model: ModelSpec) -> list[Request]:
        """One request per repeat asked (none when the suite's recorded baseline answers):
        every repeat, or the first k when ``ask_repeats`` said so."""
        if self.recorded(case, model, case.messages) is not None:
            return []
        asked = min(case.repeat, self.repeat_caps.get((*_where(case), model.name), case.repeat))
        return [model_request(model, case.messages, case.params, r) for r in range(asked)]

    def ask_repeats(self, case: Case, model: ModelSpec, k: int) -> None:
        """Ask only the first ``k`` of the case's repeats of ``model`` (a sequential run's
        adaptive repeats); every request, answer and grade of the pair follows."""
        if k < 1:
            raise ValueError(f"at least one repeat is asked, got {k}")
        self.repeat_caps[(*_where(case), model.name)] = k

    def recorded(
        self, case: Case | None, model: ModelSpec, messages: Sequence[Message]
    ) -> Answered | None:
        """The case's production answer when the baseline is asked the case's question."""
        if case is None or case.baseline is None or model is not self.settings.baseline:
            return None
        if tuple(dict(m) for m in messages) != case.messages:
            return None
        return recorded_answer(case.baseline)

    def for_case(self, case: Case, model: ModelSpec, keys: Sequence[str] = ()) -> list[Answered]:
        """Every repeat's answer; ``keys``: the requests' keys when known from the prefetch."""
        recorded = self.recorded(case, model, case.messages)
        if recorded is not None:
            return [recorded]
        if keys:
            found = [answer for key in keys if (answer := self._lookup(key)) is not None]
            if len(found) == len(keys):
                return found
        return [self.answer(r) for r in self.requests_for(case, model)]

    def _lookup(self, key: str) -> Answered | None:
        """The answer in memory, or read now from the file the prefetch saw (kept until
        released); None when neither (or the file is gone since)."""
        found = self.known.get(key)
        if found is not None:
            return found
        path = self.on_disk.pop(key, None)
        if path is None:
            return None
        try:
            completion = self.cache.read(path, key)
        except ValueError as exc:  # corrupt since the prefetch: never overwritten
            found = Answered(None, False, error=str(exc))
        else:
            if completion is None:
                return None
            found = Answered(completion, cached=True)
        self.known[key] = found
        return found

    def prefetch(self, requests: Sequence[Request], progress: Progress | None = None) -> None:
        """Answer every request concurrently before the first item runs; recorded answers
        are only noted (``on_disk``) and read when their item runs."""
        known, on_disk = self.known, self.on_disk
        todo = {key: r for r in requests if (key := r.key()) not in known and key not in on_disk}
        if not todo:
            return
        settings = self.settings
        cached: set[str] = set()
        answers = answer_all_sync(
            list(todo.values()),
            providers=self._providers({r.provider for r in todo.values()}),
            cache=self.cache,
            record=settings.record,
            concurrency=settings.concurrency,
            retry=RetryPolicy(
                max_attempts=settings.max_attempts,
                base_delay_s=settings.retry_delay_s,
                deadline_s=settings.retry_deadline_s,
            ),
            progress=progress,
            spend=self.spend_cap,
            cached_keys=cached,
            run_started=self.started,
            notes=self.notes,
            on_disk=on_disk,
            batcher=self.batcher,
        )
        batcher = self.batcher
        if batcher is not None:
            self.batches_submitted = batcher.submitted
            if batcher.pending:
                raise BatchesPending(
                    f"provider batches not done within "
                    f"batch_wait_s = {settings.batch_wait_s:g}s: no verdict yet. "
                    f"{batcher.resume_hint()}"
                )
        for key, outcome in answers.items():
            if isinstance(outcome, ProviderError):
                known[key] = Answered(None, False, error=str(outcome))
            else:
                known[key] = Answered(outcome, key in cached)

    def answer(self, request: Request) -> Answered:
        """The prefetched answer; on a miss, fetched now with everything else pending."""
        key = request.key()
        found = self._lookup(key)
        if found is None:
            batch = [request, *self.pending()]
            told = len(self.notes)
            try:
                self.prefetch(batch)
            except CacheError as exc:  # nothing was called: each item says why
                for r in batch:
                    self.known.setdefault(r.key(), Answered(None, False, error=str(exc)))
            for note in self.notes[told:]:  # in an item (an xdist worker's): its warnings show it
                warnings.warn(ModelguardWarning(note), stacklevel=3)
            del self.notes[told:]
            found = self._lookup(key)
            if found is None:  # its file was there at the prefetch and is gone now
                found = Answered(
                    None,
                    False,
                    error=f"{request.provider}:{request.model}: its recorded answer (case key "
                    f"{key[:12]}) was deleted during the run; run again",
                )
        return found

    def expect(self, keys: Iterable[str], case: Case | None = None) -> None:
        """An item will read these answers (and, given ``case``, the case's baseline output).

        Counted before the first item runs; ``release`` drops what no item still needs,
        so a run holds the answers of the items not yet done, not of every item.
        """
        uses = self.uses
        for key in keys:
            uses[key] = uses.get(key, 0) + 1
        if case is not None:
            where = _where(case)
            self.case_uses[where] = self.case_uses.get(where, 0) + 1

    def release(self, keys: Iterable[str], case: Case | None = None) -> None:
        """The item that ``expect``-ed these is done: drop the answers no other item needs.

        Answers nobody announced (fetched on a miss) are kept, and so are an xdist
        worker's paid or failed answers (``drop_only_recorded``).
        """
        uses, known = self.uses, self.known
        for key in keys:
            left = uses.get(key)
            if left is None:
                continue
            if left > 1:
                uses[key] = left - 1
                continue
            del uses[key]
            self.on_disk.pop(key, None)
            found = known.get(key)
            if found is not None and (found.cached or not self.drop_only_recorded):
                del known[key]
        if case is not None:
            where = _where(case)
            left = self.case_uses.get(where)
            if left is not None and left > 1:
                self.case_uses[where] = left - 1
            elif left is not None:
                del self.case_uses[where]
                self.baseline_outputs.pop(where, None)

    def baseline_output(
        self, case: Case, own: Sequence[Answered] | None = None
    ) -> Completion | None:
        """The baseline's answer to ``case``, looked up once per case; ``own``: the
        baseline's answers to it when the caller has them (the baseline's own item)."""
        where = _where(case)
        try:
            return self.baseline_outputs[where]
        except KeyError:
            output = own[0].completion if own else self._find_baseline_output(case)
            self.baseline_outputs[where] = output
            return output

    def _find_baseline_output(self, case: Case) -> Completion | None:
        baseline = self.settings.baseline
        if baseline is None:
            return None
        if case.baseline is not None:
            return recorded_answer(case.baseline).completion
        requests = self.requests_for(case, baseline)
        answer = self.answer(requests[0]) if requests else None  # another xdist worker's item
        return answer.completion if answer else None

    def dry_run(
        self, requests: Sequence[Request], later_steps: Mapping[str, int] | None = None
    ) -> list[DryRunLine]:
        """What a recording run would call and spend, per model; calls and writes nothing.
        ``later_steps``: see ``spend.dry_run``."""
        unique = {r.key(): r for r in requests}
        cache = self.cache
        cached = (
            set()
            if self.settings.record.rerecords
            else {key for key, r in unique.items() if cache.path_for(r, key).exists()}
        )
        models = self.settings.models
        names = {(m.provider.name, m.model): m.name for m in models}
        batched = self.settings.batched
        prices = {
            (m.provider.name, m.model): m.batch_price if batched(m) else m.price for m in models
        }
        return dry_run(unique, cached, names, prices, later_steps)

    def _providers(self, names: set[str]) -> dict[str, Provider]:
        specs = self.settings.providers
        timeout_s = self.settings.timeout_s
        return {
            name: make_provider(
                specs[name].kind,
                name,
                specs[name].base_url,
                specs[name].api_key_env,
                timeout_s=timeout_s,
                options=specs[name].options,
            )
            for name in names
        }

    @cached_property
    def spend_cap(self) -> SpendCap | None:
        """The run's cap on money spent on uncached calls, shared by every prefetch."""
        limit = self.settings.budgets.max_spend_usd
        if limit is None:
            return None
        models = self.settings.models
        prices = {(m.provider.name, m.model): m.price for m in models}
        batch_prices = {(m.provider.name, m.model): m.batch_price for m in models}
        ledger = (
            Ledger(self.cache.ledger_path(), self.run_id)
            if self.settings.record.calls_misses
            else None
        )
        return SpendCap(limit_usd=limit, prices=prices, ledger=ledger, batch_prices=batch_prices)

    def close(self) -> None:
        """The run is over in this process: its reservations are released."""
        if "spend_cap" in self.__dict__ and self.spend_cap is not None:
            self.spend_cap.close()


def _to_stderr(line: str) -> None:
    sys.stderr.write(line + "\n")


def _where(case: Case) -> tuple[str, str, str]:
    return (case.path, case.suite, case.id)
