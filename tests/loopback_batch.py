"""The loopback server's batch APIs: OpenAI files + batches and Anthropic Message Batches.

Served by ``Loopback`` (``tests/loopback.py`` hands every ``/v1/files``, ``/v1/batches`` and
``/v1/messages/batches`` request here). Each item is answered by the server's responder, as
an ordinary call would be; a batch ends after ``BatchPlan.polls`` status requests, and
``BatchPlan.fault`` can make items expire or fail. What the batches answered is in
``BatchService.items`` (never in ``Loopback.calls``: those are the ordinary calls).
"""

from __future__ import annotations

import email.parser
import email.policy
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from loopback import (
    Call,
    Loopback,
    Reply,
    _anthropic_body,
    _error_body,
    _openai_body,
    _parse_call,
    _response,
    _responses_body,
)

ItemFault = Literal["expired", "error", "invalid"]
PREFIXES = ("/v1/files", "/v1/batches", "/v1/messages/batches")


def handles(path: str) -> bool:
    """Whether a route is the batch APIs'."""
    return path.startswith(PREFIXES)


@dataclass
class BatchPlan:
    """How batches behave: status requests before one ends, and items that fail."""

    polls: int = 2
    fault: Callable[[Call, int], ItemFault | None] | None = None  # (item, its nth time) → fault
    fail_batch: str | None = None  # a whole OpenAI batch fails validation with this message
    lose_creates: int = 0  # batches created whose answer is lost (the connection dropped)


@dataclass
class _Batch:
    id: str
    wire: Literal["openai", "anthropic"]
    endpoint: str
    lines: list[dict[str, Any]]
    input_file_id: str = ""
    metadata: dict[str, str] | None = None
    polls: int = 0
    status: str = "in_progress"
    results: list[dict[str, Any]] = field(default_factory=list)
    output_file_id: str | None = None
    error_file_id: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    created: float = field(default_factory=time.time)


@dataclass
class BatchService:
    """The batches one loopback server holds."""

    plan: BatchPlan = field(default_factory=BatchPlan)
    files: dict[str, bytes] = field(default_factory=dict)
    batches: dict[str, _Batch] = field(default_factory=dict)
    items: list[Call] = field(default_factory=list)  # every batch item answered
    polls: int = 0  # status requests served
    _ids: itertools.count[int] = field(default_factory=itertools.count)
    _seen: dict[tuple[str, str], int] = field(default_factory=dict)

    @property
    def created(self) -> int:
        """Batches created so far."""
        return len(self.batches)


def service_of(server: Loopback) -> BatchService:
    """The server's batch service (made with the default plan on first use)."""
    if server.batch is None:
        server.batch = BatchService()
    service: BatchService = server.batch
    return service


async def serve(server: Loopback, request: tuple[str, str, dict[str, str], bytes]) -> bytes | None:
    """The response to one batch API request (None: the connection is dropped instead)."""
    method, path, headers, body = request
    service = service_of(server)
    created = service.created
    try:
        status, payload = _dispatch(server, service, method, path, headers, body)
    except (ValueError, KeyError, TypeError) as exc:
        status, payload = 400, _error_body("openai", 400, f"bad batch request: {exc}")
    if service.created > created and service.plan.lose_creates > 0:
        service.plan.lose_creates -= 1
        return None
    if isinstance(payload, bytes):
        return _response(status, payload, {"content-type": "application/octet-stream"})
    return _response(status, json.dumps(payload).encode())


def _dispatch(
    server: Loopback,
    service: BatchService,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes,
) -> tuple[int, Any]:
    parts = path.strip("/").split("/")
    if parts[:3] == ["v1", "messages", "batches"]:
        return _anthropic(server, service, method, parts[3:], headers, body)
    if method == "POST" and parts == ["v1", "files"]:
        return 200, _upload(service, headers, body)
    if method == "GET" and len(parts) == 4 and parts[1] == "files" and parts[3] == "content":
        found = service.files.get(parts[2])
        return (200, found) if found is not None else _missing(parts[2])
    if method == "POST" and parts == ["v1", "batches"]:
        data = json.loads(body)
        lines = [json.loads(line) for line in service.files[data["input_file_id"]].splitlines()]
        ident = f"batch_{next(service._ids)}"
        batch = _Batch(ident, "openai", data["endpoint"], lines, data["input_file_id"])
        batch.metadata = data.get("metadata")
        service.batches[ident] = batch
        return 200, _openai_batch(batch)
    if method == "GET" and parts == ["v1", "batches"]:  # newest first, one page
        return 200, _page(
            [_openai_batch(b) for b in service.batches.values() if b.wire == "openai"]
        )
    if len(parts) >= 3 and parts[1] == "batches" and parts[2] in service.batches:
        batch = service.batches[parts[2]]
        if method == "POST" and parts[3:] == ["cancel"]:
            batch.status = "cancelling"
        elif method == "GET":
            _poll(server, service, batch)
        return 200, _openai_batch(batch)
    return _missing(path)


def _missing(what: str) -> tuple[int, Any]:
    return 404, _error_body("openai", 404, f"no such object: {what}")


def _upload(service: BatchService, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    head = f"Content-Type: {headers['content-type']}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    fields: dict[str, bytes] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        fields[str(name)] = part.get_payload(decode=True) or b""
    ident = f"file-{next(service._ids)}"
    service.files[ident] = fields["file"]
    return {
        "id": ident, "object": "file", "bytes": len(fields["file"]), "created_at": int(time.time()),
        "filename": "batch.jsonl", "purpose": fields.get("purpose", b"").decode(),
        "status": "processed",
    }  # fmt: skip


def _poll(server: Loopback, service: BatchService, batch: _Batch) -> None:
    """One status request: the batch ends (answered) once it has been asked ``polls`` times."""
    service.polls += 1
    batch.polls += 1
    if batch.status == "cancelling":
        _finish(server, service, batch, cancelled=True)
    elif batch.status == "in_progress" and batch.polls >= service.plan.polls:
        _finish(server, service, batch, cancelled=False)


def _finish(server: Loopback, service: BatchService, batch: _Batch, *, cancelled: bool) -> None:
    plan = service.plan
    if batch.wire == "openai" and plan.fail_batch is not None:
        batch.status = "failed"
        return
    ok = failed = expired = 0
    for line in batch.lines:
        result = _item(server, service, batch, line, cancelled)
        batch.results.append(result)
        kind = result.get("kind")
        ok += kind == "ok"
        failed += kind in ("error", "invalid")
        expired += kind in ("expired", "canceled")
    batch.counts = {"ok": ok, "failed": failed, "expired": expired}
    if batch.wire == "anthropic":
        batch.status = "ended"
        return
    batch.status = "cancelled" if cancelled else "completed"
    outputs = [r["line"] for r in batch.results if r["kind"] == "ok"]
    errors = [r["line"] for r in batch.results if r["kind"] != "ok"]
    for lines, attr in ((outputs, "output_file_id"), (errors, "error_file_id")):
        if lines:
            ident = f"file-{next(service._ids)}"
            service.files[ident] = "".join(json.dumps(x) + "\n" for x in lines).encode()
            setattr(batch, attr, ident)


def _item(
    server: Loopback, service: BatchService, batch: _Batch, line: dict[str, Any], cancelled: bool
) -> dict[str, Any]:
    """One item's result line (``line``) and its kind (ok, expired, error, invalid…)."""
    custom_id = line["custom_id"]
    if batch.wire == "anthropic":
        body, path = line["params"], "/v1/messages"
    else:
        body, path = line["body"], line["url"]
    call = _parse_call(batch.wire, body, {}, path)
    seen = (call.model, call.prompt)
    n = service._seen.get(seen, 0)
    service._seen[seen] = n + 1
    fault: str | None = "canceled" if cancelled else None
    if fault is None and service.plan.fault is not None:
        fault = service.plan.fault(call, n)
    if fault is None:
        service.items.append(call)
        raw = server.responder(call)
        reply = Reply(raw) if isinstance(raw, str) else raw
        return {"kind": "ok", "line": _success(batch, call, reply, custom_id)}
    return {"kind": fault, "line": _failure(batch, fault, custom_id)}


def _success(batch: _Batch, call: Call, reply: Reply, custom_id: str) -> dict[str, Any]:
    ident = f"loopback-batch-item-{custom_id[:12]}"
    if batch.wire == "anthropic":
        message = _anthropic_body(call, reply, f"msg_{custom_id[:12]}")
        return {"custom_id": custom_id, "result": {"type": "succeeded", "message": message}}
    if batch.endpoint == "/v1/responses":
        answer = _responses_body(call, reply, f"resp_{custom_id[:12]}")
    else:
        answer = _openai_body(call, reply, f"chatcmpl_{custom_id[:12]}")
    response = {"status_code": 200, "request_id": ident, "body": answer}
    return {"id": ident, "custom_id": custom_id, "response": response, "error": None}


def _failure(batch: _Batch, fault: str, custom_id: str) -> dict[str, Any]:
    if batch.wire == "anthropic":
        if fault in ("expired", "canceled"):
            return {"custom_id": custom_id, "result": {"type": fault}}
        kind = "invalid_request_error" if fault == "invalid" else "overloaded_error"
        error = {"type": "error", "error": {"type": kind, "message": f"loopback {fault}"}}
        return {"custom_id": custom_id, "result": {"type": "errored", "error": error}}
    ident = f"loopback-batch-item-{custom_id[:12]}"
    if fault in ("expired", "canceled"):
        code = "batch_expired" if fault == "expired" else "batch_cancelled"
        error = {"code": code, "message": f"the request {fault} before it was answered"}
        return {"id": ident, "custom_id": custom_id, "response": None, "error": error}
    status = 400 if fault == "invalid" else 500
    body = _error_body("openai", status, f"loopback {fault}")
    response = {"status_code": status, "request_id": ident, "body": body}
    return {"id": ident, "custom_id": custom_id, "response": response, "error": None}


def _openai_batch(batch: _Batch) -> dict[str, Any]:
    counts = batch.counts
    done = batch.status in ("completed", "cancelled", "failed", "expired")
    total = len(batch.lines)
    failed = counts.get("failed", 0) + counts.get("expired", 0)
    errors = None
    if batch.status == "failed":
        errors = {"object": "list", "data": [{"code": "invalid", "message": "loopback refused"}]}
    return {
        "id": batch.id, "object": "batch", "endpoint": batch.endpoint,
        "input_file_id": batch.input_file_id, "completion_window": "24h",
        "status": batch.status, "created_at": int(batch.created), "errors": errors,
        "output_file_id": batch.output_file_id, "error_file_id": batch.error_file_id,
        "request_counts": {
            "total": total, "completed": counts.get("ok", 0) if done else 0,
            "failed": failed if done else 0,
        },
        "metadata": batch.metadata,
    }  # fmt: skip


def _page(items: list[dict[str, Any]]) -> dict[str, Any]:
    """A listing of both APIs' form: newest first, everything on one page."""
    items = items[::-1]
    first, last = (items[0]["id"], items[-1]["id"]) if items else (None, None)
    return {"object": "list", "data": items, "has_more": False, "first_id": first, "last_id": last}


def _anthropic(
    server: Loopback,
    service: BatchService,
    method: str,
    rest: list[str],
    headers: dict[str, str],
    body: bytes,
) -> tuple[int, Any]:
    if method == "GET" and not rest:
        mine = [b for b in service.batches.values() if b.wire == "anthropic"]
        return 200, _page([_anthropic_batch(b, headers) for b in mine])
    if method == "POST" and not rest:
        lines = json.loads(body)["requests"]
        ident = f"msgbatch_{next(service._ids)}"
        batch = _Batch(ident, "anthropic", "/v1/messages", lines)
        service.batches[ident] = batch
        return 200, _anthropic_batch(batch, headers)
    batch = service.batches.get(rest[0]) if rest else None
    if batch is None:
        return 404, _error_body("anthropic", 404, f"no such batch: {'/'.join(rest)}")
    if method == "POST" and rest[1:] == ["cancel"]:
        batch.status = "cancelling"
    elif method == "GET" and rest[1:] == ["results"]:
        if batch.status != "ended":
            return 400, _error_body("anthropic", 400, "the batch has not ended")
        text = "".join(json.dumps(r["line"]) + "\n" for r in batch.results)
        return 200, text.encode()
    elif method == "GET":
        _poll(server, service, batch)
    return 200, _anthropic_batch(batch, headers)


def _anthropic_batch(batch: _Batch, headers: dict[str, str]) -> dict[str, Any]:
    counts = batch.counts
    ended = batch.status == "ended"
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(batch.created))
    host = headers.get("host", "127.0.0.1")
    return {
        "id": batch.id, "type": "message_batch",
        "processing_status": "canceling" if batch.status == "cancelling" else batch.status,
        "request_counts": {
            "processing": 0 if ended else len(batch.lines),
            "succeeded": counts.get("ok", 0), "errored": counts.get("failed", 0),
            "canceled": 0, "expired": counts.get("expired", 0),
        },
        "created_at": stamp, "expires_at": stamp, "ended_at": stamp if ended else None,
        "archived_at": None, "cancel_initiated_at": None,
        "results_url": f"http://{host}/v1/messages/batches/{batch.id}/results" if ended else None,
    }  # fmt: skip
