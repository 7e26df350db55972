"""This run against a stored one: did a model's quality move under the same name? Pure.

Each model is paired with itself per case (the prompt): a case's answers in this run
against its answers in the stored run, as one cluster, exactly as the gate pairs a
candidate with the baseline, through the same `compare_family` at the run's
confidence: Holm across models, each interval at the level its test used; a model
whose interval lies wholly below 0 has degraded.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..core.formatting import capped
from ..core.vocabulary import Interval
from ..inference.compare import Comparison, compare_family
from ..records.results import ItemResult
from .pairing import CaseScores, answered, answers, case_scores, paired

DEGRADED, IMPROVED, STEADY = "degraded", "improved", "steady"
TOO_FEW, UNPAIRED = "too-few-cases", "unpaired"


@dataclass(frozen=True, slots=True)
class ModelDrift:
    """One model, this run against the stored run: `delta` is now minus then."""

    model: str
    status: str  # degraded | improved | steady | too-few-cases | unpaired
    delta: Comparison | None
    p_adjusted: float | None
    mean_then: float | None  # over the paired cases (all of this run's when none pair)
    mean_now: float | None
    answers_changed: int  # paired cases whose answer text differs in any repeat
    fresh_answers: int  # answers of this run the model gave now, not replayed from the cache
    errors_now: int  # answers of this run that are errors (never paired)
    only_now: int  # cases answered in this run only
    only_then: int  # cases answered in the stored run only
    cost_per_answer_then: float | None  # None: some cost unknown
    cost_per_answer_now: float | None
    nights: int | None = None  # drift = "accumulate": nights counted against the reference
    night_note: str | None = None  # drift = "accumulate": why tonight did not count
    since: int | None = None  # drift = "accumulate": the night a seen change most likely began
    visible_drop: float | None = None  # a steady night: the smallest drop it would have shown

    @property
    def n_pairs(self) -> int:
        return self.delta.n_pairs if self.delta is not None else 0

    @property
    def cost_change(self) -> float | None:
        """Cost per answer now as a fraction of then, minus 1 (+0.2: 20% dearer)."""
        then, now = self.cost_per_answer_then, self.cost_per_answer_now
        if then is None or now is None or then == 0:
            return None
        return now / then - 1

    def to_dict(self) -> dict[str, Any]:
        delta = self.delta.to_dict() if self.delta is not None else None
        if delta is not None and self.p_adjusted is not None:
            delta["p_adjusted"] = self.p_adjusted
        return {
            "status": self.status,
            "n_pairs": self.n_pairs,
            "mean_then": self.mean_then,
            "mean_now": self.mean_now,
            "delta": delta,
            "answers_changed": self.answers_changed,
            "fresh_answers": self.fresh_answers,
            "errors_now": self.errors_now,
            "only_now": self.only_now,
            "only_then": self.only_then,
            "cost_per_answer_then_usd": self.cost_per_answer_then,
            "cost_per_answer_now_usd": self.cost_per_answer_now,
            "cost_change": self.cost_change,
            "nights": self.nights,
            "night_note": self.night_note,
            "since_night": self.since,
            "visible_drop": self.visible_drop,
        }


@dataclass(frozen=True, slots=True)
class DriftReport:
    """Every model of this run against the stored run `against`."""

    against: str  # the stored run's path, as shown to the user
    saved_at: str | None
    confidence: float  # family-wise, Holm across models; each delta has its own level
    models: Mapping[str, ModelDrift]
    models_gone: tuple[str, ...]  # in the stored run, not in this one
    accumulated: bool = False  # drift = "accumulate": statuses watched over every night since

    @property
    def degraded(self) -> tuple[str, ...]:
        return tuple(name for name, m in self.models.items() if m.status == DEGRADED)

    @property
    def replayed_only(self) -> bool:
        """Every paired answer of this run came from the cache: only grading could have moved."""
        models = self.models.values()
        return any(m.n_pairs for m in models) and not any(m.fresh_answers for m in models)

    @property
    def nothing_paired(self) -> bool:
        """No case of this run is in the stored run: most likely other suites."""
        return not any(m.n_pairs for m in self.models.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "against": self.against,
            "saved_at": self.saved_at,
            "confidence": self.confidence,
            "degraded": list(self.degraded),
            "models": {name: m.to_dict() for name, m in self.models.items()},
            "models_gone": list(self.models_gone),
            "accumulated": self.accumulated,
        }


@dataclass(frozen=True, slots=True)
class _Side:
    """One model's results in one run: its answered ones by case, and its errors."""

    scores: CaseScores
    outputs: Mapping[str, tuple[str, ...]]
    cost_per_answer: float | None
    fresh: int
    errors: int

    def mean(self, keys: Iterable[str]) -> float | None:
        """The mean over these cases of each case's mean score, as the paired delta sees it."""
        means = [sum(self.scores[k]) / len(self.scores[k]) for k in keys]
        return sum(means) / len(means) if means else None


def compare_runs(
    now: Sequence[ItemResult],
    then: Sequence[ItemResult],
    *,
    against: str,
    saved_at: str | None = None,
    confidence: float = 0.95,
    seed: int = 0,
    method: Interval = "auto",
    resamples: int = 10_000,
) -> DriftReport:
    """Pair every model of `now` with itself in `then`, per case, and say whether it moved."""
    now_sides, then_sides = _sides(now), _sides(then)
    pairs = {
        model: p
        for model, side in now_sides.items()
        if model in then_sides and (p := paired(then_sides[model].scores, side.scores))
    }
    deltas = compare_family(
        pairs, confidence=confidence, seed=seed, method=method, resamples=resamples
    )
    models = {
        name: _model_drift(name, side, then_sides.get(name), deltas.get(name))
        for name, side in now_sides.items()
    }
    return DriftReport(
        against=against,
        saved_at=saved_at,
        confidence=confidence,
        models=models,
        models_gone=tuple(sorted(set(then_sides) - set(now_sides))),
    )


def _sides(results: Iterable[ItemResult]) -> dict[str, _Side]:
    by_model: dict[str, list[ItemResult]] = defaultdict(list)
    for result in results:
        by_model[result.model].append(result)
    return {model: _side(model_results) for model, model_results in by_model.items()}


def _side(results: Sequence[ItemResult]) -> _Side:
    outputs: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for result in answers(results):
        outputs[result.pair_key].append((result.repeat, capped(result.output)))  # as stored
    costs = [r.cost_usd for r in answers(results)]
    known = [c for c in costs if c is not None]
    return _Side(
        scores=case_scores(results),
        outputs={key: tuple(text for _, text in sorted(pairs)) for key, pairs in outputs.items()},
        cost_per_answer=sum(known) / len(known) if known and len(known) == len(costs) else None,
        fresh=sum(1 for r in answered(results) if not r.cached),
        errors=sum(1 for r in results if r.error is not None),
    )


def _model_drift(
    name: str,
    now: _Side,
    then: _Side | None,
    delta: Comparison | None,
) -> ModelDrift:
    then_keys = set(then.scores) if then is not None else set()
    paired = set(now.scores) & then_keys
    changed = sum(now.outputs[k] != then.outputs[k] for k in paired) if then is not None else 0
    return ModelDrift(
        model=name,
        status=_status(delta),
        delta=delta,
        p_adjusted=delta.p_adjusted if delta is not None else None,
        mean_then=then.mean(paired) if then is not None else None,
        mean_now=now.mean(paired or now.scores),
        answers_changed=changed,
        fresh_answers=now.fresh,
        errors_now=now.errors,
        only_now=len(set(now.scores) - then_keys),
        only_then=len(then_keys - set(now.scores)),
        cost_per_answer_then=then.cost_per_answer if then is not None else None,
        cost_per_answer_now=now.cost_per_answer,
    )


def _status(delta: Comparison | None) -> str:
    if delta is None:
        return UNPAIRED
    if delta.too_few:
        return TOO_FEW
    return {"inferior": DEGRADED, "superior": IMPROVED}.get(delta.evidence, STEADY)
