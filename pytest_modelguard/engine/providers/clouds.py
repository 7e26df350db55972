"""The cloud kinds' providers: Azure OpenAI, Bedrock, Vertex AI and Gemini (behind the factory)."""

from __future__ import annotations

from collections.abc import Mapping

from ...records.calls import Provider

GEMINI_BASE_URL = "https://generativelanguage.googleapis.com/v1beta/openai/"
"""Google's OpenAI-compatible endpoint for the Gemini API."""
CLOUD_KINDS = ("azure-openai", "bedrock", "vertex", "gemini")


def make_cloud_provider(
    kind: str,
    name: str,
    base_url: str | None,
    key_env: str,
    timeout_s: float,
    options: Mapping[str, str],
) -> Provider:
    """The provider of a cloud ``kind`` (one of ``CLOUD_KINDS``); ``options`` are the kind's
    own settings (``azure_endpoint``, ``aws_region``, ``project_id``...), checked by config."""
    given = dict(options)
    if kind == "bedrock":
        from .bedrock import BedrockProvider

        return BedrockProvider(name, base_url=base_url, timeout_s=timeout_s, **given)
    if kind == "vertex":
        from .vertex import VertexProvider

        return VertexProvider(name, base_url=base_url, timeout_s=timeout_s, **given)
    if kind == "azure-openai":
        from .azure import AzureOpenAIProvider

        return AzureOpenAIProvider(name, api_key_env=key_env, timeout_s=timeout_s, **given)
    from .openai import OpenAIProvider  # gemini: Chat Completions at Google's endpoint

    url = base_url or GEMINI_BASE_URL
    return OpenAIProvider(name, base_url=url, api_key_env=key_env, timeout_s=timeout_s)
