"""OpenAI Chat Completions (and OpenAI-compatible endpoints) through ``openai.AsyncOpenAI``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ...records.calls import Completion, ProviderError, Request, Usage
from ._sdk import SdkProvider, malformed_error, sdk_kwargs, status_error
from .tools import openai_arguments, openai_tool_calls

if TYPE_CHECKING:
    from openai import AsyncOpenAI


class OpenAIProvider(SdkProvider["AsyncOpenAI"]):
    """Chat Completions with SDK retries off: the runner owns retries and backoff."""

    default_key_env = "OPENAI_API_KEY"

    def _new_client(self, api_key: str) -> AsyncOpenAI:
        import openai

        return openai.AsyncOpenAI(
            api_key=api_key, base_url=self.base_url, timeout=self.timeout_s, max_retries=0
        )

    def _touch(self, client: AsyncOpenAI) -> None:
        client.chat.completions  # noqa: B018 - imported on first access

    async def _create(self, client: AsyncOpenAI, request: Request, label: str) -> Any:
        import openai

        try:
            return await self._call(client, request)
        except openai.APIStatusError as exc:
            return status_error(
                label, exc.status_code, exc.message, exc.response.headers, self.credentials
            )
        except openai.APITimeoutError:
            return ProviderError(f"{label}: timed out after {self.timeout_s:g}s", transient=True)
        except openai.APIConnectionError as exc:
            return self.connection_error(label, exc.__cause__ or exc)
        except (openai.APIResponseValidationError, json.JSONDecodeError) as exc:
            return malformed_error(label, exc)

    async def _call(self, client: AsyncOpenAI, request: Request) -> Any:
        """The SDK call itself (errors are mapped by ``_create``)."""
        create = client.chat.completions.create
        messages: list[Any] = openai_arguments(request.messages)
        return await create(
            model=request.model, messages=messages, **sdk_kwargs(create, request.params)
        )

    def _to_completion(self, response: Any, latency_s: float) -> Completion:
        return to_completion(response, latency_s)


def to_completion(response: Any, latency_s: float) -> Completion:
    """Text, tool calls, usage and finish reason of a ``ChatCompletion``."""
    choice = response.choices[0] if response.choices else None
    text = (choice.message.content or "") if choice is not None else ""
    return Completion(
        tool_calls=openai_tool_calls(choice.message) if choice is not None else (),
        text=text,
        usage=to_usage(response.usage),
        latency_s=latency_s,
        model=response.model or "",
        finish_reason=choice.finish_reason if choice is not None else None,
    )


def to_usage(usage: Any) -> Usage:
    """Our Usage from ``CompletionUsage`` (cached and reasoning details included)."""
    if usage is None:
        return Usage()
    prompt = usage.prompt_tokens_details
    completion = usage.completion_tokens_details
    return Usage(
        input_tokens=usage.prompt_tokens or 0,
        output_tokens=usage.completion_tokens or 0,
        cached_input_tokens=getattr(prompt, "cached_tokens", None) or 0,
        cache_write_tokens=getattr(prompt, "cache_write_tokens", None) or 0,
        reasoning_tokens=getattr(completion, "reasoning_tokens", None) or 0,
    )
