"""Anthropic Messages through ``anthropic.AsyncAnthropic``."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ...records.calls import Completion, ProviderError, Request, Usage
from ._sdk import SdkProvider, malformed_error, sdk_kwargs, status_error
from .tools import (
    TOOL_PARAMS,
    anthropic_messages,
    anthropic_output_format,
    anthropic_tool_calls,
    anthropic_tool_choice,
    anthropic_tools,
)

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic

DEFAULT_MAX_TOKENS = 1024


class AnthropicProvider(SdkProvider["AsyncAnthropic"]):
    """Messages with SDK retries off: the runner owns retries and backoff."""

    default_key_env = "ANTHROPIC_API_KEY"

    def _new_client(self, api_key: str) -> AsyncAnthropic:
        import anthropic

        return anthropic.AsyncAnthropic(
            api_key=api_key, base_url=self.base_url, timeout=self.timeout_s, max_retries=0
        )

    def _touch(self, client: AsyncAnthropic) -> None:
        client.messages  # noqa: B018 - imported on first access

    async def _create(self, client: AsyncAnthropic, request: Request, label: str) -> Any:
        import anthropic

        try:
            create = client.messages.create
            return await create(**message_kwargs(create, request))
        except anthropic.APIStatusError as exc:
            return status_error(
                label, exc.status_code, exc.message, exc.response.headers, self.credentials
            )
        except anthropic.APITimeoutError:
            return ProviderError(f"{label}: timed out after {self.timeout_s:g}s", transient=True)
        except anthropic.APIConnectionError as exc:
            return self.connection_error(label, exc.__cause__ or exc)
        except (anthropic.APIResponseValidationError, json.JSONDecodeError) as exc:
            return malformed_error(label, exc)

    def _to_completion(self, response: Any, latency_s: float) -> Completion:
        return to_completion(response, latency_s)


def message_kwargs(create: Callable[..., Any], request: Request) -> dict[str, Any]:
    """The ``messages.create`` arguments for a Request (OpenAI-form tools translated)."""
    params = {k: v for k, v in request.params.items() if k not in TOOL_PARAMS}
    kwargs = sdk_kwargs(create, {"max_tokens": DEFAULT_MAX_TOKENS, **params})
    kwargs["model"] = request.model
    if request.params.get("tools"):
        kwargs["tools"] = anthropic_tools(request.params["tools"])
    choice = anthropic_tool_choice(
        request.params.get("tool_choice"), request.params.get("parallel_tool_calls")
    )
    if choice is not None:
        kwargs["tool_choice"] = choice
    output_format = anthropic_output_format(request.params.get("response_format"))
    if output_format is not None:
        kwargs["output_config"] = {**(kwargs.get("output_config") or {}), "format": output_format}
    kwargs["messages"] = anthropic_messages(request.chat_messages)  # Anthropic has no "name"
    if request.system is not None:
        kwargs["system"] = request.system
    return kwargs


def to_completion(message: Any, latency_s: float) -> Completion:
    """Concatenated text blocks, tool calls, usage and stop reason of a ``Message``."""
    text = "".join(block.text for block in message.content if block.type == "text")
    return Completion(
        tool_calls=anthropic_tool_calls(message.content),
        text=text,
        usage=to_usage(message.usage),
        latency_s=latency_s,
        model=message.model or "",
        finish_reason=message.stop_reason,
    )


def to_usage(usage: Any) -> Usage:
    """Our Usage: input counts cache reads and writes too, as Anthropic bills them apart."""
    cache_read = getattr(usage, "cache_read_input_tokens", None) or 0
    cache_write = getattr(usage, "cache_creation_input_tokens", None) or 0
    return Usage(
        input_tokens=(usage.input_tokens or 0) + cache_read + cache_write,
        output_tokens=usage.output_tokens or 0,
        cached_input_tokens=cache_read,
        cache_write_tokens=cache_write,
    )
