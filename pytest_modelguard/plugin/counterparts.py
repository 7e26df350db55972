"""Selection that keeps the gate pairing Python tests: a candidate's selected run of a test
over a case brings back the baseline's run of the same test and case that ``-k`` or ``-m``
left out only for not naming the candidate.

``-k "test_x and mini"`` selects a candidate's Python-test items alone; the baseline's run
of the test would be missing and the candidate's check could not pair. This hook is
``trylast`` (after ``-k``, ``-m`` and ``--deselect``; wrappers such as ``--lf``, ``--nf``
and ``--sw`` finish after it). A deselected baseline item comes back only when ``-k`` or
``-m`` rejects it, yet both accept it with the candidate's keywords and markers added to
its own (``test_x and mini`` does, ``not <baseline>`` does not), and no ``--deselect``
names it; items other plugins deselected (shards, ``--sw``) never come back. It is put
back just before the first selected item it pairs with, and taken off the terminal's
deselected count. Collection is deterministic, so every xdist worker puts back the same
items in the same places. ``pair_deselected = false`` turns this off.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

import pytest
from _pytest.mark import KeywordMatcher, MarkMatcher  # how -k and -m match an item
from _pytest.mark.expression import Expression

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
        if counterpart is not None and _left_out_for_its_model(config, counterpart, item):
            counterpart.stash[COUNTERPART] = True
            selected.append(counterpart)
            back.append(counterpart)
        selected.append(item)
    items[:] = selected
    _undeselect(config, back)


Matcher = Callable[..., bool]


def _left_out_for_its_model(config: pytest.Config, base: pytest.Item, cand: pytest.Item) -> bool:
    """Whether ``-k``/``-m`` rejected ``base`` but accept it given ``cand``'s keywords and
    markers too (its model id the only reason), and no ``--deselect`` names it."""
    prefixes = tuple(config.getoption("deselect", None) or ())
    if prefixes and base.nodeid.startswith(prefixes):
        return False
    checks = [
        (_expression(config.getoption("keyword", "")), _keywords),
        (_expression(config.getoption("markexpr", "")), _markers),
    ]
    own = all(e.evaluate(of(base)) for e, of in checks if e is not None)
    both = all(e.evaluate(_either(of(base), of(cand))) for e, of in checks if e is not None)
    return not own and both


def _expression(text: str) -> Expression | None:
    return Expression.compile(text.strip()) if text and text.strip() else None


def _keywords(item: pytest.Item) -> Matcher:
    return KeywordMatcher.from_item(item)


def _markers(item: pytest.Item) -> Matcher:
    if hasattr(MarkMatcher, "from_markers"):  # pytest 8.2+
        return MarkMatcher.from_markers(item.iter_markers())
    return MarkMatcher.from_item(item)  # type: ignore[attr-defined,no-any-return,unused-ignore]


def _either(first: Matcher, second: Matcher) -> Matcher:
    def matches(name: str, /, **kwargs: Any) -> bool:
        return first(name, **kwargs) or second(name, **kwargs)

    return matches


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
