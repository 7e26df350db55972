"""Per-tag routing (SPEC §9 ``--modelguard-routes``): send each request to the model that earned it.

``build_routes`` reads the JSON report document and, per tag, lists the candidates
that *earned* the tag. Only a candidate that passed the run's gate may earn tags
(``pass`` its only verdict: no error, budget, regression or inconclusive). It earns a
tag when its cost per answer there is known and strictly below the baseline's, and
its delta on the tag is shown non-inferior at the run's margin: the one-sided test
of "worse by `margin` or more" (``p_noninferior``) rejected at the run's level after
Holm's correction across every (tag, candidate) test of the table, so that among
all routes the chance of any route to a model worse by the margin stays within the
run's 1 - confidence. With margin 0 that asks for a significant improvement. The
route is the cheapest earner, else the baseline.

The runtime side, ``Router`` (``router.py``), reads the table back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from .stats import holm

VERSION = 2
CORRECTION = "holm"


def build_routes(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The routing table of a JSON report document: per tag, the model and the figures behind it."""
    baseline = doc.get("baseline")
    margin = float(doc.get("margin") or 0.0)
    level = (1 - float(doc.get("confidence") or 0.95)) / 2  # one-sided, as the gate's tests
    passed = {
        name for name, model in doc["models"].items()
        if name != baseline and set(model.get("verdicts") or (model["verdict"],)) == {"pass"}
    }  # fmt: skip
    tests = {
        (tag, name): p
        for tag, row in doc["tags"].items()
        for name in passed
        if (p := _test(row, baseline, name)) is not None
    }
    adjusted = holm({f"{tag}\x00{name}": p for (tag, name), p in tests.items()})
    earned = {key for key in tests if adjusted[f"{key[0]}\x00{key[1]}"] < level}
    routes = {
        tag: _route(row, baseline, {n for t, n in earned if t == tag})
        for tag, row in sorted(doc["tags"].items())
    }
    return {
        "version": VERSION,
        "baseline": baseline,
        "default": baseline,
        "confidence": doc.get("confidence"),
        "margin": margin,
        "correction": f"{CORRECTION} across {len(tests)} tag x candidate tests",
        "routes": routes,
    }


def _test(row: Mapping[str, Any], baseline: str | None, name: str) -> float | None:
    """The non-inferiority p-value of `name` on a tag where it is cheaper; None: not tested."""
    summary, base = row.get(name) or {}, row.get(baseline or "") or {}
    delta, cost, base_cost = (
        summary.get("delta"), summary.get("cost_per_case_usd"), base.get("cost_per_case_usd")
    )  # fmt: skip
    if not delta or delta.get("p_noninferior") is None or cost is None or base_cost is None:
        return None
    return float(delta["p_noninferior"]) if cost < base_cost else None


def _route(row: Mapping[str, Any], baseline: str | None, earners: set[str]) -> dict[str, Any]:
    base = row.get(baseline or "", {})
    base_cost = base.get("cost_per_case_usd")
    earned = {name: row[name]["cost_per_case_usd"] for name in earners}
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


def render_routes_yaml(doc: Mapping[str, Any]) -> str:
    """The routing table as YAML, with a header saying how to read and use it."""
    header = (
        "# modelguard routes: per tag, the cheapest model that passed the gate and is shown\n"
        "# non-inferior to the baseline on that tag at the margin (Holm-corrected across\n"
        "# every tag x candidate test, see `correction`), else the baseline.\n"
        "# `earned` lists every such model with its cost per answer on the tag, cheapest first;\n"
        "# Router.model_for(tags) picks the cheapest model in `earned` of every known tag\n"
        "# (edit `earned` or `default` to change the routes), else `default`.\n"
        "# Use: pytest_modelguard.routing.Router.from_file(path).model_for(tags)\n"
    )
    body = yaml.safe_dump(
        build_routes(doc), sort_keys=False, allow_unicode=True, width=100, default_flow_style=None
    )
    return header + body
