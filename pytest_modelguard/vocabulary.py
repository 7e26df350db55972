"""Words the whole code base shares: the gate rules. Pure, no imports beyond typing."""

from __future__ import annotations

from typing import Literal, get_args

Gate = Literal["regression", "non-inferiority"]
GATES: tuple[Gate, ...] = get_args(Gate)
