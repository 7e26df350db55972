"""SIGINT or SIGKILL during a recording run: the rerun reuses every answer kept, none is corrupt.

The recording runs in a fresh process against a loopback server in this one; the
server counts every call, so a repeated (model, prompt) after the rerun is a paid
answer that was lost.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from loopback import Call, Fault, LoopbackServer, Reply
from sdkwarm import warm_sdks

# Fresh processes skip plugins this project does not use (installed here or not): each
# costs seconds to import per process.
UNUSED_PLUGINS = ("-p", "no:hypothesispytest", "-p", "no:benchmark", "-p", "no:anyio")
PYPROJECT = """
[tool.modelguard]
baseline = "sim:base"
models = {models}
resamples = 1000
concurrency = {concurrency}

[tool.modelguard.providers.sim]
kind = "openai"
base_url = "{url}"
api_key_env = "INTERRUPT_SIM_KEY"
"""


def suite(n: int) -> str:
    cases = "".join(f"  - {{id: c{i:03d}, prompt: 'say w{i}', expected: w{i}}}\n" for i in range(n))
    return f"suite: slow\ndefaults:\n  graders: [equals]\ncases:\n{cases}"


def word(call: Call) -> str:
    return call.prompt.split()[-1]


def fast_then_stuck(fast: int) -> Callable[[Call], Reply]:
    """Cases below ``fast`` answer at once; the others hang until the run is stopped."""

    def respond(call: Call) -> Reply:
        if int(word(call)[1:]) < fast:
            return Reply(word(call), latency_s=0.01)
        return Reply(word(call), fault=Fault.hang(600))

    return respond


@pytest.fixture(scope="module", autouse=True)
def _warm(tmp_path_factory: pytest.TempPathFactory) -> None:
    warm_sdks(tmp_path_factory.mktemp("warm"))


@pytest.fixture
def srv(monkeypatch: pytest.MonkeyPatch) -> Iterator[LoopbackServer]:
    monkeypatch.setenv("INTERRUPT_SIM_KEY", "sk-interrupt")
    with LoopbackServer(lambda call: Reply(word(call))) as server:
        yield server


def project(
    pytester: pytest.Pytester, srv: LoopbackServer, n: int, concurrency: int, models: str
) -> Path:
    pytester.makefile(
        ".toml",
        pyproject=PYPROJECT.format(url=srv.openai_base_url, concurrency=concurrency, models=models),
    )
    pytester.makefile(".modelguard.yaml", slow=suite(n))
    return pytester.path / ".modelguard"


def start(root: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *UNUSED_PLUGINS]
    command += ["--modelguard-record", "once"]
    return subprocess.Popen(
        command,
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        preexec_fn=_default_sigint,
    )


def _default_sigint() -> None:
    """A run started from a background job inherits SIGINT ignored: give it the default back."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def entries(cache: Path) -> list[Path]:
    return [p for p in cache.rglob("*.json") if p.is_file()]


def wait_for(condition: Callable[[], bool], process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        if process.poll() is not None:
            pytest.fail(f"the run ended before {what}:\n{process.stdout.read().decode()}")  # type: ignore[union-attr]
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.01)


def stop(process: subprocess.Popen[bytes], signum: int) -> tuple[int, str]:
    process.send_signal(signum)
    try:
        output, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        pytest.fail(f"signal {signum} did not stop the run:\n{output.decode()}")
    return process.returncode, output.decode()


def kept(cache: Path) -> set[tuple[str, str]]:
    """(model, prompt) of every entry; each must be a whole, valid entry."""
    found = set()
    for path in entries(cache):
        entry = json.loads(path.read_text(encoding="utf-8"))  # a torn file fails here
        assert entry["key"] == path.stem, path
        request = entry["request"]
        found.add((request["model"], request["messages"][-1]["content"]))
    return found


def calls_since(srv: LoopbackServer, mark: int) -> list[tuple[str, str]]:
    with srv._lock:
        return [(c.model, c.prompt) for c in srv.calls[mark:]]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_rerun_after_a_signal_reuses_every_kept_answer(
    pytester: pytest.Pytester, srv: LoopbackServer, signum: int
) -> None:
    n, fast = 10, 5
    cache = project(pytester, srv, n, concurrency=64, models='["sim:cand"]')
    srv.responder = fast_then_stuck(fast)
    process = start(pytester.path)
    wait_for(lambda: len(entries(cache)) >= 2 * fast, process, "the fast answers were cached")
    wait_for(lambda: srv.in_flight == 2 * (n - fast), process, "the slow calls were in flight")
    status, output = stop(process, signum)
    if signum == signal.SIGINT:
        assert status == pytest.ExitCode.INTERRUPTED, output
        assert "Traceback" not in output
    else:
        assert status == -signal.SIGKILL
    before = kept(cache)
    assert len(before) == 2 * fast  # every answer that arrived was kept, and nothing else
    assert not [p for p in cache.rglob("*") if p.is_file() and p.suffix != ".json"]
    srv.cancel_all()
    srv.responder = lambda call: Reply(word(call))
    mark = len(srv.calls)
    rerun = pytester.runpytest("-p", "no:cacheprovider", "--modelguard-record", "once")
    rerun.assert_outcomes(passed=2 * n + 1)  # + the gate results
    again = calls_since(srv, mark)
    assert not set(again) & before, "an answer kept before the signal was paid for again"
    assert len(again) == len(set(again)) == 2 * (n - fast)
    assert len(kept(cache)) == 2 * n


def test_sigkill_in_a_stream_of_writes_leaves_no_torn_entry(
    pytester: pytest.Pytester, srv: LoopbackServer
) -> None:
    n = 150
    cache = project(pytester, srv, n, concurrency=6, models="[]")
    srv.latency_s = 0.02
    process = start(pytester.path)
    wait_for(lambda: len(entries(cache)) >= 30, process, "answers were being cached")
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=30)
    delivered = len(srv.calls)
    before = kept(cache)
    assert 30 <= len(before) < n
    srv.latency_s = 0.0
    mark = len(srv.calls)
    pytester.runpytest("-p", "no:cacheprovider", "--modelguard-record", "once").assert_outcomes(
        passed=n
    )
    again = calls_since(srv, mark)
    assert not set(again) & before, "an answer kept before the kill was paid for again"
    assert len(again) == n - len(before)
    assert delivered - len(before) <= 6 + 1  # at most the calls in flight were lost


SLOW_WRITER = """
import os, sys, time
from pathlib import Path
from pytest_modelguard.engine.cache import Cache
from pytest_modelguard.records.calls import Completion, Request

real_fdopen = os.fdopen


class HalfThenStall:
    '''A disk that takes the first half of a write, then stalls (the kill comes then).'''

    def __init__(self, handle):
        self.handle = handle

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.handle.close()

    def write(self, data):
        self.handle.write(data[: len(data) // 2])
        self.handle.flush()
        print("stalled", flush=True)
        time.sleep(600)


os.fdopen = lambda fd, *a, **k: HalfThenStall(real_fdopen(fd, *a, **k))
request = Request("sim", "base", ({"role": "user", "content": "say w1"},))
Cache(Path(sys.argv[1])).put(request, Completion("w1"))
"""


def test_a_write_killed_midway_leaves_no_entry_behind(tmp_path: Path) -> None:
    """A torn write must not look like an entry: nothing named ``*.json`` may fail to parse."""
    cache = tmp_path / "cache"
    process = subprocess.Popen(
        [sys.executable, "-c", SLOW_WRITER, str(cache)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "stalled"
    process.kill()
    process.wait(timeout=30)
    assert [p for p in cache.rglob("*") if p.is_file()], "the half-written temp file is there"
    assert kept(cache) == set()  # no entry, and no torn *.json
    from pytest_modelguard.engine.cache import Cache
    from pytest_modelguard.records.calls import Request

    request = Request("sim", "base", ({"role": "user", "content": "say w1"},))
    assert Cache(cache).get(request) is None  # the next run records it again


def fast_then_slow(fast: int, slow_s: float) -> Callable[[Call], Reply]:
    """Cases below ``fast`` answer at once; the others take ``slow_s``."""

    def respond(call: Call) -> Reply:
        return Reply(word(call), latency_s=0.01 if int(word(call)[1:]) < fast else slow_s)

    return respond


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_first_signal_saves_the_answers_in_flight(
    pytester: pytest.Pytester, srv: LoopbackServer, signum: int
) -> None:
    """Ctrl-C, or SIGTERM (what CI sends on cancel or timeout): the calls in flight are kept."""
    n, fast = 10, 5
    cache = project(pytester, srv, n, concurrency=64, models='["sim:cand"]')
    srv.responder = fast_then_slow(fast, slow_s=1.5)  # well within the grace period
    process = start(pytester.path)
    wait_for(lambda: len(entries(cache)) >= 2 * fast, process, "the fast answers were cached")
    wait_for(lambda: srv.in_flight == 2 * (n - fast), process, "the slow calls were in flight")
    status, output = stop(process, signum)
    assert status == pytest.ExitCode.INTERRUPTED, output
    assert "Traceback" not in output and "saving the answers in flight" in output
    assert len(kept(cache)) == 2 * n  # the calls in flight were paid: they are kept
    mark = len(srv.calls)
    rerun = pytester.runpytest("-p", "no:cacheprovider", "--modelguard-record", "once")
    rerun.assert_outcomes(passed=2 * n + 1)  # + the gate results
    assert calls_since(srv, mark) == []  # nothing paid twice


@pytest.mark.parametrize(
    ("first", "second"),
    [(signal.SIGINT, signal.SIGINT), (signal.SIGTERM, signal.SIGTERM)],
    ids=["SIGINT", "SIGTERM"],
)
def test_second_signal_stops_at_once_without_a_traceback(
    pytester: pytest.Pytester, srv: LoopbackServer, first: int, second: int
) -> None:
    n, fast = 10, 5
    cache = project(pytester, srv, n, concurrency=64, models="[]")
    srv.responder = fast_then_stuck(fast)
    process = start(pytester.path)
    wait_for(lambda: len(entries(cache)) >= fast, process, "the fast answers were cached")
    wait_for(lambda: srv.in_flight == n - fast, process, "the slow calls were in flight")
    process.send_signal(first)
    time.sleep(0.3)
    status, output = stop(process, second)
    # the second signal cancels the calls in flight at once instead of waiting out the grace
    # period (said, not timed: a loaded machine's slow exit must not make this flaky)
    assert "again: stopping now" in output, output
    assert status == pytest.ExitCode.INTERRUPTED, output
    assert "Traceback" not in output, output
    assert len(kept(cache)) == fast
    srv.cancel_all()
