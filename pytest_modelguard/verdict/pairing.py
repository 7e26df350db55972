"""ItemResults → the scores the statistics see: the case (the prompt) is the unit. Pure.

Every check that grades the same answer — the same prompt in several suites, a
Python test over a suite's case, several graders — shares the answer's key
(`ItemResult.answer_key`): its checks are one observation, its cost is paid once,
and a case's repeats stay together as one cluster.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cached_property

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
    checks: dict[tuple[str, int], list[float]] = {}
    for result in answered(results):
        checks.setdefault(result.answer_key, []).append(float(result.score))  # type: ignore[arg-type]
    scores: CaseScores = {}
    for case, repeat in sorted(checks):
        values = checks[(case, repeat)]
        scores.setdefault(case, []).append(sum(values) / len(values))
    return scores


def common_checks(
    baseline: Sequence[ItemResult], candidate: Sequence[ItemResult]
) -> tuple[list[ItemResult], list[ItemResult]]:
    """Each side's scored results of the checks both sides graded, case by case.

    A case's score is the mean of its checks; when selection (``-k``) ran a check on one
    side only (a Python test over the case, run for the candidate alone), comparing the
    means would compare different checks: only the checks both graded are paired.
    """
    base, cand = answered(baseline), answered(candidate)
    both = {(r.pair_key, r.suite) for r in base} & {(r.pair_key, r.suite) for r in cand}
    return (
        [r for r in base if (r.pair_key, r.suite) in both],
        [r for r in cand if (r.pair_key, r.suite) in both],
    )


def paired_results(
    baseline: Sequence[ItemResult], candidate: Sequence[ItemResult]
) -> tuple[CaseScoreLists, CaseScoreLists] | None:
    """``paired`` case scores over the checks both sides graded; None: no case in common."""
    base, cand = common_checks(baseline, candidate)
    return paired(case_scores(base), case_scores(cand))


class Scored:
    """One model's results (of the run, or of one tag) and what the gate reads of them,
    each worked out once however many comparisons and summaries read it."""

    def __init__(self, results: Sequence[ItemResult]) -> None:
        self.results = results

    @cached_property
    def answered(self) -> list[ItemResult]:
        return answered(self.results)

    @cached_property
    def answers(self) -> list[ItemResult]:
        """One result per answer (see ``answers``)."""
        return answers(self.answered)

    @cached_property
    def cases(self) -> CaseScores:
        """``case_scores`` of the results."""
        return case_scores(self.answered)

    @cached_property
    def checks(self) -> frozenset[tuple[str, str]]:
        """The checks graded: (case, suite)."""
        return frozenset((r.pair_key, r.suite) for r in self.answered)


def paired_scored(
    baseline: Scored, candidate: Scored
) -> tuple[CaseScoreLists, CaseScoreLists] | None:
    """``paired_results`` of two sides; when both graded the same checks (the usual run),
    from the case scores each side already has."""
    if baseline.checks == candidate.checks:
        return paired(baseline.cases, candidate.cases)
    return paired_results(baseline.answered, candidate.answered)


def paired(
    baseline: CaseScores, candidate: CaseScores
) -> tuple[CaseScoreLists, CaseScoreLists] | None:
    """(baseline, candidate) scores of the cases both answered, case by case; None: none."""
    keys = sorted(set(baseline) & set(candidate))
    if not keys:
        return None
    return [baseline[k] for k in keys], [candidate[k] for k in keys]
