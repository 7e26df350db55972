"""ItemResults + settings → a verdict per model and for the run (SPEC §8). Pure."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from . import stats
from .config import Budgets
from .graders import dimension_scores
from .results import ItemResult

if TYPE_CHECKING:
    from .drift import DriftReport

ERROR_RATE_LIMIT = 0.05
DEFAULT_POWER_MARGIN = 0.05
FAILING = ("regression", "not-non-inferior", "budget", "error")


@dataclass(frozen=True, slots=True)
class GateConfig:
    """What the gate needs to know about the run."""

    baseline: str | None
    candidates: tuple[str, ...]
    confidence: float = 0.95
    resamples: int = 10_000
    seed: int = 0
    gate: str = "regression"
    margin: float = 0.0
    budgets: Mapping[str, Budgets] = field(default_factory=dict)
    subset: bool = False  # selection left cases out
    gating: bool = True  # False for --lf: report, do not gate


OUTLIER_FACTOR = 5


@dataclass(frozen=True, slots=True)
class TokenOutlier:
    """An answer that used far more tokens than the model's median: the token spiral."""

    suite: str
    case_id: str
    repeat: int
    tokens: int
    times_median: float


@dataclass(frozen=True, slots=True)
class ModelSummary:
    """One row of the summary table."""

    name: str
    n: int
    errors: int
    mean_score: float | None
    pass_rate: float | None
    cost_usd: float | None
    cost_per_case_usd: float | None
    input_tokens: int
    output_tokens: int
    cached_input_tokens: int
    reasoning_tokens: int
    latency_p50_s: float | None
    latency_p95_s: float | None
    delta: stats.DeltaEstimate | None
    p_adjusted: float | None
    verdict: str
    reasons: tuple[str, ...]
    cases_needed: int | None = None
    cost_vs_baseline: float | None = None  # cost per answer as a fraction of the baseline's
    token_outliers: tuple[TokenOutlier, ...] = ()
    judge_cost_usd: float | None = 0.0  # llm_judge calls grading this model's answers
    dimensions: Mapping[str, float] = field(default_factory=dict)  # mean score per dimension
    repeat_agreement: float | None = None  # how often a case's repeats score alike
    verdicts: tuple[str, ...] = ()  # every verdict that applies, worst first (`verdict`)


@dataclass(frozen=True, slots=True)
class TagSummary:
    n: int
    mean_score: float | None
    delta: stats.DeltaEstimate | None
    cost_per_case_usd: float | None = None  # None: some answer's cost is unknown
    input_tokens: int = 0
    output_tokens: int = 0
    latency_p50_s: float | None = None
    latency_p95_s: float | None = None


@dataclass(frozen=True, slots=True)
class GateReport:
    """The whole verdict: per model, per tag, for the run, and notes for the reader."""

    models: Mapping[str, ModelSummary]
    tags: Mapping[str, Mapping[str, TagSummary]]
    verdict: str  # pass | fail
    ci_confidence: float
    notes: tuple[str, ...]
    drift: DriftReport | None = None  # --modelguard-compare: this run against a stored one

    @property
    def failed(self) -> bool:
        return self.verdict == "fail"


def with_drift(report: GateReport, drift: DriftReport, gating: bool = True) -> GateReport:
    """The report with the drift comparison; a model that degraded fails a gating run."""
    failing = report.failed or (gating and bool(drift.degraded))
    return replace(
        report,
        drift=drift,
        verdict="fail" if failing else "pass",
    )


def evaluate(results: Sequence[ItemResult], config: GateConfig) -> GateReport:
    """Judge every model of the run."""
    by_model: dict[str, list[ItemResult]] = defaultdict(list)
    for result in results:
        by_model[result.model].append(result)
    names = [m for m in (config.baseline, *config.candidates) if m is not None and m in by_model]
    names += sorted(set(by_model) - set(names))
    baseline = by_model.get(config.baseline or "", [])
    compared = [m for m in config.candidates if m in by_model and baseline]
    ci_confidence = stats.bonferroni_confidence(config.confidence, max(len(compared), 1))
    deltas = {m: _paired(by_model[m], baseline, config, ci_confidence) for m in compared}
    adjusted = stats.holm({m: d.p_value for m, d in deltas.items() if d is not None})
    models = {
        name: _summarise(name, by_model[name], deltas.get(name), adjusted.get(name), config)
        for name in names
    }
    models = _with_cost_ratios(models, config.baseline)
    failing = config.gating and any(s.verdict in FAILING for s in models.values())
    return GateReport(
        models=models,
        tags=_tag_summaries(by_model, baseline, config),
        verdict="fail" if failing else "pass",
        ci_confidence=ci_confidence,
        notes=tuple(_notes(config, len(compared), ci_confidence)),
    )


def _with_cost_ratios(
    models: dict[str, ModelSummary], baseline: str | None
) -> dict[str, ModelSummary]:
    reference = models[baseline].cost_per_case_usd if baseline in models else None
    if not reference:
        return models
    return {
        name: replace(s, cost_vs_baseline=s.cost_per_case_usd / reference)
        if s.cost_per_case_usd is not None
        else s
        for name, s in models.items()
    }


def percent(fraction: float) -> str:
    """0.975 → '97.5%', 0.95 → '95%'."""
    return f"{fraction * 100:.4g}%"


def _notes(config: GateConfig, compared: int, ci_confidence: float) -> Iterable[str]:
    if compared > 1:
        yield (
            f"{compared} candidates: {percent(ci_confidence)} CIs (Bonferroni) and Holm p-values "
            f"hold the family-wise level at {percent(config.confidence)}"
        )
    if config.subset:
        yield "selection left cases out: the gate ran on a subset of the suites"
    if not config.gating:
        yield "--lf run: results reported, the gate is not applied"


def _answered(results: Iterable[ItemResult]) -> list[ItemResult]:
    return [r for r in results if r.error is None and r.score is not None]


def _scores_by_case(results: Iterable[ItemResult]) -> dict[tuple[str, str], list[float]]:
    scores: dict[tuple[str, str], list[float]] = defaultdict(list)
    for result in _answered(results):
        scores[result.pair_key].append(float(result.score))  # type: ignore[arg-type]
    return scores


def _paired(
    candidate: Sequence[ItemResult],
    baseline: Sequence[ItemResult],
    config: GateConfig,
    confidence: float,
) -> stats.DeltaEstimate | None:
    """The paired delta over cases both models answered; None when there is no pair."""
    cand, base = _scores_by_case(candidate), _scores_by_case(baseline)
    keys = sorted(set(cand) & set(base))
    if not keys:
        return None
    return stats.paired_delta(
        [cand[k] for k in keys],
        [base[k] for k in keys],
        confidence=confidence,
        resamples=config.resamples,
        seed=config.seed,
    )


def _dimension_means(answered: Sequence[ItemResult]) -> dict[str, float]:
    """Per dimension, the mean over answers of each answer's weighted dimension score."""
    per_answer = [dimension_scores(r.grades) for r in answered]
    names = sorted({name for scores in per_answer for name in scores})
    return {
        name: float(np.mean([scores[name] for scores in per_answer if name in scores]))
        for name in names
    }


def _total(costs: Sequence[float | None]) -> float | None:
    """The sum, or None when any part is unknown."""
    return None if None in costs else float(sum(c for c in costs if c is not None))


def _token_outliers(answered: Sequence[ItemResult]) -> tuple[TokenOutlier, ...]:
    """Answers above OUTLIER_FACTOR × the model's median total tokens, largest first."""
    if not answered:
        return ()
    median = float(np.median([r.total_tokens for r in answered]))
    if median <= 0:
        return ()
    outliers = [
        TokenOutlier(r.suite, r.case_id, r.repeat, r.total_tokens, r.total_tokens / median)
        for r in answered
        if r.total_tokens > OUTLIER_FACTOR * median
    ]
    return tuple(sorted(outliers, key=lambda o: -o.tokens))


def _percentile(values: Sequence[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def _summarise(
    name: str,
    results: Sequence[ItemResult],
    delta: stats.DeltaEstimate | None,
    p_adjusted: float | None,
    config: GateConfig,
) -> ModelSummary:
    answered = _answered(results)
    errors = sum(1 for r in results if r.error is not None)
    costs = [r.cost_usd for r in answered]
    cost = None if any(c is None for c in costs) else float(sum(costs))  # type: ignore[arg-type]
    latencies = [r.latency_s for r in answered if r.latency_s is not None]
    summary = ModelSummary(
        name=name,
        n=len(answered),
        errors=errors,
        mean_score=float(np.mean([r.score for r in answered])) if answered else None,
        pass_rate=sum(r.passed for r in results) / len(results) if results else None,
        cost_usd=cost,
        cost_per_case_usd=cost / len(answered) if cost is not None and answered else None,
        input_tokens=sum(r.input_tokens for r in answered),
        output_tokens=sum(r.output_tokens for r in answered),
        cached_input_tokens=sum(r.cached_input_tokens for r in answered),
        reasoning_tokens=sum(r.reasoning_tokens for r in answered),
        token_outliers=_token_outliers(answered),
        judge_cost_usd=_total([r.judge_cost_usd for r in results]),
        dimensions=_dimension_means(answered),
        repeat_agreement=stats.repeat_agreement(list(_scores_by_case(answered).values())),
        latency_p50_s=_percentile(latencies, 50),
        latency_p95_s=_percentile(latencies, 95),
        delta=delta,
        p_adjusted=p_adjusted,
        verdict="",
        reasons=(),
    )
    verdicts, reasons, needed = _verdict(summary, results, config)
    return replace(
        summary,
        verdict=verdicts[0],
        verdicts=tuple(verdicts),
        reasons=tuple(reasons),
        cases_needed=needed,
    )


def _verdict(
    summary: ModelSummary, results: Sequence[ItemResult], config: GateConfig
) -> tuple[list[str], list[str], int | None]:
    """Every verdict (at least one) and every reason behind them, worst first."""
    reasons: list[str] = []
    verdicts: list[str] = []
    total = len(results)
    if total and summary.errors / total > ERROR_RATE_LIMIT:
        verdicts.append("error")
        reasons.append(
            f"{summary.errors} of {total} answers errored ({summary.errors / total:.0%} > "
            f"{ERROR_RATE_LIMIT:.0%})"
        )
    is_baseline = summary.name == config.baseline
    needed = None
    if not is_baseline:
        quality, quality_reasons, needed = _quality(summary, config)
        verdicts += quality
        reasons += quality_reasons
    budget_reasons = _budget_reasons(summary, results, config.budgets.get(summary.name))
    if budget_reasons:
        verdicts.append("budget")
        reasons += budget_reasons
    default = "baseline" if is_baseline else "pass"
    return (verdicts or [default]), reasons, needed


def _quality(summary: ModelSummary, config: GateConfig) -> tuple[list[str], list[str], int | None]:
    delta = summary.delta
    if delta is None:
        return ["error"], ["no case answered by both this model and the baseline"], None
    level = f"{percent(delta.confidence)} CI"
    verdicts, reasons = [], []
    if config.gate == "non-inferiority":
        if delta.ci_low < -config.margin:
            verdicts.append("not-non-inferior")
            reasons.append(
                f"{level} lower end {delta.ci_low:+.3f} is below -margin {-config.margin:+.3f}"
            )
    elif delta.ci_high < 0:
        verdicts.append("regression")
        reasons.append(
            f"quality dropped: delta {delta.mean:+.3f}, "
            f"{level} [{delta.ci_low:+.3f}, {delta.ci_high:+.3f}] below 0"
        )
    margin = config.margin or DEFAULT_POWER_MARGIN
    needed = None
    if delta.degenerate:
        reasons.append(
            f"too few cases for a verdict on quality: {delta.n_pairs} pairs, at least "
            f"{stats.min_pairs(delta.confidence)} needed"
        )
    elif not verdicts and stats.ci_too_wide(delta, margin):
        needed = stats.cases_needed(delta.std_delta, margin, delta.confidence)
        reasons.append(
            f"CI too wide to detect a drop of {margin:.2f} with {delta.n_pairs} cases; "
            f"about {needed} cases needed"
        )
    return verdicts, reasons, needed


def _budget_reasons(
    summary: ModelSummary, results: Sequence[ItemResult], budgets: Budgets | None
) -> list[str]:
    if budgets is None:
        return []
    reasons = []
    if budgets.max_tokens_per_case is not None:
        over = [r for r in results if r.total_tokens > budgets.max_tokens_per_case]
        if over:
            worst = max(r.total_tokens for r in over)
            reasons.append(
                f"max_tokens_per_case: {len(over)} answers over {budgets.max_tokens_per_case} "
                f"tokens (largest {worst})"
            )
    checks = (
        ("max_cost_per_case_usd", summary.cost_per_case_usd, "${:.6f}"),
        ("max_cost_usd", summary.cost_usd, "${:.4f}"),
        ("max_latency_p95_s", summary.latency_p95_s, "{:.2f}s"),
    )
    for key, figure, fmt in checks:
        limit = getattr(budgets, key)
        if limit is None:
            continue
        if figure is None:
            if key.startswith("max_cost") and summary.n:
                reasons.append(f"{key}: cost unknown (set price for this model)")
            continue
        if figure > limit:
            reasons.append(f"{key}: {fmt.format(figure)} > limit {fmt.format(limit)}")
    return reasons


def _tag_summaries(
    by_model: Mapping[str, Sequence[ItemResult]],
    baseline: Sequence[ItemResult],
    config: GateConfig,
) -> dict[str, dict[str, TagSummary]]:
    tags: dict[str, dict[str, TagSummary]] = {}
    all_tags = sorted({t for results in by_model.values() for r in results for t in r.tags})
    for tag in all_tags:
        base_tagged = [r for r in baseline if tag in r.tags]
        row = {}
        for name, results in by_model.items():
            tagged = [r for r in results if tag in r.tags]
            answered = _answered(tagged)
            delta = None
            if name != config.baseline and base_tagged:
                delta = _paired(tagged, base_tagged, config, config.confidence)
            mean = float(np.mean([r.score for r in answered])) if answered else None
            latencies = [r.latency_s for r in answered if r.latency_s is not None]
            row[name] = TagSummary(
                n=len(answered),
                mean_score=mean,
                delta=delta,
                cost_per_case_usd=_cost_per_case(answered),
                input_tokens=sum(r.input_tokens for r in answered),
                output_tokens=sum(r.output_tokens for r in answered),
                latency_p50_s=_percentile(latencies, 50),
                latency_p95_s=_percentile(latencies, 95),
            )
        tags[tag] = row
    return tags


def _cost_per_case(answered: Sequence[ItemResult]) -> float | None:
    """Mean cost of the answered items; None when there are none or a cost is unknown."""
    costs = [r.cost_usd for r in answered]
    if not costs or any(c is None for c in costs):
        return None
    return float(sum(costs)) / len(costs)  # type: ignore[arg-type]
