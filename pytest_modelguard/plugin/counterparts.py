"""Selection that keeps the gate pairing Python tests: a candidate's selected run of a test
over a case brings back the baseline's deselected run of the same test and case.

``-k "test_x and mini"`` selects a candidate's Python-test items alone; the baseline's run
of the test would be missing and the candidate's check could not pair. After every other
selection (``-k``, ``-m``, ``--deselect``: this hook runs last), each such baseline
counterpart is put back just before the first selected item it pairs with, and taken off
the terminal's deselected count. Collection is deterministic, so every xdist worker puts
back the same items in the same places.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import pytest

from .keys import MARKER

DESELECTED = pytest.StashKey[list[pytest.Item]]()  # Python tests over cases, deselected
COUNTERPART = pytest.StashKey[bool]()  # an item run only to pair a selected one


def remember(items: Sequence[pytest.Item]) -> int:
    """``pytest_deselected``: keep the deselected Python tests over cases; how many."""
    tests = [item for item in items if _key(item) is not None]
    if tests:
        tests[0].config.stash.setdefault(DESELECTED, []).extend(tests)
    return len(tests)


def restore(config: pytest.Config, items: list[pytest.Item], baseline: str) -> None:
    """Put back the baseline counterparts of the selected candidates' Python tests."""
    deselected = config.stash.get(DESELECTED, [])
    config.stash[DESELECTED] = []
    waiting: dict[Hashable, pytest.Item] = {}
    for item in deselected:
        key = _key(item)
        if key is not None and _model(item) == baseline:
            waiting.setdefault(key, item)
    if not waiting:
        return
    selected: list[pytest.Item] = []
    back: list[pytest.Item] = []
    for item in items:
        counterpart = waiting.pop(_key(item), None) if _model(item) != baseline else None
        if counterpart is not None:
            counterpart.stash[COUNTERPART] = True
            selected.append(counterpart)
            back.append(counterpart)
        selected.append(item)
    items[:] = selected
    _undeselect(config, back)


def _undeselect(config: pytest.Config, back: list[pytest.Item]) -> None:
    """Take the items put back off the terminal's deselected count (its public ``stats``),
    so "N deselected" and "M selected" count what runs."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    stats = getattr(reporter, "stats", None)
    if not back or not isinstance(stats, dict) or "deselected" not in stats:
        return
    ids = {id(item) for item in back}
    kept = [item for item in stats["deselected"] if id(item) not in ids]
    if kept:
        stats["deselected"] = kept
    else:
        del stats["deselected"]


def _model(item: pytest.Item) -> str | None:
    params = getattr(getattr(item, "callspec", None), "params", {})
    model = params.get("model")
    return model if isinstance(model, str) else None


def _key(item: pytest.Item) -> Hashable | None:
    """A Python test over a case, its model left out: the test, its case and every other
    parameter (by index); None for any other item."""
    callspec = getattr(item, "callspec", None)
    params = getattr(callspec, "params", {})
    if "model" not in params or "case" not in params or item.get_closest_marker(MARKER) is None:
        return None
    indices: dict[str, int] = getattr(callspec, "indices", {})
    others = tuple(sorted((name, index) for name, index in indices.items() if name != "model"))
    parent = item.parent.nodeid if item.parent is not None else ""
    return parent, getattr(item, "originalname", item.name), others
