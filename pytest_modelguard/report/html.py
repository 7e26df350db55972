"""The ``--modelguard-html`` report: one self-contained page rendered from the JSON report.

No external URL anywhere: inline CSS, an inline SVG chart drawn here, and a little
inline JS that renders the per-case browser from the cases embedded as JSON (so
10,000 cases cost one JSON parse and a page of rows, not 20,000 DOM rows).

The chart puts each model at (cost per answer, mean score). A candidate's vertical
bar is its paired delta CI mapped onto the score axis: baseline mean + [CI low, CI
high]. It shows the uncertainty of the comparison the gate judged, not of the
candidate's own mean. The Pareto front (no other model is cheaper and at least as
good) is drawn through the point estimates.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from ..core.formatting import money, percent, steps_shown
from ..core.vocabulary import PASSING
from .html_assets import CSS, SCRIPT
from .html_chart import render_chart
from .markdown import ICONS, answer_text, methods_text, p_text

Doc = Mapping[str, Any]
CASE_FIELDS = ("suite", "id", "model", "tags", "repeat", "score", "passed", "error", "failure",
               "output", "batch", "inputs")  # fmt: skip
GRADE_FIELDS = ("name", "score", "passed", "reason")


def render_html(doc: Doc) -> str:
    """The whole page."""
    words = {"fail": "failed", "not-gated": "not evaluated"}
    title = f"modelguard: gate {words.get(doc['verdict'], 'passed')}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{ICONS['pass' if doc['verdict'] != 'fail' else 'regression']} {escape(title)}</h1>",
        _settings(doc),
        "<h2>Models</h2>",
        _models_table(doc),
        "<h2>Cost per answer vs quality</h2>",
        render_chart(doc),
        "<h2>Per tag</h2>",
        _tags_table(doc),
        *_dimensions_section(doc),
        *_reliability_section(doc),
        *_judges_section(doc),
        *_drift_section(doc),
        "<h2>Cases</h2>",
        _browser(doc),
        '<script type="application/json" id="mg-data">',
        _embedded_json(_case_data(doc)),
        f"</script><script>{SCRIPT}</script></body></html>",
    ]
    return "\n".join(parts) + "\n"


def _settings(doc: Doc) -> str:
    baseline = escape(str(doc.get("baseline") or "none"))
    margin = f", margin {doc['margin']:g}" if doc.get("margin") else ""
    notes = "".join(f"<li>{escape(str(n))}</li>" for n in doc.get("notes", ()))
    return (
        f"<p class='muted'>baseline <b>{baseline}</b> · gate {escape(doc['gate'])}{margin} · "
        f"{percent(doc['confidence'])} family-wise confidence (each CI at the level its "
        f"test used) · {escape(methods_text(doc))} · seed {doc['seed']}</p>"
        + (f"<ul>{notes}</ul>" if notes else "")
    )


def _models_table(doc: Doc) -> str:
    head = ("model", "n", "errors", "score", "Δ [CI]", "p", "pass", "$/answer", "total $",
            "p50/p95 s", "verdict", "reasons")  # fmt: skip
    return _table(head, [_model_row(name, m) for name, m in doc["models"].items()])


def _model_row(name: str, m: Mapping[str, Any]) -> list[str]:
    delta = m.get("delta")
    cls = "fail" if m["verdict"] not in PASSING else "ok"
    latency = (
        f"{m['latency_p50_s']:.2f}/{m['latency_p95_s']:.2f}"
        if m.get("latency_p50_s") is not None and m.get("latency_p95_s") is not None
        else "—"
    )
    reasons = "<br>".join(escape(r) for r in m.get("reasons", ()))
    numbers = [
        _num(m["n"], "{:d}"),
        _num(m.get("errors"), "{:d}"),
        _num(m.get("mean_score"), "{:.3f}"),
        _delta(delta),
        p_text(delta),
        _num(m.get("pass_rate"), "{:.0%}"),
        escape(money(m.get("cost_per_case_usd"))),
        escape(money(m.get("cost_usd"))) + _by_batch(m),
        latency,
    ]
    verdict = f"{ICONS.get(m['verdict'], '')} {escape(m['verdict'])}"
    return [
        _td(f"<b>{escape(name)}</b>"),
        *(_td(n, "num") for n in numbers),
        _td(verdict, cls),
        _td(reasons),
    ]


def _by_batch(m: Mapping[str, Any]) -> str:
    """How many of a model's answers came by provider batches (priced at the batch rate)."""
    count = m.get("batch_answers")
    return f"<br><small>{count} by batch</small>" if isinstance(count, int) and count else ""


def _tags_table(doc: Doc) -> str:
    names = list(doc["models"])
    if not doc["tags"]:
        return "<p class='muted'>No tags.</p>"
    rows = [
        [_td(f"<b>{escape(tag)}</b>"), *(_tag_cell(row.get(name), doc) for name in names)]
        for tag, row in sorted(doc["tags"].items())
    ]
    legend = (
        "<p class='muted'>Green: non-inferior on the tag (CI lower end &ge; &minus;margin), "
        "what routing needs; red: the whole CI below 0. Tag CIs are at the run's confidence, "
        "not corrected for the number of tags.</p>"
    )
    return _table(["tag", *names], rows) + legend


def _tag_cell(summary: Mapping[str, Any] | None, doc: Doc) -> str:
    if not summary:
        return _td("—")
    delta = summary.get("delta")
    cls = ""
    if delta and delta["ci_high"] < 0:
        cls = "worse"
    elif delta and delta["ci_low"] >= -(doc.get("margin") or 0.0):
        cls = "noninferior"
    text = f"{_num(summary.get('mean_score'), '{:.3f}')} <small>n {summary['n']}"
    if summary.get("cost_per_case_usd") is not None:
        text += f" · {escape(money(summary['cost_per_case_usd']))}"
    text += "</small>"
    if delta:
        text += f"<br><small>Δ {_delta(delta)}</small>"
    return _td(text, cls)


def _drift_section(doc: Doc) -> list[str]:
    """Each model against the stored run it was compared with (``--modelguard-compare``)."""
    drift = doc.get("drift")
    if not drift:
        return []
    head = ("model", "status", "cases paired", "score then → now", "Δ [CI]", "p",
            "answers changed", "$/answer change", "unmatched now / then",
            "errors now")  # fmt: skip
    rows = []
    for name, m in drift["models"].items():
        delta = m.get("delta")
        cost = m.get("cost_change")
        cells = [
            _num(m["n_pairs"], "{:d}"),
            f"{_num(m.get('mean_then'), '{:.3f}')} → {_num(m.get('mean_now'), '{:.3f}')}",
            _delta(delta),
            p_text(delta),
            _num(m["answers_changed"], "{:d}"),
            "—" if cost is None else f"{cost:+.0%}",
            f"{m['only_now']} / {m['only_then']}",
            _num(m.get("errors_now", 0), "{:d}"),
        ]
        status = m["status"]
        rows.append([
            _td(f"<b>{escape(name)}</b>"),
            _td(escape(status), "fail" if status == "degraded" else "ok"),
            *(_td(c, "num") for c in cells),
        ])  # fmt: skip
    gone = "".join(
        f"<li>{escape(name)}: in the stored run, not in this one</li>"
        for name in drift["models_gone"]
    )
    intro = (
        f"<p class='muted'>Against the stored run <code>{escape(drift['against'])}</code>"
        + (f" (saved {escape(drift['saved_at'])})" if drift.get("saved_at") else "")
        + ": each model paired with itself per case, "
        f"{percent(drift['confidence'])} family-wise (Holm across models).</p>"
    )
    return ["<h2>Drift</h2>", intro, _table(head, rows) + (f"<ul>{gone}</ul>" if gone else "")]


def _browser(doc: Doc) -> str:
    return (
        "<div id='controls'><label>model <select id='mg-model'></select></label>"
        "<label>suite <select id='mg-suite'><option value=''>all</option></select></label>"
        "<label><input type='checkbox' id='mg-failing'> only worse than the baseline or failing"
        "</label><label>search <input type='search' id='mg-search'></label>"
        "<button id='mg-prev'>&lsaquo; prev</button><span id='mg-count'></span>"
        "<button id='mg-next'>next &rsaquo;</button></div>"
        "<table id='mg-cases'><thead><tr><th>case</th>"
        f"<th id='mg-base-head'>baseline: {escape(str(doc.get('baseline') or ''))}</th>"
        "<th>selected model</th><th>Δ score</th></tr></thead><tbody id='mg-rows'></tbody></table>"
        "<noscript>The case browser needs JavaScript.</noscript>"
    )


def _case_data(doc: Doc) -> dict[str, Any]:
    """What the case browser needs of the report: the cases, trimmed to what it shows."""
    cases = [
        {**{k: c.get(k) for k in CASE_FIELDS}, "output": _answer(c),
         "grades": [{k: g.get(k) for k in GRADE_FIELDS} for g in c.get("grades", ())]}
        for c in doc["cases"]
    ]  # fmt: skip
    return {
        "baseline": doc.get("baseline"),
        "models": list(doc["models"]),
        "suites": sorted({c["suite"] for c in doc["cases"]}),
        "thumbnails": doc.get("thumbnails") or {},
        "cases": cases,
    }


def _answer(case: Mapping[str, Any]) -> str:
    """A case's answer; an agent case's as its steps, each tool call and its result."""
    steps = case.get("trajectory")
    if case.get("steps") is None or not isinstance(steps, list):
        return answer_text(case)
    return steps_shown(steps, str(case.get("output") or ""))


def _embedded_json(data: object) -> str:
    """JSON that cannot close its <script> element or open a comment."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """An HTML table of plain-text headers and ``<td>`` cells."""
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _td(html: str, cls: str = "") -> str:
    """A cell of already-escaped HTML."""
    return f"<td class='{cls}'>{html}</td>" if cls else f"<td>{html}</td>"


def _num(value: float | None, fmt: str) -> str:
    return "—" if value is None else fmt.format(value)


def _delta(delta: Mapping[str, Any] | None) -> str:
    if not delta:
        return "—"
    return f"{delta['mean']:+.3f} [{delta['ci_low']:+.3f}, {delta['ci_high']:+.3f}]"


def _dimensions_section(doc: Doc) -> list[str]:
    """Per model and dimension: the mean, and a candidate's delta with CI and p (descriptive)."""
    from .dimensions_table import DIMENSION_HEAD, dimension_rows, has_deltas, note_of

    rows = dimension_rows(doc)
    if not rows:
        return []
    cells = [[_td(escape(c), "num" if i >= 2 else "") for i, c in enumerate(row)] for row in rows]
    note = [f"<p class='muted'>{escape(note_of(doc))}.</p>"] if has_deltas(doc) else []
    return ["<h2>Per dimension</h2>", _table(DIMENSION_HEAD, cells), *note]


def _reliability_section(doc: Doc) -> list[str]:
    """pass^k and pass@k per model, when some case ran more than once (#27)."""
    from ..verdict.reliability import DEFINITION, describe

    rows = [(name, m["pass_k"]) for name, m in doc["models"].items() if m.get("pass_k")]
    if not rows:
        return []
    items = "".join(f"<li><code>{escape(n)}</code>: {escape(describe(k))}</li>" for n, k in rows)
    head = "<h2>Reliability over repeated runs</h2>"
    return [head, f"<p class='muted'>{escape(DEFINITION)}.</p>", f"<ul>{items}</ul>"]


def _judges_section(doc: Doc) -> list[str]:
    """Trusting the judge (#19): agreement and biases per judge, deltas per candidate."""
    from .judges_table import DELTA_HEAD, JUDGE_HEAD, delta_rows, judge_notes, judge_rows

    rows = judge_rows(doc)
    if not rows:
        return []
    cells = [[_td(escape(c)) for c in row] for row in rows]
    out = ["<h2>Judges</h2>", _table(JUDGE_HEAD, cells)]
    deltas = delta_rows(doc)
    if deltas:
        out.append(_table(DELTA_HEAD, [[_td(escape(c)) for c in row] for row in deltas]))
    out += [f"<p>{escape(note)}</p>" for note in judge_notes(doc)]
    return out
