"""The cyclic collector paused around bulk work, and resumed exactly as it was."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from pytest_modelguard.core.gc_pause import cyclic_gc_paused


@pytest.fixture
def collector_restored() -> Iterator[None]:
    enabled = gc.isenabled()
    yield
    (gc.enable if enabled else gc.disable)()


@pytest.mark.usefixtures("collector_restored")
@pytest.mark.parametrize("enabled", [True, False], ids=["enabled", "disabled"])
def test_paused_inside_and_resumed_as_it_was(enabled: bool) -> None:
    (gc.enable if enabled else gc.disable)()
    with cyclic_gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled() is enabled
    with pytest.raises(KeyError), cyclic_gc_paused():
        raise KeyError("a suite that fails to load")
    assert gc.isenabled() is enabled


@pytest.mark.usefixtures("collector_restored")
def test_cycles_made_while_paused_are_collected_after() -> None:
    gc.enable()

    class Node:
        other: object

    with cyclic_gc_paused():
        first, second = Node(), Node()
        first.other, second.other = second, first
        kept = weakref.ref(first)
        del first, second
        assert kept() is not None  # a cycle: reference counting alone does not free it
    gc.collect()
    assert kept() is None
