"""``pytest_configure``'s work: settings from pyproject and flags, the stored run, the session."""

from __future__ import annotations

import pytest

from ..config import Overrides, Settings, load_settings, read_pyproject
from ..core.errors import ConfigError, HistoryError
from . import options, xdist
from .keys import SESSION
from .results import ResultCollector
from .session import ModelguardSession


def configure(config: pytest.Config) -> None:
    """Make the run's session (kept in ``config.stash``); a bad config is a usage error."""
    path = options.pyproject(config)
    resume = None
    try:
        table = options.with_budgets(config, read_pyproject(path))
        flags = options.overrides(config)
        if not table and flags == Overrides():
            settings = Settings(baseline=None, candidates=())
        else:
            settings = load_settings(str(path), table, flags, path.parent)
            options.check_outputs(config)
            resume = options.check_sequential(config, settings)
        spec = config.getoption("modelguard_compare")
        cwd = config.invocation_params.dir
        compare = None
        if spec and not xdist.is_worker(config):
            from ..verdict.drift_state import stored_run  # numpy: only for a compare

            compare = stored_run(spec, settings, cwd)
    except (ConfigError, HistoryError) as exc:
        raise pytest.UsageError(str(exc)) from None
    lf = bool(config.getoption("lf", False)) and options.last_failed_items(config)
    mg = ModelguardSession(settings=settings, lf=lf, compare=compare, resume=resume)
    config.stash[SESSION] = mg
    xdist.join_controller_run(config)
    xdist.register(config)
    config.pluginmanager.register(ResultCollector(mg), "modelguard-results")
