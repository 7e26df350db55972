"""Per-tag routing (SPEC §9 ``--modelguard-routes``): send each request to the model that earned it.

``build_routes`` reads the JSON report document and, per tag, lists the candidates
that *earned* the tag: their delta on that tag is non-inferior to the baseline (the
CI's lower end >= -margin, the run's margin) and their cost per answer on that tag
is known and strictly below the baseline's. The route is the cheapest of them, else
the baseline. Candidates that errored or broke a budget (``error`` / ``budget`` among
their verdicts) never earn a route. Per-tag CIs are at the run's confidence, not
corrected for the number of tags: on few cases, expect the baseline.

``Router.model_for(tags)`` picks, for a request, the cheapest model that earned
*every* known tag of the request (by its summed per-tag cost); tags the routes do
not know are ignored; a request with no known tag, or whose tags no single
candidate earned, goes to the default (the baseline).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

VERSION = 1
INELIGIBLE = frozenset({"error", "budget"})  # a model with either verdict earns no route
_TOLERANCE = 1e-12  # a CI lower end of -1e-17 is 0


def build_routes(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The routing table of a JSON report document: per tag, the model and the figures behind it."""
    baseline = doc.get("baseline")
    margin = float(doc.get("margin") or 0.0)
    eligible = {
        name for name, model in doc["models"].items()
        if name != baseline and not INELIGIBLE & {model["verdict"], *model.get("verdicts", ())}
    }  # fmt: skip
    routes = {
        tag: _route(row, baseline, eligible, margin) for tag, row in sorted(doc["tags"].items())
    }
    return {
        "version": VERSION,
        "baseline": baseline,
        "default": baseline,
        "confidence": doc.get("confidence"),
        "margin": margin,
        "routes": routes,
    }


def _route(
    row: Mapping[str, Any], baseline: str | None, eligible: set[str], margin: float
) -> dict[str, Any]:
    base = row.get(baseline or "", {})
    base_cost = base.get("cost_per_case_usd")
    earned = {
        name: summary["cost_per_case_usd"]
        for name, summary in row.items()
        if name in eligible and _earned(summary, base_cost, margin)
    }
    earned = dict(sorted(earned.items(), key=lambda item: (item[1], item[0])))
    chosen = next(iter(earned), None)
    delta = row[chosen]["delta"] if chosen else None
    return {
        "model": chosen or baseline,
        "n": delta["n_pairs"] if delta else base.get("n", 0),
        "delta": delta["mean"] if delta else None,
        "ci": [delta["ci_low"], delta["ci_high"]] if delta else None,
        "cost_per_case_usd": earned[chosen] if chosen else base_cost,
        "baseline_cost_per_case_usd": base_cost,
        "earned": earned,
    }


def _earned(summary: Mapping[str, Any], base_cost: float | None, margin: float) -> bool:
    """Non-inferior on the tag and cheaper than the baseline there."""
    delta, cost = summary.get("delta"), summary.get("cost_per_case_usd")
    if delta is None or cost is None or base_cost is None:
        return False
    return bool(delta["ci_low"] >= -margin - _TOLERANCE and cost < base_cost)


def render_routes_yaml(doc: Mapping[str, Any]) -> str:
    """The routing table as YAML, with a header saying how to read and use it."""
    header = (
        "# modelguard routes: per tag, the cheapest model whose delta on that tag is\n"
        "# non-inferior to the baseline (CI lower end >= -margin), else the baseline.\n"
        "# `earned` lists every such model with its cost per answer on the tag, cheapest first;\n"
        "# Router.model_for(tags) picks the cheapest model in `earned` of every known tag\n"
        "# (edit `earned` or `default` to change the routes), else `default`.\n"
        "# Use: pytest_modelguard.routing.Router.from_file(path).model_for(tags)\n"
    )
    body = yaml.safe_dump(
        build_routes(doc), sort_keys=False, allow_unicode=True, width=100, default_flow_style=None
    )
    return header + body


class Router:
    """Chooses a model per request from a routing table (``build_routes`` or its YAML)."""

    def __init__(self, routes: Mapping[str, Any]) -> None:
        default = routes.get("default") or routes.get("baseline")
        if not isinstance(default, str):
            raise ValueError(
                "routes have no default model (the run had no baseline): set 'default'"
            )
        self.default: str = default
        self.routes: Mapping[str, Mapping[str, Any]] = routes.get("routes") or {}

    @classmethod
    def from_file(cls, path: str | Path) -> Router:
        """Load a ``--modelguard-routes`` file."""
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        if not isinstance(data, Mapping) or not isinstance(data.get("routes", {}), Mapping):
            raise ValueError(f"{path}: not a modelguard routes file (no 'routes' mapping)")
        return cls(data)

    def model_for(self, tags: Iterable[str]) -> str:
        """The cheapest model that earned every known tag of the request, else the default."""
        if isinstance(tags, str):  # one tag, not its characters
            tags = (tags,)
        known = [self.routes[t] for t in dict.fromkeys(tags) if t in self.routes]
        if not known:
            return self.default
        common: set[str] = set(known[0].get("earned") or {})
        for route in known[1:]:
            common &= set(route.get("earned") or {})
        if not common:
            return self.default
        return min(common, key=lambda m: (sum(float(r["earned"][m]) for r in known), m))
