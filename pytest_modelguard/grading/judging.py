"""llm_judge graders in a run: their calls as Requests to the judge, their grades from its replies.

The judge's answers go through the same runner and cache as any model's (their own
entries, keyed by the judge model and the rendered prompt), and their cost is kept
apart from the judged model's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeGuard

from ..config import ModelSpec, Settings
from ..core.errors import ConfigError, GraderConfigError, GraderFailed, JudgeFailed, JudgeParseError
from ..core.safety import valid_text
from ..records.calls import Answered, Completion, Message, Request
from ..records.grades import Answer, Grade, GradeFn
from ..records.trajectory import Trajectory
from ..suite import Case
from .llm_judge import JudgeGrader


@dataclass(frozen=True, slots=True)
class Judged:
    """A judge's grade and what asking for it cost (None when the judge's price is unknown)."""

    grade: Grade
    cost_usd: float | None


def is_judge(grader: GradeFn) -> TypeGuard[JudgeGrader]:
    """Whether ``grader`` is an llm_judge (graded by asking the judge model)."""
    return isinstance(grader, JudgeGrader)


def judge_requests(
    grader: JudgeGrader, judge: ModelSpec, answer: Answer, question: Sequence[Message]
) -> list[Request]:
    """The judge's calls for this answer (none when it equals the baseline's answer).

    Hygiene: temperature 0 unless the grader's params say otherwise, and on an
    OpenAI-kind provider a ``seed`` (the repeat's index, unless params give one), so
    a judge's verdict is as repeatable as the provider allows. A repeat's calls differ
    in ``Request.repeat`` (and seed): each has its own cache entry.
    """
    requests = []
    for call in grader.calls(answer, question):
        params = {**judge.params, **call.params}
        if judge.provider.kind in ("openai", "azure-openai"):  # Chat Completions' seed
            params["seed"] = params.get("seed", 0) + call.repeat
        requests.append(
            Request(judge.provider.name, judge.model, call.messages, params, repeat=call.repeat)
        )
    return requests


def judge(
    grader: JudgeGrader,
    spec: ModelSpec,
    answer: Answer,
    question: Sequence[Message],
    reply_to: Callable[[Request], tuple[Completion | None, str | None]],
) -> Judged:
    """Grade ``answer`` with the judge's replies; JudgeFailed when there is no usable reply."""
    replies: list[Completion] = []
    for request in judge_requests(grader, spec, answer, question):
        completion, error = reply_to(request)
        if completion is None:
            raise JudgeFailed(f"llm_judge ({spec.name}): {error}")
        replies.append(completion)
    try:
        grade = grader.grade_with(answer, [r.text for r in replies], judge_model=_identity(spec))
    except JudgeParseError as exc:
        raise JudgeFailed(str(exc)) from None
    costs = [spec.cost_of(r.usage, r.batch) for r in replies]
    return Judged(grade, None if None in costs else sum(c for c in costs if c is not None))


def _identity(spec: ModelSpec) -> str:
    """The judge as ``PROVIDER:MODEL`` (not an alias): what self-preference compares."""
    return f"{spec.provider.name}:{spec.model}"


def graded_answer(
    completion: Completion,
    case: Case,
    baseline: Completion | None,
    trajectory: Trajectory | None = None,
) -> Answer:
    """What the graders see of one answer to ``case``, beside the baseline's answer (and,
    for an agent case, the steps that led to it)."""
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
        trajectory=None if trajectory is None else trajectory.to_dicts(),
    )


class Judging:
    """A run's llm_judge graders: their judge model, their calls, their grades.

    ``ask`` gets the judge's answer to a request: the run's answers (cached, prefetched).
    """

    def __init__(self, settings: Settings, ask: Callable[[Request], Answered]) -> None:
        self.settings = settings
        self.ask = ask

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

    def requests(
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
                if not is_judge(grader):
                    continue
                try:
                    requests += judge_requests(
                        grader, self.judge_for(grader), graded, case.messages
                    )
                except GraderConfigError:
                    continue  # reported by the item itself when it grades
        return requests

    def grade(self, grader: JudgeGrader, case: Case, answer: Answer) -> Judged:
        """The judge's grade of ``answer``; GraderFailed when the grader is misconfigured."""
        try:
            return judge(grader, self.judge_for(grader), answer, case.messages, self._reply)
        except (ConfigError, GraderConfigError) as exc:
            raise GraderFailed(valid_text(str(exc))) from None

    def _reply(self, request: Request) -> tuple[Completion | None, str | None]:
        answered = self.ask(request)
        return answered.completion, answered.error
