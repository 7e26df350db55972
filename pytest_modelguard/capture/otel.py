"""OpenTelemetry GenAI spans (OTLP JSON) → Traces.

Messages are read from, in order: the ``gen_ai.input.messages`` / ``gen_ai.output.messages``
attributes (JSON), the span events ``gen_ai.{system,user,assistant,tool}.message`` and
``gen_ai.choice``, or the indexed ``gen_ai.prompt.N.*`` / ``gen_ai.completion.N.*``
attributes older instrumentations write.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from ..records.calls import Usage, tool_call
from .store import Trace

_REQUEST = {
    "gen_ai.request.temperature": "temperature", "gen_ai.request.max_tokens": "max_tokens",
    "gen_ai.request.top_p": "top_p", "gen_ai.request.seed": "seed",
}  # fmt: skip
_ROLES = ("system", "user", "assistant", "tool")


def spans_of(where: str, document: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every span of an OTLP JSON export, each with ``file:line#span N``."""
    number = 0
    for resource in document.get("resourceSpans") or ():
        for scope in (resource or {}).get("scopeSpans") or ():
            for span in (scope or {}).get("spans") or ():
                number += 1
                yield f"{where}#span {number}", span if isinstance(span, Mapping) else {}


def value_of(value: Any) -> Any:
    """An OTLP ``AnyValue`` as plain data."""
    if not isinstance(value, Mapping):
        return None
    for key in ("stringValue", "boolValue", "doubleValue"):
        if key in value:
            return value[key]
    if "intValue" in value:
        return int(value["intValue"])
    if "arrayValue" in value:
        return [value_of(v) for v in (value["arrayValue"] or {}).get("values") or ()]
    if "kvlistValue" in value:
        return attributes(value["kvlistValue"].get("values"))
    return None


def attributes(items: Any) -> dict[str, Any]:
    """OTLP ``[{key, value}]`` as a dict."""
    return {
        str(item.get("key")): value_of(item.get("value"))
        for item in items or ()
        if isinstance(item, Mapping)
    }


def trace_of_span(span: Mapping[str, Any]) -> Trace | str:
    """The Trace of one GenAI chat span, or why it is skipped."""
    attrs = attributes(span.get("attributes"))
    if not any(key.startswith("gen_ai.") for key in attrs):
        return "not a GenAI span (no gen_ai.* attributes)"
    if attrs.get("gen_ai.operation.name", "chat") not in ("chat", "text_completion"):
        return f"GenAI operation {str(attrs['gen_ai.operation.name'])[:20]!r} (not chat)"
    model = attrs.get("gen_ai.request.model") or attrs.get("gen_ai.response.model")
    if not isinstance(model, str) or not model:
        return "no gen_ai.request.model"
    try:
        messages, output, calls = _conversation(attrs, span.get("events") or ())
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        return f"unreadable GenAI messages ({type(exc).__name__})"
    if not messages:
        return "no prompt recorded (content capture off?)"
    if output is None and not calls:
        return "no completion recorded"
    if attrs.get("error.type"):
        return "the call failed"
    system = str(attrs.get("gen_ai.provider.name") or attrs.get("gen_ai.system") or "")
    start, end = _nanos(span.get("startTimeUnixNano")), _nanos(span.get("endTimeUnixNano"))
    reasons = attrs.get("gen_ai.response.finish_reasons")
    return Trace(
        provider="anthropic" if system == "anthropic" else "openai", model=model,
        messages=tuple(messages), params=_params(attrs), output=output or "",
        usage=_usage(attrs), latency_s=max(0.0, end - start), started_at=start,
        response_model=str(attrs.get("gen_ai.response.model") or ""),
        finish_reason=str(reasons[0]) if isinstance(reasons, list) and reasons else None,
        tool_calls=calls, host="import",
    )  # fmt: skip


def _nanos(value: Any) -> float:
    try:
        return int(value) / 1e9
    except (TypeError, ValueError):
        return 0.0


def _params(attrs: Mapping[str, Any]) -> dict[str, Any]:
    return {name: attrs[key] for key, name in _REQUEST.items() if attrs.get(key) is not None}


def _usage(attrs: Mapping[str, Any]) -> Usage | None:
    inp, out = attrs.get("gen_ai.usage.input_tokens"), attrs.get("gen_ai.usage.output_tokens")
    if not isinstance(inp, int) or not isinstance(out, int):
        return None
    return Usage(input_tokens=max(0, inp), output_tokens=max(0, out))


Conversation = tuple[list[dict[str, Any]], "str | None", tuple[Mapping[str, Any], ...]]


def _conversation(attrs: Mapping[str, Any], events: Any) -> Conversation:
    if "gen_ai.input.messages" in attrs:
        inputs = _loads(attrs["gen_ai.input.messages"])
        outputs = _loads(attrs.get("gen_ai.output.messages") or "[]")
        messages = [_from_parts(m) for m in inputs]
        if attrs.get("gen_ai.system_instructions"):
            system = _loads(attrs["gen_ai.system_instructions"])
            text = "".join(str(p.get("content", "")) for p in system if isinstance(p, Mapping))
            messages.insert(0, {"role": "system", "content": text})
        answer = _from_parts(outputs[0]) if outputs else {}
        return messages, answer.get("content"), _calls(answer)
    messages = []
    output: str | None = None
    calls: tuple[Mapping[str, Any], ...] = ()
    for event in events:
        name, data = str(event.get("name", "")), attributes(event.get("attributes"))
        role = name.removeprefix("gen_ai.").removesuffix(".message")
        if role in _ROLES:
            messages.append(_event_message(role, data))
        elif name == "gen_ai.choice":
            message = data.get("message")
            message = _loads(message) if isinstance(message, str) else (message or data)
            output = message.get("content")
            calls = _calls(_event_message("assistant", message))
    if not messages:  # gen_ai.prompt.N.role / .content (older instrumentations)
        for n in range(1000):
            if f"gen_ai.prompt.{n}.role" not in attrs:
                break
            messages.append({
                "role": attrs[f"gen_ai.prompt.{n}.role"],
                "content": attrs.get(f"gen_ai.prompt.{n}.content", ""),
            })  # fmt: skip
        output = attrs.get("gen_ai.completion.0.content", output)
    return messages, output, calls


def _loads(text: Any) -> Any:
    data = json.loads(text) if isinstance(text, str) else text
    if not isinstance(data, list | dict):
        raise ValueError("not a JSON list or object")
    return data


def _event_message(role: str, data: Mapping[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": role, "content": data.get("content")}
    calls = data.get("tool_calls")
    if isinstance(calls, str):
        calls = _loads(calls)
    if calls:
        message["tool_calls"] = [
            {"id": c.get("id", ""), "type": "function", "function": {
                "name": c["function"]["name"], "arguments": _text(c["function"].get("arguments"))}}
            for c in calls
        ]  # fmt: skip
    if role == "tool":
        message["tool_call_id"] = str(data.get("id") or data.get("tool_call_id") or "")
    if message["content"] is None and not calls:
        message["content"] = ""
    return message


def _from_parts(message: Mapping[str, Any]) -> dict[str, Any]:
    """A semconv message (``{role, parts: [...]}``) in the OpenAI form."""
    parts = message.get("parts") or ()
    text = "".join(str(p.get("content", "")) for p in parts if p.get("type") == "text")
    calls = [p for p in parts if p.get("type") == "tool_call"]
    results = [p for p in parts if p.get("type") == "tool_call_response"]
    if results:
        first = results[0]
        return {"role": "tool", "tool_call_id": str(first.get("id", "")),
                "content": _text(first.get("response"))}  # fmt: skip
    out: dict[str, Any] = {"role": str(message.get("role")), "content": text or None}
    if calls:
        out["tool_calls"] = [
            {"id": str(c.get("id", "")), "type": "function",
             "function": {"name": c["name"], "arguments": _text(c.get("arguments"))}}
            for c in calls
        ]  # fmt: skip
    elif out["content"] is None:
        out["content"] = ""
    return out


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value if value is not None else {})


def _calls(message: Mapping[str, Any]) -> tuple[Mapping[str, Any], ...]:
    return tuple(
        tool_call(c["function"]["name"], c["function"]["arguments"], c.get("id"))
        for c in message.get("tool_calls") or ()
    )
