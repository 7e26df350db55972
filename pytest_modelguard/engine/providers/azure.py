"""Azure OpenAI (``kind = "azure-openai"``) through ``openai.AsyncAzureOpenAI``.

The model is the deployment's name: the SDK calls
``{azure_endpoint}/openai/deployments/{model}/chat/completions?api-version=...``. The key
comes from ``AZURE_OPENAI_API_KEY`` (or ``api_key_env``), sent as ``api-key``; without it,
an Entra ID token from ``AZURE_OPENAI_AD_TOKEN`` (or ``azure_ad_token_env``), else
azure-identity's ``DefaultAzureCredential`` when that package is installed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ...core.safety import MIN_SECRET_LEN, url_secrets
from ...records.calls import ProviderError
from .openai import OpenAIProvider

if TYPE_CHECKING:
    from openai import AsyncAzureOpenAI, AsyncOpenAI

ENTRA_SCOPE = "https://cognitiveservices.azure.com/.default"
DEFAULT_TOKEN_ENV = "AZURE_OPENAI_AD_TOKEN"


class AzureOpenAIProvider(OpenAIProvider):
    """Chat Completions on an Azure OpenAI resource, authenticated by key or Entra ID."""

    default_key_env = "AZURE_OPENAI_API_KEY"

    def __init__(
        self,
        name: str,
        *,
        azure_endpoint: str | None = None,
        api_version: str | None = None,
        azure_ad_token_env: str | None = None,
        api_key_env: str | None = None,
        timeout_s: float = 60.0,
    ) -> None:
        super().__init__(
            name, base_url=azure_endpoint, api_key_env=api_key_env, timeout_s=timeout_s
        )
        self.api_version = api_version
        self.token_env = azure_ad_token_env or DEFAULT_TOKEN_ENV
        self._secrets: tuple[str, ...] = ()

    @property
    def credentials(self) -> str:
        return f"the key in {self.api_key_env} or the Entra ID token"

    def _build(self) -> AsyncOpenAI:
        key = os.environ.get(self.api_key_env, "").strip()
        token = os.environ.get(self.token_env, "").strip()
        self._secrets = tuple(v for v in (key or token,) if len(v) >= MIN_SECRET_LEN)
        if key:
            return self._azure(api_key=key)
        if token:
            return self._azure(azure_ad_token=token)
        return self._azure(azure_ad_token_provider=self._entra_provider())

    def _azure(self, **auth: Any) -> AsyncAzureOpenAI:
        import openai

        endpoint = self.base_url or os.environ.get("AZURE_OPENAI_ENDPOINT")
        version = self.api_version or os.environ.get("OPENAI_API_VERSION")
        if not endpoint or not version:
            missing = "azure_endpoint" if not endpoint else "api_version"
            raise ProviderError(
                f"{self.name}: no {missing}: set it under [tool.modelguard.providers.{self.name}] "
                f"(or {'AZURE_OPENAI_ENDPOINT' if not endpoint else 'OPENAI_API_VERSION'})",
                transient=False,
            )
        return openai.AsyncAzureOpenAI(
            azure_endpoint=endpoint,
            api_version=version,
            timeout=self.timeout_s,
            max_retries=0,
            **auth,
        )

    def _entra_provider(self) -> Callable[[], str]:
        """azure-identity's token provider for the signed-in identity (az login, managed
        identity, workload identity...), or a permanent error saying what to set."""
        try:
            from azure.identity import DefaultAzureCredential, get_bearer_token_provider
        except ImportError:
            raise ProviderError(
                f"{self.name}: no Azure OpenAI credentials: export {self.api_key_env} with the "
                f"resource's key, or {self.token_env} with an Entra ID token, or install "
                "azure-identity to sign in with Entra ID (DefaultAzureCredential)",
                transient=False,
            ) from None
        provider: Callable[[], str] = get_bearer_token_provider(
            DefaultAzureCredential(), ENTRA_SCOPE
        )
        return provider

    def secrets(self, client: AsyncOpenAI) -> tuple[str, ...]:
        """The key or token this client sends (never the SDK's placeholder key)."""
        return self._secrets + url_secrets(self.base_url)
