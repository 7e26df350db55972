"""llm_judge graders in a run: their calls as Requests to the judge, their grades from its replies.

The judge's answers go through the same runner and cache as any model's (their own
entries, keyed by the judge model and the rendered prompt), and their cost is kept
apart from the judged model's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..config import ModelSpec
from ..core.errors import JudgeFailed, JudgeParseError
from ..records.calls import Completion, Message, Request
from ..records.grades import Answer, Grade
from ..records.pricing import cost_usd
from .llm_judge import JudgeGrader


@dataclass(frozen=True, slots=True)
class Judged:
    """A judge's grade and what asking for it cost (None when the judge's price is unknown)."""

    grade: Grade
    cost_usd: float | None


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
        if judge.provider.kind == "openai":
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
    costs = [cost_usd(r.usage, spec.price) for r in replies]
    return Judged(grade, None if None in costs else sum(c for c in costs if c is not None))


def _identity(spec: ModelSpec) -> str:
    """The judge as ``PROVIDER:MODEL`` (not an alias): what self-preference compares."""
    return f"{spec.provider.name}:{spec.model}"
