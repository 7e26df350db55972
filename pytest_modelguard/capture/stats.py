"""``modelguard traces stats``: calls, models, cost, tokens, latency and errors of a database."""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .read import EVERYTHING, TraceDb, TraceFilter

_COLUMNS = (
    "started_at", "provider", "host", "model", "input_tokens", "output_tokens", "cost_usd",
    "latency_s", "tags", "error",
)  # fmt: skip
IMPORTED = "import"
"""The host of calls ``modelguard import`` wrote."""


@dataclass(slots=True)
class Tally:
    """Totals over a group of calls; cost and latency over the calls where they are known."""

    calls: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    usage_unknown: int = 0
    usage_unknown_imported: int = 0
    cost_usd: float = 0.0
    cost_unknown: int = 0
    latency_unknown: int = 0
    latencies: list[float] = field(default_factory=list)

    def add(self, row: dict[str, Any]) -> None:
        self.calls += 1
        self.errors += row["error"] is not None
        if row["latency_s"] is None:
            self.latency_unknown += 1
        else:
            self.latencies.append(float(row["latency_s"]))
        if row["input_tokens"] is None:
            self.usage_unknown += row["error"] is None
            self.usage_unknown_imported += row["error"] is None and row["host"] == IMPORTED
        else:
            self.input_tokens += row["input_tokens"]
            self.output_tokens += row["output_tokens"]
        if row["cost_usd"] is None:
            self.cost_unknown += row["error"] is None
        else:
            self.cost_usd += row["cost_usd"]

    def latency(self, q: float) -> float | None:
        """The ``q`` quantile of latency (nearest rank), None without calls."""
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls, "errors": self.errors,
            "input_tokens": self.input_tokens, "output_tokens": self.output_tokens,
            "usage_unknown": self.usage_unknown, "cost_usd": round(self.cost_usd, 8),
            "cost_unknown": self.cost_unknown, "latency_unknown": self.latency_unknown,
            "latency_p50_s": self.latency(0.5), "latency_p95_s": self.latency(0.95),
        }  # fmt: skip


@dataclass(slots=True)
class Summary:
    """A traces database summed up: overall, per model, and calls per tag."""

    total: Tally = field(default_factory=Tally)
    models: dict[str, Tally] = field(default_factory=dict)
    tags: Counter[str] = field(default_factory=Counter)
    first: float | None = None
    last: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "first": _iso(self.first),
            "last": _iso(self.last),
            **self.total.to_dict(),
            "models": {name: tally.to_dict() for name, tally in sorted(self.models.items())},
            "tags": dict(sorted(self.tags.items())),
        }


def summarize(db: TraceDb, where: TraceFilter = EVERYTHING) -> Summary:
    """Sum the calls matching ``where``."""
    summary = Summary()
    for row in db.scan(_COLUMNS, where):
        summary.total.add(row)
        summary.models.setdefault(f"{row['provider']}:{row['model']}", Tally()).add(row)
        summary.tags.update(json.loads(row["tags"]) or ["(untagged)"])
        summary.first = row["started_at"] if summary.first is None else summary.first
        summary.last = row["started_at"]
    return summary


def _iso(when: float | None) -> str | None:
    return None if when is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when))


def _tokens(n: int) -> str:
    return f"{n / 1000:.1f}k" if n >= 10_000 else str(n)


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _row(name: str, t: Tally) -> str:
    cost = f"{t.cost_usd:.4f}" + ("+?" if t.cost_unknown else "")
    return (
        f"{name:<40} {t.calls:>7} {t.errors:>6} {_tokens(t.input_tokens):>9} "
        f"{_tokens(t.output_tokens):>9} {cost:>10} {_seconds(t.latency(0.5)):>6} "
        f"{_seconds(t.latency(0.95)):>6}"
    )


def format_summary(path: str, summary: Summary) -> str:
    """The terminal table of ``modelguard traces stats``."""
    total = summary.total
    if not total.calls:
        return f"{path}: no calls match"
    share = 100 * total.errors / total.calls
    lines = [
        f"{path}: {total.calls} calls from {_iso(summary.first)} to {_iso(summary.last)}, "
        f"{total.errors} error{'' if total.errors == 1 else 's'} ({share:.1f}%)",
        "",
        f"{'model':<40} {'calls':>7} {'errors':>6} {'in tok':>9} {'out tok':>9} {'cost $':>10} "
        f"{'p50 s':>6} {'p95 s':>6}",
    ]
    lines += [_row(name, tally) for name, tally in sorted(summary.models.items())]
    if len(summary.models) > 1:
        lines.append(_row("total", total))
    lines.append("")
    lines.append("tags: " + ", ".join(f"{tag} {n}" for tag, n in summary.tags.most_common()))
    if total.cost_unknown or total.usage_unknown:
        lines.append(
            f"cost unknown for {total.cost_unknown} answered calls (+? above): {_why(total)}"
        )
    if total.latency_unknown:
        lines.append(
            f"latency unknown for {total.latency_unknown} calls (imported JSONL and Batch "
            "records carry no timing); p50 and p95 are over the others"
        )
    return "\n".join(lines)


def _why(total: Tally) -> str:
    """Why cost is unknown: usage not reported (captured or imported), or no price known."""
    captured = total.usage_unknown - total.usage_unknown_imported
    unpriced = max(0, total.cost_unknown - total.usage_unknown)
    causes = [
        (captured, "captured without usage (OpenAI streams without include_usage)"),
        (total.usage_unknown_imported, "imported without token counts (the records had none)"),
        (unpriced, "with usage but no built-in price for the model"),
    ]
    return "; ".join(f"{n} {cause}" for n, cause in causes if n)
