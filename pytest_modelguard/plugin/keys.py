"""What the plugin's modules keep on pytest objects (the session on the config, an item's
answers and results); the marker."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from ..records.results import ItemResult
    from .session import ModelguardSession

SESSION: pytest.StashKey[ModelguardSession] = pytest.StashKey()
RESULTS: pytest.StashKey[list[ItemResult]] = (
    pytest.StashKey()
)  # a case item's results, carried to its report
READS = pytest.StashKey[tuple[str, ...]]()  # the answers (request keys) a case item will read
GRADED: pytest.StashKey[list[ItemResult]] = (
    pytest.StashKey()
)  # results graded before setup (a sequential batch)
UNASKED = pytest.StashKey[str]()  # why some of an item's repeats were not asked (adaptive)
MARKER = "modelguard"  # @pytest.mark.modelguard: a Python test over models (and cases)


def session_of(config: pytest.Config) -> ModelguardSession:
    return config.stash[SESSION]
