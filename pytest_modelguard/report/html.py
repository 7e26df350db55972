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
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from ..formatting import money, percent
from .markdown import ICONS, answer_text, methods_text, p_text

Doc = Mapping[str, Any]
CASE_FIELDS = ("suite", "id", "model", "tags", "repeat", "score", "passed", "error", "failure",
               "output")  # fmt: skip
GRADE_FIELDS = ("name", "score", "passed", "reason")

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:24px;color:#1f2328}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0}th,td{border:1px solid #d0d7de;padding:4px 8px;
vertical-align:top;text-align:left}th{background:#f6f8fa}td.num{text-align:right;white-space:nowrap}
.fail{color:#cf222e}.ok{color:#1a7f37}.muted{color:#656d76}small{color:#656d76}
td.worse{background:#ffebe9}td.better,td.noninferior{background:#dafbe1}
pre{white-space:pre-wrap;word-break:break-word;margin:0;max-width:48ch;font-size:12px}
.grades{margin:4px 0 0;padding-left:16px;font-size:12px}.grades .no{color:#cf222e}
#controls{display:flex;gap:12px;align-items:center;flex-wrap:wrap;margin:8px 0}
svg text{font-size:11px;fill:#1f2328}svg .axis{stroke:#8c959f}svg .grid{stroke:#eaeef2}
svg .bar{stroke:#57606a;stroke-width:1.5}svg .front{fill:none;stroke:#8250df;stroke-dasharray:4 3}
svg .point{stroke-width:2;fill:#fff}svg .point.pareto{fill:currentColor}
svg .baseline{color:#0969da;stroke:#0969da}svg .pass{color:#1a7f37;stroke:#1a7f37}
svg .failing{color:#cf222e;stroke:#cf222e}
"""

SCRIPT = """
(function () {
  var data = JSON.parse(document.getElementById("mg-data").textContent);
  var PAGE = 50, DASH = "\\u2014", page = 0, rows = [], base = {};
  function $(id) { return document.getElementById(id); }
  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }
  function fmt(x) { return x === null ? DASH : Number(x).toFixed(2); }
  function key(c) { return c.suite + "\\u0000" + c.id; }
  data.cases.forEach(function (c) {
    if (c.model !== data.baseline) return;
    (base[key(c)] = base[key(c)] || {})[c.repeat] = c;
  });
  function baseFor(c) {
    var reps = base[key(c)];
    return reps ? reps[c.repeat] || reps[Object.keys(reps)[0]] : null;
  }
  function delta(c, b) {
    return b && b.score !== null && c.score !== null ? c.score - b.score : null;
  }
  function worse(c, b) {
    var d = delta(c, b);
    return !c.passed || c.error !== null || (d !== null && d < 0);
  }
  function matches(c, text) {
    var hay = c.id + " " + c.output + " " + c.tags.join(" ");
    return !text || hay.toLowerCase().indexOf(text) >= 0;
  }
  function answerCell(c) {
    var td = el("td");
    if (!c) { td.appendChild(el("span", "no baseline answer", "muted")); return td; }
    td.appendChild(el("pre", c.error !== null ? "error: " + c.error : c.output));
    var why = c.failure ? " " + DASH + " " + c.failure : "";
    td.appendChild(el("div", "score " + fmt(c.score) + why, "muted"));
    var ul = el("ul", null, "grades");
    c.grades.forEach(function (g) {
      var line = g.name + " " + fmt(g.score) + (g.reason ? ": " + g.reason : "");
      ul.appendChild(el("li", line, g.passed ? "" : "no"));
    });
    td.appendChild(ul);
    return td;
  }
  function caseRow(c, b, alone) {
    var tr = el("tr", null, "case-row"), head = el("td"), d = delta(c, b);
    head.appendChild(el("div", c.id + (c.repeat ? " #" + c.repeat : "")));
    var tags = c.tags.length ? " \\u00b7 " + c.tags.join(", ") : "";
    head.appendChild(el("small", c.suite + tags));
    tr.appendChild(head);
    if (!alone) tr.appendChild(answerCell(b));
    tr.appendChild(answerCell(c));
    var cls = d === null || d === 0 ? "num" : d < 0 ? "num worse" : "num better";
    tr.appendChild(el("td", d === null ? DASH : (d > 0 ? "+" : "") + d.toFixed(2), cls));
    return tr;
  }
  function filter() {
    var model = $("mg-model").value, suite = $("mg-suite").value;
    var only = $("mg-failing").checked, text = $("mg-search").value.toLowerCase();
    rows = data.cases.filter(function (c) {
      if (c.model !== model || (suite && c.suite !== suite)) return false;
      var b = model === data.baseline ? null : baseFor(c);
      return (!only || worse(c, b)) && matches(c, text);
    });
    page = 0;
    draw();
  }
  function draw() {
    var body = $("mg-rows"), alone = $("mg-model").value === data.baseline;
    var last = Math.min(rows.length, (page + 1) * PAGE);
    body.textContent = "";
    rows.slice(page * PAGE, last).forEach(function (c) {
      body.appendChild(caseRow(c, alone ? null : baseFor(c), alone));
    });
    $("mg-base-head").style.display = alone ? "none" : "";
    var shown = (page * PAGE + 1) + "\\u2013" + last + " of " + rows.length;
    $("mg-count").textContent = rows.length ? shown : "no case";
    $("mg-prev").disabled = page === 0;
    $("mg-next").disabled = last >= rows.length;
    document.body.setAttribute("data-rendered-rows", String(body.children.length));
  }
  data.models.forEach(function (m) { $("mg-model").appendChild(el("option", m)); });
  data.suites.forEach(function (s) { $("mg-suite").appendChild(el("option", s)); });
  var candidates = data.models.filter(function (m) { return m !== data.baseline; });
  $("mg-model").value = candidates[0] || data.models[0];
  ["mg-model", "mg-suite", "mg-failing"].forEach(function (id) { $(id).onchange = filter; });
  $("mg-search").oninput = filter;
  $("mg-prev").onclick = function () { page -= 1; draw(); };
  $("mg-next").onclick = function () { page += 1; draw(); };
  filter();
})();
"""


def render_html(doc: Doc) -> str:
    """The whole page."""
    title = f"modelguard: gate {'failed' if doc['verdict'] == 'fail' else 'passed'}"
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
    cls = "fail" if m["verdict"] not in ("pass", "baseline") else "ok"
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
        escape(money(m.get("cost_usd"))),
        latency,
    ]
    verdict = f"{ICONS.get(m['verdict'], '')} {escape(m['verdict'])}"
    return [
        _td(f"<b>{escape(name)}</b>"),
        *(_td(n, "num") for n in numbers),
        _td(verdict, cls),
        _td(reasons),
    ]


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
        {**{k: c.get(k) for k in CASE_FIELDS}, "output": answer_text(c),
         "grades": [{k: g.get(k) for k in GRADE_FIELDS} for g in c.get("grades", ())]}
        for c in doc["cases"]
    ]  # fmt: skip
    return {
        "baseline": doc.get("baseline"),
        "models": list(doc["models"]),
        "suites": sorted({c["suite"] for c in doc["cases"]}),
        "cases": cases,
    }


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


# --- the chart: cost per answer (x) vs mean score (y), drawn here as inline SVG ---

WIDTH, HEIGHT = 680, 380
LEFT, RIGHT, TOP, BOTTOM = 64, 150, 16, 44
LOG_RANGE = 10  # a log cost axis when the costs span at least this factor


@dataclass(frozen=True, slots=True)
class _Point:
    name: str
    cost: float
    score: float
    ci: tuple[float, float] | None  # baseline mean + the delta CI
    verdict: str


@dataclass(frozen=True, slots=True)
class _Axis:
    low: float
    high: float
    start: float  # pixels
    end: float
    log: bool = False

    def at(self, value: float) -> float:
        f = (lambda v: math.log10(v)) if self.log else (lambda v: v)
        return self.start + (f(value) - f(self.low)) / (f(self.high) - f(self.low)) * (
            self.end - self.start
        )

    def clamp(self, value: float) -> float:
        return min(max(value, self.low), self.high)


def render_chart(doc: Doc) -> str:
    """The SVG chart and its caption; models with an unknown cost are listed, not drawn."""
    points = _points(doc)
    unplotted = [escape(n) for n in doc["models"] if n not in {p.name for p in points}]
    missing = f"<p class='muted'>Not plotted (cost or score unknown): {', '.join(unplotted)}</p>"
    if not points:
        return missing
    x, y = _cost_axis([p.cost for p in points]), _score_axis(points)
    front = _pareto(points)
    svg = [
        f"<svg id='mg-chart' viewBox='0 0 {WIDTH} {HEIGHT}' width='{WIDTH}' height='{HEIGHT}' "
        "role='img' aria-label='cost per answer versus mean score'>",
        *_gridlines(x, y),
        _front_line(front, x, y),
        *(
            _mark(p, p in front, x, y, spot)
            for p, spot in zip(points, _label_spots(points, x, y), strict=True)
        ),
        "</svg>",
    ]
    caption = (
        f"<p class='muted'>x: cost per answer{' (log scale)' if x.log else ''}; y: mean score. "
        f"Bars: the baseline's mean + the candidate's paired Δ CI. Filled points and the "
        "dashed line: the Pareto front (no other model is cheaper and at least as good).</p>"
    )
    return "\n".join(svg) + caption + (missing if unplotted else "")


def _points(doc: Doc) -> list[_Point]:
    base = doc["models"].get(doc.get("baseline") or "", {}).get("mean_score")
    points = []
    for name, m in doc["models"].items():
        cost, score, delta = m.get("cost_per_case_usd"), m.get("mean_score"), m.get("delta")
        if cost is None or score is None:
            continue
        ci = None
        if delta is not None and base is not None:
            ci = (base + delta["ci_low"], base + delta["ci_high"])
        points.append(_Point(name, cost, score, ci, m["verdict"]))
    return points


def _pareto(points: Sequence[_Point]) -> list[_Point]:
    """The points no other point dominates (cheaper or equal, and at least as good), by cost."""

    def dominated(p: _Point) -> bool:
        return any(
            q.cost <= p.cost and q.score >= p.score and (q.cost < p.cost or q.score > p.score)
            for q in points
        )

    return sorted((p for p in points if not dominated(p)), key=lambda p: (p.cost, p.score))


def _cost_axis(costs: Sequence[float]) -> _Axis:
    low, high = min(costs), max(costs)
    if low > 0 and high / low >= LOG_RANGE:
        return _Axis(10 ** math.floor(math.log10(low)), 10 ** math.ceil(math.log10(high)),
                     LEFT, WIDTH - RIGHT, log=True)  # fmt: skip
    return _Axis(0.0, high * 1.1 if high > 0 else 1.0, LEFT, WIDTH - RIGHT)


def _score_axis(points: Sequence[_Point]) -> _Axis:
    values = [p.score for p in points] + [v for p in points if p.ci for v in p.ci]
    low = max(0.0, math.floor((min(values) - 0.02) * 20) / 20)
    high = min(1.0, math.ceil((max(values) + 0.02) * 20) / 20)
    return _Axis(low, max(high, low + 0.1), HEIGHT - BOTTOM, TOP)


def _ticks(axis: _Axis) -> list[float]:
    """Decades on a log axis; about five round steps on a linear one."""
    if axis.log:
        first, last = round(math.log10(axis.low)), round(math.log10(axis.high))
        return [10.0**e for e in range(first, last + 1)]
    raw = (axis.high - axis.low) / 5
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(axis.low / step - 1e-9)
    return [i * step for i in range(first, int(axis.high / step + 1e-9) + 1)]


def _gridlines(x: _Axis, y: _Axis) -> list[str]:
    lines = [
        f"<line class='axis' x1='{LEFT}' y1='{y.start}' x2='{x.end}' y2='{y.start}'/>",
        f"<line class='axis' x1='{LEFT}' y1='{y.start}' x2='{LEFT}' y2='{y.end}'/>",
        f"<text x='{(x.start + x.end) / 2:.1f}' y='{HEIGHT - 6}' text-anchor='middle'>"
        "cost per answer (USD)</text>",
        f"<text transform='translate(14 {(y.start + y.end) / 2:.1f}) rotate(-90)' "
        "text-anchor='middle'>mean score</text>",
    ]
    for v in _ticks(y):
        py = y.at(v)
        lines.append(f"<line class='grid' x1='{LEFT}' y1='{py:.1f}' x2='{x.end}' y2='{py:.1f}'/>")
        lines.append(f"<text x='{LEFT - 6}' y='{py + 4:.1f}' text-anchor='end'>{v:.2f}</text>")
    for v in _ticks(x):
        px = x.at(v)
        lines.append(f"<line class='grid' x1='{px:.1f}' y1='{TOP}' x2='{px:.1f}' y2='{y.start}'/>")
        label = escape(money(v))
        lines.append(f"<text x='{px:.1f}' y='{y.start + 16}' text-anchor='middle'>{label}</text>")
    return lines


def _front_line(front: Sequence[_Point], x: _Axis, y: _Axis) -> str:
    coords = " ".join(f"{x.at(p.cost):.1f},{y.at(p.score):.1f}" for p in front)
    return f"<polyline class='front' points='{coords}'/>"


CHAR_WIDTH, LINE_HEIGHT = 6.2, 13  # of 11px chart text, roughly


Box = tuple[float, float, float, float]  # left, top, right, bottom
Spot = tuple[float, float, str]  # x, y, text-anchor


def _label_spots(points: Sequence[_Point], x: _Axis, y: _Axis) -> list[Spot]:
    """Where each point's name goes: beside it, clear of the labels placed before it."""
    taken: list[Box] = []
    spots = []
    for p in points:
        px, py = x.at(p.cost), y.at(p.score)
        width = len(p.name) * CHAR_WIDTH
        tries: list[Spot] = [(px + 8, py - 8, "start"), (px + 8, py + 16, "start"),
                             (px - 8, py - 8, "end"), (px - 8, py + 16, "end")]  # fmt: skip
        tries += [(px + 8, py - 8 - k * LINE_HEIGHT, "start") for k in range(1, 6)]
        tries += [(px + 8, py + 16 + k * LINE_HEIGHT, "start") for k in range(1, 6)]
        spot = next((t for t in tries if _clear(_box(t, width), taken)), tries[0])
        taken.append(_box(spot, width))
        spots.append(spot)
    return spots


def _box(spot: Spot, width: float) -> Box:
    left = spot[0] if spot[2] == "start" else spot[0] - width
    return left, spot[1] - LINE_HEIGHT + 3, left + width, spot[1] + 3


def _clear(box: Box, taken: Sequence[Box]) -> bool:
    return all(box[2] <= o[0] or o[2] <= box[0] or box[3] <= o[1] or o[3] <= box[1] for o in taken)


def _mark(p: _Point, on_front: bool, x: _Axis, y: _Axis, label_at: Spot) -> str:
    """One model: its CI bar, its point (with a tooltip) and its label."""
    kind = "baseline" if p.verdict == "baseline" else "pass" if p.verdict == "pass" else "failing"
    px, py = x.at(p.cost), y.at(p.score)
    parts = [f"<g class='model {kind}' data-model='{escape(p.name)}'>"]
    if p.ci is not None:
        lo, hi = y.at(y.clamp(p.ci[0])), y.at(y.clamp(p.ci[1]))
        parts += [
            f"<line class='bar' x1='{px:.1f}' y1='{lo:.1f}' x2='{px:.1f}' y2='{hi:.1f}'/>",
            *(f"<line class='bar' x1='{px - 5:.1f}' y1='{v:.1f}' x2='{px + 5:.1f}' y2='{v:.1f}'/>"
              for v in (lo, hi)),
        ]  # fmt: skip
    tip = f"{p.name}: score {p.score:.3f}, {money(p.cost)} per answer, {p.verdict}"
    if p.ci is not None:
        tip += f", CI bar [{p.ci[0]:.3f}, {p.ci[1]:.3f}]"
    classes = "point pareto" if on_front else "point"
    parts += [
        f"<circle class='{classes}' cx='{px:.1f}' cy='{py:.1f}' r='5'>"
        f"<title>{escape(tip)}</title></circle>",
        f"<text x='{label_at[0]:.1f}' y='{label_at[1]:.1f}' text-anchor='{label_at[2]}'>"
        f"{escape(p.name)}</text>",
        "</g>",
    ]
    return "".join(parts)
