"""Words the whole code base shares: record modes, gate rules, interval methods. Pure."""

from __future__ import annotations

from enum import Enum
from typing import Literal, get_args

Gate = Literal["regression", "non-inferiority"]
GATES: tuple[Gate, ...] = get_args(Gate)
Interval = Literal["auto", "bca"]  # auto: the score or floored t interval; bca: the bootstrap
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
