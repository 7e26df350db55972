"""Words the whole code base shares: verdicts, evidence, gate rules, record modes, intervals. Pure.

``Verdict``, ``Evidence`` and ``GateRule`` are string enums: a member equals (and
hashes as) its text, so JSON reports, stored runs and comparisons with plain strings
are unchanged; option choices, report icons and gate messages are keyed by them.
"""

from __future__ import annotations

from enum import Enum, StrEnum
from typing import Literal, get_args


class GateRule(StrEnum):
    """Which test a candidate must pass (``--modelguard-gate``)."""

    REGRESSION = "regression"  # fail only on a significant drop
    NON_INFERIORITY = "non-inferiority"  # pass only when shown within the margin


class Verdict(StrEnum):
    """A model's verdict in a run."""

    BASELINE = "baseline"
    PASS = "pass"
    REGRESSION = "regression"  # CI wholly below 0
    NOT_NON_INFERIOR = "not-non-inferior"  # CI's lower end not above -margin
    INCONCLUSIVE = "inconclusive"  # too few cases: fails the non-inferiority gate only
    BUDGET = "budget"  # a budget is blown
    ERROR = "error"  # too many calls failed, or no case answered by both


FAILING: frozenset[Verdict] = frozenset(
    {Verdict.REGRESSION, Verdict.NOT_NON_INFERIOR, Verdict.BUDGET, Verdict.ERROR}
)
"""Verdicts that fail a run under any gate."""

PASSING: frozenset[Verdict] = frozenset({Verdict.PASS, Verdict.BASELINE})
"""Verdicts a report shows as fine: the baseline, and a candidate that passed."""


class Evidence(StrEnum):
    """What a paired delta's interval shows, whatever the gate."""

    SUPERIOR = "superior"  # low > 0
    EQUIVALENT = "equivalent"  # -margin < low, high < margin
    NON_INFERIOR = "non-inferior"  # low > -margin
    INFERIOR = "inferior"  # high < 0
    INCONCLUSIVE = "inconclusive"


Gate = Literal["regression", "non-inferiority"]  # GateRule's values, for typed callers' strings
GATES: tuple[Gate, ...] = get_args(Gate)
Interval = Literal["auto", "bca"]  # auto: a score or floored t interval; bca: the bootstrap
INTERVALS: tuple[Interval, ...] = get_args(Interval)


class RecordMode(str, Enum):
    """When the runner may call a model (SPEC §7)."""

    NONE = "none"  # never call: a missing answer is an error
    ONCE = "once"  # record what is missing
    NEW = "new"  # same as once: record missing, keep the rest
    ALL = "all"  # re-record everything

    @property
    def calls_misses(self) -> bool:
        return self is not RecordMode.NONE

    @property
    def rerecords(self) -> bool:
        """Whether every request is called again, cached or not."""
        return self is RecordMode.ALL
