"""Requests of the Responses API and of ``parse`` as capture records them: in the chat form
suites write (messages with tool calls, function tools, ``response_format``, ``max_tokens``),
so an export replays on any provider kind."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_RESPONSES_ONLY = frozenset(("input", "instructions", "text_format", "include"))
"""Responses-only fields (``include`` asks for extra output items, which chat has not)."""


def structured(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """``response_format`` (``parse``) or ``text_format`` given as a Pydantic class, as the
    JSON schema response format the SDK sends; Anthropic's ``output_format`` class
    (``messages.parse``/``stream``) as the ``output_config.format`` it sends."""
    out: dict[str, Any] = {}
    response_format = kwargs.get("response_format", kwargs.get("text_format"))
    if isinstance(response_format, type):
        from openai.lib._parsing._completions import type_to_response_format_param

        param: Any = type_to_response_format_param(response_format)
        out["response_format"] = dict(param)
    output_format = kwargs.get("output_format")
    if isinstance(output_format, type):
        from anthropic.lib._parse._transform import transform_schema
        from pydantic import TypeAdapter

        schema = transform_schema(TypeAdapter(output_format).json_schema())
        config = kwargs.get("output_config")
        config = dict(config) if isinstance(config, Mapping) else {}
        out["output_config"] = {**config, "format": {"type": "json_schema", "schema": schema}}
    return out


def chat_request(kwargs: Mapping[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    """A ``responses.create``/``stream``/``parse`` call's (messages, params) in chat form."""
    messages: list[Any] = []
    if kwargs.get("instructions"):
        messages.append({"role": "system", "content": kwargs["instructions"]})
    raw = kwargs.get("input")
    if isinstance(raw, str):
        messages.append({"role": "user", "content": raw})
    elif isinstance(raw, list | tuple):
        for item in raw:
            _add_item(messages, item)
    params: dict[str, Any] = {}
    for key, value in kwargs.items():
        if key in _RESPONSES_ONLY:
            continue
        if key == "tools" and isinstance(value, list | tuple):
            params["tools"] = [_function_tool(tool) for tool in value]
        elif key == "tool_choice" and isinstance(value, Mapping) and "name" in value:
            params["tool_choice"] = {"type": "function", "function": {"name": value["name"]}}
        elif key == "text" and isinstance(value, Mapping):
            params.update(_text_params(value))
        elif key == "max_output_tokens":
            params["max_tokens"] = value
        else:
            params[key] = value
    return messages, {**params, **structured(kwargs)}


def _add_item(messages: list[Any], item: Any) -> None:
    kind = item.get("type") if isinstance(item, Mapping) else None
    if kind == "function_call":
        function = {"name": item.get("name", ""), "arguments": item.get("arguments")}
        call = {"id": item.get("call_id", ""), "type": "function", "function": function}
        last = messages[-1] if messages else None
        if isinstance(last, dict) and last.get("role") == "assistant":
            last.setdefault("tool_calls", []).append(call)
        else:
            messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
    elif kind == "function_call_output":
        output = item.get("output")
        messages.append(
            {"role": "tool", "tool_call_id": item.get("call_id", ""), "content": output}
        )
    elif isinstance(item, Mapping) and "role" in item:
        messages.append({"role": item["role"], "content": _content(item.get("content"))})
    else:
        messages.append(item)  # reasoning or item references: refused by export with a reason


def _content(content: Any) -> Any:
    """Input text parts joined into text; other content (images, files) kept as written."""
    if isinstance(content, list) and all(
        isinstance(p, Mapping) and p.get("type") in ("input_text", "output_text") for p in content
    ):
        return "".join(str(p.get("text", "")) for p in content)
    return content


def _function_tool(tool: Any) -> Any:
    if not isinstance(tool, Mapping) or tool.get("type") != "function" or "name" not in tool:
        return tool  # a built-in tool (web search...): refused by export with a reason
    function = {k: v for k, v in tool.items() if k != "type"}
    return {"type": "function", "function": function}


def _text_params(text: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    rest = {k: v for k, v in text.items() if k != "format"}
    if rest:
        out["text"] = rest
    fmt = text.get("format")
    if isinstance(fmt, Mapping) and fmt.get("type") == "json_schema":
        spec = {k: v for k, v in fmt.items() if k != "type"}
        out["response_format"] = {"type": "json_schema", "json_schema": spec}
    elif isinstance(fmt, Mapping) and fmt.get("type") == "json_object":
        out["response_format"] = {"type": "json_object"}
    return out
