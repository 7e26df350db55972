"""``modelguard import``: traffic kept elsewhere → the traces database export and replay read.

Two sources: JSONL of OpenAI-format request/response pairs (``{"request", "response"}``
lines, or Batch API input and output files paired by ``custom_id``), and OpenTelemetry
GenAI spans exported as OTLP JSON. A record that cannot be read is counted under its
reason (with the first place it occurred), never raised.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .otel import spans_of, trace_of_span
from .store import INSERT, Pending, Trace, connect, to_row

Skip = str
"""Why a record was skipped."""


@dataclass
class ImportResult:
    """What an import wrote, and what it skipped per reason (with the first place seen)."""

    imported: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    first: dict[str, str] = field(default_factory=dict)

    def skip(self, where: str, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1
        self.first.setdefault(reason, where)


def import_files(
    paths: list[Path], db: str | os.PathLike[str], *, tags: tuple[str, ...] = ()
) -> ImportResult:
    """Read every file (JSONL pairs or OTLP JSON, told apart by content) into ``db``."""
    result = ImportResult()
    traces: list[Trace] = []
    batch_inputs: dict[str, tuple[str, Mapping[str, Any]]] = {}
    batch_outputs: list[tuple[str, Mapping[str, Any]]] = []
    for path in paths:
        for where, record in _records(path, result):
            if "resourceSpans" in record:
                for span_where, span in spans_of(where, record):
                    _add(result, traces, span_where, trace_of_span(span))
            elif "custom_id" in record and "body" in record:
                batch_inputs[str(record["custom_id"])] = (where, record["body"])
            elif "custom_id" in record and "response" in record:
                batch_outputs.append((where, record))
            elif "request" in record and "response" in record:
                _add(result, traces, where, trace_of_pair(record["request"], record["response"]))
            else:
                result.skip(where, "not a request/response pair, Batch API line or OTLP JSON")
    for where, output in batch_outputs:
        found = batch_inputs.pop(str(output["custom_id"]), None)
        if found is None:
            result.skip(where, "Batch API output without its input line")
            continue
        response = output.get("response") or {}
        if output.get("error") or not isinstance(response, Mapping):
            result.skip(where, "the call failed")
            continue
        _add(result, traces, where, trace_of_pair(found[1], response.get("body")))
    for where, _ in batch_inputs.values():
        result.skip(where, "Batch API input without its output line")
    _write(db, [Trace(**{**_fields(t), "tags": tags or t.tags}) for t in traces])
    result.imported = len(traces)
    return result


def _fields(trace: Trace) -> dict[str, Any]:
    return {name: getattr(trace, name) for name in Trace.__dataclass_fields__}


def _add(result: ImportResult, traces: list[Trace], where: str, made: Trace | Skip) -> None:
    if isinstance(made, Trace):
        traces.append(made)
    else:
        result.skip(where, made)


def _records(path: Path, result: ImportResult) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Each JSON object of a JSONL file (or a whole-file JSON document), with file:line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        result.skip(str(path), f"unreadable file ({type(exc).__name__})")
        return
    try:
        whole = json.loads(text)
    except ValueError:
        whole = None
    if isinstance(whole, Mapping):
        yield f"{path}:1", whole
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            result.skip(where, "not valid JSON")
            continue
        if isinstance(record, Mapping):
            yield where, record
        else:
            result.skip(where, "not a JSON object")


def trace_of_pair(request: Any, response: Any) -> Trace | Skip:
    """A Trace from an OpenAI Chat Completions request body and its response body."""
    from openai.types.chat import ChatCompletion
    from pydantic import ValidationError

    from ..engine.providers.openai import to_completion

    if not isinstance(request, Mapping) or not isinstance(request.get("messages"), list):
        return "request without messages (not Chat Completions)"
    if not isinstance(response, Mapping) or not response.get("choices"):
        return "response without choices"
    try:
        done = to_completion(ChatCompletion.model_validate(response), 0.0)
    except (ValidationError, ValueError, TypeError) as exc:
        return f"response is not a ChatCompletion ({type(exc).__name__})"
    params = {k: v for k, v in request.items() if k not in ("model", "messages", "stream")}
    created = response.get("created")
    return Trace(
        provider="openai", model=str(request.get("model") or done.model),
        messages=tuple(request["messages"]), params=params, output=done.text,
        usage=done.usage if response.get("usage") else None,
        started_at=float(created) if isinstance(created, int | float) else 0.0,
        response_model=done.model, finish_reason=done.finish_reason, tool_calls=done.tool_calls,
        host="import",
    )  # fmt: skip


def _write(db: str | os.PathLike[str], traces: list[Trace]) -> None:
    conn = connect(Path(db), 5.0)
    try:
        rows = [row for t in traces if (row := to_row(Pending(t))) is not None]
        with conn:
            conn.executemany(INSERT, rows)
    finally:
        conn.close()
