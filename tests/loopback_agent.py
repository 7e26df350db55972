"""Scripting multi-step (agent) answers on the loopback server, for every wire format.

An agent's request carries its earlier steps: the assistant's tool calls and the tool
results. ``turns`` counts the former and ``results`` reads the latter, whatever the wire
(Chat Completions ``tool`` messages, Anthropic ``tool_result`` blocks, Responses
``function_call_output`` items), so a responder can answer step by step.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from loopback import Call, Reply


def turns(call: Call) -> int:
    """How many assistant turns with tool calls the request's history holds."""
    body = call.body
    if call.path == "/v1/responses":
        items = body.get("input") if isinstance(body.get("input"), list) else []
        count, before = 0, False
        for item in items:
            is_call = isinstance(item, dict) and item.get("type") == "function_call"
            count += is_call and not before
            before = is_call
        return count
    count = 0
    for message in body.get("messages") or ():
        if message.get("role") != "assistant":
            continue
        content = message.get("content")
        blocks = content if isinstance(content, list) else []
        if message.get("tool_calls") or any(b.get("type") == "tool_use" for b in blocks):
            count += 1
    return count


def results(call: Call) -> list[str]:
    """The text of every tool result in the request, in order."""
    body = call.body
    if call.path == "/v1/responses":
        items = body.get("input") if isinstance(body.get("input"), list) else []
        return [
            str(i.get("output"))
            for i in items
            if isinstance(i, dict) and i.get("type") == "function_call_output"
        ]
    found = []
    for message in body.get("messages") or ():
        if message.get("role") == "tool":
            found.append(str(message.get("content")))
        content = message.get("content")
        for block in content if isinstance(content, list) else ():
            if isinstance(block, dict) and block.get("type") == "tool_result":
                inner = block.get("content")
                found.append(inner if isinstance(inner, str) else json.dumps(inner))
    return found


Scripted = Reply | str | Callable[[Call], "Reply | str"]


def scripted(steps: Mapping[str, Sequence[Scripted]]) -> Callable[[Call], Reply | str]:
    """A responder answering model M's step k (counted by ``turns``) with ``steps[M][k]``
    (a Reply, a text, or a function of the call); past the script, the last entry."""

    def respond(call: Call) -> Reply | str:
        script = steps.get(call.model)
        if not script:
            return Reply(f"no script for {call.model}")
        entry = script[min(turns(call), len(script) - 1)]
        return entry(call) if callable(entry) else entry

    return respond


def calling(name: str, arguments: dict[str, Any], *more: tuple[str, dict[str, Any]]) -> Reply:
    """A step answering with tool calls only (several: parallel calls)."""
    calls = [(name, arguments), *more]
    return Reply(
        "",
        tool_calls=tuple(
            {"name": n, "arguments": a, "id": f"call_{n}_{i}"} for i, (n, a) in enumerate(calls)
        ),
    )
