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

Tags together: a candidate that earned tag ``a`` and tag ``b`` may still be worse on
the requests that carry both. For every set of two or more tags that cases carry
together, each candidate that earned all of them is compared with the baseline on
those cases alone; where its two-sided CI at the run's confidence lies wholly below
-margin (shown worse than the margin there) it is *vetoed* for that set, listed under
``intersections``, and ``Router`` never sends a request carrying those tags to it. A
veto only takes routes away, so it needs no correction: the family-wise claim above
(Holm across the tag tests that earn routes) stays true, and a veto wrongly raised
(at most the one-sided rate per set) costs money, never quality. A set is not proven
safe by its tags: with few cases there, no veto means no evidence against, not proof.

The runtime side, ``Router`` (``router.py``), reads the table back.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from ..inference.compare import compare
from ..inference.stats import holm
from ..records.results import ItemResult
from .pairing import paired_results

VERSION = 3
CORRECTION = "holm"
MAX_TAGS_TOGETHER = 6  # a case with more tags: only its pairs of tags are checked


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
    earners = {tag: set(route["earned"]) for tag, route in routes.items()}
    intersections = _vetoes(doc, baseline, earners, margin)
    return {
        "version": VERSION,
        "baseline": baseline,
        "default": baseline,
        "confidence": doc.get("confidence"),
        "margin": margin,
        "correction": f"{CORRECTION} across {len(tests)} tag x candidate tests",
        "routes": routes,
        "intersections": intersections,
    }


def _vetoes(
    doc: Mapping[str, Any], baseline: str | None, earners: Mapping[str, set[str]], margin: float
) -> list[dict[str, Any]]:
    """Per set of tags cases carry together: the candidates that earned each tag but are
    shown worse than `margin` on the cases carrying them all (only sets with a veto)."""
    results = [ItemResult.from_dict(c) for c in doc.get("cases") or ()]
    by_model: dict[str, list[ItemResult]] = defaultdict(list)
    for result in results:
        by_model[result.model].append(result)
    confidence = float(doc.get("confidence") or 0.95)
    out = []
    for tags in _tag_sets(results):
        names = set.intersection(*(earners.get(t, set()) for t in tags))
        inside = [r for r in by_model.get(baseline or "", []) if set(tags) <= set(r.tags)]
        vetoed = {}
        for name in sorted(names):
            mine = [r for r in by_model[name] if set(tags) <= set(r.tags)]
            pairs = paired_results(inside, mine)
            if pairs is None:
                continue
            delta = compare(*pairs, margin=margin, confidence=confidence)
            if delta.ci_high < -margin:
                vetoed[name] = {
                    "n": delta.n_pairs, "delta": delta.mean, "ci": [delta.ci_low, delta.ci_high]
                }  # fmt: skip
        if vetoed:
            out.append({"tags": list(tags), "vetoed": vetoed})
    return out


def _tag_sets(results: Sequence[ItemResult]) -> list[tuple[str, ...]]:
    """Every set of two or more tags some case carries together, sorted."""
    found: set[tuple[str, ...]] = set()
    for tags in {tuple(sorted(set(r.tags))) for r in results}:
        sizes = range(2, len(tags) + 1) if len(tags) <= MAX_TAGS_TOGETHER else (2,)
        for size in sizes:
            found.update(itertools.combinations(tags, size))
    return sorted(found)


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
        "# and vetoed under no `intersections` entry whose tags the request carries (shown\n"
        "# worse than the margin on cases with those tags together), else `default`.\n"
        "# Use: pytest_modelguard.routing.Router.from_file(path).model_for(tags)\n"
    )
    body = yaml.safe_dump(
        build_routes(doc), sort_keys=False, allow_unicode=True, width=100, default_flow_style=None
    )
    return header + body
