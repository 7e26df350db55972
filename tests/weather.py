"""The weather simulator the capture-path tests answer with: a `get_weather` tool call when
tools are offered, JSON when a structured answer is asked for, else an echo."""

from __future__ import annotations

import json
from pathlib import Path

from loopback import Call, Reply
from pydantic import BaseModel

from pytest_modelguard.capture.read import TraceDb
from pytest_modelguard.capture.store import Trace, TraceStore


class Weather(BaseModel):
    """The weather in a city."""

    city: str
    temp_c: int


def respond(call: Call) -> Reply:
    """A tool call when tools are offered, JSON when a schema is asked for, else an echo."""
    if call.tool_names:
        return Reply("", tool_calls=({"name": "get_weather", "arguments": {"city": "Oslo"}},))
    if {"response_format", "text", "output_config"} & call.params.keys():
        return Reply(json.dumps({"city": "Oslo", "temp_c": 3}))
    return Reply(f"echo {call.prompt}")


def recorded(store: TraceStore, path: Path) -> list[Trace]:
    """Every trace the store wrote to ``path``, in order."""
    assert store.flush(10)
    with TraceDb(path) as db:
        found = db.traces(list(range(1, 50)))
    return [found[i] for i in sorted(found)]
