"""The human-scale delta from judge scores on all cases and human labels on a few (PPI++).

Prediction-powered inference (Angelopoulos et al., Science 2023) with the power-tuned
lambda of PPI++ (Angelopoulos, Duchi, Zrnic 2023), for the paired delta candidate -
baseline. Per case i of N: the judge delta j_i (candidate's judge score minus the
baseline's); on a uniformly random subset L of n cases also the human delta h_i.
Writing U for the N - n unlabelled cases, the estimate is

    theta = mean_L(h) + lam * (mean_U(j) - mean_L(j))

the judge's mean on all cases corrected by its mean gap to the humans on L. (The form
lam' * mean_N(j) + mean_L(h - lam' * j), where mean_N includes L, is the same
estimator with lam = lam' * (1 - n / N); the split form makes L and U independent,
so the variance below is exact instead of ignoring their overlap.) Its variance is

    V(lam) = var_L(h - lam * j) / n + lam² var_U(j) / (N - n)

with lam the minimiser of this plug-in V over [0, 1] (PPI++'s
cov(h, j) / ((1 + n / (N - n)) var(j)), with var(j) taken where each term uses it):
lam = 0 is the classical interval on the labelled cases alone, so the tuned interval
is never wider than that one. The interval is Student t with Welch-Satterthwaite
degrees of freedom (n - 1 at lam = 0), and the rectifier's variance never goes below
compare.py's floor for n cases, so n labels that all agree with the judge still leave
an interval of about z² / n.

Requirements: L is a uniformly random sample of cases (labelling the cases where the
judge looks wrong voids the guarantee), and on every labelled case both models'
answers are labelled (the human delta needs both); ValueError names the cases
otherwise.

`judged_delta` is item 3 of issue #19: the delta when the judge is asked k times per
answer, with the share of its variance that the judge's own noise contributes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from statistics import NormalDist
from typing import TypeAlias

import numpy as np

from . import stats
from ._compare_t import t_upper_tail, variance_floor
from .bootstrap import FloatArray, t_quantile
from .compare import Comparison, Scores, compare

__all__ = ["JudgeNoise", "PPIResult", "judge_noise_share", "judged_delta", "ppi_delta"]

HumanScores: TypeAlias = "Sequence[float | None] | FloatArray"
"""Human scores in [0, 1] per case, None (or NaN) where the answer is not labelled."""

_SHOWN = 5  # cases named in an error message


@dataclass(frozen=True, slots=True)
class PPIResult:
    """The corrected delta and its CI, beside the judge-only one and the labelled-only one.

    `se` and `df` give any other level or one-sided p: (mean - b) / se on df degrees
    of freedom. `p_value` is the two-sided p of delta = 0.
    """

    mean: float
    ci_low: float
    ci_high: float
    se: float
    df: int
    p_value: float
    judge_only_mean: float
    judge_only_ci: tuple[float, float]
    labelled_only_ci: tuple[float, float]
    lam: float
    n_labelled: int
    n_total: int
    confidence: float
    method: str = "ppi++"
    rectifier_var: float = 0.0  # per labelled case: var(h - lam j), the judge's misses
    imputed_var: float = 0.0  # the unlabelled cases' share of se squared

    def to_dict(self) -> dict[str, object]:
        """Every field, JSON-safe (the intervals as lists)."""
        out = asdict(self)
        out["judge_only_ci"] = list(self.judge_only_ci)
        out["labelled_only_ci"] = list(self.labelled_only_ci)
        return out

    def comparison(self, judge: Comparison, gate: str, margin: float, verdict: str) -> Comparison:
        """The corrected delta as the gate's `Comparison` (what `gate_on = "human"` decided
        by): its mean, CI, p-values (t on `df`) and evidence; `judge` gives the rest."""
        p_noninferior = t_upper_tail((self.mean + margin) / self.se, self.df) if self.se else 0.0
        low, high = self.ci_low, self.ci_high
        if low > 0:
            evidence = "superior"
        elif high < 0:
            evidence = "inferior"
        elif margin > 0 and -margin < low and high < margin:
            evidence = "equivalent"
        elif margin > 0 and low > -margin:
            evidence = "non-inferior"
        else:
            evidence = "inconclusive"
        return replace(
            judge,
            verdict=verdict,
            evidence=evidence,
            mean=self.mean,
            ci_low=low,
            ci_high=high,
            p_value=p_noninferior if gate == "non-inferiority" else self.p_value,
            p_noninferior=p_noninferior,
            p_adjusted=None,
            n_pairs=self.n_total,
            std_delta=self.se * math.sqrt(self.n_total),
            method=self.method,
            confidence=self.confidence,
            gate=gate,
            margin=margin,
            too_few=False,
            mc_error=None,
            resamples=0,
        )


def ppi_delta(
    judge_baseline: Scores,
    judge_candidate: Scores,
    human_baseline: HumanScores,
    human_candidate: HumanScores,
    *,
    confidence: float = 0.95,
    lam: float | None = None,
) -> PPIResult:
    """PPI++ estimate and CI of the human-scale delta candidate - baseline.

    Judge scores as for `compare` (a case may hold the judge's repeats); human scores
    per case, None where unlabelled. `lam` fixes lambda (0: labelled cases only,
    1: plain PPI); None tunes it; with fewer than 2 unlabelled cases it is 0.
    ValueError for a case labelled on one side only, fewer labelled cases than
    `stats.min_pairs(confidence)`, or bad input.
    """
    judge_only = compare(judge_baseline, judge_candidate, confidence=confidence)
    judge = _case_means(judge_candidate) - _case_means(judge_baseline)
    base, cand = _labels(human_baseline, judge.size), _labels(human_candidate, judge.size)
    human = _human_deltas(base, cand)
    labelled = ~np.isnan(human)
    n = int(labelled.sum())
    if n < stats.min_pairs(confidence):
        raise ValueError(
            f"{n} labelled cases: PPI needs at least {stats.min_pairs(confidence)} cases with "
            f"both answers labelled at confidence {confidence}"
        )
    if lam is not None and not 0 <= lam <= 1:
        raise ValueError(f"lam must be in [0, 1], got {lam!r}")
    h, j_l, j_u = human[labelled], judge[labelled], judge[~labelled]
    if j_u.size < 2:  # (almost) every case labelled: nothing to impute, the labels alone
        tuned, j_u = 0.0, np.zeros(2)
    else:
        tuned = _tuned_lambda(h, j_l, j_u) if lam is None else float(lam)
    mean = float(h.mean()) + tuned * (float(j_u.mean()) - float(j_l.mean()))
    rect_var = max(_var(h - tuned * j_l), variance_floor(n, confidence)) / n
    imp_var = tuned * tuned * _var(j_u) / j_u.size
    se = math.sqrt(rect_var + imp_var)
    df = _welch_df(rect_var, n, imp_var, j_u.size)
    half = t_quantile(df, confidence) * se
    labelled_only = compare(base[labelled], cand[labelled], confidence=confidence)
    return PPIResult(
        mean=mean,
        ci_low=max(-1.0, mean - half),
        ci_high=min(1.0, mean + half),
        se=se,
        df=df,
        p_value=min(1.0, 2 * t_upper_tail(abs(mean) / se, df)),
        judge_only_mean=judge_only.mean,
        judge_only_ci=(judge_only.ci_low, judge_only.ci_high),
        labelled_only_ci=(labelled_only.ci_low, labelled_only.ci_high),
        lam=tuned,
        n_labelled=n,
        n_total=judge.size,
        confidence=confidence,
        rectifier_var=rect_var * n,
        imputed_var=imp_var,
    )


PLANNED_POWER = 0.8


def labels_needed(ppi: PPIResult, drop: float) -> int | None:
    """About how many cases labelled on both sides let the corrected interval tell a drop
    of `drop` from none 80% of the time (as `cases_needed` plans cases: its end clears
    the other). From the labels so far: how far the people's deltas stray from the
    judge's (`rectifier_var` per labelled case, at a 90% upper bound as `cases_needed`
    takes the spread), the unlabelled cases' share kept as measured. None: not within
    the suite's cases; more cases, not only labels, are needed.
    """
    z = NormalDist().inv_cdf(1 - (1 - ppi.confidence) / 2) + NormalDist().inv_cdf(PLANNED_POWER)
    room = (drop / z) ** 2 - ppi.imputed_var
    if room <= 0:
        return None
    spread = ppi.rectifier_var * _variance_upper(ppi.n_labelled)
    needed = math.ceil(spread / room)
    return needed if needed <= ppi.n_total else None


def _variance_upper(n: int) -> float:
    """A variance measured on n cases, at its 90% upper bound (normal approximation)."""
    return 1 + NormalDist().inv_cdf(0.9) * math.sqrt(2 / max(n - 1, 1))


def _case_means(scores: Scores) -> FloatArray:
    """Per-case mean of the judge's scores (a bare number is one draw); `compare` checked them."""
    if isinstance(scores, np.ndarray):
        return scores.astype(float) if scores.ndim == 1 else scores.mean(axis=1, dtype=float)
    number = (int, float, np.number)
    means = [float(c) if isinstance(c, number) else sum(c) / len(c) for c in scores]
    return np.array(means, dtype=float)


def _labels(values: HumanScores, n_cases: int) -> FloatArray:
    """Human scores as floats, NaN where unlabelled; ValueError for a length or a value off."""
    if len(values) != n_cases:
        raise ValueError(f"{len(values)} human labels for {n_cases} judged cases")
    out = np.array([math.nan if v is None else float(v) for v in values], dtype=float)
    bad = np.flatnonzero(~np.isnan(out) & ~((out >= 0) & (out <= 1)))
    if bad.size:
        raise ValueError(f"case {bad[0]}: human label {float(out[bad[0]])!r} is not in [0, 1]")
    return out


def _human_deltas(base: FloatArray, cand: FloatArray) -> FloatArray:
    """Candidate - baseline human score, NaN where unlabelled; both sides or neither."""
    one_sided = np.flatnonzero(np.isnan(base) != np.isnan(cand))
    if one_sided.size:
        shown = ", ".join(map(str, one_sided[:_SHOWN].tolist()))
        more = f" and {one_sided.size - _SHOWN} more" if one_sided.size > _SHOWN else ""
        raise ValueError(
            f"cases {shown}{more} have a human label on one model's answer only: the human "
            "delta needs both answers of a labelled case labelled (label whole cases, or "
            "drop these labels from the PPI sample)"
        )
    return cand - base


def _var(x: FloatArray) -> float:
    return float(np.var(x, ddof=1)) if x.size > 1 else 0.0


def _tuned_lambda(h: FloatArray, j_l: FloatArray, j_u: FloatArray) -> float:
    """The lam in [0, 1] minimising var_L(h - lam j) / n + lam² var_U(j) / (N - n)."""
    n = h.size
    cov = float(np.cov(h, j_l, ddof=1)[0, 1])
    denominator = _var(j_l) + n * _var(j_u) / j_u.size
    return min(1.0, max(0.0, cov / denominator)) if denominator > 0 else 0.0


def _welch_df(a: float, n: int, b: float, m: int) -> int:
    """Welch-Satterthwaite df of a + b (variances of means of n and m cases), rounded down."""
    if b == 0:
        return n - 1
    return max(n - 1, math.floor((a + b) ** 2 / (a * a / (n - 1) + b * b / (m - 1))))


@dataclass(frozen=True, slots=True)
class JudgeNoise:
    """The delta when the judge graded each answer k times, and how much its noise weighs.

    `comparison` is `compare` on the per-case means of the judge's draws: the floored t
    (or, with one draw of 0/1 scores, Tango's) on per-case mean deltas. A case's mean
    delta already varies by the judge's noise / k, so the per-case spread carries it
    and no second stage of resampling is needed (a two-stage bootstrap counts it twice:
    tests/unit/inference/test_ppi.py shows it over-covers). `judge_noise_share` is the share of the
    per-case delta variance due to the judge's draws (None without repeats):
    the interval is 1 / sqrt(1 - share) times as wide as an infinitely repeated judge's.
    """

    comparison: Comparison
    repeats: float
    judge_noise_share: float | None

    def to_dict(self) -> dict[str, object]:
        """The comparison's fields, with `repeats` and `judge_noise_share`."""
        return {
            **self.comparison.to_dict(),
            "repeats": self.repeats,
            "judge_noise_share": self.judge_noise_share,
        }


def judged_delta(
    judge_baseline: Scores, judge_candidate: Scores, *, confidence: float = 0.95
) -> JudgeNoise:
    """`compare` on the judge's draws per answer (cases x k), with the judge's noise share."""
    comparison = compare(judge_baseline, judge_candidate, confidence=confidence)
    draws = [np.size(case) for case in (*judge_baseline, *judge_candidate)]
    return JudgeNoise(
        comparison=comparison,
        repeats=float(np.mean(draws)),
        judge_noise_share=judge_noise_share(judge_baseline, judge_candidate),
    )


def judge_noise_share(judge_baseline: Scores, judge_candidate: Scores) -> float | None:
    """Share in [0, 1] of the per-case delta's variance that the judge's draws contribute.

    Per answer with k >= 2 draws, var(draws) / k is the variance its case mean owes to
    the judge; their mean over answers (both models) over the sample variance of the
    per-case mean deltas. None when no answer has two draws or the deltas do not vary.
    """
    per_case = 0.0  # the judge's variance in a case's mean delta: both answers' shares
    seen = False
    for side in (judge_baseline, judge_candidate):
        within = [_var(np.asarray(c, dtype=float)) / np.size(c) for c in side if np.size(c) > 1]
        if within:
            per_case, seen = per_case + float(np.mean(within)), True
    total = _var(_case_means(judge_candidate) - _case_means(judge_baseline))
    if not seen or total == 0:
        return None
    return min(1.0, per_case / total)
