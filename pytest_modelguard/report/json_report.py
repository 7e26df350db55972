"""The ``--modelguard-json`` document of SPEC §9."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from ..config import Settings
from ..records.results import ItemResult
from ..verdict import dimensions
from ..verdict.gate import GateReport, ModelSummary, TagSummary
from ..verdict.reliability import pass_k_by_model
from ..verdict.run_schema import VERSION
from .shown import shown_case, thumbnails


def build_json(
    report: GateReport,
    results: Sequence[ItemResult],
    settings: Settings,
    partial: str | None = None,
) -> dict[str, Any]:
    """The JSON-able report: settings used, per model, per tag, per case.

    ``partial``: why the run left cases or checks out (no drift reference then).
    """
    specs = {m.name: m for m in settings.models}
    by_batch = Counter(r.model for r in results if r.batch)
    reliability = pass_k_by_model(results)  # pass^k, pass@k: only where cases repeat
    cases = [shown_case(r.to_dict()) for r in results]  # huge texts capped
    shown = thumbnails(cases)  # images the HTML report shows, by digest
    return {
        "version": VERSION,
        "baseline": settings.baseline.name if settings.baseline else None,
        "confidence": settings.confidence,
        "resamples": settings.resamples,
        "seed": settings.seed,
        "gate": settings.gate,
        "margin": settings.margin,
        "verdict": report.verdict,
        "not_gated": report.not_gated,
        "partial": partial,
        "notes": list(report.notes),
        "models": {
            name: {
                **_model(summary, specs.get(name)),
                "pass_k": k.to_dict() if (k := reliability.get(name)) else None,
                "batch_answers": by_batch[name],
            }
            for name, summary in report.models.items()
        },
        "tags": {
            tag: {name: _tag(summary) for name, summary in row.items()}
            for tag, row in report.tags.items()
        },
        "drift": report.drift.to_dict() if report.drift is not None else None,
        "judges": report.judges.to_dict() if report.judges is not None else None,
        "gate_on": settings.gate_on,
        "judge_min_agreement": settings.judge_min_agreement,
        **({"thumbnails": shown} if shown else {}),
        "cases": cases,
    }


def _model(summary: ModelSummary, spec: Any) -> dict[str, Any]:
    return {
        "provider": spec.provider.name if spec else None,
        "model": spec.model if spec else None,
        "n": summary.n,
        "errors": summary.errors,
        "mean_score": summary.mean_score,
        "pass_rate": summary.pass_rate,
        "cost_usd": summary.cost_usd,
        "cost_per_case_usd": summary.cost_per_case_usd,
        "cost_vs_baseline": summary.cost_vs_baseline,
        "judge_cost_usd": summary.judge_cost_usd,
        "dimensions": dict(summary.dimensions),
        "dimension_deltas": {
            k: dimensions.as_dict(d, sequential=summary.sequential is not None)
            for k, d in summary.dimension_deltas.items()
        },
        "input_tokens": summary.input_tokens,
        "output_tokens": summary.output_tokens,
        "cached_input_tokens": summary.cached_input_tokens,
        "reasoning_tokens": summary.reasoning_tokens,
        "token_outliers": [asdict(o) for o in summary.token_outliers],
        **_agent(summary),
        "repeat_agreement": summary.repeat_agreement,
        "latency_p50_s": summary.latency_p50_s,
        "latency_p95_s": summary.latency_p95_s,
        "delta": _delta(summary.delta, summary.p_adjusted),
        "cases_needed": summary.cases_needed,
        "verdict": summary.verdict,
        "verdicts": list(summary.verdicts),
        "reasons": list(summary.reasons),
        **(summary.sequential or {}),  # --modelguard-sequential: asked, settled, saved
        **_judge_only(summary),
    }


def _agent(summary: ModelSummary) -> dict[str, Any]:
    """Agent cases' steps per answer and step spirals (absent when no case is an agent)."""
    if summary.steps_per_case is None:
        return {}
    return {
        "steps_per_case": summary.steps_per_case,
        "step_outliers": [asdict(o) for o in summary.step_outliers],
    }


def _judge_only(summary: ModelSummary) -> dict[str, Any]:
    """gate_on = "human": the judge-only delta beside the corrected one in ``delta``."""
    judge = summary.judge_delta
    if judge is None:
        return {}
    return {
        "judge_delta": judge.mean,
        "judge_ci_low": judge.ci_low,
        "judge_ci_high": judge.ci_high,
    }


def _delta(delta: Any, p_adjusted: float | None = None) -> dict[str, Any] | None:
    if delta is None:
        return None
    data: dict[str, Any] = delta.to_dict()
    if p_adjusted is not None:
        data["p_adjusted"] = p_adjusted
    return data


def _tag(summary: TagSummary) -> dict[str, Any]:
    return {
        "n": summary.n,
        "mean_score": summary.mean_score,
        "cost_per_case_usd": summary.cost_per_case_usd,
        "input_tokens": summary.input_tokens,
        "output_tokens": summary.output_tokens,
        "latency_p50_s": summary.latency_p50_s,
        "latency_p95_s": summary.latency_p95_s,
        "delta": _delta(summary.delta),
    }
