"""How far a run's llm_judge graders can be trusted, and the delta on the humans' scale. Pure.

From the ItemResults of a run (issue #19):

- per judge (an llm_judge grader, by grade name and judge model): agreement with the
  human labels (`calibration.agreement`: kappa for a pass/fail rubric, Spearman and
  MAE for a scale; TPR/FPR at the grader's threshold), position bias from a pairwise
  judge's two orders, self-consistency across `judge_repeats`, and the Spearman
  correlation of its score with the answer's length (for pairwise: the candidate's
  length minus the baseline's). A rubric judge is compared with each answer's label;
  a pairwise judge with the humans' preference, (1 + label(candidate) - label(baseline)) / 2.
- per candidate: the PPI++ delta (`ppi.ppi_delta`: the item scores as the judge, the
  labels as the humans) beside the judge-only one, and the share of the delta's
  variance owed to the judge's own noise when it was asked more than once.

`judge_min_agreement` fails the run when a judge's agreement figure is below it (or
cannot be shown: no labels, or one side constant); `gate_on = "human"` lets the PPI
interval decide the quality verdict (`human_verdict`). PPI is valid only when the
labelled cases are a uniformly random sample (`modelguard label sample` draws one).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..core.formatting import percent
from ..inference import stats
from ..inference.calibration import (
    Agreement,
    Consistency,
    PositionBias,
    agreement,
    agreement_failure,
    kind_of,
    length_correlation,
    position_bias,
    self_consistency,
)
from ..inference.ppi import PPIResult, judge_noise_share, labels_needed, ppi_delta
from ..records.grades import Grade
from ..records.results import ItemResult
from .pairing import answered, answers, case_scores, paired

__all__ = [
    "NOISY_SHARE",
    "CandidateJudging",
    "JudgeCalibration",
    "JudgesReport",
    "human_verdict",
    "judges_report",
]

NOISY_SHARE = 0.25
"""A judge-noise share above this is called out: the interval is wider for the judge's noise."""


@dataclass(frozen=True, slots=True)
class JudgeCalibration:
    """One judge's figures over the run; None where the data for a figure is missing."""

    grader: str
    model: str
    pairwise: bool
    threshold: float
    answers: int
    agreement: Agreement | None
    position_bias: PositionBias | None
    consistency: Consistency | None
    length_correlation: float | None
    failure: str | None = None  # why it fails judge_min_agreement

    @property
    def name(self) -> str:
        return f"{self.grader} {'pairwise' if self.pairwise else 'rubric'} ({self.model})"

    def to_dict(self) -> dict[str, object]:
        def d(x: Agreement | PositionBias | Consistency | None) -> dict[str, object] | None:
            return None if x is None else x.to_dict()

        return {
            "grader": self.grader,
            "model": self.model,
            "pairwise": self.pairwise,
            "threshold": self.threshold,
            "answers": self.answers,
            "agreement": d(self.agreement),
            "position_bias": d(self.position_bias),
            "self_consistency": d(self.consistency),
            "length_correlation": self.length_correlation,
            "failure": self.failure,
        }


@dataclass(frozen=True, slots=True)
class CandidateJudging:
    """A candidate's delta on the humans' scale (PPI++), and the judge's noise in its delta."""

    ppi: PPIResult | None
    ppi_note: str | None  # why there is no PPI delta (too few labels, one-sided labels)
    judge_noise_share: float | None
    labelled_cases: int = 0

    def to_dict(self) -> dict[str, object]:
        return {
            "ppi": None if self.ppi is None else self.ppi.to_dict(),
            "ppi_note": self.ppi_note,
            "judge_noise_share": self.judge_noise_share,
            "labelled_cases": self.labelled_cases,
        }


@dataclass(frozen=True, slots=True)
class JudgesReport:
    judges: tuple[JudgeCalibration, ...]
    candidates: Mapping[str, CandidateJudging] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()  # self-preference: the judge is a compared model
    labelled: int = 0  # answers with a human label

    @property
    def failures(self) -> tuple[str, ...]:
        return tuple(j.failure for j in self.judges if j.failure is not None)

    def to_dict(self) -> dict[str, object]:
        return {
            "labelled_answers": self.labelled,
            "judges": [j.to_dict() for j in self.judges],
            "candidates": {name: c.to_dict() for name, c in self.candidates.items()},
            "warnings": list(self.warnings),
        }


def judges_report(
    results: Sequence[ItemResult],
    baseline: str | None,
    candidates: Sequence[str],
    *,
    confidence: float = 0.95,
    min_agreement: float | None = None,
    model_ids: Mapping[str, str] | None = None,
) -> JudgesReport | None:
    """The judges' calibration and the candidates' PPI deltas; None when no judge graded."""
    given = answered(results)
    graded = [(r, g) for r in given for g in r.grades if g.judge is not None]
    labelled = len({(r.model, r.answer_key) for r in given if r.human_label is not None})
    if not graded and not labelled:
        return None
    by_judge: dict[tuple[str, str, bool], list[tuple[ItemResult, Grade]]] = defaultdict(list)
    for result, grade in graded:
        assert grade.judge is not None
        by_judge[(grade.name, grade.judge.model, grade.judge.scale is None)].append((result, grade))
    base_answers = {r.answer_key: r for r in given if r.model == baseline}
    judges = tuple(
        _calibrate(name, model, pairs, base_answers, min_agreement)
        for (name, model, _), pairs in sorted(by_judge.items())
    )
    by_model: dict[str, list[ItemResult]] = defaultdict(list)
    for result in results:
        by_model[result.model].append(result)
    per_candidate = {
        name: _candidate(by_model.get(baseline or "", []), by_model[name], confidence)
        for name in candidates
        if name in by_model and baseline in by_model
    }
    return JudgesReport(
        judges=judges,
        candidates=per_candidate,
        warnings=tuple(_self_preference(judges, baseline, candidates, model_ids or {})),
        labelled=labelled,
    )


def _calibrate(
    name: str,
    model: str,
    pairs: Sequence[tuple[ItemResult, Grade]],
    base_answers: Mapping[tuple[str, int], ItemResult],
    min_agreement: float | None,
) -> JudgeCalibration:
    first = pairs[0][1]
    assert first.judge is not None
    pairwise = first.judge.scale is None
    asked = [(r, g) for r, g in pairs if g.judge is not None and g.judge.draws]
    scores, humans, lengths = [], [], []
    for result, grade in asked:
        base = base_answers.get(result.answer_key) if pairwise else None
        if pairwise and base is None:
            continue
        length = len(result.output) - (len(base.output) if base is not None else 0)
        scores.append(grade.score)
        lengths.append(length)
        human = result.human_label
        if pairwise:
            human = None if human is None or base is None or base.human_label is None else (
                (1 + human - base.human_label) / 2
            )  # fmt: skip
        humans.append(human)
    labelled = [(s, h) for s, h in zip(scores, humans, strict=True) if h is not None]
    found = None
    if labelled:
        kind = kind_of(first.judge.scale)
        found = agreement(*zip(*labelled, strict=True), kind=kind, threshold=first.threshold)
    failure = None
    if min_agreement is not None:
        shown = f"{name} {'pairwise' if pairwise else 'rubric'} ({model})"
        failure = (
            agreement_failure(shown, found, min_agreement)
            if found is not None
            else f"judge {shown}: no labelled answers to check judge_min_agreement = "
            f"{min_agreement} against (label a sample: modelguard label sample REPORT.json)"
        )
    orders = [o for _, g in asked if g.judge is not None for o in g.judge.orders]
    draws = [g.judge.draws for _, g in asked if g.judge is not None and len(g.judge.draws) > 1]
    return JudgeCalibration(
        grader=name,
        model=model,
        pairwise=pairwise,
        threshold=first.threshold,
        answers=len(asked),
        agreement=found,
        position_bias=position_bias(*zip(*orders, strict=True)) if orders else None,
        consistency=self_consistency(draws) if draws else None,
        length_correlation=length_correlation(scores, lengths) if len(scores) > 1 else None,
        failure=failure,
    )


def _candidate(
    baseline: Sequence[ItemResult], candidate: Sequence[ItemResult], confidence: float
) -> CandidateJudging:
    pairs = paired(case_scores(baseline), case_scores(candidate))
    if pairs is None:
        return CandidateJudging(None, "no case answered by both models", None)
    keys = sorted(set(case_scores(baseline)) & set(case_scores(candidate)))
    human_base, human_cand = _case_labels(baseline, keys), _case_labels(candidate, keys)
    both = sum(1 for b, c in zip(human_base, human_cand, strict=True) if None not in (b, c))
    noise = judge_noise_share(_draws(baseline, keys), _draws(candidate, keys))
    if not any(h is not None for h in (*human_base, *human_cand)):
        return CandidateJudging(None, None, noise)
    needed = stats.min_pairs(confidence)
    if both < needed:
        note = (
            f"{both} cases with both answers labelled: the corrected delta needs at least "
            f"{needed} at {percent(confidence)}"
        )
        return CandidateJudging(None, note, noise, both)
    try:
        found = ppi_delta(*pairs, human_base, human_cand, confidence=confidence)
    except ValueError as exc:
        return CandidateJudging(None, str(exc), noise, both)
    return CandidateJudging(found, None, noise, both)


def _case_labels(results: Sequence[ItemResult], keys: Sequence[str]) -> list[float | None]:
    """Per case, the mean human label of its answers; None unless every answer is labelled."""
    labels: dict[str, list[float | None]] = defaultdict(list)
    for result in answers(results):
        labels[result.pair_key].append(result.human_label)
    out: list[float | None] = []
    for key in keys:
        found = labels.get(key, [])
        known = [h for h in found if h is not None]
        out.append(sum(known) / len(known) if found and len(known) == len(found) else None)
    return out


def _draws(results: Sequence[ItemResult], keys: Sequence[str]) -> list[list[float]]:
    """Per case, its first answer's score as the judge's repeats would have made it.

    An answer graded by a repeated judge: the item score moved by each draw's distance
    from the judge's mean, weighted as that grade weighs in the item score.
    """
    first: dict[str, ItemResult] = {}
    for result in answered(results):
        if result.repeat == 0:
            first.setdefault(result.pair_key, result)
    scores = case_scores(results)
    out = []
    for key in keys:
        found = first.get(key)
        if found is None or found.score is None:  # its first repeat errored
            out.append(scores[key][:1])
        else:
            out.append(_answer_draws(found.score, found.grades))
    return out


def _answer_draws(score: float, grades: Sequence[Grade]) -> list[float]:
    total = sum(g.weight for g in grades) or 1.0
    for grade in grades:
        if grade.judge is not None and len(grade.judge.draws) > 1:
            share = grade.weight / total
            return [score + share * (d - grade.score) for d in grade.judge.draws]
    return [score]


def _self_preference(
    judges: Sequence[JudgeCalibration],
    baseline: str | None,
    candidates: Sequence[str],
    model_ids: Mapping[str, str],
) -> list[str]:
    warnings = []
    compared = [m for m in (baseline, *candidates) if m is not None]
    for judge in judges:
        same = [m for m in compared if judge.model in (m, model_ids.get(m))]
        for name in same:
            role = "the baseline" if name == baseline else "a candidate"
            warnings.append(
                f"judge {judge.grader} is {judge.model}, also {role} ({name}): a judge tends to "
                "prefer its own answers (self-preference); use another model as the judge"
            )
    return warnings


def human_verdict(ppi: PPIResult, gate: str, margin: float) -> str:
    """The quality verdict from the PPI interval: what `gate_on = "human"` uses."""
    if ppi.ci_high < 0:
        return "regression"
    if gate == "non-inferiority" and ppi.ci_low <= -margin:
        return "not-non-inferior"
    return "pass"


DEFAULT_LABEL_MARGIN = 0.05  # the drop a regression gate without a margin plans for


def label_plan(ppi: PPIResult, gate: str, margin: float) -> str | None:
    """`gate_on = "human"`: about how many labelled cases would let the corrected interval
    decide at the margin (`labels_needed`), while it does not; None once it does."""
    drop = margin or DEFAULT_LABEL_MARGIN
    if gate == "non-inferiority":
        decided = ppi.ci_low > -drop or ppi.ci_high < -drop
        goal = f"rule out a drop of {drop:.2f} were the candidate as good as the baseline"
    else:
        decided = ppi.ci_high < 0 or ppi.ci_low > -drop
        goal = f"show a drop of {drop:.2f} below 0"
    if decided:
        return None
    needed = labels_needed(ppi, drop)
    basis = f"{ppi.n_labelled} now; from how far the labels so far stray from the judge"
    if needed is None:
        return (
            f"labels alone cannot {goal.split(' were')[0]}: even all {ppi.n_total} cases "
            f"labelled would leave the interval too wide ({basis}); add cases"
        )
    return (
        f"label about {needed} cases (both answers) for the corrected interval to {goal}, "
        f"80% of the time ({basis})"
    )
