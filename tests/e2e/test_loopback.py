"""The loopback server speaks both wire formats well enough for the unmodified SDKs."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pytest
from anthropic.types import Message
from loopback import Call, Fault, LoopbackServer, Reply, fail_first, fail_rate
from openai.types.chat import ChatCompletion
from paths import TESTS

KEY = "sk-loopback-test-key"


def user(prompt: str) -> list[Any]:
    return [{"role": "user", "content": prompt}]


@pytest.fixture
def srv() -> Iterator[LoopbackServer]:
    with LoopbackServer() as server:
        yield server


def oai(srv: LoopbackServer, timeout: float = 5.0) -> openai.OpenAI:
    return openai.OpenAI(base_url=srv.openai_base_url, api_key=KEY, max_retries=0, timeout=timeout)


def ant(srv: LoopbackServer, timeout: float = 5.0) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=srv.anthropic_base_url, api_key=KEY, max_retries=0, timeout=timeout
    )


def ask_openai(client: openai.OpenAI, prompt: str = "hi", model: str = "gpt-x") -> ChatCompletion:
    return client.chat.completions.create(model=model, messages=user(prompt))


def ask_anthropic(client: anthropic.Anthropic, prompt: str = "hello") -> Message:
    return client.messages.create(
        model="claude-x", max_tokens=50, messages=[{"role": "user", "content": prompt}]
    )


def test_openai_response_shape_and_usage(srv: LoopbackServer) -> None:
    srv.responder = lambda call: Reply(
        "four", input_tokens=30, output_tokens=9, cached_tokens=20, reasoning_tokens=7
    )
    response = oai(srv).chat.completions.create(
        model="gpt-x",
        messages=[{"role": "system", "content": "be terse"}, {"role": "user", "content": "2+2?"}],
        temperature=0,
    )
    assert response.object == "chat.completion" and response.id.startswith("chatcmpl")
    assert response.model == "gpt-x"
    assert response.choices[0].message.content == "four"
    assert response.choices[0].finish_reason == "stop"
    usage = response.usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (30, 9, 39)
    assert usage.prompt_tokens_details and usage.prompt_tokens_details.cached_tokens == 20
    assert usage.completion_tokens_details
    assert usage.completion_tokens_details.reasoning_tokens == 7
    call = srv.calls[0]
    assert call.wire == "openai" and call.system == "be terse" and call.prompt == "2+2?"
    assert call.params == {"temperature": 0}


def test_anthropic_response_shape_and_cache_usage(srv: LoopbackServer) -> None:
    srv.responder = lambda call: Reply(
        "hi",
        input_tokens=100,
        output_tokens=2,
        cached_tokens=60,
        cache_write_tokens=30,
        finish_reason="length",
    )
    message = ant(srv).messages.create(
        model="claude-x",
        max_tokens=5,
        system="sys prompt",
        messages=[{"role": "user", "content": [{"type": "text", "text": "hey"}]}],
    )
    assert message.type == "message" and message.role == "assistant"
    assert [(b.type, getattr(b, "text", None)) for b in message.content] == [("text", "hi")]
    assert message.stop_reason == "max_tokens"
    assert message.usage.input_tokens == 10
    assert message.usage.cache_read_input_tokens == 60
    assert message.usage.cache_creation_input_tokens == 30
    assert message.usage.output_tokens == 2
    call = srv.calls[0]
    assert (call.wire, call.system, call.prompt) == ("anthropic", "sys prompt", "hey")
    assert call.params == {"max_tokens": 5}


def test_default_responder_echoes_and_estimates_tokens(srv: LoopbackServer) -> None:
    response = ask_openai(oai(srv), "one two three")
    assert response.choices[0].message.content == "echo gpt-x: one two three"
    assert response.usage is not None
    assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (3 + 4, 5)


def test_responder_scripts_answers_per_model_and_prompt(srv: LoopbackServer) -> None:
    answers = {("a", "q1"): "A1", ("b", "q1"): "B1"}
    srv.responder = lambda call: answers.get((call.model, call.prompt), "?")
    client = oai(srv)
    pairs = [("a", "q1"), ("b", "q1"), ("a", "q2")]
    got = [ask_openai(client, p, m).choices[0].message.content for m, p in pairs]
    assert got == ["A1", "B1", "?"]
    assert srv.count() == 3 and srv.count(model="a") == 2 and srv.count(prompt="q1") == 2


def test_auth_headers_are_seen(srv: LoopbackServer) -> None:
    ask_openai(oai(srv))
    ask_anthropic(ant(srv))
    assert srv.keys_seen() == {KEY}
    assert srv.calls[0].headers["authorization"] == f"Bearer {KEY}"
    anthropic_auth = srv.calls[1].headers
    assert KEY in (anthropic_auth.get("x-api-key"), anthropic_auth.get("authorization", "")[7:])


def test_openai_streaming_with_usage(srv: LoopbackServer) -> None:
    srv.responder = lambda call: Reply("  streamed answer here ", reasoning_tokens=1)
    stream = oai(srv).chat.completions.create(
        model="gpt-x",
        messages=user("go"),
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "  streamed answer here "
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 3
    assert len(chunks) > 4


def test_anthropic_streaming(srv: LoopbackServer) -> None:
    srv.responder = lambda call: Reply("a streamed reply", input_tokens=12, cached_tokens=4)
    with ant(srv).messages.stream(model="claude-x", max_tokens=50, messages=user("go")) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert len(pieces) == 3 and "".join(pieces) == "a streamed reply"
    assert final.content[0].text == "a streamed reply"  # type: ignore[union-attr]
    assert final.stop_reason == "end_turn"
    assert (final.usage.input_tokens, final.usage.cache_read_input_tokens) == (8, 4)
    assert final.usage.output_tokens == 3


def test_keep_alive_connection_serves_many_requests(srv: LoopbackServer) -> None:
    client, aclient = oai(srv), ant(srv)
    for i in range(10):
        ask_openai(client, f"p{i}")
        ask_anthropic(aclient, f"p{i}")
    assert srv.count() == 20 and srv.connections == 2


def test_rate_limit_fault_carries_retry_after(srv: LoopbackServer) -> None:
    srv.faults = fail_first(1, Fault.http(429, retry_after=7))
    with pytest.raises(openai.RateLimitError) as info:
        ask_openai(oai(srv))
    assert info.value.response.headers["retry-after"] == "7"
    assert ask_openai(oai(srv)) is not None
    srv.faults = fail_first(1, Fault.http(429, retry_after_ms=250))
    with pytest.raises(anthropic.RateLimitError) as ainfo:
        ask_anthropic(ant(srv), "other")
    assert ainfo.value.response.headers["retry-after-ms"] == "250"


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors(srv: LoopbackServer, status: int) -> None:
    srv.faults = fail_first(1, Fault.http(status))
    with pytest.raises(openai.InternalServerError) as info:
        ask_openai(oai(srv))
    assert info.value.status_code == status
    with pytest.raises(anthropic.InternalServerError):
        ask_anthropic(ant(srv), "fresh prompt")


def test_reset_is_a_connection_error_not_a_timeout(srv: LoopbackServer) -> None:
    srv.faults = fail_first(1, Fault.reset())
    with pytest.raises(openai.APIConnectionError) as info:
        ask_openai(oai(srv))
    assert not isinstance(info.value, openai.APITimeoutError)
    assert ask_openai(oai(srv)) is not None


def test_hang_times_out_on_the_client(srv: LoopbackServer) -> None:
    srv.faults = fail_first(1, Fault.hang())
    started = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        ask_openai(oai(srv, timeout=0.2))
    assert time.monotonic() - started < 2


def test_malformed_body_is_unreadable_json(srv: LoopbackServer) -> None:
    srv.faults = fail_first(1, Fault.malformed())
    with pytest.raises(ValueError):
        ask_openai(oai(srv))


def test_fault_plans_count_per_model_and_prompt(srv: LoopbackServer) -> None:
    srv.faults = fail_first(2, Fault.http(503), prompt="flaky")
    client = oai(srv)
    outcomes = []
    for _ in range(3):
        try:
            ask_openai(client, "flaky")
            outcomes.append("ok")
        except openai.InternalServerError:
            outcomes.append("503")
    assert outcomes == ["503", "503", "ok"]
    assert ask_openai(client, "steady") is not None
    assert srv.count(prompt="flaky") == 3


def test_fault_rate_is_seeded_and_order_independent() -> None:
    plan = fail_rate(0.3, Fault.reset(), seed=4)
    calls = [
        Call("openai", "m", ({"role": "user", "content": f"p{i}"},), {}, {}) for i in range(400)
    ]
    first = [plan(c, 0) is not None for c in calls]
    again = [plan(c, 0) is not None for c in reversed(calls)][::-1]
    assert first == again
    assert 0.2 < sum(first) / len(first) < 0.4
    other = [fail_rate(0.3, Fault.reset(), seed=5)(c, 0) is not None for c in calls]
    assert other != first


def test_unknown_route_is_404_and_bad_json_is_400(srv: LoopbackServer) -> None:
    client = openai.OpenAI(base_url=srv.url + "/v2", api_key=KEY, max_retries=0)
    with pytest.raises(openai.NotFoundError):
        ask_openai(client)
    bad = urllib.request.Request(srv.openai_base_url + "/chat/completions", data=b"{oops")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(bad, timeout=5)
    assert info.value.code == 400 and b"invalid_request_error" in info.value.read()


def test_responder_can_pick_latency_and_fault_per_reply(srv: LoopbackServer) -> None:
    def responder(call: Call) -> Reply:
        if call.prompt == "slow":
            return Reply("late", latency_s=0.3)
        return Reply("", fault=Fault.http(503)) if call.prompt == "down" else Reply("fast")

    srv.responder = responder
    client = oai(srv)
    started = time.monotonic()
    assert ask_openai(client, "quick").choices[0].message.content == "fast"
    quick = time.monotonic() - started
    assert ask_openai(client, "slow").choices[0].message.content == "late"
    slow = time.monotonic() - started - quick
    assert slow >= 0.3 and quick < slow
    with pytest.raises(openai.InternalServerError):
        ask_openai(client, "down")


def test_sixty_four_concurrent_keep_alive_connections(srv: LoopbackServer) -> None:
    srv.latency_s = 0.2

    async def run() -> None:
        # The SDK's pool drops a connection idle for 5 s: on a loaded machine the first
        # wave can take longer than that to finish, and the second would open new ones.
        # Its HTTP stack is httpx2 in newer SDKs, httpx in older ones.
        make_client: Any = getattr(openai, "DefaultAsyncHttpx2Client", None)
        if make_client is not None:
            import httpx2 as http
        else:
            import httpx as http

            make_client = openai.DefaultAsyncHttpxClient
        limits = http.Limits(
            max_connections=1000, max_keepalive_connections=100, keepalive_expiry=60
        )
        client = openai.AsyncOpenAI(
            base_url=srv.openai_base_url,
            api_key=KEY,
            max_retries=0,
            http_client=make_client(limits=limits),
        )
        for _ in range(2):  # the second wave reuses the 64 kept-alive connections
            await asyncio.gather(
                *(client.chat.completions.create(model="m", messages=user("x")) for _ in range(64))
            )
        await client.close()

    asyncio.run(run())
    # all 64 at once (each held 0.2 s on the server), then the same 64 connections again
    assert srv.max_in_flight == 64 and srv.count() == 128 and srv.connections == 64


def test_runs_as_a_separate_process() -> None:
    script = TESTS / "loopback.py"
    proc = subprocess.Popen(
        [sys.executable, str(script), "--port", "0", "--latency", "0.01"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        client = openai.OpenAI(base_url=url + "/v1", api_key=KEY, max_retries=0, timeout=5)
        answer = ask_openai(client, "ping", "gpt-y")
        assert answer.choices[0].message.content == "echo gpt-y: ping"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
