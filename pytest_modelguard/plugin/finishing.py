"""``pytest_sessionfinish``'s work: gate the run, the gate as test results, the exit status."""

from __future__ import annotations

import pytest

from ..core.errors import HistoryError
from ..core.gc_pause import cyclic_gc_paused
from . import gate_results, options, xdist
from .keys import session_of
from .session import ModelguardSession


def finish(session: pytest.Session, exitstatus: int) -> None:
    """Gate the run (the controller, under xdist), report the gate as test results, set the
    exit status."""
    if xdist.is_worker(session.config):
        return  # xdist worker: the controller gates
    mg = session_of(session.config)
    if not mg.results:
        return  # nothing of modelguard's ran: nothing to gate or write
    stopped = _stopped(session, exitstatus)
    if session.config.getoption("modelguard_save") and stopped:
        mg.unsaved = "the run stopped early, and half a run is no reference"
    try:
        with cyclic_gc_paused():  # the gate's and the reports' bulk work
            report = mg.finish(
                not_gated=stopped, outputs=options.outputs(session.config, stopped is None, mg)
            )
    except HistoryError as exc:  # e.g. drift-state.json broken while the run was asked
        writer = session.config.get_terminal_writer()
        writer.line()
        writer.line(f"ERROR: {exc}", red=True)
        session.exitstatus = pytest.ExitCode.USAGE_ERROR
        return
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
