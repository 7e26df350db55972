"""Provider batches (#28 items 1-4, 6): the fan-out's batched requests over real HTTP through
the SDKs against the loopback server's batch endpoints: split by limits, saved as soon as
accepted, resumed never resubmitted, failures retried, priced at the batch rate."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import loopback_batch
import pytest
from loopback import Call, LoopbackServer, Reply
from loopback_batch import BatchPlan

from pytest_modelguard.config import ModelSpec, Overrides, ProviderSpec, load_settings
from pytest_modelguard.core.errors import CacheError
from pytest_modelguard.engine import batch_state
from pytest_modelguard.engine.cache import Cache
from pytest_modelguard.engine.providers import batch_api, make_provider
from pytest_modelguard.engine.runner import Batcher, answer_all_sync
from pytest_modelguard.engine.spend import SpendCap
from pytest_modelguard.records.calls import Completion, ProviderError, Request, Usage
from pytest_modelguard.records.pricing import Price, table_price

KINDS = ("openai", "openai-responses", "anthropic")


def respond(call: Call) -> Reply:
    return Reply(f"{call.model} says {call.prompt.split()[-1]}", input_tokens=10, output_tokens=4)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[LoopbackServer]:
    monkeypatch.setenv("SIM_KEY", "sim-batch-test-key")
    with LoopbackServer(respond) as srv:
        yield srv


def provider(server: LoopbackServer, kind: str) -> object:
    base = server.anthropic_base_url if kind == "anthropic" else server.openai_base_url
    return make_provider(kind, "sim", base, "SIM_KEY")


def requests(n: int, model: str = "m-1", start: int = 0) -> list[Request]:
    return [
        Request("sim", model, ({"role": "user", "content": f"say w{i}"},), {"max_tokens": 16})
        for i in range(start, start + n)
    ]


def run(
    server: LoopbackServer,
    kind: str,
    todo: list[Request],
    cache_dir: Path,
    lines: list[str] | None = None,
    spend: SpendCap | None = None,
    wait_s: float = 60.0,
    live_fallback: bool = False,
) -> tuple[dict[str, object], Batcher]:
    said = lines if lines is not None else []
    batcher = Batcher(
        cache_dir, lambda r: True, poll_s=0.001, wait_s=wait_s, live_fallback=live_fallback,
        say=said.append,
    )  # fmt: skip
    batcher.load()
    out = answer_all_sync(
        todo,
        {"sim": provider(server, kind)},  # type: ignore[dict-item]
        Cache(cache_dir),
        "once",
        4,
        batcher=batcher,
        spend=spend,
    )
    return dict(out), batcher


@pytest.mark.parametrize("kind", KINDS)
def test_every_request_is_answered_by_a_batch_and_cached_under_its_key(
    server: LoopbackServer, tmp_path: Path, kind: str
) -> None:
    todo = requests(7)
    lines: list[str] = []
    out, _ = run(server, kind, todo, tmp_path, lines)
    service = loopback_batch.service_of(server)
    assert server.count() == 0  # no ordinary completion call
    assert service.created == 1 and len(service.items) == 7
    for request in todo:
        answer = out[request.key()]
        assert isinstance(answer, Completion) and answer.batch and answer.latency_s is None
        assert answer.text == f"m-1 says {request.messages[0]['content'].split()[-1]}"
        assert Cache(tmp_path).get(request) == answer  # the key an ordinary call uses
    assert not batch_state.path_of(tmp_path).exists()  # collected: nothing left to resume
    assert any("submitted batch" in line for line in lines)
    assert any("7/7 completed, 0 failed" in line for line in lines)
    again, _ = run(server, kind, todo, tmp_path)  # replayed: no batch, no call
    assert service.created == 1 and server.count() == 0
    assert all(isinstance(a, Completion) and a.batch for a in again.values())


@pytest.mark.parametrize(
    ("kind", "limit", "value", "batches"),
    [
        ("openai", "OPENAI_MAX_REQUESTS", 3, 3),
        ("anthropic", "ANTHROPIC_MAX_REQUESTS", 4, 2),
        ("openai-responses", "OPENAI_MAX_BYTES", 600, None),
        ("anthropic", "ANTHROPIC_MAX_BYTES", 600, None),
    ],
)
def test_batches_are_split_by_the_providers_limits(
    server: LoopbackServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
    limit: str,
    value: int,
    batches: int | None,
) -> None:
    monkeypatch.setattr(batch_api, limit, value)
    out, _ = run(server, kind, requests(7), tmp_path)
    service = loopback_batch.service_of(server)
    assert all(isinstance(a, Completion) for a in out.values())
    if batches is not None:
        assert service.created == batches
        return
    sizes = [sum(len(json.dumps(line)) for line in b.lines) for b in service.batches.values()]
    assert service.created > 1 and max(sizes) <= value


def expire_first(call: Call, n: int) -> str | None:
    return "expired" if n == 0 and call.prompt.endswith(("w1", "w3")) else None


@pytest.mark.parametrize("kind", KINDS)
def test_expired_items_go_in_the_next_batch(
    server: LoopbackServer, tmp_path: Path, kind: str
) -> None:
    loopback_batch.service_of(server).plan = BatchPlan(polls=1, fault=expire_first)
    out, _ = run(server, kind, requests(5), tmp_path)
    service = loopback_batch.service_of(server)
    assert service.created == 2
    assert [len(b.lines) for b in service.batches.values()] == [5, 2]
    assert all(isinstance(a, Completion) for a in out.values())
    assert server.count() == 0


def test_live_fallback_calls_what_a_batch_let_expire(
    server: LoopbackServer, tmp_path: Path
) -> None:
    loopback_batch.service_of(server).plan = BatchPlan(polls=1, fault=expire_first)
    out, _ = run(server, "openai", requests(5), tmp_path, live_fallback=True)
    assert loopback_batch.service_of(server).created == 1
    assert server.count() == 2  # the two expired ones, as ordinary calls
    assert all(isinstance(a, Completion) for a in out.values())
    assert sum(a.batch for a in out.values() if isinstance(a, Completion)) == 3


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_an_invalid_item_fails_once_and_one_that_keeps_expiring_gives_up(
    server: LoopbackServer, tmp_path: Path, kind: str
) -> None:
    def fault(call: Call, n: int) -> str | None:
        return {"w0": "invalid", "w1": "expired"}.get(call.prompt.split()[-1])

    loopback_batch.service_of(server).plan = BatchPlan(polls=1, fault=fault)
    out, _ = run(server, kind, requests(3), tmp_path)
    todo = requests(3)
    invalid, expired, fine = (out[r.key()] for r in todo)
    assert isinstance(invalid, ProviderError) and not invalid.transient
    assert isinstance(expired, ProviderError) and "expired" in str(expired)
    assert isinstance(fine, Completion)
    assert loopback_batch.service_of(server).created == 3  # w1 sent in 3 batches, then final


def test_a_batch_that_fails_validation_fails_its_items_with_the_reason(
    server: LoopbackServer, tmp_path: Path
) -> None:
    loopback_batch.service_of(server).plan = BatchPlan(polls=1, fail_batch="bad line")
    out, _ = run(server, "openai", requests(2), tmp_path)
    assert loopback_batch.service_of(server).created == 1  # never resubmitted
    for answer in out.values():
        assert isinstance(answer, ProviderError) and "loopback refused" in str(answer)


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_a_run_out_of_wait_is_collected_by_the_next_never_resubmitted(
    server: LoopbackServer, tmp_path: Path, kind: str
) -> None:
    service = loopback_batch.service_of(server)
    service.plan = BatchPlan(polls=1_000_000)
    todo = requests(4)
    out, batcher = run(server, kind, todo, tmp_path, wait_s=0.05)
    assert out == {} and len(batcher.pending) == 1
    saved = batch_state.load(tmp_path)
    assert [b.id for b in saved] == list(service.batches)
    assert set(saved[0].keys) == {r.key() for r in todo}
    assert "--modelguard-batch" in batcher.resume_hint()
    service.plan = BatchPlan(polls=1)
    lines: list[str] = []
    # the next run asks two more: the saved batch is collected, only the new ones are sent
    out, batcher = run(server, kind, todo + requests(2, start=4), tmp_path, lines)
    assert service.created == 2
    assert [len(b.lines) for b in service.batches.values()] == [4, 2]
    assert all(isinstance(a, Completion) for a in out.values()) and len(out) == 6
    assert any("collecting batch" in line for line in lines)
    assert not batch_state.path_of(tmp_path).exists()


def test_a_batch_another_run_needs_stays_saved_with_its_keys(
    server: LoopbackServer, tmp_path: Path
) -> None:
    service = loopback_batch.service_of(server)
    service.plan = BatchPlan(polls=1_000_000)
    todo = requests(4)
    run(server, "openai", todo, tmp_path, wait_s=0.0)
    service.plan = BatchPlan(polls=1)
    out, _ = run(server, "openai", todo[:1], tmp_path)  # -k: this run needs one of them
    assert isinstance(out[todo[0].key()], Completion) and service.created == 1
    (saved,) = batch_state.load(tmp_path)
    assert set(saved.keys) == {r.key() for r in todo[1:]}
    run(server, "openai", todo, tmp_path)
    assert service.created == 1 and not batch_state.path_of(tmp_path).exists()


@pytest.mark.parametrize(
    ("signum", "word"), [(signal.SIGINT, "interrupted"), (signal.SIGTERM, "terminated")]
)
def test_a_signal_while_polling_keeps_the_saved_batch_and_says_how_to_resume(
    server: LoopbackServer, tmp_path: Path, signum: int, word: str
) -> None:
    service = loopback_batch.service_of(server)
    service.plan = BatchPlan(polls=1_000_000)
    lines: list[str] = []
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signum))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            run(server, "anthropic", requests(3), tmp_path, lines)
    finally:
        timer.cancel()
    assert service.created == 1
    assert len(batch_state.load(tmp_path)) == 1
    said = [line for line in lines if word in line]
    assert said == [
        f"modelguard: the run was {word}; 1 batch saved in {batch_state.path_of(tmp_path)}; "
        "run again with --modelguard-batch to collect (nothing is submitted twice)"
    ]
    service.plan = BatchPlan(polls=1)
    out, _ = run(server, "anthropic", requests(3), tmp_path)
    assert service.created == 1 and all(isinstance(a, Completion) for a in out.values())


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{not json", "not valid JSON"),
        ('{"version": 9, "batches": []}', "version must be 1"),
        ('{"version": 1, "batches": {}}', "batches must be a list"),
        (
            '{"version": 1, "batches": [{"provider": "sim", "id": "b/../x", "keys": [], '
            '"submitted_at": 1}]}',
            "batches[0].id",
        ),
        (
            '{"version": 1, "batches": [{"provider": "sim", "id": "b1", "keys": ["zz"], '
            '"submitted_at": 1}]}',
            "batches[0].keys",
        ),
        (
            '{"version": 1, "batches": [{"provider": "sim", "id": "b1", "keys": [], '
            '"submitted_at": true}]}',
            "batches[0].submitted_at",
        ),
        ("\udcff", "not valid JSON"),
    ],
)
def test_a_saved_list_that_cannot_be_trusted_stops_the_run_before_any_batch(
    server: LoopbackServer, tmp_path: Path, text: str, problem: str
) -> None:
    batch_state.path_of(tmp_path).write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.raises(CacheError) as caught:
        run(server, "openai", requests(2), tmp_path)
    message = str(caught.value)
    assert str(batch_state.path_of(tmp_path)) in message and problem in message
    assert "may still be in flight" in message
    assert loopback_batch.service_of(server).created == 0 and server.count() == 0


def test_a_saved_list_too_large_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch_state, "MAX_BYTES", 10)
    batch_state.path_of(tmp_path).write_text('{"version": 1, "batches": []}')
    with pytest.raises(CacheError, match="above the 10"):
        batch_state.load(tmp_path)


def test_the_spend_cap_reserves_at_the_batch_price(server: LoopbackServer, tmp_path: Path) -> None:
    full = Price(input=1000.0, output=1000.0)
    half = full.scaled(0.5)
    todo = requests(4)
    worst = sum(
        (len(r.messages[0]["content"]) // 4 + 1 + 4) * 1000 / 1e6 + 16 * 1000 / 1e6 for r in todo
    )
    key = ("sim", "m-1")
    # the cap fits the four at the batch price, not at the full one
    cap = SpendCap(limit_usd=worst * 0.75, prices={key: full}, batch_prices={key: half})
    out, _ = run(server, "openai", todo, tmp_path, spend=cap)
    assert all(isinstance(a, Completion) for a in out.values())
    paid = sum(half.cost(a.usage) for a in out.values() if isinstance(a, Completion))
    assert cap.spent_usd == pytest.approx(paid) and cap.reserved_usd == pytest.approx(0)
    tight = SpendCap(limit_usd=worst * 0.75, prices={key: full}, batch_prices={key: full})
    refused, _ = run(server, "openai", requests(4, start=10), tmp_path, spend=tight)
    assert any(isinstance(a, ProviderError) and "spend cap" in str(a) for a in refused.values())


def test_which_models_go_by_batch_and_at_what_price(tmp_path: Path) -> None:
    table = {
        "baseline": "openai:gpt-4.1",
        "models": ["cheap", "anthropic:claude-haiku-4-5", "groq:llama"],
        "batch": True,
        "providers": {
            "anthropic": {"batch": False},
            "groq": {"base_url": "http://x/v1"},
            "azure": {"kind": "azure-openai", "azure_endpoint": "https://x.openai.azure.com",
                      "api_version": "2024-10-21", "batch": True},
        },
        "aliases": {
            "cheap": {"model": "openai:gpt-4.1-mini", "batch": False,
                      "price": {"input": 1.0, "output": 3.0}},
        },
    }  # fmt: skip
    settings = load_settings("pyproject.toml", table, Overrides(), tmp_path)
    base, cheap, claude, groq = settings.models
    assert [settings.batched(m) for m in settings.models] == [True, False, False, True]
    assert claude.provider.kind == "anthropic"  # declared without kind: the built-in's kind
    python = ModelSpec("python:m:f", ProviderSpec("python", "python"), "m:f")
    assert not settings.batched(python)  # no batch API: an ordinary call
    for cloud in ("bedrock:claude-x", "gemini:gemini-2.5-flash", "azure:gpt-4o"):
        assert not settings.batched(settings.resolve(cloud))  # their batch jobs differ
    assert base.price is not None and base.batch_price == table_price("openai", "gpt-4.1", "batch")
    assert base.batch_price is not None and base.batch_price.input < base.price.input
    assert cheap.batch_price == Price(0.5, 1.5)  # an alias's own price: the 50% discount
    assert groq.batch_price is None  # no price, no batch price
    usage = Usage(input_tokens=1_000_000, output_tokens=0)
    assert cheap.cost_of(usage, batch=True) == pytest.approx(cheap.cost_of(usage) / 2)  # type: ignore[operator]
    flag = load_settings(
        "pyproject.toml", {**table, "batch": False}, Overrides(batch=True), tmp_path
    )
    assert flag.batched(flag.models[0])


@pytest.mark.parametrize("kind", KINDS)
def test_a_missing_key_fails_each_item_with_what_to_set(
    server: LoopbackServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    monkeypatch.delenv("SIM_KEY")
    out, _ = run(server, kind, requests(2), tmp_path)
    for answer in out.values():
        assert isinstance(answer, ProviderError) and "SIM_KEY is not set" in str(answer)
    assert loopback_batch.service_of(server).created == 0
    assert not batch_state.path_of(tmp_path).exists()


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_a_batch_cancelled_meanwhile_is_collected_and_its_items_sent_again(
    server: LoopbackServer, tmp_path: Path, kind: str
) -> None:
    import anthropic
    import openai

    service = loopback_batch.service_of(server)
    service.plan = BatchPlan(polls=1_000_000)
    todo = requests(3)
    run(server, kind, todo, tmp_path, wait_s=0.0)
    (saved,) = batch_state.load(tmp_path)
    if kind == "openai":  # someone cancels it in the provider's console
        openai.OpenAI(base_url=server.openai_base_url, api_key="k").batches.cancel(saved.id)
    else:
        client = anthropic.Anthropic(base_url=server.anthropic_base_url, api_key="k")
        client.messages.batches.cancel(saved.id)
    service.plan = BatchPlan(polls=1)
    out, _ = run(server, kind, todo, tmp_path)
    assert service.created == 2  # the cancelled items went in a new batch
    assert all(isinstance(a, Completion) for a in out.values()) and len(out) == 3


@pytest.mark.parametrize("kind", KINDS)
def test_a_result_echoing_the_key_is_stored_without_it(
    server: LoopbackServer, tmp_path: Path, kind: str
) -> None:
    secret = os.environ["SIM_KEY"]
    server.responder = lambda call: Reply(f"your key is {secret}")
    (request,) = requests(1)
    out, _ = run(server, kind, [request], tmp_path)
    answer = out[request.key()]
    assert isinstance(answer, Completion) and answer.text.startswith("your key is ")
    assert secret not in answer.text
    assert secret not in "".join(p.read_text() for p in tmp_path.rglob("*.json"))


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_a_lost_answer_to_a_create_finds_the_batch_never_resubmits(
    server: LoopbackServer, tmp_path: Path, kind: str
) -> None:
    service = loopback_batch.service_of(server)
    service.plan = BatchPlan(polls=1, lose_creates=1)  # created, then the connection dropped
    out, _ = run(server, kind, requests(3), tmp_path)
    assert service.created == 1
    assert all(isinstance(a, Completion) for a in out.values()) and len(out) == 3


def submitting(tmp_path: Path, keys: list[str], tag: str, when: float) -> None:
    """The saved list of a run killed after asking for a batch, before hearing back."""
    entry = batch_state.SavedBatch("sim", tag, tuple(keys), when, submitting=True)
    batch_state.save(tmp_path, [entry])


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_a_batch_a_killed_run_was_submitting_is_collected_not_resubmitted(
    server: LoopbackServer, tmp_path: Path, kind: str
) -> None:
    todo = requests(3)
    tag = "0123abcd"
    api = batch_api.batch_api(provider(server, kind))  # type: ignore[arg-type]
    assert api is not None

    async def create() -> None:  # what the killed run's create did
        await api.submit([api.line(r) for r in todo], tag)

    started = time.time()
    asyncio.run(create())
    submitting(tmp_path, [r.key() for r in todo], tag, started)
    lines: list[str] = []
    out, _ = run(server, kind, todo, tmp_path, lines)
    service = loopback_batch.service_of(server)
    assert service.created == 1 and all(isinstance(a, Completion) for a in out.values())
    assert any("was being submitted when an earlier run stopped" in line for line in lines)


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_a_batch_a_killed_run_never_got_to_submit_is_sent_now(
    server: LoopbackServer, tmp_path: Path, kind: str
) -> None:
    todo = requests(3)
    submitting(tmp_path, [r.key() for r in todo], "feedc0de", 1.0)
    lines: list[str] = []
    out, _ = run(server, kind, todo, tmp_path, lines)
    assert loopback_batch.service_of(server).created == 1
    assert all(isinstance(a, Completion) for a in out.values())
    assert any("never reached a batch: sending them now" in line for line in lines)


def test_two_anthropic_batches_that_fit_are_never_guessed_between(
    server: LoopbackServer, tmp_path: Path
) -> None:
    todo = requests(2)
    api = batch_api.batch_api(provider(server, "anthropic"))  # type: ignore[arg-type]
    assert api is not None
    started = time.time()

    async def create_twice() -> None:
        for _ in range(2):
            await api.submit([api.line(r) for r in todo], "t")

    asyncio.run(create_twice())
    submitting(tmp_path, [r.key() for r in todo], "cafe0001", started)
    out, _ = run(server, "anthropic", todo, tmp_path)
    assert loopback_batch.service_of(server).created == 2  # nothing more
    for answer in out.values():
        assert isinstance(answer, ProviderError) and "cannot be told" in str(answer)
        assert "cafe0001" in str(answer)
    (entry,) = batch_state.load(tmp_path)
    assert entry.submitting and entry.id == "cafe0001"
