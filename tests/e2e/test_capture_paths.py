"""Capture's other SDK paths, sync and async, over HTTP against the loopback server:
``chat.completions.parse``, ``with_streaming_response``, ``responses.create`` (+ streams),
Anthropic's ``messages.parse`` and structured streams, and tool calls recorded from streams."""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
from loopback import LoopbackServer
from weather import Weather, respond
from weather import recorded as traces

from pytest_modelguard.capture import capture
from pytest_modelguard.capture.export import case_of
from pytest_modelguard.capture.store import open_store

KEY = "sk-capture-paths-key-1"
CITY = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
TOOL = {"type": "function", "function": {"name": "get_weather", "parameters": CITY}}
FLAT_TOOL = {"type": "function", **TOOL["function"]}  # the Responses API's form


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(respond) as srv:
        yield srv


def user(text: str) -> list[Any]:
    return [{"role": "user", "content": text}]


@pytest.mark.parametrize("is_async", [False, True])
def test_parse_and_streaming_response_are_recorded(
    server: LoopbackServer, tmp_path: Path, is_async: bool
) -> None:
    store = open_store(tmp_path / "t.db")
    cls = openai.AsyncOpenAI if is_async else openai.OpenAI
    client: Any = capture(cls(base_url=server.openai_base_url, api_key=KEY), db=store)
    completions = client.chat.completions

    async def run_async() -> list[Any]:
        parsed = await completions.parse(model="m", messages=user("w"), response_format=Weather)
        async with completions.with_streaming_response.create(
            model="m", messages=user("plain")
        ) as response:
            body = await response.parse()
        async with completions.with_streaming_response.create(
            model="m", messages=user("streamed"), stream=True
        ) as response:
            chunks = [c async for c in await response.parse()]
        await client.close()
        return [parsed, body, chunks]

    if is_async:
        parsed, body, chunks = asyncio.run(run_async())
    else:
        parsed = completions.parse(model="m", messages=user("w"), response_format=Weather)
        with completions.with_streaming_response.create(
            model="m", messages=user("plain")
        ) as response:
            body = response.parse()
        with completions.with_streaming_response.create(
            model="m", messages=user("streamed"), stream=True
        ) as response:
            chunks = list(response.parse())
    assert parsed.choices[0].message.parsed == Weather(city="Oslo", temp_c=3)
    assert body.choices[0].message.content == "echo plain" and chunks
    first, second, third = traces(store, tmp_path / "t.db")
    schema = first.params["response_format"]
    assert schema["type"] == "json_schema" and schema["json_schema"]["name"] == "Weather"
    assert schema["json_schema"]["strict"] is True
    assert json.loads(first.output or "") == {"city": "Oslo", "temp_c": 3}
    assert (second.output, second.stream) == ("echo plain", False)
    assert (third.output, third.stream, third.error) == ("echo streamed", True, None)
    assert KEY not in (tmp_path / "t.db").read_bytes().decode("latin-1")


@pytest.mark.parametrize("is_async", [False, True])
def test_responses_create_stream_and_parse_are_recorded_in_chat_form(
    server: LoopbackServer, tmp_path: Path, is_async: bool
) -> None:
    store = open_store(tmp_path / "r.db")
    cls = openai.AsyncOpenAI if is_async else openai.OpenAI
    client: Any = capture(cls(base_url=server.openai_base_url, api_key=KEY), db=store)
    responses = client.responses
    history = [
        {"role": "user", "content": "weather?"},
        {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
        {"role": "user", "content": [{"type": "input_text", "text": "thanks"}]},
    ]

    async def run_async() -> list[Any]:
        made = await responses.create(model="m", input="weather in Oslo?", tools=[FLAT_TOOL])
        stream = await responses.create(
            model="m", instructions="be brief", input=history, stream=True,
            max_output_tokens=40,
        )  # fmt: skip
        events = [e async for e in stream]
        async with responses.stream(model="m", input="managed") as managed:
            text = (await managed.get_final_response()).output_text
        parsed = await responses.parse(model="m", input="w", text_format=Weather)
        await client.close()
        return [made, events, text, parsed]

    if is_async:
        made, events, text, parsed = asyncio.run(run_async())
    else:
        made = responses.create(model="m", input="weather in Oslo?", tools=[FLAT_TOOL])
        events = list(
            responses.create(
                model="m", instructions="be brief", input=history, stream=True,
                max_output_tokens=40,
            )
        )  # fmt: skip
        with responses.stream(model="m", input="managed") as managed:
            text = managed.get_final_response().output_text
        parsed = responses.parse(model="m", input="w", text_format=Weather)
    assert made.output[0].name == "get_weather" and events[-1].type == "response.completed"
    assert text == "echo managed" and parsed.output_parsed == Weather(city="Oslo", temp_c=3)
    tools, streamed, managed_trace, parsed_trace = traces(store, tmp_path / "r.db")
    assert tools.provider == "openai" and tools.messages == (
        {"role": "user", "content": "weather in Oslo?"},
    )
    assert tools.params["tools"] == [TOOL]  # written as suites write them
    assert tools.tool_calls == (
        {"id": "call_0", "name": "get_weather", "arguments": {"city": "Oslo"}},
    )
    assert tools.finish_reason == "tool_calls" and tools.usage is not None
    assert streamed.stream and streamed.output == "echo thanks" and streamed.error is None
    assert streamed.params == {"max_tokens": 40}
    assert streamed.messages == (
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
        ]},
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
        {"role": "user", "content": "thanks"},
    )  # fmt: skip
    assert streamed.usage is not None and streamed.usage.input_tokens > 0
    assert managed_trace.stream and managed_trace.output == "echo managed"
    assert parsed_trace.params["response_format"]["json_schema"]["name"] == "Weather"


def test_tool_calls_are_recorded_from_streams(server: LoopbackServer, tmp_path: Path) -> None:
    store = open_store(tmp_path / "s.db")
    oai: Any = capture(openai.OpenAI(base_url=server.openai_base_url, api_key=KEY), db=store)
    chunks = list(
        oai.chat.completions.create(
            model="m", messages=user("weather"), tools=[TOOL], stream=True,
            stream_options={"include_usage": True},
        )
    )  # fmt: skip
    assert chunks
    claude: Any = capture(
        anthropic.Anthropic(base_url=server.anthropic_base_url, api_key=KEY), db=store
    )
    tool = {"name": "get_weather", "input_schema": TOOL["function"]["parameters"]}
    with claude.messages.stream(
        model="m", max_tokens=50, messages=user("weather"), tools=[tool]
    ) as stream:
        final = stream.get_final_message()
    assert final.content[-1].type == "tool_use"
    with oai.chat.completions.stream(model="m", messages=user("weather"), tools=[TOOL]) as s:
        assert s.get_final_completion().choices[0].message.tool_calls
    expected = ({"id": "call_0", "name": "get_weather", "arguments": {"city": "Oslo"}},)
    recorded = traces(store, tmp_path / "s.db")
    assert [t.stream for t in recorded] == [True, True, True]
    assert [t.tool_calls for t in recorded] == [expected] * 3
    assert all(t.error is None for t in recorded)


@pytest.mark.parametrize("is_async", [False, True])
def test_anthropic_parse_structured_stream_and_tools_are_recorded(
    server: LoopbackServer, tmp_path: Path, is_async: bool
) -> None:
    store = open_store(tmp_path / "a.db")
    cls = anthropic.AsyncAnthropic if is_async else anthropic.Anthropic
    client: Any = capture(cls(base_url=server.anthropic_base_url, api_key=KEY), db=store)
    messages = client.messages
    tool = {"name": "get_weather", "input_schema": CITY}
    ask: dict[str, Any] = {"model": "m", "max_tokens": 50, "messages": user("weather?")}

    async def run_async() -> list[Any]:
        parsed = await messages.parse(**ask, output_format=Weather)
        async with messages.stream(**ask, output_format=Weather) as stream:
            streamed = await stream.get_final_message()
        used = await messages.create(**ask, tools=[tool])
        raw = await messages.with_raw_response.create(**ask, tools=[tool])
        await client.close()
        body = raw.parse()  # a coroutine in newer SDKs (AsyncAPIResponse), at once in older
        return [parsed, streamed, used, await body if inspect.isawaitable(body) else body]

    if is_async:
        parsed, streamed, used, raw = asyncio.run(run_async())
    else:
        parsed = messages.parse(**ask, output_format=Weather)
        with messages.stream(**ask, output_format=Weather) as stream:
            streamed = stream.get_final_message()
        used = messages.create(**ask, tools=[tool])
        raw = messages.with_raw_response.create(**ask, tools=[tool]).parse()
    weather = Weather(city="Oslo", temp_c=3)
    assert parsed.parsed_output == weather and streamed.parsed_output == weather
    assert used.content[-1].type == raw.content[-1].type == "tool_use"
    recorded = traces(store, tmp_path / "a.db")
    assert [t.stream for t in recorded] == [False, True, False, False]
    sent = server.calls[0].params["output_config"]  # the schema the SDK made of Weather
    for trace in recorded[:2]:  # the request as sent, not the Python class
        assert trace.params == {"max_tokens": 50, "output_config": sent}
        assert json.loads(trace.output or "") == weather.model_dump()
    expected = ({"id": "call_0", "name": "get_weather", "arguments": {"city": "Oslo"}},)
    assert [t.tool_calls for t in recorded[2:]] == [expected, expected]
    case = case_of(recorded[0])  # exported in the form suites write, graded by its schema
    assert isinstance(case, dict)
    schema = sent["format"]["schema"]
    assert case["params"] == {
        "max_tokens": 50,
        "response_format": {
            "type": "json_schema", "json_schema": {"name": "Weather", "schema": schema},
        },
    }  # fmt: skip
    assert case["graders"][0] == {"json_schema": {"schema": schema}}


@pytest.mark.parametrize("is_async", [False, True])
def test_remaining_paths_with_tools_are_recorded(
    server: LoopbackServer, tmp_path: Path, is_async: bool
) -> None:
    """Chat Completions' stream helper, the Responses API through with_raw_response and
    with_streaming_response (a stream), and Anthropic's stream helper and
    with_streaming_response, each with tools."""
    store = open_store(tmp_path / "p.db")
    oai_cls = openai.AsyncOpenAI if is_async else openai.OpenAI
    claude_cls = anthropic.AsyncAnthropic if is_async else anthropic.Anthropic
    oai: Any = capture(oai_cls(base_url=server.openai_base_url, api_key=KEY), db=store)
    claude: Any = capture(claude_cls(base_url=server.anthropic_base_url, api_key=KEY), db=store)
    tool = {"name": "get_weather", "input_schema": CITY}
    ask: dict[str, Any] = {"model": "m", "max_tokens": 50, "messages": user("weather")}
    strict = {**CITY, "additionalProperties": False}  # openai 1.92's async helper wants it
    strict_tool = {"type": "function", "function": {**TOOL["function"], "parameters": strict,
                                                    "strict": True}}  # fmt: skip
    chat: dict[str, Any] = {"model": "m", "messages": user("weather"), "tools": [strict_tool]}

    async def run_async() -> None:
        async with oai.chat.completions.stream(**chat) as stream:
            assert (await stream.get_final_completion()).choices[0].message.tool_calls
        raw = await oai.responses.with_raw_response.create(
            model="m", input="weather", tools=[FLAT_TOOL]
        )
        assert raw.parse().output[0].type == "function_call"
        async with oai.responses.with_streaming_response.create(
            model="m", input="streamed", stream=True
        ) as response:
            assert [e async for e in await response.parse()]
        async with claude.messages.stream(**ask, tools=[tool]) as stream:
            assert (await stream.get_final_message()).content[-1].type == "tool_use"
        async with claude.messages.with_streaming_response.create(**ask, tools=[tool]) as r:
            assert (await r.parse()).content[-1].type == "tool_use"
        await oai.close()
        await claude.close()

    if is_async:
        asyncio.run(run_async())
    else:
        with oai.chat.completions.stream(**chat) as stream:
            assert stream.get_final_completion().choices[0].message.tool_calls
        raw = oai.responses.with_raw_response.create(model="m", input="weather", tools=[FLAT_TOOL])
        assert raw.parse().output[0].type == "function_call"
        with oai.responses.with_streaming_response.create(
            model="m", input="streamed", stream=True
        ) as response:
            assert list(response.parse())
        with claude.messages.stream(**ask, tools=[tool]) as stream:
            assert stream.get_final_message().content[-1].type == "tool_use"
        with claude.messages.with_streaming_response.create(**ask, tools=[tool]) as r:
            assert r.parse().content[-1].type == "tool_use"
    called = ({"id": "call_0", "name": "get_weather", "arguments": {"city": "Oslo"}},)
    recorded = traces(store, tmp_path / "p.db")
    assert [(t.provider, t.stream, t.tool_calls) for t in recorded] == [
        ("openai", True, called),
        ("openai", False, called),
        ("openai", True, ()),
        ("anthropic", True, called),
        ("anthropic", False, called),
    ]
    assert recorded[2].output == "echo streamed" and recorded[2].usage is not None
    assert recorded[1].params["tools"] == [TOOL]  # Responses tools in the form suites write
    assert all(t.error is None for t in recorded)
