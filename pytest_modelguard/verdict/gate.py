"""ItemResults + settings → a verdict per model and for the run (SPEC §8). Pure."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from ..config import Budgets
from ..core.formatting import p_value, percent, plural
from ..core.vocabulary import FAILING, PASSING, Gate, GateRule, Interval, Verdict
from ..inference import stats
from ..inference.compare import Comparison, cases_needed, compare, compare_family
from ..records.results import ItemResult
from .dimensions import dimension_deltas, dimension_means
from .pairing import CaseScoreLists, Scored, paired_scored

if TYPE_CHECKING:
    from .drift import DriftReport
    from .judges import JudgesReport

ERROR_RATE_LIMIT = 0.05
DEFAULT_POWER_MARGIN = 0.05
INCONCLUSIVE = Verdict.INCONCLUSIVE  # too few cases: fails the non-inferiority gate only


def fails(verdict: str, gate: str) -> bool:
    """Whether `verdict` fails a run under `gate`: too few cases never pass non-inferiority."""
    return verdict in FAILING or (verdict == INCONCLUSIVE and gate == GateRule.NON_INFERIORITY)


@dataclass(frozen=True, slots=True)
class GateConfig:
    """What the gate needs to know about the run."""

    baseline: str | None
    candidates: tuple[str, ...]
    confidence: float = 0.95
    interval: Interval = "auto"
    resamples: int = 10_000  # interval = "bca" only
    seed: int = 0
    gate: Gate = "regression"
    margin: float = 0.0
    budgets: Mapping[str, Budgets] = field(default_factory=dict)
    subset: bool = False  # selection left cases out
    not_gated: str | None = None  # why the gate is not applied (e.g. --lf, -x): report only
    judge_min_agreement: float | None = None  # a judge agreeing less with the labels fails
    gate_on: str = "judge"  # "human": the PPI-corrected interval decides quality
    model_ids: Mapping[str, str] = field(default_factory=dict)  # name → PROVIDER:MODEL

    @property
    def gating(self) -> bool:
        return self.not_gated is None


OUTLIER_FACTOR = 5


@dataclass(frozen=True, slots=True)
class TokenOutlier:
    """An answer that used far more tokens than the model's median: the token spiral."""

    suite: str
    case_id: str
    repeat: int
    tokens: int
    times_median: float


STEP_FACTOR = 3


@dataclass(frozen=True, slots=True)
class StepOutlier:
    """An agent run that took far more steps than the model's median: the step spiral."""

    suite: str
    case_id: str
    repeat: int
    steps: int
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
    delta: Comparison | None
    p_adjusted: float | None
    verdict: str
    reasons: tuple[str, ...]
    cases_needed: int | None = None
    evidence: str | None = None  # superior | equivalent | non-inferior | inferior | inconclusive
    cost_vs_baseline: float | None = None  # cost per answer as a fraction of the baseline's
    token_outliers: tuple[TokenOutlier, ...] = ()
    judge_cost_usd: float | None = 0.0  # llm_judge calls grading this model's answers
    dimensions: Mapping[str, float] = field(default_factory=dict)  # mean score per dimension
    # per dimension, the paired delta against the baseline: descriptive, never gating
    dimension_deltas: Mapping[str, Comparison] = field(default_factory=dict)
    repeat_agreement: float | None = None  # how often a case's repeats score alike
    verdicts: tuple[str, ...] = ()  # every verdict that applies, worst first (`verdict`)
    sequential: Mapping[str, Any] | None = None  # a sequential run's figures (sequential_gate)
    # gate_on = "human": `delta` is the label-corrected one that decided; this the judge's
    judge_delta: Comparison | None = None
    steps_per_case: float | None = None  # agent cases: the mean model calls per answer
    step_outliers: tuple[StepOutlier, ...] = ()

    @property
    def fine(self) -> bool:
        """The baseline, or a candidate that passed: nothing for a reader to look at."""
        return self.verdict in PASSING


@dataclass(frozen=True, slots=True)
class TagSummary:
    n: int
    mean_score: float | None
    delta: Comparison | None
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
    verdict: str  # pass | fail | not-gated
    notes: tuple[str, ...]
    drift: DriftReport | None = None  # --modelguard-compare: this run against a stored one
    judges: JudgesReport | None = None  # the judges' calibration against human labels (#19)
    not_gated: str | None = None  # why the gate was not applied (verdict "not-gated")

    @property
    def failed(self) -> bool:
        return self.verdict == "fail"

    @property
    def judge_failures(self) -> tuple[str, ...]:
        """Judges below judge_min_agreement: each fails the run."""
        return self.judges.failures if self.judges is not None else ()


def with_drift(report: GateReport, drift: DriftReport) -> GateReport:
    """The report with the drift comparison; a model that degraded fails a gating run."""
    if report.not_gated is not None:
        return replace(report, drift=drift)
    failing = report.failed or bool(drift.degraded)
    return replace(report, drift=drift, verdict="fail" if failing else "pass")


def evaluate(results: Sequence[ItemResult], config: GateConfig) -> GateReport:
    """Judge every model of the run."""
    by_model: dict[str, list[ItemResult]] = defaultdict(list)
    for result in results:
        by_model[result.model].append(result)
    names = [m for m in (config.baseline, *config.candidates) if m is not None and m in by_model]
    names += sorted(set(by_model) - set(names))
    baseline = by_model.get(config.baseline or "", [])
    compared = [m for m in config.candidates if m in by_model and baseline]
    scored = {name: Scored(results) for name, results in by_model.items()}
    base_scored = scored.get(config.baseline or "", Scored(()))
    pairs = {m: p for m in compared if (p := paired_scored(base_scored, scored[m])) is not None}
    deltas = compare_family(
        pairs, gate=config.gate, margin=config.margin, confidence=config.confidence,
        seed=config.seed, method=config.interval, resamples=config.resamples,
    )  # fmt: skip
    models = {name: _summarise(name, scored[name], deltas.get(name), config) for name in names}
    models = _with_dimension_deltas(models, by_model, baseline, config)
    models = _with_cost_ratios(models, config.baseline)
    judging = _judging(results, config)
    if judging is not None and config.gate_on == "human":
        models = _on_human_labels(models, judging, config)
    failing = config.gating and (
        any(fails(s.verdict, config.gate) for s in models.values())
        or (judging is not None and bool(judging.failures))
    )
    return GateReport(
        models=models,
        tags=_tag_summaries(scored, config),
        verdict="not-gated" if not config.gating else "fail" if failing else "pass",
        notes=tuple(_notes(config, deltas)),
        judges=judging,
        not_gated=config.not_gated,
    )


def _judging(results: Sequence[ItemResult], config: GateConfig) -> JudgesReport | None:
    """The judges' report; None, without importing it (it loads scipy), when no judge graded
    and no answer is labelled."""
    if not any(r.human_label is not None or any(g.judge for g in r.grades) for r in results):
        return None
    from .judges import judges_report

    return judges_report(
        results,
        config.baseline,
        config.candidates,
        confidence=config.confidence,
        min_agreement=config.judge_min_agreement,
        model_ids=config.model_ids,
    )


_QUALITY = ("regression", "not-non-inferior", INCONCLUSIVE)
_QUALITY_REASONS = ("quality dropped", "not shown non-inferior", "too few cases", "CI too wide")


def _on_human_labels(
    models: dict[str, ModelSummary], judging: JudgesReport, config: GateConfig
) -> dict[str, ModelSummary]:
    """`gate_on = "human"`: each candidate's quality verdict from its PPI-corrected interval."""
    from .judges import human_verdict, label_plan

    out = dict(models)
    for name, found in judging.candidates.items():
        summary = models.get(name)
        if summary is None:
            continue
        ppi = found.ppi
        verdict: str
        if ppi is None:
            verdict = INCONCLUSIVE
            why = f"gate_on = human: no corrected delta ({found.ppi_note or 'no labelled cases'})"
        else:
            verdict = human_verdict(ppi, config.gate, config.margin)
            low, high = ppi.judge_only_ci
            why = (
                f"gate_on = human: corrected delta {ppi.mean:+.3f}, {percent(ppi.confidence)} CI "
                f"[{ppi.ci_low:+.3f}, {ppi.ci_high:+.3f}] (PPI++, {ppi.n_labelled} of "
                f"{ppi.n_total} cases labelled; judge only: {ppi.judge_only_mean:+.3f} "
                f"[{low:+.3f}, {high:+.3f}])"
            )
            plan = label_plan(ppi, config.gate, config.margin)
            why += f"; {plan}" if plan else ""
            if summary.delta is not None:  # the row shows what decided, the judge's beside
                corrected = ppi.comparison(summary.delta, config.gate, config.margin, verdict)
                summary = replace(
                    summary,
                    delta=corrected,
                    judge_delta=summary.delta,
                    p_adjusted=None,
                    evidence=corrected.evidence,
                    cases_needed=None,
                )
        kept = [v for v in summary.verdicts if v not in (*_QUALITY, "pass")]
        verdicts = [v for v in ("error",) if v in kept]
        verdicts += [verdict] if verdict != "pass" else []
        verdicts += [v for v in kept if v != "error"]
        judge_reasons = tuple(
            f"judge only: {r}" if r.startswith(_QUALITY_REASONS) else r for r in summary.reasons
        )
        out[name] = replace(
            summary,
            verdict=(verdicts or ["pass"])[0],
            verdicts=tuple(verdicts or ["pass"]),
            reasons=(why, *judge_reasons),
        )
    return out


def _with_dimension_deltas(
    models: dict[str, ModelSummary],
    by_model: Mapping[str, Sequence[ItemResult]],
    baseline: Sequence[ItemResult],
    config: GateConfig,
) -> dict[str, ModelSummary]:
    """Each candidate's per-dimension deltas: two-sided at the run's confidence, no Holm."""
    if not baseline:
        return models
    out = dict(models)
    for name in config.candidates:
        if name in out:
            found = dimension_deltas(
                baseline, by_model[name], confidence=config.confidence, margin=config.margin,
                seed=config.seed, method=config.interval, resamples=config.resamples,
            )  # fmt: skip
            out[name] = replace(out[name], dimension_deltas=found)
    return out


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


def _notes(config: GateConfig, deltas: Mapping[str, Comparison]) -> Iterable[str]:
    if len(deltas) > 1:
        levels = "/".join(sorted({percent(d.confidence) for d in deltas.values()}, reverse=True))
        yield (
            f"{len(deltas)} candidates: Holm's step-down keeps the family-wise error at "
            f"{percent(1 - config.confidence)}; each CI is at the level its test used ({levels})"
        )
    if config.subset:
        yield "selection left cases out: the gate ran on a subset of the suites"
    if config.not_gated is not None:
        yield f"gate not evaluated: {config.not_gated}"


def _total(costs: Sequence[float | None]) -> float | None:
    """The sum, or None when any part is unknown."""
    return None if None in costs else float(sum(c for c in costs if c is not None))


def _mean_steps(answered: Sequence[ItemResult]) -> float | None:
    steps = [r.steps for r in answered if r.steps is not None]
    return sum(steps) / len(steps) if steps else None


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


def _step_outliers(answered: Sequence[ItemResult]) -> tuple[StepOutlier, ...]:
    """Agent runs above STEP_FACTOR × the model's median steps, longest first."""
    runs = [r for r in answered if r.steps is not None]
    if not runs:
        return ()
    median = float(np.median([r.steps for r in runs]))
    outliers = [
        StepOutlier(r.suite, r.case_id, r.repeat, r.steps, r.steps / median)
        for r in runs
        if r.steps is not None and r.steps > STEP_FACTOR * median
    ]
    return tuple(sorted(outliers, key=lambda o: -o.steps))


def _percentile(values: Sequence[float], q: float) -> float | None:
    """``numpy.percentile``'s linear method, to the bit, without its cost: numpy's sorts
    through ``numpy.unique``, whose first use imports ``numpy.ma`` (tens of ms a run)."""
    if not values:
        return None
    ordered = sorted(map(float, values))
    index = q / 100 * (len(ordered) - 1)
    below = math.floor(index)
    a, b = ordered[below], ordered[min(below + 1, len(ordered) - 1)]
    t = index - below
    return b - (b - a) * (1 - t) if t >= 0.5 else a + (b - a) * t


def _summarise(
    name: str, scored: Scored, delta: Comparison | None, config: GateConfig
) -> ModelSummary:
    results = scored.results
    given = scored.answers
    by_case = scored.cases
    scores = [score for case in by_case.values() for score in case]
    errors = sum(1 for r in results if r.error is not None)
    cost = _total([r.cost_usd for r in given])
    latencies = [r.latency_s for r in given if r.latency_s is not None]
    summary = ModelSummary(
        name=name,
        n=len(given),
        errors=errors,
        mean_score=float(np.mean(scores)) if scores else None,
        pass_rate=sum(r.passed for r in results) / len(results) if results else None,
        cost_usd=cost,
        cost_per_case_usd=cost / len(given) if cost is not None and given else None,
        input_tokens=sum(r.input_tokens for r in given),
        output_tokens=sum(r.output_tokens for r in given),
        cached_input_tokens=sum(r.cached_input_tokens for r in given),
        reasoning_tokens=sum(r.reasoning_tokens for r in given),
        token_outliers=_token_outliers(given),
        step_outliers=_step_outliers(given),
        steps_per_case=_mean_steps(given),
        judge_cost_usd=_total([r.judge_cost_usd for r in results]),
        dimensions=dimension_means(results),
        repeat_agreement=stats.repeat_agreement(list(by_case.values())),
        latency_p50_s=_percentile(latencies, 50),
        latency_p95_s=_percentile(latencies, 95),
        delta=delta,
        p_adjusted=delta.p_adjusted if delta is not None else None,
        evidence=delta.evidence if delta is not None else None,
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
        verdicts.append(Verdict.ERROR)
        reasons.append(
            f"{summary.errors} of {total} answers errored ({summary.errors / total:.0%} > "
            f"{ERROR_RATE_LIMIT:.0%})"
        )
    is_baseline = summary.name == config.baseline
    needed = None
    if not is_baseline:
        quality, quality_reasons, needed = _quality(summary.delta, config)
        verdicts += quality
        reasons += quality_reasons
    budget_reasons = _budget_reasons(summary, results, config.budgets.get(summary.name))
    if budget_reasons:
        verdicts.append(Verdict.BUDGET)
        reasons += budget_reasons
    default = Verdict.BASELINE if is_baseline else Verdict.PASS
    return (verdicts or [default]), reasons, needed


def _quality(
    delta: Comparison | None, config: GateConfig
) -> tuple[list[str], list[str], int | None]:
    """The quality verdict, its reasons, and the cases a decision would need when too few."""
    if delta is None:
        missing = "no case answered by both this model and the baseline"
        if config.subset:
            missing += (
                " on the same checks: no selected check scored a case on both sides (a Python "
                "test is scored only by its @grader calls)"
            )
        return [Verdict.ERROR], [missing], None
    ci = f"{percent(delta.confidence)} CI [{delta.ci_low:+.3f}, {delta.ci_high:+.3f}]"
    p = (
        f"Holm p {p_value(delta.p_adjusted)}"
        if delta.p_adjusted is not None and len(config.candidates) > 1
        else f"p {p_value(delta.p_value)}"
    )  # as the table prints it
    reasons: dict[str, str] = {
        Verdict.REGRESSION: f"quality dropped: delta {delta.mean:+.3f}, {ci} below 0 ({p})",
        Verdict.NOT_NON_INFERIOR: (
            f"not shown non-inferior: delta {delta.mean:+.3f}, {ci} does not clear "
            f"-margin {-config.margin:+.3f} ({p})"
        ),
        INCONCLUSIVE: (
            f"too few cases for a verdict on quality: {delta.n_pairs} pairs, at least "
            f"{stats.min_pairs(delta.confidence)} needed"
        ),
    }
    verdicts = [delta.verdict] if delta.verdict in reasons else []
    why = [reasons[delta.verdict]] if verdicts else []
    margin = config.margin or DEFAULT_POWER_MARGIN
    if delta.verdict == Verdict.REGRESSION or delta.ci_low > -margin:
        return verdicts, why, None  # settled: a drop shown, or a drop of `margin` ruled out
    needed = cases_needed(delta, margin)
    if delta.n_pairs < needed:
        drop = "rule out" if config.gate == "non-inferiority" else "detect"
        why.append(
            f"CI too wide to {drop} a drop of {margin:.2f} with {delta.n_pairs} cases; "
            f"about {needed} cases needed"
        )
    return verdicts, why, needed


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
                f"max_tokens_per_case: {plural(len(over), 'answer')} over "
                f"{budgets.max_tokens_per_case} tokens (largest {worst})"
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
    scored: Mapping[str, Scored], config: GateConfig
) -> dict[str, dict[str, TagSummary]]:
    """Per tag and model: figures over the tagged given, and the delta at the run's level.

    A tag's delta is two-sided at `confidence` with `p_noninferior` at the run's margin;
    the routing table corrects those across tags and candidates (routing.py).
    """
    tags: dict[str, dict[str, TagSummary]] = {}
    grouped = {name: _by_tag(side.results) for name, side in scored.items()}

    def tagged_side(name: str, tag: str) -> Scored:
        tagged, whole = grouped[name].get(tag, []), scored[name]
        return whole if len(tagged) == len(whole.results) else Scored(tagged)  # a suite's tag

    baseline = config.baseline if config.baseline in scored else None
    for tag in sorted({t for groups in grouped.values() for t in groups}):
        base_tagged = tagged_side(baseline, tag) if baseline is not None else Scored([])
        row = {}
        for name in scored:
            is_baseline = name == config.baseline
            tagged = base_tagged if is_baseline else tagged_side(name, tag)
            given = tagged.answers
            pairs = None if is_baseline else paired_scored(base_tagged, tagged)
            scores = [s for case in tagged.cases.values() for s in case]
            latencies = [r.latency_s for r in given if r.latency_s is not None]
            row[name] = TagSummary(
                n=len(given),
                mean_score=float(np.mean(scores)) if scores else None,
                delta=_tag_delta(pairs, config) if pairs else None,
                cost_per_case_usd=_cost_per_case(given),
                input_tokens=sum(r.input_tokens for r in given),
                output_tokens=sum(r.output_tokens for r in given),
                latency_p50_s=_percentile(latencies, 50),
                latency_p95_s=_percentile(latencies, 95),
            )
        tags[tag] = row
    return tags


def _by_tag(results: Sequence[ItemResult]) -> dict[str, list[ItemResult]]:
    """Each tag's results, in order: one pass over the run, not one per tag."""
    grouped: dict[str, list[ItemResult]] = {}
    for result in results:
        for tag in dict.fromkeys(result.tags):
            grouped.setdefault(tag, []).append(result)
    return grouped


def _tag_delta(pairs: tuple[CaseScoreLists, CaseScoreLists], config: GateConfig) -> Comparison:
    """A tag's delta: two-sided at the run's confidence, `p_noninferior` at its margin."""
    return compare(
        *pairs, margin=config.margin, confidence=config.confidence, seed=config.seed,
        method=config.interval, resamples=config.resamples,
    )  # fmt: skip


def _cost_per_case(answered: Sequence[ItemResult]) -> float | None:
    """Mean cost of the answered items; None when there are none or a cost is unknown."""
    costs = [r.cost_usd for r in answered]
    if not costs or any(c is None for c in costs):
        return None
    return float(sum(costs)) / len(costs)  # type: ignore[arg-type]
