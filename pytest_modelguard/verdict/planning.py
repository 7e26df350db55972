"""Planning before a candidate answers: cases needed, from the baseline's recorded scores."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import HistoryError
from ..inference.compare import cases_needed, planning_deltas
from .gate import DEFAULT_POWER_MARGIN


@dataclass(frozen=True, slots=True)
class Plan:
    """One candidate's plan: its cases, the baseline's scored ones, the cases needed."""

    model: str
    cases: int  # the candidate's cases in this run
    scored: int  # of them, cases whose baseline answers are recorded and could be graded
    baseline_mean: float | None  # the baseline's mean score on those
    margin: float  # the drop planned for: `margin`, or 0.05 under the regression gate
    needed: int | None  # None: no scored case to plan from


def plan(
    model: str, cases: int, baseline_scores: Sequence[float], margin: float, confidence: float
) -> Plan:
    """`cases_needed` (80% power) as if `model` answered like an independent copy of the
    baseline (`planning_deltas`); margin 0 (regression gate) plans for a drop of 0.05."""
    margin = margin or DEFAULT_POWER_MARGIN
    if not baseline_scores:
        return Plan(model, cases, 0, None, margin, None)
    deltas = planning_deltas(baseline_scores)
    needed = cases_needed(deltas, margin, confidence=confidence)
    mean = sum(baseline_scores) / len(baseline_scores)
    return Plan(model, cases, len(baseline_scores), mean, margin, needed)


def label_plans(
    cache_dir: Path,
    baseline: str,
    candidates: Sequence[str],
    *,
    gate: str,
    margin: float,
    confidence: float,
) -> list[str]:
    """`gate_on = "human"`: per candidate, the labels to add, planned from the newest stored
    run (``--modelguard-save``) with its labels and judge scores; [] without one."""
    from .history import load_run, shown_path, stored_paths
    from .judges import judges_report, label_plan

    stored = stored_paths(cache_dir)
    if not stored:
        return []
    try:
        run = load_run(stored[-1])
    except HistoryError as exc:  # the real run will say what is wrong with it
        return [f"no label plan: {exc}"]
    found = judges_report(run.results, baseline, candidates, confidence=confidence)
    where = shown_path(stored[-1])
    lines = []
    for name in candidates:
        judging = found.candidates.get(name) if found is not None else None
        if judging is None:
            continue
        ppi = judging.ppi
        if ppi is None:
            lines.append(
                f"{name}: no corrected delta in {where} ({judging.ppi_note or 'no labels'})"
            )
            continue
        plan = label_plan(ppi, gate, margin)
        lines.append(f"{name}: {plan or 'the corrected interval decided'} (from {where})")
    return lines
