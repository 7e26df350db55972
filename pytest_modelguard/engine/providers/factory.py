"""Which class answers for a provider kind; each SDK is imported only when its kind is used."""

from __future__ import annotations

from collections.abc import Mapping

from ...records.calls import Provider
from ._sdk import default_key_env

KINDS = (
    "openai", "openai-responses", "anthropic", "python", "azure-openai", "bedrock", "vertex",
    "gemini",
)  # fmt: skip
GEMINI_BASE_URL = "https://generativelanguage.googleapis.com/v1beta/openai/"
"""Google's OpenAI-compatible endpoint for the Gemini API."""


def make_provider(
    kind: str,
    name: str,
    base_url: str | None,
    api_key_env: str | None,
    *,
    timeout_s: float = 60.0,
    options: Mapping[str, str] | None = None,
) -> Provider:
    """Build the provider of ``kind`` (see ``KINDS``) configured as ``name``.

    Without ``api_key_env``, ``openai``/``anthropic`` read ``OPENAI_API_KEY`` /
    ``ANTHROPIC_API_KEY``; any other name reads ``NAME_API_KEY`` (``groq`` → ``GROQ_API_KEY``),
    so one vendor's key is never sent to another's endpoint. ``options`` are the kind's own
    settings (``azure_endpoint``, ``aws_region``, ``project_id``...), checked by config.
    """
    given = dict(options or {})
    if kind == "python":
        from .python import PythonProvider

        return PythonProvider(name, timeout_s=timeout_s)
    if kind == "bedrock":
        from .bedrock import BedrockProvider

        return BedrockProvider(name, base_url=base_url, timeout_s=timeout_s, **given)
    if kind == "vertex":
        from .vertex import VertexProvider

        return VertexProvider(name, base_url=base_url, timeout_s=timeout_s, **given)
    key_env = api_key_env or default_key_env(name, kind)
    if kind == "azure-openai":
        from .azure import AzureOpenAIProvider

        return AzureOpenAIProvider(name, api_key_env=key_env, timeout_s=timeout_s, **given)
    if kind in ("openai", "gemini"):
        from .openai import OpenAIProvider

        url = base_url or (GEMINI_BASE_URL if kind == "gemini" else None)
        return OpenAIProvider(name, base_url=url, api_key_env=key_env, timeout_s=timeout_s)
    if kind == "openai-responses":
        from .responses import OpenAIResponsesProvider

        return OpenAIResponsesProvider(
            name, base_url=base_url, api_key_env=key_env, timeout_s=timeout_s
        )
    if kind == "anthropic":
        from .anthropic import AnthropicProvider

        return AnthropicProvider(name, base_url=base_url, api_key_env=key_env, timeout_s=timeout_s)
    raise ValueError(f"unknown provider kind {kind!r} for {name!r}: use one of {', '.join(KINDS)}")
