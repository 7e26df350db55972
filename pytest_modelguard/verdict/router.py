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

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml


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
        self.vetoes = [_veto(entry) for entry in routes.get("intersections") or ()]

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
        common: set[str] = set(known[0].get("earned") or {})
        for route in known[1:]:
            common &= set(route.get("earned") or {})
        for together, vetoed in self.vetoes:
            if together <= set(carried):
                common -= vetoed
        if not common:
            return self.default
        return min(common, key=lambda m: (sum(float(r["earned"][m]) for r in known), m))


def _veto(entry: Any) -> tuple[frozenset[str], set[str]]:
    """An ``intersections`` entry: the tags together and the models vetoed there."""
    tags = entry.get("tags") if isinstance(entry, Mapping) else None
    vetoed = entry.get("vetoed") if isinstance(entry, Mapping) else None
    if not isinstance(tags, list) or not isinstance(vetoed, Mapping):
        raise ValueError(f"routes: an 'intersections' entry needs 'tags' and 'vetoed': {entry!r}")
    return frozenset(map(str, tags)), set(map(str, vetoed))
