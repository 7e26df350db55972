"""The cloud provider kinds' own settings (Azure OpenAI, Bedrock, Vertex, Gemini), checked.

``[tool.modelguard.providers.NAME]`` takes ``kind``, ``base_url`` and ``api_key_env`` for
every kind; the keys here belong to one kind each. Values are checked for shape only (a
region's letters, an endpoint's scheme): whether they exist is the cloud's to say.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

KIND_KEYS: dict[str, tuple[str, ...]] = {
    "azure-openai": ("azure_endpoint", "api_version", "azure_ad_token_env"),
    "bedrock": ("aws_region", "aws_profile"),
    "vertex": ("project_id", "region"),
}
NO_KEY_KINDS = ("bedrock", "vertex")
"""Kinds authenticated by their cloud's credential chain, not by an API key."""
KIND_PRICES = {"azure-openai": "azure", "bedrock": "aws", "vertex": "google", "gemini": "google"}
"""Where genai-prices lists each cloud kind's models."""

_SHAPES = {
    "api_version": (re.compile(r"\d{4}-\d{2}-\d{2}(-preview)?|preview|latest|v1"),
                    "an Azure OpenAI API version such as 2024-10-21"),
    "azure_ad_token_env": (re.compile(r"[A-Za-z_][A-Za-z0-9_]*"), "an environment variable name"),
    "aws_region": (re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}"), "an AWS region such as us-east-1"),
    "aws_profile": (re.compile(r"[\w.+@-]{1,128}"), "an AWS profile name"),
    "project_id": (re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]"),
                   "a Google Cloud project id (6 to 30 lowercase letters, digits or hyphens)"),
    "region": (re.compile(r"[a-z]+(-[a-z]+\d*)?|global"), "a Vertex AI region such as us-east5"),
}  # fmt: skip


def kind_key_problem(kind: str, key: str) -> str | None:
    """Why ``key`` may not be set on a provider of ``kind`` (None when it may)."""
    owner = next((k for k, keys in KIND_KEYS.items() if key in keys), None)
    if owner is not None and owner != kind:
        return f"is a setting of kind = {owner!r}, not {kind!r}"
    if key == "api_key_env" and kind in NO_KEY_KINDS:
        chain = (
            "the AWS credential chain" if kind == "bedrock" else "application default credentials"
        )
        return f"does not apply: kind = {kind!r} authenticates with {chain}"
    if key == "base_url" and kind == "azure-openai":
        return "does not apply to kind = 'azure-openai': set azure_endpoint (https://NAME.openai.azure.com)"
    return None


def value_problem(key: str, value: str) -> str | None:
    """Why ``value`` is not a valid ``key`` of a cloud kind (None when it is)."""
    if key == "azure_endpoint":
        try:
            parts = urlsplit(value)
        except ValueError:
            parts = None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            return f"must be an http(s) URL such as https://NAME.openai.azure.com, got {value!r}"
        return None
    pattern, described = _SHAPES[key]
    return None if pattern.fullmatch(value) else f"must be {described}, got {value!r}"
