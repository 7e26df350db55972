"""The gate as test results: one per candidate verdict and per drift verdict.

Reported by the process that gates (the controller under xdist) at the end of the run,
through pytest's own ``pytest_runtest_logreport``: the terminal counts them in its last
line, --junitxml writes them as testcases, the cache's --lf remembers the failing ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from ..core.vocabulary import Verdict

if TYPE_CHECKING:
    from ..verdict.gate import GateReport

GATE_PATH = "modelguard"


@dataclass(frozen=True, slots=True)
class GateOutcome:
    """One gate result: its name (``gate[MODEL]`` or ``drift[MODEL]``), outcome and why."""

    name: str
    outcome: str  # passed | failed | skipped
    message: str  # one line: the verdict and its first reason
    lines: tuple[str, ...] = ()  # the whole story, for the failures section and JUnit

    @property
    def nodeid(self) -> str:
        return f"{GATE_PATH}::{self.name}"


@dataclass(frozen=True, slots=True)
class _Crash:
    path: str
    lineno: int
    message: str


class GateFailureRepr:
    """A failing verdict as pytest shows a failure: the reasons, without a traceback."""

    def __init__(self, message: str, lines: tuple[str, ...]) -> None:
        self.reprcrash = _Crash(GATE_PATH, 0, message)  # the short summary's message
        self.lines = lines or (message,)

    def toterminal(self, tw: Any) -> None:
        for line in self.lines:
            tw.line(line)

    def __str__(self) -> str:
        return "\n".join(self.lines)


def outcomes(report: GateReport, gate: str, details: dict[str, list[str]]) -> list[GateOutcome]:
    """What each verdict becomes: failing candidates first is the table's job, not this one's.

    ``details``: per model, lines to add under a failing verdict (e.g. its worst cases).
    """
    from ..verdict.gate import fails

    found: list[GateOutcome] = []
    for name, summary in report.models.items():
        if summary.verdict == Verdict.BASELINE:
            continue  # the baseline gets a result only when its verdict fails the run
        failing = fails(summary.verdict, gate)
        reason = summary.reasons[0] if summary.reasons else ""
        message = f"{name}: {summary.verdict}" + (f": {reason}" if reason else "")
        if report.not_gated is not None:
            found.append(
                GateOutcome(f"gate[{name}]", "skipped", f"gate not evaluated: {report.not_gated}")
            )
            continue
        lines = (message, *(f"  {r}" for r in summary.reasons[1:]), *details.get(name, ()))
        found.append(
            GateOutcome(f"gate[{name}]", "failed" if failing else "passed", message, lines)
        )
    if report.drift is not None:
        for name, drift in report.drift.models.items():
            degraded = name in report.drift.degraded
            message = f"{name}: drift {drift.status} against {report.drift.against}"
            if report.not_gated is not None:
                outcome, message = "skipped", f"gate not evaluated: {report.not_gated}"
            else:
                outcome = "failed" if degraded else "passed"
            found.append(GateOutcome(f"drift[{name}]", outcome, message, (message,)))
    return found


def log(session: pytest.Session, results: list[GateOutcome]) -> None:
    """Report each result as pytest reports a test: start, setup, call, teardown, finish."""
    if not results:
        return
    hook = session.config.hook
    session.testscollected += len(results)  # the terminal's progress counts them too
    reporter: Any = session.config.pluginmanager.get_plugin("terminalreporter")
    quiet = reporter is not None and session.config.get_verbosity() <= 0
    if quiet:  # a line of their own, like a file's: `modelguard F.  [100%]`
        reporter.ensure_newline()
        if getattr(getattr(reporter, "_tw", None), "width_of_current_line", 0):
            reporter.write("\n")  # xdist leaves the progress line open
        reporter.write(f"{GATE_PATH} ")
        reporter.currentfspath = session.config.rootpath / GATE_PATH
    for result in results:
        location = (GATE_PATH, None, result.name)
        hook.pytest_runtest_logstart(nodeid=result.nodeid, location=location)
        for when, outcome, longrepr in _phases(result):
            report = pytest.TestReport(
                nodeid=result.nodeid,
                location=location,
                keywords={result.name: 1, GATE_PATH: 1},
                outcome=outcome,  # type: ignore[arg-type]
                longrepr=longrepr,
                when=when,  # type: ignore[arg-type]
                duration=0.0,
            )
            hook.pytest_runtest_logreport(report=report)
        hook.pytest_runtest_logfinish(nodeid=result.nodeid, location=location)
    if quiet:
        fill = getattr(reporter, "_write_progress_information_filling_space", None)
        if fill is not None and getattr(reporter, "_show_progress_info", False):
            fill()  # the line's progress, as pytest writes it at the end of the loop
        reporter.ensure_newline()


def _phases(result: GateOutcome) -> list[tuple[str, str, Any]]:
    if result.outcome == "skipped":
        return [
            ("setup", "skipped", (GATE_PATH, 0, f"Skipped: {result.message}")),
            ("teardown", "passed", None),
        ]
    call: Any = None
    if result.outcome == "failed":
        call = GateFailureRepr(result.message, result.lines)
    return [("setup", "passed", None), ("call", result.outcome, call), ("teardown", "passed", None)]
