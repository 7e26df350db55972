"""The HTTP error rules and client handling the SDK providers share (behind the package face)."""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import functools
import inspect
import math
import os
import re
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, Generic, TypeVar

from ...core.safety import (
    MIN_SECRET_LEN,
    scrub_auth_fields,
    scrub_secrets,
    scrub_url,
    url_secrets,
)
from ...records.calls import Completion, ProviderError, Request

ClientT = TypeVar("ClientT")

TRANSIENT_STATUSES = frozenset({408, 409, 429})
MAX_RETRY_AFTER_S = 3600.0


def default_key_env(name: str, kind: str) -> str:
    """``OPENAI_API_KEY`` for the built-in providers, else ``NAME_API_KEY``."""
    base = kind if name == kind else name
    return re.sub(r"[^A-Za-z0-9]+", "_", base).upper() + "_API_KEY"


def read_api_key(env_var: str, provider: str) -> str:
    """The key from ``env_var``, or a permanent ProviderError telling the user what to set."""
    key = os.environ.get(env_var, "").strip()
    if not key:
        raise ProviderError(
            f"{provider}: environment variable {env_var} is not set; export it with your API key "
            "to call the model, or replay recorded answers with --modelguard-record none",
            transient=False,
        )
    return key


def sdk_kwargs(method: Callable[..., Any], params: Mapping[str, Any]) -> dict[str, Any]:
    """Params as keywords for an SDK ``create``; those it does not name ride in ``extra_body``.

    SDK signatures drift (anthropic 2.x dropped ``temperature``) while the API still
    takes the field, so unknown params go on the wire instead of raising TypeError.
    """
    known = _parameter_names(getattr(method, "__func__", method))
    kwargs = {k: v for k, v in params.items() if k in known}
    extra = {k: v for k, v in params.items() if k not in known}
    if extra:
        kwargs["extra_body"] = {**(kwargs.get("extra_body") or {}), **extra}
    return kwargs


@functools.cache
def _parameter_names(function: Callable[..., Any]) -> frozenset[str]:
    return frozenset(inspect.signature(function).parameters)


def without_secrets(error: ProviderError, secrets: Sequence[str]) -> ProviderError:
    """The error with secrets scrubbed out, by value and in auth fields: some endpoints
    quote the key they refused, the headers they got or the URL they were called at."""
    text = str(error)
    scrubbed = scrub_auth_fields(scrub_secrets(text, secrets))
    if scrubbed == text:
        return error
    return ProviderError(
        scrubbed, transient=error.transient, status=error.status, retry_after=error.retry_after
    )


def is_transient_status(status: int) -> bool:
    """408, 409, 429 and every 5xx are worth retrying; other statuses are permanent."""
    return status in TRANSIENT_STATUSES or status >= 500


def parse_retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date)."""
    if not headers:
        return None
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        seconds: float | None
        try:
            seconds = float(value) / divisor
        except ValueError:
            seconds = _seconds_until(value)
        if seconds is not None and math.isfinite(seconds) and seconds >= 0:
            return min(seconds, MAX_RETRY_AFTER_S)
    return None


def _seconds_until(http_date: str) -> float | None:
    try:
        when = email.utils.parsedate_to_datetime(http_date)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


_STATUS_HINTS = {
    401: "check {credentials}",
    403: "check that {credentials} may use this model",
    404: "check the model name and the provider's base_url",
    429: "rate limited; lower [tool.modelguard] concurrency if this persists",
}


def status_error(
    label: str, status: int, message: str, headers: Mapping[str, str] | None, credentials: str
) -> ProviderError:
    """A ProviderError for an HTTP error status, with the next step in its message
    (``credentials`` says what authenticated: "the API key in OPENAI_API_KEY")."""
    hint = _STATUS_HINTS.get(status, "")
    text = f"{label}: HTTP {status}: {message}"
    if hint:
        text += f" ({hint.format(credentials=credentials)})"
    return ProviderError(
        text,
        transient=is_transient_status(status),
        status=status,
        retry_after=parse_retry_after(headers),
    )


def malformed_error(label: str, exc: Exception) -> ProviderError:
    """A permanent error for a response body the SDK could not read."""
    return ProviderError(
        f"{label}: malformed response from the provider ({type(exc).__name__}: {exc}); "
        "check the provider's base_url points at a compatible API",
        transient=False,
    )


class SdkProvider(Generic[ClientT]):
    """What the SDK providers share: a client built lazily, once per event loop.

    The key is read only when a call is made, so replay from the cache never needs it.
    """

    default_key_env = ""

    def __init__(
        self,
        name: str,
        *,
        base_url: str | None = None,
        api_key_env: str | None = None,
        timeout_s: float = 60.0,
    ) -> None:
        self.name = name
        self.base_url = base_url
        self.api_key_env = api_key_env or self.default_key_env
        self.timeout_s = timeout_s
        self._client: ClientT | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def credentials(self) -> str:
        """What authenticates the calls, as a 401's hint names it."""
        return f"the API key in {self.api_key_env}"

    def _build(self) -> ClientT:
        """A new client, with the key read now (a missing key: a permanent ProviderError)."""
        return self._new_client(read_api_key(self.api_key_env, self.name))

    def _new_client(self, api_key: str) -> ClientT:
        raise NotImplementedError

    async def _create(self, client: ClientT, request: Request, label: str) -> Any:
        """The SDK response, or the ProviderError its failure maps to (returned, not raised)."""
        raise NotImplementedError

    def _to_completion(self, response: Any, latency_s: float) -> Completion:
        raise NotImplementedError

    def _touch(self, client: ClientT) -> None:
        """Reach the SDK resource the calls use: it is imported on first access."""

    def warm(self, models: Collection[str]) -> None:
        """Build the client (and its resource) now, on the running loop, outside every clock.

        Built lazily inside the first call, the SDK's import and the client's construction
        block the loop while other calls' clocks run: their first answers read seconds
        slower than the rest. A missing key is left for the call to report.
        """
        with contextlib.suppress(ProviderError):
            self._touch(self.client())

    async def complete(self, request: Request) -> Completion:
        """One call, timed; SDK failures become ProviderError (the runner retries)."""
        client = self.client()
        label = f"{self.name}:{request.model}"
        start = time.monotonic()
        try:
            outcome = await self._create(client, request, label)
        except Exception as exc:  # a bug, bad params: the message may quote the URL
            outcome = ProviderError(f"{label}: {type(exc).__name__}: {exc}", transient=False)
        secrets = self.secrets(client)  # after the call: a token fetched for it included
        if isinstance(outcome, ProviderError):
            # raised outside the SDK's except block: no SDK object is chained
            raise without_secrets(outcome, secrets)
        try:
            completion = self._to_completion(outcome, time.monotonic() - start)
        except Exception as exc:  # an answer of a shape the SDK let through
            raise without_secrets(malformed_error(label, exc), secrets) from None
        # an endpoint that echoes the key or a base_url token, in any field of the answer
        return completion.map_text(lambda text: scrub_secrets(text, secrets))

    def secrets(self, client: ClientT) -> tuple[str, ...]:
        """What never leaves this provider: the key it sends and the base_url's tokens."""
        key = getattr(client, "api_key", None)
        keys = (key,) if isinstance(key, str) and len(key) >= MIN_SECRET_LEN else ()
        return keys + url_secrets(self.base_url)

    def client(self) -> ClientT:
        """The SDK client for the running loop (a new loop gets a new client)."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            self._client = self._build()
            self._loop = loop
        return self._client

    def connection_error(self, label: str, reason: BaseException) -> ProviderError:
        """A transient error for a call that got no response, naming where it went."""
        where = scrub_url(self.base_url) if self.base_url else "the provider's API"
        return ProviderError(
            f"{label}: connection failed ({reason!r}); check that {where} is reachable",
            transient=True,
        )

    async def aclose(self) -> None:
        """Close the client's connections; the next call builds a new client."""
        client: Any = self._client
        same_loop = self._loop is asyncio.get_running_loop()
        self._client, self._loop = None, None
        if client is not None and same_loop:
            await client.close()
