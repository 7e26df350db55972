"""A file comparison as terminal lines, Markdown, and a JSON document. Pure."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from ..core.formatting import capped, p_value, percent, plural
from ..core.safety import printable
from .outcome import CaseDelta, FileComparison
from .table import ScoreTable

VERSION = 1
_ICONS = {"pass": "✅", "regression": "❌", "not-non-inferior": "❌", "inconclusive": "⚠️"}


def _side(table: ScoreTable) -> str:
    scorer = f", scorer {table.scorer}" if table.scorer != "score" else ""
    context = f", {table.context}" if table.context else ""
    return f"{table.path} ({table.kind}, {table.model}{scorer}{context})"


def _interval(result: FileComparison) -> str:
    c = result.comparison
    if c.too_few:
        return c.reason.removeprefix("inconclusive: ")
    p = "" if c.anytime else f", p = {p_value(c.p_value)}"
    return (
        f"Δ {c.mean:+.3f} [{c.ci_low:+.3f}, {c.ci_high:+.3f}] {percent(c.confidence)} CI{p}, "
        f"n = {c.n_pairs} ({c.method})"
    )


def _counts(result: FileComparison) -> list[str]:
    pairing = result.pairing
    repeats = {len(s) for s in pairing.base + pairing.candidate}
    spread = f"{min(repeats)}–{max(repeats)}" if len(repeats) > 1 else str(min(repeats))
    each = f", {spread} answers each" if repeats != {1} else ""
    lines = [
        f"{plural(pairing.n, 'case')} paired{each}; {len(pairing.only_base)} only in the base,"
        f" {len(pairing.only_candidate)} only in the candidate"
    ]
    for name, cases, table in (
        ("only in the base", pairing.only_base, result.base),
        ("only in the candidate", pairing.only_candidate, result.candidate),
    ):
        if cases:
            shown = ", ".join(printable(capped(table.label(c), 80)) for c in cases[:5])
            more = f" and {len(cases) - 5} more" if len(cases) > 5 else ""
            lines.append(f"  {name} (not compared): {shown}{more}")
    for table, side in ((result.base, "base"), (result.candidate, "candidate")):
        for why, n in sorted(table.left_out.items(), key=lambda item: -item[1]):
            lines.append(f"  {side}: {n} left out: {why}")
    return lines + [f"  note: {note}" for note in result.notes]


def text_lines(result: FileComparison, show: int = 10) -> list[str]:
    """What ``modelguard compare`` prints."""
    c = result.comparison
    base_mean = _mean_of(result.pairing.base)
    cand_mean = _mean_of(result.pairing.candidate)
    lines = [
        f"base:      {printable(_side(result.base))}",
        f"candidate: {printable(_side(result.candidate))}",
        *_counts(result),
        f"mean score on paired cases: base {base_mean:.3f}, candidate {cand_mean:.3f}",
        f"{c.gate} gate{_margin(result)}: {c.verdict.upper()} — {_interval(result)}",
    ]
    worst = [d for d in result.deltas() if d.delta != 0][:show]
    if worst:
        lines.append(f"cases behind the delta (largest drop first, {len(worst)} shown):")
        lines += [f"  {printable(capped(d.label, 80))}: {_row(d)}" for d in worst]
    return lines


def _margin(result: FileComparison) -> str:
    return f" (margin {result.comparison.margin:g})" if result.comparison.margin else ""


def _row(d: CaseDelta) -> str:
    return f"{d.base:.3f} → {d.candidate:.3f} ({d.delta:+.3f})"


def _mean_of(scores: tuple[tuple[float, ...], ...]) -> float:
    means = [sum(s) / len(s) for s in scores]
    return sum(means) / len(means)


def markdown(result: FileComparison, show: int = 10) -> str:
    """A PR-comment-ready summary of the comparison."""
    c = result.comparison
    icon = _ICONS.get(c.verdict, "")
    out = [
        f"### {icon} modelguard compare: {c.verdict}",
        "",
        f"- base: `{_md(_side(result.base))}`",
        f"- candidate: `{_md(_side(result.candidate))}`",
        f"- {c.gate} gate{_margin(result)}: {_interval(result)}",
        *[f"- {_md(line.strip())}" for line in _counts(result)],
    ]
    worst = [d for d in result.deltas() if d.delta != 0][:show]
    if worst:
        out += ["", "| case | base | candidate | Δ |", "|---|---:|---:|---:|"]
        out += [
            f"| {_md(capped(d.label, 80))} | {d.base:.3f} | {d.candidate:.3f} | {d.delta:+.3f} |"
            for d in worst
        ]
    return "\n".join(out) + "\n"


def _md(text: str) -> str:
    return printable(text).replace("|", "\\|").replace("`", "'")


def json_document(result: FileComparison) -> dict[str, Any]:
    """Every figure the lines show, and every paired case's scores."""
    return {
        "version": VERSION,
        "verdict": result.comparison.verdict,
        "failed": result.failed,
        "comparison": asdict(result.comparison),
        "base": _table(result.base, result.pairing.only_base),
        "candidate": _table(result.candidate, result.pairing.only_candidate),
        "notes": list(result.notes),
        "cases": [
            {
                "id": d.case,
                "label": d.label,
                "base": d.base,
                "candidate": d.candidate,
                "delta": d.delta,
            }
            for d in result.deltas()
        ],
    }


def _table(table: ScoreTable, unpaired: tuple[str, ...]) -> dict[str, Any]:
    return {
        "path": str(table.path),
        "kind": table.kind,
        "model": table.model,
        "scorer": table.scorer,
        "context": table.context or None,
        "cases": len(table.scores),
        "answers": table.answers,
        "unpaired": list(unpaired),
        "left_out": dict(table.left_out),
    }
