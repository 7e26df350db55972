"""Two result files judged with the gate's own ``compare()``: the verdict and its cases."""

from __future__ import annotations

from dataclasses import dataclass

from ..core.errors import ScoreFileError
from ..core.vocabulary import FAILING, Gate, GateRule, Verdict
from ..inference.compare import Comparison, Method, compare
from .pairing import Pairing, mismatches, pair_tables
from .table import ScoreTable


@dataclass(frozen=True)
class Rule:
    """The gate's options, as ``--modelguard-gate`` and friends take them."""

    gate: Gate = "regression"
    margin: float = 0.0
    confidence: float = 0.95
    seed: int = 0
    method: Method = "auto"


@dataclass(frozen=True)
class CaseDelta:
    case: str
    label: str
    base: float
    candidate: float

    @property
    def delta(self) -> float:
        return self.candidate - self.base


@dataclass(frozen=True)
class FileComparison:
    """The comparison of the paired cases, with the tables and pairing behind it."""

    base: ScoreTable
    candidate: ScoreTable
    pairing: Pairing
    comparison: Comparison
    notes: tuple[str, ...]

    @property
    def failed(self) -> bool:
        """The gate fails: a regression, not shown non-inferior, or (non-inferiority)
        too few cases to show it."""
        verdict = Verdict(self.comparison.verdict)
        inconclusive_ni = (
            verdict is Verdict.INCONCLUSIVE and self.comparison.gate == GateRule.NON_INFERIORITY
        )
        return verdict in FAILING or inconclusive_ni

    def deltas(self) -> list[CaseDelta]:
        """Each paired case's mean scores, the largest drop first (ties by id)."""
        rows = [
            CaseDelta(case, self.base.label(case), _mean(b), _mean(c))
            for case, b, c in zip(
                self.pairing.cases, self.pairing.base, self.pairing.candidate, strict=True
            )
        ]
        return sorted(rows, key=lambda r: (r.delta, r.case))


def judge_files(
    base: ScoreTable, candidate: ScoreTable, rule: Rule, *, allow_mismatch: bool = False
) -> FileComparison:
    """``compare()`` on the cases both files scored; ScoreFileError when none pair, or when
    the scorers differ and ``allow_mismatch`` is not set."""
    found = mismatches(base, candidate)
    if found and not allow_mismatch:
        raise ScoreFileError(
            "; ".join(found)
            + ": a paired comparison needs the same measure on both sides (pick one with "
            "--scorer, or name each with --base-scorer and --candidate-scorer to compare "
            "them anyway)"
        )
    pairing = pair_tables(base, candidate)
    if not pairing.n:
        raise ScoreFileError(
            f"no case id is in both files ({_first(tuple(base.scores))} in {base.path}; "
            f"{_first(tuple(candidate.scores))} in {candidate.path}): nothing to pair"
        )
    comparison = compare(
        [list(s) for s in pairing.base],
        [list(s) for s in pairing.candidate],
        gate=rule.gate,
        margin=rule.margin,
        confidence=rule.confidence,
        seed=rule.seed,
        method=rule.method,
    )
    return FileComparison(base, candidate, pairing, comparison, tuple(found))


def _mean(scores: tuple[float, ...]) -> float:
    return sum(scores) / len(scores)


def _first(cases: tuple[str, ...]) -> str:
    shown = ", ".join(repr(c) for c in cases[:3])
    return shown + (", …" if len(cases) > 3 else "") if cases else "no scored case"
