"""The OpenAI Responses API (``kind = "openai-responses"``) through ``openai.AsyncOpenAI``.

Suites write Chat Completions' form; requests are rewritten here into Responses ``input``
items and params, and a ``Response`` is read back into the same Completion (text, tool
calls, usage with cached and reasoning tokens).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ...records.calls import Completion, Message, Request, Usage, tool_call
from ._sdk import sdk_kwargs
from .media import responses_content
from .openai import OpenAIProvider

if TYPE_CHECKING:
    from openai import AsyncOpenAI

_RENAMED = {"max_tokens": "max_output_tokens", "max_completion_tokens": "max_output_tokens"}


class OpenAIResponsesProvider(OpenAIProvider):
    """``client.responses.create`` with the Chat Completions provider's error mapping."""

    def _touch(self, client: AsyncOpenAI) -> None:
        client.responses  # noqa: B018 - imported on first access

    async def _call(self, client: AsyncOpenAI, request: Request) -> Any:
        create = client.responses.create
        params = responses_params(request.params)
        items: Any = responses_input(request.messages)
        return await create(model=request.model, input=items, **sdk_kwargs(create, params))

    def _to_completion(self, response: Any, latency_s: float) -> Completion:
        return to_completion(response, latency_s)


def responses_input(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """Chat messages as Responses input items: tool calls become ``function_call`` items,
    tool results ``function_call_output`` items."""
    items: list[dict[str, Any]] = []
    for message in messages:
        role, content = message["role"], message.get("content")
        if role == "tool":
            output = content if isinstance(content, str) else json.dumps(content)
            call_id = message.get("tool_call_id", "")
            items.append({"type": "function_call_output", "call_id": call_id, "output": output})
            continue
        if content:
            items.append({"role": role, "content": responses_content(content, role)})
        for call in message.get("tool_calls") or ():
            function = call["function"]
            arguments = function.get("arguments", "{}")
            items.append({
                "type": "function_call", "call_id": call.get("id", ""), "name": function["name"],
                "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments),
            })  # fmt: skip
    return items


def responses_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """Chat Completions params in the Responses form: flat function tools, a named
    ``tool_choice``, ``response_format`` as ``text.format``, ``max_output_tokens``."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        if key == "tools" and isinstance(value, list):
            out["tools"] = [_flat_tool(tool) for tool in value]
        elif key == "tool_choice" and isinstance(value, Mapping):
            out["tool_choice"] = {"type": "function", "name": (value.get("function") or {})["name"]}
        elif key == "response_format" and isinstance(value, Mapping):
            out["text"] = {**(out.get("text") or {}), "format": _text_format(value)}
        else:
            out[_RENAMED.get(key, key)] = value
    return out


def _flat_tool(tool: Mapping[str, Any]) -> Mapping[str, Any]:
    function = tool.get("function")
    if tool.get("type") != "function" or not isinstance(function, Mapping):
        return tool
    return {"type": "function", **function}


def _text_format(response_format: Mapping[str, Any]) -> Mapping[str, Any]:
    if response_format.get("type") != "json_schema":
        return response_format
    return {"type": "json_schema", **(response_format.get("json_schema") or {})}


def to_completion(response: Any, latency_s: float) -> Completion:
    """Text, tool calls (``function_call`` items), usage and finish reason of a ``Response``."""
    text: list[str] = []
    calls = []
    for item in response.output or ():
        if item.type == "message":
            text += [part.text for part in item.content if part.type == "output_text"]
        elif item.type == "function_call":
            calls.append(tool_call(item.name, item.arguments, item.call_id))
        elif item.type == "custom_tool_call":  # a custom tool's free-text input
            calls.append(tool_call(item.name, item.input, item.call_id))
    incomplete = getattr(response, "incomplete_details", None)
    if response.status == "incomplete" and incomplete is not None:
        finish: str | None = incomplete.reason
    else:
        finish = "tool_calls" if calls else "stop" if response.status == "completed" else None
    return Completion(
        text="".join(text),
        usage=to_usage(response.usage),
        latency_s=latency_s,
        model=response.model or "",
        finish_reason=finish,
        tool_calls=tuple(calls),
    )


def to_usage(usage: Any) -> Usage:
    """Our Usage from ``ResponseUsage`` (cached input and reasoning tokens included)."""
    if usage is None:
        return Usage()
    return Usage(
        input_tokens=usage.input_tokens or 0,
        output_tokens=usage.output_tokens or 0,
        cached_input_tokens=getattr(usage.input_tokens_details, "cached_tokens", None) or 0,
        reasoning_tokens=getattr(usage.output_tokens_details, "reasoning_tokens", None) or 0,
    )
