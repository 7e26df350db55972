"""ModelguardSession: the state of one run — settings, answers, results, verdicts."""

from __future__ import annotations

import time
import uuid
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from .cache import Cache, CacheError, RecordMode
from .config import ConfigError, ModelSpec, Settings
from .graders import score_answer
from .graders.base import Answer, Grade, GradeFn, GraderConfigError
from .graders.decorator import BadGrade
from .graders.llm_judge import JudgeGrader
from .history import shown_path
from .judging import JudgeFailed, judge, judge_requests
from .pricing import cost_usd
from .providers import make_provider
from .providers.base import Completion, Provider, ProviderError, Request, Usage
from .results import ItemResult
from .runner import Progress, RetryPolicy, answer_all_sync
from .safety import describe, valid_text
from .spend import DryRunLine, Ledger, SpendCap, dry_run
from .suite import Case, RecordedAnswer, Suite, SuiteError

if TYPE_CHECKING:
    from pathlib import Path

    from .client import ModelClient
    from .drift import DriftReport
    from .gate import GateReport
    from .history import StoredRun
    from .report.outputs import Outputs


class ModelguardWarning(UserWarning):
    """Something a run must tell that is not an item's result (e.g. answers not saved)."""


@dataclass(slots=True)
class Answered:
    """A completion and whether it came from the cache (or the suite's recorded baseline)."""

    completion: Completion | None
    cached: bool
    error: str | None = None


@dataclass
class ModelguardSession:
    """Everything one pytest run of modelguard owns; lives in ``config.stash``."""

    settings: Settings
    lf: bool = False
    registered_tags: set[str] = field(default_factory=set)
    answers: dict[str, Answered] = field(default_factory=dict)
    results: list[ItemResult] = field(default_factory=list)
    deselected: int = 0
    report: GateReport | None = None
    pending: Callable[[], list[Request]] = field(default=list)  # requests likely needed next
    compare: StoredRun | None = None  # --modelguard-compare: the run to pair this one with
    saved: Path | None = None  # --modelguard-save: where this run's report was kept
    unsaved: str | None = None  # --modelguard-save: why this run was not kept
    started: float = field(default_factory=time.time)  # xdist workers get the controller's
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)  # xdist: the controller's
    baseline_outputs: dict[tuple[str, str, str], Completion | None] = field(default_factory=dict)
    suite_cases: dict[tuple[str, str], str] = field(default_factory=dict)  # → the file
    notes: list[str] = field(default_factory=list)  # what the run must tell (unsaved answers)

    @cached_property
    def cache(self) -> Cache:
        return Cache(self.settings.cache_dir)

    def claim_suite(self, suite: Suite) -> None:
        """Refuse a second file with the same suite name and case ids: its results would merge."""
        claimed = self.suite_cases
        for case in suite.cases:
            first = claimed.setdefault((suite.name, case.id), suite.path)
            if first != suite.path:
                raise SuiteError(
                    f"{suite.path}:{case.line}: suite {suite.name!r} case {case.id!r} is also in "
                    f"{first}: give one of the files another `suite:` name or other case ids"
                )

    def models_for_suite(self, path: str) -> tuple[ModelSpec, ...]:
        if self.settings.baseline is None:
            raise SuiteError(
                f"{path}: no baseline model: set baseline = 'PROVIDER:MODEL' in [tool.modelguard] "
                "or pass --baseline"
            )
        return self.settings.models

    def requests_for(self, case: Case, model: ModelSpec) -> list[Request]:
        if model is self.settings.baseline and case.baseline is not None:
            return []
        params = {**case.params, **model.params}
        return [
            Request(model.provider.name, model.model, case.messages, params, repeat)
            for repeat in range(case.repeat)
        ]

    def prefetch(self, requests: Sequence[Request], progress: Progress | None = None) -> None:
        """Answer every request concurrently before the first item runs."""
        known = self.answers
        todo = {key: r for r in requests if (key := r.key()) not in known}
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
        )
        for key, outcome in answers.items():
            if isinstance(outcome, ProviderError):
                self.answers[key] = Answered(None, False, error=str(outcome))
            else:
                self.answers[key] = Answered(outcome, key in cached)

    def dry_run(self, requests: Sequence[Request]) -> list[DryRunLine]:
        """What a recording run would call and spend, per model; calls and writes nothing."""
        unique = {r.key(): r for r in requests}
        record = self.settings.record
        cache = self.cache
        cached = (
            set()
            if record is RecordMode.ALL
            else {key for key, r in unique.items() if cache.path_for(r, key).exists()}
        )
        models = self.settings.models
        names = {(m.provider.name, m.model): m.name for m in models}
        prices = {(m.provider.name, m.model): m.price for m in models}
        return dry_run(unique, cached, names, prices)

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
            )
            for name in names
        }

    @cached_property
    def spend_cap(self) -> SpendCap | None:
        """The run's cap on money spent on uncached calls, shared by every prefetch."""
        limit = self.settings.budgets.max_spend_usd
        if limit is None:
            return None
        prices = {(m.provider.name, m.model): m.price for m in self.settings.models}
        ledger = (
            Ledger(self.cache.ledger_path(), self.run_id)
            if self.settings.record.calls_misses
            else None
        )
        return SpendCap(limit_usd=limit, prices=prices, ledger=ledger)

    def close(self) -> None:
        """The run is over in this process: its reservations are released."""
        if "spend_cap" in self.__dict__ and self.spend_cap is not None:
            self.spend_cap.close()

    def answer_and_grade(
        self,
        case: Case,
        model: ModelSpec,
        graders: Sequence[GradeFn],
        keys: Sequence[str] = (),
    ) -> list[ItemResult]:
        """Grade every repeat of one item from the prefetched answers.

        ``keys``: the item's request keys, when known from the prefetch (saves rebuilding them).
        """
        answered = self._answers_for(case, model, keys)
        baseline_output = self._baseline_output(case)
        return [
            self._grade(case, model, graders, repeat, answer, baseline_output)
            for repeat, answer in enumerate(answered)
        ]

    def _answers_for(
        self, case: Case, model: ModelSpec, keys: Sequence[str] = ()
    ) -> list[Answered]:
        if model is self.settings.baseline and case.baseline is not None:
            return [recorded_answer(case.baseline)]
        answers = self.answers
        if keys and all(key in answers for key in keys):
            return [answers[key] for key in keys]
        return [self.answer(r) for r in self.requests_for(case, model)]

    def answer(self, request: Request) -> Answered:
        """The prefetched answer; on a miss, fetched now with everything else pending."""
        key = request.key()
        found = self.answers.get(key)
        if found is None:
            batch = [request, *self.pending()]
            told = len(self.notes)
            try:
                self.prefetch(batch)
            except CacheError as exc:  # nothing was called: each item says why
                for r in batch:
                    self.answers.setdefault(r.key(), Answered(None, False, error=str(exc)))
            for note in self.notes[told:]:  # in an item (an xdist worker's): its warnings show it
                warnings.warn(ModelguardWarning(note), stacklevel=2)
            del self.notes[told:]
            found = self.answers[key]
        return found

    def test_result(
        self,
        test: str,
        client: ModelClient,
        grades: Sequence[Grade],
        passed: bool,
        failure: str | None,
    ) -> ItemResult:
        """What the Python test ``test`` using the ``model`` fixture contributes to the gate."""
        case = client.case
        completions = client.completions
        usages = [c.usage for c in completions]
        costs = [cost_usd(u, client.spec.price) for u in usages]
        score = score_answer(grades)[0] if grades else None
        latencies = [c.latency_s for c in completions if c.latency_s is not None]
        return ItemResult(
            suite=f"{case.suite}::{test}" if case else test,
            case_id=case.id if case else "",
            model=client.name,
            tags=case.tags if case else (),
            score=score,
            passed=passed,
            grades=tuple(grades),
            cost_usd=None if None in costs else sum(c for c in costs if c is not None),
            input_tokens=sum(u.input_tokens for u in usages),
            output_tokens=sum(u.output_tokens for u in usages),
            cached_input_tokens=sum(u.cached_input_tokens for u in usages),
            reasoning_tokens=sum(u.reasoning_tokens for u in usages),
            latency_s=sum(latencies) if latencies else None,
            cached=all(a.cached for a in client.answered),
            output=completions[-1].text if completions else "",
            failure=failure,
            unit=case.unit if case else "",
        )

    def _baseline_output(self, case: Case) -> Completion | None:
        """The baseline's answer to ``case``, looked up once per case."""
        where = (case.path, case.suite, case.id)
        try:
            return self.baseline_outputs[where]
        except KeyError:
            output = self.baseline_outputs[where] = self._find_baseline_output(case)
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

    def _grade(
        self,
        case: Case,
        model: ModelSpec,
        graders: Sequence[GradeFn],
        repeat: int,
        answer: Answered,
        baseline_output: Completion | None,
    ) -> ItemResult:
        completion = answer.completion
        if completion is None:
            return _item_error(case, model, repeat, answer.error or "no answer", answer.cached)
        graded = graded_answer(completion, case, baseline_output)
        try:
            grades, judge_cost = self._grades(case, graders, graded)
            score, passed = score_answer(grades)
        except (JudgeFailed, GraderFailed) as exc:
            return _item_error(case, model, repeat, str(exc), answer.cached, completion.text)
        usage = completion.usage
        failure = _required_failure(grades)
        limit = model.budgets.max_tokens_per_case
        if limit is not None and usage.total_tokens > limit:
            passed = False
            failure = failure or f"max_tokens_per_case: {usage.total_tokens} tokens > limit {limit}"
        return ItemResult(
            suite=case.suite,
            case_id=case.id,
            model=model.name,
            tags=case.tags,
            repeat=repeat,
            score=score,
            passed=passed,
            grades=grades,
            cost_usd=self._cost(case, model, usage),
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cached_input_tokens=usage.cached_input_tokens,
            reasoning_tokens=usage.reasoning_tokens,
            latency_s=completion.latency_s,
            cached=answer.cached,
            output=completion.text,
            failure=failure,
            judge_cost_usd=judge_cost,
            unit=case.unit,
            tool_calls=completion.tool_calls,
        )

    def _grades(
        self, case: Case, graders: Sequence[GradeFn], answer: Answer
    ) -> tuple[tuple[Grade, ...], float | None]:
        """Every grader's grade, asking the judge where a grader is an llm_judge."""
        grades: list[Grade] = []
        judge_cost: float | None = 0.0
        for grader in graders:
            if not isinstance(grader, JudgeGrader):
                grades.append(run_grader(grader, answer))
                continue
            try:
                judged = judge(grader, self.judge_for(grader), answer, case.messages, self._reply)
            except (ConfigError, GraderConfigError) as exc:
                raise GraderFailed(valid_text(str(exc))) from None
            grades.append(judged.grade)
            if judge_cost is not None and judged.cost_usd is not None:
                judge_cost += judged.cost_usd
            else:
                judge_cost = None
        return tuple(grades), judge_cost

    def _reply(self, request: Request) -> tuple[Completion | None, str | None]:
        answered = self.answer(request)
        return answered.completion, answered.error

    def judge_for(self, grader: JudgeGrader) -> ModelSpec:
        """The judge model of an llm_judge grader: its own ``model``, else ``judge`` in config."""
        settings = self.settings
        if grader.model is not None:
            return settings.resolve(grader.model)
        if settings.judge is None:
            raise ConfigError(
                f"{grader.source}: llm_judge needs a judge model: set model: on the grader "
                "or judge = 'PROVIDER:MODEL' in [tool.modelguard]"
            )
        return settings.judge

    def judge_requests(
        self, case: Case, model: ModelSpec, graders: Sequence[GradeFn]
    ) -> list[Request]:
        """The judge calls one item will need, from its (prefetched) answers."""
        judges = [g for g in graders if isinstance(g, JudgeGrader)]
        if not judges:
            return []
        baseline_output = self._baseline_output(case)
        requests = []
        for answered in self._answers_for(case, model):
            if answered.completion is None:
                continue
            graded = graded_answer(answered.completion, case, baseline_output)
            for grader in judges:
                try:
                    requests += judge_requests(
                        grader, self.judge_for(grader), graded, case.messages
                    )
                except GraderConfigError:
                    continue  # reported by the item itself when it grades
        return requests

    def _cost(self, case: Case, model: ModelSpec, usage: Usage) -> float | None:
        recorded = case.baseline
        if (
            model is self.settings.baseline
            and recorded is not None
            and recorded.cost_usd is not None
        ):
            return recorded.cost_usd
        return cost_usd(usage, model.price)

    def finish(self, gating: bool, outputs: Outputs) -> GateReport | None:
        """Judge the run and write the reports asked for. None when nothing ran."""
        if not self.results:
            return None
        # arrival order differs with xdist; sums and reports must not
        self.results.sort(key=lambda r: (r.suite, r.case_id, r.model, r.repeat))
        from .gate import GateConfig, evaluate, with_drift  # numpy: only with something to judge
        from .history import save_run
        from .report.json_report import build_json
        from .report.outputs import write_outputs

        settings = self.settings
        config = GateConfig(
            baseline=settings.baseline.name if settings.baseline else None,
            candidates=tuple(m.name for m in settings.candidates),
            confidence=settings.confidence,
            interval=settings.interval,
            resamples=settings.resamples,
            seed=settings.seed,
            gate=settings.gate,
            margin=settings.margin,
            budgets={m.name: m.budgets for m in settings.models},
            subset=self.deselected > 0,
            gating=gating and not self.lf,
        )
        self.report = evaluate(self.results, config)
        if self.compare is not None:
            self.report = with_drift(self.report, self._drift(self.compare), config.gating)
        if outputs.any:
            doc = build_json(self.report, self.results, settings)
            write_outputs(doc, outputs)
            degraded = self.report.drift is not None and self.report.drift.degraded
            if outputs.runs is not None and degraded:
                self.unsaved = (
                    "a model degraded, so the stored run stays the reference (to accept the "
                    "change, save a run without --modelguard-compare)"
                )
            elif outputs.runs is not None:
                self.saved = save_run(doc, outputs.runs)
        return self.report

    def _drift(self, stored: StoredRun) -> DriftReport:
        from .drift import compare_runs

        return compare_runs(
            self.results,
            stored.results,
            against=shown_path(stored.path),
            saved_at=stored.saved_at,
            confidence=self.settings.confidence,
            seed=self.settings.seed,
            method=self.settings.interval,
            resamples=self.settings.resamples,
        )


def recorded_answer(recorded: RecordedAnswer) -> Answered:
    """A production answer carried by the suite, as if it had been replayed."""
    usage = Usage.from_dict(recorded.usage)
    completion = Completion(
        recorded.output, usage, recorded.latency_s, tool_calls=recorded.tool_calls
    )
    return Answered(completion, cached=True)


def graded_answer(completion: Completion, case: Case, baseline: Completion | None) -> Answer:
    """What the graders see of one answer to ``case``, beside the baseline's answer."""
    tools = case.params.get("tools")
    return Answer(
        completion.text,
        case.expected,
        None if baseline is None else baseline.text,
        case.id,
        case.tags,
        tool_calls=completion.tool_calls,
        baseline_tool_calls=None if baseline is None else baseline.tool_calls,
        tools=tuple(tools) if isinstance(tools, list) else (),
    )


def _item_error(
    case: Case, model: ModelSpec, repeat: int, error: str, cached: bool, output: str = ""
) -> ItemResult:
    """The result of a repeat that got no usable answer (or no judgement of it)."""
    return ItemResult(
        suite=case.suite,
        case_id=case.id,
        model=model.name,
        tags=case.tags,
        repeat=repeat,
        error=error,
        cached=cached,
        output=output,
        unit=case.unit,
    )


class GraderFailed(Exception):
    """A grader raised or was misconfigured at grade time: its item is an error, not a score."""


def run_grader(grader: GradeFn, answer: Answer) -> Grade:
    """One grader's grade; GraderFailed with one short line when it raises."""
    try:
        return grader(answer)
    except (GraderConfigError, BadGrade) as exc:
        raise GraderFailed(valid_text(str(exc))) from None
    except (Exception, SystemExit) as exc:
        name = getattr(grader, "name", None) or getattr(grader, "__name__", "grader")
        raise GraderFailed(f"grader {name} raised {describe(exc)}") from None


def _required_failure(grades: Sequence[object]) -> str | None:
    for grade in grades:
        if getattr(grade, "required", False) and not grade:
            return f"required grader {grade!r}"
    return None
