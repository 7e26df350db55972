"""The terminal summary: one row per model, then the reasons and notes."""

from __future__ import annotations

from ..gate import GateReport, ModelSummary
from ..spend import DryRunLine

HEADERS = (
    "model", "n", "score", "delta [CI]", "p", "pass", "$/answer", "vs base", "total $", "tokens",
    "p50/p95 s", "verdict",
)  # fmt: skip
RIGHT = {"n", "score", "p", "pass", "$/answer", "vs base", "total $", "tokens", "p50/p95 s"}


def summary_lines(report: GateReport, title: str) -> list[str]:
    """The summary table, reasons under it, and the run's verdict line."""
    rows = [HEADERS] + [_row(s) for s in report.models.values()]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADERS))]
    lines = [title, ""]
    for row in rows:
        cells = [
            cell.rjust(width) if header in RIGHT else cell.ljust(width)
            for cell, width, header in zip(row, widths, HEADERS, strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
    reasons = [(s.name, r) for s in report.models.values() for r in s.reasons]
    reasons += [(s.name, _outliers(s)) for s in report.models.values() if s.token_outliers]
    reasons += [
        (s.name, "dimensions: " + ", ".join(f"{k} {v:.3f}" for k, v in s.dimensions.items()))
        for s in report.models.values()
        if s.dimensions
    ]
    reasons += [
        (s.name, f"llm_judge cost {_money(s.judge_cost_usd)} (not in the model's cost)")
        for s in report.models.values()
        if s.judge_cost_usd != 0
    ]
    if reasons:
        lines.append("")
        lines += [f"{name}: {reason}" for name, reason in reasons]
    lines += [f"note: {note}" for note in report.notes]
    return lines


def verdict_line(report: GateReport) -> str:
    """The run's verdict; when it passes, the cheapest candidate that passed."""
    failing = [s for s in report.models.values() if s.verdict not in ("pass", "baseline")]
    if report.failed:
        named = ", ".join(f"{s.name} ({s.verdict})" for s in failing)
        return f"modelguard gate FAILED: {named}"
    passing = [
        s for s in report.models.values()
        if s.verdict == "pass" and s.cost_vs_baseline is not None and s.cost_vs_baseline < 1
    ]  # fmt: skip
    if not passing:
        return "modelguard gate passed"
    best = min(passing, key=lambda s: s.cost_vs_baseline or 0.0)
    saving = 1 - (best.cost_vs_baseline or 0.0)
    return (
        f"modelguard gate passed: {best.name} shows no significant quality drop "
        f"at {saving:.0%} less per answer"
    )


def _row(s: ModelSummary) -> tuple[str, ...]:
    return (
        s.name,
        str(s.n) + (f"+{s.errors}err" if s.errors else ""),
        _num(s.mean_score, "{:.3f}"),
        _delta(s),
        _num(
            s.p_adjusted if s.p_adjusted is not None else (s.delta.p_value if s.delta else None),
            "{:.3f}",
        ),
        _num(s.pass_rate, "{:.0%}"),
        _money(s.cost_per_case_usd),
        _ratio(s.cost_vs_baseline),
        _money(s.cost_usd),
        _tokens(s.input_tokens + s.output_tokens),
        _latency(s.latency_p50_s, s.latency_p95_s),
        s.verdict,
    )


def _outliers(s: ModelSummary) -> str:
    shown = ", ".join(
        f"{o.case_id} ({o.tokens} tokens, {o.times_median:.0f}× median)"
        for o in s.token_outliers[:3]
    )
    more = f" and {len(s.token_outliers) - 3} more" if len(s.token_outliers) > 3 else ""
    return f"token outliers: {shown}{more}"


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value - 1:+.0%}"


def _num(value: float | None, fmt: str) -> str:
    return "—" if value is None else fmt.format(value)


def _delta(s: ModelSummary) -> str:
    d = s.delta
    if d is None:
        return "—"
    return f"{d.mean:+.3f} [{d.ci_low:+.3f}, {d.ci_high:+.3f}]"


def _money(value: float | None) -> str:
    if value is None:
        return "unknown"
    if value == 0:
        return "0"
    return f"{value:.2g}" if value < 0.001 else f"{value:.4f}"


def _tokens(count: int) -> str:
    if count >= 1_000_000:
        return f"{count / 1_000_000:.1f}M"
    return f"{count / 1000:.1f}k" if count >= 10_000 else str(count)


def _latency(p50: float | None, p95: float | None) -> str:
    if p50 is None or p95 is None:
        return "—"
    return f"{p50:.2f}/{p95:.2f}"


def dry_run_lines(lines: list[DryRunLine], record: str) -> list[str]:
    """The dry run's table: per model, calls to make and the most they can cost."""
    out = [f"modelguard dry run (record {record}): nothing is called, nothing is written"]
    width = max([len(line.model) for line in lines] + [5])
    for line in lines:
        cost = "unknown price" if line.max_cost_usd is None else f"at most ${line.max_cost_usd:.4f}"
        counts = f"{line.uncached:>6} to call  {line.cached:>6} recorded"
        out.append(f"  {line.model.ljust(width)}  {counts}  {cost}")
    total = [line.max_cost_usd for line in lines]
    if None not in total:
        out.append(f"  total: at most ${sum(t for t in total if t is not None):.4f}")
    if record == "none":
        out.append("  record mode none calls nothing: add --modelguard-record once to record these")
    return out
