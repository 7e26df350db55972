"""capture(): the four SDK clients against the loopback server, streaming, concurrency, failures."""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
from loopback import Fault, LoopbackServer, Reply, fail_first

from pytest_modelguard.capture import Trace, TraceDb, TraceStore, capture
from pytest_modelguard.capture.export import ExportOptions, export_suite
from pytest_modelguard.capture.store import SCHEMA_VERSION, Pending
from pytest_modelguard.capture.streams import INCOMPLETE
from pytest_modelguard.suite import load_suite

KEY = "sk-test-capture-secret-0123456789"
MODEL = {"openai": "gpt-4.1-mini", "anthropic": "claude-haiku-4-5"}
KINDS = [("openai", False), ("openai", True), ("anthropic", False), ("anthropic", True)]
KIND_IDS = ["OpenAI", "AsyncOpenAI", "Anthropic", "AsyncAnthropic"]


@pytest.fixture(scope="module")
def srv() -> Iterator[LoopbackServer]:
    with LoopbackServer() as server:
        yield server


@pytest.fixture(autouse=True)
def _fresh_server(srv: LoopbackServer) -> None:
    srv.responder = lambda call: Reply(f"echo {call.model}: {call.prompt}")
    srv.faults = None
    srv.latency_s = 0.0


@pytest.fixture
def store(tmp_path: Path) -> Iterator[TraceStore]:
    traces = TraceStore(tmp_path / "traces.db", busy_timeout_s=0.05)
    yield traces
    traces.close()


def bare(srv: LoopbackServer, provider: str, is_async: bool) -> Any:
    if provider == "openai":
        cls: Any = openai.AsyncOpenAI if is_async else openai.OpenAI
        return cls(base_url=srv.openai_base_url, api_key=KEY, max_retries=0)
    cls = anthropic.AsyncAnthropic if is_async else anthropic.Anthropic
    return cls(base_url=srv.anthropic_base_url, api_key=KEY, max_retries=0)


def ask(client: Any, provider: str, prompt: str, **params: Any) -> Any:
    """One create call (a coroutine for an async client)."""
    messages = [{"role": "user", "content": prompt}]
    if provider == "openai":
        return client.chat.completions.create(model=MODEL[provider], messages=messages, **params)
    params.setdefault("max_tokens", 50)
    return client.messages.create(model=MODEL[provider], messages=messages, **params)


def run(result: Any) -> Any:
    """The value of a sync call, or of an async call's coroutine in a new event loop."""
    return asyncio.run(_await(result)) if asyncio.iscoroutine(result) else result


async def _await(coro: Any) -> Any:
    return await coro


def both(is_async: bool, first: Callable[[], Any], second: Callable[[], Any]) -> list[Any]:
    """Two calls in order, in one event loop for async clients (their pools are per loop)."""
    if not is_async:
        return [first(), second()]

    async def main() -> list[Any]:
        return [await first(), await second()]

    return asyncio.run(main())


def read_all(store: TraceStore) -> list[Trace]:
    assert store.flush(10)
    with TraceDb(store.path) as db:
        ids = [row["id"] for row in db.scan(["id"])]
        found = db.traces(ids)
    return [found[i] for i in ids]


def text_of(provider: str, response: Any) -> str:
    if provider == "openai":
        return str(response.choices[0].message.content)
    return "".join(block.text for block in response.content)


@pytest.mark.parametrize(("provider", "is_async"), KINDS, ids=KIND_IDS)
def test_call_is_unchanged_and_recorded(
    srv: LoopbackServer, store: TraceStore, provider: str, is_async: bool
) -> None:
    srv.responder = lambda call: Reply(f"hi {call.prompt}", input_tokens=20, output_tokens=5)
    raw = bare(srv, provider, is_async)
    client = capture(raw, db=store, tags=["support", "billing"])
    assert isinstance(client, type(raw))
    before = time.time()
    param = {"temperature": 0} if provider == "openai" else {"stop_sequences": ["zz"]}
    plain, wrapped = both(
        is_async,
        lambda: ask(raw, provider, "q1", **param),
        lambda: ask(client, provider, "q1", **param),
    )
    assert type(wrapped) is type(plain)
    assert text_of(provider, wrapped) == text_of(provider, plain) == "hi q1"
    (trace,) = read_all(store)
    assert trace.provider == provider and trace.model == MODEL[provider]
    assert trace.response_model == MODEL[provider] and trace.host == "127.0.0.1"
    assert trace.messages == ({"role": "user", "content": "q1"},)
    assert param.items() <= trace.params.items()
    assert trace.output == "hi q1" and trace.error is None and not trace.stream
    assert trace.usage is not None and trace.usage.input_tokens == 20
    assert trace.usage.output_tokens == 5
    assert trace.cost_usd is not None and trace.cost_usd > 0
    assert trace.tags == ("support", "billing")
    assert 0 <= trace.latency_s < 5 and before <= trace.started_at <= time.time()


@pytest.mark.parametrize(("provider", "is_async"), KINDS, ids=KIND_IDS)
def test_stream_is_unchanged_and_recorded_with_usage_when_it_ends(
    srv: LoopbackServer, store: TraceStore, provider: str, is_async: bool
) -> None:
    srv.responder = lambda call: Reply("one two three", input_tokens=9, output_tokens=3)
    usage_opt = {"stream_options": {"include_usage": True}} if provider == "openai" else {}
    client = capture(bare(srv, provider, is_async), db=store)
    sdk = openai if provider == "openai" else anthropic
    expected: Any = sdk.AsyncStream if is_async else sdk.Stream

    async def stream_async() -> list[Any]:
        stream = await ask(client, provider, "s", stream=True, **usage_opt)
        assert type(stream) is expected
        assert store.flush(5) and store.written == 0  # nothing until the stream ends
        return [item async for item in stream]

    if is_async:
        items = asyncio.run(stream_async())
    else:
        stream = ask(client, provider, "s", stream=True, **usage_opt)
        assert type(stream) is expected
        assert store.flush(5) and store.written == 0
        items = list(stream)
    assert len(items) > 3
    (trace,) = read_all(store)
    assert trace.stream and trace.output == "one two three" and trace.error is None
    assert trace.usage is not None
    assert (trace.usage.input_tokens, trace.usage.output_tokens) == (9, 3)
    assert trace.finish_reason in ("stop", "end_turn")


def test_openai_stream_without_include_usage_records_usage_unknown(
    srv: LoopbackServer, store: TraceStore
) -> None:
    client = capture(bare(srv, "openai", False), db=store)
    with ask(client, "openai", "s", stream=True) as stream:
        text = "".join(c.choices[0].delta.content or "" for c in stream)
    assert text == f"echo {MODEL['openai']}: s"
    assert "stream_options" not in srv.calls[-1].params  # the request is not changed
    (trace,) = read_all(store)
    assert trace.output == text and trace.usage is None and trace.cost_usd is None


def test_stream_closed_early_is_recorded_as_incomplete(
    srv: LoopbackServer, store: TraceStore
) -> None:
    srv.responder = lambda call: Reply("a b c d e f")
    client = capture(bare(srv, "openai", False), db=store)
    stream = ask(client, "openai", "s", stream=True)
    next(iter(stream))
    next(iter(stream))
    stream.close()
    (trace,) = read_all(store)
    assert trace.error == INCOMPLETE and trace.output is not None
    assert "a b c d e f".startswith(trace.output)


@pytest.mark.parametrize("is_async", [False, True], ids=["Anthropic", "AsyncAnthropic"])
def test_anthropic_messages_stream_helper_is_recorded(
    srv: LoopbackServer, store: TraceStore, is_async: bool
) -> None:
    srv.responder = lambda call: Reply("streamed answer", input_tokens=7, output_tokens=2)
    client = capture(bare(srv, "anthropic", is_async), db=store, tags=["helper"])
    kwargs: dict[str, Any] = {
        "model": MODEL["anthropic"],
        "max_tokens": 20,
        "system": "sys",
        "messages": [{"role": "user", "content": "p"}],
    }

    async def async_text() -> str:
        async with client.messages.stream(**kwargs) as stream:
            return str(await stream.get_final_text())

    if is_async:
        text = asyncio.run(async_text())
    else:
        with client.messages.stream(**kwargs) as stream:
            text = stream.get_final_text()
    assert text == "streamed answer"
    (trace,) = read_all(store)
    assert trace.stream and trace.output == "streamed answer" and trace.tags == ("helper",)
    assert trace.messages[0] == {"role": "system", "content": "sys"}
    assert trace.usage is not None and trace.usage.output_tokens == 2


@pytest.mark.parametrize(("provider", "is_async"), KINDS, ids=KIND_IDS)
def test_errors_are_raised_unchanged_and_recorded(
    srv: LoopbackServer, store: TraceStore, provider: str, is_async: bool
) -> None:
    prompt = f"bad {provider} {is_async}"  # the server counts failures per prompt
    srv.faults = fail_first(2, Fault.http(401), prompt=prompt)
    errors: list[type[BaseException]] = []
    for client in (bare(srv, provider, is_async), capture(bare(srv, provider, is_async), db=store)):
        with pytest.raises(Exception) as info:
            run(ask(client, provider, prompt))
        errors.append(type(info.value))
    assert errors[0] is errors[1] and errors[0].__name__ == "AuthenticationError"
    (trace,) = read_all(store)
    assert trace.output is None and trace.usage is None
    assert trace.error is not None and trace.error.startswith("AuthenticationError")


def test_raw_response_options_and_context_manager_still_work(
    srv: LoopbackServer, store: TraceStore
) -> None:
    with capture(bare(srv, "openai", False), db=store, tags=["x"]) as client:
        assert isinstance(client, openai.OpenAI) and "captured(" in repr(client)
        raw = client.chat.completions.with_raw_response.create(
            model="m", messages=[{"role": "user", "content": "raw"}]
        )
        assert raw.parse().choices[0].message.content == "echo m: raw"
        assert client.models is not None  # other resources pass through
        faster = client.with_options(timeout=5)
        ask(faster, "openai", "via with_options")
    recorded = sorted(t.messages[0]["content"] for t in read_all(store))
    assert recorded == ["raw", "via with_options"]  # with_raw_response is recorded too


def test_secrets_never_stored(srv: LoopbackServer, store: TraceStore) -> None:
    client = capture(bare(srv, "openai", False), db=store)
    ask(client, "openai", f"my key is {KEY}", extra_headers={"X-Auth": KEY}, extra_body={"seed": 3})
    srv.faults = fail_first(1, Fault.http(500), prompt="boom")
    with pytest.raises(openai.InternalServerError):
        ask(client, "openai", "boom")
    (trace, failed) = read_all(store)
    assert srv.keys_seen() == {KEY}
    assert trace.params == {"seed": 3}
    assert trace.messages[0]["content"] == "my key is [redacted]"
    assert failed.error is not None
    store.close()
    for path in store.path.parent.iterdir():
        assert KEY.encode() not in path.read_bytes(), path


def test_redact_runs_before_anything_is_written(srv: LoopbackServer, store: TraceStore) -> None:
    def redact(trace: Trace) -> Trace | None:
        if "drop me" in str(trace.messages):
            return None
        return trace.map_text(lambda text: text.replace("alice@example.com", "<email>"))

    client = capture(bare(srv, "anthropic", False), db=store, redact=redact)
    ask(client, "anthropic", "mail alice@example.com")
    ask(client, "anthropic", "drop me")
    (trace,) = read_all(store)
    assert trace.messages[0]["content"] == "mail <email>"
    assert trace.output == f"echo {MODEL['anthropic']}: mail <email>"
    store.close()
    for path in store.path.parent.iterdir():
        assert b"alice@example.com" not in path.read_bytes()
        assert b"drop me" not in path.read_bytes()


def test_a_failing_redact_hook_drops_the_call_with_one_warning(
    srv: LoopbackServer, store: TraceStore, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(trace: Trace) -> Trace:
        raise RuntimeError("no")

    client = capture(bare(srv, "openai", False), db=store, redact=broken)
    with caplog.at_level(logging.WARNING, "pytest_modelguard.capture"):
        for _ in range(3):
            ask(client, "openai", "secret text")
        assert read_all(store) == []
    assert len(caplog.records) == 1 and "RuntimeError" in caplog.text


def test_sampling_and_bad_arguments(srv: LoopbackServer, store: TraceStore) -> None:
    client = capture(bare(srv, "openai", False), db=store, sample=0.0)
    ask(client, "openai", "not sampled")
    assert store.flush(5) and store.written == 0 and not store.path.exists()
    with pytest.raises(ValueError, match="sample"):
        capture(bare(srv, "openai", False), db=store, sample=1.5)
    with pytest.raises(TypeError, match="capture"):
        capture(object(), db=store)


def test_request_is_snapshotted_at_call_time(srv: LoopbackServer, store: TraceStore) -> None:
    client = capture(bare(srv, "openai", False), db=store)
    history: list[dict[str, str]] = [{"role": "user", "content": "first"}]
    client.chat.completions.create(model="m", messages=history)
    history.append({"role": "assistant", "content": "later"})
    one_shot = (m for m in [{"role": "user", "content": "gen"}])
    client.chat.completions.create(model="m", messages=one_shot)
    first, second = read_all(store)
    assert first.messages == ({"role": "user", "content": "first"},)
    assert second.messages == ({"role": "user", "content": "gen"},)
    assert srv.calls[-1].prompt == "gen"  # the generator still reached the SDK


def test_threads_capture_concurrently_without_lost_or_mixed_rows(
    srv: LoopbackServer, store: TraceStore
) -> None:
    threads, per_thread = 8, 125

    def work(k: int) -> None:
        client = capture(bare(srv, "openai", False), db=store, tags=[f"t{k}"])
        for i in range(per_thread):
            answer = ask(client, "openai", f"{k}-{i}")
            assert answer.choices[0].message.content == f"echo {MODEL['openai']}: {k}-{i}"

    pool = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    traces = read_all(store)
    assert len(traces) == threads * per_thread == 1000
    prompts = {t.messages[0]["content"] for t in traces}
    assert len(prompts) == 1000
    for trace in traces:
        prompt = trace.messages[0]["content"]
        assert trace.tags == (f"t{prompt.split('-')[0]}",)
        assert trace.output == f"echo {MODEL['openai']}: {prompt}"


def test_async_tasks_capture_concurrently(srv: LoopbackServer, store: TraceStore) -> None:
    srv.latency_s = 0.01

    async def main() -> None:
        clients = [capture(bare(srv, p, True), db=store, tags=[p]) for p in MODEL]
        calls = [ask(clients[i % 2], list(MODEL)[i % 2], f"p{i}") for i in range(100)]
        await asyncio.gather(*calls)
        for client in clients:
            await client.close()

    asyncio.run(main())
    traces = read_all(store)
    assert len(traces) == 100
    for trace in traces:
        assert trace.output == f"echo {MODEL[trace.provider]}: {trace.messages[0]['content']}"
        assert trace.tags == (trace.provider,)


def timed_calls(client: Any, n: int = 5) -> float:
    start = time.perf_counter()
    for i in range(n):
        ask(client, "openai", f"c{i}")
    return time.perf_counter() - start


def read_only(path: Path, request: pytest.FixtureRequest) -> None:
    """Make ``path`` read-only even for root (who ignores modes): immutable, via chattr."""
    path.chmod(0o444)
    if os.geteuid() != 0:
        return
    done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True, check=False)
    if done.returncode != 0:  # not every filesystem has the immutable flag
        pytest.skip(f"running as root and chattr +i failed here: {done.stderr.strip()}")
    request.addfinalizer(lambda: subprocess.run(["chattr", "-i", str(path)], check=True))


@pytest.mark.parametrize("problem", ["unwritable", "read-only", "newer-schema", "not-a-db"])
def test_a_bad_database_warns_once_and_never_breaks_the_caller(
    srv: LoopbackServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    request: pytest.FixtureRequest,
    problem: str,
) -> None:
    path = tmp_path / "traces.db"
    if problem == "unwritable":
        (tmp_path / "file").write_text("")
        path = tmp_path / "file" / "traces.db"
    elif problem == "read-only":
        sqlite3.connect(path).close()
        read_only(path, request)
    elif problem == "newer-schema":
        with sqlite3.connect(path) as conn:
            conn.execute("PRAGMA user_version = 99")
    else:
        path.write_bytes(b"this is not an sqlite database" * 100)
    store = TraceStore(path, busy_timeout_s=0.05)
    client = capture(bare(srv, "openai", False), db=store)
    with caplog.at_level(logging.WARNING, "pytest_modelguard.capture"):
        timed_calls(client)
        assert store.flush(5)
        timed_calls(client)
        store.close()
    assert store.written == 0 and store.dropped == 10
    assert len(caplog.records) == 1, caplog.text
    assert str(path) in caplog.text


def test_a_locked_database_does_not_stall_calls(
    srv: LoopbackServer, store: TraceStore, caplog: pytest.LogCaptureFixture
) -> None:
    client = capture(bare(srv, "openai", False), db=store)
    ask(client, "openai", "before")
    assert store.flush(5) and store.written == 1
    locker = sqlite3.connect(store.path, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    with caplog.at_level(logging.WARNING, "pytest_modelguard.capture"):
        bare_time = timed_calls(bare(srv, "openai", False), 20)
        locked_time = timed_calls(client, 20)
        assert store.flush(5)
    locker.execute("ROLLBACK")
    locker.close()
    ask(client, "openai", "after")
    assert store.flush(5)
    assert locked_time < bare_time + 0.5
    assert len(caplog.records) == 1 and "locked" in caplog.text
    assert [t.messages[0]["content"] for t in read_all(store)] == ["before", "after"]


def test_a_full_queue_drops_calls_instead_of_blocking(
    srv: LoopbackServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    gate = threading.Event()

    def slow(trace: Trace) -> Trace:
        gate.wait(5)
        return trace

    store = TraceStore(tmp_path / "traces.db", max_pending=2, batch_size=1)
    client = capture(bare(srv, "openai", False), db=store, redact=slow)
    with caplog.at_level(logging.WARNING, "pytest_modelguard.capture"):
        elapsed = timed_calls(client, 10)
    gate.set()
    store.close()
    assert elapsed < 3
    assert store.dropped >= 6 and store.written + store.dropped == 10
    assert len(caplog.records) == 1 and "dropping" in caplog.text


EXIT_SCRIPT = """
import sys, openai
from pytest_modelguard.capture import capture
client = capture(openai.OpenAI(base_url=sys.argv[1], api_key="k"), db=sys.argv[2])
for i in range(20):
    client.chat.completions.create(model="m", messages=[{"role": "user", "content": str(i)}])
"""


def test_pending_rows_are_flushed_at_exit(srv: LoopbackServer, tmp_path: Path) -> None:
    path = tmp_path / "exit.db"
    subprocess.run(
        [sys.executable, "-c", EXIT_SCRIPT, srv.openai_base_url, str(path)], check=True, timeout=60
    )
    with TraceDb(path) as db:
        assert len(list(db.scan(["id"]))) == 20


def test_database_is_wal_and_versioned(srv: LoopbackServer, store: TraceStore) -> None:
    ask(capture(bare(srv, "openai", False), db=store), "openai", "x")
    assert store.flush(5)
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@pytest.mark.filterwarnings("ignore:This process:DeprecationWarning")
def test_a_forked_child_keeps_capturing(tmp_path: Path) -> None:
    def record(prompt: str) -> Pending:
        return Pending(Trace("openai", "m", ({"role": "user", "content": prompt},), output="a"))

    store = TraceStore(tmp_path / "fork.db")
    store.submit(record("parent"))
    assert store.flush(5)
    pid = os.fork()
    if pid == 0:  # the child: its own writer thread, none of the parent's queue
        store.submit(record("child"))
        store.close()
        os._exit(0 if store.written == 2 else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert [t.messages[0]["content"] for t in read_all(store)] == ["parent", "child"]
    store.close()


def test_captured_calls_export_to_a_suite_that_loads(
    srv: LoopbackServer, store: TraceStore, tmp_path: Path
) -> None:
    client = capture(bare(srv, "openai", False), db=store, tags=["e2e"])
    history: list[Any] = [{"role": "system", "content": "sys"}, {"role": "user", "content": "q1"}]
    first = client.chat.completions.create(model="gpt-4.1", messages=history)
    history += [first.choices[0].message, {"role": "user", "content": "q2"}]  # an SDK object
    client.chat.completions.create(model="gpt-4.1", messages=history)
    assert store.flush(5)
    out = tmp_path / "e2e.modelguard.yaml"
    assert export_suite(store.path, out, ExportOptions()).cases == 2
    one, two = load_suite(out).cases
    assert one.messages == ({"role": "system", "content": "sys"}, {"role": "user", "content": "q1"})
    assert two.messages[2:] == (
        {"role": "assistant", "content": "echo gpt-4.1: q1"},
        {"role": "user", "content": "q2"},
    )
    assert two.baseline is not None and two.baseline.output == "echo gpt-4.1: q2"
    assert one.tags == ("e2e",)
