"""The records that cross every room: Request, Usage, Completion, and the Provider protocol."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, runtime_checkable

from ..core.errors import ModelguardError
from ..core.safety import REDACTED, map_strings, valid_text
from .parts import canonical_messages, text_of
from .trajectory import Trajectory

Message = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts as the provider bills them.

    ``input_tokens`` counts every prompt token, cached ones included;
    ``cached_input_tokens`` (cache reads) and ``cache_write_tokens`` are parts of it.
    ``reasoning_tokens`` is the part of ``output_tokens`` spent thinking.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def to_dict(self) -> dict[str, int]:
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cached_input_tokens": self.cached_input_tokens,
            "cache_write_tokens": self.cache_write_tokens,
            "reasoning_tokens": self.reasoning_tokens,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Usage:
        """Counts from a mapping; ValueError for a count that is not a whole number >= 0."""
        return cls(**{k: _count(k, v) for k, v in data.items() if k in cls.__dataclass_fields__})


def _count(key: str, value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{key} must be a whole number >= 0, got {value!r}")
    return value


def prompt_key(messages: Sequence[Message], params: Mapping[str, Any]) -> str:
    """sha256 of a prompt's messages and params, whoever is asked: the unit the gate pairs on.

    Checks that grade the same prompt's answers (the same prompt in two suites, a
    Python test over a suite's case, several graders) share it, so they are one case.
    """
    text = json.dumps(
        {"messages": canonical_messages(messages), "params": dict(params)},
        sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str,
    )  # fmt: skip
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def canonical_key(canonical: Mapping[str, Any]) -> str:
    """sha256 of a canonical request's JSON: the cache key, also of a request read back."""
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


OWN_PARAMS = {
    "model": "the model is set by --models and aliases",
    "messages": "messages are the case's prompt and messages",
    "input": "the input is the case's prompt and messages",
    "stream": "modelguard reads whole answers (a streamed one would be paid and lost)",
}
"""Params each call sets itself: one written in a suite or an alias would break every call."""
_CREDENTIAL_FIELDS = frozenset((
    "authorization", "proxy_authorization", "api_key", "x_api_key", "x_goog_api_key",
    "azure_ad_token", "aws_secret_access_key", "aws_session_token", "x_amz_security_token",
))  # fmt: skip
_CREDENTIAL = (
    "a credential here would be stored with every request (cache, reports); "
    "give the provider's api_key_env instead"
)


def params_problem(params: Mapping[str, Any]) -> tuple[str, str] | None:
    """``(key, problem)`` for params no call can be made with, or None: a param modelguard sets
    itself, a number that is NaN or infinite (not JSON), a credential (stored with the
    request in the cache and reports)."""
    for key, value in params.items():
        if key in OWN_PARAMS:
            return key, f"remove it: {OWN_PARAMS[key]}"
        if _credential(key, value):
            return key, _CREDENTIAL
        problem = _value_problem(value, 0)
        if problem:
            return key, problem
    return None


def _credential(name: Any, value: Any) -> bool:
    """A credential field's value (one already redacted is none)."""
    named = str(name).lower().replace("-", "_") in _CREDENTIAL_FIELDS
    return named and isinstance(value, str) and value != REDACTED


def _value_problem(value: Any, depth: int) -> str | None:
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value} is not a number JSON can carry; write a finite number"
    if isinstance(value, Mapping) and depth < 64:
        for name, item in value.items():
            if _credential(name, item):
                return f"{name}: {_CREDENTIAL}"
            problem = _value_problem(item, depth + 1)
            if problem:
                return problem
    if isinstance(value, list | tuple) and depth < 64:
        for item in value:
            problem = _value_problem(item, depth + 1)
            if problem:
                return problem
    return None


@dataclass(frozen=True, slots=True)
class Request:
    """One call to one model: what the cache keys on and what a provider sends.

    ``provider`` is the configured provider name (``openai``, ``anthropic``, a
    declared OpenAI-compatible endpoint, or ``python``). Keys and auth headers
    never enter a Request.
    """

    provider: str
    model: str
    messages: tuple[Message, ...]
    params: Mapping[str, Any] = field(default_factory=dict)
    repeat: int = 0

    def canonical(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "model": self.model,
            "messages": canonical_messages(self.messages),
            "params": dict(sorted(self.params.items())),
            "repeat": self.repeat,
        }

    _key: str = field(default="", init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_key", canonical_key(self.canonical()))

    def key(self) -> str:
        """sha256 of the canonical JSON of the request (never of a test id); computed once."""
        return self._key

    @property
    def system(self) -> str | None:
        """The text of the leading system message, if any."""
        if self.messages and self.messages[0].get("role") == "system":
            return text_of(self.messages[0].get("content", ""))
        return None

    @property
    def chat_messages(self) -> tuple[Message, ...]:
        """The messages after the system prompt."""
        return self.messages[1:] if self.system is not None else self.messages


def tool_arguments(raw: Any) -> Any:
    """A tool call's arguments as data: a JSON string parsed, kept as text when it is not JSON."""
    if not isinstance(raw, str):
        return raw
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return raw


def tool_call(name: Any, arguments: Any, ident: Any = "") -> dict[str, Any]:
    """A tool call as modelguard keeps it: ``{id, name, arguments}`` with parsed arguments."""
    return {"id": str(ident or ""), "name": str(name or ""), "arguments": tool_arguments(arguments)}


def tool_calls_from(raw: Any) -> tuple[dict[str, Any], ...]:
    """Stored tool calls (``{id, name, arguments}``); ValueError naming what is wrong."""
    if raw is None:
        return ()
    if not isinstance(raw, list | tuple):
        raise ValueError(f"tool_calls must be a list, got {_shown(raw)}")
    calls = []
    for item in raw:
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
            raise ValueError(f"each tool call needs a 'name' string, got {_shown(item)}")
        calls.append(tool_call(item["name"], item.get("arguments"), item.get("id")))
    return tuple(calls)


@dataclass(frozen=True, slots=True)
class Completion:
    """A model's answer: text and tool calls (``{id, name, arguments}``), usage and latency."""

    text: str
    usage: Usage = field(default_factory=Usage)
    latency_s: float | None = 0.0  # None: not measured (a recorded production answer without it)
    model: str = ""
    finish_reason: str | None = None
    tool_calls: tuple[Mapping[str, Any], ...] = ()
    batch: bool = False  # answered through the provider's batch API (billed at its price)

    def __post_init__(self) -> None:
        """Every string made storable as UTF-8 (a lone surrogate becomes U+FFFD)."""
        object.__setattr__(self, "text", valid_text(self.text))
        for name in ("model", "finish_reason"):
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, valid_text(value))
        calls = tuple(map_strings(dict(call), valid_text) for call in self.tool_calls)
        object.__setattr__(self, "tool_calls", calls)

    def map_text(self, change: Callable[[str], str]) -> Completion:
        """A copy with ``change`` applied to every string: text, tool calls, model, reason."""
        finish = self.finish_reason
        return replace(
            self,
            text=change(self.text),
            model=change(self.model),
            finish_reason=None if finish is None else change(finish),
            tool_calls=tuple(map_strings(dict(call), change) for call in self.tool_calls),
        )

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "text": self.text,
            "usage": self.usage.to_dict(),
            "latency_s": self.latency_s,
            "model": self.model,
            "finish_reason": self.finish_reason,
        }
        if self.tool_calls:  # absent for text answers: older entries read back unchanged
            data["tool_calls"] = [dict(call) for call in self.tool_calls]
        if self.batch:  # absent for ordinary answers, like tool_calls
            data["batch"] = True
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Completion:
        """A stored completion; ValueError naming the field that is not what it must be."""
        if not isinstance(data, Mapping):
            raise ValueError(f"completion must be an object, got {type(data).__name__}")
        text, usage, latency = data.get("text"), data.get("usage") or {}, data.get("latency_s")
        if not isinstance(text, str):
            raise ValueError(f"text must be a string, got {_shown(text)}")
        if not isinstance(usage, Mapping):
            raise ValueError(f"usage must be an object, got {_shown(usage)}")
        if latency is not None and (
            isinstance(latency, bool)
            or not isinstance(latency, int | float)
            or not 0 <= latency < math.inf
        ):
            raise ValueError(f"latency_s must be a number >= 0 or null, got {_shown(latency)}")
        finish = data.get("finish_reason")
        return cls(
            text=text,
            usage=Usage.from_dict(usage),
            latency_s=None if latency is None else float(latency),
            model=str(data.get("model") or ""),
            finish_reason=None if finish is None else str(finish),
            tool_calls=tool_calls_from(data.get("tool_calls")),
            batch=data.get("batch") is True,
        )


def _shown(value: Any) -> str:
    return "null" if value is None else repr(value)[:40]


class ProviderError(ModelguardError):
    """A failed call. ``transient`` ones (429, 5xx, timeouts, resets) are retried."""

    def __init__(
        self,
        message: str,
        *,
        transient: bool,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(valid_text(message))
        self.transient = transient
        self.status = status
        self.retry_after = retry_after

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Picklable (keyword-only arguments defeat the default)."""
        return _rebuild_error, (str(self), self.transient, self.status, self.retry_after)


def _rebuild_error(
    message: str, transient: bool, status: int | None, retry_after: float | None
) -> ProviderError:
    return ProviderError(message, transient=transient, status=status, retry_after=retry_after)


class Provider(Protocol):
    """Answers requests for one configured provider."""

    async def complete(self, request: Request) -> Completion:
        """Make one call; raise ProviderError on failure (no retries here)."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


@runtime_checkable
class Warmable(Protocol):
    """A provider with one-time start-up work (imports, a client) to do before any clock runs.

    The fan-out warms every provider it will call before the first call starts, so no
    answer's latency counts a client's construction, its own or another provider's.
    """

    def warm(self, models: Collection[str]) -> None:
        """Do the start-up work for these models; failures are left to the calls to report."""
        ...


@dataclass(slots=True)
class Answered:
    """A completion and whether it came from the cache (or the suite's recorded baseline).

    An agent case's answer is its last step's, with the usage and latency of every step
    summed, and ``trajectory`` the steps themselves.
    """

    completion: Completion | None
    cached: bool
    error: str | None = None
    trajectory: Trajectory | None = None
