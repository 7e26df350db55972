"""pytest glue only: options, collection, prefetch, results, gate, summary, exit status.

Every hook delegates to the ModelguardSession kept in ``config.stash``; a run with
no modelguard config, flags or suites never creates one and behaves as plain pytest.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from .cache import CacheError, RecordMode
from .config import MAX_SEED, ConfigError, Overrides, Settings, load_settings, read_pyproject
from .history import HistoryError, StoredRun, find_run, load_run, shown_path
from .items import CLEAN_ERRORS, RESULTS, CaseItem, SuiteFile, is_suite_path
from .providers.base import Request
from .report.outputs import Outputs
from .results import ItemResult
from .runner import TerminalProgress
from .safety import output_problem
from .session import ModelguardSession
from .vocabulary import GATES

SESSION = pytest.StashKey[ModelguardSession]()
REPORT_ATTR = "modelguard"
STARTED = "modelguard_started"
REPORT_OPTIONS = ("modelguard_json", "modelguard_markdown", "modelguard_html", "modelguard_routes")
RUN_ID = "modelguard_run_id"
pytest_plugins = ["pytest_modelguard.python_tests"]


def _seed(value: str) -> int:
    try:
        seed = int(value)
    except ValueError:
        seed = -1
    if not 0 <= seed <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"{value!r} is not a seed from 0 to {MAX_SEED}")
    return seed


def _margin(value: str) -> float:
    try:
        margin = float(value)
    except ValueError:
        margin = -1.0
    if not 0 <= margin <= 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a margin in [0, 1]")
    return margin


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup(
        "modelguard", "model-swap checks on your own traffic (pytest-modelguard)"
    )
    group.addoption(
        "--models",
        metavar="A,B",
        help="candidate models (PROVIDER:MODEL or aliases), comma-separated; "
        "overrides [tool.modelguard] models",
    )
    group.addoption(
        "--baseline",
        metavar="MODEL",
        help="the model candidates are compared with; overrides [tool.modelguard] baseline",
    )
    group.addoption(
        "--modelguard-record",
        metavar="MODE",
        choices=[m.value for m in RecordMode],
        help="when to call models: none (default: replay only, offline), "
        "once/new (record missing answers), all (re-record)",
    )
    group.addoption(
        "--modelguard-json",
        metavar="PATH",
        help="write the JSON report (every figure and graded answer) to PATH",
    )
    group.addoption(
        "--modelguard-markdown",
        metavar="PATH",
        help="write a PR-comment-ready Markdown summary to PATH "
        "(also appended to $GITHUB_STEP_SUMMARY when set)",
    )
    group.addoption(
        "--modelguard-html",
        metavar="PATH",
        help="write a self-contained HTML report (cost-vs-quality chart, per-tag table, "
        "case browser) to PATH",
    )
    group.addoption(
        "--modelguard-routes",
        metavar="PATH",
        help="write the routing table (per tag, the cheapest model non-inferior to the "
        "baseline) as YAML to PATH",
    )
    group.addoption(
        "--modelguard-save",
        action="store_true",
        help="keep this run's JSON report under <cache_dir>/runs/ for --modelguard-compare",
    )
    group.addoption(
        "--modelguard-compare",
        metavar="last|PATH",
        help="pair each model with itself in a stored run (last: the newest saved) and flag "
        "quality that moved; a significant drop fails the run",
    )
    group.addoption(
        "--modelguard-seed",
        metavar="N",
        type=_seed,
        help="seed of the bootstrap (default: [tool.modelguard] seed or 0)",
    )
    group.addoption(
        "--modelguard-gate",
        choices=GATES,
        help="verdict rule (default: regression)",
    )
    group.addoption(
        "--modelguard-dry-run",
        action="store_true",
        help="count the uncached calls per model and their most possible cost, then stop "
        "without calling anything",
    )
    group.addoption(
        "--modelguard-margin",
        metavar="X",
        type=_margin,
        help="largest acceptable drop for non-inferiority, in score units",
    )


def _pyproject(config: pytest.Config) -> Path:
    inipath = config.inipath
    if inipath is not None and inipath.name == "pyproject.toml":
        return inipath
    return config.rootpath / "pyproject.toml"


def _outputs(config: pytest.Config, complete: bool) -> Outputs:
    def path(option: str) -> Path | None:
        value = config.getoption(option)
        return Path(value) if value else None

    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    save = config.getoption("modelguard_save") and complete  # half a run is no reference
    return Outputs(
        json=path("modelguard_json"),
        markdown=path("modelguard_markdown"),
        html=path("modelguard_html"),
        routes=path("modelguard_routes"),
        step_summary=Path(summary) if summary else None,
        runs=session_of(config).settings.cache_dir if save else None,
    )


def _stored_run(config: pytest.Config, settings: Settings) -> StoredRun | None:
    """The run --modelguard-compare names, read now so a bad one stops the run before it costs."""
    spec = config.getoption("modelguard_compare")
    if not spec:
        return None
    path = find_run(spec, settings.cache_dir, config.invocation_params.dir)
    return load_run(path)


def _overrides(config: pytest.Config) -> Overrides:
    opt = config.getoption
    return Overrides(
        models=opt("models"),
        baseline=opt("baseline"),
        record=opt("modelguard_record"),
        seed=opt("modelguard_seed"),
        gate=opt("modelguard_gate"),
        margin=opt("modelguard_margin"),
    )


def pytest_configure(config: pytest.Config) -> None:
    path = _pyproject(config)
    try:
        table = read_pyproject(path)
        flags = _overrides(config)
        if not table and flags == Overrides():
            settings = Settings(baseline=None, candidates=())
        else:
            settings = load_settings(str(path), table, flags, path.parent)
            _check_outputs(config)
        compare = None if hasattr(config, "workerinput") else _stored_run(config, settings)
    except (ConfigError, HistoryError) as exc:
        raise pytest.UsageError(str(exc)) from None
    lf = bool(config.getoption("lf", False))
    mg = ModelguardSession(settings=settings, lf=lf, compare=compare)
    workerinput = getattr(config, "workerinput", {})
    if STARTED in workerinput:  # an xdist worker belongs to the controller's run
        mg.started = workerinput[STARTED]
        mg.run_id = workerinput.get(RUN_ID, mg.run_id)
    config.stash[SESSION] = mg
    config.pluginmanager.register(ResultCollector(mg), "modelguard-results")


def _check_outputs(config: pytest.Config) -> None:
    """Every report path can be written: found now, not after the run has paid for answers."""
    named = {f"--{o.replace('_', '-')}": config.getoption(o) for o in REPORT_OPTIONS}
    named["$GITHUB_STEP_SUMMARY"] = os.environ.get("GITHUB_STEP_SUMMARY")
    for option, value in named.items():
        problem = output_problem(Path(value)) if value else None
        if problem:
            raise ConfigError(f"{option}: {problem}")


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist: each worker learns when the run started (what mode ``all`` recorded since)
    and its id (whose spend ledger it shares)."""
    mg = session_of(node.config)
    node.workerinput[STARTED] = mg.started
    node.workerinput[RUN_ID] = mg.run_id


def pytest_unconfigure(config: pytest.Config) -> None:
    mg = config.stash.get(SESSION, None)
    if mg is not None:
        mg.close()


def session_of(config: pytest.Config) -> ModelguardSession:
    return config.stash[SESSION]


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
    """Answer every selected request concurrently, before the first item runs.

    An xdist worker does not know its items in advance: it prefetches, at each miss,
    the items it has been handed so far (see ``_worker_pending``).
    """
    if session.config.option.collectonly:
        return
    mg = session_of(session.config)
    if hasattr(session.config, "workerinput"):
        mg.pending = lambda: _requests_of(_worker_pending(session))
        return
    requests = _requests_of(session.items)
    if not requests:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if session.config.getoption("modelguard_dry_run"):
        _dry_run(mg, requests, reporter)
    progress = None
    if reporter is not None:
        progress = TerminalProgress(
            write=reporter.write, is_tty=bool(getattr(reporter, "isatty", False))
        )
    try:
        mg.prefetch(requests, progress)
        judge_calls = [
            r for item in session.items if isinstance(item, CaseItem) for r in item.judge_requests()
        ]
        mg.prefetch(judge_calls, progress)
    except CacheError as exc:
        raise pytest.UsageError(str(exc)) from None


def _requests_of(items: list[pytest.Item]) -> list[Request]:
    from .python_tests import prefetch_requests

    requests = [r for item in items if isinstance(item, CaseItem) for r in item.requests]
    return requests + prefetch_requests(items)


def _worker_pending(session: pytest.Session) -> list[pytest.Item]:
    """The items the controller has handed this xdist worker and it has not run yet.

    xdist's ``WorkerInteractor`` holds them: the item running, the next one (already
    taken off the queue) and the queue itself. It is registered without a name, and its
    class is not importable (the worker runs xdist's remote module as sent code): found
    by its class name. Before xdist 3.6 the queue cannot be read: each miss is then
    answered alone.
    """
    plugins = session.config.pluginmanager.get_plugins()
    interactor = next((p for p in plugins if type(p).__name__ == "WorkerInteractor"), None)
    lock = getattr(getattr(interactor, "torun", None), "lock", None)
    if lock is None:  # xdist < 3.6 keeps its queue where it cannot be looked into
        return []
    with lock() as queued:
        current = getattr(interactor, "item_index", None)
        pending = [current, getattr(interactor, "nextitem_index", None), *queued]
    items = session.items
    return [items[i] for i in pending if isinstance(i, int) and i < len(items)]


def _dry_run(mg: ModelguardSession, requests: list[Request], reporter: Any) -> None:
    from .report.terminal import dry_run_lines

    for line in dry_run_lines(mg.dry_run(requests), mg.settings.record.value):
        reporter.write_line(line)
    pytest.exit("modelguard dry run: nothing was called", returncode=pytest.ExitCode.OK)


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
    if results and _is_final(report):
        if hasattr(item.config, "workerinput"):  # xdist: the report carries them to the controller
            setattr(report, REPORT_ATTR, [r.to_dict() for r in results])
        else:
            session_of(item.config).results.extend(results)
        del item.stash[RESULTS]
    return report


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


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if hasattr(session.config, "workerinput"):
        return  # xdist worker: the controller gates
    mg = session_of(session.config)
    interrupted = exitstatus == pytest.ExitCode.INTERRUPTED
    complete = not (interrupted or session.shouldfail or session.shouldstop)
    if session.config.getoption("modelguard_save") and not complete:
        mg.unsaved = "the run stopped early, and half a run is no reference"
    report = mg.finish(gating=not interrupted, outputs=_outputs(session.config, complete))
    if report is not None and report.failed and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    mg = session_of(config)
    for note in mg.notes:
        terminalreporter.write_line(f"modelguard: {note}", red=True, bold=True)
    report = mg.report
    if report is None:
        return
    from .formatting import percent
    from .gate import fails
    from .report.terminal import (
        drift_lines,
        reason_lines,
        summary_rows,
        verdict_line,
        verdict_lines,
    )

    settings = mg.settings
    methods = sorted({s.delta.method for s in report.models.values() if s.delta is not None})
    title = (
        f"baseline {settings.baseline.name if settings.baseline else '—'} · "
        f"{percent(settings.confidence)} confidence"
        + (f" · {', '.join(methods)} interval" if methods else "")
        + f" · gate {settings.gate}"
        + (f" (margin {settings.margin:g})" if settings.gate == "non-inferiority" else "")
    )
    terminalreporter.section("modelguard")
    if config.get_verbosity() < 0:
        for line in verdict_lines(report):
            terminalreporter.write_line(line)
    else:
        terminalreporter.write_line(title)
        terminalreporter.write_line("")
        for model, line in summary_rows(report):
            verdict = model.verdict if model is not None else None
            terminalreporter.write_line(
                line,
                red=verdict is not None and fails(verdict, settings.gate),
                yellow=verdict == "inconclusive" and not fails(verdict, settings.gate),
                green=verdict == "pass",
                bold=model is None,
            )
        reasons = reason_lines(report)
        if reasons:
            terminalreporter.write_line("")
        for line in reasons:
            terminalreporter.write_line(line)
    if report.drift is not None:
        terminalreporter.write_line("")
        for line in drift_lines(report.drift):
            terminalreporter.write_line(line, red=" degraded " in f"{line} ")
        terminalreporter.write_line("")
    if mg.saved is not None:
        terminalreporter.write_line("")
        terminalreporter.write_line(
            f"run saved to {shown_path(mg.saved)} (compare with --modelguard-compare last)"
        )
    if mg.unsaved is not None:
        terminalreporter.write_line("")
        terminalreporter.write_line(f"run not saved: {mg.unsaved}", yellow=True)
    terminalreporter.write_line(
        verdict_line(report), red=report.failed, green=not report.failed, bold=True
    )
