"""pytest glue only: options, collection, prefetch, results, gate, summary, exit status.

Every hook delegates to the ModelguardSession kept in ``config.stash`` (the work of the
longer ones is in ``configure``, ``prefetch`` and ``results``); a run with no modelguard
config, flags or suites never creates one and behaves as plain pytest.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from . import configure, options, prefetch, results, summary, xdist
from .items import CaseItem, SuiteFile, is_suite_path
from .keys import SESSION, session_of

pytest_plugins = ["pytest_modelguard.plugin.fixtures"]


def pytest_addoption(parser: pytest.Parser) -> None:
    options.add(parser)


def pytest_configure(config: pytest.Config) -> None:
    configure.configure(config)


def pytest_unconfigure(config: pytest.Config) -> None:
    mg = config.stash.get(SESSION, None)
    if mg is not None:
        mg.close()


def pytest_report_header(config: pytest.Config) -> str | None:
    settings = session_of(config).settings
    if settings.baseline is None:
        return None
    candidates = ", ".join(m.name for m in settings.candidates) or "none"
    return (
        f"modelguard: baseline {settings.baseline.name}; candidates {candidates}; "
        f"record {settings.record.value}; seed {settings.seed}"
    )


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> SuiteFile | None:
    if not is_suite_path(file_path.name):
        return None
    suite_file: SuiteFile = SuiteFile.from_parent(parent, path=file_path)
    suite_file.mg = session_of(parent.config)
    return suite_file


def pytest_deselected(items: list[pytest.Item]) -> None:
    modelguard = [item for item in items if isinstance(item, CaseItem)]
    if modelguard:
        modelguard[0].mg.deselected += len(modelguard)


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> None:
    """Answer every selected request concurrently, before the first item runs."""
    if session.config.option.collectonly:
        return
    prefetch.prefetch(session)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, Any]:
    report = yield
    return results.on_report(item, call, report)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if xdist.is_worker(session.config):
        return  # xdist worker: the controller gates
    mg = session_of(session.config)
    interrupted = exitstatus == pytest.ExitCode.INTERRUPTED
    complete = not (interrupted or session.shouldfail or session.shouldstop)
    if session.config.getoption("modelguard_save") and not complete:
        mg.unsaved = "the run stopped early, and half a run is no reference"
    report = mg.finish(
        gating=not interrupted, outputs=options.outputs(session.config, complete, mg)
    )
    if report is not None and report.failed and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    summary.write(terminalreporter, session_of(config), config.get_verbosity())
