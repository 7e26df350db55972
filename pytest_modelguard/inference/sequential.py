"""Anytime-valid verdicts: stop asking once the answer is settled, look as often as you like.

The core is a betting confidence sequence (Waudby-Smith & Ramdas 2023, JRSS-B,
"Estimating means of bounded random variables by betting") for the mean paired delta
d = candidate - baseline in [-1, 1], read as x = (d + 1) / 2 in [0, 1]. For each m on a
grid, two capital processes bet against "the mean is m":

    K+(m) = prod (1 + l+ (x_i - m)),   K-(m) = prod (1 - l- (x_i - m)),

with predictable plug-in bets l_i (WSR's lambda^PrPl: from the mean and variance of the
earlier x, sqrt(2 log(1 / tail) / (var t log(1 + t))), capped at 3/4 of what keeps every
factor positive; with a known suite of N cases t log(1 + t) stops growing at N / 2,
which settles verdicts near there sooner). Under the mean m each is a nonnegative
martingale, so by Ville's inequality it ever reaches 1 / tail with probability at most
`tail`: m is dropped for good (running intersection) once K+ (the lower end) or K- (the
upper end) crosses. Each side has its own `tail`: like `compare`, a two-sided interval
at `confidence` puts (1 - confidence) / 2 on each side, split over the candidates
(Bonferroni). Both capitals are monotone in m, so the kept set is an interval; the grid
(1,001 points, and the gate's boundaries exactly) reports each end rounded outwards to
the next grid point.

Cases are the unit and, asked in a random order (`ask_order`), are draws from the
population the suite samples, the same estimand as the fixed-n `compare`, and the
sequence is valid for it at every look, however many. `population="suite"` instead
covers the mean over the suite's own N cases (without replacement: the m of the i-th
case is (N m - sum of earlier x) / (N - i + 1)); it closes on that mean at the last
case, which is right for the N recorded answers but claims far more than the full run
could about the model, so it is opt-in.

`drift_detect.DriftDetector` bets on nights against one fixed reference run with it.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from ..core.vocabulary import Gate
from .bootstrap import FloatArray
from .compare import SCORE_KINDS, ScoreKind, Scores, compare_deltas, paired_deltas

__all__ = [
    "ConfidenceSequence",
    "Look",
    "SequentialTest",
    "ask_order",
    "end_verdict",
]

Population = Literal["cases", "suite"]
Final = Literal["fixed-n", "cs"]
GRID_POINTS = 1001  # the delta grid: steps of 0.002 on [-1, 1]
_BET_CAP = 0.75  # a bet stakes at most this share of what keeps the capital positive
_PRIOR_MEAN, _PRIOR_VAR = 0.5, 0.25  # WSR's pseudo-observation for the plug-in bet


def ask_order(case_keys: Iterable[str], seed: int) -> list[str]:
    """The case keys in a seeded random order, each placed by a hash of (seed, key).

    Stable: a rerun asks the same cases first, and cases added to the suite slot in
    without moving the others relative to each other.
    """

    def rank(key: str) -> bytes:
        return hashlib.sha256(f"{seed}\0{key}".encode()).digest()

    return sorted(case_keys, key=rank)


class ConfidenceSequence:
    """Betting confidence sequence for the mean of deltas in [-1, 1], `tail` per side.

    `update` takes the next deltas in the order they were observed; `low` and `high`
    are the interval after all of them (the intersection over every time so far).
    With `per_batch_bet` a whole batch bets one predictable stake and is only
    judged at its end: valid when the batch's deltas are independent but not equally
    distributed (a night's cases against a fixed reference run).
    """

    def __init__(
        self,
        tail: float,
        *,
        boundaries: Iterable[float] = (),
        n_total: int | None = None,
        horizon: float | None = None,
        points: int = GRID_POINTS,
    ) -> None:
        if not 0 < tail < 0.5:
            raise ValueError(f"tail must be in (0, 0.5), got {tail!r}")
        if n_total is not None and n_total < 1:
            raise ValueError(f"n_total must be a positive number of cases, got {n_total!r}")
        self.tail, self.n_total, self.horizon = tail, n_total, horizon
        grid = np.union1d(np.linspace(-1.0, 1.0, points), np.asarray(list(boundaries), float))
        self.grid: FloatArray = grid[(grid >= -1) & (grid <= 1)]
        self._m = (self.grid + 1) / 2
        self.n, self.total, self.squares = 0, 0.0, 0.0
        size = self.grid.size
        self.log_up, self.log_down = np.zeros(size), np.zeros(size)
        self.out_low, self.out_high = np.zeros(size, bool), np.zeros(size, bool)

    @property
    def method(self) -> str:
        return "betting-cs" if self.n_total is None else "betting-cs-wor"

    @property
    def low(self) -> float:
        """The lower end, rounded down to the grid (-1 while nothing is excluded)."""
        kept = np.flatnonzero(~self.out_low)
        return float(self.grid[kept[0] - 1]) if kept.size and kept[0] > 0 else -1.0

    @property
    def high(self) -> float:
        """The upper end, rounded up to the grid (1 while nothing is excluded)."""
        kept = np.flatnonzero(~self.out_high)
        last = self.grid.size - 1
        return float(self.grid[kept[-1] + 1]) if kept.size and kept[-1] < last else 1.0

    def excludes_at_or_below(self, boundary: float) -> bool:
        """Whether every delta <= `boundary` is out: the lower end is above it."""
        return bool(self.out_low[self.grid <= boundary].all())

    def excludes_at_or_above(self, boundary: float) -> bool:
        """Whether every delta >= `boundary` is out: the upper end is below it."""
        return bool(self.out_high[self.grid >= boundary].all())

    def update(self, deltas: FloatArray, *, per_batch_bet: bool = False) -> None:
        """Bet on the next deltas (in observed order) and drop every m that crossed."""
        x = (np.asarray(deltas, float).ravel() + 1) / 2
        if x.size == 0:
            return
        if not np.all((x >= 0) & (x <= 1)):
            raise ValueError("deltas must lie in [-1, 1]")
        if self.n_total is not None and self.n + x.size > self.n_total:
            raise ValueError(f"more than the suite's {self.n_total} cases")
        bets, deviations = self._bets(x, per_batch_bet)
        m = self._means(x)  # (batch, grid): the mean each observation is tested against
        with np.errstate(divide="ignore", invalid="ignore"):
            up = np.minimum(bets[:, None], _BET_CAP / m)
            down = np.minimum(bets[:, None], _BET_CAP / (1 - m))
            gain_up = np.log1p(up * (x[:, None] - m))
            gain_down = np.log1p(-down * (x[:, None] - m))
        impossible = (m < 0) | (m > 1)  # WoR: no remaining cases can average to this m
        gain_up[impossible], gain_down[impossible] = np.inf, np.inf
        self._cross(gain_up, gain_down, per_batch_bet)
        self.n += x.size
        self.total += float(x.sum())
        self.squares += float(deviations.sum())

    def _bets(self, x: FloatArray, per_batch_bet: bool) -> tuple[FloatArray, FloatArray]:
        """WSR's predictable plug-in stakes, and each x's squared deviation from the mean before.

        Stake i uses the mean and variance of x_1..x_{i-1} with a pseudo-observation
        (mean 1/2, variance 1/4): sqrt(2 log(1 / tail) / (var i log(1 + i))). With
        `per_batch_bet` the whole batch takes the stake of its first case, at its last i.
        With a `horizon`, i log(1 + i) stops growing there: the stakes then stay tuned
        to settle near that many cases (still predictable, so still valid).
        """
        t = self.n + np.arange(1, x.size + 1, dtype=float)
        before = self.total + np.concatenate(([0.0], np.cumsum(x)[:-1]))
        deviations = (x - (_PRIOR_MEAN + before) / t) ** 2
        squares = self.squares + np.concatenate(([0.0], np.cumsum(deviations)[:-1]))
        var_before = (_PRIOR_VAR + squares) / t
        if per_batch_bet:
            t = np.full(x.size, t[-1])
            var_before = np.full(x.size, var_before[0])
        spread = t * np.log1p(t)
        if self.horizon is not None:
            spread = np.minimum(spread, self.horizon)
        bets = np.sqrt(2 * math.log(1 / self.tail) / (var_before * spread))
        return bets, deviations

    def _means(self, x: FloatArray) -> FloatArray:
        """The grid's m for every observation: itself, or WoR's mean of the rest."""
        if self.n_total is None:
            same: FloatArray = np.broadcast_to(self._m, (x.size, self._m.size))
            return same
        seen = self.n + np.arange(x.size, dtype=float)
        before = self.total + np.concatenate(([0.0], np.cumsum(x)[:-1]))
        remaining = (self.n_total - seen)[:, None]
        return (self.n_total * self._m[None, :] - before[:, None]) / remaining

    def _cross(self, gain_up: FloatArray, gain_down: FloatArray, per_batch_bet: bool) -> None:
        """Add the log gains; an m is out once either capital reaches 1 / tail."""
        threshold = math.log(1 / self.tail)
        paths_up = self.log_up + np.cumsum(gain_up, axis=0)
        paths_down = self.log_down + np.cumsum(gain_down, axis=0)
        peak_up = paths_up[-1] if per_batch_bet else paths_up.max(axis=0)
        peak_down = paths_down[-1] if per_batch_bet else paths_down.max(axis=0)
        self.log_up, self.log_down = paths_up[-1], paths_down[-1]
        self.out_low |= peak_up >= threshold
        self.out_high |= peak_down >= threshold

    def to_state(self) -> dict[str, Any]:
        """JSON-able state: `from_state` resumes the sequence exactly."""
        return {
            "tail": self.tail,
            "n_total": self.n_total,
            "horizon": self.horizon,
            "grid": self.grid.tolist(),
            "n": self.n,
            "total": self.total,
            "squares": self.squares,
            "log_up": _finite(self.log_up),
            "log_down": _finite(self.log_down),
            "out_low": self.out_low.tolist(),
            "out_high": self.out_high.tolist(),
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> ConfidenceSequence:
        """The sequence `to_state` saved."""
        cs = cls(state["tail"], n_total=state["n_total"], horizon=state["horizon"], points=2)
        cs.grid = np.asarray(state["grid"], float)
        cs._m = (cs.grid + 1) / 2
        cs.n, cs.total, cs.squares = int(state["n"]), float(state["total"]), state["squares"]
        cs.log_up = np.asarray(state["log_up"], float)
        cs.log_down = np.asarray(state["log_down"], float)
        cs.out_low = np.asarray(state["out_low"], bool)
        cs.out_high = np.asarray(state["out_high"], bool)
        return cs


def _finite(values: FloatArray) -> list[float]:
    """Log capitals for JSON: an excluded m's +inf (or nan) becomes a large finite number."""
    out: list[float] = np.nan_to_num(values, nan=1e300, posinf=1e300, neginf=-1e300).tolist()
    return out


def end_verdict(gate: str) -> str:
    """An open sequence's verdict when no more cases come: the gate's default, "pass" for
    regression (no drop shown), "not-non-inferior" for non-inferiority (none ruled out)."""
    return "pass" if gate == "regression" else "not-non-inferior"


def _count(x: object) -> bool:
    """A whole number >= 1 (not a bool, a float or NaN)."""
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool) and bool(x >= 1)


@dataclass(frozen=True, slots=True)
class Look:
    """One candidate after a batch: the interval so far and whether the verdict is settled.

    `verdict` is None while open, else "regression", "pass" or "not-non-inferior".
    `decided_by`: "sequence" (the confidence sequence settled it), "fixed-n"
    (the suite ran out and `compare` on every case decided) or "end" (the suite
    ran out: the gate's default, pass for regression, not-non-inferior for NI).
    `ci_low` / `ci_high` are the sequence's (valid at every look), `confidence`
    its two-sided level after the split over candidates.
    """

    settled: bool
    verdict: str | None
    decided_by: str | None
    reason: str
    ci_low: float
    ci_high: float
    mean: float
    n_seen: int
    n_total: int | None
    method: str
    confidence: float
    gate: str
    margin: float

    def to_dict(self) -> dict[str, float | int | str | bool | None]:
        """Every field, JSON-safe."""
        return asdict(self)


class SequentialTest:
    """One candidate against the baseline, batch by batch, until its verdict is settled.

    Settling rules (the sequence's ends, each side at (1 - confidence) / (2 k)):

    - regression gate: "regression" once the upper end is below 0; "pass" once the
      lower end is above -margin (margin > 0): a drop of `margin` is ruled out, which
      is what the run is sized to detect (`cases_needed`), so more cases could at
      most show a smaller drop than the run was asked to find.
    - non-inferiority: "pass" once the lower end is above -margin; "not-non-inferior"
      once the upper end is below -margin: the candidate is then shown worse than the
      margin, and no number of further cases can pass it (futility).
    - at the last case (`n_total`) while still open: `final="fixed-n"` gives
      `compare`'s verdict on every case, at confidence 1 - (1 - confidence) / k;
      `final="cs"` the gate's default. The fixed-n fallback is a second chance to
      reject, so its error is the sequence's plus the fixed-n test's
      (bench_sequential.py measures the sum above the nominal rate: hence the
      default "cs"). A run continuing an earlier one must use "cs".

    The sequence is wider than the fixed-n interval at the same n (the price of being
    valid at every look; tests check it), but it is not always around it: the running
    intersection keeps an end an early look set. What carries over to the full run is
    the error rate, not the verdict case by case: a settled verdict is wrong with
    probability at most the gate's tail, however many looks were taken.
    """

    def __init__(
        self,
        gate: Gate = "regression",
        margin: float = 0.0,
        confidence: float = 0.95,
        n_total: int | None = None,
        candidates: int = 1,
        *,
        population: Population = "cases",
        final: Final = "cs",
    ) -> None:
        if gate not in ("regression", "non-inferiority"):
            raise ValueError(f"gate must be 'regression' or 'non-inferiority', got {gate!r}")
        if not 0 <= margin < 1 or (gate == "non-inferiority" and margin <= 0):
            raise ValueError(f"margin must be in [0, 1) (> 0 for non-inferiority), got {margin}")
        if not 0 < confidence < 1 or not _count(candidates):
            raise ValueError("confidence must be in (0, 1) and candidates a whole number >= 1")
        if n_total is not None and not _count(n_total):  # 0 cases would settle on nothing
            raise ValueError(f"n_total must be a whole number of cases >= 1, got {n_total!r}")
        if population == "suite" and n_total is None:
            raise ValueError("population 'suite' needs n_total")
        if final not in ("fixed-n", "cs") or population not in ("cases", "suite"):
            raise ValueError(f"bad final {final!r} or population {population!r}")
        self.gate, self.margin, self.confidence = gate, margin, confidence
        self.n_total, self.candidates, self.final = n_total, candidates, final
        tail = (1 - confidence) / 2 / candidates
        wor = n_total if population == "suite" else None
        horizon = None if n_total is None else n_total / 2
        self.cs = ConfidenceSequence(
            tail, boundaries=(0.0, -margin, margin), n_total=wor, horizon=horizon
        )
        self._deltas: list[FloatArray] = []
        self._kind: ScoreKind = "binary"  # the least special kind of every batch so far
        self._look = self._judge()

    @property
    def look(self) -> Look:
        return self._look

    def to_state(self) -> dict[str, Any]:
        """The sequence so far, JSON-able: `resume` carries it into a later run."""
        return {"cs": self.cs.to_state()}

    def resume(self, state: Mapping[str, Any]) -> Look:
        """Continue the sequence `to_state` saved: the next cases add to the same capital.

        Valid as one sequence when each case is counted once and the new cases are
        draws from the same population as the earlier ones (Ville's inequality bounds
        the crossing at any time, across runs, whatever made the run continue).
        """
        if self.final != "cs":
            raise ValueError("a continued sequence must end on itself (final='cs')")
        cs = ConfidenceSequence.from_state(state["cs"])
        if cs.tail != self.cs.tail or (self.n_total is not None and cs.n > self.n_total):
            raise ValueError("the saved sequence is of another level or a larger suite")
        self.cs = cs
        self._look = self._judge()
        return self._look

    def update(self, baseline: Scores, candidate: Scores) -> Look:
        """The next batch of cases in asking order: per-case scores (or their repeats)."""
        if self._look.settled:
            raise ValueError(f"already settled: {self._look.reason}")
        if len(baseline) == 0 and len(candidate) == 0:
            return self._look
        deltas, kind = paired_deltas(baseline, candidate)
        if self.n_total is not None and self.cs.n + deltas.size > self.n_total:
            raise ValueError(f"more than the suite's {self.n_total} cases")
        self.cs.update(deltas)
        self._kind = max(self._kind, kind, key=SCORE_KINDS.index)
        if self.final == "fixed-n":  # kept only for the fallback at the last case
            self._deltas.append(deltas)
        self._look = self._judge()
        return self._look

    def _judge(self) -> Look:
        cs, margin = self.cs, self.margin
        verdict, reason = None, f"open after {cs.n} cases"
        if self.gate == "regression" and cs.excludes_at_or_above(0.0):
            verdict, reason = "regression", "the sequence's upper end is below 0"
        elif cs.n and margin > 0 and cs.excludes_at_or_below(-margin):
            verdict, reason = "pass", f"the sequence's lower end is above -{margin:g}"
        elif self.gate == "non-inferiority" and cs.excludes_at_or_above(-margin):
            verdict, reason = "not-non-inferior", f"the sequence's upper end is below -{margin:g}"
        decided_by = None if verdict is None else "sequence"
        if verdict is None and self.n_total is not None and cs.n >= self.n_total:
            verdict, decided_by, reason = self._at_the_end()
        if verdict is not None and decided_by == "sequence":
            reason = f"verdict settled after {cs.n} of {self.n_total or '?'} cases: {reason}"
        return self._make_look(verdict, decided_by, reason)

    def _at_the_end(self) -> tuple[str, str, str]:
        """The verdict when the suite runs out with the sequence still open."""
        if self.final == "cs":
            verdict = end_verdict(self.gate)
            return verdict, "end", "the suite ran out with the sequence open"
        deltas = np.concatenate(self._deltas)
        result = compare_deltas(
            deltas,
            self._kind,
            self.gate,
            self.margin,
            1 - (1 - self.confidence) / self.candidates,
        )
        if result.too_few:  # no fixed-n test on so few cases: the gate's default, as "cs"
            verdict = end_verdict(self.gate)
            return verdict, "end", f"the suite ran out; {result.reason}"
        return result.verdict, "fixed-n", f"the fixed-n test on all {deltas.size} cases"

    def _make_look(self, verdict: str | None, decided_by: str | None, reason: str) -> Look:
        cs = self.cs
        return Look(
            settled=verdict is not None,
            verdict=verdict,
            decided_by=decided_by,
            reason=reason,
            ci_low=cs.low,
            ci_high=cs.high,
            mean=2 * cs.total / cs.n - 1 if cs.n else 0.0,
            n_seen=cs.n,
            n_total=self.n_total,
            method=cs.method,
            confidence=1 - 2 * cs.tail,
            gate=self.gate,
            margin=self.margin,
        )
