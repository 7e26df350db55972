"""Per-dimension figures: each dimension's mean, and its paired delta against the baseline.

A grader's ``dimension`` (correctness, format, tone…) groups its grades. Per answer, a
dimension's score is the weighted mean of that answer's grades in it (averaged over the
checks of one answer, as the gate averages them); per case, its repeats stay together and
``compare`` averages them — the case is the unit, as for the gate. The deltas are
descriptive: each is two-sided at the run's confidence, with no correction across
dimensions or candidates (no Holm), and none decides the gate. In a sequential run the
stopping time depends on the overall score, so a dimension's fixed-n CI and p-value are
not valid (optional stopping): its JSON keeps the means and drops them (`as_dict`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

import numpy as np

from ..core.vocabulary import Interval
from ..inference.compare import Comparison, compare
from ..records.grades import dimension_scores
from ..records.results import ItemResult
from .pairing import CaseScores, answered, common_checks, paired

DimensionScores = dict[str, CaseScores]  # per dimension, per case, the score of each answer
NOT_ANYTIME = ("verdict", "evidence", "ci_low", "ci_high", "p_value", "p_noninferior",
               "p_adjusted", "mc_error")  # fmt: skip
"""A dimension delta's fields that a sequential run's stopping invalidates."""


def dimension_means(results: Iterable[ItemResult]) -> dict[str, float]:
    """Per dimension, the mean over answered checks of each one's weighted dimension score."""
    per_check = [dimension_scores(r.grades) for r in answered(results)]
    names = sorted({name for scores in per_check for name in scores})
    return {
        name: float(np.mean([scores[name] for scores in per_check if name in scores]))
        for name in names
    }


def dimension_case_scores(results: Iterable[ItemResult]) -> DimensionScores:
    """Per dimension and case, the score of each of its answers (the mean of its checks)."""
    checks: dict[str, dict[tuple[str, int], list[float]]] = defaultdict(lambda: defaultdict(list))
    for result in answered(results):
        for name, score in dimension_scores(result.grades).items():
            checks[name][result.answer_key].append(score)
    out: DimensionScores = {}
    for name, by_answer in sorted(checks.items()):
        cases: CaseScores = defaultdict(list)
        for (case, _repeat), values in sorted(by_answer.items()):
            cases[case].append(sum(values) / len(values))
        out[name] = dict(cases)
    return out


def dimension_deltas(
    baseline: Sequence[ItemResult],
    candidate: Sequence[ItemResult],
    *,
    confidence: float,
    margin: float = 0.0,
    seed: int = 0,
    method: Interval = "auto",
    resamples: int = 10_000,
) -> dict[str, Comparison]:
    """Per dimension both graded, the candidate's paired delta; descriptive (see module)."""
    kept = common_checks(baseline, candidate)
    base, cand = dimension_case_scores(kept[0]), dimension_case_scores(kept[1])
    out: dict[str, Comparison] = {}
    for name in sorted(set(base) & set(cand)):
        pairs = paired(base[name], cand[name])
        if pairs is None:
            continue
        out[name] = compare(
            *pairs, margin=margin, confidence=confidence, seed=seed, method=method,
            resamples=resamples,
        )  # fmt: skip
    return out


def as_dict(delta: Comparison, *, sequential: bool) -> dict[str, float | int | str | bool | None]:
    """A dimension delta, JSON-safe; in a sequential run its CI, p-values and what they
    show are null (see module)."""
    data = delta.to_dict()
    if sequential:
        data.update(dict.fromkeys(NOT_ANYTIME))
    return data
