"""How far to trust a judge: agreement with human labels, and its own calls' diagnostics.

Pure (numpy, scipy). Per judge grader, from (judge score, human label) pairs in [0, 1]:
accuracy and Cohen's kappa of pass/fail at the grader's threshold, Spearman's rho and
the mean absolute error of the scores, and the judge's true and false positive rates
against the humans' pass/fail. From the judge's own calls: position bias (share of
pairwise verdicts whose outcome changes with the order), self-consistency across
repeats, and the Spearman correlation of its score with the answer's length.

`Agreement.figure` is the number `judge_min_agreement` compares against: Cohen's kappa
for a pass/fail judge (kind "binary": a rubric with scale 2), Spearman's rho for a
scale (kind "scale": a longer rubric, or pairwise win/tie/loss). Both are 0 for a
judge no better than chance and 1 for perfect agreement; accuracy is not used, since
a judge that passes everything scores the pass rate. None when undefined (one side
constant): agreement cannot be shown, and `agreement_failure` fails it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Literal, TypeAlias

import numpy as np
from scipy import stats as scipy_stats

from .bootstrap import FloatArray

__all__ = [
    "Agreement",
    "Consistency",
    "Kind",
    "PositionBias",
    "agreement",
    "agreement_failure",
    "cohen_kappa",
    "kind_of",
    "length_correlation",
    "position_bias",
    "self_consistency",
    "spearman",
]

Kind = Literal["binary", "scale"]
Numbers: TypeAlias = "Sequence[float] | FloatArray"


def kind_of(scale: int | None) -> Kind:
    """ "binary" for a rubric on a 2-point scale, "scale" otherwise (None: pairwise)."""
    return "binary" if scale == 2 else "scale"


@dataclass(frozen=True, slots=True)
class Agreement:
    """A judge's agreement with human labels on the labelled answers.

    Pass/fail is score >= `threshold` on both sides. `tpr` is the share of human
    passes the judge passes, `fpr` the share of human fails it passes (None without
    any). `figure` is kappa ("binary") or Spearman's rho ("scale").
    """

    kind: Kind
    n: int
    threshold: float
    accuracy: float
    kappa: float | None
    spearman: float | None
    mae: float
    tpr: float | None
    fpr: float | None

    @property
    def figure(self) -> float | None:
        """The number `judge_min_agreement` compares against (see the module doc)."""
        return self.kappa if self.kind == "binary" else self.spearman

    @property
    def figure_name(self) -> str:
        return "Cohen's kappa" if self.kind == "binary" else "Spearman's rho"

    def to_dict(self) -> dict[str, object]:
        """Every field and the figure, JSON-safe."""
        return {**asdict(self), "figure": self.figure, "figure_name": self.figure_name}


def agreement(judge: Numbers, human: Numbers, *, kind: Kind, threshold: float) -> Agreement:
    """Agreement of judge scores with human labels, answer by answer (ValueError if unusable)."""
    j, h = _pairs(judge, human)
    if kind not in ("binary", "scale"):
        raise ValueError(f"kind must be 'binary' or 'scale', got {kind!r}")
    if not 0 <= threshold <= 1:
        raise ValueError(f"threshold must be in [0, 1], got {threshold!r}")
    judge_pass, human_pass = j >= threshold, h >= threshold
    return Agreement(
        kind=kind,
        n=j.size,
        threshold=threshold,
        accuracy=float(np.mean(judge_pass == human_pass)),
        kappa=cohen_kappa(judge_pass, human_pass),
        spearman=spearman(j, h),
        mae=float(np.mean(np.abs(j - h))),
        tpr=_share(judge_pass[human_pass]),
        fpr=_share(judge_pass[~human_pass]),
    )


def agreement_failure(judge_name: str, found: Agreement, minimum: float) -> str | None:
    """Why a run fails `judge_min_agreement = minimum`, or None when the judge meets it."""
    figure = found.figure
    if figure is not None and figure >= minimum:
        return None
    shown = (
        "undefined (the judge or the labels are all one value)"
        if figure is None
        else (f"{figure:.3f}")
    )
    return (
        f"judge {judge_name}: {found.figure_name} with the human labels is {shown} on "
        f"{found.n} labelled answers, below judge_min_agreement = {minimum}"
    )


def cohen_kappa(a: Sequence[object] | np.ndarray, b: Sequence[object] | np.ndarray) -> float | None:
    """Cohen's kappa of two raters' categories: (p_o - p_e) / (1 - p_e); None if p_e is 1."""
    first, second = np.asarray(a), np.asarray(b)
    if first.shape != second.shape or first.ndim != 1 or first.size == 0:
        raise ValueError("kappa needs two equally long, non-empty sequences of categories")
    observed = float(np.mean(first == second))
    categories = np.union1d(first, second)
    expected = sum(float(np.mean(first == c)) * float(np.mean(second == c)) for c in categories)
    return None if expected >= 1 else (observed - expected) / (1 - expected)


def spearman(x: Numbers, y: Numbers) -> float | None:
    """Spearman's rho (Pearson's r of the mid-ranks); None when either side is constant."""
    rx, ry = scipy_stats.rankdata(x), scipy_stats.rankdata(y)
    if rx.size < 2 or np.ptp(rx) == 0 or np.ptp(ry) == 0:
        return None
    return float(np.corrcoef(rx, ry)[0, 1])


@dataclass(frozen=True, slots=True)
class PositionBias:
    """Pairwise verdicts asked in both orders: how many change with the order.

    `changed` counts answers whose outcome (win, tie, loss for the candidate) differs
    between the orders: `first_favoured` those where the candidate did better shown
    first (the first position helped), `second_favoured` the reverse.
    """

    n: int
    changed: int
    first_favoured: int
    second_favoured: int

    @property
    def share(self) -> float | None:
        """Share of verdicts that change with the order (None without any)."""
        return self.changed / self.n if self.n else None

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "share": self.share}


def position_bias(candidate_first: Numbers, baseline_first: Numbers) -> PositionBias:
    """From the candidate's outcomes (1 win, 0.5 tie, 0 loss) when shown first and second."""
    ab, ba = _pairs(candidate_first, baseline_first)
    return PositionBias(
        n=ab.size,
        changed=int(np.count_nonzero(ab != ba)),
        first_favoured=int(np.count_nonzero(ab > ba)),
        second_favoured=int(np.count_nonzero(ab < ba)),
    )


@dataclass(frozen=True, slots=True)
class Consistency:
    """The judge asked k times about the same answer.

    `identical` is the share of answers whose draws are all equal; `mean_sd` the mean
    within-answer standard deviation; `reliability` the share of the scores' variance
    that lies between answers (one-way ICC(1); 1 for a judge that always repeats
    itself; None when the scores do not vary).
    """

    answers: int
    repeats: float
    identical: float
    mean_sd: float
    reliability: float | None

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def self_consistency(draws: Sequence[Numbers] | FloatArray) -> Consistency:
    """Self-consistency from each answer's repeated judge scores (answers with >= 2 draws)."""
    rows = [np.asarray(r, dtype=float) for r in draws if np.size(r) > 1]
    if not rows:
        raise ValueError("self-consistency needs an answer the judge scored at least twice")
    within = np.array([np.var(r, ddof=1) for r in rows])
    means = np.array([r.mean() for r in rows])
    k = float(np.mean([r.size for r in rows]))
    between = float(np.var(means, ddof=1)) if means.size > 1 else 0.0
    signal = max(0.0, between - float(within.mean()) / k)  # var of the answers' true scores
    total = signal + float(within.mean())
    return Consistency(
        answers=len(rows),
        repeats=k,
        identical=float(np.mean([np.ptp(r) == 0 for r in rows])),
        mean_sd=float(np.mean(np.sqrt(within))),
        reliability=signal / total if total > 0 else None,
    )


def length_correlation(scores: Numbers, lengths: Sequence[int] | np.ndarray) -> float | None:
    """Spearman's rho of the judge's score with the answer's length (None if either is constant)."""
    s, n = _pairs(scores, np.asarray(lengths, dtype=float), bounded=False)
    return spearman(s, n)


def _pairs(a: Numbers, b: Numbers, *, bounded: bool = True) -> tuple[FloatArray, FloatArray]:
    """Two equally long, non-empty float arrays; ValueError naming the first bad index."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or x.size == 0:
        raise ValueError(f"need two equally long, non-empty sequences, got {x.shape}, {y.shape}")
    ok = np.isfinite(x) & np.isfinite(y)
    if bounded:
        ok &= (x >= 0) & (x <= 1) & (y >= 0) & (y <= 1)
    bad = np.flatnonzero(~ok)
    if bad.size:
        i = int(bad[0])
        want = "two numbers in [0, 1]" if bounded else "two finite numbers"
        raise ValueError(f"pair {i}: ({float(x[i])!r}, {float(y[i])!r}) is not {want}")
    return x, y


def _share(flags: np.ndarray) -> float | None:
    return float(flags.mean()) if flags.size else None
