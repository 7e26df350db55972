"""The terminal summary: one row per model, failing first, within 100 columns; then the reasons."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..core.formatting import answer_shown, money, p_value, path_shown, percent, plural
from ..engine.spend import DryRunLine
from ..records.results import ItemResult
from ..verdict.drift import DriftReport, ModelDrift
from ..verdict.gate import GateReport, ModelSummary
from ..verdict.planning import Plan
from .dimensions_table import dimensions_note

WIDTH = 100
"""The table never gets wider: columns are dropped, least important first, to fit."""
MODEL_WIDTH = 32


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    cell: Callable[[ModelSummary], str]
    rank: int  # the lower, the longer it stays when the table must shrink
    right: bool = True


COLUMNS = (
    Column("model", lambda s: _fit(s.name, MODEL_WIDTH), 0, right=False),
    Column("n", lambda s: str(s.n) + (f"+{s.errors}err" if s.errors else ""), 3),
    Column("score", lambda s: _num(s.mean_score, "{:.3f}"), 4),
    Column("delta [CI]", lambda s: _delta(s), 1, right=False),
    Column("p", lambda s: _p(s), 8),
    Column("pass", lambda s: _num(s.pass_rate, "{:.0%}"), 6),
    Column("steps", lambda s: _num(s.steps_per_case, "{:.1f}"), 6),  # agent cases only
    Column("$/answer", lambda s: _money(s.cost_per_case_usd), 2),
    Column("vs base", lambda s: _ratio(s.cost_vs_baseline), 5),
    Column("total $", lambda s: _money(s.cost_usd), 10),
    Column("tokens", lambda s: _tokens(s.input_tokens + s.output_tokens), 11),
    Column("p95 s", lambda s: _num(s.latency_p95_s, "{:.2f}"), 7),
    Column("evidence", lambda s: s.evidence or "—", 9, right=False),
    Column("verdict", lambda s: s.verdict, 0, right=False),
)
GAP = "  "


def failing_first(report: GateReport) -> list[ModelSummary]:
    """Failing models first (in the report's order), then the baseline and the passes."""
    models = list(report.models.values())
    return sorted(models, key=lambda s: s.fine)


def summary_rows(report: GateReport, width: int = WIDTH) -> list[tuple[ModelSummary | None, str]]:
    """The table's lines, each with the model it shows (None for the header), fitting ``width``."""
    models = failing_first(report)
    agents = any(s.steps_per_case is not None for s in models)
    present = [c for c in COLUMNS if agents or c.header != "steps"]
    cells = {c.header: [c.header] + [c.cell(s) for s in models] for c in present}
    widths = {c.header: max(map(len, cells[c.header])) for c in present}

    columns: list[Column] = []
    for column in sorted(present, key=lambda c: c.rank):  # most important first, while it fits
        used = sum(widths[c.header] + len(GAP) for c in columns)
        if used + widths[column.header] <= width or not columns:
            columns.append(column)
    columns.sort(key=COLUMNS.index)
    rows: list[tuple[ModelSummary | None, str]] = []
    for i, model in enumerate([None, *models]):
        line = GAP.join(
            cells[c.header][i].rjust(widths[c.header])
            if c.right
            else cells[c.header][i].ljust(widths[c.header])
            for c in columns
        )
        rows.append((model, line.rstrip()))
    return rows


def reason_lines(report: GateReport, width: int = WIDTH) -> list[str]:
    """Why each model got its verdict (failing models first), then what else to know."""
    models = failing_first(report)
    reasons = [(s.name, r) for s in models for r in s.reasons]
    reasons += [(s.name, _outliers(s)) for s in models if s.token_outliers]
    reasons += [(s.name, _step_spirals(s)) for s in models if s.step_outliers]
    reasons += [(s.name, line) for s in models for line in _dimensions(s)]
    reasons += [
        (s.name, f"llm_judge cost {money(s.judge_cost_usd)} (not in the model's cost)")
        for s in models
        if s.judge_cost_usd != 0
    ]
    lines = [f"{name}: {reason}" for name, reason in reasons]
    lines += [f"note: {note}" for note in report.notes]
    if any(s.dimension_deltas for s in models):
        sequential = any(s.sequential is not None for s in models)
        lines.append(f"note: {dimensions_note(sequential)}")
    return [
        part
        for line in lines
        for part in textwrap.wrap(line, width, subsequent_indent="  ", break_on_hyphens=False)
    ]


def _dimensions(s: ModelSummary) -> list[str]:
    """The dimensions' means on one line; a candidate's, one line each with delta, CI and p
    (a sequential run's: the delta alone)."""
    if not s.dimension_deltas:
        means = ", ".join(f"{k} {v:.3f}" for k, v in s.dimensions.items())
        return [f"dimensions: {means}"] if means else []
    width = max(map(len, s.dimensions))
    lines = []
    for name, mean in s.dimensions.items():
        d = s.dimension_deltas.get(name)
        if d is None:
            figures = ""
        elif s.sequential is not None:  # no CI or p after optional stopping (dimensions.py)
            figures = f"  {d.mean:+.3f}"
        else:
            figures = f"  {d.mean:+.3f} [{d.ci_low:+.3f}, {d.ci_high:+.3f}]  p {p_value(d.p_value)}"
        lines.append(f"dimension {name.ljust(width)}  {mean:.3f}{figures}")
    return lines


def verdict_lines(report: GateReport) -> list[str]:
    """One line per model, failing first: what ``-q`` shows above the run's verdict; a
    failing model's line keeps its delta, CI and first reason."""
    models = failing_first(report)
    width = max(len(s.verdict) for s in models)
    failing = [s for s in models if not s.fine]
    name_width = max((len(s.name) for s in failing), default=0)
    lines = []
    for s in models:
        line = f"{s.verdict.ljust(width)}  {s.name.ljust(name_width)}"
        if not s.fine:
            reason = s.reasons[0] if s.reasons else ""
            if s.delta is not None and "delta" not in reason:
                line += f"  delta {_delta(s)}  p {_p(s)}"
            if reason:
                line += f"  {reason}"
        lines.append(line.rstrip())
    return lines


WORST_CASES = 3
ANSWER_CHARS = 40
PATH_CHARS = 240


def worst_case_lines(
    results: Sequence[ItemResult], baseline: str, name: str, shown: int = WORST_CASES
) -> list[str]:
    """The candidate's ``shown`` worst drops below the baseline, each with both answers
    abridged and the checks that failed: what a reviewer reads before the figures."""
    base: dict[tuple[str, str], ItemResult] = {}
    for r in results:
        if r.model == baseline and r.score is not None:
            base.setdefault((r.suite, r.case_id), r)
    drops = []
    for r in results:
        b = base.get((r.suite, r.case_id))
        if r.model == name and r.score is not None and b is not None and r.score < b.score:  # type: ignore[operator]
            drops.append((r.score - b.score, r.suite, r.case_id, r.repeat, b, r))  # type: ignore[operator]
    if not drops:
        return []
    drops.sort(key=lambda d: d[:4])
    lines = [
        f"  {name}: the {min(shown, len(drops))} worst of "
        f"{plural(len(drops), 'case')} scored below the baseline:"
    ]
    for _drop, _suite, case_id, _repeat, b, r in drops[:shown]:
        failed = _failed_checks(r)
        lines.append(
            f"    {case_id}  {b.score:.2f} → {r.score:.2f}" + (f"  ({failed})" if failed else "")
        )
        if r.inputs:  # what the case showed the models: [image receipt.png 640×480 3f2a…]
            labels = " ".join(str(p.get("label")) for p in r.inputs)
            lines.append(f"      inputs:    {labels}")
        lines.append(f"      baseline:  {_shown(b)}")
        lines.append(f"      candidate: {_abridge(r.error) if r.error else _shown(r)}")
    return lines


def _failed_checks(result: ItemResult, width: int = ANSWER_CHARS * 2) -> str:
    """The checks an answer failed, each named once; the first one's reason, abridged."""
    names = list(dict.fromkeys(g.name for g in result.grades if not g.passed))
    first = next((g for g in result.grades if not g.passed and g.reason), None)
    if first is None:
        return ", ".join(names)
    reason = " ".join(first.reason.split())
    reason = reason if len(reason) <= width else reason[: width - 1] + "…"
    return f"{', '.join(names)}: {reason}"


def _shown(result: ItemResult) -> str:
    """An answer abridged; an agent's as its path (longer: the steps are the point)."""
    if result.steps is None:
        return _abridge(answer_shown(result.output, result.tool_calls))
    path = path_shown(result.trajectory, result.output)
    return path if len(path) <= PATH_CHARS else path[: PATH_CHARS - 1] + "…"


def _abridge(text: str, width: int = ANSWER_CHARS * 2) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= width else flat[: width - 1] + "…")


def verdict_line(report: GateReport) -> str:
    """The run's verdict; when it passes, the cheapest candidate that passed."""
    failing = [f"{s.name} ({s.verdict})" for s in report.models.values() if not s.fine]
    if report.drift is not None:
        failing += [f"{name} (drift: degraded)" for name in report.drift.degraded]
    if report.judges is not None:
        failing += [
            f"judge {j.name} (below judge_min_agreement)"
            for j in report.judges.judges
            if j.failure is not None
        ]
    if report.failed:
        named = ", ".join(failing)
        return f"modelguard gate FAILED: {named}"
    if report.not_gated is not None:
        return f"modelguard gate not evaluated: {report.not_gated}"
    passing = [
        s for s in report.models.values()
        if s.fine and s.cost_vs_baseline is not None and s.cost_vs_baseline < 1
    ]  # fmt: skip
    if not passing:
        return "modelguard gate passed"
    best = min(passing, key=lambda s: s.cost_vs_baseline or 0.0)
    saving = 1 - (best.cost_vs_baseline or 0.0)
    return (
        f"modelguard gate passed: {best.name} shows no significant quality drop "
        f"at {saving:.0%} less per answer"
    )


def drift_lines(drift: DriftReport) -> list[str]:
    """Each model against the stored run, degraded first: status, score then → now, delta, p;
    then how many cases paired, how many answers changed and the change in cost."""
    how = (
        f"watched for a change, {percent(drift.confidence)} per model"
        if drift.accumulated
        else f"{percent(drift.confidence)} family-wise, Holm"
    )
    lines = [f"drift against {drift.against} ({how}):"]
    width = min(max((len(name) for name in drift.models), default=5), MODEL_WIDTH)
    status = max((len(m.status) for m in drift.models.values()), default=6)
    for name, m in sorted(drift.models.items(), key=lambda item: item[1].status != "degraded"):
        head = f"  {_fit(name, width).ljust(width)}  {m.status.ljust(status)}"
        lines += [f"{head}  {_drift_figures(m)}".rstrip(), f"    {_drift_counts(m)}"]
    lines += [f"  {name}: in the stored run, not in this one" for name in drift.models_gone]
    if drift.nothing_paired:
        lines.append("  no case of this run is in the stored run: was it a run of other suites?")
    if drift.replayed_only:
        lines.append(
            "  every answer was replayed from the cache, so only grading could move: "
            "add --modelguard-record all to ask the models again"
        )
    return [part for line in lines for part in textwrap.wrap(line, WIDTH, subsequent_indent="    ")]


def _drift_figures(m: ModelDrift) -> str:
    if m.delta is None:
        return ""
    d = m.delta
    p = m.p_adjusted if m.p_adjusted is not None else d.p_value
    last = f"p {p_value(p)}" if m.nights is None else f"{plural(m.nights, 'night')}"
    return (
        f"{_num(m.mean_then, '{:.3f}')} → {_num(m.mean_now, '{:.3f}')}  "
        f"{d.mean:+.3f} [{d.ci_low:+.3f}, {d.ci_high:+.3f}]  {last}"
    )


def _drift_counts(m: ModelDrift) -> str:
    errors = [f"{plural(m.errors_now, 'error')} now"] if m.errors_now else []
    if m.delta is None:
        return ", ".join(["no case answered in both runs", *errors])
    counts = [f"{plural(m.n_pairs, 'case')} paired"]
    counts += [f"{plural(m.answers_changed, 'answer')} changed", *errors]
    if m.only_now or m.only_then:
        counts.append(f"unmatched: {m.only_now} only now, {m.only_then} only then")
    if m.cost_change is not None:
        counts.append(f"$/answer {m.cost_change:+.0%}")
    if m.night_note is not None:
        counts.append(m.night_note)
    return ", ".join([*counts, *_watch(m)])


def _watch(m: ModelDrift) -> list[str]:
    """drift = "accumulate": when a seen change began, or what a steady night could see."""
    if m.nights is None or (m.night_note is not None and m.night_note.startswith("not counted")):
        return []
    if m.since is not None and m.status != "steady":
        return [f"{m.status} since night {m.since}"]
    if m.status != "steady":
        return []
    if m.visible_drop is None:
        return ["steady: no drop tonight could have shown"]
    return [
        f"steady: a drop of {math.ceil(m.visible_drop * 100) / 100:.2f} or more would have shown"
    ]


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _p(s: ModelSummary) -> str:
    """The gate's p-value (Holm-adjusted with several candidates), as every report prints it."""
    d = s.delta if s.delta is not None and not s.delta.anytime else None  # a sequence: no p
    p = s.p_adjusted if s.p_adjusted is not None else (d.p_value if d is not None else None)
    return "—" if p is None else p_value(p)


def _outliers(s: ModelSummary) -> str:
    shown = ", ".join(
        f"{o.case_id} ({o.tokens} tokens, {o.times_median:.0f}× median)"
        for o in s.token_outliers[:3]
    )
    more = f" and {len(s.token_outliers) - 3} more" if len(s.token_outliers) > 3 else ""
    return f"token outliers: {shown}{more}"


def _step_spirals(s: ModelSummary) -> str:
    shown = ", ".join(
        f"{o.case_id} ({o.steps} steps, {o.times_median:.0f}× median)" for o in s.step_outliers[:3]
    )
    more = f" and {len(s.step_outliers) - 3} more" if len(s.step_outliers) > 3 else ""
    return f"step outliers: {shown}{more}"


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
    return money(value, symbol="")


def _tokens(count: int) -> str:
    if count >= 1_000_000:
        return f"{count / 1_000_000:.1f}M"
    return f"{count / 1000:.1f}k" if count >= 10_000 else str(count)


def dry_run_lines(lines: list[DryRunLine], record: str) -> list[str]:
    """The dry run's table: per model, calls to make and the most they can cost."""
    out = [f"modelguard dry run (record {record}): nothing is called, nothing is written"]
    width = max([len(line.model) for line in lines] + [5])
    for line in lines:
        cost = "unknown price" if line.max_cost_usd is None else f"at most ${line.max_cost_usd:.4f}"
        counts = f"{line.uncached:>6} to call  {line.cached:>6} recorded"
        later = f", then up to {line.later_steps} later agent steps" if line.later_steps else ""
        out.append(f"  {line.model.ljust(width)}  {counts}  {cost}{later}")
    total = [line.max_cost_usd for line in lines]
    steps = sum(line.later_steps for line in lines)
    if None not in total:
        first = " for the calls above" if steps else ""
        out.append(f"  total: at most ${sum(t for t in total if t is not None):.4f}{first}")
    if steps:
        out.append(
            "  an agent case's later steps are not priced in advance: each one's prompt holds "
            "the answers and tool results before it (max_spend_usd caps what they cost)"
        )
    if record == "none":
        out.append("  record mode none calls nothing: add --modelguard-record once to record these")
    return out


def plan_lines(plans: Sequence[Plan], gate: str, confidence: float) -> list[str]:
    """The dry run's planning: per candidate, the cases the gate needs (80% power)."""
    if not plans:
        return []
    out = [f"modelguard planning (gate {gate}, {percent(confidence)} confidence, 80% power):"]
    width = max(len(p.model) for p in plans)
    for p in plans:
        head = f"  {p.model.ljust(width)}  "
        if p.needed is None:
            out.append(f"{head}no recorded baseline answer to plan from ({p.cases} cases)")
            continue
        if gate == "non-inferiority":
            goal = f"to rule out a drop of {p.margin:.2f}"
        else:
            goal = f"to catch a drop of {p.margin:.2f} (CI below 0)"
        baseline = f"baseline mean {p.baseline_mean:.3f} on {plural(p.scored, 'recorded case')}"
        out.append(f"{head}{p.needed} cases {goal}; has {p.cases} ({baseline})")
    return out


def judge_lines(report: GateReport) -> list[str]:
    """A short line per judge (agreement, length, position bias, self-consistency), the
    corrected deltas beside the judge-only ones, judge noise, self-preference, failures."""
    judges = report.judges
    if judges is None:
        return []
    lines = [f"judges ({plural(judges.labelled, 'answer')} labelled by people):"]
    for j in judges.judges:
        parts = []
        ag = j.agreement
        if ag is None:
            parts.append("no labelled answers")
        else:
            figure = "undefined" if ag.figure is None else f"{ag.figure:+.2f}"
            name = "kappa" if ag.kind == "binary" else "Spearman"
            extra = f", MAE {ag.mae:.2f}" if ag.kind == "scale" else ""
            parts.append(
                f"{name} {figure} on {ag.n} labelled (accuracy {ag.accuracy:.0%}, TPR "
                f"{_num(ag.tpr, '{:.2f}')}, FPR {_num(ag.fpr, '{:.2f}')}{extra})"
            )
        if j.length_correlation is not None:
            parts.append(f"score~length rho {j.length_correlation:+.2f}")
        if j.position_bias is not None and j.position_bias.share is not None:
            pb = j.position_bias
            parts.append(f"position bias {pb.share:.0%} of {pb.n} verdicts flip with the order")
        if j.consistency is not None:
            con = j.consistency
            parts.append(f"{con.repeats:g} draws agree on {con.identical:.0%} of answers")
        lines.append(f"  {j.name}: " + " · ".join(parts))
    for name, c in judges.candidates.items():
        if c.ppi is not None:
            p = c.ppi
            lines.append(
                f"  {name}: corrected delta {p.mean:+.3f} [{p.ci_low:+.3f}, {p.ci_high:+.3f}] "
                f"vs judge only {p.judge_only_mean:+.3f} [{p.judge_only_ci[0]:+.3f}, "
                f"{p.judge_only_ci[1]:+.3f}] (PPI++, {p.n_labelled} of {p.n_total} cases labelled)"
            )
        elif c.ppi_note is not None:
            lines.append(f"  {name}: no corrected delta: {c.ppi_note}")
        share = c.judge_noise_share
        if share is not None:
            from ..verdict.judges import NOISY_SHARE  # loads scipy: only when a judge graded

            noisy = ": wider because the judge is noisy" if share > NOISY_SHARE else ""
            lines.append(f"  {name}: judge noise is {share:.0%} of the delta's variance{noisy}")
    lines += [f"  warning: {w}" for w in judges.warnings]
    lines += [f"  FAILED: {f}" for f in judges.failures]
    return [
        part
        for line in lines
        for part in textwrap.wrap(line, WIDTH, subsequent_indent="    ", break_on_hyphens=False)
    ]
