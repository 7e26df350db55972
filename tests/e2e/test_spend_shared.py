"""max_spend_usd holds for the whole run: across xdist workers and across concurrent processes
recording into one cache (a ledger beside the cache's locks), and a killed process's
reservations never block later runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from loopback import Call, LoopbackServer, Reply
from sdkwarm import warm_sdks

from pytest_modelguard.engine.spend import Ledger

UNUSED_PLUGINS = ("-p", "no:hypothesispytest", "-p", "no:benchmark", "-p", "no:anyio")
CAP = 0.1
COST = 0.012  # 10 input + 2 output tokens at $1,000 per million each
CONCURRENCY = 2
PYPROJECT = """
[tool.modelguard]
baseline = "pricey"
concurrency = {concurrency}
resamples = 200
cache_dir = "{cache}"
[tool.modelguard.providers.sim]
kind = "openai"
base_url = "{url}"
api_key_env = "SHARED_SIM_KEY"
[tool.modelguard.aliases.pricey]
model = "sim:m1"
price = {{ input = 1000.0, output = 1000.0 }}
[tool.modelguard.budgets]
max_spend_usd = {cap}
"""


def answer(call: Call) -> Reply:
    return Reply(text=call.prompt.split()[-1], input_tokens=10, output_tokens=2)


class OverlappingRuns:
    """Answers runs "a" and "b", holding each call that comes before the other run's first
    for OVERLAP_S: the two runs are surely alive at once, however slowly either starts."""

    OVERLAP_S = 10.0

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def __call__(self, call: Call) -> Reply:
        word = call.prompt.split()[-1]
        self.seen.add(word[0])
        hold = self.OVERLAP_S if self.seen != {"a", "b"} else None
        return Reply(text=word, input_tokens=10, output_tokens=2, latency_s=hold)


@pytest.fixture(scope="module", autouse=True)
def _warm(tmp_path_factory: pytest.TempPathFactory) -> None:
    warm_sdks(tmp_path_factory.mktemp("warm"))


@pytest.fixture
def srv(monkeypatch: pytest.MonkeyPatch) -> Iterator[LoopbackServer]:
    monkeypatch.setenv("SHARED_SIM_KEY", "sk-shared")
    with LoopbackServer(answer, latency_s=0.02) as server:
        yield server


def project(root: Path, srv: LoopbackServer, cache: Path, word: str, n: int) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(
        PYPROJECT.format(concurrency=CONCURRENCY, cache=cache, url=srv.openai_base_url, cap=CAP)
    )
    cases = "".join(
        f"  - {{id: c{i:02d}, prompt: 'say {word}{i}', expected: {word}{i}}}\n" for i in range(n)
    )
    (root / "s.modelguard.yaml").write_text(
        f"defaults:\n  params: {{max_tokens: 10}}\n  graders: [equals]\ncases:\n{cases}"
    )
    return root


def start(root: Path, *args: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *UNUSED_PLUGINS]
    return subprocess.Popen(
        [*command, "--modelguard-record", "once", *args],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def finish(process: subprocess.Popen[bytes]) -> str:
    output, _ = process.communicate(timeout=120)
    text = output.decode()
    assert "spend cap reached" in text and "INTERNALERROR" not in text, text
    return text


def test_the_cap_holds_across_workers_and_concurrent_runs(
    tmp_path: Path, srv: LoopbackServer
) -> None:
    alone = project(tmp_path / "alone", srv, tmp_path / "c0", "w", 40)
    finish(start(alone, "-n", "0"))
    serial = srv.count()
    assert 0 < serial * COST <= CAP
    for workers, cache in (("2", "c2"), ("4", "c4")):
        mark = srv.count()
        finish(start(project(tmp_path / cache, srv, tmp_path / cache, "w", 40), "-n", workers))
        calls = srv.count() - mark
        assert calls * COST <= CAP, f"-n {workers}: {calls} calls cost ${calls * COST:.3f}"
        assert calls <= serial + CONCURRENCY
    with LoopbackServer(OverlappingRuns()) as both:
        shared = tmp_path / "shared"
        runs = [start(project(tmp_path / w, both, shared, w, 20), "-n", "0") for w in ("a", "b")]
        for run in runs:
            finish(run)
        calls = both.count()
    assert calls * COST <= CAP, f"two runs: {calls} calls cost ${calls * COST:.3f}"
    assert calls <= serial + CONCURRENCY


def test_overlapping_runs_share_the_pool_until_the_last_ends(tmp_path: Path) -> None:
    path = str(tmp_path / "ledger.json")
    first, second = Ledger(path, "run-1"), Ledger(path, "run-2")
    assert first.reserve(0.6, 1.0) is None
    first.settle(0.6, 0.5)
    assert second.reserve(0.6, 1.0) == pytest.approx((0.5, 0.0))  # the other run's spend counts
    first.leave()
    assert second.reserve(0.6, 1.0) == pytest.approx((0.5, 0.0))  # still, while run-2 goes on
    assert second.reserve(0.5, 1.0) is None
    second.settle(0.5, 0.5)
    second.leave()
    assert Ledger(path, "run-3").reserve(1.0, 1.0) is None  # all ended: a fresh pool


def test_a_worker_starting_after_its_siblings_ended_counts_their_spend(tmp_path: Path) -> None:
    path = str(tmp_path / "ledger.json")
    early = Ledger(path, "run-1")
    early.me = f"{os.getppid()}:run-1"  # another worker of the same run (a live pid)
    assert early.reserve(0.6, 1.0) is None
    early.settle(0.6, 0.5)
    early.leave()  # every sibling has finished before this worker's first call
    late = Ledger(path, "run-1")
    assert late.reserve(0.6, 1.0) == pytest.approx((0.5, 0.0))
    assert late.reserve(0.5, 1.0) is None
    other = Ledger(path, "run-2")
    assert other.reserve(1.0, 1.0) == pytest.approx((0.5, 0.5))  # run-1 is live
    late.leave()
    other.leave()
    assert Ledger(path, "run-3").reserve(1.0, 1.0) is None  # all ended: a fresh pool


HOLD_THEN_WAIT = """
import sys, time
from pytest_modelguard.engine.spend import Ledger

ledger = Ledger(sys.argv[1], "killed")
assert ledger.reserve(0.9, 1.0) is None
ledger.settle(0.0, 0.0)  # nothing to settle: the hold of 0.9 stays
print("held", flush=True)
time.sleep(600)
"""


def test_a_killed_process_leaves_no_reservation_behind(tmp_path: Path) -> None:
    path = str(tmp_path / "ledger.json")
    alive = Ledger(path, "alive")
    alive.settle(0.0, 0.05)  # a live run that already spent $0.05
    killed = subprocess.Popen(
        [sys.executable, "-c", HOLD_THEN_WAIT, path], stdout=subprocess.PIPE, text=True
    )
    assert killed.stdout is not None and killed.stdout.readline().strip() == "held"
    assert alive.reserve(0.1, 1.0) == pytest.approx((0.05, 0.9))  # 0.05 spent + 0.9 held
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait(timeout=30)
    assert alive.reserve(0.9, 1.0) is None  # the dead hold is gone, the spend still counts
    assert alive.reserve(0.1, 1.0) == pytest.approx((0.05, 0.9))
