"""Responses API conversations kept by the provider (``previous_response_id``), captured
over HTTP against the loopback server and exported whole: a tool-using loop becomes one
agent case, a chat its full history; a turn whose start was not captured is left out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openai
import pytest
import yaml
from loopback import Call, LoopbackServer, Reply
from loopback_agent import calling, results

from pytest_modelguard.capture import capture
from pytest_modelguard.capture.export import ExportOptions, export_suite
from pytest_modelguard.capture.read import TraceDb
from pytest_modelguard.capture.store import open_store
from pytest_modelguard.suite import load_suite

KEY = "sk-capture-chain-key-1"
TOOL = {
    "type": "function", "name": "get_weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}  # fmt: skip


def respond(call: Call) -> Reply:
    if results(call):
        return Reply(f"It is {results(call)[0]}")
    last = str(call.messages[-1]["content"])
    if "weather" in last:
        return calling("get_weather", {"city": "Oslo"})
    return Reply(f"echo {last}")


def run_conversations(client: Any) -> None:
    asked = client.responses.create(
        model="m", instructions="be brief", input="weather in Oslo?", tools=[TOOL]
    )
    step = next(item for item in asked.output if item.type == "function_call")
    done = client.responses.create(
        model="m", instructions="be brief", previous_response_id=asked.id, tools=[TOOL],
        input=[{"type": "function_call_output", "call_id": step.call_id, "output": "sunny"}],
    )  # fmt: skip
    assert done.output_text == "It is sunny"
    hello = client.responses.create(model="m", input="hello")
    again = client.responses.create(model="m", input="again", previous_response_id=hello.id)
    assert again.output_text == "echo again"
    client.responses.create(model="m", input="lost", previous_response_id="resp_elsewhere")


def test_chains_are_captured_with_their_ids_and_exported_whole(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    store = open_store(db)
    with LoopbackServer(respond) as server:
        client = capture(openai.OpenAI(base_url=server.openai_base_url, api_key=KEY), db=store)
        run_conversations(client)
    assert store.flush(10)
    with TraceDb(db) as traces:
        recorded = traces.traces(list(range(1, 6)))
    assert all(recorded[i].response_id for i in recorded)  # each answer's id is kept
    assert recorded[2].params["previous_response_id"] == recorded[1].response_id

    out = tmp_path / "s.modelguard.yaml"
    result = export_suite(db, out, ExportOptions())
    assert (result.cases, result.agent_cases) == (3, 1)  # each chat turn is a case, as sent
    assert dict(result.reasons) == {
        "a call continuing a response that was not captured (previous_response_id)": 1
    }
    suite = load_suite(out)
    agent, first, chat = sorted(suite.cases, key=lambda c: (c.agent is None, len(c.messages)))
    assert [m["content"] for m in first.messages] == ["hello"]
    assert agent.agent is not None
    assert agent.messages == (
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "weather in Oslo?"},
    )
    assert agent.baseline is not None and agent.baseline.output == "It is sunny"
    assert [m["content"] for m in chat.messages] == ["hello", "echo hello", "again"]
    assert chat.baseline is not None and chat.baseline.output == "echo again"
    text = out.read_text(encoding="utf-8")
    assert "previous_response_id" not in text and "resp_elsewhere" not in text
    assert yaml.safe_load(text)["cases"]  # the file reads as plain YAML too


@pytest.mark.parametrize("stream", [False, True])
def test_a_streamed_answer_keeps_its_response_id(tmp_path: Path, stream: bool) -> None:
    store = open_store(tmp_path / "t.db")
    with LoopbackServer(respond) as server:
        client = capture(openai.OpenAI(base_url=server.openai_base_url, api_key=KEY), db=store)
        made = client.responses.create(model="m", input="hi", stream=stream)
        ident = [e for e in made][-1].response.id if stream else made.id
    assert store.flush(10)
    with TraceDb(tmp_path / "t.db") as traces:
        assert traces.traces([1])[1].response_id == ident


def test_a_version_three_database_gains_the_column_and_keeps_its_rows(tmp_path: Path) -> None:
    import sqlite3

    from pytest_modelguard.capture.store import COLUMNS, SCHEMA_VERSION, Pending, Trace

    path = tmp_path / "v3.db"
    columns = [c for c in COLUMNS if c != "response_id"]
    with sqlite3.connect(path) as raw:  # as version 3 wrote it
        raw.execute(f"CREATE TABLE traces (id INTEGER PRIMARY KEY, {', '.join(columns)})")
        raw.execute(
            f"INSERT INTO traces ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
            [1.0, "openai", "", "m", "m", "k", '[{"role": "user", "content": "q"}]', "{}", "old",
             None, 1, 1, 0, 0, 0, None, None, 0, "[]", None, None],
        )  # fmt: skip
        raw.execute("PRAGMA user_version=3")
    with TraceDb(path) as before:  # read as is, before any capture upgrades it
        assert before.traces([1])[1].response_id == "" and before.answered_as(["r"]) == {}
    store = open_store(path)
    new = Trace("openai", "m", ({"role": "user", "content": "x"},), output="a", response_id="r9")
    store.submit(Pending(new))
    assert store.flush(10)
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
    with TraceDb(path) as after:
        found = after.traces([1, 2])
        assert (found[1].output, found[1].response_id) == ("old", "")
        assert found[2].response_id == "r9" and after.answered_as(["r9"]) == {"r9": 2}
