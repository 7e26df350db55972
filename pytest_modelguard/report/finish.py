"""Finishing a run: gate its results, add drift, build the JSON document, write it, save it.

The session calls ``finish_run`` once, at the end of a run with results; numpy and the
renderers are imported only then.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..config import Settings
from ..records.results import ItemResult
from .outputs import Outputs, unwritten, write_outputs

if TYPE_CHECKING:
    from pathlib import Path

    from ..verdict.gate import GateConfig, GateReport
    from ..verdict.history import StoredRun
    from ..verdict.sequential_gate import SequentialOutcome as SequentialOutcome

DEGRADED_UNSAVED = (
    "a model degraded, so the stored run stays the reference (to accept the "
    "change, save a run without --modelguard-compare)"
)


@dataclass(frozen=True, slots=True)
class Finished:
    """What finishing a run decided and kept."""

    report: GateReport
    saved: Path | None = None  # --modelguard-save: where the run's report was kept
    unsaved: str | None = None  # --modelguard-save: why the run was not kept
    problems: tuple[str, ...] = ()  # reports that could not be written, each path and why


def gate_config(settings: Settings, *, subset: bool, not_gated: str | None) -> GateConfig:
    """The gate's configuration from the run's settings.

    ``not_gated``: why the gate cannot be applied to this run (figures are still reported).
    """
    from ..verdict.gate import GateConfig

    return GateConfig(
        baseline=settings.baseline.name if settings.baseline else None,
        candidates=tuple(m.name for m in settings.candidates),
        confidence=settings.confidence,
        interval=settings.interval,
        resamples=settings.resamples,
        seed=settings.seed,
        gate=settings.gate,
        margin=settings.margin,
        budgets={m.name: m.budgets for m in settings.models},
        subset=subset,
        not_gated=not_gated,
        judge_min_agreement=settings.judge_min_agreement,
        gate_on=settings.gate_on,
        model_ids={m.name: f"{m.provider.name}:{m.model}" for m in settings.models},
    )


def finish_run(
    results: Sequence[ItemResult],
    settings: Settings,
    outputs: Outputs,
    *,
    subset: bool,
    not_gated: str | None,
    compare: StoredRun | None = None,
    sequential: Mapping[str, SequentialOutcome] | None = None,
    partial: str | None = None,
) -> Finished:
    """Judge ``results`` (sorted), with drift against ``compare``; write and save the reports.

    ``sequential``: a ``--modelguard-sequential`` run's outcomes, which decide its candidates.
    ``partial``: why the run left cases or checks out; saved, it is no drift reference.
    """
    from ..verdict.gate import evaluate, with_drift  # numpy: only with something to judge
    from ..verdict.history import runs_dir, save_run
    from .json_report import build_json

    config = gate_config(settings, subset=subset, not_gated=not_gated)
    report = evaluate(results, config)
    if sequential is not None:
        from ..verdict.sequential_gate import apply_sequential

        report = apply_sequential(report, sequential, results, config)
    if compare is not None:
        from ..verdict.drift_state import drift_report

        report = with_drift(report, drift_report(results, compare, settings))
    if not outputs.any:
        return Finished(report)
    doc = build_json(report, results, settings, partial)
    problems = write_outputs(doc, outputs).problems
    if outputs.runs is None:
        return Finished(report, problems=problems)
    if report.drift is not None and report.drift.degraded:
        return Finished(report, unsaved=DEGRADED_UNSAVED, problems=problems)
    try:
        saved = save_run(doc, outputs.runs)
    except (OSError, UnicodeError) as exc:
        why = unwritten("the run", runs_dir(outputs.runs), exc)
        return Finished(report, unsaved=why, problems=problems)
    if compare is None and partial is None:  # saved without a comparison: the new reference
        from ..verdict.drift_state import clear_state

        try:
            clear_state(outputs.runs)
        except OSError as exc:
            problems += (f"the drift state under {runs_dir(outputs.runs)} not reset: {exc}",)
    return Finished(report, saved=saved, problems=problems)
