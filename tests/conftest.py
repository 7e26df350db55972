"""Shared test setup.

pytester's in-process runs forget modules first imported inside them; numpy's C core
cannot be imported twice in one process, so the heavy modules are imported here, once.
"""

from __future__ import annotations

import numpy  # noqa: F401
import pytest
import scipy.stats  # noqa: F401


@pytest.fixture(autouse=True)
def _no_step_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs inside our tests never append to the CI's own $GITHUB_STEP_SUMMARY."""
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
