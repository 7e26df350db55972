"""Tool-calling traffic captured from openai.OpenAI → export keeps every case → replay passes."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
import yaml
from loopback import Call, LoopbackServer, Reply

from pytest_modelguard.capture import capture
from pytest_modelguard.capture.export import ExportOptions, export_suite
from pytest_modelguard.capture.store import open_store

TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
     "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                    "required": ["city"]}}},
    {"type": "function", "function": {"name": "get_time",
     "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}},
]  # fmt: skip
CITIES = [f"City{i}" for i in range(24)]


def respond(call: Call) -> Reply:
    """Production and the faithful candidate call the tool asked for, or read its result."""
    if call.messages[-1]["role"] == "tool":
        return Reply(f"It is {call.messages[-1]['content']}.")
    kind, _, city = call.prompt.partition(" in ")
    if call.model == "wrong-1":
        kind = "time"
    tool = "get_weather" if kind == "weather" else "get_time"
    return Reply("", tool_calls=({"name": tool, "arguments": {"city": city}},))


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(respond) as srv:
        yield srv


def record_traffic(server: LoopbackServer, db: Path) -> None:
    store = open_store(db)
    client = capture(openai.OpenAI(base_url=server.openai_base_url, api_key="sk-prod-key-123"),
                     db=store, tags=["agent"])  # fmt: skip
    for i, city in enumerate(CITIES):
        kind = "weather" if i % 2 else "time"
        client.chat.completions.create(
            model="gpt-4.1", messages=[{"role": "user", "content": f"{kind} in {city}"}],
            tools=TOOLS, tool_choice="auto",  # type: ignore[arg-type]
        )  # fmt: skip
    for city in CITIES[:6]:  # multi-turn: the tool's result comes back, a text answer follows
        first = client.chat.completions.create(
            model="gpt-4.1", messages=[{"role": "user", "content": f"weather in {city}"}],
            tools=TOOLS,  # type: ignore[arg-type]
        )  # fmt: skip
        calls = first.choices[0].message.tool_calls or []
        history = [
            {"role": "user", "content": f"weather in {city}"},
            first.choices[0].message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": calls[0].id, "content": f"sunny in {city}"},
        ]
        client.chat.completions.create(model="gpt-4.1", messages=history, tools=TOOLS)  # type: ignore[arg-type]
    assert store.flush(10)


def test_tool_traffic_exports_every_case_and_replays_at_score_one(
    server: LoopbackServer, tmp_path: Path
) -> None:
    record_traffic(server, tmp_path / "traces.db")
    out = tmp_path / "agent.modelguard.yaml"
    result = export_suite(tmp_path / "traces.db", out, ExportOptions())
    assert (result.calls, result.cases, result.unsupported, result.agent_cases) == (36, 30, 0, 6)
    suite = yaml.safe_load(out.read_text())
    tool_cases = [c for c in suite["cases"] if c["baseline"].get("tool_calls")]
    assert len(tool_cases) == 24
    assert all(c["graders"] == [{"tool_call": {"against": "baseline"}}] for c in tool_cases)
    agents = [c for c in suite["cases"] if "agent" in c]  # the tool's result, then the answer
    assert [c["expected"]["trajectory"] for c in agents] == [
        [{"name": "get_weather", "arguments": {"city": city}, "result": f"sunny in {city}"}]
        for city in CITIES[:6]
    ]
    assert suite["cases"][0]["params"]["tools"][0]["function"]["name"] == "get_weather"
    assert "sk-prod-key-123" not in out.read_text()
    (tmp_path / "pyproject.toml").write_text(f"""
[tool.modelguard]
resamples = 500
[tool.modelguard.providers.sim]
kind = "openai"
base_url = "{server.openai_base_url}"
api_key_env = "SIM_KEY"
""")
    env = {**os.environ, "SIM_KEY": "sk-sim-replay"}
    done = replay(tmp_path, "sim:same-1", env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "score 1.000 vs production 1.000" in done.stdout
    assert "verdict: pass" in done.stdout
    assert "on 30 replayed calls" in done.stdout
    worse = replay(tmp_path, "sim:wrong-1", env)
    assert worse.returncode == 1 and "verdict: regression" in worse.stdout


def replay(tmp_path: Path, candidate: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest_modelguard.cli", "replay", "traces.db",
               "--candidate", candidate]  # fmt: skip
    return subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=180, env=env
    )


def test_anthropic_tool_use_exports_in_the_openai_form() -> None:
    from pytest_modelguard.capture.export import case_of
    from pytest_modelguard.capture.store import Trace

    messages = (
        {"role": "user", "content": "weather in Oslo"},
        {"role": "assistant", "content": [
            {"type": "tool_use", "id": "tu_1", "name": "get_weather", "input": {"city": "Oslo"}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "tu_1", "content": "rain"}]},
    )  # fmt: skip
    params = {"max_tokens": 100, "tools": [{"name": "get_weather", "input_schema": {}}],
              "tool_choice": {"type": "any", "disable_parallel_tool_use": True}}  # fmt: skip
    call = {"id": "tu_2", "name": "get_weather", "arguments": {"city": "Oslo"}}
    case = case_of(Trace("anthropic", "claude", messages, params, output="", tool_calls=(call,)))
    assert isinstance(case, dict)
    assert case["messages"][1]["tool_calls"][0]["function"]["name"] == "get_weather"
    assert case["messages"][2] == {"role": "tool", "tool_call_id": "tu_1", "content": "rain"}
    assert case["params"]["tools"][0]["type"] == "function"
    assert case["params"]["tool_choice"] == "required"
    assert case["params"]["parallel_tool_calls"] is False
    assert case["baseline"]["tool_calls"] == [
        {"name": "get_weather", "arguments": {"city": "Oslo"}}
    ]


def test_what_cannot_be_exported_is_counted_per_reason(tmp_path: Path) -> None:
    from loopback_media import png

    from pytest_modelguard.capture.store import Pending, Trace

    store = open_store(tmp_path / "t.db")
    image = "data:image/png;base64," + base64.b64encode(png(2, 2)).decode()
    parts = [[{"type": "image_url", "image_url": {"url": url}}] for url in (image, image[:-3])]
    audio = [{"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}]
    for content in ("hello", *parts, audio, [{"type": "video_url", "video_url": "x"}]):
        message = {"role": "user", "content": content}
        store.submit(Pending(Trace("openai", "m", (message,), output="hi", started_at=1.0)))
    store.submit(Pending(Trace("openai", "m", ({"role": "wizard", "content": "x"},), output="a")))
    assert store.flush(10)
    done = export_suite(tmp_path / "t.db", tmp_path / "o.modelguard.yaml", ExportOptions())
    assert done.cases == 2  # the text and the image (written next to the suite)
    assert dict(done.reasons) == {
        "image not kept at capture (not valid base64)": 1,
        "audio not kept at capture (not an audio type modelguard knows)": 1,
        "non-text content (images, audio or files)": 1,
        "message role 'wizard'": 1,
    }


def test_a_version_one_database_is_read_and_upgraded(tmp_path: Path) -> None:
    import sqlite3

    from pytest_modelguard.capture.read import TraceDb
    from pytest_modelguard.capture.store import Pending, Trace, connect

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(
            "CREATE TABLE traces (id INTEGER PRIMARY KEY, started_at REAL NOT NULL, provider TEXT "
            "NOT NULL, host TEXT NOT NULL, model TEXT NOT NULL, response_model TEXT NOT NULL, "
            "request_key TEXT NOT NULL, messages TEXT NOT NULL, params TEXT NOT NULL, output TEXT, "
            "finish_reason TEXT, input_tokens INTEGER, output_tokens INTEGER, cached_input_tokens "
            "INTEGER, cache_write_tokens INTEGER, reasoning_tokens INTEGER, cost_usd REAL, "
            "latency_s REAL NOT NULL, stream INTEGER NOT NULL, tags TEXT NOT NULL, error TEXT);"
            "INSERT INTO traces VALUES (1, 1.0, 'openai', '', 'm', 'm', 'k', "
            "'[{\"role\": \"user\", \"content\": \"hi\"}]', '{}', 'hello', 'stop', 1, 1, 0, 0, 0, "
            "NULL, 0.1, 0, '[]', NULL); PRAGMA user_version=1;"
        )
    with TraceDb(path) as db:
        assert db.traces([1])[1].tool_calls == ()
    connect(path, 1.0).close()  # a capture opening it adds the column
    store = open_store(path)
    call = {"id": "c", "name": "f", "arguments": {}}
    store.submit(Pending(Trace("openai", "m", ({"role": "user", "content": "x"},), output="",
                               tool_calls=(call,))))  # fmt: skip
    assert store.flush(10)
    with TraceDb(path) as db:
        assert db.traces([2])[2].tool_calls == (call,)


def test_with_raw_response_is_captured_sync_and_async(
    server: LoopbackServer, tmp_path: Path
) -> None:
    """The path langchain-openai's invoke() takes: with_raw_response.create, then parse()."""
    import asyncio

    from pytest_modelguard.capture.read import TraceDb

    store = open_store(tmp_path / "raw.db")
    client = capture(openai.OpenAI(base_url=server.openai_base_url, api_key="k"), db=store)
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4.1", messages=[{"role": "user", "content": "weather in Oslo"}],
        tools=TOOLS,  # type: ignore[arg-type]
    )  # fmt: skip
    assert raw.parse().choices[0].message.tool_calls[0].function.name == "get_weather"
    aclient = capture(openai.AsyncOpenAI(base_url=server.openai_base_url, api_key="k"), db=store)

    async def ask() -> None:
        araw = await aclient.chat.completions.with_raw_response.create(
            model="gpt-4.1", messages=[{"role": "user", "content": "time in Oslo"}],
            tools=TOOLS,  # type: ignore[arg-type]
        )  # fmt: skip
        assert araw.parse().choices[0].finish_reason == "tool_calls"
        await aclient.close()

    asyncio.run(ask())
    assert store.flush(10)
    with TraceDb(tmp_path / "raw.db") as db:
        traces = db.traces([1, 2])
    assert [t.tool_calls[0]["name"] for t in traces.values()] == ["get_weather", "get_time"]
