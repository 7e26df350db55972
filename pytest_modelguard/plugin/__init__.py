"""pytest glue only: options, collection, prefetch, results, gate, summary, exit status.

Every hook delegates to the ModelguardSession kept in ``config.stash``; a run with
no modelguard config, flags or suites never creates one and behaves as plain pytest.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from ..config import Overrides, Settings, load_settings, read_pyproject
from ..core.errors import CacheError, ConfigError, HistoryError
from ..records.calls import Request
from ..records.results import ItemResult
from ..report.progress import TerminalProgress
from ..verdict.history import StoredRun, find_run, load_run
from . import gate_results, options, sequential, summary, xdist
from .items import CLEAN_ERRORS, RESULTS, CaseItem, SuiteFile, is_suite_path, pair_with_baseline
from .keys import SESSION, session_of
from .session import ModelguardSession

REPORT_ATTR = "modelguard"
SCORE_ATTR = "modelguard_score"  # -v: the item's score and failing checks, in one string
pytest_plugins = ["pytest_modelguard.plugin.fixtures"]


def pytest_addoption(parser: pytest.Parser) -> None:
    options.add(parser)


def _stored_run(config: pytest.Config, settings: Settings) -> StoredRun | None:
    """The run --modelguard-compare names, read now so a bad one stops the run before it costs."""
    spec = config.getoption("modelguard_compare")
    if not spec:
        return None
    path = find_run(spec, settings.cache_dir, config.invocation_params.dir)
    return load_run(path)


def pytest_configure(config: pytest.Config) -> None:
    path = options.pyproject(config)
    try:
        table = options.with_budgets(config, read_pyproject(path))
        flags = options.overrides(config)
        if not table and flags == Overrides():
            settings = Settings(baseline=None, candidates=())
        else:
            settings = load_settings(str(path), table, flags, path.parent)
            options.check_outputs(config)
            sequential.check_usage(config, settings.sequential)
        compare = None if xdist.is_worker(config) else _stored_run(config, settings)
    except (ConfigError, HistoryError) as exc:
        raise pytest.UsageError(str(exc)) from None
    lf = bool(config.getoption("lf", False)) and _item_failures(config)
    mg = ModelguardSession(settings=settings, lf=lf, compare=compare)
    config.stash[SESSION] = mg
    xdist.join_controller_run(config)
    xdist.register(config)
    config.pluginmanager.register(ResultCollector(mg), "modelguard-results")


def _item_failures(config: pytest.Config) -> bool:
    """Whether pytest's cache knows failing items, which --lf will rerun alone.

    Failing gate results are not items: with only those, --lf reruns the whole run.
    """
    cache = getattr(config, "cache", None)
    failed = cache.get("cache/lastfailed", {}) if cache is not None else {}
    return any(not str(nodeid).startswith(f"{gate_results.GATE_PATH}::") for nodeid in failed)


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
    """Answer every selected request concurrently, before the first item runs.

    An xdist worker does not know its items in advance: it prefetches, at each miss,
    the items it has been handed so far (see ``xdist.worker_pending``).
    """
    if session.config.option.collectonly:
        return None
    mg = session_of(session.config)
    if xdist.is_worker(session.config):
        mg.answers.pending = lambda: _requests_of(xdist.worker_pending(session))
        return None
    requests = _requests_of(session.items)
    if not requests:
        return None
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if session.config.getoption("modelguard_dry_run"):
        _dry_run(mg, requests, reporter)
        return True  # the loop is done: no item runs, nothing is called
    progress = None
    if reporter is not None:
        progress = TerminalProgress(
            write=reporter.write, is_tty=bool(getattr(reporter, "isatty", False))
        )
    items = session.items
    try:
        if mg.settings.sequential:  # batch by batch; returns the items it left to prefetch
            items = sequential.run(items, mg, progress)
            requests = _requests_of(items)
        mg.answers.prefetch(requests, progress)
        judge_calls = [
            r for item in items if isinstance(item, CaseItem) for r in item.judge_requests()
        ]
        mg.answers.prefetch(judge_calls, progress)
    except CacheError as exc:
        raise pytest.UsageError(str(exc)) from None
    return None


def _requests_of(items: list[pytest.Item]) -> list[Request]:
    from .fixtures import prefetch_requests

    requests = [r for item in items if isinstance(item, CaseItem) for r in item.requests]
    return requests + prefetch_requests(items)


def _dry_run(mg: ModelguardSession, requests: list[Request], reporter: Any) -> None:
    from ..report.terminal import dry_run_lines

    for line in dry_run_lines(mg.answers.dry_run(requests), mg.settings.record.value):
        reporter.write_line(line)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, Any]:
    report = yield
    if call.excinfo is not None and isinstance(call.excinfo.value, CLEAN_ERRORS):
        # setup errors too: the message says it all, a traceback would bury it
        clean = (
            item.repr_failure(call.excinfo)
            if isinstance(item, CaseItem)
            else str(call.excinfo.value)
        )
        report.longrepr = clean
    results = item.stash.get(RESULTS, None)
    if results and report.when == "call" and isinstance(item, CaseItem):
        setattr(report, SCORE_ATTR, _scored([r for r in results if r.model == item.model.name]))
    if results and _is_final(report):
        if xdist.is_worker(item.config):  # xdist: the report carries them to the controller
            setattr(report, REPORT_ATTR, [r.to_dict() for r in results])
        else:
            session_of(item.config).results.extend(results)
        del item.stash[RESULTS]
    return report


def _scored(results: list[ItemResult]) -> str:
    scores = [r.score for r in results if r.score is not None]
    if not scores:
        return "no score"
    failed = sorted({g.name for r in results for g in r.grades if not g.passed})
    text = f"score {sum(scores) / len(scores):.2f}"
    return text + (f" (failed: {', '.join(failed)})" if failed else "")


def _is_final(report: pytest.TestReport) -> bool:
    return report.when == "call" or (report.when == "setup" and report.outcome != "passed")


class ResultCollector:
    """Gathers every item's results from the reports: the same path with or without xdist."""

    def __init__(self, mg: ModelguardSession) -> None:
        self.mg = mg

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        data = getattr(report, REPORT_ATTR, None)
        if data:
            self.mg.results.extend(ItemResult.from_dict(d) for d in data)


@pytest.hookimpl(tryfirst=True)  # before junitxml writes its file and the cache its --lf list
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if xdist.is_worker(session.config):
        return  # xdist worker: the controller gates
    mg = session_of(session.config)
    stopped = _stopped(session, exitstatus)
    if session.config.getoption("modelguard_save") and stopped:
        mg.unsaved = "the run stopped early, and half a run is no reference"
    report = mg.finish(
        not_gated=stopped, outputs=options.outputs(session.config, stopped is None, mg)
    )
    if report is None:
        return
    gate_results.log(session, gate_results.outcomes(report, mg.settings.gate, _worst(mg)))
    if report.failed and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _worst(mg: ModelguardSession) -> dict[str, list[str]]:
    """Per candidate, its worst cases: shown under its failing gate result (and in JUnit)."""
    from ..report.terminal import worst_case_lines

    baseline = mg.settings.baseline
    if baseline is None:
        return {}
    return {
        m.name: worst_case_lines(mg.results, baseline.name, m.name) for m in mg.settings.candidates
    }


def _stopped(session: pytest.Session, exitstatus: int) -> str | None:
    """Why the run stopped before every selected item ran, or None when it ran them all."""
    if exitstatus == pytest.ExitCode.INTERRUPTED:
        return "the run was interrupted before every item ran"
    why = session.shouldfail or session.shouldstop
    if why:
        detail = f" ({why})" if isinstance(why, str) else ""
        return f"the run stopped early{detail} before every item ran"
    return None


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config) -> Any:
    """-v: a case item's score and failing checks beside its outcome."""
    scored = getattr(report, SCORE_ATTR, None)
    if scored is None or report.when != "call" or config.get_verbosity() < 1:
        return None
    word = "PASSED" if report.passed else "FAILED"
    letter = "." if report.passed else "F"
    low = report.passed and not scored.startswith("score 1.00")
    return (
        report.outcome,
        letter,
        (
            f"{word} {scored}",
            {"yellow": low, "green": report.passed and not low, "red": report.failed},
        ),
    )


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    summary.write(terminalreporter, session_of(config), config.get_verbosity())
