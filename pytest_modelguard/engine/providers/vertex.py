"""Claude on Google Vertex AI (``kind = "vertex"``) through ``anthropic.AsyncAnthropicVertex``.

Calls carry a Bearer token from application default credentials (``gcloud auth
application-default login``, ``GOOGLE_APPLICATION_CREDENTIALS``, or the attached service
account), read by google-auth from the ``anthropic[vertex]`` extra, imported only when this
kind builds its client. The SDK calls
``/projects/{project}/locations/{region}/publishers/anthropic/models/{model}:rawPredict``.
"""

from __future__ import annotations

import importlib.util
import os
from typing import TYPE_CHECKING, Any, cast

from ...core.safety import MIN_SECRET_LEN, url_secrets
from ...records.calls import ProviderError, Request
from .anthropic import AnthropicProvider

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic

ADC = (
    "application default credentials: gcloud auth application-default login or "
    "GOOGLE_APPLICATION_CREDENTIALS"
)


class VertexProvider(AnthropicProvider):
    """Messages on Vertex AI, authenticated by application default credentials."""

    default_key_env = ""  # no API key: the cloud's own credentials

    def __init__(
        self,
        name: str,
        *,
        project_id: str | None = None,
        region: str | None = None,
        base_url: str | None = None,
        timeout_s: float = 60.0,
    ) -> None:
        super().__init__(name, base_url=base_url, timeout_s=timeout_s)
        self.project_id, self.region = project_id, region

    @property
    def credentials(self) -> str:
        return f"the Google credentials ({ADC})"

    def _build(self) -> AsyncAnthropic:
        if importlib.util.find_spec("google.auth") is None:
            raise ProviderError(
                f"{self.name}: kind = 'vertex' needs google-auth: "
                "pip install 'pytest-modelguard[vertex]'",
                transient=False,
            )
        import anthropic

        region = self.region or os.environ.get("CLOUD_ML_REGION")
        project = self.project_id or os.environ.get("ANTHROPIC_VERTEX_PROJECT_ID")
        if not region or not project:
            key, env = (
                ("region", "CLOUD_ML_REGION")
                if not region
                else ("project_id", "ANTHROPIC_VERTEX_PROJECT_ID")
            )
            raise ProviderError(
                f"{self.name}: no {key}: set it under [tool.modelguard.providers.{self.name}] "
                f"(or {env})",
                transient=False,
            )
        client = anthropic.AsyncAnthropicVertex(
            region=region,
            project_id=project,
            base_url=self.base_url,
            timeout=self.timeout_s,
            max_retries=0,
        )
        return cast("AsyncAnthropic", client)  # the same Messages API

    def secrets(self, client: AsyncAnthropic) -> tuple[str, ...]:
        """The access token the calls carried (fetched by the first call), and the
        base_url's tokens."""
        found: Any = client
        token = getattr(getattr(found, "credentials", None), "token", None) or found.access_token
        own = (token,) if isinstance(token, str) and len(token) >= MIN_SECRET_LEN else ()
        return own + url_secrets(self.base_url)

    async def _create(self, client: AsyncAnthropic, request: Request, label: str) -> Any:
        from google.auth import exceptions

        try:
            return await super()._create(client, request, label)
        except exceptions.TransportError as exc:  # the token endpoint did not answer
            return ProviderError(f"{label}: Google sign-in failed: {exc}", transient=True)
        except exceptions.GoogleAuthError as exc:
            return ProviderError(
                f"{label}: no usable Google credentials ({exc}); check the {ADC}", transient=False
            )
