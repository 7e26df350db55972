"""Checks of what a suite writes for tool use and structured outputs: (key, problem) or None."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

TOOL_FORM = "{type: function, function: {name, description, parameters}}"


def request_problem(key: str, value: Any) -> str | None:
    """What is wrong with ``tools``, ``tool_choice``, ``parallel_tool_calls`` or
    ``response_format`` as written, or None."""
    if key == "tools":
        if not isinstance(value, list) or not value:
            return f"must be a non-empty list of tools {TOOL_FORM}"
        for index, tool in enumerate(value):
            problem = _tool_problem(tool)
            if problem:
                return f"tool #{index + 1}: {problem}"
        return None
    if key == "tool_choice":
        named = isinstance(value, Mapping) and isinstance(
            (value.get("function") or {}).get("name"), str
        )
        if value in ("auto", "required", "none") or named:
            return None
        return "must be auto, required, none or {type: function, function: {name: ...}}"
    if key == "parallel_tool_calls":
        return None if isinstance(value, bool) else "must be true or false"
    return _response_format_problem(value)


def _tool_problem(tool: Any) -> str | None:
    if not isinstance(tool, Mapping) or tool.get("type") != "function":
        return f"write it as {TOOL_FORM}"
    function = tool.get("function")
    if not isinstance(function, Mapping) or not isinstance(function.get("name"), str):
        return f"function needs a name: {TOOL_FORM}"
    parameters = function.get("parameters")
    if parameters is not None and not isinstance(parameters, Mapping):
        return f"function {function['name']!r}: parameters must be a JSON schema (a mapping)"
    return None


def _response_format_problem(value: Any) -> str | None:
    if not isinstance(value, Mapping) or value.get("type") not in (
        "text",
        "json_object",
        "json_schema",
    ):
        return "must be {type: json_schema, json_schema: {name, schema, strict}} or json_object"
    if value["type"] == "json_schema":
        spec = value.get("json_schema")
        if not isinstance(spec, Mapping) or not isinstance(spec.get("schema"), Mapping):
            return "json_schema needs a schema (a mapping) and a name"
    return None


def message_problem(message: Mapping[str, Any]) -> tuple[str, str] | None:
    """(key, problem) for tool calls or a tool result written wrongly in a message."""
    calls = message.get("tool_calls")
    if calls is not None:
        if message["role"] != "assistant":
            return "tool_calls", "only an assistant message carries tool_calls"
        if not isinstance(calls, list):
            return "tool_calls", "must be a list of {id, type: function, function: {name, ...}}"
        for call in calls:
            function = call.get("function") if isinstance(call, Mapping) else None
            if not isinstance(function, Mapping) or not isinstance(function.get("name"), str):
                return "tool_calls", "each needs {id, type: function, function: {name, arguments}}"
    if message["role"] == "tool" and not isinstance(message.get("tool_call_id"), str):
        return "tool_call_id", "a tool message needs tool_call_id (the id of the call it answers)"
    if message.get("content") is None and not calls:
        return "content", "a message needs content (only one with tool_calls may have none)"
    return None
