"""Shared test setup.

The statistical simulations (``tests/simulations/``, marked ``simulation``) are long: a
plain ``pytest tests`` leaves them out and says so; ``--simulations`` runs them too (CI does).

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


@pytest.fixture(scope="session", autouse=True)
def _sdks_warm(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The SDKs' HTTP stack imported and used once per process before any pytester run, so
    no in-process run is the first to import it (see sdkwarm.py): test files pass in any
    order and under any xdist split."""
    from sdkwarm import warm_sdks

    warm_sdks(tmp_path_factory.mktemp("sdkwarm"))


@pytest.fixture(autouse=True)
def _no_step_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs inside our tests never append to the CI's own $GITHUB_STEP_SUMMARY."""
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)


SIMULATIONS = "--simulations"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        SIMULATIONS,
        action="store_true",
        help="also run the statistical simulations (tests/simulations/); CI runs them",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "simulation: a statistical simulation (run with --simulations)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.name.endswith("_simulation.py"):
            item.add_marker(pytest.mark.simulation)
    if config.getoption(SIMULATIONS):
        return
    simulations = [item for item in items if item.get_closest_marker("simulation")]
    if simulations:
        config.hook.pytest_deselected(items=simulations)
        items[:] = [item for item in items if not item.get_closest_marker("simulation")]


def pytest_report_header(config: pytest.Config) -> str | None:
    if config.getoption(SIMULATIONS):
        return None
    return f"statistical simulations left out (tests/simulations/): add {SIMULATIONS}"
