"""``--modelguard-shard I/N``: its option, its checks, and the selection (a pytest plugin
of its own, named in ``pytest_plugins``).

Suite items are keyed by their suite's path (relative to the rootdir) and case id; Python
tests marked ``modelguard`` by their node id without the model (the case by its id, any
other parameter by its index). Other tests are no case: every shard runs them.
"""

from __future__ import annotations

import argparse
import os

import pytest

from ..core.shard import Shard, case_key
from .items import CaseItem
from .keys import MARKER, SESSION


def _shard(value: str) -> Shard:
    try:
        return Shard.parse(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("modelguard").addoption(
        "--modelguard-shard",
        metavar="I/N",
        type=_shard,
        help="run only shard I of N of the cases (a stable hash of suite and case id; a "
        "case's models stay together) and record them; reports figures, gates nothing: "
        "merge the shards' caches (modelguard cache merge) and gate the whole suite offline",
    )


def _refuse(shard: Shard, with_: str, why: str) -> None:
    raise pytest.UsageError(f"--modelguard-shard {shard.label} cannot run with {with_}: {why}")


@pytest.hookimpl(tryfirst=True)  # before a stored run is looked for
def pytest_configure(config: pytest.Config) -> None:
    """A shard is one part of a run: no drift, no stored run (flags checked first)."""
    shard: Shard | None = config.getoption("modelguard_shard", None)
    if shard is None:
        return
    for option, why in (
        ("modelguard_compare", "drift is judged on the whole suite"),
        ("modelguard_save", "a shard is no complete run to keep"),
    ):
        if config.getoption(option):
            final = "; pass it to the final job, which gates the merged caches offline"
            _refuse(shard, f"--{option.replace('_', '-')}", why + final)
    if config.getoption("modelguard_sequential"):
        _refuse(shard, "--modelguard-sequential", SEQUENTIAL)


SEQUENTIAL = (
    "a sequential run decides which cases to ask from every answer so far, and a shard "
    "sees only its own; shard a fixed-n run, or run the sequential one on one machine"
)


def pytest_sessionstart(session: pytest.Session) -> None:
    """The session learns it is a shard (it then gates nothing); not with sequential = true."""
    shard: Shard | None = session.config.getoption("modelguard_shard", None)
    mg = session.config.stash.get(SESSION, None)
    if shard is None or mg is None:
        return
    if mg.settings.sequential:
        _refuse(shard, "sequential = true", SEQUENTIAL)
    mg.shard = shard.label


def key_of(item: pytest.Item, rootpath: str) -> str | None:
    """The shard key of a modelguard item; None for any other test."""
    if isinstance(item, CaseItem):
        return case_key(os.path.relpath(item.path, rootpath), item.case.id)
    callspec = getattr(item, "callspec", None)
    params = getattr(callspec, "params", {})
    if "model" not in params or item.get_closest_marker(MARKER) is None:
        return None
    indices: dict[str, int] = getattr(callspec, "indices", {})
    parts = [
        f"{name}={getattr(params[name], 'id', None) if name == 'case' else indices.get(name)}"
        for name in sorted(params)
        if name != "model"
    ]
    parent = item.parent.nodeid if item.parent is not None else ""
    test = getattr(item, "originalname", item.name)
    return f"{parent}::{test}[{','.join(parts)}]"


@pytest.hookimpl(tryfirst=True)  # before -k and -m: the pairing hook (trylast) sees the shard
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the modelguard items of the other shards (reported as deselected)."""
    shard: Shard | None = config.getoption("modelguard_shard", None)
    if shard is None:
        return
    root = str(config.rootpath)
    kept: list[pytest.Item] = []
    left: list[pytest.Item] = []
    for item in items:
        key = key_of(item, root)
        (kept if key is None or shard.holds(key) else left).append(item)
    if left:
        config.hook.pytest_deselected(items=left)
        items[:] = kept
