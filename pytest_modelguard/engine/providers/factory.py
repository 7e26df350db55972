"""Which class answers for a provider kind; each SDK is imported only when its kind is used."""

from __future__ import annotations

from collections.abc import Mapping

from ...records.calls import Provider
from ._sdk import default_key_env
from .clouds import CLOUD_KINDS, make_cloud_provider

KINDS = ("openai", "openai-responses", "anthropic", "python", *CLOUD_KINDS)


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
    so one vendor's key is never sent to another's endpoint. ``options`` are a cloud kind's
    own settings (``azure_endpoint``, ``aws_region``, ``project_id``...).
    """
    if kind == "python":
        from .python import PythonProvider

        return PythonProvider(name, timeout_s=timeout_s)
    key_env = api_key_env or default_key_env(name, kind)
    if kind in CLOUD_KINDS:
        return make_cloud_provider(kind, name, base_url, key_env, timeout_s, options or {})
    if kind == "openai":
        from .openai import OpenAIProvider

        return OpenAIProvider(name, base_url=base_url, api_key_env=key_env, timeout_s=timeout_s)
    if kind == "openai-responses":
        from .responses import OpenAIResponsesProvider

        return OpenAIResponsesProvider(
            name, base_url=base_url, api_key_env=key_env, timeout_s=timeout_s
        )
    if kind == "anthropic":
        from .anthropic import AnthropicProvider

        return AnthropicProvider(name, base_url=base_url, api_key_env=key_env, timeout_s=timeout_s)
    raise ValueError(f"unknown provider kind {kind!r} for {name!r}: use one of {', '.join(KINDS)}")
