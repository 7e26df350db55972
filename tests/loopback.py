"""A loopback LLM server speaking the OpenAI Chat Completions and Anthropic Messages wire formats.

The official ``openai`` and ``anthropic`` SDKs work against it unchanged, so tests
and benchmarks exercise the real client code without the internet or a key.
In-process::

    with LoopbackServer(responder, latency_s=0.01) as srv:
        client = openai.OpenAI(base_url=srv.openai_base_url, api_key="k")

As a separate process (prints the root URL on stdout)::

    python tests/loopback.py --port 0 --latency 0.2
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import random
import re
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from typing import Any, Literal

try:  # run as a script, or imported with tests/ on the path
    import loopback_cloud
    from loopback_media import Media, media_of
except ModuleNotFoundError:  # imported as tests.loopback (examples/)
    from tests import loopback_cloud
    from tests.loopback_media import Media, media_of

Wire = Literal["openai", "anthropic"]
FaultKind = Literal["status", "hang", "reset", "malformed"]


@dataclass(frozen=True, slots=True)
class Call:
    """One request as the server saw it; ``messages`` are normalised to text, system first."""

    wire: Wire
    model: str
    messages: tuple[dict[str, str], ...]
    params: dict[str, Any]
    headers: dict[str, str]
    stream: bool = False
    received_at: float = 0.0  # time.monotonic() when the request arrived
    path: str = ""  # the route called (/v1/chat/completions, /v1/messages, /v1/responses)
    body: dict[str, Any] = field(default_factory=dict, compare=False)  # the raw request body
    media: tuple[Media, ...] = ()  # images, audio and documents sent (loopback_media.py)

    @property
    def tool_names(self) -> list[str]:
        """The names of the tools the request offered (either wire format)."""
        tools = self.params.get("tools") or []
        return [str(t.get("function", t).get("name", "")) for t in tools if isinstance(t, dict)]

    @property
    def prompt(self) -> str:
        """The text of the last user message."""
        users = [m["content"] for m in self.messages if m["role"] == "user"]
        return users[-1] if users else ""

    @property
    def system(self) -> str | None:
        if self.messages and self.messages[0]["role"] == "system":
            return self.messages[0]["content"]
        return None


@dataclass(frozen=True, slots=True)
class Fault:
    """A failure to inject instead of an answer; build with the class methods."""

    kind: FaultKind
    status: int = 0
    retry_after: str | None = None
    retry_after_ms: int | None = None
    seconds: float = 3600.0

    @classmethod
    def http(
        cls, status: int, retry_after: float | str | None = None, retry_after_ms: int | None = None
    ) -> Fault:
        """An error response with the wire's error body and optional Retry-After headers."""
        after = None if retry_after is None else str(retry_after)
        return cls("status", status=status, retry_after=after, retry_after_ms=retry_after_ms)

    @classmethod
    def hang(cls, seconds: float = 3600.0) -> Fault:
        """Send nothing for ``seconds`` (past the client's timeout), then drop the connection."""
        return cls("hang", seconds=seconds)

    @classmethod
    def reset(cls) -> Fault:
        """Abort the connection (TCP RST) without a response."""
        return cls("reset")

    @classmethod
    def malformed(cls) -> Fault:
        """A 200 response whose JSON body is cut short."""
        return cls("malformed")


@dataclass(frozen=True, slots=True)
class Reply:
    """What a responder answers; token counts default to word-count estimates."""

    text: str
    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    finish_reason: Literal["stop", "length"] = "stop"
    latency_s: float | None = None
    fault: Fault | None = None
    tool_calls: tuple[dict[str, Any], ...] = ()
    """{name, arguments (data), id (optional), type (optional: "custom" for a custom tool's
    call, whose arguments are its free-text input; OpenAI wires only)}."""

    def calls(self) -> list[dict[str, Any]]:
        """The scripted tool calls, each with an id and a type."""
        return [
            {
                "id": c.get("id") or f"call_{i}",
                "name": c["name"],
                "arguments": c["arguments"],
                "type": c.get("type", "function"),
            }
            for i, c in enumerate(self.tool_calls)
        ]


Responder = Callable[[Call], "Reply | str"]
FaultPlan = Callable[[Call, int], "Fault | None"]
"""Called with the call and how many earlier calls had the same model and prompt."""


def echo(call: Call) -> Reply:
    """The default responder: a deterministic echo of the model and prompt."""
    return Reply(text=f"echo {call.model}: {call.prompt}")


def fail_first(
    k: int, fault: Fault, *, prompt: str | None = None, model: str | None = None
) -> FaultPlan:
    """Fail the first ``k`` calls of each matching (model, prompt) with ``fault``."""

    def plan(call: Call, n: int) -> Fault | None:
        wanted = prompt in (None, call.prompt) and model in (None, call.model)
        return fault if wanted and n < k else None

    return plan


def fail_rate(rate: float, fault: Fault, *, seed: int = 0) -> FaultPlan:
    """Fail a seeded, order-independent fraction ``rate`` of calls with ``fault``."""

    def plan(call: Call, n: int) -> Fault | None:
        draw = random.Random(f"{seed}\x00{call.model}\x00{call.prompt}\x00{n}").random()
        return fault if draw < rate else None

    return plan


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return "" if content is None else str(content)


def _parse_call(wire: Wire, body: dict[str, Any], headers: dict[str, str], path: str = "") -> Call:
    if path == "/v1/responses":
        return _parse_responses(body, headers, path)
    messages = [
        {"role": str(m.get("role")), "content": _text_of(m.get("content"))}
        for m in body.get("messages", [])
    ]
    if wire == "anthropic" and body.get("system") is not None:
        messages.insert(0, {"role": "system", "content": _text_of(body["system"])})
    params = {k: v for k, v in body.items() if k not in ("model", "messages", "system", "stream")}
    return Call(
        wire,
        str(body.get("model", "")),
        tuple(messages),
        params,
        headers,
        bool(body.get("stream")),
        time.monotonic(),
        path,
        media=media_of(body),
    )


def _parse_responses(body: dict[str, Any], headers: dict[str, str], path: str) -> Call:
    """A Responses API request: ``input`` (text or items) and ``instructions``."""
    raw = body.get("input")
    items = [{"role": "user", "content": raw}] if isinstance(raw, str) else list(raw or [])
    messages = [
        {"role": str(m.get("role")), "content": _text_of(m.get("content"))}
        for m in items
        if isinstance(m, dict) and "role" in m
    ]
    if body.get("instructions"):
        messages.insert(0, {"role": "system", "content": str(body["instructions"])})
    params = {
        k: v for k, v in body.items() if k not in ("model", "input", "instructions", "stream")
    }
    stream = bool(body.get("stream"))
    return Call(
        "openai", str(body.get("model", "")), tuple(messages), params, headers, stream,
        time.monotonic(), path, media=media_of(body),
    )  # fmt: skip


def _words(text: str) -> int:
    return len(text.split())


def _counts(call: Call, reply: Reply) -> tuple[int, int]:
    inp = reply.input_tokens
    if inp is None:
        inp = sum(_words(m["content"]) + 4 for m in call.messages)
    words = _words(reply.text) + sum(len(json.dumps(c["arguments"]).split()) for c in reply.calls())
    out = reply.output_tokens if reply.output_tokens is not None else max(1, words)
    return inp, out


def openai_usage(call: Call, reply: Reply) -> dict[str, Any]:
    inp, out = _counts(call, reply)
    return {
        "prompt_tokens": inp,
        "completion_tokens": out,
        "total_tokens": inp + out,
        "prompt_tokens_details": {"cached_tokens": reply.cached_tokens, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": reply.reasoning_tokens,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def anthropic_usage(call: Call, reply: Reply) -> dict[str, Any]:
    inp, out = _counts(call, reply)
    return {
        "input_tokens": max(0, inp - reply.cached_tokens - reply.cache_write_tokens),
        "output_tokens": out,
        "cache_read_input_tokens": reply.cached_tokens,
        "cache_creation_input_tokens": reply.cache_write_tokens,
        "service_tier": "standard",
    }


def _openai_tool_calls(reply: Reply) -> list[dict[str, Any]]:
    return [
        {"id": c["id"], "type": "custom", "custom": {"name": c["name"], "input": c["arguments"]}}
        if c["type"] == "custom"
        else {
            "id": c["id"],
            "type": "function",
            "function": {"name": c["name"], "arguments": json.dumps(c["arguments"])},
        }
        for c in reply.calls()
    ]


def _openai_finish(reply: Reply) -> str:
    return (
        "tool_calls" if reply.tool_calls and reply.finish_reason == "stop" else reply.finish_reason
    )


def _openai_body(call: Call, reply: Reply, ident: str) -> dict[str, Any]:
    message: dict[str, Any] = {
        "role": "assistant",
        "content": reply.text or (None if reply.tool_calls else ""),
        "refusal": None,
        "annotations": [],
    }
    if reply.tool_calls:
        message["tool_calls"] = _openai_tool_calls(reply)
    return {
        "id": ident,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": call.model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": _openai_finish(reply),
            }
        ],
        "usage": openai_usage(call, reply),
        "service_tier": "default",
        "system_fingerprint": "fp_loopback",
    }


def _stop_reason(reply: Reply) -> str:
    if reply.finish_reason != "stop":
        return "max_tokens"
    return "tool_use" if reply.tool_calls else "end_turn"


def _anthropic_content(reply: Reply) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if reply.text or not reply.tool_calls:
        blocks.append({"type": "text", "text": reply.text})
    blocks += [
        {"type": "tool_use", "id": c["id"], "name": c["name"], "input": c["arguments"]}
        for c in reply.calls()
    ]
    return blocks


def _anthropic_body(call: Call, reply: Reply, ident: str) -> dict[str, Any]:
    return {
        "id": ident,
        "type": "message",
        "role": "assistant",
        "model": call.model,
        "content": _anthropic_content(reply),
        "stop_reason": _stop_reason(reply),
        "stop_sequence": None,
        "usage": anthropic_usage(call, reply),
    }


def _responses_body(call: Call, reply: Reply, ident: str) -> dict[str, Any]:
    """A Responses API ``Response``: a message item and one function_call item per tool call."""
    inp, out = _counts(call, reply)
    output: list[dict[str, Any]] = []
    if reply.text or not reply.tool_calls:
        text = {"type": "output_text", "text": reply.text, "annotations": []}
        output.append({"type": "message", "id": "msg_0", "status": "completed",
                       "role": "assistant", "content": [text]})  # fmt: skip
    output += [
        {
            "type": "custom_tool_call", "id": f"ctc_{c['id']}", "call_id": c["id"],
            "name": c["name"], "input": c["arguments"], "status": "completed",
        }
        if c["type"] == "custom"
        else {
            "type": "function_call",
            "id": f"fc_{c['id']}",
            "call_id": c["id"],
            "name": c["name"],
            "arguments": json.dumps(c["arguments"]),
            "status": "completed",
        }
        for c in reply.calls()
    ]  # fmt: skip
    return {
        "id": ident, "object": "response", "created_at": int(time.time()), "status": "completed",
        "model": call.model, "output": output, "parallel_tool_calls": True,
        "tool_choice": call.params.get("tool_choice", "auto"),
        "tools": call.params.get("tools", []),
        "error": None, "incomplete_details": None, "instructions": None, "metadata": {},
        "temperature": None, "top_p": None,
        "usage": {
            "input_tokens": inp, "output_tokens": out, "total_tokens": inp + out,
            "input_tokens_details": {"cached_tokens": reply.cached_tokens},
            "output_tokens_details": {"reasoning_tokens": reply.reasoning_tokens},
        },
    }  # fmt: skip


def _responses_events(body: dict[str, Any], text: str) -> list[tuple[str, dict[str, Any]]]:
    """A Responses stream as the API sends it: each output item added, its text in deltas,
    done; ``response.completed`` (with the whole Response) is appended by the caller."""
    raw: list[dict[str, Any]] = [
        {"type": "response.created", "response": {**body, "status": "in_progress", "output": []}}
    ]
    for index, item in enumerate(body["output"]):
        empty = {**item, "content": []} if item["type"] == "message" else item
        raw.append({"type": "response.output_item.added", "output_index": index, "item": empty})
        if item["type"] == "message":
            where = {"item_id": item["id"], "output_index": index, "content_index": 0}
            part = {"type": "output_text", "text": "", "annotations": []}
            raw.append({"type": "response.content_part.added", **where, "part": part})
            raw += [
                {"type": "response.output_text.delta", **where, "delta": piece, "logprobs": []}
                for piece in _pieces(text)
            ]
            raw.append({"type": "response.output_text.done", **where, "text": text,
                        "logprobs": []})  # fmt: skip
            raw.append({"type": "response.content_part.done", **where,
                        "part": {**part, "text": text}})  # fmt: skip
        raw.append({"type": "response.output_item.done", "output_index": index, "item": item})
    return [(e["type"], {**e, "sequence_number": n}) for n, e in enumerate(raw)]


def _pieces(text: str) -> list[str]:
    return re.findall(r"^\s+|\S+\s*", text)


def _openai_events(call: Call, reply: Reply, ident: str) -> list[str]:
    head = {
        "id": ident,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": call.model,
        "system_fingerprint": "fp_loopback",
    }
    with_usage = bool((call.params.get("stream_options") or {}).get("include_usage"))

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        data = {
            **head,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        return {**data, "usage": None} if with_usage else data

    chunks = [chunk({"role": "assistant", "content": "", "refusal": None})]
    chunks += [chunk({"content": piece}) for piece in _pieces(reply.text)]
    for index, tool in enumerate(_openai_tool_calls(reply)):
        arguments = tool["function"]["arguments"]
        head_delta = {**tool, "function": {"name": tool["function"]["name"], "arguments": ""}}
        chunks.append(chunk({"tool_calls": [{"index": index, **head_delta}]}))
        for part in (arguments[: len(arguments) // 2], arguments[len(arguments) // 2 :]):
            chunks.append(
                chunk({"tool_calls": [{"index": index, "function": {"arguments": part}}]})
            )
    chunks.append(chunk({}, _openai_finish(reply)))
    if with_usage:
        chunks.append({**head, "choices": [], "usage": openai_usage(call, reply)})
    return [f"data: {json.dumps(c)}\n\n" for c in chunks] + ["data: [DONE]\n\n"]


def _anthropic_events(call: Call, reply: Reply, ident: str) -> list[str]:
    usage = anthropic_usage(call, reply)
    start = {
        **_anthropic_body(call, reply, ident),
        "content": [],
        "stop_reason": None,
        "usage": {**usage, "output_tokens": 1},
    }
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": start}),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        ),
        ("ping", {"type": "ping"}),
    ]
    events += [
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": piece},
            },
        )
        for piece in _pieces(reply.text)
    ]
    events.append(("content_block_stop", {"type": "content_block_stop", "index": 0}))
    for index, tool in enumerate(reply.calls(), start=1):
        block = {"type": "tool_use", "id": tool["id"], "name": tool["name"], "input": {}}
        arguments = json.dumps(tool["arguments"])
        events.append((
            "content_block_start",
            {"type": "content_block_start", "index": index, "content_block": block},
        ))  # fmt: skip
        events.append((
            "content_block_delta",
            {"type": "content_block_delta", "index": index,
             "delta": {"type": "input_json_delta", "partial_json": arguments}},
        ))  # fmt: skip
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    events += [
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": _stop_reason(reply), "stop_sequence": None},
                "usage": {"output_tokens": usage["output_tokens"]},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    return [f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events]


_ERROR_TYPES = {
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
    529: "overloaded_error",
}


def _error_body(wire: Wire, status: int, message: str) -> dict[str, Any]:
    kind = _ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    if wire == "anthropic":
        return {"type": "error", "error": {"type": kind, "message": message}}
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


def _head(status: int, headers: dict[str, str]) -> bytes:
    reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    lines = [f"HTTP/1.1 {status} {reason}"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _response(status: int, body: bytes, extra: dict[str, str] | None = None) -> bytes:
    headers = {
        "content-type": "application/json",
        "content-length": str(len(body)),
        "x-request-id": "req_loopback",
        **(extra or {}),
    }
    return _head(status, headers) + body


_Request = tuple[str, str, dict[str, str], bytes]  # method, path, headers, body


async def _read_request(reader: asyncio.StreamReader) -> _Request | None:
    """One HTTP/1.1 request with a content-length body; None when the peer closed or erred."""
    try:
        lines = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        pairs = (line.partition(":") for line in lines[1:] if line)
        headers = {name.strip().lower(): value.strip() for name, _, value in pairs}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError):
        return None
    return method, _route(path), headers, body


_ROUTES: dict[str, Wire] = {
    "/v1/chat/completions": "openai",
    "/v1/messages": "anthropic",
    "/v1/responses": "openai",
}
_TAILS = {"chat/completions": "/v1/chat/completions", "messages": "/v1/messages",
          "responses": "/v1/responses"}  # fmt: skip


def _route(target: str) -> str:
    """The route a request target asks for. The SDKs append the route after a query that
    ``base_url`` carries (``/v1/?key=v`` + ``chat/completions``); such a target is served
    as the route it ends with, as a lenient gateway would."""
    path, _, query = target.partition("?")
    if loopback_cloud.is_cloud(path):
        return target
    if path in _ROUTES or not query:
        return path
    return next((route for tail, route in _TAILS.items() if query.endswith(tail)), path)


@dataclass
class Loopback:
    """The protocol handler and its thread-safe record of what it received."""

    responder: Responder = echo
    latency_s: float = 0.0
    faults: FaultPlan | None = None
    calls: list[Call] = field(default_factory=list)
    connections: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    _seen: dict[tuple[str, str], int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: itertools.count[int] = field(default_factory=itertools.count)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    batch: Any = None  # the batch APIs' state (tests/loopback_batch.py), made on first use

    def count(self, *, model: str | None = None, prompt: str | None = None) -> int:
        """How many calls arrived, optionally only those for ``model`` and/or ``prompt``."""
        with self._lock:
            return sum(
                1
                for c in self.calls
                if (model is None or c.model == model) and (prompt is None or c.prompt == prompt)
            )

    def keys_seen(self) -> set[str]:
        """The API keys the clients sent (``Authorization: Bearer`` or ``x-api-key``)."""
        with self._lock:
            headers = [c.headers for c in self.calls]
        found = {h.get("x-api-key", "") for h in headers}
        found |= {h.get("authorization", "").removeprefix("Bearer ") for h in headers}
        return found - {""}

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one keep-alive connection until the peer closes it."""
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        with self._lock:
            self.connections += 1
        try:
            while (request := await _read_request(reader)) is not None:
                if not await self._serve(request, writer):
                    break
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _serve(self, request: _Request, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; False when the connection must be dropped."""
        method, path, headers, body = request
        if path.startswith(("/v1/files", "/v1/batches", "/v1/messages/batches")):
            import loopback_batch  # the files and batches endpoints of both SDKs

            response = await loopback_batch.serve(self, request)
            if response is not None:  # None: the connection is dropped (an answer lost)
                writer.write(response)
            return response is not None
        wire = _ROUTES.get(path)
        cloud = None if wire else loopback_cloud.route(method, path, headers, body)
        if cloud is not None and cloud.reply is not None:  # refused, or a token issued
            writer.write(_response(cloud.reply[0], json.dumps(cloud.reply[1]).encode()))
            return True
        if cloud is not None:
            wire, body = cloud.wire, json.dumps(cloud.body).encode()
        if method != "POST" or wire is None:
            error = _error_body("openai", 404, f"no route for {method} {path}")
            writer.write(_response(404, json.dumps(error).encode()))
            return True
        try:
            raw = json.loads(body or b"{}")
            call = replace(_parse_call(wire, raw, headers, path), body=raw)
        except (ValueError, AttributeError) as exc:
            writer.write(_response(400, json.dumps(_error_body(wire, 400, str(exc))).encode()))
            return True
        n = self._enter(call)
        try:
            return await self._answer(call, n, writer)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _enter(self, call: Call) -> int:
        with self._lock:
            self.calls.append(call)
            key = (call.model, call.prompt)
            n = self._seen.get(key, 0)
            self._seen[key] = n + 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        return n

    async def _answer(self, call: Call, n: int, writer: asyncio.StreamWriter) -> bool:
        fault = self.faults(call, n) if self.faults else None
        reply: Reply | None = None
        if fault is None:
            raw = self.responder(call)
            reply = Reply(raw) if isinstance(raw, str) else raw
            fault = reply.fault
        latency = reply.latency_s if reply and reply.latency_s is not None else self.latency_s
        if latency > 0:
            await asyncio.sleep(latency)
        if fault is not None:
            return await self._inject(call.wire, fault, writer)
        assert reply is not None
        await self._write_reply(call, reply, writer)
        return True

    async def _write_reply(self, call: Call, reply: Reply, writer: asyncio.StreamWriter) -> None:
        ident = f"{'chatcmpl' if call.wire == 'openai' else 'msg'}_loopback{next(self._ids)}"
        if call.path == "/v1/responses":
            await self._write_responses(call, reply, ident.replace("chatcmpl", "resp"), writer)
            return
        if not call.stream:
            build = _openai_body if call.wire == "openai" else _anthropic_body
            writer.write(_response(200, json.dumps(build(call, reply, ident)).encode()))
            return
        build_events = _openai_events if call.wire == "openai" else _anthropic_events
        events = build_events(call, reply, ident)
        writer.write(
            _head(
                200,
                {
                    "content-type": "text/event-stream",
                    "cache-control": "no-cache",
                    "transfer-encoding": "chunked",
                },
            )
        )
        for event in events:
            data = event.encode()
            writer.write(b"%x\r\n%s\r\n" % (len(data), data))
            await writer.drain()
        writer.write(b"0\r\n\r\n")

    async def _write_responses(
        self, call: Call, reply: Reply, ident: str, writer: asyncio.StreamWriter
    ) -> None:
        body = _responses_body(call, reply, ident)
        if not call.stream:
            writer.write(_response(200, json.dumps(body).encode()))
            return
        events = _responses_events(body, reply.text)
        events.append(("response.completed", {
            "type": "response.completed", "response": body, "sequence_number": len(events),
        }))  # fmt: skip
        writer.write(
            _head(200, {"content-type": "text/event-stream", "transfer-encoding": "chunked"})
        )
        for name, data in events:
            chunk = f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            await writer.drain()
        writer.write(b"0\r\n\r\n")

    async def _inject(self, wire: Wire, fault: Fault, writer: asyncio.StreamWriter) -> bool:
        if fault.kind == "hang":
            await asyncio.sleep(fault.seconds)
            return False
        if fault.kind == "reset":
            sock = writer.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return False
        if fault.kind == "malformed":
            writer.write(_response(200, b'{"id": "broken", "choices": [{"index": 0, "mess'))
            return True
        extra = {"retry-after": fault.retry_after} if fault.retry_after is not None else {}
        if fault.retry_after_ms is not None:
            extra["retry-after-ms"] = str(fault.retry_after_ms)
        body = _error_body(wire, fault.status, f"loopback injected HTTP {fault.status}")
        writer.write(_response(fault.status, json.dumps(body).encode(), extra))
        return True

    def cancel_all(self) -> None:
        """Cancel every open connection (hung ones included)."""
        for task in list(self._tasks):
            task.cancel()


class LoopbackServer(Loopback):
    """The handler served on 127.0.0.1 by an event loop in a background thread."""

    def __init__(
        self,
        responder: Responder = echo,
        *,
        latency_s: float = 0.0,
        faults: FaultPlan | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(responder=responder, latency_s=latency_s, faults=faults)
        self.host, self.port = host, port
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def openai_base_url(self) -> str:
        return f"{self.url}/v1"

    @property
    def anthropic_base_url(self) -> str:
        return self.url

    def start(self) -> LoopbackServer:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._listen(), self._loop)
        future.result(timeout=10)
        return self

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self.handle, self.host, self.port, backlog=1024)
        self.port = self._server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        async def shutdown() -> None:
            self.cancel_all()
            if self._server is not None:
                self._server.close()
            await asyncio.sleep(0)

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


async def serve_forever(host: str, port: int, latency_s: float) -> None:
    """Serve the echo responder until cancelled, printing the root URL once listening."""
    handler = Loopback(latency_s=latency_s)
    server = await asyncio.start_server(handler.handle, host, port, backlog=1024)
    print(f"http://{host}:{server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Loopback OpenAI/Anthropic-compatible server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_forever(args.host, args.port, args.latency))


if __name__ == "__main__":
    main()
