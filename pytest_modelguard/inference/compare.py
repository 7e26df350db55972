"""The quality verdict: one test per comparison, whose interval and p-values cannot disagree.

`compare` judges one candidate against the baseline on paired per-case scores;
`compare_family` judges several, Holm step-down with each interval at the level its
test used; `cases_needed` plans a suite. Methods (method="auto"):

- every score 0/1, one repeat per case: Tango's score interval (`_compare_score`);
- any other scores in [0, 1] (repeats, partial credit, rubric or judge scores): the
  same score test on per-case mean deltas, its variance that of the maximum-likelihood
  law under the null (`_compare_cluster`);
- method="t": Student t on per-case mean deltas with a variance floor (`_compare_t`);
- method="bca": the BCa bootstrap, resampling more near a boundary (`_compare_bca`),
  held to the default test's fail-safe rules (it never decides where that would not).

Too few cases for any test (`stats.min_pairs`) give no test at all: CI [-1, 1], p 1.

Every verdict is read off one-sided p-values at the boundary (0 or -margin) and the
interval endpoints are then clamped onto the same side of it: the interval's lower
end is above b exactly when the p of "delta <= b" is below the tail (1 - level) / 2.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Literal, TypeAlias, cast

import numpy as np

if TYPE_CHECKING:
    import numpy.typing as npt

from ..core.vocabulary import Evidence, Gate, GateRule, Verdict
from . import stats
from ._compare_bca import RESAMPLES, BcaTest, GuardedBca
from ._compare_bca import Test as _Test
from ._compare_cluster import ClusterScoreTest
from ._compare_score import ScoreTest
from ._compare_t import NORMAL, FlooredT, variance_floor
from .bootstrap import FloatArray, t_quantile
from .quantiles import beta_quantile, chi2_upper_quantile

__all__ = [
    "Comparison",
    "Gate",
    "Method",
    "Scores",
    "cases_needed",
    "compare",
    "compare_deltas",
    "compare_family",
    "holm",
    "paired_deltas",
    "planning_deltas",
]

Method = Literal["auto", "score", "t", "bca"]
Scores: TypeAlias = "Sequence[float | Sequence[float]] | npt.NDArray[np.float64]"
# "binary": 0/1, one repeat a case; "zero-one": 0/1, some case repeated; else "scores"
ScoreKind: TypeAlias = Literal["binary", "zero-one", "scores"]
SCORE_KINDS: tuple[ScoreKind, ...] = ("binary", "zero-one", "scores")  # each also admits the former
holm = stats.holm  # Holm-adjusted p-values of a Mapping[str, float], e.g. routing's tags

_FEW_DIFFER = 10  # below this many non-zero deltas their spread says little: bound by their share
_ZERO = 1e-12  # per-case deltas and means this close to 0 are 0 (float noise of averaging)
_ON_BOUNDARY = 1e-9  # a p within this relative distance of the tail sits on the boundary


@dataclass(frozen=True, slots=True)
class Comparison:
    """Candidate - baseline on paired cases: the CI, the gate's p-value, and what they show.

    `verdict` is the gate's: "pass", "regression" (CI wholly below 0),
    "not-non-inferior" (CI's lower end not above -margin) or "inconclusive" (too
    few cases: `too_few`). `evidence` says what the CI shows whatever the gate:
    "superior" (low > 0), "equivalent" (-margin < low, high < margin), "non-inferior"
    (low > -margin), "inferior" (high < 0) or "inconclusive". `p_value` is the gate's
    test: two-sided p of delta = 0 (regression) or one-sided p of delta <= -margin
    (non-inferiority); `p_noninferior` is the latter under either gate (superiority
    when margin is 0). `confidence` is the CI's actual level (a Holm step's in a
    family) and `p_adjusted` the Holm-adjusted `p_value` (None alone).
    `n_differ` counts cases whose delta is not 0; `mc_error` (the deciding
    endpoint's Monte-Carlo sd) and `resamples` are for the bootstrap only.
    """

    verdict: str
    evidence: str
    mean: float
    ci_low: float
    ci_high: float
    p_value: float
    p_noninferior: float
    p_adjusted: float | None
    n_pairs: int
    n_differ: int
    std_delta: float
    method: str
    confidence: float
    gate: str
    margin: float
    too_few: bool
    mc_error: float | None
    resamples: int

    @property
    def anytime(self) -> bool:
        """The interval is a confidence sequence's (method ``betting-cs…``): valid at every
        look, where a fixed-n p-value is not, so none is reported."""
        return self.method.startswith("betting-cs")

    @property
    def reason(self) -> str:
        """The verdict in one sentence, e.g. for one case: why it is inconclusive."""
        if self.too_few:
            return (
                f"inconclusive: {self.n_pairs} paired case(s), fewer than the "
                f"{stats.min_pairs(self.confidence)} any test at {self.confidence:.0%} rests on"
            )
        ci = f"CI [{self.ci_low:+.3f}, {self.ci_high:+.3f}] on {self.n_pairs} cases"
        if self.gate == "regression":
            side = "wholly below 0" if self.verdict == Verdict.REGRESSION else "not below 0"
        elif self.verdict == Verdict.PASS:
            side = f"lower end above -{self.margin:g}"
        else:
            side = f"lower end not above -{self.margin:g}"
        return f"{self.verdict}: {ci}, {side}"

    def to_dict(self) -> dict[str, float | int | str | bool | None]:
        """Every field, JSON-safe; the p-values null for a confidence sequence."""
        data: dict[str, float | int | str | bool | None] = asdict(self)
        if self.anytime:
            data["p_value"] = data["p_noninferior"] = None
        return data


def compare(
    baseline: Scores,
    candidate: Scores,
    *,
    gate: Gate = "regression",
    margin: float = 0.0,
    confidence: float = 0.95,
    seed: int = 0,
    method: Method = "auto",
    resamples: int = RESAMPLES,
) -> Comparison:
    """Judge `candidate` against `baseline`: paired per-case scores in [0, 1].

    Each case is a score (a real number) or a sequence of its repeats' scores
    (averaged: the case is the unit), or a cases x repeats array. ValueError names the
    case of a string, None, a boolean, a NaN, a score outside [0, 1] or a case without
    scores; also for unequal lengths, no case, a bad option, or non-inferiority with
    margin <= 0. Anything else returns a Comparison: one case is `inconclusive`.
    """
    _check_options(gate, margin, confidence, method)
    deltas, kind = paired_deltas(baseline, candidate)
    return compare_deltas(deltas, kind, gate, margin, confidence, seed, method, resamples)


def compare_deltas(
    deltas: FloatArray,
    kind: ScoreKind,
    gate: Gate,
    margin: float,
    confidence: float,
    seed: int = 0,
    method: Method = "auto",
    resamples: int = RESAMPLES,
) -> Comparison:
    """`compare` of per-case deltas of the given kind (checked options)."""
    test = _test(deltas, kind, gate, margin, confidence, seed, method, resamples)
    return _comparison(test, deltas, gate, margin, (1 - confidence) / 2)


def compare_family(
    pairs: Mapping[str, tuple[Scores, Scores]],
    *,
    gate: Gate = "regression",
    margin: float = 0.0,
    confidence: float = 0.95,
    seed: int = 0,
    method: Method = "auto",
    resamples: int = RESAMPLES,
) -> dict[str, Comparison]:
    """`compare` for each name's (baseline, candidate), family-wise error 1 - confidence.

    Holm step-down on the gate's p-values: sorted ascending, rank k is tested at
    alpha / (m - k + 1) and its CI drawn at that level; from the first rank not
    rejected on, every CI is at that rank's level, where by duality none excludes
    the boundary. `p_adjusted` holds the Holm-adjusted p-values.
    """
    _check_options(gate, margin, confidence, method)
    tests: dict[str, tuple[_Test, FloatArray]] = {}
    raw: dict[str, float] = {}
    for name, (baseline, candidate) in pairs.items():
        try:
            deltas, kind = paired_deltas(baseline, candidate)
        except ValueError as error:
            raise ValueError(f"{name}: {error}") from None
        test = _test(deltas, kind, gate, margin, confidence, seed, method, resamples)
        tests[name] = test, deltas
        raw[name] = _gate_p(test, gate, margin)
    adjusted = holm(raw)
    m, step_tail = len(raw), (1 - confidence) / 2
    out: dict[str, Comparison] = {}
    rejecting = True
    for rank, name in enumerate(sorted(raw, key=raw.__getitem__)):
        if rejecting:
            step_tail = (1 - confidence) / 2 / (m - rank)
        comparison = _comparison(*tests[name], gate, margin, step_tail)
        level = 2 * step_tail if gate == "regression" else step_tail
        rejecting = rejecting and comparison.p_value < level
        out[name] = replace(comparison, p_adjusted=adjusted[name])
    return {name: out[name] for name in pairs}


def _gate_p(test: _Test, gate: Gate, margin: float) -> float:
    """The gate's p-value: two-sided at 0 (regression) or of delta <= -margin."""
    if gate == "regression":
        return _unit(2 * min(test.p_above(0.0), test.p_below(0.0)))
    return _unit(test.p_above(-margin))


def _check_options(gate: str, margin: float, confidence: float, method: str) -> None:
    if gate not in set(GateRule):
        raise ValueError(f"gate must be 'regression' or 'non-inferiority', got {gate!r}")
    if not (math.isfinite(margin) and 0 <= margin < 1):
        raise ValueError(f"margin must be a number in [0, 1), got {margin!r}")
    if gate == "non-inferiority" and margin <= 0:
        raise ValueError(
            "the non-inferiority gate needs margin > 0: it passes a candidate shown to be "
            "at most `margin` worse, and with margin 0 that would demand proof it is better"
        )
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    if method not in ("auto", "score", "t", "bca"):
        raise ValueError(f"method must be 'auto', 'score', 't' or 'bca', got {method!r}")


def paired_deltas(baseline: Scores, candidate: Scores) -> tuple[FloatArray, ScoreKind]:
    """Per-case mean deltas (candidate - baseline, float noise set to 0) and the scores'
    kind (see `ScoreKind`): what `compare` tests, for callers that test it otherwise (the
    sequential verdicts). ValueError names the case of a score that is not a number
    in [0, 1] (see `compare`)."""
    base_cases, cand_cases = _as_cases(baseline, "baseline"), _as_cases(candidate, "candidate")
    if len(base_cases) != len(cand_cases):
        raise ValueError(f"{len(base_cases)} baseline cases but {len(cand_cases)} candidate cases")
    if len(base_cases) == 0:
        raise ValueError("no paired case to compare")
    base, base_binary, base_01 = stats._case_means(base_cases, "baseline")
    cand, cand_binary, cand_01 = stats._case_means(cand_cases, "candidate")
    deltas = cand - base
    deltas[np.abs(deltas) <= _ZERO] = 0.0
    if base_binary and cand_binary:
        return deltas, "binary"
    return deltas, "zero-one" if base_01 and cand_01 else "scores"


_NUMBER_TYPES = {int, float, np.float64, np.float32, np.int64, np.int32}


def _is_number(x: object) -> bool:
    """A real number, not a boolean (True is not a score of 1 by accident)."""
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(
        x, (bool, np.bool_)
    )


def _as_cases(scores: Scores, who: str) -> stats.Scores:
    """Scores as cases x repeats: a bare number is a case with one repeat.

    ValueError for anything but real numbers: a string (not read as its characters),
    None or a boolean, naming the case.
    """
    if isinstance(scores, np.ndarray) and scores.dtype.kind in "iuf":
        if scores.ndim not in (1, 2):
            raise ValueError(f"{who} scores: expected 1 or 2 dimensions, got {scores.ndim}")
        return scores.reshape(-1, 1) if scores.ndim == 1 else scores
    if isinstance(scores, (str, bytes, Mapping)) or not hasattr(scores, "__len__"):
        raise ValueError(
            f"{who} scores must be a sequence of per-case scores, got {type(scores).__name__}"
        )
    kinds = set(map(type, scores))
    if kinds <= _NUMBER_TYPES:  # the common case, fast: plain numbers
        return np.asarray(scores, dtype=float).reshape(-1, 1)
    if kinds == {list}:  # the gate's: each case's repeats
        per_case = cast(list[list[float]], scores)
        if {type(r) for case in per_case for r in case} <= _NUMBER_TYPES:
            return [list(case) for case in per_case]
    cases: list[Sequence[float]] = []
    for case, x in enumerate(scores):
        if _is_number(x):
            cases.append([x])
            continue
        if isinstance(x, (str, bytes, Mapping)) or not hasattr(x, "__len__"):
            raise ValueError(f"case {case}: {who} score {x!r} is not a number in [0, 1]")
        repeats = list(x)
        for r in repeats:
            if not _is_number(r):
                raise ValueError(f"case {case}: {who} score {r!r} is not a number in [0, 1]")
        cases.append(repeats)
    return cases


def _test(
    deltas: FloatArray,
    kind: ScoreKind,
    gate: Gate,
    margin: float,
    confidence: float,
    seed: int,
    method: Method,
    resamples: int,
) -> _Test:
    """The method's test; too few cases (`stats.min_pairs`) get none (`_TooFew`)."""
    if deltas.size < stats.min_pairs(confidence):
        return _TooFew(_method_name(kind, method))
    default = _default(deltas, kind, method, confidence)
    if method != "bca":
        return default
    boundaries = (0.0, -margin) if gate != "regression" else (0.0,)
    return GuardedBca(BcaTest(deltas, seed, confidence, boundaries, resamples), default)


def _default(deltas: FloatArray, kind: ScoreKind, method: Method, confidence: float) -> _Test:
    """Tango for 0/1 single answers, else the score test on per-case deltas; "t" the t."""
    if method == "t":
        return FlooredT(deltas, confidence)
    if kind == "binary":
        better, worse = int(np.count_nonzero(deltas > 0)), int(np.count_nonzero(deltas < 0))
        return ScoreTest(better, worse, deltas.size)
    return ClusterScoreTest(deltas)


def _method_name(kind: ScoreKind, method: Method) -> str:
    """The `method` the test of `_test` reports."""
    if method in ("t", "bca"):
        return FlooredT.method if method == "t" else BcaTest.method
    return ScoreTest.method if kind == "binary" else ClusterScoreTest.method


class _TooFew:
    """No test: too few cases for any at this confidence. CI [-1, 1], every p 1."""

    def __init__(self, method: str) -> None:
        self.method = method

    def p_above(self, boundary: float) -> float:
        return 1.0

    def p_below(self, boundary: float) -> float:
        return 1.0

    def bounds(self, tail: float) -> tuple[float, float]:
        return -1.0, 1.0


def _comparison(
    test: _Test, deltas: FloatArray, gate: Gate, margin: float, tail: float
) -> Comparison:
    """The Comparison at `tail` per side: p-values at the boundaries decide, the CI agrees.

    Too few cases (`stats.min_pairs` at the run's confidence): CI [-1, 1], p-values 1.
    """
    n = deltas.size
    too_few = isinstance(test, _TooFew)
    mean = float(np.mean(deltas))
    mean = 0.0 if abs(mean) <= _ZERO else mean
    p_above = {b: _snap(test.p_above(b), tail) for b in {0.0, -margin}}
    p_below = {b: _snap(test.p_below(b), tail) for b in {0.0, margin}}
    low, high = test.bounds(tail)
    for b, p in p_above.items():  # low > b exactly when p of "delta <= b" < tail
        low = max(low, math.nextafter(b, math.inf)) if p < tail else min(low, b)
    for b, p in p_below.items():  # high < b exactly when p of "delta >= b" < tail
        high = min(high, math.nextafter(b, -math.inf)) if p < tail else max(high, b)
    p_two = min(1.0, 2 * min(p_above[0.0], p_below[0.0]))
    p_ni = p_above[-margin]
    if too_few:
        verdict = Verdict.INCONCLUSIVE
    elif gate == "regression":
        verdict = Verdict.REGRESSION if p_below[0.0] < tail else Verdict.PASS
    else:
        verdict = Verdict.PASS if p_ni < tail else Verdict.NOT_NON_INFERIOR
    bca = test.bca if isinstance(test, GuardedBca) else None
    return Comparison(
        verdict=verdict,
        evidence=_evidence(p_above, p_below, margin, tail),
        mean=mean,
        ci_low=float(low),
        ci_high=float(high),
        p_value=p_two if gate == "regression" else p_ni,
        p_noninferior=p_ni,
        p_adjusted=None,
        n_pairs=n,
        n_differ=int(np.count_nonzero(deltas)),
        std_delta=float(np.std(deltas, ddof=1)) if n > 1 else 0.0,
        method=test.method,
        confidence=1 - 2 * tail,
        gate=gate,
        margin=float(margin),
        too_few=too_few,
        mc_error=None if bca is None else bca.mc_errors[0 if gate != "regression" else 1],
        resamples=0 if bca is None else bca.resamples,
    )


def _snap(p: float, tail: float) -> float:
    """A p-value within float noise of the tail is the tail: the boundary is not excluded.
    Any p is in [0, 1] (see `_unit`)."""
    p = _unit(p)
    return tail if abs(p - tail) <= _ON_BOUNDARY * tail else p


def _unit(p: float) -> float:
    """A probability in [0, 1]: float noise of a tail (e.g. -2e-16) is 0, NaN is 1."""
    return 1.0 if math.isnan(p) else min(1.0, max(0.0, p))


def _evidence(
    p_above: Mapping[float, float], p_below: Mapping[float, float], margin: float, tail: float
) -> str:
    if p_above[0.0] < tail:
        return Evidence.SUPERIOR
    if margin > 0 and p_above[-margin] < tail and p_below[margin] < tail:
        return Evidence.EQUIVALENT
    if margin > 0 and p_above[-margin] < tail:
        return Evidence.NON_INFERIOR
    if p_below[0.0] < tail:
        return Evidence.INFERIOR
    return Evidence.INCONCLUSIVE


def cases_needed(
    comparison_or_deltas: Comparison | Sequence[float] | FloatArray,
    margin: float,
    *,
    confidence: float | None = None,
    power: float = 0.8,
) -> int:
    """Cases for the CI to settle a difference of `margin` with probability `power`.

    Non-inferiority: with no true difference, the lower end clears -margin;
    regression: with a true drop of `margin`, the upper end falls below 0. Both
    need the same n: n = ((q + z_power) sigma_U / margin)², where q is the
    interval's own quantile on n cases and the half-width never drops below the
    variance floor. sigma_U² is an upper confidence bound (at `confidence`) of the
    per-case delta variance: the Clopper-Pearson bound of the share of cases whose
    delta is not 0 (|delta| <= 1, so the variance is at most that share), or, once
    at least 10 deltas are not 0, the smaller chi-square bound of s². So 30 tied
    cases never suggest that a handful suffice. At least
    `stats.min_pairs(confidence)`; `confidence` defaults to the comparison's.
    """
    if isinstance(comparison_or_deltas, Comparison):
        c = comparison_or_deltas
        n, n_differ, std, score = (
            c.n_pairs,
            c.n_differ,
            c.std_delta,
            c.method in ("tango-score", "cluster-score"),
        )
        confidence = c.confidence if confidence is None else confidence
    else:
        deltas = np.asarray(comparison_or_deltas, dtype=float)
        if deltas.ndim != 1 or deltas.size == 0 or not np.all(np.abs(deltas) <= 1):
            raise ValueError("deltas must be a non-empty sequence of numbers in [-1, 1]")
        n, n_differ = deltas.size, int(np.count_nonzero(np.abs(deltas) > _ZERO))
        std, score = (float(deltas.std(ddof=1)) if n > 1 else 0.0), False
        confidence = 0.95 if confidence is None else confidence
    if not 0 < confidence < 1 or not 0 < power < 1:
        raise ValueError(f"confidence and power must be in (0, 1), got {confidence}, {power}")
    if not 0 < margin < 1:
        raise ValueError(f"margin must be in (0, 1), got {margin!r}")
    variance = _variance_bound(n, n_differ, std, confidence)
    z_power = NORMAL.inv_cdf(power)

    def settles(cases: int) -> bool:
        q = NORMAL.inv_cdf((1 + confidence) / 2) if score else t_quantile(cases - 1, confidence)
        spread = math.sqrt(max(variance, variance_floor(cases, confidence)))
        return (q * spread + z_power * math.sqrt(variance)) / math.sqrt(cases) <= margin

    low = stats.min_pairs(confidence)
    if settles(low):
        return low
    high = 2 * low
    while not settles(high):
        low, high = high, 2 * high
    while high - low > 1:  # settles(high), not settles(low)
        middle = (low + high) // 2
        low, high = (low, middle) if settles(middle) else (middle, high)
    return high


def _variance_bound(n: int, n_differ: int, std: float, confidence: float) -> float:
    """Upper confidence bound of the per-case delta variance (see `cases_needed`)."""
    share = 1.0 if n_differ == n else beta_quantile(n_differ + 1, n - n_differ, confidence)
    if n_differ < _FEW_DIFFER or n < 2:
        return share
    chi_square = std * std * (n - 1) / chi2_upper_quantile(n - 1, confidence)
    return min(share, chi_square)


def planning_deltas(baseline_scores: Sequence[float] | FloatArray) -> FloatArray:
    """Deltas to plan with before a candidate answered: an equally good model, independent.

    Each per-case baseline score minus the next case's (the last minus the first):
    deltas of two independent draws of the baseline's case scores, whose variance is
    twice theirs. A candidate whose errors fall on the baseline's hard cases varies
    less, so `cases_needed` of these errs on the side of more cases. Identical
    scores give all-zero deltas, planned from the share bound (see `cases_needed`).
    """
    scores = np.asarray(baseline_scores, dtype=float)
    if scores.ndim != 1 or scores.size == 0 or not np.all((scores >= 0) & (scores <= 1)):
        raise ValueError("baseline scores must be a non-empty sequence of numbers in [0, 1]")
    deltas: FloatArray = scores - np.roll(scores, -1)
    deltas[np.abs(deltas) <= _ZERO] = 0.0
    return deltas
