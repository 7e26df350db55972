"""Drift as change detection: nights against one reference run, a late drop seen. Pure.

An average over every night since the reference dilutes a drop that starts late (issue
#24: a 0.1 drop after 10 steady nights was found in 8 % of histories). `DriftDetector`
is instead an e-detector (Shin, Ramdas & Rinaldo 2023, "E-detectors: a nonparametric
framework for sequential change detection"): for every night k a drop may have started
on, a betting e-process over the nights from k on, tested against the model's level
*before* k; their mixture over k (weight 1 / (k (k + 1))) and over a few stakes is a
nonnegative supermartingale while the model has not dropped, so by Ville's inequality
it ever crosses 1 / alpha with probability at most alpha, however many nights come.

The level before k (the model's mean score) is bounded below by the larger of two
bounds, each valid at every night: the reference run's own luck (Chernoff-Hoeffding for
a mean of N independent scores in [0, 1]) and a betting confidence sequence over the
nights before k against the reference (`ConfidenceSequence`, one stake per night). A
night's bets are on its per-case scores minus a running per-case anchor (each case's
mean over the reference and the earlier nights; predictable, so it changes the
variance, not the validity). Beside it, each night alone is tested against the
reference run with both as draws of the model (no bound on the reference's luck
needed: a large drop right after the reference shows that night), at its weight
1 / (t (t + 1)) of its share (a union over nights). Each side's (1 - confidence) / 2 is
split: 15 % the reference's luck, 15 % the level's sequence, 50 % the detector, 20 %
the nights alone; "improved" mirrors it.

The guarantee: a model that has not changed since the reference run is called
"degraded" with probability at most (1 - confidence) / 2 over every night to come. A
model that improved and later fell back can be called "degraded": the fall is real.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ..inference.bootstrap import FloatArray
from ..inference.compare import Scores, paired_deltas
from ..inference.sequential import ConfidenceSequence
from .drift_detect_state import checked_state

DEGRADED, IMPROVED, STEADY = "degraded", "improved", "steady"
STAKES = np.array([1 / 16, 1 / 8, 1 / 4, 1 / 2, 3 / 4])  # shares of the largest safe stake
GRID_POINTS = 201  # the level's sequence: steps of 0.01 on [-1, 1] (ends rounded outwards)
MAX_STARTS = 120  # nights a drop is looked for as having started on: the latest ones
_SPLIT = {"reference": 0.15, "level": 0.15, "detector": 0.5, "alone": 0.2}
_EDGE = 1e-9
_BISECTIONS = 20  # ends and drops to about 1e-6
METHOD = "betting-cs-night+chernoff-reference"  # tonight's interval (the status: e-detector)


@dataclass(frozen=True, slots=True)
class DriftLook:
    """Tonight against the reference run, and the watch's status so far.

    `mean` is tonight's mean per-case delta against the reference run, `ci_low` /
    `ci_high` tonight's interval for the drift (the model now minus the model at the
    reference), valid over every night at once. `status` is the detector's (degraded
    and improved are kept once seen); `since` the night the change most likely began;
    `visible_drop` (steady nights) the smallest drop in tonight's mean score that
    would have made tonight's look say "degraded" (None: none would have).
    """

    status: str
    ci_low: float
    ci_high: float
    mean: float
    nights: int
    n_cases: int
    reference_error: tuple[float, float]
    method: str
    confidence: float
    since: int | None
    visible_drop: float | None

    def to_dict(self) -> dict[str, Any]:
        """Every field, JSON-safe."""
        return asdict(self)


class DriftDetector:
    """One model's nights against one fixed reference run (its per-case scores)."""

    def __init__(self, reference: Scores, confidence: float = 0.95) -> None:
        if not 0 < confidence < 1:
            raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
        means, _ = paired_deltas(np.zeros(len(reference)), reference)
        self.reference: FloatArray = means
        self.confidence = confidence
        self.anchor: FloatArray = means.copy()
        self.nights = 0
        self.level = ConfidenceSequence(self._tail("level"), points=GRID_POINTS)
        self.reference_error = _chernoff_error(means, self._tail("reference"))
        self._interval_error = _chernoff_error(means, (1 - confidence) / 4)
        self.starts: list[int] = []
        self.bounds = np.zeros((0, 2))  # per start: the level's lower and upper bound
        self.log_e = np.zeros((0, 2, STAKES.size))  # per start: log e-values down, up
        self.degraded: int | None = None
        self.improved: int | None = None
        self.since: int | None = None
        self._tonight = self._look(0.0, None)

    def _tail(self, part: str) -> float:
        return (1 - self.confidence) / 2 * _SPLIT[part]

    @property
    def look(self) -> DriftLook:
        return self._tonight

    def add_night(self, scores: Scores) -> DriftLook:
        """This night's per-case scores, in the reference's case order."""
        if len(scores) != self.reference.size:
            raise ValueError(f"{len(scores)} cases tonight, {self.reference.size} in the reference")
        night, _ = paired_deltas(np.zeros(len(scores)), scores)
        self.nights += 1
        self._start_here()
        x = (night - self.anchor + 1) / 2
        down, up = self._bounds_now()
        before = self.log_e.copy()
        self.log_e[:, 0] += _log_e(x, down, up=False)
        self.log_e[:, 1] += _log_e(x, up, up=True)
        threshold = math.log(1 / self._tail("detector"))
        for side in (0, 1):
            alone = self._alone(night - self.reference, up=bool(side))
            if self._mixture(self.log_e[:, side]) >= threshold or alone:
                self._flag(side)
        visible = None
        if self.degraded is None and self.improved is None:
            weights = self._log_weights()[:, None]

            def shows(drop: float) -> bool:
                logs = weights + before[:, 0] + _log_e(x - drop / 2, down, up=False)
                mixed = np.logaddexp.reduce(logs.ravel()) - math.log(STAKES.size)
                return bool(mixed >= threshold) or self._alone(
                    night - self.reference - drop, up=False
                )

            visible = _visible_drop(shows)
        self._tonight = self._look(float(np.mean(night - self.reference)), visible, night)
        self.level.update(night - self.reference, per_batch_bet=True)
        self.anchor = (self.anchor * self.nights + night) / (self.nights + 1)
        self._prune()
        return self._tonight

    def _alone(self, deltas: FloatArray, *, up: bool) -> bool:
        """Tonight alone against the reference run, both as draws of the model: the paired
        deltas' mean is 0 while nothing changed. Each night's test is valid on its own
        (the reference is shared, so not as a product): its share of the budget is the
        night's weight 1 / (t (t + 1)), a union over nights."""
        t = self.nights
        threshold = math.log(t * (t + 1) / self._tail("alone")) + math.log(STAKES.size)
        logs = _log_e((deltas + 1) / 2, np.array([0.5]), up=up)[0]
        return bool(np.logaddexp.reduce(logs) >= threshold)

    def _start_here(self) -> None:
        """Tonight may be the first night of a change: its test of the level so far."""
        base = float(self.reference.mean())
        below, above = self.reference_error
        low, high = base - below, base + above
        if self.level.n:
            low, high = max(low, base + self.level.low), min(high, base + self.level.high)
        self.starts.append(self.nights)
        self.bounds = np.vstack([self.bounds, [[low, high]]])
        self.log_e = np.concatenate([self.log_e, np.zeros((1, 2, STAKES.size))])

    def _bounds_now(self) -> tuple[FloatArray, FloatArray]:
        """Per start, the null's boundary in tonight's x = (score - anchor + 1) / 2."""
        shift = float(self.anchor.mean())
        lows = np.clip((self.bounds[:, 0] - shift + 1) / 2, _EDGE, 1 - _EDGE)
        highs = np.clip((self.bounds[:, 1] - shift + 1) / 2, _EDGE, 1 - _EDGE)
        return lows, highs

    def _log_weights(self) -> FloatArray:
        k = np.asarray(self.starts, float)
        weights: FloatArray = -np.log(k * (k + 1))
        return weights

    def _mixture(self, log_e: FloatArray) -> float:
        """log of the mixture over starts (weights 1 / (k (k + 1))) and stakes (equal)."""
        terms = self._log_weights()[:, None] + log_e
        return float(np.logaddexp.reduce(terms.ravel())) - math.log(STAKES.size)

    def _flag(self, side: int) -> None:
        if side == 0 and self.degraded is None:
            self.degraded = self.nights
        elif side == 1 and self.improved is None:
            self.improved = self.nights
        else:
            return
        terms = np.logaddexp.reduce(self._log_weights()[:, None] + self.log_e[:, side], axis=1)
        self.since = self.starts[int(np.argmax(terms))]

    def _prune(self) -> None:
        """Keep the latest starts: dropping terms of the mixture only makes it smaller."""
        if len(self.starts) > MAX_STARTS:
            self.starts = self.starts[-MAX_STARTS:]
            self.bounds, self.log_e = self.bounds[-MAX_STARTS:], self.log_e[-MAX_STARTS:]

    def _look(
        self, mean: float, visible: float | None, night: FloatArray | None = None
    ) -> DriftLook:
        """The status so far, and tonight's interval: tonight's bets alone at its share
        (weight 1 / (t (t + 1)) of (1 - confidence) / 4 per side), widened by the
        reference's luck at (1 - confidence) / 4."""
        status = DEGRADED if self.degraded else IMPROVED if self.improved else STEADY
        t = self.nights
        below, above = self._interval_error
        low, high = -1.0, 1.0
        if night is not None:
            ends = _night_interval(
                night - self.reference, (1 - self.confidence) / 4 / (t * (t + 1))
            )
            low, high = max(-1.0, ends[0] - above), min(1.0, ends[1] + below)
        return DriftLook(
            status=status,
            ci_low=low,
            ci_high=high,
            mean=mean,
            nights=t,
            n_cases=self.reference.size,
            reference_error=self.reference_error,
            method=METHOD,
            confidence=self.confidence,
            since=self.since,
            visible_drop=visible,
        )

    def to_state(self) -> dict[str, Any]:
        """JSON-able state to carry to the next night (`from_state` reads it back)."""
        return {
            "reference": self.reference.tolist(),
            "anchor": self.anchor.tolist(),
            "confidence": self.confidence,
            "nights": self.nights,
            "level": self.level.to_state(),
            "starts": list(self.starts),
            "bounds": self.bounds.tolist(),
            "log_e": self.log_e.tolist(),
            "degraded": self.degraded,
            "improved": self.improved,
            "since": self.since,
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> DriftDetector:
        """The detector `to_state` saved; ValueError naming the field when it is not one."""
        checked = checked_state(state, stakes=STAKES.size, max_starts=MAX_STARTS)
        drift = cls(checked["reference"], checked["confidence"])
        drift.anchor = np.asarray(checked["anchor"], float)
        drift.nights = checked["nights"]
        drift.level = ConfidenceSequence.from_state(checked["level"])
        drift.starts = list(checked["starts"])
        drift.bounds = np.asarray(checked["bounds"], float).reshape(-1, 2)
        drift.log_e = np.asarray(checked["log_e"], float).reshape(-1, 2, STAKES.size)
        drift.degraded, drift.improved = checked["degraded"], checked["improved"]
        drift.since = checked["since"]
        drift._tonight = drift._look(0.0, None)
        return drift


def _log_e(x: FloatArray, m: FloatArray, *, up: bool) -> FloatArray:
    """Per start (boundary m) and stake: log prod_i of one night's betting factors.

    Down (null: the mean of x is at least m): 1 - c (x - m) / (1 - m); up (at most m):
    1 + c (x - m) / m. Each factor is at least 1 - c > 0; with independent cases and any
    per-case means whose average meets the null, the product's expectation is <= 1
    (AM-GM), so one stake for the whole night is valid.
    """
    dev = x[:, None, None] - m[None, :, None]
    scale = m[None, :, None] if up else (m[None, :, None] - 1)
    factors = 1 + STAKES[None, None, :] * dev / scale
    logs: FloatArray = np.log(factors).sum(axis=0)
    return logs


def _night_interval(deltas: FloatArray, tail: float) -> tuple[float, float]:
    """One night's interval for its mean delta (in [-1, 1]): the values the night's bets
    (mixed over the stakes) do not reject at `tail` per side. Each side's e-value is
    monotone in the value tested, so each end is found by bisection."""
    x = (deltas + 1) / 2
    threshold = math.log(1 / tail) + math.log(STAKES.size)

    def rejected(m: float, *, up: bool) -> bool:
        logs = _log_e(x, np.array([m]), up=up)[0]
        return bool(np.logaddexp.reduce(logs) >= threshold)

    def end(inside: float, outside: float, *, up: bool) -> float:
        if not rejected(outside, up=up):
            return outside
        for _ in range(_BISECTIONS):
            middle = (inside + outside) / 2
            inside, outside = (middle, outside) if not rejected(middle, up=up) else (inside, middle)
        return outside

    middle = float(np.clip(x.mean(), _EDGE, 1 - _EDGE))
    low, high = end(middle, _EDGE, up=True), end(middle, 1 - _EDGE, up=False)
    return 2 * low - 1, 2 * high - 1


def _visible_drop(shows: Callable[[float], bool]) -> float | None:
    """The smallest drop in tonight's mean score (every case's delta lowered by it) that
    `shows` (tonight's looks would have said "degraded"); None when no drop would have."""
    if not shows(1.0):
        return None
    low, high = 0.0, 1.0
    for _ in range(_BISECTIONS):
        middle = (low + high) / 2
        low, high = (low, middle) if shows(middle) else (middle, high)
    return high


def _chernoff_error(scores: FloatArray, tail: float) -> tuple[float, float]:
    """How far below and above its expectation a mean of independent [0, 1] scores may be.

    {p: n KL(mean || p) <= log(1 / tail)} on each side (bisection): the expectation
    lies within [mean - below, mean + above] except with probability `tail` per side
    (Hoeffding 1963, Thm 1: any spread of per-case means).
    """
    n, mean = scores.size, float(scores.mean())
    budget = math.log(1 / tail) / n

    def kl(a: float, p: float) -> float:
        left = a * math.log(a / p) if a > 0 else 0.0
        right = (1 - a) * math.log((1 - a) / (1 - p)) if a < 1 else 0.0
        return left + right

    def bound(inside: float, outside: float) -> float:
        for _ in range(60):
            middle = (inside + outside) / 2
            inside, outside = (middle, outside) if kl(mean, middle) <= budget else (inside, middle)
        return outside

    low_p = bound(mean, 0.0) if mean > 0 else 0.0
    high_p = bound(mean, 1.0) if mean < 1 else 1.0
    return mean - low_p, high_p - mean
