"""Figures as every report prints them: money, percentages, p-values. Pure, no imports."""

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


def percent(fraction: float) -> str:
    """0.975 → '97.5%', 0.95 → '95%', 0.983333 → '98.33%'."""
    return f"{fraction * 100:.4g}%"


def p_value(p: float) -> str:
    """A p-value: '<0.001' below a thousandth, else three decimals."""
    return "<0.001" if p < 0.001 else f"{p:.3f}"
