"""pytest glue only: options, collection, prefetch, results, gate, summary, exit status.

Every hook delegates to the ModelguardSession kept in ``config.stash`` (the work of the
longer ones is in ``configure``, ``prefetch``, ``results`` and ``finishing``); a run with
no modelguard config, flags or suites never creates one and behaves as plain pytest.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from . import configure, finishing, options, prefetch, results, summary
from .items import CaseItem, SuiteFile, is_suite_path, pair_with_baseline
from .keys import SESSION, session_of

pytest_plugins = ["pytest_modelguard.plugin.fixtures", "pytest_modelguard.plugin.shard"]


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


def pytest_collection_finish(session: pytest.Session) -> None:
    pair_with_baseline(session.items, session_of(session.config).settings.baseline)


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> bool | None:
    """Answer every selected request concurrently, before the first item runs."""
    if session.config.option.collectonly:
        return None
    return prefetch.prefetch(session)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, Any]:
    report = yield
    return results.on_report(item, call, report)


@pytest.hookimpl(tryfirst=True)  # before junitxml writes its file and the cache its --lf list
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    finishing.finish(session, exitstatus)


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config) -> Any:
    """-v: a case item's score and failing checks beside its outcome."""
    return results.teststatus(report, config)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    summary.write(terminalreporter, session_of(config), config.get_verbosity())
