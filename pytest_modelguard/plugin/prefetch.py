"""``pytest_runtestloop``'s work: answer every selected request before the first item runs."""

from __future__ import annotations

from typing import Any

import pytest

from ..core.errors import CacheError
from ..records.calls import Request
from ..report.progress import TerminalProgress
from . import xdist
from .items import READS, CaseItem
from .keys import session_of


def prefetch(session: pytest.Session) -> None:
    """Answer every selected request concurrently, before the first item runs.

    An xdist worker does not know its items in advance: it prefetches, at each miss,
    the items it has been handed so far (see ``xdist.worker_pending``).
    """
    mg = session_of(session.config)
    if xdist.is_worker(session.config):
        mg.answers.pending = lambda: requests_of(xdist.worker_pending(session))
        return
    requests = requests_of(session.items)
    if not requests:
        return
    reporter: Any = session.config.pluginmanager.get_plugin("terminalreporter")
    if session.config.getoption("modelguard_dry_run"):
        from ..report.terminal import dry_run_lines

        for line in dry_run_lines(mg.answers.dry_run(requests), mg.settings.record.value):
            reporter.write_line(line)
        pytest.exit("modelguard dry run: nothing was called", returncode=pytest.ExitCode.OK)
    progress = None
    if reporter is not None:
        progress = TerminalProgress(
            write=reporter.write, is_tty=bool(getattr(reporter, "isatty", False))
        )
    try:
        mg.answers.prefetch(requests, progress)
        judge_calls = []
        for item in session.items:
            if isinstance(item, CaseItem):
                judged = item.judge_requests()
                item.stash[READS] = item.keys + tuple(r.key() for r in judged)
                judge_calls += judged
        mg.answers.prefetch(judge_calls, progress)
    except CacheError as exc:
        raise pytest.UsageError(str(exc)) from None
    for item in session.items:  # each answer is kept until the last item reading it is done
        reads = item.stash.get(READS, None)
        if reads is not None:
            mg.answers.expect(reads, item.case if isinstance(item, CaseItem) else None)


def requests_of(items: list[pytest.Item]) -> list[Request]:
    """The requests of these items: suite items' and Python tests' over cases."""
    from .fixtures import prefetch_requests  # a plugin (pytest_plugins): imported by pytest

    requests = [r for item in items if isinstance(item, CaseItem) for r in item.requests]
    return requests + prefetch_requests(items)
