"""Money this run may spend on uncached calls: estimates before a call, the cap while calling."""

from __future__ import annotations

import contextlib
import json
import math
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

from ..core.formatting import money
from ..records.calls import Completion, Request
from ..records.parts import estimated_tokens, is_media, media_parts
from ..records.pricing import Price

DEFAULT_MAX_OUTPUT_TOKENS = 1024
CHARS_PER_TOKEN = 4


def estimated_input_tokens(request: Request) -> int:
    """A rough prompt size: characters / 4, plus a little framing per message; images,
    audio and files by their size (``parts.estimated_tokens``), never by their base64."""
    chars = sum(len(_text(m.get("content", ""))) for m in request.messages)
    media = sum(estimated_tokens(part) for part in media_parts(request.messages))
    return math.ceil(chars / CHARS_PER_TOKEN) + 4 * len(request.messages) + media


def _text(content: Any) -> str:
    """The content as the estimate counts it, media parts left out."""
    if isinstance(content, list):
        return str([p for p in content if not is_media(p)])
    return str(content)


def worst_case_cost(request: Request, price: Price) -> float:
    """The most one call can cost: its prompt plus ``max_tokens`` (1,024 when unset) of output."""
    limit = request.params.get("max_tokens") or request.params.get("max_completion_tokens")
    output = int(limit) if isinstance(limit, int | float) else DEFAULT_MAX_OUTPUT_TOKENS
    fresh = estimated_input_tokens(request)
    return (fresh * price.input + output * price.output) / 1_000_000


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Ledger:
    """The money every process recording into one cache spends, kept in one JSON file.

    Each process (a run, or one xdist worker of it: its ``run_id`` is the controller's) keeps
    one record: what it ``spent`` and what it ``held`` in reservations for calls in flight.
    The cap applies to the pool: the sum over every record. A record stays in the pool while
    any process in it is alive and not finished, so two overlapping runs share one cap; once
    all have ended the pool starts empty, except for the records of this process's own run: a
    worker that starts after its siblings have finished still counts what they spent. A
    killed process's reservations are dropped at the next access (its pid is gone), so it
    never blocks later runs. Every access holds an exclusive ``flock`` on
    ``path + '.lock'``; the file is replaced atomically.
    """

    def __init__(self, path: str, run_id: str) -> None:
        self.path = path
        self.run_id = run_id
        self.me = f"{os.getpid()}:{run_id}"

    def reserve(self, worst: float, limit: float) -> tuple[float, float] | None:
        """Hold ``worst`` when the pool stays within ``limit``; else the pool's spend so far
        and what its calls in flight hold."""
        with self._records() as records:
            mine = records.setdefault(self.me, {"spent": 0.0, "held": 0.0, "done": False})
            total = sum(r["spent"] + r["held"] for r in records.values())
            if total + worst > limit:
                spent = float(sum(r["spent"] for r in records.values()))
                return spent, float(total - spent)
            mine["held"] += worst
            return None

    def settle(self, held: float, cost: float) -> None:
        """Release a reservation of ``held`` and add what the call cost."""
        with self._records() as records:
            mine = records.setdefault(self.me, {"spent": 0.0, "held": 0.0, "done": False})
            mine["held"] = max(0.0, mine["held"] - held)
            mine["spent"] += cost

    def leave(self) -> None:
        """This process is finished: its spend still counts while the pool lives."""
        with self._records() as records:
            if self.me in records:
                records[self.me].update(held=0.0, done=True)

    @contextlib.contextmanager
    def _records(self) -> Iterator[dict[str, dict[str, Any]]]:
        fd = os.open(self.path + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            records = _live_pool(self._read(), self.run_id)
            yield records
            tmp = f"{self.path}.{os.getpid()}.tmp"
            with open(tmp, "w", encoding="utf-8") as handle:
                json.dump(records, handle)
            os.replace(tmp, self.path)
        finally:
            os.close(fd)  # drops the lock

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            with open(self.path, encoding="utf-8") as handle:
                data = json.load(handle)
        except (FileNotFoundError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}


def _live_pool(records: dict[str, dict[str, Any]], run_id: str) -> dict[str, dict[str, Any]]:
    """The records that still count, with the reservations of ended processes dropped: all
    of them while a process in the pool is alive and not finished, else those of ``run_id``."""
    live = {me for me, r in records.items() if not r.get("done") and _alive(int(me.split(":")[0]))}
    if not live:
        records = {me: r for me, r in records.items() if me.split(":", 1)[1] == run_id}
    for me, record in records.items():
        if me not in live:
            record["held"] = 0.0
    return records


@dataclass
class SpendCap:
    """Stops launching calls once the next one could cross ``limit_usd``.

    Each launch reserves its worst-case cost; the answer's real cost replaces the
    reservation. A model without a known price cannot be capped, so it is refused.
    With a ``ledger`` the cap holds across processes (xdist workers, concurrent runs
    recording into the same cache); without one, for this process only.
    """

    limit_usd: float
    prices: Mapping[tuple[str, str], Price | None]  # (provider, model) → price
    ledger: Ledger | None = None
    batch_prices: Mapping[tuple[str, str], Price | None] = field(default_factory=dict)
    spent_usd: float = 0.0
    reserved_usd: float = 0.0
    refused: int = 0
    _holds: dict[str, float] = field(default_factory=dict)

    def _price(self, request: Request, batch: bool) -> Price | None:
        return (self.batch_prices if batch else self.prices).get((request.provider, request.model))

    def try_reserve(self, request: Request, batch: bool = False) -> str | None:
        """Reserve the call's worst case (at the batch price for a ``batch`` request); None
        when allowed, else why it is refused."""
        price = self._price(request, batch)
        if price is None:
            self.refused += 1
            return (
                f"spend cap: no known price for {request.provider}:{request.model}, so "
                "max_spend_usd cannot bound it; set price on an alias"
            )
        worst = worst_case_cost(request, price)
        refusal = self._pool_refusal(worst)
        if refusal is not None:
            self.refused += 1
            spent, held = refusal
            by = " by the runs recording into this cache" if self.ledger else ""
            return (
                f"spend cap reached: {money(spent)} spent and {money(held)} reserved for calls "
                f"in flight{by}, of max_spend_usd {money(self.limit_usd)}; this call could cost "
                f"up to {money(worst)}. Answers already paid for are in the cache; raise the cap "
                "or rerun to continue"
            )
        self._holds[request.key()] = worst
        self.reserved_usd += worst
        return None

    def _pool_refusal(self, worst: float) -> tuple[float, float] | None:
        """None when ``worst`` fits under the cap (and is held), else (spent, reserved)."""
        if self.ledger is None:
            if self.spent_usd + self.reserved_usd + worst > self.limit_usd:
                return self.spent_usd, self.reserved_usd
            return None
        try:
            return self.ledger.reserve(worst, self.limit_usd)
        except OSError:  # no ledger, no proof the call fits: refuse
            return self.spent_usd, self.reserved_usd

    def settle(self, request: Request, completion: Completion | None) -> None:
        """Replace the reservation with what the call cost (nothing when it failed; at the
        batch price for an answer that came by batch)."""
        held = self._holds.pop(request.key(), 0.0)
        self.reserved_usd -= held
        price = self._price(request, completion is not None and completion.batch)
        cost = price.cost(completion.usage) if completion is not None and price is not None else 0.0
        self.spent_usd += cost
        if self.ledger is not None:
            with contextlib.suppress(OSError):  # held by a process that ends soon: dropped then
                self.ledger.settle(held, cost)

    def close(self) -> None:
        """This process spends no more (its spend counts until the pool's last run ends)."""
        if self.ledger is not None:
            with contextlib.suppress(OSError):
                self.ledger.leave()


@dataclass(frozen=True, slots=True)
class DryRunLine:
    """What one model would cost if its uncached requests were called."""

    model: str
    uncached: int
    cached: int
    max_cost_usd: float | None  # None: no known price
    later_steps: int = 0  # the most calls the agent cases to call may add after their first


def dry_run(
    requests: Mapping[str, Request],
    cached: set[str],
    names: Mapping[tuple[str, str], str],
    prices: Mapping[tuple[str, str], Price | None],
    later_steps: Mapping[str, int] | None = None,
) -> list[DryRunLine]:
    """Per model: requests to call and the most they can cost (prompt + max_tokens).

    ``later_steps``: per first request of an agent case, the most calls its later steps can
    add; counted for the first requests to call (their prompts are not known: not priced).
    """
    steps = later_steps or {}
    lines = []
    for ident, name in names.items():
        mine = {key: r for key, r in requests.items() if (r.provider, r.model) == ident}
        todo = {key: r for key, r in mine.items() if key not in cached}
        price = prices.get(ident)
        cost = None if price is None else sum(worst_case_cost(r, price) for r in todo.values())
        later = sum(steps.get(key, 0) for key in todo)
        lines.append(
            DryRunLine(name, len(todo), len(mine) - len(todo), cost if todo else 0.0, later)
        )
    return lines
