"""pytest-xdist: the hooks a distributed run needs, and every use of xdist's internals.

``XdistHooks`` is registered only when xdist is installed (its hooks would be unknown
otherwise). Tested with pytest-xdist 3.5 to 3.8: the public ``workerinput`` mapping, and,
from 3.6, the worker's private queue (``WorkerInteractor.torun``, ``item_index``,
``nextitem_index``), read in ``_queue`` alone. Before 3.6 each miss is answered
alone, and each item counts only its own reads, which is slower but right.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from .items import CaseItem
from .keys import READS, session_of

STARTED = "modelguard_started"
RUN_ID = "modelguard_run_id"


def is_worker(config: pytest.Config) -> bool:
    """This process is an xdist worker (the controller gates and reports)."""
    return hasattr(config, "workerinput")


def join_controller_run(config: pytest.Config) -> None:
    """An xdist worker belongs to the controller's run: its start time and run id."""
    workerinput = getattr(config, "workerinput", {})
    if STARTED in workerinput:
        mg = session_of(config)
        mg.started = workerinput[STARTED]
        mg.run_id = workerinput.get(RUN_ID, mg.run_id)


class XdistHooks:
    """The controller's side: what each worker must learn before it starts."""

    def pytest_configure_node(self, node: Any) -> None:
        """Each worker learns when the run started (what mode ``all`` recorded since)
        and its id (whose spend ledger it shares)."""
        mg = session_of(node.config)
        node.workerinput[STARTED] = mg.started
        node.workerinput[RUN_ID] = mg.run_id


def register(config: pytest.Config) -> None:
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(XdistHooks(), "modelguard-xdist")


def worker_pending(session: pytest.Session) -> list[pytest.Item]:
    """The items the controller has handed this xdist worker and it has not run yet.

    xdist's ``WorkerInteractor`` holds them: the item running, the next one (already
    taken off the queue) and the queue itself. Before xdist 3.6 the queue cannot be
    read: each miss is then answered alone.
    """
    return _queue(session, lambda item: False)


def _queue(session: pytest.Session, seen: Callable[[pytest.Item], bool]) -> list[pytest.Item]:
    """The items handed to this worker and not run yet, but for the queue's ``seen`` head.

    The queue only grows at its end, so it is read from the end up to the first item
    ``seen`` (each call costs what was handed since). The interactor is registered
    without a name and its class is not importable (the worker runs xdist's remote module
    as sent code): found by its class name.
    """
    plugins = session.config.pluginmanager.get_plugins()
    interactor = next((p for p in plugins if type(p).__name__ == "WorkerInteractor"), None)
    lock = getattr(getattr(interactor, "torun", None), "lock", None)
    if lock is None:  # xdist < 3.6 keeps its queue where it cannot be looked into
        return []
    items = session.items
    found: list[pytest.Item] = []
    with lock() as queued:
        current = getattr(interactor, "item_index", None)
        upcoming = getattr(interactor, "nextitem_index", None)
        for index in reversed(queued):
            if not isinstance(index, int) or index >= len(items):
                continue
            if seen(items[index]):
                break
            found.append(items[index])
    found.reverse()
    heads = [items[i] for i in (current, upcoming) if isinstance(i, int) and i < len(items)]
    return [item for item in heads if not seen(item)] + found


COUNTED = pytest.StashKey[bool]()  # a worker's item whose reads are counted


class WorkerReads:
    """A worker's read counts, as the main process keeps them (``Answers.expect``).

    Each item handed to the worker is counted once, before the first of them runs, so
    an answer goes when the last local item reading it is done. An item handed later
    may read a dropped answer again: a worker drops only answers read from the cache
    (``Answers.drop_only_recorded``), which cost nothing to read twice.
    """

    def __init__(self, session: pytest.Session) -> None:
        self.session = session

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> None:
        from .fixtures import requests_of  # a plugin (pytest_plugins): imported by pytest

        answers = session_of(item.config).answers
        baseline = answers.settings.baseline
        new = _queue(self.session, lambda queued: COUNTED in queued.stash)
        if COUNTED not in item.stash and item not in new:
            new.append(item)
        requests_of(new)  # the case items' keys; a Python test's read (READS)
        for queued in new:
            queued.stash[COUNTED] = True
            if isinstance(queued, CaseItem):
                reads = queued.keys + queued.companion_keys
                if baseline is not None:  # each item grades against the case's baseline answer
                    first = answers.requests_for(queued.case, baseline)[:1]
                    reads += tuple(r.key() for r in first)
                queued.stash[READS] = reads
            counted = queued.stash.get(READS, None)
            if counted is not None:
                answers.expect(counted, queued.case if isinstance(queued, CaseItem) else None)
        if isinstance(item, CaseItem) and READS in item.stash:  # judge calls: from its answers
            judged = tuple(r.key() for r in item.judge_requests())
            answers.expect(judged)
            item.stash[READS] += judged
