"""Checks of what a suite writes for tool use and structured outputs, as the APIs check them.

OpenAI and Anthropic refuse these requests with an HTTP 400 at run time; the suite
loader refuses them at collection instead, naming the file, line and key. Each check
returns a ``Problem`` — the YAML node whose line to show and what is wrong — or None.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..core.formatting import did_you_mean
from .json_schema import schema_problem

TOOL_FORM = "{type: function, function: {name, description, parameters}}"
CALL_FORM = "{id, type: function, function: {name, arguments}}"
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
NAME_RULE = "1 to 64 letters, digits, '_' or '-' (OpenAI and Anthropic refuse other names)"

Problem = tuple[Any, str]
"""(the node at fault, for its line; the problem)."""


def request_problem(key: str, value: Any) -> Problem | None:
    """What is wrong with ``tools``, ``tool_choice``, ``parallel_tool_calls`` or
    ``response_format`` as written, or None."""
    if key == "tools":
        return _tools_problem(value)
    if key == "tool_choice":
        function = value.get("function") if isinstance(value, Mapping) else None
        named = isinstance(function, Mapping) and isinstance(function.get("name"), str)
        if value in ("auto", "required", "none") or named:
            return None
        return value, "must be auto, required, none or {type: function, function: {name: ...}}"
    if key == "parallel_tool_calls":
        return None if isinstance(value, bool) else (value, "must be true or false")
    return _response_format_problem(value)


def combined_problem(params: Mapping[str, Any]) -> tuple[str, str] | None:
    """(key, problem) for tool settings that disagree once a case's and defaults' are joined."""
    tools = params.get("tools")
    if not tools:
        for key in ("tool_choice", "parallel_tool_calls"):
            if key in params:
                return key, "is only allowed with tools: offer some (tools: [...]) or remove it"
        return None
    choice = params.get("tool_choice")
    if isinstance(choice, Mapping):
        name = choice["function"]["name"]
        offered = [tool["function"]["name"] for tool in tools]
        if name not in offered:
            return "tool_choice", (
                f"names {name!r}, which is not an offered tool ({', '.join(offered)})"
                + did_you_mean(name, offered)
            )
    return None


def _tools_problem(value: Any) -> Problem | None:
    if not isinstance(value, list) or not value:
        return value, f"must be a non-empty list of tools {TOOL_FORM}"
    first_at: dict[str, int] = {}
    for index, tool in enumerate(value):
        problem = _tool_problem(tool)
        if problem:
            return _item(value, index, problem[0]), f"tool #{index + 1}: {problem[1]}"
        name = tool["function"]["name"]
        if name in first_at:
            return tool, (
                f"tool #{index + 1}: duplicate tool name {name!r} (also tool #{first_at[name]}); "
                "each tool needs its own name"
            )
        first_at[name] = index + 1
    return None


@dataclass(frozen=True)
class _Line:
    line: int


def _item(items: Any, index: int, node: Any) -> Any:
    """``node`` when it knows its line, else the line of item ``index`` of ``items``."""
    if getattr(node, "line", 0):
        return node
    lines = getattr(items, "item_lines", [])
    return _Line(lines[index]) if index < len(lines) else node


def _tool_problem(tool: Any) -> Problem | None:
    if not isinstance(tool, Mapping) or tool.get("type") != "function":
        return tool, f"write it as {TOOL_FORM}"
    function = tool.get("function")
    if not isinstance(function, Mapping) or not isinstance(function.get("name"), str):
        return tool, f"function needs a name: {TOOL_FORM}"
    name = function["name"]
    if not _NAME.fullmatch(name):
        return function, f"function name {_short(name)!r}: use {NAME_RULE}"
    if not isinstance(function.get("description", ""), str):
        return function, f"function {name!r}: description must be a string"
    if not isinstance(function.get("strict", False), bool):
        return function, f"function {name!r}: strict must be true or false"
    parameters = function.get("parameters")
    if parameters is None:
        return None
    if not isinstance(parameters, Mapping):
        return function, f"function {name!r}: parameters must be a JSON schema (a mapping)"
    if parameters and parameters.get("type") != "object":
        return parameters, (
            f"function {name!r}: parameters must be a schema of type: object (the arguments "
            f"are an object), got type {_short(str(parameters.get('type')))!r}"
        )
    problem = schema_problem(parameters)
    return (parameters, f"function {name!r}: parameters: {problem}") if problem else None


def _response_format_problem(value: Any) -> Problem | None:
    if not isinstance(value, Mapping) or value.get("type") not in (
        "text",
        "json_object",
        "json_schema",
    ):
        return value, (
            "must be {type: json_schema, json_schema: {name, schema, strict}} or json_object"
        )
    if value["type"] != "json_schema":
        return None
    spec = value.get("json_schema")
    if not isinstance(spec, Mapping) or not isinstance(spec.get("schema"), Mapping):
        return value, "json_schema needs a schema (a mapping) and a name"
    name = spec.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        shown = "none" if name is None else repr(_short(str(name)))
        return spec, f"json_schema needs a name of {NAME_RULE}; got {shown}"
    if not isinstance(spec.get("strict", False), bool):
        return spec, "json_schema: strict must be true or false"
    problem = schema_problem(spec["schema"])
    return (spec["schema"], f"json_schema: schema: {problem}") if problem else None


def message_problem(message: Mapping[str, Any]) -> tuple[str, str] | None:
    """(key, problem) for tool calls or a tool result written wrongly in a message."""
    calls = message.get("tool_calls")
    if calls is not None:
        if message["role"] != "assistant":
            return "tool_calls", "only an assistant message carries tool_calls"
        if not isinstance(calls, list) or not calls:
            return "tool_calls", f"must be a non-empty list of {CALL_FORM}"
        for call in calls:
            problem = _call_problem(call)
            if problem:
                return "tool_calls", problem
    if message["role"] == "tool" and not isinstance(message.get("tool_call_id"), str):
        return "tool_call_id", "a tool message needs tool_call_id (the id of the call it answers)"
    if message.get("content") is None and not calls:
        return "content", "a message needs content (only one with tool_calls may have none)"
    return None


def _call_problem(call: Any) -> str | None:
    function = call.get("function") if isinstance(call, Mapping) else None
    if not isinstance(function, Mapping) or not isinstance(function.get("name"), str):
        return f"each needs {CALL_FORM}"
    name = function["name"]
    if not isinstance(call.get("id"), str) or not call["id"]:
        return f"call {_short(name)!r} needs an id (a string its tool result names)"
    arguments = function.get("arguments", {})
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except (ValueError, RecursionError):
            arguments = None
    if not isinstance(arguments, Mapping):
        return (
            f"call {_short(name)!r}: arguments must be an object (a mapping, or its JSON text): "
            "tool calls carry their arguments as a JSON object"
        )
    return None


def history_problem(messages: Sequence[Mapping[str, Any]]) -> tuple[int, str, str] | None:
    """(message index, key, problem) when tool calls and results do not pair up.

    Both APIs want each assistant tool call answered by a tool result right after it,
    and every tool result to answer a call of the assistant message just before.
    """
    pending: dict[str, str] = {}  # id of a call awaiting its result → the tool's name
    asked_at = 0
    for index, message in enumerate(messages):
        if message["role"] == "tool":
            ident = message["tool_call_id"]
            if ident not in pending:
                open_ids = ", ".join(repr(i) for i in pending) or "none"
                return (
                    index,
                    "tool_call_id",
                    (
                        f"{_short(ident)!r} answers no tool call of the assistant message just "
                        f"before it (calls awaiting a result: {open_ids})"
                    ),
                )
            del pending[ident]
            continue
        if pending:
            return asked_at, "tool_calls", _unanswered(pending)
        if message.get("tool_calls"):
            ids = [call["id"] for call in message["tool_calls"]]
            if len(set(ids)) < len(ids):
                return index, "tool_calls", "two tool calls share an id; give each its own"
            pending = {call["id"]: call["function"]["name"] for call in message["tool_calls"]}
            asked_at = index
    return (asked_at, "tool_calls", _unanswered(pending)) if pending else None


def _unanswered(pending: Mapping[str, str]) -> str:
    shown = ", ".join(f"{_short(ident)!r} ({name})" for ident, name in pending.items())
    return (
        f"tool call {shown} has no tool result: follow the assistant message with "
        "{role: tool, tool_call_id, content} for each call"
    )


def _short(text: str) -> str:
    return text if len(text) <= 60 else text[:60] + "…"
