"""Shared test setup.

pytester's in-process runs forget modules first imported inside them; numpy's C core
cannot be imported twice in one process, and a module imported afresh in a second run no
longer matches the classes the first run registered (YAML's safe loader), so the heavy
modules and every module of the plugin (most load on first use) are imported here, once.
"""

from __future__ import annotations

import importlib
import pkgutil

import numpy  # noqa: F401
import pytest
import scipy.stats  # noqa: F401

import pytest_modelguard

for _module in pkgutil.walk_packages(pytest_modelguard.__path__, "pytest_modelguard."):
    importlib.import_module(_module.name)


@pytest.fixture(autouse=True)
def _no_step_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs inside our tests never append to the CI's own $GITHUB_STEP_SUMMARY."""
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
