"""OpenTelemetry GenAI spans (OTLP JSON) → Traces.

Messages are read from, in order: the ``gen_ai.input.messages`` / ``gen_ai.output.messages``
attributes (JSON), the span events ``gen_ai.{system,user,assistant,tool}.message`` and
``gen_ai.choice``, or the indexed ``gen_ai.prompt.N.*`` / ``gen_ai.completion.N.*``
attributes older instrumentations (OpenLLMetry) write, every N however many. Usage is
``gen_ai.usage.input_tokens``/``output_tokens`` or OpenLLMetry's ``prompt_tokens``/
``completion_tokens``. A failed span (status ERROR, or ``error.type``) is a failed call.

Every field is checked for its type as it is read: a span whose fields are not what OTLP
says (attributes that are not a list, an ``intValue`` that is not a whole number, a time
out of range) raises ``Malformed`` naming the field, and is skipped with that reason.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ..records.calls import Usage, tool_call
from .import_checks import seconds, token_count
from .import_input import ImportResult, Malformed, load_json, shown
from .store import Trace

_REQUEST = {
    "gen_ai.request.temperature": "temperature", "gen_ai.request.max_tokens": "max_tokens",
    "gen_ai.request.top_p": "top_p", "gen_ai.request.seed": "seed",
}  # fmt: skip
_USAGE = (
    ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens"),
    ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens"),
)
_CHAT = ("chat", "text_completion", "generate_content")
_ROLES = ("system", "user", "assistant", "tool")
_INDEXED = re.compile(r"gen_ai\.prompt\.(\d+)\.")
_ERROR = (2, "2", "STATUS_CODE_ERROR")
_INT64 = 2**63
Note = Callable[[str], None]


def spans_of(
    where: str, document: Mapping[str, Any], result: ImportResult
) -> Iterator[tuple[str, Any]]:
    """Every span of an OTLP JSON export, each with ``file:line#span N``."""
    number = 0
    for r, resource in enumerate(_list(document, "resourceSpans", where, result), start=1):
        for s, scope in enumerate(_list(resource, "scopeSpans", f"{where}#resource {r}", result)):
            for span in _list(scope, "spans", f"{where}#resource {r} scope {s + 1}", result):
                number += 1
                yield f"{where}#span {number}", span


def _list(owner: Any, key: str, where: str, result: ImportResult) -> list[Any]:
    """``owner[key]`` when it is a list (absent: empty); otherwise skipped and counted."""
    if not isinstance(owner, Mapping):
        result.skip(where, f"an OTLP item holding {key} is not an object")
        return []
    items = owner.get(key)
    if items is None:
        return []
    if not isinstance(items, list):
        result.skip(where, f"OTLP {key} is not a list")
        return []
    return items


class Attributes:
    """OTLP ``[{key, value}]``; each value read (and checked) when asked for."""

    def __init__(self, items: Any, owner: str) -> None:
        if items is None:
            items = []
        if not isinstance(items, list):
            raise Malformed(f"{owner} attributes is not a list")
        self.raw: dict[str, Any] = {}
        for item in items:
            if not isinstance(item, Mapping) or not isinstance(item.get("key"), str):
                raise Malformed(f"{owner} attribute without a string key")
            self.raw[item["key"]] = item.get("value")

    def __contains__(self, key: str) -> bool:
        return key in self.raw

    def get(self, key: str, default: Any = None) -> Any:
        return value_of(self.raw[key], key) if key in self.raw else default

    def text(self, key: str) -> str | None:
        """A string attribute (None when absent); Malformed when it is something else."""
        value = self.get(key)
        if value is not None and not isinstance(value, str):
            raise Malformed(f"{shown(key)} is not a string")
        return value


def value_of(value: Any, key: str) -> Any:
    """An OTLP ``AnyValue`` as plain data; Malformed naming ``key`` when it is not one."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise Malformed(f"{shown(key)}: the value is not an OTLP AnyValue object")
    if "stringValue" in value:
        return _typed(value["stringValue"], str, key, "stringValue", "a string")
    if "boolValue" in value:
        return _typed(value["boolValue"], bool, key, "boolValue", "true or false")
    if "intValue" in value:
        return _int(value["intValue"], key)
    if "doubleValue" in value:
        return _double(value["doubleValue"], key)
    if "arrayValue" in value:
        return [value_of(v, key) for v in _values(value["arrayValue"], key, "arrayValue")]
    if "kvlistValue" in value:
        items = _values(value["kvlistValue"], key, "kvlistValue")
        inner = Attributes(items, shown(key))
        return {name: inner.get(name) for name in inner.raw}
    return None  # bytesValue or an empty value: nothing modelguard reads


def _typed(value: Any, kind: type, key: str, field: str, what: str) -> Any:
    if not isinstance(value, kind):
        raise Malformed(f"{shown(key)}: {field} is not {what}")
    return value


def _int(value: Any, key: str) -> int:
    """OTLP JSON writes int64 as a string of digits (or a JSON integer)."""
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,19}", value.strip()):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not -_INT64 <= value < _INT64:
        raise Malformed(f"{shown(key)}: intValue is not a 64-bit whole number")
    return value


def _double(value: Any, key: str) -> float:
    if isinstance(value, str):  # proto3 JSON may write a double as a string
        try:
            value = float(value)
        except ValueError:
            raise Malformed(f"{shown(key)}: doubleValue is not a number") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise Malformed(f"{shown(key)}: doubleValue is not a number")
    if abs(value) == float("inf"):
        raise Malformed(f"{shown(key)}: doubleValue is infinite")
    return float(value)


def _values(holder: Any, key: str, field: str) -> list[Any]:
    values = holder.get("values") if isinstance(holder, Mapping) else None
    if not isinstance(values, list):
        raise Malformed(f"{shown(key)}: {field} without a values list")
    return values


def trace_of_span(span: Any, note: Note) -> Trace | str:
    """The Trace of one GenAI chat span, or why it is skipped (``note`` hears caveats)."""
    try:
        return _trace(span, note)
    except Malformed as exc:
        return str(exc)


def _trace(span: Any, note: Note) -> Trace | str:
    if not isinstance(span, Mapping):
        return "span is not an object"
    attrs = Attributes(span.get("attributes"), "span")
    if not any(key.startswith("gen_ai.") for key in attrs.raw):
        return "not a GenAI span (no gen_ai.* attributes)"
    operation = attrs.text("gen_ai.operation.name") or "chat"
    if operation not in _CHAT:
        return f"GenAI operation {operation[:20]!r} (not chat)"
    model = attrs.text("gen_ai.request.model") or attrs.text("gen_ai.response.model")
    if not model:
        return "no gen_ai.request.model"
    messages, output, calls = _conversation(attrs, span.get("events"))
    if not messages:
        return "no prompt recorded (content capture off?)"
    error = _failure(span, attrs)
    if error is None and output is None and not calls:
        return "no completion recorded"
    system = attrs.text("gen_ai.provider.name") or attrs.text("gen_ai.system") or ""
    start = seconds(_nanos(span.get("startTimeUnixNano"), "startTimeUnixNano"), "startTimeUnixNano")
    return Trace(
        provider="anthropic" if system == "anthropic" else "openai", model=model,
        messages=tuple(messages), params=_params(attrs),
        output=None if error is not None else output or "", error=error,
        usage=_usage(attrs), latency_s=_latency(span, start, note), started_at=start,
        response_model=attrs.text("gen_ai.response.model") or "",
        finish_reason=_finish_reason(attrs), tool_calls=calls, host="import",
    )  # fmt: skip


def _failure(span: Mapping[str, Any], attrs: Attributes) -> str | None:
    """The error of a failed span (status ERROR or ``error.type``), None when it succeeded."""
    status = span.get("status")
    if status is not None and not isinstance(status, Mapping):
        raise Malformed("span status is not an object")
    status = status or {}
    kind = attrs.get("error.type")
    if status.get("code") not in _ERROR and not kind:
        return None
    message = status.get("message")
    parts = [str(kind or "error"), message if isinstance(message, str) else ""]
    return ": ".join(p for p in parts if p)[:300]


def _nanos(value: Any, name: str) -> float:
    """Unix nanoseconds (a string of digits or an integer) as seconds."""
    if value is None:
        raise Malformed(f"no {name}")
    if isinstance(value, str) and re.fullmatch(r"\d{1,20}", value.strip()):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise Malformed(f"{name} is not a whole number of nanoseconds")
    return value / 1e9


def _latency(span: Mapping[str, Any], start: float, note: Note) -> float | None:
    if span.get("endTimeUnixNano") is None:
        note("latency unknown: the span has no endTimeUnixNano")
        return None
    end = seconds(_nanos(span["endTimeUnixNano"], "endTimeUnixNano"), "endTimeUnixNano")
    if end < start:
        note("latency unknown: endTimeUnixNano is before startTimeUnixNano")
        return None
    return end - start


def _params(attrs: Attributes) -> dict[str, Any]:
    params = {}
    for key, name in _REQUEST.items():
        value = attrs.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise Malformed(f"{key} is not a number")
        params[name] = value
    return params


def _usage(attrs: Attributes) -> Usage | None:
    counts = []
    for names in _USAGE:
        key = next((k for k in names if attrs.get(k) is not None), None)
        if key is None:
            return None
        counts.append(token_count(attrs.get(key), key))
    return Usage(input_tokens=counts[0], output_tokens=counts[1])


def _finish_reason(attrs: Attributes) -> str | None:
    reasons = attrs.get("gen_ai.response.finish_reasons")
    if isinstance(reasons, list) and reasons:
        return str(reasons[0])
    return reasons if isinstance(reasons, str) else None


Conversation = tuple[list[dict[str, Any]], "str | None", tuple[Mapping[str, Any], ...]]


def _conversation(attrs: Attributes, events: Any) -> Conversation:
    if "gen_ai.input.messages" in attrs:
        return _semconv(attrs)
    if events is not None and not isinstance(events, list):
        raise Malformed("span events is not a list")
    messages: list[dict[str, Any]] = []
    output: str | None = None
    calls: tuple[Mapping[str, Any], ...] = ()
    for event in events or ():
        if not isinstance(event, Mapping):
            raise Malformed("span event is not an object")
        name = event.get("name")
        data = Attributes(event.get("attributes"), "event")
        role = str(name).removeprefix("gen_ai.").removesuffix(".message")
        if isinstance(name, str) and role in _ROLES:
            messages.append(_event_message(role, _plain(data)))
        elif name == "gen_ai.choice":
            message = data.get("message")
            message = _json(message, "gen_ai.choice message") if isinstance(message, str) else (
                message if message is not None else _plain(data))  # fmt: skip
            if not isinstance(message, Mapping):
                raise Malformed("gen_ai.choice message is not an object")
            output = _answer(message.get("content"))
            calls = _calls(_event_message("assistant", message))
    if not messages:
        return _indexed(attrs)
    return messages, output, calls


def _answer(content: Any) -> str | None:
    """An answer's text: a string, or the text parts of a list joined."""
    content = _content(content, "gen_ai.choice content")
    if isinstance(content, list):
        parts = [p.get("text") for p in content if isinstance(p, Mapping)]
        return "".join(p for p in parts if isinstance(p, str))
    return None if content is None else str(content)


def _plain(data: Attributes) -> dict[str, Any]:
    return {key: data.get(key) for key in data.raw}


def _semconv(attrs: Attributes) -> Conversation:
    inputs = _objects(_json(attrs.get("gen_ai.input.messages"), "gen_ai.input.messages"),
                      "gen_ai.input.messages")  # fmt: skip
    outputs = _objects(_json(attrs.get("gen_ai.output.messages") or "[]",
                             "gen_ai.output.messages"), "gen_ai.output.messages")  # fmt: skip
    messages = [_from_parts(m) for m in inputs]
    if attrs.get("gen_ai.system_instructions"):
        key = "gen_ai.system_instructions"
        system = _objects(_json(attrs.get(key), key), key)
        text = "".join(_content(p.get("content", ""), key) or "" for p in system)
        messages.insert(0, {"role": "system", "content": text})
    answer = _from_parts(outputs[0]) if outputs else {}
    return messages, answer.get("content"), _calls(answer)


def _json(value: Any, key: str) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return load_json(value)
    except Malformed as exc:
        raise Malformed(f"{key}: {exc}") from None


def _objects(value: Any, key: str) -> list[Mapping[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise Malformed(f"{key} is not a JSON list of objects")
    return value


def _content(value: Any, key: str) -> Any:
    """Message content: text, a list of parts, or None; Malformed for anything else."""
    if value is None or isinstance(value, str | list):
        return value
    raise Malformed(f"{key} is not text")


def _event_message(role: str, data: Mapping[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": role, "content": _content(data.get("content"), "content")}
    calls = data.get("tool_calls")
    if isinstance(calls, str):
        calls = _json(calls, "tool_calls")
    if calls:
        message["tool_calls"] = [_openai_call(c) for c in _objects(calls, "tool_calls")]
    if role == "tool":
        message["tool_call_id"] = str(data.get("id") or data.get("tool_call_id") or "")
    if message["content"] is None and not calls:
        message["content"] = ""
    return message


def _openai_call(call: Mapping[str, Any]) -> dict[str, Any]:
    function = call.get("function")
    if not isinstance(function, Mapping) or not isinstance(function.get("name"), str):
        raise Malformed("a tool call without a function name")
    arguments = _text(function.get("arguments"))
    return {"id": str(call.get("id") or ""), "type": "function",
            "function": {"name": function["name"], "arguments": arguments}}  # fmt: skip


def _from_parts(message: Mapping[str, Any]) -> dict[str, Any]:
    """A semconv message (``{role, parts: [...]}``) in the OpenAI form."""
    role = message.get("role")
    if not isinstance(role, str):
        raise Malformed("a GenAI message without a role")
    parts = _objects(message.get("parts") or [], "parts")
    text = "".join(_content(p.get("content"), "text part") or "" for p in parts
                   if p.get("type") == "text")  # fmt: skip
    calls = [p for p in parts if p.get("type") == "tool_call"]
    results = [p for p in parts if p.get("type") == "tool_call_response"]
    if results:
        first = results[0]
        return {"role": "tool", "tool_call_id": str(first.get("id") or ""),
                "content": _text(first.get("response"))}  # fmt: skip
    images = [_image(p) for p in parts if p.get("type") in ("blob", "uri")
              and p.get("modality") == "image"]  # fmt: skip
    content = [{"type": "text", "text": text}] if text else []
    out: dict[str, Any] = {"role": role, "content": content + images if images else text or None}
    if calls:
        for call in calls:
            if not isinstance(call.get("name"), str):
                raise Malformed("a tool_call part without a name")
        out["tool_calls"] = [
            {"id": str(c.get("id") or ""), "type": "function",
             "function": {"name": c["name"], "arguments": _text(c.get("arguments"))}}
            for c in calls
        ]  # fmt: skip
    elif out["content"] is None:
        out["content"] = ""
    return out


def _image(part: Mapping[str, Any]) -> dict[str, Any]:
    """A semconv image part (``blob``: base64 ``content`` with its ``mime_type``; ``uri``) as
    Chat Completions' ``image_url`` (its bytes are checked and kept when the call is stored)."""
    if part.get("type") == "uri":
        url = part.get("uri")
        if not isinstance(url, str):
            raise Malformed("an image uri part without a uri string")
        return {"type": "image_url", "image_url": {"url": url}}
    data, mime = part.get("content"), part.get("mime_type") or "application/octet-stream"
    if not isinstance(data, str) or not isinstance(mime, str):
        raise Malformed("an image blob part without base64 content")
    return {"type": "image_url", "image_url": {"url": f"data:{mime};base64,{data}"}}


def _indexed(attrs: Attributes) -> Conversation:
    """``gen_ai.prompt.N.{role,content,tool_calls.K.*,tool_call_id}``: every N, in order."""
    numbers = sorted({int(m.group(1)) for key in attrs.raw if (m := _INDEXED.match(key))})
    messages = [_indexed_message(attrs, f"gen_ai.prompt.{n}") for n in numbers]
    completion = _indexed_message(attrs, "gen_ai.completion.0", "assistant")
    output = completion["content"] if "gen_ai.completion.0.content" in attrs else None
    return messages, output, _calls(completion)


def _indexed_message(attrs: Attributes, prefix: str, role: str | None = None) -> dict[str, Any]:
    role = attrs.text(f"{prefix}.role") or role
    if role is None:
        raise Malformed(f"{prefix}.role is missing")
    content = attrs.text(f"{prefix}.content")
    message: dict[str, Any] = {"role": role, "content": content}
    calls = []
    for k in range(len(attrs.raw)):
        name = attrs.text(f"{prefix}.tool_calls.{k}.name")
        if name is None:
            break
        arguments = attrs.get(f"{prefix}.tool_calls.{k}.arguments")
        ident = attrs.text(f"{prefix}.tool_calls.{k}.id") or ""
        calls.append({"id": ident, "type": "function",
                      "function": {"name": name, "arguments": _text(arguments)}})  # fmt: skip
    if calls:
        message["tool_calls"] = calls
    if role == "tool":
        message["tool_call_id"] = attrs.text(f"{prefix}.tool_call_id") or ""
    if content is None and not calls:
        message["content"] = ""
    return message


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value if value is not None else {})


def _calls(message: Mapping[str, Any]) -> tuple[Mapping[str, Any], ...]:
    return tuple(
        tool_call(c["function"]["name"], c["function"]["arguments"], c.get("id"))
        for c in message.get("tool_calls") or ()
    )
