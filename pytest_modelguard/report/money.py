"""Dollar amounts as every report shows them."""

from __future__ import annotations

import math


def money(value: float | None, symbol: str = "$") -> str:
    """Two significant figures for small amounts, never e-notation: $0.00042, $0.000021, $1.25."""
    if value is None:
        return "unknown"
    if value == 0:
        return f"{symbol}0"
    decimals = max(2, 1 - math.floor(math.log10(abs(value))))
    return f"{symbol}{value:,.{decimals}f}"
