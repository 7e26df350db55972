"""pytest-xdist's multi-machine path (``--tx``, here with popen gateways): the same figures
as ``-n 0``, a whole cache, and each worker pays only for the requests of its own items."""

from __future__ import annotations

from collections import defaultdict

import pytest
import xdist
from test_xdist import (
    ANSWERS,
    PYPROJECT,
    UNUSED_PLUGINS,
    N,
    assert_same_figures,
    assert_whole_cache,
    run,
    suite,
)

TX = ("--tx", "2*popen", "--dist", "load")
# Before xdist 3.6 a worker's queue cannot be read: each miss is answered alone (plugin.py)
XDIST_QUEUE_READABLE = tuple(int(x) for x in xdist.__version__.split(".")[:2]) >= (3, 6)

RAN = """
import os
from pathlib import Path

from pytest_modelguard.engine.answers import Answers

RAN = Path(__file__).with_name("ran.log")
PREFETCH = Path(__file__).with_name("prefetch.log")
_prefetch = Answers.prefetch


def _logged_prefetch(self, requests, progress=None):
    todo = sum(1 for r in requests if r.key() not in self.known)
    if todo:
        with PREFETCH.open("a") as log:
            log.write(f"{os.getpid()} {todo}\\n")
    return _prefetch(self, requests, progress)


Answers.prefetch = _logged_prefetch


def pytest_runtest_setup(item):
    if hasattr(item.config, "workerinput"):  # which worker process runs which item
        with RAN.open("a") as log:
            log.write(f"{os.getpid()} {item.config.workerinput['workerid']} {item.name}\\n")
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(answers=ANSWERS)
    pytester.makeconftest(RAN)
    pytester.makefile(".toml", pyproject=PYPROJECT)
    pytester.makefile(".modelguard.yaml", xd=suite())
    pytester.makefile(".ini", pytest="[pytest]\npythonpath = .\n")
    return pytester


def run_tx(project: pytest.Pytester, report: str, *args: str) -> pytest.RunResult:
    """Two popen gateways named by ``--tx`` (no ``-n``), in a fresh process as CI runs it."""
    return project.runpytest_subprocess(
        *UNUSED_PLUGINS, "-p", "no:cacheprovider", *TX, "--modelguard-json", report, *args
    )


def _own_requests(items: set[str]) -> set[tuple[str, str]]:
    """(model, word) of the calls a worker's items need: each item's own request and its
    case's baseline (graded against it; the other worker may run the baseline item)."""
    needed = set()
    for name in items:  # "c07[python:answers:flaky]"
        case, spec = name[:-1].split("[", 1)
        word = f"w{int(case[1:])}"
        needed.add((spec.rsplit(":", 1)[1], word))
        needed.add(("good", word))
    return needed


def test_record_under_tx_then_replay_matches_serial(project: pytest.Pytester) -> None:
    recording = run_tx(project, "record.json", "--modelguard-record", "once")
    recording.assert_outcomes(passed=3 * N, failed=2)  # + the gate results
    assert recording.ret == pytest.ExitCode.TESTS_FAILED  # "bad" regresses
    assert_whole_cache(project)  # every request paid for once, over both workers

    ran: dict[str, set[str]] = defaultdict(set)
    workers = set()
    for line in (project.path / "ran.log").read_text().splitlines():
        pid, worker, name = line.split(" ")
        ran[pid].add(name)
        workers.add(worker)
    assert workers == {"gw0", "gw1"} and len(ran) == 2
    assert sum(len(names) for names in ran.values()) == 3 * N  # each item ran once
    paid: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for line in (project.path / "calls.log").read_text().splitlines():
        pid, model, word = line.split(" ")
        paid[pid].add((model.rsplit(":", 1)[-1], word))
    assert set(paid) <= set(ran), "a call was paid outside the two workers"
    for pid, calls in paid.items():
        stray = calls - _own_requests(ran[pid])
        assert not stray, f"worker {pid} paid for other workers' items: {sorted(stray)[:5]}"

    # a worker answers what it has been handed in concurrent batches (they shrink as xdist
    # hands out the last items in small chunks), not one request per item
    batches: dict[str, list[int]] = defaultdict(list)
    for line in (project.path / "prefetch.log").read_text().splitlines():
        pid, todo = line.split(" ")
        batches[pid].append(int(todo))
    for pid, sizes in batches.items():
        if XDIST_QUEUE_READABLE:
            assert len(sizes) < len(ran[pid]) / 2, f"worker {pid} prefetched in batches of {sizes}"
        else:
            assert set(sizes) == {1}, f"worker {pid} under xdist {xdist.__version__}: {sizes}"

    serial = run(project, 0, "serial.json")  # -n 0, in process
    replay = run_tx(project, "replay.json")
    for result in (serial, replay):
        result.assert_outcomes(passed=3 * N, failed=2)  # + the gate results
        assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert len((project.path / "calls.log").read_text().splitlines()) == 3 * N  # replay: no calls
    assert_same_figures(project, "serial.json", "replay.json")
    assert_same_figures(project, "serial.json", "record.json")
