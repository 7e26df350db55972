"""Captured tool use in the form suites write (OpenAI's), and the graders an export proposes."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from .store import Trace

_CHOICES = {"auto": "auto", "any": "required", "none": "none"}


def openai_form(trace: Trace) -> tuple[list[Any], dict[str, Any]]:
    """The trace's messages and params, Anthropic tool use and structured output rewritten
    in OpenAI's form."""
    if trace.provider != "anthropic":
        return list(trace.messages), dict(trace.params)
    params = dict(trace.params)
    params.update(_response_format(params.pop("output_config", None)))
    if isinstance(params.get("tools"), list):
        params["tools"] = [_function_tool(t) for t in params["tools"]]
    choice = params.get("tool_choice")
    if isinstance(choice, Mapping):
        if choice.get("disable_parallel_tool_use"):
            params["parallel_tool_calls"] = False
        if choice.get("type") == "tool":
            params["tool_choice"] = {"type": "function", "function": {"name": choice.get("name")}}
        else:
            params["tool_choice"] = _CHOICES.get(str(choice.get("type")), choice)
    messages: list[Any] = []
    for message in trace.messages:
        messages += _openai_messages(message)
    return messages, params


def _response_format(config: Any) -> dict[str, Any]:
    """``output_config`` whose ``format`` is a JSON schema as ``response_format`` (named by
    the schema's title; the rest of the config kept); any other config unchanged."""
    fmt = config.get("format") if isinstance(config, Mapping) else None
    if not isinstance(fmt, Mapping) or fmt.get("type") != "json_schema":
        return {} if config is None else {"output_config": config}
    schema = fmt.get("schema")
    title = schema.get("title") if isinstance(schema, Mapping) else None
    name = re.sub(r"[^A-Za-z0-9_-]", "_", str(title or "response"))[:64]
    out: dict[str, Any] = {
        "response_format": {"type": "json_schema", "json_schema": {"name": name, "schema": schema}}
    }
    rest = {k: v for k, v in config.items() if k != "format"}
    return {**out, "output_config": rest} if rest else out


def _function_tool(tool: Any) -> Any:
    if not isinstance(tool, Mapping) or "name" not in tool:
        return tool  # a server tool (web search...): refused by the suite check
    function = {"name": tool["name"], "parameters": tool.get("input_schema") or {}}
    if tool.get("description"):
        function["description"] = tool["description"]
    return {"type": "function", "function": function}


def _openai_messages(message: Any) -> list[Any]:
    """An Anthropic message as OpenAI messages: tool_use → tool_calls, tool_result → tool."""
    content = message.get("content") if isinstance(message, Mapping) else None
    if not isinstance(content, list) or not any(
        _kind(b) in ("tool_use", "tool_result") for b in content
    ):
        return [message]
    text = "".join(str(b.get("text", "")) for b in content if _kind(b) == "text")
    if message.get("role") == "assistant":
        calls = [
            {"id": b.get("id", ""), "type": "function",
             "function": {"name": b.get("name", ""), "arguments": json.dumps(b.get("input", {}))}}
            for b in content if _kind(b) == "tool_use"
        ]  # fmt: skip
        return [{"role": "assistant", "content": text or None, "tool_calls": calls}]
    out: list[Any] = [
        {"role": "tool", "tool_call_id": b.get("tool_use_id", ""), "content": _result(b)}
        for b in content
        if _kind(b) == "tool_result"
    ]
    others = [b for b in content if _kind(b) not in ("tool_result", "text")]
    if others:
        return [{"role": "user", "content": others}]  # images beside results: not exportable
    return out + ([{"role": "user", "content": text}] if text else [])


def _kind(block: Any) -> str:
    return str(block.get("type")) if isinstance(block, Mapping) else ""


def _result(block: Mapping[str, Any]) -> Any:
    content = block.get("content", "")
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
    return content


def graders_for(trace: Trace, params: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """``tool_call: {against: baseline}`` for a tool-call answer; the response schema (and
    similarity) for a structured one; None: the suite's default grader."""
    if trace.tool_calls:
        return [{"tool_call": {"against": "baseline"}}]
    response_format = params.get("response_format")
    if isinstance(response_format, Mapping) and response_format.get("type") == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
        if isinstance(schema, Mapping):
            return [{"json_schema": {"schema": dict(schema)}}, {"similarity": "baseline"}]
    return None
