"""Figures and words as every message prints them: money, percentages, p-values,
plurals, near misses, answers with their tool calls. Pure, standard library only."""

from __future__ import annotations

import difflib
import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any


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


def plural(count: int, word: str, many: str | None = None) -> str:
    """'1 answer', '2 answers', '0 answers'; ``many`` for irregular words ('1 case', 'cases')."""
    return f"{count} {word if count == 1 else (many or word + 's')}"


def did_you_mean(word: object, choices: Iterable[object]) -> str:
    """`` (did you mean 'x'?)`` for a near miss among ``choices``, else ``''``."""
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def answer_shown(text: str | None, tool_calls: Iterable[Mapping[str, Any]] = ()) -> str:
    """An answer as reports show it: its text, then each tool call as
    ``→ name({arguments})``."""
    shown = [
        f"→ {c.get('name')}({json.dumps(c.get('arguments'), sort_keys=True, ensure_ascii=False)})"
        for c in tool_calls
    ]
    return " ".join([text or "", *shown]).strip()


def path_shown(steps: Iterable[Mapping[str, Any]], text: str, result_chars: int = 40) -> str:
    """An agent's path: ``→ name({arguments}) ⇒ result`` per tool call (each result cut to
    ``result_chars``), then ``→ "final answer"``."""
    parts = []
    for step in steps:
        for call in step.get("tool_calls") or ():
            arguments = json.dumps(call.get("arguments"), sort_keys=True, ensure_ascii=False)
            result = " ".join(str(call.get("result", "")).split())
            if len(result) > result_chars:
                result = result[: result_chars - 1] + "…"
            parts.append(f"→ {call.get('name')}({arguments}) ⇒ {result}")
    parts.append(f"→ {json.dumps(text, ensure_ascii=False)}")
    return " ".join(parts)


def steps_shown(steps: Iterable[Mapping[str, Any]], text: str) -> str:
    """An agent's path step by step, one line per tool call and one per result, then the
    final answer: the HTML case view's text."""
    lines = []
    for number, step in enumerate(steps, start=1):
        calls = step.get("tool_calls") or ()
        if step.get("text") and calls:
            lines.append(f"step {number}: {step['text']}")
        for call in calls:
            arguments = json.dumps(call.get("arguments"), sort_keys=True, ensure_ascii=False)
            lines.append(f"step {number}: → {call.get('name')}({arguments})")
            lines.append(f"        ⇒ {call.get('result', '')}")
        if not calls:
            lines.append(f"step {number}: {json.dumps(text, ensure_ascii=False)}")
    return "\n".join(lines)


SHOWN_CHARS = 64_000
"""Characters of one answer, tool-call argument or reason a report shows (the cache keeps all)."""


def size(n_bytes: int) -> str:
    """A size as reports say it: '900 B', '12.5 KB', '5.0 MB'."""
    if n_bytes < 1024:
        return f"{n_bytes} B"
    if n_bytes < 2**20:
        return f"{n_bytes / 1024:.1f} KB"
    return f"{n_bytes / 2**20:.1f} MB"


def capped(text: str, limit: int = SHOWN_CHARS) -> str:
    """``text`` whole up to ``limit`` characters, else its start and what was left out:
    ``… (5.0 MB, 4.9 MB not shown; answer_sha 3f2a…)``, the hash of the whole text (so
    two texts that differ past the cut still differ). Capping twice changes nothing."""
    if len(text) <= limit:
        return text
    whole = text.encode("utf-8", "surrogatepass")
    head = text[: max(0, limit - 200)]
    left = len(whole) - len(head.encode("utf-8", "surrogatepass"))
    digest = hashlib.sha256(whole).hexdigest()[:16]
    return f"{head}… ({size(len(whole))}, {size(left)} not shown; answer_sha {digest})"
