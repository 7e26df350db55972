"""``pytest_runtestloop``'s work: answer every selected request before the first item runs."""

from __future__ import annotations

from typing import Any

import pytest

from ..core.errors import BatchesPending, CacheError
from . import xdist
from .items import CaseItem
from .keys import READS, session_of


def prefetch(session: pytest.Session) -> bool | None:
    """Answer every selected request concurrently, before the first item runs.

    An xdist worker does not know its items in advance: it prefetches, at each miss,
    the items it has been handed so far (see ``xdist.worker_pending``), and counts their
    reads as they are handed (``xdist.WorkerReads``). True (the loop is done, no item
    runs) for a dry run.
    """
    from .fixtures import requests_of  # a plugin (pytest_plugins): imported by pytest

    mg = session_of(session.config)
    if xdist.is_worker(session.config):
        mg.answers.pending = lambda: requests_of(xdist.worker_pending(session))
        if not mg.settings.sequential:  # a sequential run keeps its batches' answers
            mg.answers.drop_only_recorded = True
            session.config.pluginmanager.register(xdist.WorkerReads(session), "modelguard-reads")
        return None
    requests = requests_of(session.items)
    if not requests:
        return None
    reporter: Any = session.config.pluginmanager.get_plugin("terminalreporter")
    if session.config.getoption("modelguard_dry_run"):
        from .planning import dry_run_lines

        lines = dry_run_lines(session.items, requests, mg)
        for line in lines:
            reporter.write_line(line)
        return True  # the loop is done: no item runs, nothing is called
    from ..report.progress import TerminalProgress  # the runner: only for a run that asks

    progress = None
    if reporter is not None:
        mg.answers.say = reporter.write_line
        progress = TerminalProgress(
            write=reporter.write, is_tty=bool(getattr(reporter, "isatty", False))
        )
    items = session.items
    try:
        if mg.settings.sequential:  # batch by batch; returns the items it left to prefetch
            from . import sequential  # numpy: only for a sequential run

            items = sequential.run(items, mg, progress)
            requests = requests_of(items)
        mg.answers.prefetch(requests, progress)
        agents = [(i.case, i.model) for i in items if isinstance(i, CaseItem) and i.case.agent]
        agents += [
            (i.case, i.companion)
            for i in items
            if isinstance(i, CaseItem) and i.case.agent and i.companion is not None
        ]
        mg.answers.walk(agents, progress)  # agent cases: every loop's later steps, together
        judge_calls = []
        for item in items:
            if isinstance(item, CaseItem):
                judged = item.judge_requests()
                reads = item.keys + item.companion_keys + tuple(r.key() for r in judged)
                item.stash[READS] = reads
                judge_calls += judged
        mg.answers.prefetch(judge_calls, progress)
    except CacheError as exc:
        raise pytest.UsageError(str(exc)) from None
    except BatchesPending as exc:  # no verdict from half the answers: the next run collects
        pytest.exit(f"modelguard: {exc}", returncode=pytest.ExitCode.INTERRUPTED)
    if mg.settings.sequential:
        return None  # the batches' answers are kept: items they graded read them again
    for item in items:  # each answer is kept until the last item reading it is done
        counted = item.stash.get(READS, None)
        if counted is not None:
            mg.answers.expect(counted, item.case if isinstance(item, CaseItem) else None)
    return None
