"""A sequential run's gate: each candidate's verdict from its confidence sequence. Pure.

`gate.evaluate` summarises what was asked (scores, cost, budgets) and runs `compare`
on it; in a sequential run the quality verdict and interval come instead from the
candidate's last `Look` (`verdict/sequential.py`): a fixed-n test on cases chosen by
when the sequence stopped would claim more than the data allow.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..core.formatting import percent
from ..core.vocabulary import Verdict
from ..inference.compare import Comparison
from ..inference.sequential import Look, end_verdict
from ..records.results import ItemResult
from .gate import ERROR_RATE_LIMIT, GateConfig, GateReport, ModelSummary, _budget_reasons, fails

QUALITY_FAILS = ("regression", "not-non-inferior")


@dataclass(frozen=True, slots=True)
class SequentialOutcome:
    """What a sequential run did for one model: cases asked, when it settled, what it saved.

    `look` is the candidate's last Look (None for the baseline); `settled_after` the
    cases seen when the sequence settled the verdict (None: the suite ran out first);
    `calls_saved` the requests never asked and `usd_saved` their worst-case price
    (None: a model without a price); `repeats_saved` the repeats of asked cases that
    adaptive repeats did not ask.
    """

    model: str
    look: Look | None
    n_asked: int
    n_total: int
    settled_after: int | None
    calls_saved: int
    usd_saved: float | None
    batch: int
    repeats_saved: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The JSON report's per-model sequential fields."""
        return {
            "sequential": True,
            "n_asked": self.n_asked,
            "n_total": self.n_total,
            "settled_after": self.settled_after,
            "calls_saved": self.calls_saved,
            "repeats_saved": self.repeats_saved,
            "usd_saved": self.usd_saved,
            "batch": self.batch,
            "method": self.look.method if self.look is not None else None,
            "look": self.look.to_dict() if self.look is not None else None,
        }

    def saved_text(self) -> str:
        """ "asked 140 of 600 cases; 460 calls saved (up to $0.0123); 180 repeats saved"."""
        money = "" if self.usd_saved is None else f" (up to ${self.usd_saved:.4f})"
        calls = "call" if self.calls_saved == 1 else "calls"
        repeats = ""
        if self.repeats_saved:
            plural = "repeat" if self.repeats_saved == 1 else "repeats"
            repeats = f"; {self.repeats_saved} {plural} saved (adaptive repeats)"
        return (
            f"sequential: asked {self.n_asked} of {self.n_total} cases; "
            f"{self.calls_saved} {calls} saved{money}{repeats}"
        )


def apply_sequential(
    report: GateReport,
    outcomes: Mapping[str, SequentialOutcome],
    results: Sequence[ItemResult],
    config: GateConfig,
) -> GateReport:
    """The report with each candidate's quality verdict and interval from its sequence."""
    models = dict(report.models)
    for name, outcome in outcomes.items():
        summary = models.get(name) or _bare(name, config)  # a sequence without results
        mine = [r for r in results if r.model == name]
        models[name] = _summary(summary, outcome, mine, config)
    failing = config.gating and (
        any(fails(s.verdict, config.gate) for s in models.values())
        or (report.judges is not None and bool(report.judges.failures))
    )
    verdict = "not-gated" if not config.gating else "fail" if failing else "pass"
    notes = [n for n in report.notes if "Holm's step-down" not in n]
    notes.insert(0, _note(outcomes, config))
    return replace(report, models=models, verdict=verdict, notes=tuple(notes))


def _bare(name: str, config: GateConfig) -> ModelSummary:
    """A row for a model the saved sequence settled but no result of which is at hand
    (a state saved before it kept results): its verdict comes from the sequence alone."""
    return ModelSummary(
        name=name, n=0, errors=0, mean_score=None, pass_rate=None, cost_usd=None,
        cost_per_case_usd=None, input_tokens=0, output_tokens=0, cached_input_tokens=0,
        reasoning_tokens=0, latency_p50_s=None, latency_p95_s=None, delta=None,
        p_adjusted=None, verdict="baseline" if name == config.baseline else "pass", reasons=(),
    )  # fmt: skip


def _note(outcomes: Mapping[str, SequentialOutcome], config: GateConfig) -> str:
    candidates = sum(1 for o in outcomes.values() if o.look is not None)
    batch = next(iter(outcomes.values())).batch if outcomes else 0
    split = f" over {candidates} candidates" if candidates > 1 else ""
    return (
        f"sequential: cases asked in a seeded order, {batch} at a time; verdicts from "
        f"confidence sequences valid at every look, {percent(config.confidence)} "
        f"family-wise{split}"
    )


def _summary(
    summary: ModelSummary,
    outcome: SequentialOutcome,
    results: Sequence[ItemResult],
    config: GateConfig,
) -> ModelSummary:
    look = outcome.look
    if look is None:  # the baseline: what it was asked
        return replace(
            summary,
            sequential=outcome.to_dict(),
            reasons=(*summary.reasons, outcome.saved_text()),
        )
    verdicts: list[str] = []
    reasons: list[str] = []
    total = len(results)
    if total and summary.errors / total > ERROR_RATE_LIMIT:
        verdicts.append("error")
        reasons.append(
            f"{summary.errors} of {total} answers errored ({summary.errors / total:.0%} > "
            f"{ERROR_RATE_LIMIT:.0%})"
        )
    quality = look.verdict or end_verdict(look.gate)  # open: nothing more will be asked
    if quality in QUALITY_FAILS:
        verdicts.append(quality)
        what = "quality dropped" if quality == Verdict.REGRESSION else "not shown non-inferior"
        reasons.append(f"{what}: {look.reason}")
    else:
        reasons.append(look.reason)
    budget = _budget_reasons(summary, results, config.budgets.get(summary.name))
    if budget:
        verdicts.append("budget")
        reasons += budget
    interval = f"{percent(look.confidence)} sequence [{look.ci_low:+.3f}, {look.ci_high:+.3f}]"
    reasons.append(f"{outcome.saved_text()}; {interval}")
    verdicts = verdicts or ["pass"]
    return replace(
        summary,
        delta=_delta(summary.delta, look, quality),
        p_adjusted=None,
        evidence=_evidence(look),
        verdict=verdicts[0],
        verdicts=tuple(verdicts),
        reasons=tuple(reasons),
        cases_needed=None,
        sequential=outcome.to_dict(),
    )


def _delta(delta: Comparison | None, look: Look, verdict: str) -> Comparison | None:
    """`compare`'s figures on what was asked, with the sequence's interval and verdict."""
    if delta is None:
        return None
    return replace(
        delta,
        verdict=verdict,
        evidence=_evidence(look),
        mean=look.mean,
        ci_low=look.ci_low,
        ci_high=look.ci_high,
        p_adjusted=None,
        method=look.method,
        confidence=look.confidence,
        too_few=False,
        mc_error=None,
    )


def _evidence(look: Look) -> str:
    low, high, margin = look.ci_low, look.ci_high, look.margin
    if low > 0:
        return "superior"
    if high < 0:
        return "inferior"
    if margin > 0 and -margin < low and high < margin:
        return "equivalent"
    if margin > 0 and low > -margin:
        return "non-inferior"
    return "inconclusive"
