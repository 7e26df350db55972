"""Grading one item: its answers → every grader's grade (asking the judge) → ItemResults.

Every ItemResult of a run is made here, by ``item_result``: for a suite item's repeat,
answered or failed, and for a Python test using the ``model`` fixture.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..config import ModelSpec, Settings
from ..core.errors import BadGrade, ConfigError, GraderConfigError, GraderFailed, JudgeFailed
from ..core.safety import describe, valid_text
from ..records.calls import Answered, Completion, Request, Usage
from ..records.grades import Answer, Grade, GradeFn
from ..records.pricing import cost_usd
from ..records.results import ItemResult
from ..suite import Case
from . import score_answer
from .judging import judge, judge_requests
from .llm_judge import JudgeGrader

Ask = Callable[[Request], Answered]
"""How the grader gets an answer to a request (the judge's calls): the run's answers."""


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
        error=error,
        failure=failure,
        judge_cost_usd=judge_cost_usd,
        unit=case.unit if case else "",
        tool_calls=completions[-1].tool_calls if completions else (),
        human_label=human_label,
    )


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


class ItemGrader:
    """Grades answers for one run's settings; asks ``ask`` for the judge's replies."""

    def __init__(self, settings: Settings, ask: Ask) -> None:
        self.settings = settings
        self.ask = ask

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
        graded = graded_answer(completion, case, baseline_output)
        try:
            grades, judge_cost = self._grades(case, graders, graded)
            score, passed = score_answer(grades)
        except (JudgeFailed, GraderFailed) as exc:
            return item_result(case, model.name, [answer], repeat=repeat, error=str(exc))
        usage = completion.usage
        failure = _required_failure(grades)
        limit = model.budgets.max_tokens_per_case
        if limit is not None and usage.total_tokens > limit:
            passed = False
            failure = failure or f"max_tokens_per_case: {usage.total_tokens} tokens > limit {limit}"
        return item_result(
            case,
            model.name,
            [answer],
            repeat=repeat,
            grades=grades,
            score=score,
            passed=passed,
            cost_usd=self._cost(case, model, usage),
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
        costs = [cost_usd(a.completion.usage, model.price) for a in answered if a.completion]
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
        self,
        case: Case,
        graders: Sequence[GradeFn],
        answered: Sequence[Answered],
        baseline_output: Completion | None,
    ) -> list[Request]:
        """The judge calls one item will need, from its (prefetched) answers."""
        requests: list[Request] = []
        for answer in answered:
            if answer.completion is None:
                continue
            graded = graded_answer(answer.completion, case, baseline_output)
            for grader in graders:
                if not isinstance(grader, JudgeGrader):
                    continue
                try:
                    requests += judge_requests(
                        grader, self.judge_for(grader), graded, case.messages
                    )
                except GraderConfigError:
                    continue  # reported by the item itself when it grades
        return requests

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
        answered = self.ask(request)
        return answered.completion, answered.error

    def _cost(self, case: Case, model: ModelSpec, usage: Usage) -> float | None:
        recorded = case.baseline
        if (
            model is self.settings.baseline
            and recorded is not None
            and recorded.cost_usd is not None
        ):
            return recorded.cost_usd
        return cost_usd(usage, model.price)


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
