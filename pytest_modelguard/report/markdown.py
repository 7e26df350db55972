"""The ``--modelguard-markdown`` report: a short, PR-comment-ready summary of the JSON report.

GitHub-flavoured Markdown: a verdict line, one table row per model, the reasons and
notes, then per failing candidate its worst regressed cases with both answers.
Every figure comes from the JSON report document; nothing is recomputed here but
differences of costs for display. User content (answers, reasons, ids) is escaped so
it can neither break the table nor mention anyone.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..core.formatting import answer_shown, money, p_value, path_shown, percent, plural
from ..core.safety import printable
from ..core.vocabulary import FAILING, Verdict

ICONS: dict[str, str] = {
    Verdict.BASELINE: "✅", Verdict.PASS: "✅", Verdict.REGRESSION: "❌",
    Verdict.NOT_NON_INFERIOR: "❌", Verdict.BUDGET: "💸", Verdict.ERROR: "⚠️",
}  # fmt: skip
DRIFT_ICONS = {"degraded": "📉", "improved": "📈", "steady": "➖"}
WORST_CASES = 5
ANSWER_CHARS = 80
REASON_CHARS = 160
ACCUMULATED = (
    ", watched over every night since it was accepted: the status is the change detector's, "
    "the interval tonight's (p: —)"
)
ANYTIME_NOTE = (
    "\n<sub>p: — for a confidence sequence (`betting-cs`): a fixed-n p-value is not valid "
    "after looks, so the sequence's interval alone decides</sub>"
)
_PUNCTUATION = re.compile(r"([\\`*_\[\]<>|#~!&])")

Doc = Mapping[str, Any]


def render_markdown(doc: Doc) -> str:
    """The whole Markdown report of a JSON report document."""
    parts = [_headline(doc), _table(doc), *_reasons(doc), _dimensions(doc), _reliability(doc)]
    parts += [_judges(doc)]
    parts += [_drift(doc), _footer(doc)]
    parts += [_regressed(doc, name) for name in _failing_candidates(doc)]
    return "\n\n".join(p for p in parts if p) + "\n"


def _headline(doc: Doc) -> str:
    if doc["verdict"] == "fail":
        failing = [
            f"{_code(name)} ({m['verdict']})" for name, m in doc["models"].items()
            if m["verdict"] in FAILING
        ]  # fmt: skip
        failing += [f"{_code(name)} (drift: degraded)" for name in _degraded(doc)]
        named = ", ".join(failing)
        return f"### ❌ modelguard: gate failed — {named}"
    if doc.get("not_gated"):
        return f"### ⚠️ modelguard: gate not evaluated — {doc['not_gated']}"
    cheaper = [
        (m["cost_vs_baseline"], name) for name, m in doc["models"].items()
        if m["verdict"] == Verdict.PASS and m.get("cost_vs_baseline") is not None
        and m["cost_vs_baseline"] < 1
    ]  # fmt: skip
    if not cheaper:
        return "### ✅ modelguard: gate passed"
    ratio, best = min(cheaper)
    return (
        f"### ✅ modelguard: gate passed — {_code(best)} shows no significant quality drop "
        f"at {1 - ratio:.0%} less per answer"
    )


def _table(doc: Doc) -> str:
    header = (
        "| | model | n | score | Δ score [CI] | p | pass | $/answer "
        "| vs baseline, per 1k answers | verdict | evidence |"
    )
    lines = [header, "|---|---|--:|--:|---|--:|--:|--:|---|---|---|"]
    base_cost = _baseline_cost(doc)
    models = doc["models"].values()
    for name, m in doc["models"].items():
        lines.append("| " + " | ".join(_row(name, m, base_cost)) + " |")
    if any((m.get("delta") or {}).get("method", "").startswith("betting-cs") for m in models):
        lines.append(ANYTIME_NOTE)
    return "\n".join(lines)


def _row(name: str, m: Mapping[str, Any], base_cost: float | None) -> list[str]:
    delta = m.get("delta")
    return [
        ICONS.get(m["verdict"], "❔"),
        _code(name),
        f"{m['n']}" + (f" + {m['errors']} err" if m.get("errors") else ""),
        _num(m.get("mean_score"), "{:.3f}"),
        _delta(delta) if delta else ("baseline" if m["verdict"] == Verdict.BASELINE else "—"),
        p_text(delta),
        _num(m.get("pass_rate"), "{:.0%}"),
        money(m.get("cost_per_case_usd")),
        _savings(m.get("cost_per_case_usd"), base_cost, m["verdict"] == Verdict.BASELINE),
        m["verdict"],
        delta["evidence"] if delta else "—",
    ]


def _reasons(doc: Doc) -> Iterable[str]:
    reasons = [
        f"- {_code(name)}: {_text(reason, REASON_CHARS)}"
        for name, m in doc["models"].items()
        for reason in m.get("reasons", ())
    ]
    if reasons:
        yield "\n".join(reasons)
    notes = [f"> {_text(note, REASON_CHARS)}" for note in doc.get("notes", ())]
    if notes:
        yield "\n>\n".join(notes)


def _degraded(doc: Doc) -> list[str]:
    drift = doc.get("drift")
    return list(drift["degraded"]) if drift else []


def _drift(doc: Doc) -> str:
    """Each model against the stored run it was compared with."""
    drift = doc.get("drift")
    if not drift:
        return ""
    when = f" (saved {_text(drift['saved_at'])})" if drift.get("saved_at") else ""
    lines = [
        f"**Drift** against {_code(drift['against'])}{when}: each model paired with itself "
        f"per case{ACCUMULATED if drift.get('accumulated') else ''}",
        "",
        "| | model | cases paired | score then → now | Δ [CI] | p | answers changed "
        "| only now / then | errors now | $/answer change | status |",
        "|---|---|--:|---|---|--:|--:|--:|--:|--:|---|",
    ]
    for name, m in drift["models"].items():
        delta = m.get("delta")
        cost = m.get("cost_change")
        lines.append(
            f"| {DRIFT_ICONS.get(m['status'], '❔')} | {_code(name)} | {m['n_pairs']} "
            f"| {_num(m.get('mean_then'), '{:.3f}')} → {_num(m.get('mean_now'), '{:.3f}')} "
            f"| {_delta(delta) if delta else '—'} | {p_text(delta)} | {m['answers_changed']} "
            f"| {m['only_now']} / {m['only_then']} | {m.get('errors_now', 0)} "
            f"| {'—' if cost is None else f'{cost:+.0%}'} | {m['status']} |"
        )
    gone = drift["models_gone"]
    lines += [f"\n{_code(name)}: in the stored run, not in this one" for name in gone]
    return "\n".join(lines)


def _footer(doc: Doc) -> str:
    gate = doc["gate"] + (f", margin {doc['margin']:g}" if doc.get("margin") else "")
    return (
        f"<sub>baseline {_code(doc.get('baseline') or 'none')} · gate {gate} · "
        f"{percent(doc['confidence'])} family-wise confidence · {methods_text(doc)} · "
        f"seed {doc['seed']}</sub>"
    )


def methods_text(doc: Doc) -> str:
    """The interval methods the run's comparisons used, e.g. 'tango-score interval'."""
    methods = sorted({m["delta"]["method"] for m in doc["models"].values() if m.get("delta")})
    return f"{', '.join(methods) or 'no'} interval"


def _failing_candidates(doc: Doc) -> list[str]:
    return [
        name for name, m in doc["models"].items()
        if m["verdict"] in FAILING and name != doc.get("baseline")
    ]  # fmt: skip


def answer_text(case: Mapping[str, Any]) -> str:
    """A case's answer as shown: its text, then each tool call as ``→ name({arguments})``;
    an agent case's as its path, each call ``⇒`` its result."""
    if case.get("steps") is not None and isinstance(case.get("trajectory"), list):
        return path_shown(case["trajectory"], str(case.get("output") or ""))
    return answer_shown(str(case.get("output") or ""), case.get("tool_calls") or ())


def _regressed(doc: Doc, name: str) -> str:
    """The candidate's worst drops below the baseline, in a collapsible block."""
    drops = _drops(doc, name)
    if not drops:
        return ""
    shown = drops[:WORST_CASES]
    lines = [
        f"<details><summary>Regressed cases: {html.escape(name)} — the {len(shown)} worst of "
        f"{len(drops)} scored below the baseline</summary>",
        "",
        "| case | baseline answer | candidate answer | score | check | why |",
        "|---|---|---|--:|---|---|",
    ]
    for base, cand in shown:
        lines.append(
            f"| {_code(cand['id'])} | {_code(answer_text(base), ANSWER_CHARS)} | "
            f"{_code(answer_text(cand), ANSWER_CHARS)} | {base['score']:.2f} → {cand['score']:.2f} "
            f"| {_checks(base, cand)} | {_why(cand)} |"
        )
    lines += ["", "</details>"]
    return "\n".join(lines)


def _drops(doc: Doc, name: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(baseline, candidate) case records where the candidate scored lower, worst first."""
    baseline: dict[tuple[str, str], dict[int, dict[str, Any]]] = {}
    for case in doc["cases"]:
        if case["model"] == doc.get("baseline") and case.get("score") is not None:
            baseline.setdefault((case["suite"], case["id"]), {})[case["repeat"]] = case
    pairs = []
    for case in doc["cases"]:
        repeats = baseline.get((case["suite"], case["id"]))
        if case["model"] != name or case.get("score") is None or not repeats:
            continue
        base = repeats.get(case["repeat"]) or next(iter(repeats.values()))
        if case["score"] < base["score"]:
            pairs.append((base, case))
    pairs.sort(key=lambda p: (p[1]["score"] - p[0]["score"], p[1]["suite"], p[1]["id"]))
    return pairs


def _checks(base: Mapping[str, Any], case: Mapping[str, Any]) -> str:
    """The graders behind the drop: those the answer failed, else those scoring below the
    baseline's same grader; each named once."""
    grades = case.get("grades", ())
    names = [g["name"] for g in grades if not g["passed"]]
    if not names:
        before = {g["name"]: g["score"] for g in base.get("grades", ())}
        names = [g["name"] for g in grades if g["score"] < before.get(g["name"], g["score"])]
    return ", ".join(_code(n) for n in dict.fromkeys(names)) or "—"


def _why(case: Mapping[str, Any]) -> str:
    failed = [f"{g['name']}: {g['reason']}" for g in case.get("grades", ()) if not g["passed"]]
    if case.get("failure"):
        failed.insert(0, case["failure"])
    return _text("; ".join(failed), REASON_CHARS) if failed else "—"


def _code(value: object, limit: int | None = None) -> str:
    """An inline code span safe inside a GFM table cell: one line, pipes escaped."""
    text = " ".join(printable(str(value)).replace("\r\n", "\n").replace("\n", " ↵ ").split())
    if not text:
        return "*(empty)*"
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    text = text.replace("\\|", "\\\u200b|").replace("|", "\\|")
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _text(value: object, limit: int | None = None) -> str:
    """Plain text escaped for Markdown: one line, no markup, no @-mentions."""
    text = " ".join(printable(str(value)).split())
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return _PUNCTUATION.sub(r"\\\1", text).replace("@", "@\u200b")


def _num(value: float | None, fmt: str) -> str:
    return "—" if value is None else fmt.format(value)


def _delta(delta: Mapping[str, Any]) -> str:
    return f"{delta['mean']:+.3f} [{delta['ci_low']:+.3f}, {delta['ci_high']:+.3f}]"


def p_text(delta: Mapping[str, Any] | None) -> str:
    """The delta's (Holm-adjusted when there is one) p-value for display; — without a delta
    or for a confidence sequence (its p-values are null: a fixed-n p is not valid after looks)."""
    if not delta:
        return "—"
    p = delta.get("p_adjusted")
    p = delta.get("p_value") if p is None else p
    return "—" if p is None else p_value(p)


def _baseline_cost(doc: Doc) -> float | None:
    base = doc["models"].get(doc.get("baseline") or "")
    return base.get("cost_per_case_usd") if base else None


def _savings(cost: float | None, base_cost: float | None, is_baseline: bool) -> str:
    if is_baseline:
        return "—"
    if cost is None or base_cost is None:
        return "unknown"
    per_1k = (base_cost - cost) * 1000
    if per_1k >= 0:
        return f"saves {money(per_1k)}"
    return f"costs {money(-per_1k)} more"


def _dimensions(doc: Doc) -> str:
    """Per model and dimension: the mean, and a candidate's delta with CI and p (descriptive)."""
    from .dimensions_table import DIMENSION_HEAD, dimension_rows, has_deltas, note_of

    rows = dimension_rows(doc)
    if not rows:
        return ""
    head = "| " + " | ".join(DIMENSION_HEAD) + " |"
    lines = ["**Dimensions**", "", head, "|---|---|--:|---|--:|"]
    lines += [
        f"| {_code(model)} | {_text(dimension)} | {score} | {delta} | {p} |"
        for model, dimension, score, delta, p in rows
    ]
    if has_deltas(doc):
        lines += ["", f"<sub>{_text(note_of(doc))}</sub>"]
    return "\n".join(lines)


def _reliability(doc: Doc) -> str:
    """pass^k and pass@k per model, when some case ran more than once (#27)."""
    from ..verdict.reliability import DEFINITION, describe

    rows = [(name, m["pass_k"]) for name, m in doc["models"].items() if m.get("pass_k")]
    if not rows:
        return ""
    lines = [f"**Reliability over repeated runs** ({DEFINITION})", ""]
    return "\n".join(lines + [f"- {_code(name)}: {describe(k)}" for name, k in rows])


def _judges(doc: Doc) -> str:
    """Trusting the judge (#19): a small table per judge and per candidate, with notes."""
    from .judges_table import DELTA_HEAD, JUDGE_HEAD, delta_rows, judge_notes, judge_rows

    rows = judge_rows(doc)
    if not rows:
        return ""

    def table(head: Sequence[str], body: list[list[str]]) -> list[str]:
        out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        return out + ["| " + " | ".join(_text(c) for c in row) + " |" for row in body]

    labelled = (doc.get("judges") or {}).get("labelled_answers", 0)
    lines = [f"**Judges** ({plural(labelled, 'answer')} labelled by people)", ""]
    lines += table(JUDGE_HEAD, rows)
    deltas = delta_rows(doc)
    if deltas:
        lines += ["", *table(DELTA_HEAD, deltas)]
    lines += [f"\n- {_text(note)}" for note in judge_notes(doc)]
    return "\n".join(lines)
