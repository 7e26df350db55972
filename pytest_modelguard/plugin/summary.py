"""The terminal summary's modelguard section: lines built in report/terminal.py, printed here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..core.formatting import plural
from ..core.vocabulary import Verdict

if TYPE_CHECKING:
    from .session import ModelguardSession


def write(terminalreporter: Any, mg: ModelguardSession, verbosity: int) -> None:
    """The modelguard section: notes, the verdict table or lines, drift, where the run went."""
    for note in mg.notes:
        terminalreporter.write_line(f"modelguard: {note}", red=True, bold=True)
    if mg.counterparts:
        terminalreporter.write_line(f"modelguard: {counterparts_line(mg.counterparts)}")
    report = mg.report
    if report is None:
        return
    from ..core.formatting import percent
    from ..report.terminal import (
        WIDTH,
        drift_lines,
        reason_lines,
        summary_rows,
        verdict_line,
        verdict_lines,
        worst_case_lines,
    )
    from ..verdict.gate import fails
    from ..verdict.history import shown_path

    settings = mg.settings
    methods = sorted({s.delta.method for s in report.models.values() if s.delta is not None})
    title = (
        f"baseline {settings.baseline.name if settings.baseline else '—'} · "
        f"{percent(settings.confidence)} confidence"
        + (f" · {', '.join(methods)} interval" if methods else "")
        + f" · gate {settings.gate}"
        + (f" (margin {settings.margin:g})" if settings.gate == "non-inferiority" else "")
    )
    terminalreporter.section("modelguard")
    width = max(WIDTH, getattr(getattr(terminalreporter, "_tw", None), "fullwidth", WIDTH) - 1)
    if verbosity < 0:
        for line in verdict_lines(report) + _reliability(mg, list(report.models)):
            terminalreporter.write_line(line)
    else:
        terminalreporter.write_line(title)
        terminalreporter.write_line("")
        for model, line in summary_rows(report, width):
            verdict = model.verdict if model is not None else None
            terminalreporter.write_line(
                line,
                red=verdict is not None and fails(verdict, settings.gate),
                yellow=verdict == Verdict.INCONCLUSIVE and not fails(verdict, settings.gate),
                green=verdict == Verdict.PASS,
                bold=model is None,
            )
        reasons = reason_lines(report, width) + _reliability(mg, list(report.models))
        if reasons:
            terminalreporter.write_line("")
        for line in reasons:
            terminalreporter.write_line(line)
        baseline = settings.baseline.name if settings.baseline else None
        failing = [s.name for s in report.models.values() if fails(s.verdict, settings.gate)]
        worst = [
            line
            for name in failing
            if baseline is not None and name != baseline
            for line in worst_case_lines(mg.results, baseline, name)
        ]
        if worst:
            terminalreporter.write_line("")
        for line in worst:
            terminalreporter.write_line(line)
    _judges(terminalreporter, report)
    if report.drift is not None:
        terminalreporter.write_line("")
        for line in drift_lines(report.drift):
            terminalreporter.write_line(line, red=" degraded " in f"{line} ")
        terminalreporter.write_line("")
    batched = sum(r.batch for r in mg.results)
    if batched:
        submitted = mg.answers.batches_submitted
        terminalreporter.write_line(
            f"modelguard: {batched} of {len(mg.results)} results answered through provider "
            f"batches, priced at the batch rate ({submitted} batches submitted by this run)"
        )
    if mg.saved is not None:
        terminalreporter.write_line("")
        terminalreporter.write_line(
            f"run saved to {shown_path(mg.saved)} (compare with --modelguard-compare last)"
        )
        partial = mg.partial()
        if partial and mg.compare is None and mg.settings.drift == "accumulate":
            terminalreporter.write_line(
                f"not accepted as the drift reference: a partial run ({partial})", yellow=True
            )
    if mg.unsaved is not None:
        terminalreporter.write_line("")
        terminalreporter.write_line(f"run not saved: {mg.unsaved}", yellow=True)
    for problem in mg.unwritten:
        terminalreporter.write_line(f"modelguard warning: {problem}", yellow=True, bold=True)
    terminalreporter.write_line(
        verdict_line(report), red=report.failed, green=not report.failed, bold=True
    )


def _reliability(mg: ModelguardSession, models: list[str]) -> list[str]:
    """pass^k and pass@k per model, when some case ran more than once (#27)."""
    from ..verdict.reliability import DEFINITION, describe, pass_k_by_model

    found = pass_k_by_model(mg.results)
    lines = [f"{name}: {describe(found[name].to_dict())}" for name in models if name in found]
    return [*lines, f"  ({DEFINITION})"] if lines else []


def _judges(terminalreporter: Any, report: Any) -> None:
    """The judges' lines (#19): agreement with the labels, biases, corrected deltas."""
    from ..report.terminal import judge_lines

    lines = judge_lines(report)
    if lines:
        terminalreporter.write_line("")
    for line in lines:
        failed = line.lstrip().startswith(("FAILED:", "warning:"))
        terminalreporter.write_line(line, red=failed, yellow=False)


def counterparts_line(count: int) -> str:
    """What selection left out and modelguard ran anyway, so the counts add up."""
    return (
        f"also ran {plural(count, 'baseline counterpart')} of selected tests to pair them "
        "(counted as selected, not deselected)"
    )
