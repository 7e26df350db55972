"""``--modelguard-shard I/N``: keep this shard's cases, deselect the rest (pytest glue).

Suite items are keyed by their suite's path (relative to the rootdir) and case id; Python
tests marked ``modelguard`` by their node id without the model (the case by its id, any
other parameter by its index). Other tests are no case: every shard runs them.
"""

from __future__ import annotations

import os

import pytest

from ..core.shard import Shard, case_key
from .items import CaseItem
from .keys import MARKER


def key_of(item: pytest.Item, rootpath: str) -> str | None:
    """The shard key of a modelguard item; None for any other test."""
    if isinstance(item, CaseItem):
        return case_key(os.path.relpath(item.path, rootpath), item.case.id)
    callspec = getattr(item, "callspec", None)
    params = getattr(callspec, "params", {})
    if "model" not in params or item.get_closest_marker(MARKER) is None:
        return None
    indices: dict[str, int] = getattr(callspec, "indices", {})
    parts = [
        f"{name}={getattr(params[name], 'id', None) if name == 'case' else indices.get(name)}"
        for name in sorted(params)
        if name != "model"
    ]
    parent = item.parent.nodeid if item.parent is not None else ""
    test = getattr(item, "originalname", item.name)
    return f"{parent}::{test}[{','.join(parts)}]"


def select(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the modelguard items of the other shards (reported as deselected)."""
    shard: Shard | None = config.getoption("modelguard_shard", None)
    if shard is None:
        return
    root = str(config.rootpath)
    kept: list[pytest.Item] = []
    left: list[pytest.Item] = []
    for item in items:
        key = key_of(item, root)
        (kept if key is None or shard.holds(key) else left).append(item)
    if left:
        config.hook.pytest_deselected(items=left)
        items[:] = kept
