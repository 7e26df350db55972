"""The runner: cache-first fan-out, bounded concurrency, retries, record modes, progress."""

from __future__ import annotations

import asyncio
import os
import random
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from loopback import Fault, LoopbackServer, fail_first

from pytest_modelguard.core.vocabulary import RecordMode
from pytest_modelguard.engine.cache import Cache
from pytest_modelguard.engine.providers.openai import OpenAIProvider
from pytest_modelguard.engine.runner import (
    Outcome,
    ProgressEvent,
    RetryPolicy,
    answer_all,
    answer_all_sync,
)
from pytest_modelguard.records.calls import Completion, ProviderError, Request
from pytest_modelguard.report.progress import TerminalProgress

KEY_ENV = "MODELGUARD_TEST_RUNNER_KEY"
FAST = RetryPolicy(max_attempts=4, base_delay_s=0.001, max_delay_s=0.01)


@pytest.fixture
def srv(monkeypatch: pytest.MonkeyPatch) -> Iterator[LoopbackServer]:
    monkeypatch.setenv(KEY_ENV, "sk-runner-test")
    with LoopbackServer() as server:
        yield server


@pytest.fixture
def cache(tmp_path: Path) -> Cache:
    return Cache(tmp_path / "cache")


def providers(srv: LoopbackServer, timeout_s: float = 5.0) -> dict[str, Any]:
    return {
        "openai": OpenAIProvider(
            "openai", base_url=srv.openai_base_url, api_key_env=KEY_ENV, timeout_s=timeout_s
        )
    }


def req(prompt: str, model: str = "m1") -> Request:
    return Request("openai", model, ({"role": "user", "content": prompt},))


def run(
    requests: list[Request],
    provs: dict[str, Any],
    cache: Cache,
    record: str = "all",
    concurrency: int = 8,
    retry: RetryPolicy = FAST,
    **kwargs: Any,
) -> dict[str, Any]:
    return answer_all_sync(requests, provs, cache, record, concurrency, retry, **kwargs)


def test_answers_are_keyed_by_request_key(srv: LoopbackServer, cache: Cache) -> None:
    requests = [req("a"), req("b", "m2")]
    results = run(requests, providers(srv), cache)
    assert results[requests[0].key()].text == "echo m1: a"
    assert results[requests[1].key()].text == "echo m2: b"


def test_concurrency_bound_is_respected(srv: LoopbackServer, cache: Cache) -> None:
    srv.latency_s = 0.03
    results = run([req(f"p{i}") for i in range(40)], providers(srv), cache, concurrency=5)
    assert len(results) == 40 and srv.count() == 40
    assert srv.max_in_flight == 5


def test_identical_requests_are_called_once(srv: LoopbackServer, cache: Cache) -> None:
    requests = [req("same"), req("same"), req("other"), req("same"), req("other")]
    results = run(requests, providers(srv), cache)
    assert len(results) == 2 and srv.count() == 2
    assert srv.count(prompt="same") == 1


def test_record_none_makes_no_call_and_explains_a_miss(srv: LoopbackServer, cache: Cache) -> None:
    recorded, missing = req("recorded"), req("missing", "gpt-9")
    cache.put(recorded, Completion("from the cache"))
    results = run([recorded, missing], providers(srv), cache, record="none")
    assert srv.count() == 0
    assert results[recorded.key()].text == "from the cache"
    error = results[missing.key()]
    assert isinstance(error, ProviderError) and not error.transient
    assert "no recorded answer for openai:gpt-9" in str(error)
    assert missing.key()[:12] in str(error) and "--modelguard-record once" in str(error)


@pytest.mark.parametrize("mode", ["once", "new", RecordMode.NEW])
def test_once_and_new_call_only_misses(srv: LoopbackServer, cache: Cache, mode: Any) -> None:
    hit, miss = req("hit"), req("miss")
    cache.put(hit, Completion("recorded"))
    results = run([hit, miss], providers(srv), cache, record=mode)
    assert srv.count() == 1 and srv.count(prompt="miss") == 1
    assert results[hit.key()].text == "recorded"
    assert results[miss.key()].text == "echo m1: miss"
    assert cache.get(miss) is not None and cache.get(hit).text == "recorded"  # type: ignore[union-attr]


def test_all_rerecords_everything(srv: LoopbackServer, cache: Cache) -> None:
    old = req("old")
    cache.put(old, Completion("stale"))
    results = run([old], providers(srv), cache, record="all")
    assert srv.count() == 1 and results[old.key()].text == "echo m1: old"
    assert cache.get(old).text == "echo m1: old"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "fault",
    [Fault.http(429, retry_after=30), Fault.http(503), Fault.reset(), Fault.hang()],
    ids=["429", "503", "reset", "hang"],
)
def test_transient_faults_are_retried(srv: LoopbackServer, cache: Cache, fault: Fault) -> None:
    srv.faults = fail_first(2, fault, prompt="flaky")
    requests = [req("flaky"), req("steady")]
    results = run(requests, providers(srv, timeout_s=0.2), cache)
    assert results[requests[0].key()].text == "echo m1: flaky"
    assert srv.count(prompt="flaky") == 3 and srv.count(prompt="steady") == 1


def test_retry_waits_for_retry_after(srv: LoopbackServer, cache: Cache) -> None:
    srv.faults = fail_first(1, Fault.http(429, retry_after_ms=300))
    patient = RetryPolicy(max_attempts=3, base_delay_s=0.001, max_delay_s=5.0)
    results = run([req("limited")], providers(srv), cache, retry=patient)
    assert isinstance(results[req("limited").key()], Completion)
    first, second = srv.calls
    assert second.received_at - first.received_at >= 0.3


def test_retry_gives_up_after_max_attempts(srv: LoopbackServer, cache: Cache) -> None:
    srv.faults = fail_first(99, Fault.http(503))
    results = run([req("down")], providers(srv), cache)
    error = results[req("down").key()]
    assert isinstance(error, ProviderError) and error.transient and error.status == 503
    assert "gave up after 4 attempts" in str(error)
    assert srv.count() == FAST.max_attempts
    assert cache.get(req("down")) is None


@pytest.mark.parametrize("status", [400, 401, 404])
def test_permanent_errors_are_not_retried(srv: LoopbackServer, cache: Cache, status: int) -> None:
    srv.faults = fail_first(1, Fault.http(status))
    results = run([req("bad")], providers(srv), cache)
    error = results[req("bad").key()]
    assert isinstance(error, ProviderError) and error.status == status and not error.transient
    assert srv.count() == 1


def test_each_answer_is_cached_as_soon_as_it_arrives(srv: LoopbackServer, cache: Cache) -> None:
    srv.faults = fail_first(1, Fault.hang(), prompt="stuck")
    requests = [req(f"quick{i}") for i in range(5)] + [req("stuck")]

    async def interrupted() -> None:
        task = asyncio.ensure_future(
            answer_all(requests, providers(srv, timeout_s=30), cache, "once", 8, FAST)
        )
        while srv.count(prompt="stuck") == 0 or srv.count() < 6:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(interrupted())
    assert [cache.get(r) is not None for r in requests] == [True] * 5 + [False]


def test_unexpected_exceptions_become_permanent_errors(cache: Cache) -> None:
    class Broken:
        calls = 0

        async def complete(self, request: Request) -> Completion:
            Broken.calls += 1
            raise RuntimeError("bug in provider")

        async def aclose(self) -> None:
            pass

    results = run([req("x")], {"openai": Broken()}, cache)
    error = results[req("x").key()]
    assert isinstance(error, ProviderError) and not error.transient
    assert "RuntimeError: bug in provider" in str(error) and Broken.calls == 1


class SlowDisk(Cache):
    """A cache whose first write blocks until every other answer has been written."""

    def __init__(self, root: Path, others: int) -> None:
        super().__init__(root)
        self.first: threading.Event | None = None
        self.others = others
        self.written = 0
        self.waited: list[bool] = []

    def put(self, request: Request, completion: Completion) -> Path:
        if self.first is None:
            self.first = threading.Event()
            self.waited.append(self.first.wait(timeout=3))  # False: the others never came
        path = super().put(request, completion)
        self.written += 1
        if self.written == self.others:
            assert self.first is not None
            self.first.set()
        return path


def test_a_slow_cache_write_does_not_hold_up_the_other_calls(tmp_path: Path) -> None:
    """Writes leave the event loop: while one answer waits for the disk, the rest are called
    and saved; and every answer is written by the time the run returns."""

    class Instant:
        async def complete(self, request: Request) -> Completion:
            return Completion(request.messages[-1]["content"])

        async def aclose(self) -> None:
            pass

    n = 12
    disk = SlowDisk(tmp_path / "cache", others=n - 1)
    requests = [req(f"p{i}") for i in range(n)]
    results = run(requests, {"openai": Instant()}, disk, concurrency=4)
    assert disk.waited == [True], "the first write held up every other call"
    assert all(isinstance(results[r.key()], Completion) for r in requests)
    assert all(disk.get(r) is not None for r in requests)  # written before the run returned


def test_unknown_provider_is_an_error_naming_it(cache: Cache) -> None:
    results = run([Request("groq", "llama", ({"role": "user", "content": "x"},))], {}, cache)
    (error,) = results.values()
    assert isinstance(error, ProviderError) and "no provider 'groq' is configured" in str(error)


def test_corrupt_entry_is_an_error_and_left_alone(srv: LoopbackServer, cache: Cache) -> None:
    entry = req("corrupt")
    cache.put(entry, Completion("x"))
    path = cache.path_for(entry)
    path.write_text("{not json", encoding="utf-8")
    results = run([entry], providers(srv), cache, record="once")
    assert isinstance(results[entry.key()], ProviderError) and srv.count() == 0
    assert path.read_text(encoding="utf-8") == "{not json"


def test_sync_wrapper_closes_providers_and_works_inside_a_loop(cache: Cache) -> None:
    class Recorder:
        closed = 0

        async def complete(self, request: Request) -> Completion:
            return Completion("ok")

        async def aclose(self) -> None:
            Recorder.closed += 1

    async def inside_a_running_loop() -> dict[str, Any]:
        return run([req("x")], {"openai": Recorder()}, cache)

    results = asyncio.run(inside_a_running_loop())
    assert results[req("x").key()].text == "ok" and Recorder.closed == 1


def test_progress_events_count_cached_new_and_failed(srv: LoopbackServer, cache: Cache) -> None:
    cache.put(req("cached"), Completion("c"))
    srv.faults = fail_first(1, Fault.http(400), prompt="bad")
    events: list[ProgressEvent] = []
    finals: list[ProgressEvent] = []

    class Sink:
        def update(self, event: ProgressEvent) -> None:
            events.append(event)

        def finish(self, event: ProgressEvent) -> None:
            finals.append(event)

    run(
        [req("cached"), req("new1"), req("new2"), req("bad")],
        providers(srv),
        cache,
        record="new",
        progress=Sink(),
    )
    assert [e.done for e in events] == [1, 2, 3, 4]
    (final,) = finals
    assert (final.done, final.total, final.cached, final.new, final.failed) == (4, 4, 1, 2, 1)
    assert final.elapsed_s > 0 and final.rate > 0


def test_terminal_progress_redraws_at_most_ten_times_a_second() -> None:
    now = [0.0]
    out: list[str] = []
    progress = TerminalProgress(out.append, is_tty=True, clock=lambda: now[0])
    for i in range(1, 101):
        now[0] = i * 0.01
        progress.update(ProgressEvent(i, 100, 0, i, 0, now[0]))
    progress.finish(ProgressEvent(100, 100, 0, 100, 0, 1.0))
    assert 9 <= len(out) - 2 <= 11
    assert all(line.startswith("\r") for line in out[:-1]) and out[-1] == "\n"
    assert "100/100 answers (0 cached, 100 new, 0 failed)" in out[-2]


def test_terminal_progress_off_a_tty_prints_one_final_line() -> None:
    out: list[str] = []
    progress = TerminalProgress(out.append, is_tty=False)
    for i in range(50):
        progress.update(ProgressEvent(i, 50, i, 0, 0, 0.5))
    progress.finish(ProgressEvent(50, 50, 50, 0, 0, 0.5))
    assert out == ["modelguard: 50/50 answers (50 cached, 0 new, 0 failed) 100.0/s in 0.5s\n"]


def test_retry_policy_backoff_is_jittered_capped_and_honours_retry_after() -> None:
    rng = random.Random(0)
    policy = RetryPolicy(base_delay_s=0.5, max_delay_s=4.0)
    for attempt in range(1, 8):
        ceiling = min(4.0, 0.5 * 2 ** (attempt - 1))
        assert all(0 <= policy.delay_s(attempt, None, rng) <= ceiling for _ in range(50))
    assert policy.delay_s(1, 3.0, rng) >= 3.0
    assert policy.delay_s(1, 60.0, rng) == 4.0
    steady = RetryPolicy(base_delay_s=0.5, max_delay_s=4.0, jitter=False)
    assert [steady.delay_s(a, None, rng) for a in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 4.0, 4.0]


def test_concurrency_must_be_positive(cache: Cache) -> None:
    with pytest.raises(ValueError, match="concurrency must be at least 1"):
        run([req("x")], {}, cache, concurrency=0)


def test_a_failed_cache_write_keeps_paid_answers_and_stops_the_run(
    srv: LoopbackServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))

    class FullDisk(Cache):
        def put(self, request: Request, completion: Completion) -> Path:
            raise OSError(28, "No space left on device")

    notes: list[str] = []
    requests = [req(f"p{i}") for i in range(20)]

    async def write_fails_then_wait() -> dict[str, Outcome]:
        cache = FullDisk(tmp_path / "cache")
        found = await answer_all(requests, providers(srv), cache, "all", 2, FAST, notes=notes)
        await asyncio.sleep(0.3)  # time for any call still running to go on spending
        return found

    srv.latency_s = 0.03
    results = asyncio.run(write_fails_then_wait())
    paid = [r for r in requests if isinstance(results[r.key()], Completion)]
    assert len(paid) == srv.count() <= 3  # every paid answer kept; then nothing launched
    refused = [o for o in results.values() if isinstance(o, ProviderError)]
    assert refused and all("answers could not be saved" in str(o) for o in refused)
    (note,) = notes
    assert f"{len(paid)} paid answers could not be saved under {tmp_path / 'cache'}" in note
    assert "No space left" in note
    fallback = Cache(Path(note.split("kept in ")[1].split(" (copy")[0]))
    assert all(fallback.get(r) == results[r.key()] for r in paid)


FEW_FILES = """
import asyncio, resource, sys
from pathlib import Path
from pytest_modelguard.engine.cache import Cache
from pytest_modelguard.records.calls import Completion, Request
from pytest_modelguard.engine.runner import answer_all_sync

class Slow:
    async def complete(self, request):
        await asyncio.sleep(0.001)
        return Completion(request.messages[-1]["content"])

    async def aclose(self):
        pass

resource.setrlimit(resource.RLIMIT_NOFILE, (128, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
requests = [Request("openai", "m", ({"role": "user", "content": f"p{i}"},)) for i in range(2000)]
results = answer_all_sync(requests, {"openai": Slow()}, Cache(Path(sys.argv[1])), "once", 16)
print(sum(isinstance(r, Completion) for r in results.values()))
"""


def test_thousands_of_queued_requests_hold_few_open_files(tmp_path: Path) -> None:
    """Requests waiting for a slot hold no file: 2,000 of them run under a 128-file limit."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", FEW_FILES, str(tmp_path / "cache")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "2000"


CROSSED = """
import sys, time
from pathlib import Path
from pytest_modelguard.engine.cache import Cache
from pytest_modelguard.records.calls import Request
from pytest_modelguard.engine.providers.python import PythonProvider
from pytest_modelguard.engine.runner import answer_all_sync

requests = [Request("python", "crossed:slow", ({"role": "user", "content": f"q{i}"},))
            for i in range(200)]
if sys.argv[2] == "reversed":
    requests.reverse()
print("ready", flush=True)
sys.stdin.readline()
answers = answer_all_sync(requests, {"python": PythonProvider("python")}, Cache(Path(sys.argv[1])),
                          "all", 16, run_started=float(sys.argv[3]))
print(len(answers))
"""

SLOW_MODEL = """
import time

def slow(request):  # a sync model: runs in the default thread pool
    time.sleep(0.05)
    return request.messages[-1]["content"]
"""


def test_two_processes_recording_the_same_requests_in_opposite_orders_both_finish(
    tmp_path: Path,
) -> None:
    """Each waits on claims the other holds; waiting must not starve the threads that
    the claim holders' own `python:` model calls need (it once hung forever)."""
    import subprocess
    import sys
    import time

    (tmp_path / "crossed.py").write_text(SLOW_MODEL)
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    started = str(time.time())
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", CROSSED, str(tmp_path / "cache"), order, started],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for order in ("forward", "reversed")
    ]
    try:
        for process in processes:
            assert process.stdout is not None and process.stdout.readline() == "ready\n"
        for process in processes:  # both at once
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        outputs = [process.communicate(timeout=60)[0] for process in processes]
    finally:
        for process in processes:
            process.kill()
    assert [out.strip() for out in outputs] == ["200", "200"]
