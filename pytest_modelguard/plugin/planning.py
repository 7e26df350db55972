"""The dry run's planning: grade the baseline's recorded answers, plan each candidate."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from ..config import ModelSpec
from ..core.errors import CacheError, CorruptEntryError
from ..grading.judging import is_judge
from ..records.calls import Answered, Request
from ..report import terminal
from ..verdict.planning import Plan, label_plans, plan
from .items import CaseItem
from .session import ModelguardSession


def dry_run_lines(
    items: Sequence[pytest.Item], requests: Sequence[Request], mg: ModelguardSession
) -> list[str]:
    """The dry run's report: calls and costs per model, then each candidate's plan."""
    settings = mg.settings
    costs = mg.answers.dry_run(requests, later_agent_steps(items))
    lines = terminal.dry_run_lines(costs, settings.record.value)
    lines += terminal.plan_lines(plans(items, mg), settings.gate, settings.confidence)
    if settings.gate_on == "human" and settings.baseline is not None:
        labels = label_plans(
            settings.cache_dir,
            settings.baseline.name,
            [m.name for m in settings.candidates],
            gate=settings.gate,
            margin=settings.margin,
            confidence=settings.confidence,
        )
        lines += ["modelguard label planning (gate_on = human):"] if labels else []
        lines += [f"  {line}" for line in labels]
    return lines


def later_agent_steps(items: Sequence[pytest.Item]) -> dict[str, int]:
    """Per first request of an agent case (each repeat's, each model's): the most calls its
    later steps can add, ``max_steps - 1``."""
    steps = {}
    for item in items:
        if isinstance(item, CaseItem) and item.case.agent is not None:
            for key in item.keys + item.companion_keys:
                steps[key] = item.case.agent.max_steps - 1
    return steps


def plans(items: Sequence[pytest.Item], mg: ModelguardSession) -> list[Plan]:
    """Per candidate with suite items: its cases and the plan from the baseline's scores.

    A case counts when the baseline's answers to it are recorded (in the cache or the
    suite) and its graders need no judge call: nothing is called or written.
    """
    baseline = mg.settings.baseline
    if baseline is None:
        return []
    scores: dict[tuple[str, str], float | None] = {}
    per_model: dict[str, list[float | None]] = {}
    for item in items:
        if not isinstance(item, CaseItem) or item.model is baseline:
            continue
        where = (str(item.path), item.case.id)
        if where not in scores:
            scores[where] = _baseline_score(item, baseline, mg)
        per_model.setdefault(item.model.name, []).append(scores[where])
    confidence, margin = mg.settings.confidence, mg.settings.margin
    return [
        plan(m.name, len(found), [s for s in found if s is not None], margin, confidence)
        for m in mg.settings.candidates
        if (found := per_model.get(m.name)) is not None
    ]


def _baseline_score(item: CaseItem, baseline: ModelSpec, mg: ModelguardSession) -> float | None:
    """The baseline's mean score on the item's case from recorded answers; None if unknown."""
    if any(is_judge(grader) for grader in item.graders):
        return None  # grading would call the judge
    answers = mg.answers
    requests = answers.requests_for(item.case, baseline)
    for request in requests:
        try:
            completion = answers.cache.get(request)
        except (CacheError, CorruptEntryError):  # the real run will say what is wrong
            return None
        if completion is None:
            return None
        answers.known[request.key()] = Answered(completion, cached=True)
    keys = tuple(r.key() for r in requests)
    results = mg.grader.grade_item(item.case, baseline, item.graders, keys)
    graded = [r.score for r in results if r.error is None and r.score is not None]
    if not graded or len(graded) < len(results):
        return None
    return sum(graded) / len(graded)
