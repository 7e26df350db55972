"""The providers' batch APIs through their SDKs: OpenAI Batch and Anthropic Message Batches.

A request becomes one line of a batch with the body an ordinary call would send (built by
the same code) and its cache key as ``custom_id``; each result line is read back by the
same code as an ordinary answer, marked ``batch`` and with no latency (a batch has none).
A failure is a ProviderError as data: ``transient`` ones (expired, cancelled, overloaded,
5xx) are worth another batch.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from ...core.safety import scrub_secrets
from ...records.calls import Completion, Provider, ProviderError, Request
from . import anthropic as anthropic_wire
from . import openai as openai_wire
from . import responses as responses_wire
from ._sdk import SdkProvider, malformed_error, status_error, without_secrets
from .tools import openai_arguments

T = TypeVar("T")
Outcome = Completion | ProviderError

OPENAI_MAX_REQUESTS = 50_000
OPENAI_MAX_BYTES = 200 * 1024 * 1024
ANTHROPIC_MAX_REQUESTS = 100_000
ANTHROPIC_MAX_BYTES = 256 * 1024 * 1024
"""The providers' limits per batch (requests, bytes of the input); a run splits above them."""
OPENAI_ENDED = frozenset({"completed", "failed", "expired", "cancelled"})
RETRIED_CODES = frozenset({"batch_expired", "batch_cancelled", "expired", "canceled"})
TRANSIENT_TYPES = frozenset({"overloaded_error", "api_error", "rate_limit_error", "timeout_error"})
LIST_PAGES = 10
"""Pages of recent batches looked through for one a killed run was submitting."""
CLOCK_SKEW_S = 120.0
"""How far the provider's clock may be behind ours when matching a batch by its time."""


@dataclass(frozen=True, slots=True)
class BatchStatus:
    """Where one batch stands."""

    ended: bool
    state: str  # the provider's word: in_progress, completed, ended, expired…
    completed: int
    failed: int
    total: int
    files: tuple[str, ...] = ()  # OpenAI: the output and error files to read
    problem: str = ""  # why the batch as a whole failed (OpenAI validation errors)


class BatchApi(Protocol):
    """One provider's batch API."""

    name: str
    max_requests: int
    max_bytes: int

    def line(self, request: Request) -> bytes:
        """The request as one line of a batch (its size counts toward ``max_bytes``)."""
        ...

    async def submit(self, lines: Sequence[bytes], tag: str) -> str:
        """Create a batch of these lines, tagged ``tag`` where the API keeps metadata; its id
        (ProviderError when refused)."""
        ...

    async def find(self, tag: str, submitted_at: float, count: int) -> list[str]:
        """The batches that may be the one a run was killed while submitting: tagged ``tag``
        (OpenAI), or of ``count`` requests created since ``submitted_at`` (Anthropic)."""
        ...

    async def status(self, batch_id: str) -> BatchStatus: ...

    async def results(self, batch_id: str, status: BatchStatus) -> dict[str, Outcome]:
        """Every result of an ended batch, by ``custom_id`` (the request key)."""
        ...


def batch_api(provider: Provider) -> BatchApi | None:
    """The batch API of ``provider``'s SDK (None for a provider that has none)."""
    kind = type(provider)  # not the cloud kinds built on these: their batch jobs differ
    if kind in (openai_wire.OpenAIProvider, responses_wire.OpenAIResponsesProvider):
        return OpenAIBatches(provider)  # type: ignore[arg-type]
    if kind is anthropic_wire.AnthropicProvider:
        return AnthropicBatches(provider)  # type: ignore[arg-type]
    return None


class _Batches:
    """What both share: the provider's client, its errors mapped, its secrets scrubbed."""

    module = ""  # the SDK's module name, for its error classes

    def __init__(self, provider: SdkProvider[Any]) -> None:
        self.provider = provider
        self.name = provider.name

    async def _sdk(self, what: str, call: Callable[[Any], Awaitable[T]]) -> T:
        """``call(client)``, its SDK failures raised as ProviderError naming ``what``."""
        sdk: Any = __import__(self.module)
        provider = self.provider
        client = provider.client()
        label = f"{self.name} batch API ({what})"
        try:
            return await call(client)
        except sdk.APIStatusError as exc:
            error = status_error(
                label, exc.status_code, exc.message, exc.response.headers, provider.api_key_env
            )
        except sdk.APITimeoutError:
            late = f"{label}: timed out after {provider.timeout_s:g}s"
            error = ProviderError(late, transient=True)
        except sdk.APIConnectionError as exc:
            error = provider.connection_error(label, exc.__cause__ or exc)
        except (sdk.APIResponseValidationError, ValueError) as exc:
            error = malformed_error(label, exc)
        raise without_secrets(error, provider.secrets(client))

    def _answer(self, read: Callable[[], Completion]) -> Outcome:
        """A result read into a Completion (batch, no latency) with secrets scrubbed."""
        secrets = self.provider.secrets(self.provider.client())
        try:
            completion = read()
        except Exception as exc:  # a result of a shape the SDK types refuse
            return without_secrets(malformed_error(f"{self.name} batch result", exc), secrets)
        completion = dataclasses.replace(completion, latency_s=None, batch=True)
        return completion.map_text(lambda text: scrub_secrets(text, secrets))


class OpenAIBatches(_Batches):
    """``files.create(purpose="batch")`` + ``batches.create``; results from the output and
    error files. Chat Completions or Responses, as the provider's kind says."""

    module = "openai"

    def __init__(self, provider: openai_wire.OpenAIProvider) -> None:
        super().__init__(provider)
        self.responses = isinstance(provider, responses_wire.OpenAIResponsesProvider)
        self.endpoint = "/v1/responses" if self.responses else "/v1/chat/completions"
        self.max_requests = OPENAI_MAX_REQUESTS
        self.max_bytes = OPENAI_MAX_BYTES

    def body(self, request: Request) -> dict[str, Any]:
        """What an ordinary call sends (params the SDK does not name go in the body too)."""
        if self.responses:
            items = responses_wire.responses_input(request.messages)
            return {
                "model": request.model,
                "input": items,
                **responses_wire.responses_params(request.params),
            }
        messages = openai_arguments(request.messages)
        return {"model": request.model, "messages": messages, **request.params}

    def line(self, request: Request) -> bytes:
        line = {
            "custom_id": request.key(),
            "method": "POST",
            "url": self.endpoint,
            "body": self.body(request),
        }
        return json.dumps(line, ensure_ascii=False).encode("utf-8", "surrogatepass") + b"\n"

    async def submit(self, lines: Sequence[bytes], tag: str) -> str:
        data = b"".join(lines)
        upload = await self._sdk(
            "upload",
            lambda c: c.files.create(
                file=("modelguard-batch.jsonl", data, "application/jsonl"), purpose="batch"
            ),
        )
        batch = await self._sdk(
            "create",
            lambda c: c.batches.create(
                input_file_id=upload.id,
                endpoint=self.endpoint,
                completion_window="24h",
                metadata={"source": "pytest-modelguard", "modelguard_tag": tag},
            ),
        )
        return str(batch.id)

    async def find(self, tag: str, submitted_at: float, count: int) -> list[str]:
        page = await self._sdk("list", lambda c: c.batches.list(limit=100))
        found: list[str] = []
        for _ in range(LIST_PAGES):
            for batch in page.data:
                metadata = getattr(batch, "metadata", None) or {}
                if metadata.get("modelguard_tag") == tag:
                    found.append(str(batch.id))
            older = any(b.created_at < submitted_at - CLOCK_SKEW_S for b in page.data)
            if found or older or not page.has_next_page():
                break
            page = await self._sdk("list", _next_page(page))
        return found

    async def status(self, batch_id: str) -> BatchStatus:
        batch = await self._sdk("retrieve", lambda c: c.batches.retrieve(batch_id))
        counts = batch.request_counts
        errors = getattr(getattr(batch, "errors", None), "data", None) or ()
        problem = "; ".join(str(getattr(e, "message", e)) for e in errors)
        files = tuple(f for f in (batch.output_file_id, batch.error_file_id) if f)
        return BatchStatus(
            ended=batch.status in OPENAI_ENDED,
            state=str(batch.status),
            completed=counts.completed if counts else 0,
            failed=counts.failed if counts else 0,
            total=counts.total if counts else 0,
            files=files,
            problem=problem,
        )

    async def results(self, batch_id: str, status: BatchStatus) -> dict[str, Outcome]:
        found: dict[str, Outcome] = {}
        for file_id in status.files:
            content = await self._sdk("results", _content_of(file_id))
            for raw in content.text.splitlines():
                if raw.strip():
                    key, outcome = self._result(raw, batch_id)
                    found[key] = outcome
        return found

    def _result(self, raw: str, batch_id: str) -> tuple[str, Outcome]:
        label = f"{self.name} batch {batch_id}"
        try:
            data = json.loads(raw)
            key = str(data["custom_id"])
        except (ValueError, KeyError, TypeError) as exc:
            return "", malformed_error(label, exc)
        error, response = data.get("error"), data.get("response")
        if isinstance(error, dict):
            code = str(error.get("code") or "")
            message = f"{label}: {code}: {error.get('message') or ''}"
            return key, ProviderError(message, transient=code in RETRIED_CODES)
        if not isinstance(response, dict):
            return key, malformed_error(label, ValueError("a result line with no response"))
        body = response.get("body")
        status = response.get("status_code")
        if status != 200:
            detail = body.get("error") if isinstance(body, dict) else None
            text = str(detail.get("message", "")) if isinstance(detail, dict) else str(body)[:200]
            http = status if isinstance(status, int) else 500
            return key, status_error(label, http, text, None, self.provider.api_key_env)
        return key, self._answer(lambda: self._completion(body))

    def _completion(self, body: Any) -> Completion:
        if self.responses:
            from openai.types.responses import Response

            return responses_wire.to_completion(Response.model_construct(**body), 0.0)
        from openai.types.chat import ChatCompletion

        return openai_wire.to_completion(ChatCompletion.model_construct(**body), 0.0)


class AnthropicBatches(_Batches):
    """``messages.batches.create`` / ``retrieve`` / ``results``."""

    module = "anthropic"

    def __init__(self, provider: anthropic_wire.AnthropicProvider) -> None:
        super().__init__(provider)
        self.max_requests = ANTHROPIC_MAX_REQUESTS
        self.max_bytes = ANTHROPIC_MAX_BYTES

    def line(self, request: Request) -> bytes:
        create = self.provider.client().messages.create
        kwargs = anthropic_wire.message_kwargs(create, request)
        extra = kwargs.pop("extra_body", None) or {}
        params = {**kwargs, **extra}
        line = {"custom_id": request.key(), "params": params}
        return json.dumps(line, ensure_ascii=False).encode("utf-8", "surrogatepass") + b"\n"

    async def submit(self, lines: Sequence[bytes], tag: str) -> str:
        requests = [json.loads(line) for line in lines]
        batch = await self._sdk("create", lambda c: c.messages.batches.create(requests=requests))
        return str(batch.id)

    async def find(self, tag: str, submitted_at: float, count: int) -> list[str]:
        page = await self._sdk("list", lambda c: c.messages.batches.list(limit=100))
        found: list[str] = []
        for batch in page.data:  # newest first; Message Batches keep no metadata
            counts = batch.request_counts
            total = (
                counts.processing + counts.succeeded + counts.errored + counts.canceled
                + counts.expired
            )  # fmt: skip
            if batch.created_at.timestamp() >= submitted_at - CLOCK_SKEW_S and total == count:
                found.append(str(batch.id))
        return found

    async def status(self, batch_id: str) -> BatchStatus:
        batch = await self._sdk("retrieve", lambda c: c.messages.batches.retrieve(batch_id))
        counts = batch.request_counts
        failed = counts.errored + counts.expired + counts.canceled
        return BatchStatus(
            ended=batch.processing_status == "ended",
            state=str(batch.processing_status),
            completed=counts.succeeded,
            failed=failed,
            total=counts.processing + counts.succeeded + failed,
        )

    async def results(self, batch_id: str, status: BatchStatus) -> dict[str, Outcome]:
        stream = await self._sdk("results", lambda c: c.messages.batches.results(batch_id))
        found: dict[str, Outcome] = {}
        async for item in _guarded(self, stream):
            found[str(item.custom_id)] = self._result(item, batch_id)
        return found

    def _result(self, item: Any, batch_id: str) -> Outcome:
        label = f"{self.name} batch {batch_id}"
        result = item.result
        if result.type == "succeeded":
            return self._answer(lambda: anthropic_wire.to_completion(result.message, 0.0))
        if result.type == "errored":
            error = getattr(result.error, "error", None)
            kind = str(getattr(error, "type", "") or "")
            message = f"{label}: {kind}: {getattr(error, 'message', '')}"
            return ProviderError(message, transient=kind in TRANSIENT_TYPES)
        return ProviderError(f"{label}: the request {result.type}", transient=True)


async def _guarded(api: _Batches, stream: Any) -> AsyncIterator[Any]:
    """The stream's items; a failure while reading it raised as ProviderError."""
    iterator = stream.__aiter__()
    while True:
        try:
            item = await api._sdk("results", lambda _c: iterator.__anext__())
        except StopAsyncIteration:
            return
        yield item


def _content_of(file_id: str) -> Callable[[Any], Awaitable[Any]]:
    """What reads one OpenAI file (an output or error file of a batch)."""
    return lambda client: client.files.content(file_id)


def _next_page(page: Any) -> Callable[[Any], Awaitable[Any]]:
    """What reads the page after ``page`` of a listing."""
    return lambda _client: page.get_next_page()
