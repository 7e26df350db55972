"""The runtime router: send each request to the model that earned its tags (SPEC §9).

``Router.model_for(tags)`` picks, for a request, the cheapest model that earned
*every* known tag of the request (by its summed per-tag cost) and is not vetoed on
any set of tags the request carries together (``intersections``: shown worse than
the margin on the cases carrying them all); tags the routes do not know are
ignored; a request with no known tag, or whose tags no single candidate earned,
goes to the default (the baseline).

The table is the one ``--modelguard-routes`` writes (``routing.build_routes``); users
import ``Router`` from ``pytest_modelguard.routing``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml


class Router:
    """Chooses a model per request from a routing table (``build_routes`` or its YAML)."""

    def __init__(self, routes: Mapping[str, Any]) -> None:
        if not isinstance(routes, Mapping):
            raise ValueError(f"routes: expected a mapping, got {type(routes).__name__}")
        default = routes.get("default") or routes.get("baseline")
        if not isinstance(default, str):
            raise ValueError(
                "routes have no default model (the run had no baseline): set 'default'"
            )
        self.default: str = default
        table = routes.get("routes") or {}
        if not isinstance(table, Mapping):
            raise ValueError(f"routes: 'routes' must map each tag to its route, got {table!r}")
        self.routes = {str(tag): _route(tag, route) for tag, route in table.items()}
        together = routes.get("intersections") or []
        if not isinstance(together, list):
            raise ValueError(f"routes: 'intersections' must be a list, got {together!r}")
        self.vetoes = [_veto(entry) for entry in together]

    @classmethod
    def from_file(cls, path: str | Path) -> Router:
        """Load a ``--modelguard-routes`` file."""
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        if not isinstance(data, Mapping) or not isinstance(data.get("routes", {}), Mapping):
            raise ValueError(f"{path}: not a modelguard routes file (no 'routes' mapping)")
        return cls(data)

    def model_for(self, tags: Iterable[str]) -> str:
        """The cheapest model that earned every known tag of the request and is vetoed on no
        set of its tags together, else the default."""
        carried = list(dict.fromkeys((tags,) if isinstance(tags, str) else tags))  # not chars
        known = [self.routes[t] for t in carried if t in self.routes]
        if not known:
            return self.default
        common: set[str] = set(known[0])
        for route in known[1:]:
            common &= set(route)
        for together, vetoed in self.vetoes:
            if together <= set(carried):
                common -= vetoed
        if not common:
            return self.default
        return min(common, key=lambda m: (sum(r[m] for r in known), m))


def _route(tag: object, route: Any) -> dict[str, float]:
    """A tag's route: the models that earned it and their cost per answer (numbers)."""
    earned = route.get("earned") if isinstance(route, Mapping) else None
    earned = {} if earned is None and isinstance(route, Mapping) else earned
    if not isinstance(earned, Mapping) or not all(
        isinstance(cost, (int, float)) and not isinstance(cost, bool) and math.isfinite(cost)
        for cost in earned.values()
    ):
        raise ValueError(
            f"routes: tag {tag!r} needs 'earned', a mapping of model to cost per answer: {route!r}"
        )
    return {str(model): float(cost) for model, cost in earned.items()}


def _veto(entry: Any) -> tuple[frozenset[str], set[str]]:
    """An ``intersections`` entry: the tags together and the models vetoed there."""
    tags = entry.get("tags") if isinstance(entry, Mapping) else None
    vetoed = entry.get("vetoed") if isinstance(entry, Mapping) else None
    if not isinstance(tags, list) or not isinstance(vetoed, Mapping):
        raise ValueError(f"routes: an 'intersections' entry needs 'tags' and 'vetoed': {entry!r}")
    return frozenset(map(str, tags)), set(map(str, vetoed))
