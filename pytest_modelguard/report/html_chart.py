"""The HTML report's chart: each model at (cost per answer, mean score), as inline SVG.

A candidate's vertical bar is its paired delta CI mapped onto the score axis: baseline
mean + [CI low, CI high]. The Pareto front (no other model is cheaper and at least as
good) is drawn through the point estimates.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from ..core.formatting import money
from ..core.vocabulary import Verdict

Doc = Mapping[str, Any]

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
    kind = (
        "baseline"
        if p.verdict == Verdict.BASELINE
        else "pass"
        if p.verdict == Verdict.PASS
        else "failing"
    )
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
