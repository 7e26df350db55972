"""langchain-openai through a captured client, over HTTP against the loopback server.

``ChatOpenAI.invoke()`` calls ``chat.completions.with_raw_response.create`` (and, for
structured output, ``with_raw_response.parse``; with ``use_responses_api``,
``responses.with_raw_response.create``): each is recorded, tools and all. langchain-openai
needs a newer openai than our floor, so it is in the ``langchain`` extra, installed by the
main CI run only (.ci/run); the edges skip this file and say why.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from loopback import LoopbackServer
from weather import Weather, recorded, respond

from pytest_modelguard.capture import capture
from pytest_modelguard.capture.export import case_of
from pytest_modelguard.capture.store import TraceStore, open_store

langchain_openai = pytest.importorskip(
    "langchain_openai",
    reason="langchain-openai is in the [langchain] extra, installed by the main CI run only "
    "(it needs openai>=2.45, above the oldest edge's openai 1.92)",
)

KEY = "loopback-langchain-key"
CITY = {"city": "Oslo"}


def get_weather(city: str) -> str:
    """Current weather in a city."""
    return f"sunny in {city}"


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(respond) as srv:
        yield srv


def chat_model(server: LoopbackServer, store: TraceStore, **options: Any) -> Any:
    """A ChatOpenAI whose clients are captured ones."""
    sync: Any = capture(openai.OpenAI(base_url=server.openai_base_url, api_key=KEY), db=store)
    aio: Any = capture(openai.AsyncOpenAI(base_url=server.openai_base_url, api_key=KEY), db=store)
    return langchain_openai.ChatOpenAI(
        model="gpt-4.1-mini",
        api_key=KEY,
        base_url=server.openai_base_url,
        client=sync.chat.completions,
        root_client=sync,
        async_client=aio.chat.completions,
        root_async_client=aio,
        **options,
    )


def test_invoke_with_bound_tools_is_recorded_and_exports(
    server: LoopbackServer, tmp_path: Path
) -> None:
    store = open_store(tmp_path / "lc.db")
    llm = chat_model(server, store, temperature=0)
    plain = llm.invoke([("system", "be brief"), ("user", "hello")])
    called = llm.bind_tools([get_weather]).invoke("weather in Oslo?")
    later = asyncio.run(llm.bind_tools([get_weather]).ainvoke("and now?"))
    structured = llm.with_structured_output(Weather, method="json_schema").invoke("w")
    assert plain.content == "echo hello"
    assert [c["name"] for c in called.tool_calls] == ["get_weather"]
    assert called.tool_calls[0]["args"] == CITY == later.tool_calls[0]["args"]
    assert structured == Weather(city="Oslo", temp_c=3)
    text, tools, async_tools, parsed = recorded(store, tmp_path / "lc.db")
    assert text.messages == (
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hello"},
    )
    assert (text.output, text.model, text.params["temperature"]) == (
        "echo hello",
        "gpt-4.1-mini",
        0,
    )
    call = {"id": "call_0", "name": "get_weather", "arguments": CITY}
    for trace in (tools, async_tools):
        assert trace.tool_calls == (call,) and trace.error is None
        assert [t["function"]["name"] for t in trace.params["tools"]] == ["get_weather"]
        assert trace.params["tools"][0]["function"]["parameters"]["required"] == ["city"]
    assert parsed.params["response_format"]["json_schema"]["name"] == "Weather"
    assert json.loads(parsed.output or "") == {"city": "Oslo", "temp_c": 3}
    case = case_of(tools)  # the captured call exports as a case with its tools
    assert isinstance(case, dict) and case["graders"] == [{"tool_call": {"against": "baseline"}}]
    assert case["params"]["tools"] == tools.params["tools"]


def test_responses_api_invoke_is_recorded_in_chat_form(
    server: LoopbackServer, tmp_path: Path
) -> None:
    store = open_store(tmp_path / "lcr.db")
    llm = chat_model(server, store, use_responses_api=True)
    answer = llm.bind_tools([get_weather]).invoke("weather in Oslo?")
    assert [c["name"] for c in answer.tool_calls] == ["get_weather"]
    assert server.calls[0].path == "/v1/responses"
    (trace,) = recorded(store, tmp_path / "lcr.db")
    assert trace.messages == ({"role": "user", "content": "weather in Oslo?"},)
    assert trace.tool_calls == ({"id": "call_0", "name": "get_weather", "arguments": CITY},)
    assert trace.params["tools"][0]["function"]["name"] == "get_weather"
