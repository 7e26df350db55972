"""Money this run may spend on uncached calls: estimates before a call, the cap while calling."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from .pricing import Price
from .providers.base import Completion, Request

DEFAULT_MAX_OUTPUT_TOKENS = 1024
CHARS_PER_TOKEN = 4


def estimated_input_tokens(request: Request) -> int:
    """A rough prompt size: characters / 4, plus a little framing per message."""
    chars = sum(len(str(m.get("content", ""))) for m in request.messages)
    return math.ceil(chars / CHARS_PER_TOKEN) + 4 * len(request.messages)


def worst_case_cost(request: Request, price: Price) -> float:
    """The most one call can cost: its prompt plus ``max_tokens`` (1,024 when unset) of output."""
    limit = request.params.get("max_tokens") or request.params.get("max_completion_tokens")
    output = int(limit) if isinstance(limit, int | float) else DEFAULT_MAX_OUTPUT_TOKENS
    fresh = estimated_input_tokens(request)
    return (fresh * price.input + output * price.output) / 1_000_000


@dataclass
class SpendCap:
    """Stops launching calls once the next one could cross ``limit_usd``.

    Each launch reserves its worst-case cost; the answer's real cost replaces the
    reservation. A model without a known price cannot be capped, so it is refused.
    """

    limit_usd: float
    prices: Mapping[tuple[str, str], Price | None]  # (provider, model) → price
    spent_usd: float = 0.0
    reserved_usd: float = 0.0
    refused: int = 0
    _holds: dict[str, float] = field(default_factory=dict)

    def try_reserve(self, request: Request) -> str | None:
        """Reserve the call's worst case; None when allowed, else why it is refused."""
        price = self.prices.get((request.provider, request.model))
        if price is None:
            self.refused += 1
            return (
                f"spend cap: no known price for {request.provider}:{request.model}, so "
                "max_spend_usd cannot bound it; set price on an alias"
            )
        worst = worst_case_cost(request, price)
        if self.spent_usd + self.reserved_usd + worst > self.limit_usd:
            self.refused += 1
            return (
                f"spend cap reached: ${self.spent_usd:.4f} spent of max_spend_usd "
                f"${self.limit_usd:.4f}; this call could cost up to ${worst:.4f}. Answers already "
                "paid for are in the cache; raise the cap or rerun to continue"
            )
        self._holds[request.key()] = worst
        self.reserved_usd += worst
        return None

    def settle(self, request: Request, completion: Completion | None) -> None:
        """Replace the reservation with what the call cost (nothing when it failed)."""
        self.reserved_usd -= self._holds.pop(request.key(), 0.0)
        price = self.prices.get((request.provider, request.model))
        if completion is not None and price is not None:
            self.spent_usd += price.cost(completion.usage)


@dataclass(frozen=True, slots=True)
class DryRunLine:
    """What one model would cost if its uncached requests were called."""

    model: str
    uncached: int
    cached: int
    max_cost_usd: float | None  # None: no known price


def dry_run(
    requests: Mapping[str, Request],
    cached: set[str],
    names: Mapping[tuple[str, str], str],
    prices: Mapping[tuple[str, str], Price | None],
) -> list[DryRunLine]:
    """Per model: requests to call and the most they can cost (prompt + max_tokens)."""
    lines = []
    for ident, name in names.items():
        mine = {key: r for key, r in requests.items() if (r.provider, r.model) == ident}
        todo = [r for key, r in mine.items() if key not in cached]
        price = prices.get(ident)
        cost = None if price is None else sum(worst_case_cost(r, price) for r in todo)
        lines.append(DryRunLine(name, len(todo), len(mine) - len(todo), cost if todo else 0.0))
    return lines
