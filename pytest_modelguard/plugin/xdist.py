"""pytest-xdist: the hooks a distributed run needs, and every use of xdist's internals.

``XdistHooks`` is registered only when xdist is installed (its hooks would be unknown
otherwise). Tested with pytest-xdist 3.5 to 3.8: the public ``workerinput`` mapping, and,
from 3.6, the worker's private queue (``WorkerInteractor.torun``, ``item_index``,
``nextitem_index``), read in ``worker_pending`` alone. Before 3.6 each miss is answered
alone, which is slower but right.
"""

from __future__ import annotations

from typing import Any

import pytest

from .keys import session_of

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
