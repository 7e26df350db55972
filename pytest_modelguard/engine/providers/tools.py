"""Tools across wire formats: suites write OpenAI's function-tool form; Anthropic gets its own.

Also reads tool calls out of SDK responses into ``{id, name, arguments}`` dicts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ...records.calls import Message, tool_call
from .media import ANTHROPIC_FORM, anthropic_content, openai_content, parts_problem

TOOL_PARAMS = ("tools", "tool_choice", "parallel_tool_calls", "response_format")


def anthropic_output_format(response_format: Any) -> dict[str, Any] | None:
    """``response_format`` as Anthropic's ``output_config.format`` (a JSON schema), None for
    plain text; ValueError for ``json_object``, which Anthropic has no equivalent of."""
    if not isinstance(response_format, Mapping) or response_format.get("type") == "text":
        return None
    if response_format.get("type") != "json_schema":
        raise ValueError(
            f"type {response_format.get('type')!r} has no Anthropic "
            "equivalent: write {type: json_schema, json_schema: {name, schema}}"
        )
    return {"type": "json_schema", "schema": (response_format.get("json_schema") or {})["schema"]}


def kind_problem(
    kind: str, messages: Sequence[Message], params: Mapping[str, Any]
) -> tuple[Mapping[str, Any] | None, str] | None:
    """(the part at fault or None, why) for a request a provider of ``kind`` cannot be
    sent: a part it takes no form of (audio to Anthropic), a ``response_format`` it has no
    equivalent of; None when it can be sent."""
    found = parts_problem(kind, messages)
    if found is not None or kind not in ANTHROPIC_FORM:
        return found
    try:
        anthropic_output_format(params.get("response_format"))
    except ValueError as exc:
        return None, f"response_format: {exc}"
    return None


def anthropic_tools(tools: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """OpenAI function tools as Anthropic tools (``name``, ``description``, ``input_schema``)."""
    out = []
    for tool in tools:
        function = tool.get("function", tool)
        entry = {
            "name": function["name"],
            "input_schema": function.get("parameters") or {"type": "object", "properties": {}},
        }
        if function.get("description"):
            entry["description"] = function["description"]
        out.append(entry)
    return out


def anthropic_tool_choice(choice: Any, parallel: Any) -> dict[str, Any] | None:
    """``tool_choice`` (auto | required | none | a named function) in Anthropic's form."""
    if isinstance(choice, Mapping):
        name = (choice.get("function") or {}).get("name") or choice.get("name")
        out: dict[str, Any] = {"type": "tool", "name": name}
    elif choice in (None, "auto", "required", "none"):
        kinds = {None: "auto", "auto": "auto", "required": "any", "none": "none"}
        out = {"type": kinds[choice]}
    else:
        raise ValueError(f"tool_choice {choice!r}: use auto, required, none or a function")
    if parallel is False and out["type"] != "none":
        out["disable_parallel_tool_use"] = True
    return None if choice is None and parallel is None else out


def anthropic_messages(chat: Sequence[Message]) -> list[dict[str, Any]]:
    """Chat messages in Anthropic's form: assistant tool calls become ``tool_use`` blocks and
    ``tool`` results ``tool_result`` blocks of a user turn (consecutive ones merged)."""
    out: list[dict[str, Any]] = []
    for message in chat:
        role, content = message["role"], message.get("content")
        if role == "tool":
            block = {
                "type": "tool_result",
                "tool_use_id": message.get("tool_call_id", ""),
                "content": _text(content),
            }
            if out and out[-1]["role"] == "user" and isinstance(out[-1]["content"], list):
                out[-1]["content"].append(block)
            else:
                out.append({"role": "user", "content": [block]})
        elif role == "assistant" and message.get("tool_calls"):
            blocks: list[dict[str, Any]] = []
            if _text(content):
                blocks.append({"type": "text", "text": _text(content)})
            for call in message["tool_calls"]:
                parsed = tool_call(call["function"]["name"], call["function"].get("arguments", {}))
                if not isinstance(parsed["arguments"], Mapping):
                    raise ValueError(
                        f"tool call {parsed['name']!r} in the history has arguments that are not "
                        "a JSON object; Anthropic's tool_use input must be one"
                    )
                blocks.append({
                    "type": "tool_use", "id": call.get("id", ""), "name": parsed["name"],
                    "input": parsed["arguments"],
                })  # fmt: skip
            out.append({"role": "assistant", "content": blocks})
        else:
            out.append({"role": role, "content": anthropic_content(content)})
    return out


def _text(content: Any) -> str:
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
    return "" if content is None else str(content)


def openai_arguments(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """Messages for Chat Completions: tool call arguments written as data become JSON text."""
    out = []
    for message in messages:
        calls = message.get("tool_calls")
        if calls:
            calls = [
                {**c, "function": {**c["function"], "arguments": _json_text(c["function"])}}
                for c in calls
            ]
            message = {**message, "tool_calls": calls}
        if isinstance(message.get("content"), list):
            message = {**message, "content": openai_content(message["content"])}
        out.append(dict(message))
    return out


def _json_text(function: Mapping[str, Any]) -> str:
    arguments = function.get("arguments", "{}")
    return arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)


def openai_tool_calls(message: Any) -> tuple[dict[str, Any], ...]:
    """The tool calls of a Chat Completions message: function calls and custom tools' calls
    (``type: custom``, whose free-text ``input`` is kept as their arguments)."""
    calls = []
    for call in getattr(message, "tool_calls", None) or ():
        function, custom = _field(call, "function"), _field(call, "custom")
        if function is not None:
            name, arguments = _field(function, "name"), _field(function, "arguments")
        elif custom is not None:
            name, arguments = _field(custom, "name"), _field(custom, "input")
        else:
            raise ValueError(f"a tool call of unknown type {_field(call, 'type')!r}")
        calls.append(tool_call(name, arguments, _field(call, "id")))
    return tuple(calls)


def _field(item: Any, name: str) -> Any:
    """``item.name``, or ``item[name]`` when the SDK kept an unknown part as a dict."""
    if isinstance(item, Mapping):
        return item.get(name)
    return getattr(item, name, None)


def anthropic_tool_calls(content: Sequence[Any]) -> tuple[dict[str, Any], ...]:
    """The ``tool_use`` blocks of an Anthropic message."""
    return tuple(tool_call(b.name, b.input, b.id) for b in content if b.type == "tool_use")
