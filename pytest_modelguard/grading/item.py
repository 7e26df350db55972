"""Grading one item: its answers → every grader's grade (asking the judge) → ItemResults.

Every ItemResult of a run is made here, by ``item_result``: for a suite item's repeat,
answered or failed, and for a Python test using the ``model`` fixture.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ..config import ModelSpec, Settings
from ..core.errors import GraderFailed, JudgeFailed
from ..records.calls import Answered, Completion, Request, Usage
from ..records.grades import Answer, Grade, GradeFn, GraderSpec
from ..records.results import ItemResult
from ..suite import Case
from . import build_grader, required_failure, run_grader, score_answer
from .judging import Judging, graded_answer, is_judge


class AnswerSource(Protocol):
    """Where the grader gets answers: the run's answers (engine ``Answers``)."""

    def answer(self, request: Request) -> Answered: ...

    def for_case(
        self, case: Case, model: ModelSpec, keys: Sequence[str] = ()
    ) -> list[Answered]: ...

    def baseline_output(
        self, case: Case, own: Sequence[Answered] | None = None
    ) -> Completion | None: ...


def item_result(
    case: Case | None,
    model: str,
    answered: Sequence[Answered],
    *,
    suite: str | None = None,
    repeat: int = 0,
    grades: Sequence[Grade] = (),
    score: float | None = None,
    passed: bool = False,
    cost_usd: float | None = None,
    error: str | None = None,
    failure: str | None = None,
    judge_cost_usd: float | None = 0.0,
    output: str | None = None,
    human_label: float | None = None,
) -> ItemResult:
    """The one constructor of ItemResult: usage, latency and output summed over the answers.

    A failed repeat (``error``) counts no usage; its output is the answer, if any.
    """
    completions = [a.completion for a in answered if a.completion is not None]
    path = next((a.trajectory for a in answered if a.trajectory is not None), None)
    usages = [] if error is not None else [c.usage for c in completions]
    latencies = [c.latency_s for c in completions if c.latency_s is not None]
    return ItemResult(
        suite=suite if suite is not None else case.suite if case else "",
        case_id=case.id if case else "",
        model=model,
        tags=case.tags if case else (),
        repeat=repeat,
        score=score,
        passed=passed,
        grades=tuple(grades),
        cost_usd=cost_usd,
        input_tokens=sum(u.input_tokens for u in usages),
        output_tokens=sum(u.output_tokens for u in usages),
        cached_input_tokens=sum(u.cached_input_tokens for u in usages),
        reasoning_tokens=sum(u.reasoning_tokens for u in usages),
        latency_s=sum(latencies) if latencies and error is None else None,
        cached=all(a.cached for a in answered),
        output=output if output is not None else completions[-1].text if completions else "",
        batch=any(c.batch for c in completions),
        error=error,
        failure=failure,
        judge_cost_usd=judge_cost_usd,
        unit=case.unit if case else "",
        tool_calls=completions[-1].tool_calls if completions else (),
        human_label=human_label,
        steps=None if path is None else len(path.steps),
        trajectory=() if path is None else path.to_dicts(),
        tool_errors=0 if path is None else path.tool_errors,
        unmatched_tool_calls=0 if path is None else path.unmatched_tool_calls,
        inputs=case.inputs if case else (),
    )


class ItemGrader:
    """Grades one run's items from ``answers``, asking it for the judge's replies too."""

    def __init__(self, settings: Settings, answers: AnswerSource) -> None:
        self.settings = settings
        self.answers = answers
        self.judging = Judging(settings, answers.answer)

    def build(self, specs: Sequence[GraderSpec]) -> tuple[GradeFn, ...]:
        """Build (validate) a case's graders; an llm_judge's judge model must resolve now."""
        graders = tuple(build_grader(spec) for spec in specs)
        for grader in graders:
            if is_judge(grader):
                self.judging.judge_for(grader)
        return graders

    def grade_item(
        self,
        case: Case,
        model: ModelSpec,
        graders: Sequence[GradeFn],
        keys: Sequence[str] = (),
    ) -> list[ItemResult]:
        """Grade every repeat of one item from the prefetched answers.

        ``keys``: the item's request keys, when known from the prefetch (saves rebuilding them).
        """
        answers = self.answers
        answered = answers.for_case(case, model, keys)
        own = answered if model is self.settings.baseline else None
        baseline_output = answers.baseline_output(case, own)
        return [
            self.grade(case, model, graders, repeat, answer, baseline_output)
            for repeat, answer in enumerate(answered)
        ]

    def judge_requests(
        self, case: Case, model: ModelSpec, graders: Sequence[GradeFn]
    ) -> list[Request]:
        """The judge calls one item will need, from its (prefetched) answers."""
        if not any(is_judge(g) for g in graders):
            return []
        answers = self.answers
        return self.judging.requests(
            case, graders, answers.for_case(case, model), answers.baseline_output(case)
        )

    def grade(
        self,
        case: Case,
        model: ModelSpec,
        graders: Sequence[GradeFn],
        repeat: int,
        answer: Answered,
        baseline_output: Completion | None,
    ) -> ItemResult:
        """One repeat's result: graded, or an error when it has no answer or no judgement."""
        completion = answer.completion
        if completion is None:
            return item_result(
                case,
                model.name,
                [answer],
                repeat=repeat,
                error=answer.error or "no answer",
                output="",
            )
        path = answer.trajectory
        graded = graded_answer(completion, case, baseline_output, path)
        try:
            grades, judge_cost = self._grades(case, graders, graded)
            score, passed = score_answer(grades)
        except (JudgeFailed, GraderFailed) as exc:
            return item_result(case, model.name, [answer], repeat=repeat, error=str(exc))
        usage = completion.usage
        failure = required_failure(grades)
        limit = model.budgets.max_tokens_per_case
        if limit is not None and usage.total_tokens > limit:
            passed = False
            failure = failure or f"max_tokens_per_case: {usage.total_tokens} tokens > limit {limit}"
        if path is not None and path.failure is not None:
            passed, failure = False, failure or path.failure
        cost = self._cost(case, model, completion)
        if path is not None:  # each step priced (a tiered price is per call), at the standard rate
            costs = [model.cost_of(Usage.from_dict(step.usage or {})) for step in path.steps]
            cost = None if None in costs else sum(c for c in costs if c is not None)
        return item_result(
            case,
            model.name,
            [answer],
            repeat=repeat,
            grades=grades,
            score=score,
            passed=passed,
            cost_usd=cost,
            failure=failure,
            judge_cost_usd=judge_cost,
            human_label=case.human_label(model.name, completion.text),
        )

    def test_result(
        self,
        test: str,
        case: Case | None,
        model: ModelSpec,
        answered: Sequence[Answered],
        grades: Sequence[Grade],
        passed: bool,
        failure: str | None,
    ) -> ItemResult:
        """What the Python test ``test`` using the ``model`` fixture contributes to the gate."""
        completions = [a.completion for a in answered if a.completion]
        costs = [model.cost_of(c.usage, c.batch) for c in completions]
        return item_result(
            case,
            model.name,
            answered,
            suite=f"{case.suite}::{test}" if case else test,
            grades=grades,
            score=score_answer(grades)[0] if grades else None,
            passed=passed,
            cost_usd=None if None in costs else sum(c for c in costs if c is not None),
            failure=failure,
        )

    def _grades(
        self, case: Case, graders: Sequence[GradeFn], answer: Answer
    ) -> tuple[tuple[Grade, ...], float | None]:
        """Every grader's grade, asking the judge where a grader is an llm_judge."""
        grades: list[Grade] = []
        judge_cost: float | None = 0.0
        for grader in graders:
            if not is_judge(grader):
                grades.append(run_grader(grader, answer))
                continue
            judged = self.judging.grade(grader, case, answer)
            grades.append(judged.grade)
            if judge_cost is not None and judged.cost_usd is not None:
                judge_cost += judged.cost_usd
            else:
                judge_cost = None
        return tuple(grades), judge_cost

    def _cost(self, case: Case, model: ModelSpec, completion: Completion) -> float | None:
        recorded = case.baseline
        if (
            model is self.settings.baseline
            and recorded is not None
            and recorded.cost_usd is not None
        ):
            return recorded.cost_usd
        return model.cost_of(completion.usage, completion.batch)
