"""Claude on Amazon Bedrock (``kind = "bedrock"``) through ``anthropic.AsyncAnthropicBedrock``.

Requests are SigV4-signed with the standard AWS credential chain (environment, profile,
SSO, container or instance role) by boto3, from the ``anthropic[bedrock]`` extra, imported
only when this kind builds its client. The model is the Bedrock model or inference profile
id (``anthropic.claude-sonnet-4-5-20250929-v1:0``); the SDK calls ``/model/{id}/invoke``.
"""

from __future__ import annotations

import importlib.util
import os
from typing import TYPE_CHECKING, cast

from ...core.safety import MIN_SECRET_LEN, url_secrets
from ...records.calls import ProviderError
from .anthropic import AnthropicProvider

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic

CHAIN = "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE (or aws_profile), SSO or a role"


class BedrockProvider(AnthropicProvider):
    """Messages on Bedrock, signed with the credentials the AWS chain finds."""

    default_key_env = ""  # no API key: the cloud's own credentials

    def __init__(
        self,
        name: str,
        *,
        aws_region: str | None = None,
        aws_profile: str | None = None,
        base_url: str | None = None,
        timeout_s: float = 60.0,
    ) -> None:
        super().__init__(name, base_url=base_url, timeout_s=timeout_s)
        self.aws_region, self.aws_profile = aws_region, aws_profile
        self._secrets: tuple[str, ...] = ()

    @property
    def credentials(self) -> str:
        return f"the AWS credentials ({CHAIN})"

    def _build(self) -> AsyncAnthropic:
        if importlib.util.find_spec("boto3") is None:
            raise ProviderError(
                f"{self.name}: kind = 'bedrock' needs boto3: "
                "pip install 'pytest-modelguard[bedrock]'",
                transient=False,
            )
        import anthropic
        import boto3
        import botocore.exceptions

        region = self.aws_region or os.environ.get("AWS_REGION")  # as the SDK reads it
        try:
            session = boto3.Session(profile_name=self.aws_profile, region_name=region or None)
            found = session.get_credentials()
            frozen = found.get_frozen_credentials() if found is not None else None
        except botocore.exceptions.BotoCoreError as exc:  # no such profile, an expired SSO...
            raise ProviderError(f"{self.name}: {exc}", transient=False) from None
        if frozen is None:
            raise ProviderError(
                f"{self.name}: no AWS credentials found; set {CHAIN}, or replay recorded "
                "answers with --modelguard-record none",
                transient=False,
            )
        if not session.region_name:
            raise ProviderError(
                f"{self.name}: no aws_region: set it under [tool.modelguard.providers.{self.name}] "
                "(or AWS_REGION, AWS_DEFAULT_REGION, or a region in the profile)",
                transient=False,
            )
        values = (frozen.access_key, frozen.secret_key, frozen.token)
        self._secrets = tuple(v for v in values if v and len(v) >= MIN_SECRET_LEN)
        client = anthropic.AsyncAnthropicBedrock(
            aws_region=session.region_name,
            aws_profile=self.aws_profile,
            base_url=self.base_url,
            timeout=self.timeout_s,
            max_retries=0,
        )
        return cast("AsyncAnthropic", client)  # the same Messages API

    def secrets(self, client: AsyncAnthropic) -> tuple[str, ...]:
        """The AWS credentials signing the calls, and the base_url's tokens."""
        return self._secrets + url_secrets(self.base_url)
