"""Usage → USD. An alias's ``price`` wins; otherwise the maintained ``genai-prices`` table.

A model without a known price costs ``None`` (reported as unknown), never 0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .calls import Usage

PER_MILLION = 1_000_000
BATCH_DISCOUNT = {"openai": 0.5, "openai-responses": 0.5, "anthropic": 0.5}
"""Provider kind → the share of the standard price a batch answer costs, where genai-prices
has no batch tier for the model: OpenAI Batch and Anthropic Message Batches bill 50%."""


@dataclass(frozen=True, slots=True)
class Price:
    """USD per million tokens. Cache reads/writes default to the input price."""

    input: float
    output: float
    cached_input: float | None = None
    cache_write: float | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Price:
        """Build from a config mapping; raises ValueError naming the bad key."""
        allowed = ("input", "output", "cached_input", "cache_write")
        unknown = sorted(set(data) - set(allowed))
        if unknown:
            raise ValueError(f"unknown price key {unknown[0]!r} (allowed: {', '.join(allowed)})")
        for required in ("input", "output"):
            if required not in data:
                raise ValueError(f"price needs {required!r} (USD per million tokens)")
        values: dict[str, float] = {}
        for key, value in data.items():
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if not number or not 0 <= value < math.inf:
                raise ValueError(f"price.{key} must be a non-negative number, got {value!r}")
            values[key] = float(value)
        return cls(**values)

    def scaled(self, factor: float) -> Price:
        """Every rate times ``factor`` (a batch discount)."""
        cached = None if self.cached_input is None else self.cached_input * factor
        write = None if self.cache_write is None else self.cache_write * factor
        return Price(self.input * factor, self.output * factor, cached, write)

    def cost(self, usage: Usage) -> float:
        """The USD cost of one call with this usage."""
        cached = usage.cached_input_tokens
        written = usage.cache_write_tokens
        fresh = max(usage.input_tokens - cached - written, 0)
        cached_price = self.input if self.cached_input is None else self.cached_input
        write_price = self.input if self.cache_write is None else self.cache_write
        total = (
            fresh * self.input
            + cached * cached_price
            + written * write_price
            + usage.output_tokens * self.output
        )
        return total / PER_MILLION


def cost_usd(usage: Usage, price: Price | None) -> float | None:
    """Cost of one call, or None when the price is unknown."""
    return None if price is None else price.cost(usage)


@lru_cache(maxsize=256)
def table_price(provider_id: str, model: str, processing: str | None = None) -> Price | None:
    """The price of ``model`` at ``provider_id`` from genai-prices' bundled snapshot, if listed;
    ``processing="batch"``: its batch tier (the standard price where it lists none)."""
    try:
        from genai_prices import Usage as GenaiUsage
        from genai_prices import calc_price
    except ImportError:  # pragma: no cover - it is a dependency
        return None
    probe = {
        "input": GenaiUsage(input_tokens=PER_MILLION),
        "output": GenaiUsage(output_tokens=PER_MILLION),
        "cached_input": GenaiUsage(input_tokens=PER_MILLION, cache_read_tokens=PER_MILLION),
        "cache_write": GenaiUsage(input_tokens=PER_MILLION, cache_write_tokens=PER_MILLION),
    }
    prices: dict[str, float] = {}
    context = {"processing": processing} if processing else None
    try:
        for name, usage in probe.items():
            found = calc_price(usage, model, provider_id=provider_id, price_context=context)
            prices[name] = float(found.total_price)
    except (LookupError, ValueError, TypeError):  # TypeError: a genai-prices without contexts
        return None
    return Price(**prices)


def batch_price(standard: Price | None, table: Price | None, kind: str) -> Price | None:
    """What a batch answer costs: genai-prices' batch tier ``table`` when it is below the
    ``standard`` price, else the standard price at the kind's ``BATCH_DISCOUNT``."""
    if standard is None:
        return None
    if table is not None and table.input < standard.input:
        return table
    return standard.scaled(BATCH_DISCOUNT.get(kind, 1.0))
