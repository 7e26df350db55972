"""``capture(client, db=...)``: a drop-in proxy of an OpenAI or Anthropic client that records calls.

Wrapped: OpenAI's ``chat.completions`` and ``responses`` (``create``, ``parse``, ``stream``)
and Anthropic's ``messages`` (``create``, ``parse``, ``stream``), each also through
``with_raw_response`` and ``with_streaming_response`` (recorded when the body is parsed);
every other attribute is the client's own. Results, streams and exceptions reach the caller
unchanged; recording never raises into the caller.
"""

from __future__ import annotations

import inspect
import os
import random
import time
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar, cast

from .responses import chat_request, structured
from .store import Pending, Redactor, Trace, TraceStore, open_store
from .streams import Answer, Call

ClientT = TypeVar("ClientT")

_NOT_PARAMS = frozenset((
    "model", "messages", "system", "stream", "stream_options", "extra_headers", "extra_query",
    "extra_body", "timeout", "output_format",
))  # fmt: skip
_MIN_SECRET_LEN = 8


def capture(
    client: ClientT,
    *,
    db: str | os.PathLike[str] | TraceStore,
    tags: Iterable[str] = (),
    sample: float = 1.0,
    redact: Redactor | None = None,
) -> ClientT:
    """Wrap an ``openai.OpenAI``/``AsyncOpenAI`` or ``anthropic.Anthropic``/``AsyncAnthropic``.

    The returned client behaves as ``client`` and records each call (a ``sample``
    fraction of them) into the SQLite database ``db`` with ``tags``. ``redact`` gets
    each Trace before it is written and returns it scrubbed, or None to skip it.
    """
    if not 0.0 <= sample <= 1.0:
        raise ValueError(f"sample must be between 0 and 1, got {sample!r}")
    tags = tuple(tags)
    if not all(isinstance(tag, str) and tag for tag in tags):
        raise ValueError(f"tags must be non-empty strings, got {tags!r}")
    provider, is_async = _kind_of(client)
    recorder = Recorder(
        store=db if isinstance(db, TraceStore) else open_store(db),
        provider=provider,
        host=str(getattr(getattr(client, "base_url", None), "host", "") or ""),
        tags=tags,
        sample=sample,
        redact=redact,
        secrets=_secrets_of(client),
    )
    proxy = (_AsyncClient if is_async else _SyncClient)(client, recorder)
    return cast(ClientT, proxy)


def _kind_of(client: Any) -> tuple[str, bool]:
    """("openai" | "anthropic", is it async?) by the client's resources."""
    completions = getattr(getattr(client, "chat", None), "completions", None)
    if completions is not None and hasattr(completions, "create"):
        return "openai", inspect.iscoroutinefunction(inspect.unwrap(completions.create))
    messages = getattr(client, "messages", None)
    if messages is not None and hasattr(messages, "create"):
        return "anthropic", inspect.iscoroutinefunction(inspect.unwrap(messages.create))
    raise TypeError(
        "capture() wraps openai.OpenAI, openai.AsyncOpenAI, anthropic.Anthropic or "
        f"anthropic.AsyncAnthropic clients, not {type(client).__name__}"
    )


def _secrets_of(client: Any) -> tuple[str, ...]:
    """The client's credentials, scrubbed from anything stored should they ever appear."""
    names = ("api_key", "auth_token", "aws_secret_key", "aws_session_token", "access_token")
    values = tuple(getattr(client, name, None) for name in names)  # Bedrock's, Vertex's too
    return tuple(v for v in values if isinstance(v, str) and len(v) >= _MIN_SECRET_LEN)


class Recorder:
    """What one ``capture`` records into: store, provider, tags, sampling, redaction."""

    __slots__ = ("_random", "host", "provider", "redact", "sample", "secrets", "store", "tags")

    def __init__(
        self,
        *,
        store: TraceStore,
        provider: str,
        host: str,
        tags: tuple[str, ...],
        sample: float,
        redact: Redactor | None,
        secrets: tuple[str, ...],
    ) -> None:
        self.store, self.provider, self.host, self.tags = store, provider, host, tags
        self.sample, self.redact, self.secrets = sample, redact, secrets
        self._random = random.Random()  # the caller's global random state stays untouched

    def start(
        self, kwargs: dict[str, Any], *, stream: bool | None = None, kind: str = ""
    ) -> Call | None:
        """A call about to be made, or None when it is not sampled or cannot be recorded.

        ``kind``: ``openai-responses`` for the Responses API, else the client's provider.
        A ``messages``/``system``/``input`` iterable is turned into a list in ``kwargs`` so
        the SDK and the record see the same items.
        """
        if self.sample < 1.0 and self._random.random() >= self.sample:
            return None
        try:
            kind = kind or self.provider
            if kind == "openai-responses":
                _listed(kwargs, "input")
                messages, params = chat_request(
                    {k: v for k, v in kwargs.items() if k not in _NOT_PARAMS}
                )
            else:
                messages = _listed(kwargs, "messages")
                messages = messages if isinstance(messages, list) else []
                system = _listed(kwargs, "system")
                if isinstance(system, str | list):
                    messages = [{"role": "system", "content": system}, *messages]
                params = {k: v for k, v in kwargs.items() if k not in _NOT_PARAMS}
                params.update(structured(kwargs))
            extra = kwargs.get("extra_body")
            if isinstance(extra, Mapping):
                params.update(extra)
            is_stream = kwargs.get("stream") is True if stream is None else stream
            model = str(kwargs.get("model", ""))
            return Call(self, model, tuple(messages), params, is_stream, kind)
        except Exception as exc:  # an argument we cannot read: the SDK will judge it
            self.store.warn_once("request", f"a call was not recorded: {exc!r}")
            return None

    def submit(self, call: Call, answer: Answer | None, error: str | None) -> None:
        """Queue the record of a finished call."""
        trace = Trace(
            provider=self.provider, model=call.model, messages=call.messages, params=call.params,
            output=None if answer is None else answer.text,
            usage=None if answer is None else answer.usage,
            latency_s=time.perf_counter() - call.clock, started_at=call.started_at,
            tags=self.tags, stream=call.stream,
            response_model="" if answer is None else answer.model,
            finish_reason=None if answer is None else answer.finish_reason,
            error=error, host=self.host, tool_calls=() if answer is None else answer.tool_calls,
            response_id="" if answer is None else answer.response_id,
        )  # fmt: skip
        self.store.submit(Pending(trace, self.redact, self.secrets))


def _listed(kwargs: dict[str, Any], name: str) -> Any:
    """``kwargs[name]`` with shallow copies of its items; a one-shot iterable becomes a list."""
    value = kwargs.get(name)
    if value is None or isinstance(value, str) or type(value).__name__ in ("NotGiven", "Omit"):
        return value
    if not isinstance(value, list | tuple):
        value = kwargs[name] = list(value)
    return [dict(item) if isinstance(item, Mapping) else item for item in value]


class _Proxy:
    """Delegates every attribute it does not define to the wrapped object."""

    def __init__(self, target: Any, recorder: Recorder, kind: str = "") -> None:
        self._target = target
        self._recorder = recorder
        self._kind = kind  # openai-responses, or "" for the client's provider

    def __getattr__(self, name: str) -> Any:
        if name == "_target":  # not set yet (e.g. while copying): no recursion
            raise AttributeError(name)
        return getattr(self._target, name)

    def __dir__(self) -> list[str]:
        return sorted(set(dir(self._target)) | set(super().__dir__()))

    def __repr__(self) -> str:
        return f"captured({self._target!r})"

    def _start(self, kwargs: dict[str, Any], *, stream: bool | None = None) -> Call | None:
        return self._recorder.start(kwargs, stream=stream, kind=self._kind)


class _SyncCreate(_Proxy):
    """A resource whose ``create``, ``parse`` and ``stream`` are recorded (sync)."""

    @property
    def with_raw_response(self) -> Any:
        """``.with_raw_response.create`` (langchain-openai's path), recorded too."""
        return _SyncRaw(self._target.with_raw_response, self._recorder, self._kind)

    @property
    def with_streaming_response(self) -> Any:
        """``.with_streaming_response.create``: recorded when the body is parsed."""
        return _SyncStreaming(self._target.with_streaming_response, self._recorder, self._kind)

    def create(self, *args: Any, **kwargs: Any) -> Any:
        return self._recorded("create", args, kwargs)

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        """``parse`` (structured outputs): recorded with the schema it sent."""
        return self._recorded("parse", args, kwargs)

    def stream(self, *args: Any, **kwargs: Any) -> Any:
        """A stream manager (``with ... .stream(...) as stream``), recorded when it ends."""
        call = self._start(kwargs, stream=True)
        manager = self._target.stream(*args, **kwargs)
        return manager if call is None else _StreamManager(manager, call)

    def _recorded(self, name: str, args: Any, kwargs: dict[str, Any]) -> Any:
        call = self._start(kwargs)
        method = getattr(self._target, name)
        if call is None:
            return method(*args, **kwargs)
        try:
            result = method(*args, **kwargs)
        except Exception as exc:
            call.failed(exc)
            raise
        call.returned(result)
        return result


class _AsyncCreate(_Proxy):
    """A resource whose ``create``, ``parse`` and ``stream`` are recorded (async)."""

    @property
    def with_raw_response(self) -> Any:
        """``.with_raw_response.create``, recorded too."""
        return _AsyncRaw(self._target.with_raw_response, self._recorder, self._kind)

    @property
    def with_streaming_response(self) -> Any:
        """``.with_streaming_response.create``: recorded when the body is parsed."""
        return _AsyncStreaming(self._target.with_streaming_response, self._recorder, self._kind)

    async def create(self, *args: Any, **kwargs: Any) -> Any:
        return await self._recorded("create", args, kwargs)

    async def parse(self, *args: Any, **kwargs: Any) -> Any:
        """``parse`` (structured outputs): recorded with the schema it sent."""
        return await self._recorded("parse", args, kwargs)

    def stream(self, *args: Any, **kwargs: Any) -> Any:
        """A stream manager (``async with ... .stream(...) as stream``), recorded when it ends."""
        call = self._start(kwargs, stream=True)
        manager = self._target.stream(*args, **kwargs)
        return manager if call is None else _AsyncStreamManager(manager, call)

    async def _recorded(self, name: str, args: Any, kwargs: dict[str, Any]) -> Any:
        call = self._start(kwargs)
        method = getattr(self._target, name)
        if call is None:
            return await method(*args, **kwargs)
        try:
            result = await method(*args, **kwargs)
        except Exception as exc:
            call.failed(exc)
            raise
        call.returned(result)
        return result


def _parsed(raw: Any, call: Call) -> Any:
    """The raw response, its parsed body recorded (the SDK caches the parse for the caller)."""
    try:
        parsed = raw.parse()
    except Exception as exc:
        call.failed(exc)
        return raw
    call.returned(parsed)
    return raw


async def _parsed_async(raw: Any, call: Call) -> Any:
    """``_parsed`` for async clients: Anthropic's ``AsyncAPIResponse.parse`` is awaited (it
    caches the result for the caller too); OpenAI's legacy raw response parses at once."""
    try:
        parsed = raw.parse()
        if inspect.isawaitable(parsed):
            parsed = await parsed
    except Exception as exc:
        call.failed(exc)
        return raw
    call.returned(parsed)
    return raw


class _SyncRaw(_Proxy):
    """``with_raw_response``: ``create`` and ``parse`` return the raw response; its parse is
    recorded (langchain-openai takes both paths)."""

    def create(self, *args: Any, **kwargs: Any) -> Any:
        return self._raw("create", args, kwargs)

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        return self._raw("parse", args, kwargs)

    def _raw(self, name: str, args: Any, kwargs: dict[str, Any]) -> Any:
        call = self._start(kwargs)
        method = getattr(self._target, name)
        if call is None:
            return method(*args, **kwargs)
        try:
            raw = method(*args, **kwargs)
        except Exception as exc:
            call.failed(exc)
            raise
        return _parsed(raw, call)


class _AsyncRaw(_Proxy):
    """Async ``with_raw_response``."""

    async def create(self, *args: Any, **kwargs: Any) -> Any:
        return await self._raw("create", args, kwargs)

    async def parse(self, *args: Any, **kwargs: Any) -> Any:
        return await self._raw("parse", args, kwargs)

    async def _raw(self, name: str, args: Any, kwargs: dict[str, Any]) -> Any:
        call = self._start(kwargs)
        method = getattr(self._target, name)
        if call is None:
            return await method(*args, **kwargs)
        try:
            raw = await method(*args, **kwargs)
        except Exception as exc:
            call.failed(exc)
            raise
        return await _parsed_async(raw, call)


class _SyncStreaming(_Proxy):
    """``with_streaming_response``: ``create`` returns a context manager of the response."""

    def create(self, *args: Any, **kwargs: Any) -> Any:
        call = self._start(kwargs)
        manager = self._target.create(*args, **kwargs)
        return manager if call is None else _StreamingManager(manager, call)


class _AsyncStreaming(_Proxy):
    """Async ``with_streaming_response``."""

    def create(self, *args: Any, **kwargs: Any) -> Any:
        call = self._start(kwargs)
        manager = self._target.create(*args, **kwargs)
        return manager if call is None else _AsyncStreamingManager(manager, call)


class _ManagerProxy:
    """A stream manager whose request starts on enter; the rest is the manager's own."""

    def __init__(self, manager: Any, call: Call) -> None:
        self._manager, self._call = manager, call

    def __getattr__(self, name: str) -> Any:
        if name == "_manager":
            raise AttributeError(name)
        return getattr(self._manager, name)


class _StreamManager(_ManagerProxy):
    """``with client.messages.stream(...) as stream``."""

    def __enter__(self) -> Any:
        self._call.restart()
        try:
            stream = self._manager.__enter__()
        except Exception as exc:
            self._call.failed(exc)
            raise
        self._call.returned(getattr(stream, "_raw_stream", None))
        return stream

    def __exit__(self, *exc_info: Any) -> Any:
        return self._manager.__exit__(*exc_info)


class _AsyncStreamManager(_ManagerProxy):
    """``async with client.messages.stream(...) as stream``."""

    async def __aenter__(self) -> Any:
        self._call.restart()
        try:
            stream = await self._manager.__aenter__()
        except Exception as exc:
            self._call.failed(exc)
            raise
        self._call.returned(getattr(stream, "_raw_stream", None))
        return stream

    async def __aexit__(self, *exc_info: Any) -> Any:
        return await self._manager.__aexit__(*exc_info)


class _StreamingManager(_ManagerProxy):
    """``with ....with_streaming_response.create(...) as response``: the first
    ``response.parse()`` is recorded (a body read otherwise is not: a warning says so)."""

    def __enter__(self) -> Any:
        self._call.restart()
        try:
            response = self._manager.__enter__()
        except Exception as exc:
            self._call.failed(exc)
            raise
        parse, call = response.parse, self._call

        def recorded_parse(*args: Any, **kwargs: Any) -> Any:
            response.parse = parse
            result = parse(*args, **kwargs)
            call.returned(result)
            return result

        response.parse = recorded_parse
        return response

    def __exit__(self, *exc_info: Any) -> Any:
        _unparsed(self._call)
        return self._manager.__exit__(*exc_info)


class _AsyncStreamingManager(_ManagerProxy):
    """``async with ....with_streaming_response.create(...) as response``."""

    async def __aenter__(self) -> Any:
        self._call.restart()
        try:
            response = await self._manager.__aenter__()
        except Exception as exc:
            self._call.failed(exc)
            raise
        parse, call = response.parse, self._call

        async def recorded_parse(*args: Any, **kwargs: Any) -> Any:
            response.parse = parse
            result = await parse(*args, **kwargs)
            call.returned(result)
            return result

        response.parse = recorded_parse
        return response

    async def __aexit__(self, *exc_info: Any) -> Any:
        _unparsed(self._call)
        return await self._manager.__aexit__(*exc_info)


def _unparsed(call: Call) -> None:
    if not call.done and not call.stream:
        call.recorder.store.warn_once(
            "streaming", "a with_streaming_response body read without parse() was not recorded"
        )


class _Chat(_Proxy):
    """OpenAI ``chat`` with recorded ``completions``."""

    def __init__(self, target: Any, recorder: Recorder, completions: type[_Proxy]) -> None:
        super().__init__(target, recorder)
        self.completions = completions(target.completions, recorder)


class _Client(_Proxy):
    """The captured client: passes isinstance checks for the client's own class."""

    _create: type[_Proxy] = _SyncCreate

    def __init__(self, target: Any, recorder: Recorder) -> None:
        super().__init__(target, recorder)
        if recorder.provider == "openai":
            self.chat = _Chat(target.chat, recorder, self._create)
            if hasattr(target, "responses"):
                self.responses = self._create(target.responses, recorder, "openai-responses")
        else:
            self.messages = self._create(target.messages, recorder)

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        """The client's class, so isinstance(proxy, openai.OpenAI) holds."""
        return type(self._target)

    def with_options(self, *args: Any, **kwargs: Any) -> Any:
        """The client's ``with_options``/``copy``, captured into the same database."""
        return type(self)(self._target.with_options(*args, **kwargs), self._recorder)

    copy = with_options


class _SyncClient(_Client):
    def __enter__(self) -> _SyncClient:
        self._target.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> Any:
        return self._target.__exit__(*exc_info)


class _AsyncClient(_Client):
    _create = _AsyncCreate

    async def __aenter__(self) -> _AsyncClient:
        await self._target.__aenter__()
        return self

    async def __aexit__(self, *exc_info: Any) -> Any:
        return await self._target.__aexit__(*exc_info)


__all__ = ["Recorder", "capture"]
