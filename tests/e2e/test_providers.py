"""OpenAI, Anthropic and Python providers against the loopback server."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from loopback import Fault, LoopbackServer, Reply, fail_first

from pytest_modelguard.engine.providers import make_provider, parse_retry_after
from pytest_modelguard.engine.providers.anthropic import AnthropicProvider
from pytest_modelguard.engine.providers.openai import OpenAIProvider
from pytest_modelguard.engine.providers.python import PythonProvider
from pytest_modelguard.records.calls import Completion, ProviderError, Request, Usage

KEY_ENV = "MODELGUARD_TEST_LOOPBACK_KEY"
KEY = "sk-test-secret-do-not-store"
SDK_KINDS = ["openai", "openai-responses", "anthropic"]


@pytest.fixture
def srv(monkeypatch: pytest.MonkeyPatch) -> Iterator[LoopbackServer]:
    monkeypatch.setenv(KEY_ENV, KEY)
    with LoopbackServer() as server:
        yield server


def provider_for(kind: str, srv: LoopbackServer, timeout_s: float = 5.0) -> Any:
    if kind.startswith("openai"):
        return make_provider(kind, kind, srv.openai_base_url, KEY_ENV, timeout_s=timeout_s)
    return AnthropicProvider(
        "anthropic", base_url=srv.anthropic_base_url, api_key_env=KEY_ENV, timeout_s=timeout_s
    )


def request(kind: str, prompt: str = "hello", system: str | None = None, **params: Any) -> Request:
    messages = ({"role": "system", "content": system},) if system else ()
    return Request(kind, "model-x", (*messages, {"role": "user", "content": prompt}), params)


def complete(provider: Any, req: Request) -> Completion:
    async def run() -> Completion:
        try:
            return await provider.complete(req)  # type: ignore[no-any-return]
        finally:
            await provider.aclose()

    return asyncio.run(run())


def error_of(provider: Any, req: Request) -> ProviderError:
    with pytest.raises(ProviderError) as info:
        complete(provider, req)
    return info.value


@pytest.mark.parametrize("kind", SDK_KINDS)
def test_text_usage_latency_and_finish_reason(srv: LoopbackServer, kind: str) -> None:
    srv.latency_s = 0.05
    srv.responder = lambda call: Reply(
        f"answer to {call.prompt}",
        input_tokens=50,
        output_tokens=12,
        cached_tokens=30,
        reasoning_tokens=4,
    )
    done = complete(provider_for(kind, srv), request(kind, "q1"))
    assert done.text == "answer to q1"
    assert done.model == "model-x"
    assert done.finish_reason == ("end_turn" if kind == "anthropic" else "stop")
    assert done.usage.input_tokens == 50 and done.usage.output_tokens == 12
    assert done.usage.cached_input_tokens == 30
    assert done.usage.reasoning_tokens == (0 if kind == "anthropic" else 4)
    assert 0.05 <= done.latency_s < 2


def test_anthropic_usage_counts_cache_reads_and_writes_as_input(srv: LoopbackServer) -> None:
    srv.responder = lambda call: Reply(
        "ok", input_tokens=100, cached_tokens=60, cache_write_tokens=25, output_tokens=3
    )
    done = complete(provider_for("anthropic", srv), request("anthropic"))
    assert done.usage == Usage(
        input_tokens=100, output_tokens=3, cached_input_tokens=60, cache_write_tokens=25
    )


def test_openai_params_and_system_go_through(srv: LoopbackServer) -> None:
    complete(
        provider_for("openai", srv),
        request("openai", "hi", system="be brief", temperature=0, max_tokens=5, seed=3),
    )
    call = srv.calls[0]
    assert call.params == {"temperature": 0, "max_tokens": 5, "seed": 3}
    assert [m["role"] for m in call.messages] == ["system", "user"]


def test_anthropic_system_goes_to_system_and_max_tokens_defaults(srv: LoopbackServer) -> None:
    provider = provider_for("anthropic", srv)
    complete(provider, request("anthropic", "hi", system="be brief", temperature=0))
    complete(provider, request("anthropic", "hi", max_tokens=7))
    first, second = srv.calls
    assert first.system == "be brief" and [m["role"] for m in first.messages] == ["system", "user"]
    assert first.params == {"max_tokens": 1024, "temperature": 0}
    assert second.system is None and second.params == {"max_tokens": 7}


@pytest.mark.parametrize("kind", SDK_KINDS)
def test_key_is_read_from_env_only_when_calling(
    srv: LoopbackServer, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_ENV)
    provider = provider_for(kind, srv)  # building it needs no key
    error = error_of(provider, request(kind))
    assert not error.transient and KEY_ENV in str(error)
    assert srv.count() == 0


@pytest.mark.parametrize("kind", SDK_KINDS)
def test_key_is_sent_but_not_in_errors(srv: LoopbackServer, kind: str) -> None:
    srv.faults = fail_first(1, Fault.http(401))
    error = error_of(provider_for(kind, srv), request(kind))
    assert srv.keys_seen() == {KEY}
    assert KEY not in str(error) and KEY not in repr(error.__dict__)
    assert error.__cause__ is None and error.__context__ is None
    assert KEY_ENV in str(error) and error.status == 401 and not error.transient


@pytest.mark.parametrize("kind", SDK_KINDS)
@pytest.mark.parametrize(
    ("fault", "transient", "retry_after"),
    [
        (Fault.http(429, retry_after=7), True, 7.0),
        (Fault.http(429, retry_after_ms=250, retry_after=9), True, 0.25),
        (Fault.http(408), True, None),
        (Fault.http(409), True, None),
        (Fault.http(500), True, None),
        (Fault.http(503, retry_after="2"), True, 2.0),
        (Fault.http(529), True, None),
        (Fault.http(400), False, None),
        (Fault.http(403), False, None),
        (Fault.http(404), False, None),
        (Fault.http(422), False, None),
    ],
)
def test_status_errors_map_to_transient_or_permanent(
    srv: LoopbackServer, kind: str, fault: Fault, transient: bool, retry_after: float | None
) -> None:
    srv.faults = fail_first(1, fault)
    error = error_of(provider_for(kind, srv), request(kind))
    assert error.status == fault.status
    assert error.transient is transient
    assert error.retry_after == retry_after
    assert f"{kind}:model-x" in str(error) and str(fault.status) in str(error)


@pytest.mark.parametrize("kind", SDK_KINDS)
def test_reset_and_hang_are_transient(srv: LoopbackServer, kind: str) -> None:
    srv.faults = fail_first(1, Fault.reset(), prompt="reset")
    reset = error_of(provider_for(kind, srv), request(kind, "reset"))
    assert reset.transient and reset.status is None and "connection" in str(reset)
    srv.faults = fail_first(1, Fault.hang(), prompt="hang")
    hang = error_of(provider_for(kind, srv, timeout_s=0.2), request(kind, "hang"))
    assert hang.transient and "timed out after 0.2s" in str(hang)


@pytest.mark.parametrize("kind", SDK_KINDS)
def test_malformed_body_is_permanent_and_clear(srv: LoopbackServer, kind: str) -> None:
    srv.faults = fail_first(1, Fault.malformed())
    error = error_of(provider_for(kind, srv), request(kind))
    assert not error.transient and "malformed response" in str(error)


@pytest.mark.parametrize("kind", SDK_KINDS)
def test_provider_survives_a_new_event_loop(srv: LoopbackServer, kind: str) -> None:
    provider = provider_for(kind, srv)
    assert asyncio.run(provider.complete(request(kind, "one"))).text.endswith("one")
    assert asyncio.run(provider.complete(request(kind, "two"))).text.endswith("two")


def test_anthropic_messages_carry_role_and_content_only(srv: LoopbackServer) -> None:
    named = Request("anthropic", "model-x", ({"role": "user", "content": "hi", "name": "ann"},))
    assert complete(provider_for("anthropic", srv), named).text == "echo model-x: hi"


@pytest.mark.parametrize("kind", SDK_KINDS)
def test_unreachable_endpoint_is_transient_and_names_it(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    with LoopbackServer() as closed:
        url = closed.anthropic_base_url if kind == "anthropic" else closed.openai_base_url
    error = error_of(make_provider(kind, kind, url, KEY_ENV), request(kind))
    assert error.transient and f"check that {url} is reachable" in str(error)


def test_parse_retry_after_forms() -> None:
    assert parse_retry_after({"retry-after": "3"}) == 3.0
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None
    in_past = parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"})
    assert in_past == 0.0


def test_make_provider_kinds_and_key_envs() -> None:
    openai_p = make_provider("openai", "openai", None, None)
    groq = make_provider("openai", "groq", "https://api.groq.example/v1", None)
    claude = make_provider("anthropic", "anthropic", None, None)
    custom = make_provider("openai", "local", "http://127.0.0.1:1/v1", "MY_KEY", timeout_s=3)
    assert isinstance(openai_p, OpenAIProvider) and openai_p.api_key_env == "OPENAI_API_KEY"
    assert isinstance(groq, OpenAIProvider) and groq.api_key_env == "GROQ_API_KEY"
    assert isinstance(claude, AnthropicProvider) and claude.api_key_env == "ANTHROPIC_API_KEY"
    assert isinstance(custom, OpenAIProvider) and custom.api_key_env == "MY_KEY"
    assert custom.timeout_s == 3 and custom.base_url == "http://127.0.0.1:1/v1"
    assert isinstance(make_provider("python", "python", None, None), PythonProvider)
    with pytest.raises(ValueError, match="unknown provider kind 'watsonx'"):
        make_provider("watsonx", "w", None, None)


# --- python provider: the functions below are the "models" ---

CALLED_FROM: list[str] = []


def sync_pipeline(req: Request) -> str:
    CALLED_FROM.append(threading.current_thread().name)
    return f"sync:{req.messages[-1]['content']}"


async def async_pipeline(req: Request) -> Completion:
    await asyncio.sleep(0.02)
    return Completion("async", Usage(input_tokens=5, output_tokens=1), latency_s=99.0)


def dict_pipeline(req: Request) -> dict[str, Any]:
    return {
        "text": "from dict",
        "usage": {"input_tokens": 3, "output_tokens": 2},
        "finish_reason": "stop",
    }


def failing_pipeline(req: Request) -> str:
    raise KeyError("no such customer")


def flaky_pipeline(req: Request) -> str:
    raise ProviderError("upstream busy", transient=True, status=503)


def number_pipeline(req: Request) -> int:
    return 42


NOT_CALLABLE = "just a string"


def python_request(function: str) -> Request:
    return Request("python", f"{__name__}:{function}", ({"role": "user", "content": "ping"},))


def test_python_sync_function_runs_in_a_thread() -> None:
    done = complete(PythonProvider(), python_request("sync_pipeline"))
    assert done.text == "sync:ping" and done.model == f"{__name__}:sync_pipeline"
    assert CALLED_FROM[-1] != threading.main_thread().name


def test_python_async_function_returning_completion_is_timed() -> None:
    done = complete(PythonProvider(), python_request("async_pipeline"))
    assert done.text == "async" and done.usage.input_tokens == 5
    assert 0.02 <= done.latency_s < 5


def test_python_dict_return() -> None:
    done = complete(PythonProvider(), python_request("dict_pipeline"))
    assert (done.text, done.usage.output_tokens, done.finish_reason) == ("from dict", 2, "stop")


def test_python_exception_is_permanent_with_type_and_message() -> None:
    error = error_of(PythonProvider(), python_request("failing_pipeline"))
    assert not error.transient
    assert "KeyError" in str(error) and "no such customer" in str(error)
    assert "failing_pipeline" in str(error)


def test_python_provider_error_keeps_its_transient_flag() -> None:
    error = error_of(PythonProvider(), python_request("flaky_pipeline"))
    assert error.transient and error.status == 503


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("no_colon_here", "expected python:package.module:function"),
        ("not_a_real_module_xyz:fn", "cannot import not_a_real_module_xyz:fn"),
        (f"{__name__}:missing_function", f"cannot import {__name__}:missing_function"),
        (f"{__name__}:NOT_CALLABLE", "is not callable"),
        (f"{__name__}:number_pipeline", "returned int; return a str, a Completion"),
    ],
)
def test_python_bad_references_and_returns_are_clear(model: str, message: str) -> None:
    req = Request("python", model, ({"role": "user", "content": "x"},))
    error = error_of(PythonProvider(), req)
    assert message in str(error) and not error.transient


def test_responses_kind_rewrites_history_tools_and_response_format(srv: LoopbackServer) -> None:
    from pytest_modelguard.engine.providers.responses import responses_input

    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    history = (
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "weather in Oslo?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function",
             "function": {"name": "get_weather", "arguments": {"city": "Oslo"}}},
        ]},
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
        {"role": "user", "content": "and now?"},
    )  # fmt: skip
    assert responses_input(history)[2:4] == [
        {"type": "function_call", "call_id": "c1", "name": "get_weather",
         "arguments": '{"city": "Oslo"}'},
        {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
    ]  # fmt: skip
    params = {
        "max_tokens": 50,
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "n", "schema": schema, "strict": True},
        },
    }
    done = complete(
        provider_for("openai-responses", srv), Request("openai-responses", "m", history, params)
    )
    assert done.text == "echo m: and now?"
    sent = srv.calls[0]
    assert sent.path == "/v1/responses"
    assert sent.params["max_output_tokens"] == 50
    assert sent.params["tool_choice"] == {"type": "function", "name": "get_weather"}
    assert sent.params["text"] == {
        "format": {"type": "json_schema", "name": "n", "schema": schema, "strict": True}
    }
    assert [m["role"] for m in sent.messages] == ["system", "user", "user"]


def test_anthropic_gets_response_format_as_output_config(srv: LoopbackServer) -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    fmt = {"type": "json_schema", "json_schema": {"name": "n", "schema": schema, "strict": True}}
    complete(provider_for("anthropic", srv), request("anthropic", "hi", response_format=fmt))
    assert srv.calls[0].params["output_config"] == {
        "format": {"type": "json_schema", "schema": schema}
    }
    assert "response_format" not in srv.calls[0].params


def test_json_object_for_anthropic_fails_collection_naming_file_line_and_key(
    pytester: pytest.Pytester,
) -> None:
    pytester.makefile(
        ".toml",
        pyproject='[tool.modelguard]\nbaseline = "anthropic:claude-x"\nmodels = []\n',
    )
    pytester.makefile(
        ".modelguard.yaml",
        fmt=(
            "cases:\n  - id: a\n    prompt: hi\n    graders: [json_valid]\n"
            "    response_format: {type: json_object}\n"
        ),
    )
    result = pytester.runpytest("--collect-only")
    result.stdout.fnmatch_lines(
        ["*fmt.modelguard.yaml:2: case 'a': response_format: *json_object* has no Anthropic*"]
    )
    assert result.ret != pytest.ExitCode.OK
