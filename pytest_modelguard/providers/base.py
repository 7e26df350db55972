"""The records that cross every room: Request, Usage, Completion, and the Provider protocol."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

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
        return cls(**{k: int(v or 0) for k, v in data.items() if k in cls.__dataclass_fields__})


def canonical_key(canonical: Mapping[str, Any]) -> str:
    """sha256 of a canonical request's JSON: the cache key, also of a request read back."""
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


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
            "messages": [dict(m) for m in self.messages],
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
            return str(self.messages[0].get("content", ""))
        return None

    @property
    def chat_messages(self) -> tuple[Message, ...]:
        """The messages after the system prompt."""
        return self.messages[1:] if self.system is not None else self.messages


@dataclass(frozen=True, slots=True)
class Completion:
    """A model's answer with its usage and wall-clock latency."""

    text: str
    usage: Usage = field(default_factory=Usage)
    latency_s: float | None = 0.0  # None: not measured (a recorded production answer without it)
    model: str = ""
    finish_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "usage": self.usage.to_dict(),
            "latency_s": self.latency_s,
            "model": self.model,
            "finish_reason": self.finish_reason,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Completion:
        return cls(
            text=str(data.get("text", "")),
            usage=Usage.from_dict(data.get("usage") or {}),
            latency_s=None if data.get("latency_s") is None else float(data["latency_s"]),
            model=str(data.get("model", "")),
            finish_reason=data.get("finish_reason"),
        )


class ProviderError(Exception):
    """A failed call. ``transient`` ones (429, 5xx, timeouts, resets) are retried."""

    def __init__(
        self,
        message: str,
        *,
        transient: bool,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
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
