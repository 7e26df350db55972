"""Words the whole code base shares: gate rules and interval methods. Pure."""

from __future__ import annotations

from typing import Literal, get_args

Gate = Literal["regression", "non-inferiority"]
GATES: tuple[Gate, ...] = get_args(Gate)
Interval = Literal["auto", "bca"]  # auto: the score or floored t interval; bca: the bootstrap
INTERVALS: tuple[Interval, ...] = get_args(Interval)
