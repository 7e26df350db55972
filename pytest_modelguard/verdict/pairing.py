"""ItemResults → the scores the statistics see: the case (the prompt) is the unit. Pure.

Every check that grades the same answer — the same prompt in several suites, a
Python test over a suite's case, several graders — shares the answer's key
(`ItemResult.answer_key`): its checks are one observation, its cost is paid once,
and a case's repeats stay together as one cluster.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from ..records.results import ItemResult

CaseScores = dict[str, list[float]]  # per case, the score of each of its answers
CaseScoreLists = list[list[float]]  # per paired case, in order, the scores of its answers


def answered(results: Iterable[ItemResult]) -> list[ItemResult]:
    """The results that carry a score (no error)."""
    return [r for r in results if r.error is None and r.score is not None]


def answers(results: Iterable[ItemResult]) -> list[ItemResult]:
    """One result per answer, the first of its checks: what cost, tokens and latency count."""
    first: dict[tuple[str, int], ItemResult] = {}
    for result in answered(results):
        first.setdefault(result.answer_key, result)
    return list(first.values())


def case_scores(results: Iterable[ItemResult]) -> CaseScores:
    """Per case, the score of each of its answers: the mean of that answer's checks."""
    checks: dict[tuple[str, int], list[float]] = defaultdict(list)
    for result in answered(results):
        checks[result.answer_key].append(float(result.score))  # type: ignore[arg-type]
    scores: CaseScores = defaultdict(list)
    for (case, _repeat), values in sorted(checks.items()):
        scores[case].append(sum(values) / len(values))
    return dict(scores)


def common_checks(
    baseline: Sequence[ItemResult], candidate: Sequence[ItemResult]
) -> tuple[list[ItemResult], list[ItemResult]]:
    """Each side's scored results of the checks both sides graded, case by case.

    A case's score is the mean of its checks; when selection (``-k``) ran a check on one
    side only (a Python test over the case, run for the candidate alone), comparing the
    means would compare different checks: only the checks both graded are paired.
    """
    both = {(r.pair_key, r.suite) for r in answered(baseline)}
    both &= {(r.pair_key, r.suite) for r in answered(candidate)}
    return (
        [r for r in answered(baseline) if (r.pair_key, r.suite) in both],
        [r for r in answered(candidate) if (r.pair_key, r.suite) in both],
    )


def paired_results(
    baseline: Sequence[ItemResult], candidate: Sequence[ItemResult]
) -> tuple[CaseScoreLists, CaseScoreLists] | None:
    """``paired`` case scores over the checks both sides graded; None: no case in common."""
    base, cand = common_checks(baseline, candidate)
    return paired(case_scores(base), case_scores(cand))


def paired(
    baseline: CaseScores, candidate: CaseScores
) -> tuple[CaseScoreLists, CaseScoreLists] | None:
    """(baseline, candidate) scores of the cases both answered, case by case; None: none."""
    keys = sorted(set(baseline) & set(candidate))
    if not keys:
        return None
    return [baseline[k] for k in keys], [candidate[k] for k in keys]
