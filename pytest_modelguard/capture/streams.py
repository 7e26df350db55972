"""One call in flight: reading its answer, and observing a stream so it is recorded when it ends.

A stream keeps its own type: its iterator is wrapped in place, so iteration is
unchanged, and the record is written when the stream is exhausted, fails, or is closed.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Protocol

from ..engine.providers.anthropic import to_completion as anthropic_completion
from ..engine.providers.anthropic import to_usage as anthropic_usage
from ..engine.providers.openai import to_completion as openai_completion
from ..engine.providers.openai import to_usage as openai_usage
from ..engine.providers.responses import to_completion as responses_completion
from ..records.calls import Message, Usage, tool_call


class Recorder(Protocol):
    """What a recorded call reports to (``wrap.Recorder``): its provider kind and store."""

    provider: str
    store: Any

    def submit(self, call: Call, answer: Answer | None, error: str | None) -> None: ...


INCOMPLETE = "incomplete: the stream was closed before its end"
_MAX_ERROR_CHARS = 2000
_ANTHROPIC_USAGE = (
    "input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Answer:
    """What a call answered; ``usage`` is None when the provider did not report it."""

    text: str
    usage: Usage | None
    model: str = ""
    finish_reason: str | None = None
    tool_calls: tuple[Mapping[str, Any], ...] = ()
    response_id: str = ""  # a Responses API answer's id: what ``previous_response_id`` names


def answer_of(kind: str, response: Any) -> Answer:
    """The Answer of a ``ChatCompletion`` (openai), a ``Response`` (openai-responses) or a
    ``Message`` (anthropic)."""
    if kind == "openai-responses":
        done = responses_completion(response, 0.0)
        usage = None if response.usage is None else done.usage
        ident = getattr(response, "id", "")
        return Answer(
            done.text, usage, done.model, done.finish_reason, done.tool_calls,
            ident if isinstance(ident, str) else "",
        )  # fmt: skip
    elif kind == "openai":
        done = openai_completion(response, 0.0)
        usage = None if response.usage is None else done.usage
    else:
        done = anthropic_completion(response, 0.0)
        usage = done.usage
    return Answer(done.text, usage, done.model, done.finish_reason, done.tool_calls)


def error_text(exc: BaseException) -> str:
    """A failed call's error as stored: its type and message."""
    return f"{type(exc).__name__}: {exc}"[:_MAX_ERROR_CHARS]


class Call:
    """A call being made: its request snapshot and clock; finishes (is submitted) once."""

    __slots__ = (
        "_done", "clock", "kind", "messages", "model", "params", "recorder", "started_at",
        "stream",
    )  # fmt: skip

    def __init__(
        self,
        recorder: Recorder,
        model: str,
        messages: tuple[Message, ...],
        params: Mapping[str, Any],
        stream: bool,
        kind: str,
    ) -> None:
        self.recorder, self.model, self.messages = recorder, model, messages
        self.params, self.stream, self.kind = params, stream, kind
        self._done = False
        self.restart()

    def restart(self) -> None:
        """Start the clock (again): the request goes out now."""
        self.started_at = time.time()
        self.clock = time.perf_counter()

    def returned(self, result: Any) -> None:
        """Record an answer, or observe a stream until it ends."""
        try:
            if self.stream:
                hook_stream(result, self)
            else:
                self.finish(answer_of(self.kind, result), None)
        except Exception as exc:  # an SDK object we cannot read: leave it to the caller
            self._give_up("answer", exc)

    def failed(self, exc: BaseException) -> None:
        """Record a call that raised."""
        self.finish(None, error_text(exc))

    def finish(self, answer: Answer | None, error: str | None) -> None:
        """Submit the record (the first time only)."""
        if self._done:
            return
        self._done = True
        try:
            self.recorder.submit(self, answer, error)
        except Exception as exc:
            self._give_up("submit", exc)

    def finish_stream(self, chunks: _Chunks) -> None:
        """Submit a stream's record from what it delivered."""
        if chunks.broken is not None:
            self._give_up("stream", chunks.broken)
        else:
            self.finish(chunks.answer(), None if chunks.complete else INCOMPLETE)

    @property
    def done(self) -> bool:
        """Recorded (or given up on) already."""
        return self._done

    def _give_up(self, kind: str, exc: BaseException) -> None:
        self._done = True
        self.recorder.store.warn_once(kind, f"a call was not recorded: {error_text(exc)}")


class _Chunks:
    """Accumulates a stream's items into an Answer; a failure to read one is kept, not raised."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.model = ""
        self.finish_reason: str | None = None
        self.broken: Exception | None = None
        self.tools: dict[int, dict[str, Any]] = {}  # by index: id, name, argument text so far

    def feed(self, item: Any) -> None:
        if self.broken is None:
            try:
                self.add(item)
            except Exception as exc:
                self.broken = exc

    def add(self, item: Any) -> None:
        raise NotImplementedError

    @property
    def complete(self) -> bool:
        return self.finish_reason is not None

    def usage(self) -> Usage | None:
        raise NotImplementedError

    def answer(self) -> Answer:
        calls = tuple(
            tool_call(t["name"], t["arguments"] or "{}", t["id"])
            for _, t in sorted(self.tools.items())
        )
        return Answer("".join(self.parts), self.usage(), self.model, self.finish_reason, calls)

    def tool_delta(self, index: int, ident: Any, name: Any, arguments: Any) -> None:
        """A piece of the tool call at ``index``: its id and name once, its argument text."""
        tool = self.tools.setdefault(index, {"id": "", "name": "", "arguments": ""})
        tool["id"] = ident or tool["id"]
        tool["name"] = name or tool["name"]
        tool["arguments"] += arguments or ""


class _OpenAIChunks(_Chunks):
    """``ChatCompletionChunk``s: choice 0's text; usage only with ``include_usage``."""

    def __init__(self) -> None:
        super().__init__()
        self._usage: Usage | None = None

    def add(self, item: Any) -> None:
        self.model = item.model or self.model
        if item.usage is not None:
            self._usage = openai_usage(item.usage)
        for choice in item.choices:
            if choice.index == 0:
                if choice.delta is not None and choice.delta.content:
                    self.parts.append(choice.delta.content)
                for tool in (choice.delta.tool_calls if choice.delta is not None else None) or ():
                    function = tool.function
                    name = function.name if function is not None else None
                    arguments = function.arguments if function is not None else None
                    self.tool_delta(tool.index, tool.id, name, arguments)
                self.finish_reason = choice.finish_reason or self.finish_reason

    def usage(self) -> Usage | None:
        return self._usage


class _AnthropicEvents(_Chunks):
    """Raw message stream events: text deltas, usage from message_start and message_delta."""

    def __init__(self) -> None:
        super().__init__()
        self._usage: dict[str, Any] = {}

    def add(self, item: Any) -> None:
        if item.type == "message_start":
            self.model = item.message.model or ""
            self._merge(item.message.usage)
        elif item.type == "content_block_delta" and item.delta.type == "text_delta":
            self.parts.append(item.delta.text)
        elif item.type == "content_block_start" and item.content_block.type == "tool_use":
            block = item.content_block
            self.tool_delta(item.index, block.id, block.name, None)
        elif item.type == "content_block_delta" and item.delta.type == "input_json_delta":
            self.tool_delta(item.index, None, None, item.delta.partial_json)
        elif item.type == "message_delta":
            self.finish_reason = item.delta.stop_reason
            self._merge(item.usage)

    def _merge(self, usage: Any) -> None:
        for name in _ANTHROPIC_USAGE:
            value = getattr(usage, name, None)
            if value is not None:
                self._usage[name] = value

    def usage(self) -> Usage | None:
        if "input_tokens" not in self._usage:
            return None
        return anthropic_usage(SimpleNamespace(**{n: self._usage.get(n) for n in _ANTHROPIC_USAGE}))


class _ResponsesEvents(_Chunks):
    """Responses API events: text deltas, then the whole Response when it completes."""

    def __init__(self) -> None:
        super().__init__()
        self._final: Answer | None = None

    def add(self, item: Any) -> None:
        if item.type == "response.output_text.delta":
            self.parts.append(item.delta)
        elif item.type in ("response.completed", "response.incomplete"):
            self._final = answer_of("openai-responses", item.response)
            self.finish_reason = self._final.finish_reason or item.response.status

    def usage(self) -> Usage | None:
        return None if self._final is None else self._final.usage

    def answer(self) -> Answer:
        return super().answer() if self._final is None else self._final


_CHUNKS: dict[str, type[_Chunks]] = {
    "openai": _OpenAIChunks, "openai-responses": _ResponsesEvents, "anthropic": _AnthropicEvents,
}  # fmt: skip


def hook_stream(stream: Any, call: Call) -> None:
    """Wrap ``stream``'s iterator and ``close`` in place so ``call`` is recorded when it ends."""
    iterator = stream._iterator
    chunks = _CHUNKS[call.kind]()
    close, ref = type(stream).close, weakref.ref(stream)  # no cycle through the stream
    if hasattr(iterator, "__anext__"):
        stream._iterator = _observe_async(iterator, chunks, call)

        async def close_async() -> None:
            call.finish_stream(chunks)
            if (target := ref()) is not None:
                await close(target)

        stream.close = close_async
    else:
        stream._iterator = _observe(iterator, chunks, call)

        def close_sync() -> None:
            call.finish_stream(chunks)
            if (target := ref()) is not None:
                close(target)

        stream.close = close_sync


def _observe(iterator: Iterator[Any], chunks: _Chunks, call: Call) -> Iterator[Any]:
    try:
        for item in iterator:
            chunks.feed(item)
            yield item
    except Exception as exc:
        call.finish(chunks.answer() if chunks.broken is None else None, error_text(exc))
        raise
    finally:
        call.finish_stream(chunks)


async def _observe_async(
    iterator: AsyncIterator[Any], chunks: _Chunks, call: Call
) -> AsyncIterator[Any]:
    try:
        async for item in iterator:
            chunks.feed(item)
            yield item
    except Exception as exc:
        call.finish(chunks.answer() if chunks.broken is None else None, error_text(exc))
        raise
    finally:
        call.finish_stream(chunks)
